// The supervisor owns the model processes: it runs any engine's LaunchPlan (src/engines/types.ts), tells the router
// when each is loading, ready or gone, watches the health of each ready one, keeps the last ~64 KB of each one's
// output, and stops them gracefully, killing after the model's stop timeout. It decides nothing (the scheduler does)
// and knows no engine beyond what a plan says: how to start, the engine's own readiness protocol, how to stop,
// where requests go.
//
// No child outlives the router: node children exit when their IPC channel closes and llama-server children when
// their stdin reaches EOF, both of which also happen when the router is SIGKILLed; children of a `cmd` run in their
// own process group, which the router kills on any exit it lives to see.
import { fork, spawn, type ChildProcess } from "node:child_process";
import type { LaunchPlan, LoadReporter, ProcessProtocol, ReadyInfo, UpstreamTarget } from "../engines/types.js";
import { HealthWatch, type ProbeResult } from "./health-watch.js";
import { LineRing } from "./line-ring.js";
import { Upstream } from "./upstream.js";

export interface SupervisorEvents {
  progress(id: string, fraction: number): void;
  ready(id: string, info: ReadyInfo): void;
  /** The process is gone (see ProcessEnd). */
  exit(id: string, end: ProcessEnd): void;
  /** A line of a model process's output ("spare" for the spare's). */
  output(id: string, line: string): void;
}

/** How a process ended, as the supervisor saw it; exit-kind.ts classifies it. */
export interface ProcessEnd {
  /** Its exit code (128 + the signal's number when a signal ended it), or null where none is known. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** It was asked to stop (its reason is then empty). */
  stopped: boolean;
  /** The child's own error, or the tail of its output; empty after a stop asked for. */
  reason: string;
  /** The supervisor killed it itself: not ready in time, or wedged. */
  killedFor?: "load-timeout" | "wedged";
}

export interface SupervisorOptions {
  /** A child not ready after this long is killed and its load fails. */
  loadTimeoutMs: number;
  /** How often a remote server's health is checked while it is in use, and how many misses mean it is gone. */
  remoteHealthEveryMs?: number;
  remoteHealthMisses?: number;
  /** A ready local process whose health check gets no answer for this long is killed as wedged; unset: not watched. */
  healthTimeoutMs?: number;
}

interface Child {
  id: string;
  plan: LaunchPlan;
  proc?: ChildProcess;
  pid?: number;
  /** The engine's protocol for this process (made when it is spawned; a spare keeps its own). */
  protocol?: ProcessProtocol;
  info?: ReadyInfo;
  /** Its own connection for health checks, while it is ready. */
  prober?: Upstream;
  output: LineRing;
  /** The child's own account of a failed load. */
  failure?: string;
  stopping: boolean;
  timedOut: boolean;
  /** Killed for not answering: why, for its status. */
  wedged?: string;
  done: boolean;
  timers: NodeJS.Timeout[];
}

const OUTPUT_KEEP_BYTES = 64 * 1024;
/** The id a spare process has until it is given a model. */
const SPARE = "";
const HEALTH_POLL_MS = 100;

export class Supervisor {
  private readonly children = new Map<string, Child>();
  private spare: Child | undefined;
  private sparePlan: LaunchPlan | undefined;
  /** Output of each model's last process, kept after it exits (for GET /models/logs). */
  private readonly lastOutput = new Map<string, LineRing>();
  private spareFailures = 0;
  private closing = false;
  private readonly health = new HealthWatch();

  constructor(
    private readonly opts: SupervisorOptions,
    private readonly events: SupervisorEvents,
  ) {}

  start(id: string, plan: LaunchPlan): void {
    if (this.children.has(id)) throw new Error(`model '${id}' already has a process`);
    let child: Child;
    if (plan.spareRun !== undefined && this.spare) {
      child = this.spare;
      this.spare = undefined;
      child.id = id;
      child.plan = plan;
      child.proc!.send(plan.spareRun as object);
    } else {
      child = newChild(id, plan);
      if (plan.spawn && !this.spawn(child)) return;
    }
    this.children.set(id, child);
    child.timers.push(setTimeout(() => {
      if (child.info || child.stopping || child.done) return;
      child.timedOut = true;
      if (child.proc) this.signal(child, "SIGKILL");
      else this.finish(child, null, null);
    }, this.loadTimeout(child)));
    if (plan.readiness.kind === "health") void this.pollUntilReady(child);
  }

  /**
   * Keeps one warm spare process (runtime and CPU backend loaded, no model) so that a load costs only the model's
   * own load time. `plan` is a node-engine plan without model arguments.
   */
  enableSpare(plan: LaunchPlan): void {
    this.sparePlan = plan;
    this.ensureSpare();
  }

  private ensureSpare(): void {
    const plan = this.sparePlan;
    if (!plan?.spawn || this.spare || this.closing || this.spareFailures >= 3) return;
    const child = newChild(SPARE, plan);
    if (this.spawn(child)) this.spare = child;
  }

