// Starts a real `bin/corral` process on port 0 and waits until it serves.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const CORRAL_BIN = path.join(REPO_ROOT, "bin", "corral");

export interface RunningServer {
  url: string;
  proc: ChildProcess;
  output(): string;
  stop(): Promise<number | null>;
}

export interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs corral to completion (for flags that exit: --help, bad arguments, broken models). */
export function runCorral(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ExitResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [CORRAL_BIN, ...args], { env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`corral ${args.join(" ")} did not exit in time; stderr: ${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    proc.on("exit", (code, signal) => {
      clearTimeout(timer);
      // let the pipes drain
      setImmediate(() => resolve({ code, signal, stdout, stderr }));
    });
  });
}

/** Spawns `corral ARGS --port 0` and resolves once /health (under `apiPrefix`, for --api-prefix) answers 200. */
export async function startServer(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; apiPrefix?: string } = {}): Promise<RunningServer> {
  const proc = spawn(process.execPath, [CORRAL_BIN, "--host", "127.0.0.1", "--port", "0", ...args], {
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start; output:\n${out}`)), opts.timeoutMs ?? 30_000);
    const onData = () => {
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening; output:\n${out}`));
    });
  });
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}; output:\n${out}`);
    const res = await fetch(`${url}${opts.apiPrefix ?? ""}/health`).catch(() => undefined);
    if (res?.status === 200) break;
    if (Date.now() > deadline) throw new Error(`server never became healthy; output:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    proc,
    output: () => out,
    async stop() {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}

/** Reads an SSE response into its parsed `data:` payloads (strings for non-JSON ones like [DONE]). */
export async function readSse(res: Response): Promise<unknown[]> {
  const text = await res.text();
  return text
    .split("\n\n")
    .map((block) => block.trim())
    .filter((b) => b.startsWith("data: "))
    .map((b) => {
      const data = b.slice(6);
      try {
        return JSON.parse(data);
      } catch {
        return data;
      }
    });
}
