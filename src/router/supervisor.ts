// The supervisor owns the model processes: it starts one per model (the same program in model-server mode), tells
// the router when each is listening, loading, ready or gone, keeps the last ~64 KB of each one's output, and stops
// them gracefully, killing after the model's stop timeout. It decides nothing: the scheduler does.
//
// Children are forked with an IPC channel. A child exits when that channel closes, which also happens when the
// router is SIGKILLed, so no model process outlives its router.
import { fork, type ChildProcess } from "node:child_process";
import { LineRing } from "./line-ring.js";

export interface ChildInfo {
  port: number;
  /** Set when the child listens on a Unix socket instead of a TCP port. */
  socketPath?: string;
  pid: number;
  /** The child's own facts from its `ready` message (n_ctx, n_params, size, ...). */
  facts: Record<string, unknown>;
}

export interface LaunchSpec {
  id: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  stopTimeoutS: number;
  /** The warm spare may serve this model (its environment is the spare's own). */
  spareOk: boolean;
}

export interface SupervisorEvents {
  progress(id: string, fraction: number): void;
  ready(id: string, info: ChildInfo): void;
  /** The process is gone. `reason` is the child's own error, or the tail of its output; empty after a clean stop. */
  exit(id: string, code: number | null, reason: string): void;
  /** A line of a model process's output ("spare" for the spare's). */
  output(id: string, line: string): void;
}

export interface SupervisorOptions {
  /** JavaScript entry of the model server (bin/corral's target). */
  entry: string;
  execArgv: string[];
  /** A child not ready after this long is killed and its load fails. */
  loadTimeoutMs: number;
}

interface Child {
  id: string;
  proc: ChildProcess;
  pid: number;
  port?: number;
  socketPath?: string;
  info?: ChildInfo;
  output: LineRing;
  /** The child's own account of a failed load. */
  failure?: string;
  stopTimeoutS: number;
  stopping: boolean;
  timedOut: boolean;
  timers: NodeJS.Timeout[];
}

const OUTPUT_KEEP_BYTES = 64 * 1024;
/** The id a spare process has until it is given a model. */
const SPARE = "";

export class Supervisor {
  private readonly children = new Map<string, Child>();
  private spare: Child | undefined;
  /** Output of each model's last process, kept after it exits (for GET /models/logs). */
  private readonly lastOutput = new Map<string, LineRing>();
  private spareEnv: NodeJS.ProcessEnv | undefined;
  private spareFailures = 0;
  private closing = false;

  constructor(
    private readonly opts: SupervisorOptions,
    private readonly events: SupervisorEvents,
  ) {}

  start(spec: LaunchSpec): void {
    if (this.children.has(spec.id)) throw new Error(`model '${spec.id}' already has a process`);
    let child: Child | undefined;
    if (spec.spareOk && this.spare) {
      child = this.spare;
      this.spare = undefined;
      child.id = spec.id;
      child.proc.send({ type: "run", argv: spec.args });
    } else {
      child = this.spawn(spec.id, spec.args, spec.env);
      if (!child) return;
    }
    child.stopTimeoutS = spec.stopTimeoutS;
    this.children.set(spec.id, child);
    const c = child;
    c.timers.push(setTimeout(() => {
      if (c.info || c.stopping) return;
      c.timedOut = true;
      c.proc.kill("SIGKILL");
    }, this.opts.loadTimeoutMs));
  }

  /**
   * Keeps one warm spare process (runtime and CPU backend loaded, no model) so that a load costs only the model's
   * own load time. `env` is the environment every model without its own `env` gets.
   */
  enableSpare(env: NodeJS.ProcessEnv): void {
    this.spareEnv = env;
    this.ensureSpare();
  }

  private ensureSpare(): void {
    if (!this.spareEnv || this.spare || this.closing || this.spareFailures >= 3) return;
    this.spare = this.spawn(SPARE, [], { ...this.spareEnv, CORRAL_SPARE: "1" });
  }

  private spawn(id: string, args: string[], env: NodeJS.ProcessEnv): Child | undefined {
    let proc: ChildProcess;
    try {
      proc = fork(this.opts.entry, args, {
        env,
        execArgv: this.opts.execArgv,
        stdio: ["ignore", "pipe", "pipe", "ipc"],
        serialization: "json",
      });
    } catch (err) {
      if (id !== SPARE) queueMicrotask(() => this.events.exit(id, null, `cannot start a process: ${(err as Error).message}`));
      return undefined;
    }
    const child: Child = {
      id, proc, pid: proc.pid ?? -1, output: new LineRing(OUTPUT_KEEP_BYTES), stopTimeoutS: 0, stopping: false, timedOut: false, timers: [],
    };
    const onLine = (line: string) => {
      child.output.push(line);
      this.events.output(child.id === SPARE ? "spare" : child.id, line);
    };
    splitLines(proc.stdout!, onLine);
    splitLines(proc.stderr!, onLine);
    proc.on("message", (raw) => this.onMessage(child, raw));
    proc.on("error", (err) => {
      child.failure ??= `cannot start a process: ${err.message}`;
      // 'exit' may never come when the spawn itself failed
      if (proc.pid === undefined) this.finish(child, null, null);
    });
    proc.on("exit", (code, signal) => this.finish(child, code, signal));
    return child;
  }

