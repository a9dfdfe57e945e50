// Starting the servers a benchmark compares: corral (or llama.cpp's llama-server, when LLAMA_SERVER_BIN names one)
// serving one model directly (-m), or as a router over a models folder. Both are started as users start them.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import { CORRAL_BIN } from "../../test/helpers/server.js";

export interface Impl {
  name: "corral" | "llama.cpp";
  cmd: string;
}

export function impls(): Impl[] {
  const list: Impl[] = [{ name: "corral", cmd: CORRAL_BIN }];
  const bin = process.env["LLAMA_SERVER_BIN"];
  if (bin) list.push({ name: "llama.cpp", cmd: bin });
  return list;
}

export interface Server {
  url: string;
  port: number;
  proc: ChildProcess;
  spawnToReadyMs: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Spawns the server and resolves when /health answers 200 (a router is healthy before any model loads). */
export async function startServer(impl: Impl, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Server> {
  const port = await freePort();
  const t0 = performance.now();
  const proc = spawn(impl.cmd, [...args, "--host", "127.0.0.1", "--port", String(port)], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...env },
  });
  let err = "";
  proc.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
    if (err.length > 100_000) err = err.slice(-50_000);
  });
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${impl.name} exited: ${err.slice(-2000)}`);
    const res = await fetch(`${url}/health`).catch(() => undefined);
    if (res?.status === 200) break;
    await new Promise((r) => setTimeout(r, 2));
  }
  return {
    url,
    port,
    proc,
    spawnToReadyMs: performance.now() - t0,
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 15_000);
      await new Promise((r) => proc.once("exit", r));
      clearTimeout(t);
    },
  };
}

export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

export async function postJson(url: string, body: unknown): Promise<any> {
  const res = await fetch(url, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST ${url}: ${res.status} ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

export const median = (xs: number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** EOS and <|im_end|> banned (llama.cpp syntax), so a request generates exactly n_predict tokens. */
export const NO_EOS = [[2, false], [4, false]];
