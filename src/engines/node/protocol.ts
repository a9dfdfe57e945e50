// The node engine's parent-child protocol, in one place for both sides: the router (src/engines/node/backend.ts
// via the supervisor) and the model process (src/model-server/server/parent-link.ts, src/model-server/spare.ts).
// Messages travel over the IPC channel of child_process.fork, as JSON.

import type { Readiness, UpstreamTarget } from "../types.js";

/** Model process → router. */
export type ChildMessage =
  /** The HTTP server listens (on a Unix socket when `socketPath` is set). */
  | { type: "listening"; port: number; host: string; socketPath?: string }
  /** Load progress, 0..1. */
  | { type: "progress"; value: number }
  /** The model is loaded and requests may be sent; `info` holds the process's facts (n_ctx, n_params, …). */
  | { type: "ready"; info: Record<string, unknown> }
  /** The load failed; the process exits next. */
  | { type: "failed"; error: string }
  /** A spare process has warmed up and waits for a `run`. */
  | { type: "spare-ready" };

/** Router → spare process: serve the model on this command line. */
export type ParentMessage = { type: "run"; argv: string[] };

/** Validates a message from a child: anything malformed is ignored rather than trusted. */
export function parseChildMessage(raw: unknown): ChildMessage | undefined {
  const m = raw as Record<string, unknown> | null;
  if (!m || typeof m !== "object") return undefined;
  switch (m.type) {
    case "listening":
      return typeof m.port === "number" && typeof m.host === "string"
        ? { type: "listening", port: m.port, host: m.host, ...(typeof m.socketPath === "string" ? { socketPath: m.socketPath } : {}) }
        : undefined;
    case "progress":
      return typeof m.value === "number" ? { type: "progress", value: m.value } : undefined;
    case "ready":
      return { type: "ready", info: m.info && typeof m.info === "object" ? (m.info as Record<string, unknown>) : {} };
    case "failed":
      return typeof m.error === "string" ? { type: "failed", error: m.error } : undefined;
    case "spare-ready":
      return { type: "spare-ready" };
    default:
      return undefined;
  }
}

export function parseParentMessage(raw: unknown): ParentMessage | undefined {
  const m = raw as Record<string, unknown> | null;
  if (m?.type === "run" && Array.isArray(m.argv)) return { type: "run", argv: m.argv.map(String) };
  return undefined;
}

/** Set in a spare process's environment: it waits for a `run` message instead of reading its command line. */
export const SPARE_ENV = "CORRAL_SPARE";

/** The router's side of the protocol: `listening` gives the target, `ready` the facts, `failed` the reason. */
export const ipcReadiness: Readiness = {
  kind: "reported",
  protocol() {
    let listening: UpstreamTarget | undefined;
    return {
      message(raw, report) {
        const msg = parseChildMessage(raw);
        switch (msg?.type) {
          case "listening":
            listening = msg.socketPath ? { origin: "http://localhost", socketPath: msg.socketPath } : { origin: `http://127.0.0.1:${msg.port}` };
            return;
          case "progress":
            return report.progress(msg.value);
          case "ready":
            if (listening) report.ready(listening, msg.info);
            return;
          case "failed":
            return report.failed(msg.error);
        }
      },
    };
  },
};