  /** Starts the plan's process; false (and an exit event) when it cannot be started at all. */
  private spawn(child: Child): boolean {
    const s = child.plan.spawn!;
    let proc: ChildProcess;
    try {
      proc = s.fork
        ? fork(s.command, s.args, { env: s.env, execArgv: s.fork.execArgv, stdio: ["ignore", "pipe", "pipe", "ipc"], serialization: "json" })
        : spawn(s.command, s.args, {
          env: s.env,
          stdio: [s.stdinPipe ? "pipe" : "ignore", "pipe", "pipe"],
          detached: s.processGroup === true,
        });
    } catch (err) {
      if (child.id !== SPARE) queueMicrotask(() => this.events.exit(child.id, { code: null, signal: null, stopped: false, reason: `cannot start a process: ${(err as Error).message}` }));
      return false;
    }
    child.proc = proc;
    child.pid = proc.pid;
    if (child.plan.readiness.kind === "reported") child.protocol = child.plan.readiness.protocol();
    const report = this.reporter(child);
    // a broken stdin pipe (the child exited) must not become an unhandled error in the router
    proc.stdin?.on("error", () => {});
    const onLine = (line: string) => {
      if (child.protocol?.line?.(line, report)) return;
      child.output.push(line);
      this.events.output(child.id === SPARE ? "spare" : child.id, line);
    };
    splitLines(proc.stdout!, onLine);
    splitLines(proc.stderr!, onLine);
    if (s.fork) proc.on("message", (raw) => child.protocol?.message?.(raw, report));
    proc.on("error", (err) => {
      child.failure ??= `cannot start '${s.command}': ${err.message}`;
      // 'exit' never comes when the spawn itself failed
      if (proc.pid === undefined) this.finish(child, null, null);
    });
    proc.on("exit", (code, signal) => this.finish(child, code, signal));
    return true;
  }

  /** Graceful stop as the plan says, then SIGKILL after the model's stop timeout. Loading children are killed at once. */
  stop(id: string): void {
    const child = this.children.get(id);
    if (!child || child.stopping) return;
    child.stopping = true;
    if (!child.proc) {
      // a remote server: nothing runs here, so it is gone at once
      queueMicrotask(() => this.finish(child, 0, null));
      return;
    }
    if (!child.info && !child.plan.gracefulWhileLoading) {
      this.signal(child, "SIGKILL");
      return;
    }
    const how = child.plan.stop;
    if (how.kind === "stdin" && child.proc.stdin?.writable) child.proc.stdin.write(how.line + "\n");
    else this.signal(child, how.kind === "signal" ? how.signal : "SIGTERM");
    child.timers.push(setTimeout(() => this.signal(child, "SIGKILL"), child.plan.stopTimeoutS * 1000));
  }

  /** Kills a process that stopped answering; its exit reports `why`. */
  private killWedged(child: Child, why: string): void {
    if (!child.proc || child.stopping || child.done) return;
    child.wedged = why;
    this.signal(child, "SIGKILL");
  }

  info(id: string): ReadyInfo | undefined {
    return this.children.get(id)?.info;
  }

  pid(id: string): number | undefined {
    return this.children.get(id)?.pid;
  }

  has(id: string): boolean {
    return this.children.has(id);
  }

  /** The last ~64 KB of output of the model's process, or of its last one once it is gone. */
  outputTail(id: string): string[] {
    return (this.children.get(id)?.output ?? this.lastOutput.get(id))?.lines() ?? [];
  }

  /** Stops every child and resolves once all are gone. */
  async stopAll(): Promise<void> {
    this.closing = true;
    if (this.spare) this.signal(this.spare, "SIGKILL");
    const gone = [...this.children.values()].map((c) => new Promise<void>((resolve) => {
      if (c.done) return resolve();
      const t = setInterval(() => {
        if (c.done) {
          clearInterval(t);
          resolve();
        }
      }, 20);
    }));
    for (const id of [...this.children.keys()]) this.stop(id);
    await Promise.all(gone);
  }

  /** Last resort on the way out: no child may outlive the router. */
  killAll(): void {
    this.closing = true;
    if (this.spare) this.signal(this.spare, "SIGKILL");
    for (const c of this.children.values()) if (c.proc) this.signal(c, "SIGKILL");
  }

  private loadTimeout(child: Child): number {
    return Math.min(this.opts.loadTimeoutMs, child.plan.loadTimeoutMs ?? Infinity);
  }

  private signal(child: Child, sig: NodeJS.Signals): void {
    const proc = child.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    try {
      if (child.plan.spawn?.processGroup && proc.pid) process.kill(-proc.pid, sig);
      else proc.kill(sig);
    } catch {
      // already gone
    }
  }

  /** What the engine's protocol reports for one child (a spare's progress is nobody's). */
  private reporter(child: Child): LoadReporter {
    return {
      progress: (fraction) => {
        if (child.id !== SPARE) this.events.progress(child.id, fraction);
      },
      ready: (target, facts) => {
        if (child.id !== SPARE) this.markReady(child, target, facts);
      },
      failed: (why) => {
        child.failure = why;
      },
    };
  }

