// Starting the servers a benchmark compares, as users start them. Each impl is a router plus the direct server it
// is judged against: corral's router with its Node engine (against `corral -m`), corral's router running
// llama-server children (against `llama-server -m`), and llama.cpp's own router (against `llama-server -m`).
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { EOS_ID, FIRST_BYTE_TOKEN_ID, IM_END_ID } from "../../src/gguf/vocab.js";
import { findLlamaServer, type FoundBinary } from "../../src/engines/llama-server/find.js";
import { freePort } from "../../src/util/free-port.js";
import { childPids, isAlive } from "../../test/helpers/router.js";
import { CORRAL_BIN } from "../../test/helpers/server.js";
import { emptyHub } from "./temp-dirs.js";

export type ImplName = "corral" | "corral+ls" | "llama.cpp";

interface Command {
  cmd: string;
  args: string[];
}

export interface Impl {
  name: ImplName;
  /** Serves one model (`-m` follows). */
  direct: Command;
  /** Routes over a models folder (`--models-dir` follows). */
  router: Command;
}

export type LlamaServerBin = FoundBinary;

/** The llama-server corral itself would run: LLAMA_SERVER_BIN, else the one `corral engine build` made, else one on
 * PATH. */
export function findLlamaServerBin(env: NodeJS.ProcessEnv = process.env): LlamaServerBin | undefined {
  return findLlamaServer({ env });
}

export function impls(bin: LlamaServerBin | undefined): Impl[] {
  const list: Impl[] = [{
    name: "corral",
    direct: { cmd: CORRAL_BIN, args: [] },
    router: { cmd: CORRAL_BIN, args: ["--engine", "node"] },
  }];
  if (bin) {
    const ls = { cmd: bin.path, args: [] };
    list.push({ name: "corral+ls", direct: ls, router: { cmd: CORRAL_BIN, args: ["--engine", "llama-server", "--llama-server", bin.path] } });
    list.push({ name: "llama.cpp", direct: ls, router: ls });
  }
  return list;
}

export interface Server {
  url: string;
  port: number;
  proc: ChildProcess;
  spawnToReadyMs: number;
  stop(): Promise<void>;
}

export { freePort };

export function startDirect(impl: Impl, args: string[]): Promise<Server> {
  return startServer(impl.name, impl.direct, args);
}

export function startRouter(impl: Impl, args: string[]): Promise<Server> {
  return startServer(impl.name, impl.router, args);
}

/** A process's children, their children, and so on (pids). */
export function descendants(pid: number): number[] {
  const kids = childPids(pid);
  return [...kids, ...kids.flatMap(descendants)];
}

/** Spawns the server and resolves when /health answers 200 (a router is healthy before any model loads). Every
 * server gets an empty hub cache, so that none of them scans the user's own cache. */
async function startServer(label: string, command: Command, args: string[]): Promise<Server> {
  const port = await freePort();
  const t0 = performance.now();
  const proc = spawn(command.cmd, [...command.args, ...args, "--host", "127.0.0.1", "--port", String(port)], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...emptyHub() },
  });
  let err = "";
  proc.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
    if (err.length > 100_000) err = err.slice(-50_000);
  });
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${label} (${path.basename(command.cmd)} ${args.join(" ")}) exited: ${err.slice(-2000)}`);
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
      // gone already (exited, or killed by a signal: a scenario's SIGKILL): its 'exit' has been emitted
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      // a model process left behind by a router would eat CPU in every later measurement
      const kids = descendants(proc.pid!);
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 15_000);
      await new Promise((r) => proc.once("exit", r));
      clearTimeout(t);
      for (let i = 0; i < 100 && kids.some(isAlive); i++) await sleep(50);
      for (const k of kids.filter(isAlive)) {
        process.stderr.write(`  ${label}: model process ${k} outlived its router; killed\n`);
        try { process.kill(k, "SIGKILL"); } catch { /* gone meanwhile */ }
      }
    },
  };
}

export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

/** A request whose connection the server closed before answering (llama.cpp's router does, now and then) is sent
 * once more, and said so on stderr; its time includes the failed try. */
export async function postRetry(url: string, body: unknown): Promise<Response> {
  const send = () => fetch(url, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
  return send().catch((err: Error) => {
    process.stderr.write(`  POST ${url} retried: ${err.message} (${String((err.cause as Error | undefined)?.message)})\n`);
    return send();
  });
}

export async function postJson(url: string, body: unknown): Promise<any> {
  const res = await postRetry(url, body);
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

/** For requests that generate many tokens from the random-weight test models (llama.cpp syntax): EOS and <|im_end|>
 * banned, so a request generates exactly max_tokens tokens; and the byte tokens 0x80-0xFF, because alone they make
 * text that is not UTF-8, which llama-server answers with a 500 ("does not match the expected Content-only
 * format"). */
export const GEN_BIAS: Array<[number, false]> = [
  [EOS_ID, false], [IM_END_ID, false],
  ...Array.from({ length: 128 }, (_, i): [number, false] => [FIRST_BYTE_TOKEN_ID + 0x80 + i, false]),
];
