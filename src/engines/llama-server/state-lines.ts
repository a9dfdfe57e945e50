// llama.cpp's router protocol as a child speaks it (llama-server's router mode): a child started
// with LLAMA_SERVER_ROUTER_PORT set prints `cmd_child_to_router:state:{"state":S,"payload":{…}}` lines on stdout
// (S = loading with progress, ready with its /v1/models info, sleeping, downloading), stops gracefully when it reads
// `cmd_router_to_child:exit` on stdin, and exits when stdin reaches EOF.
import type { Readiness, UpstreamTarget } from "../types.js";

export const STATE_PREFIX = "cmd_child_to_router:state:";
export const EXIT_COMMAND = "cmd_router_to_child:exit";
/** Marks a process as a router's child; llama.cpp sets it to the router's port. */
export const ROUTER_PORT_ENV = "LLAMA_SERVER_ROUTER_PORT";

export interface StateLine {
  state: "loading" | "ready" | "sleeping" | "downloading" | string;
  payload: Record<string, unknown>;
}

export function parseStateLine(line: string): StateLine | undefined {
  const at = line.indexOf(STATE_PREFIX);
  if (at < 0) return undefined;
  try {
    const data = JSON.parse(line.slice(at + STATE_PREFIX.length)) as { state?: unknown; payload?: unknown };
    if (typeof data.state !== "string") return undefined;
    const payload = data.payload && typeof data.payload === "object" ? (data.payload as Record<string, unknown>) : {};
    return { state: data.state, payload };
  } catch {
    return undefined;
  }
}

/**
 * Overall load progress 0..1 from a `loading` payload: `value` is the current stage's progress and `stages` lists
 * every stage (text model, draft model, projector), so the whole load is (index of current + value) / stages.
 */
export function progressOf(payload: Record<string, unknown>): number | undefined {
  const value = payload.value;
  if (typeof value !== "number" || !Number.isFinite(value)) return undefined;
  const stages = Array.isArray(payload.stages) ? payload.stages : [];
  const i = stages.indexOf(payload.current);
  const overall = stages.length > 1 && i >= 0 ? (i + value) / stages.length : value;
  return Math.round(Math.min(1, Math.max(0, overall)) * 1000) / 1000;
}

/** Readiness from a child's state lines: `loading` carries progress, `ready` its /v1/models entry (facts in `meta`). */
export function stateLineReadiness(target: UpstreamTarget): Readiness {
  return {
    kind: "reported",
    protocol: () => ({
      line(line, report) {
        const st = parseStateLine(line);
        if (!st) return false;
        if (st.state === "loading") {
          const p = progressOf(st.payload);
          if (p !== undefined) report.progress(p);
        } else if (st.state === "ready") {
          const meta = st.payload.meta;
          report.ready(target, meta && typeof meta === "object" ? (meta as Record<string, unknown>) : st.payload);
        }
        return true;
      },
    }),
  };
}