  /** Graceful stop (SIGTERM), then SIGKILL after the model's stop timeout. Loading children are killed at once. */
  stop(id: string): void {
    const child = this.children.get(id);
    if (!child || child.stopping) return;
    child.stopping = true;
    if (!child.info) {
      child.proc.kill("SIGKILL");
      return;
    }
    child.proc.kill("SIGTERM");
    child.timers.push(setTimeout(() => child.proc.kill("SIGKILL"), child.stopTimeoutS * 1000));
  }

  info(id: string): ChildInfo | undefined {
    return this.children.get(id)?.info;
  }

  pid(id: string): number | undefined {
    return this.children.get(id)?.pid;
  }

  /** The last ~64 KB of output of the model's process, or of its last one once it is gone. */
  outputTail(id: string): string[] {
    return (this.children.get(id)?.output ?? this.lastOutput.get(id))?.lines() ?? [];
  }

  /** Stops every child and resolves once all are gone. */
  async stopAll(): Promise<void> {
    this.closing = true;
    this.spare?.proc.kill("SIGKILL");
    const gone = [...this.children.values()].map((c) => new Promise<void>((resolve) => {
      if (c.proc.exitCode !== null || c.proc.signalCode !== null) return resolve();
      c.proc.once("exit", () => resolve());
    }));
    for (const id of [...this.children.keys()]) this.stop(id);
    await Promise.all(gone);
  }

  /** Last resort on the way out: no child may outlive the router. */
  killAll(): void {
    this.closing = true;
    this.spare?.proc.kill("SIGKILL");
    for (const c of this.children.values()) c.proc.kill("SIGKILL");
  }

  private onMessage(child: Child, raw: unknown): void {
    const msg = raw as { type?: string; port?: number; socketPath?: string; value?: number; info?: Record<string, unknown>; error?: string };
    switch (msg?.type) {
      case "listening":
        if (typeof msg.port === "number") {
          child.port = msg.port;
          if (typeof msg.socketPath === "string") child.socketPath = msg.socketPath;
        }
        return;
      case "progress":
        if (typeof msg.value === "number") this.events.progress(child.id, msg.value);
        return;
      case "ready":
        if (child.port === undefined || child.stopping) return;
        child.info = { port: child.port, pid: child.pid, facts: msg.info ?? {}, ...(child.socketPath ? { socketPath: child.socketPath } : {}) };
        this.events.ready(child.id, child.info);
        // the next spare starts now, not while this model was loading: on a small machine they would compete
        this.ensureSpare();
        return;
      case "failed":
        if (typeof msg.error === "string") child.failure = msg.error;
        return;
    }
  }

  private finish(child: Child, code: number | null, signal: NodeJS.Signals | null): void {
    if (child === this.spare) {
      // a spare that dies on its own is replaced, a few times at most (it would fail the same way again)
      this.spare = undefined;
      if (!this.closing) {
        this.spareFailures++;
        setTimeout(() => this.ensureSpare(), 1000).unref();
      }
      return;
    }
    if (this.children.get(child.id) !== child) return;
    this.children.delete(child.id);
    this.lastOutput.set(child.id, child.output);
    for (const t of child.timers) clearTimeout(t);
    let reason = "";
    if (child.timedOut) reason = `not ready after ${Math.round(this.opts.loadTimeoutMs / 1000)} s; the process was killed`;
    else if (child.failure) reason = child.failure;
    else if (!child.stopping) {
      const tail = child.output.lines().slice(-5).join("\n").trim();
      const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
      reason = tail ? `${how}: ${tail}` : how;
    }
    this.events.exit(child.id, code ?? (signal ? 128 + signalNumber(signal) : null), reason);
    this.ensureSpare();
  }
}

function splitLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let rest = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop() ?? "";
    // a line that never ends is cut, so one chatty child cannot grow the router's memory
    if (rest.length > 16 * 1024) {
      parts.push(rest);
      rest = "";
    }
    for (const p of parts) if (p.length > 0) onLine(p.replace(/\r$/, ""));
  });
  stream.on("end", () => {
    if (rest) onLine(rest);
  });
}

const SIGNALS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15 };
function signalNumber(s: NodeJS.Signals): number {
  return SIGNALS[s] ?? 0;
}
