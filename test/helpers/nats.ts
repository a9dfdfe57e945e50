// A real nats-server with JetStream for the cluster tests: on 127.0.0.1, a free port and a private store folder.
// It can be stopped and started again on the same port and store (NATS down and back); it is killed, and its folder
// removed, at close or when the test process exits.
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, rmSync } from "node:fs";
import path from "node:path";
import { freePort } from "../../src/util/free-port.js";
import { tempDirUntilExit } from "../../src/util/temp-dir.js";

export const NO_NATS = "nats-server is not installed (apt-get install nats-server)";

/** The nats-server binary ($NATS_SERVER_BIN, PATH, or Debian's /usr/sbin), or undefined where there is none. */
export function natsServerPath(): string | undefined {
  const dirs = [...(process.env["PATH"] ?? "").split(path.delimiter), "/usr/sbin", "/usr/local/sbin"].filter((d) => d !== "");
  const candidates = [process.env["NATS_SERVER_BIN"], ...dirs.map((d) => path.join(d, "nats-server"))];
  for (const c of candidates) {
    if (!c) continue;
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not this one
    }
  }
  return undefined;
}

export interface NatsServer {
  /** nats://127.0.0.1:PORT */
  url: string;
  port: number;
  storeDir: string;
  running(): boolean;
  /** Stops it (SIGKILL by default: a crash; the store stays). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and store; `fresh` empties the store first (a server that lost its data). */
  start(opts?: { fresh?: boolean }): Promise<void>;
  /** Stops it and removes its store. */
  close(): Promise<void>;
  /** Its log so far (for failure messages). */
  output(): string;
}

const READY_MS = 10_000;
const running = new Set<ChildProcess>();
let exitHook = false;

/**
 * Starts nats-server; `started: false` only picks the port and store (for a member that must find NATS down);
 * `args` are more server flags (e.g. --user U --pass P).
 */
export async function startNats(opts: { started?: boolean; args?: string[] } = {}): Promise<NatsServer> {
  const bin = natsServerPath();
  if (!bin) throw new Error(NO_NATS);
  if (!exitHook) {
    exitHook = true;
    process.once("exit", () => {
      for (const p of running) p.kill("SIGKILL");
    });
  }
  const port = await freePort();
  const storeDir = tempDirUntilExit("corral-nats-");
  let proc: ChildProcess | undefined;
  let log = "";

  const start = async ({ fresh = false } = {}): Promise<void> => {
    if (proc) throw new Error("nats-server is already running");
    if (fresh) rmSync(path.join(storeDir, "jetstream"), { recursive: true, force: true });
    const p = spawn(bin, ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir, ...(opts.args ?? [])], { stdio: ["ignore", "pipe", "pipe"] });
    proc = p;
    running.add(p);
    p.on("exit", () => {
      running.delete(p);
      if (proc === p) proc = undefined;
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`nats-server did not become ready in ${READY_MS} ms:\n${log}`)), READY_MS);
      const onData = (d: Buffer) => {
        log += d.toString();
        if (log.includes("Server is ready")) done();
      };
      const onExit = (code: number | null) => done(new Error(`nats-server exited with ${code}:\n${log}`));
      function done(err?: Error) {
        clearTimeout(timer);
        p.stderr!.off("data", onData);
        p.stdout!.off("data", onData);
        p.off("exit", onExit);
        // keep reading its output so that the pipes never fill
        p.stderr!.on("data", (d: Buffer) => (log += d.toString()));
        p.stdout!.on("data", (d: Buffer) => (log += d.toString()));
        if (err) reject(err);
        else resolve();
      }
      p.stderr!.on("data", onData);
      p.stdout!.on("data", onData);
      p.once("exit", onExit);
    });
    log = log.replace(/Server is ready/g, "Server was ready");
  };

  const stop = async (signal: NodeJS.Signals = "SIGKILL"): Promise<void> => {
    const p = proc;
    if (!p) return;
    const exited = new Promise<void>((resolve) => p.once("exit", () => resolve()));
    p.kill(signal);
    const timer = setTimeout(() => p.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };

  if (opts.started !== false) await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    running: () => proc !== undefined,
    stop,
    start,
    close: async () => {
      await stop();
      rmSync(storeDir, { recursive: true, force: true });
    },
    output: () => log,
  };
}