  private markReady(child: Child, target: UpstreamTarget, facts: Record<string, unknown>): void {
    if (child.info || child.stopping || child.done) return;
    child.info = { target, facts, ...(child.pid !== undefined ? { pid: child.pid } : {}) };
    this.events.ready(child.id, child.info);
    this.watchHealth(child);
    // the next spare starts now, not while this model was loading: on a small machine they would compete
    this.ensureSpare();
  }

  /**
   * A local process is watched for wedges over a connection of its own; a server elsewhere for being gone (nobody
   * else would notice: it has no exit).
   */
  private watchHealth(child: Child): void {
    const r = child.plan.readiness;
    if (!child.proc && r.kind === "health") {
      this.health.watch(child.id, {
        probe: (timeoutMs) => probe(r.url, r.headers, timeoutMs),
        everyMs: this.opts.remoteHealthEveryMs ?? 5000,
        timeoutMs: 2000,
        misses: this.opts.remoteHealthMisses ?? 3,
        describe: (res) => `${r.url} stopped answering (${typeof res === "number" ? `HTTP ${res}` : res})`,
        onFailed: (why) => {
          child.failure = why;
          this.finish(child, null, null);
        },
      });
      return;
    }
    const timeoutMs = this.opts.healthTimeoutMs;
    if (!child.proc || timeoutMs === undefined || !child.info) return;
    const prober = new Upstream(child.info.target);
    child.prober = prober;
    this.health.watch(child.id, {
      probe: (ms) => prober.probe("/health", ms),
      // a probe at most every 5 s, and several within one timeout, so that a wedge is found within about the timeout
      everyMs: Math.min(5000, Math.max(100, Math.floor(timeoutMs / 3))),
      timeoutMs,
      onFailed: (why) => this.killWedged(child, why),
    });
  }

  /** cmd and remote engines: ready once the health path answers 200. */
  private async pollUntilReady(child: Child): Promise<void> {
    const r = child.plan.readiness;
    if (r.kind !== "health" || !child.plan.target) return;
    let lastError = "";
    while (!child.done && !child.stopping && !child.info) {
      const res = await probe(r.url, r.headers, 2000);
      if (res === 200) return this.markReady(child, child.plan.target, {});
      const why = typeof res === "number" ? `HTTP ${res}` : res;
      if (why !== lastError) {
        lastError = why;
        if (!child.proc) child.output.push(`health ${r.url}: ${why}`);
      }
      if (!child.proc) child.failure = `${r.url} did not answer 200 (${why})`;
      await sleep(HEALTH_POLL_MS);
    }
  }

  private finish(child: Child, code: number | null, signal: NodeJS.Signals | null): void {
    if (child.done) return;
    child.done = true;
    for (const t of child.timers) clearTimeout(t);
    void child.prober?.destroy();
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
    this.health.unwatch(child.id);
    this.lastOutput.set(child.id, child.output);
    // whatever a command line left behind in its group goes with it
    if (child.plan.spawn?.processGroup && child.pid) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // the group is already empty
      }
    }
    let reason = "";
    const limitS = Math.round(this.loadTimeout(child) / 1000);
    if (child.timedOut) reason = child.proc ? `not ready after ${limitS} s; the process was killed` : `${child.failure ?? "no answer"} within ${limitS} s`;
    else if (child.wedged && !child.stopping) reason = child.wedged;
    else if (child.failure && !child.stopping) reason = child.failure;
    else if (!child.stopping) reason = explainExit(child.output.lines(), code, signal);
    this.events.exit(child.id, {
      code: code ?? (signal ? 128 + signalNumber(signal) : null), signal, stopped: child.stopping && !child.timedOut, reason,
      ...(child.timedOut ? { killedFor: "load-timeout" as const } : child.wedged ? { killedFor: "wedged" as const } : {}),
    });
    this.ensureSpare();
  }
}

function newChild(id: string, plan: LaunchPlan): Child {
  return { id, plan, output: new LineRing(OUTPUT_KEEP_BYTES), stopping: false, timedOut: false, done: false, timers: [] };
}

/**
 * Why a process ended, from its last lines: an engine's own error line when it printed one (llama.cpp logs a few
 * lines of context after the real cause), else the last lines.
 */
export function explainExit(lines: readonly string[], code: number | null, signal: NodeJS.Signals | null): string {
  const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
  const tail = lines.slice(-20);
  const errors = tail.filter((l) => /\b(error|failed|fatal|cannot|can't|unable)\b/i.test(l)).slice(-3);
  const shown = (errors.length > 0 ? errors : tail.slice(-5)).join("\n").trim();
  return shown ? `${how}: ${shown}` : how;
}

async function probe(url: string, headers: Record<string, string> = {}, timeoutMs: number): Promise<ProbeResult> {
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel().catch(() => {});
    return res.status;
  } catch (err) {
    const e = err as { cause?: { code?: string }; name?: string; message?: string };
    return e.cause?.code ?? (e.name === "TimeoutError" ? "timed out" : e.message ?? String(err));
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

function splitLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let rest = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop() ?? "";
    // a line that never ends is cut, so one chatty child cannot grow the router's memory
    if (rest.length > 128 * 1024) {
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
