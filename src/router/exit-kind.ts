// How a model's process ended, in the scheduler's terms (ExitKind): stopped, a deterministic error, a crash, or out
// of memory. The kernel's OOM killer sends SIGKILL, as a user's `kill -9` does; /proc/vmstat's oom_kill counter
// tells them apart (it counts every OOM kill on the machine since boot). An engine that fails to allocate exits
// with an error line instead, which its output names.
import { readFileSync } from "node:fs";
import type { ExitKind, ExitReport } from "./scheduler.js";
import type { ProcessEnd } from "./supervisor.js";

/** The kernel's count of OOM kills, or undefined where /proc/vmstat does not say (not Linux, or an old kernel). */
export function oomKillCount(): number | undefined {
  try {
    const m = /^oom_kill (\d+)$/m.exec(readFileSync("/proc/vmstat", "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

const EXTERNAL_SIGNALS: ReadonlySet<NodeJS.Signals> = new Set(["SIGKILL", "SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT"]);

/** llama.cpp's and node-llama-cpp's words for a failed allocation, and the C library's. */
const ALLOCATION_FAILURE = /failed to allocate|out of memory|cannot allocate memory|ENOMEM|bad_alloc|InsufficientMemoryError/i;

/** The report of a process's end: what it was, in the scheduler's terms (see exitKind). */
export function exitReport(end: ProcessEnd, oomBefore: number | undefined): ExitReport {
  return { kind: exitKind(end, oomBefore), code: end.code, signal: end.signal, reason: end.reason };
}

/**
 * `oomBefore` is oomKillCount() when the process started. A process the supervisor killed for not becoming ready is
 * an error (it would time out again); one killed for being wedged is a crash.
 */
export function exitKind(how: ProcessEnd, oomBefore: number | undefined): ExitKind {
  if (how.stopped) return "stopped";
  const reason = how.reason;
  if (how.killedFor === "load-timeout") return "error";
  if (how.killedFor === "wedged") return "signal";
  if (how.signal) {
    const now = how.signal === "SIGKILL" && oomBefore !== undefined ? oomKillCount() : undefined;
    if (now !== undefined && now > oomBefore!) return "oom";
    // the signals a person or a service manager sends; a crash is SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE
    return EXTERNAL_SIGNALS.has(how.signal) ? "killed" : "signal";
  }
  return ALLOCATION_FAILURE.test(reason) ? "oom" : "error";
}
