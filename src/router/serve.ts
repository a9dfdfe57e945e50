// One routed request's life: acquire a lease on the model from the scheduler (loading it, and making room, as
// needed), run the exchange with the model's upstream (the request forwarded as is, or translated from another
// dialect), retry when the process turned out to be dead before any byte went out, and release the lease when the
// answer is finished or the client is gone. The HTTP routes only find the model and call serve().
import type { IncomingMessage, ServerResponse } from "node:http";
import { errorBody, type ErrorDialect } from "../dialects/errors.js";
import { ApiError } from "../http/errors.js";
import { sendError } from "../http/respond.js";
import { noteModel } from "./request-log.js";
import type { Unreachable, Upstream } from "./upstream.js";
import type { KeepAlive } from "../util/keep-alive.js";

export interface Lease {
  model: string;
  upstream: Upstream;
  /**
   * The response is finished (or aborted): the model's in-flight count drops. `keepAlive` (Ollama's keep_alive)
   * sets how long the model stays loaded once idle: 0 unloads it now if nothing else is in flight, "forever" never.
   * Idempotent.
   */
  release(keepAlive?: KeepAlive): void;
}

export interface LeaseSource {
  /**
   * Resolves once `model` may serve one more request; rejects with the error to answer. `onGone` is told how to
   * cancel the wait when the client goes away and returns how to stop watching.
   */
  acquire(model: string, autoload: boolean, onGone: (cancel: () => void) => () => void): Promise<Lease>;
}

export interface Routed {
  req: IncomingMessage;
  res: ServerResponse;
  /** Path and query as forwarded. */
  path: string;
  body: Buffer | undefined;
  /** The error shape the client reads. */
  dialect: ErrorDialect;
}

/** One attempt at the exchange with a granted model: resolves with why nothing was answered, if it could not be. */
export type Exchange = (lease: Lease) => Promise<Unreachable | undefined>;

/** Attempts for a request that keeps finding the model's process gone (each waits for the reload). */
const RETRIES = 20;
const RETRY_DELAY_MS = 50;

/** Serves one request with model `id` by forwarding it unchanged. */
export function serve(source: LeaseSource, id: string, autoload: boolean, r: Routed): Promise<void> {
  return serveWith(source, id, autoload, r.res, r.dialect, (lease) => lease.upstream.forward(r.req, r.res, r.path, r.body, id, r.dialect));
}

/**
 * Serves one request with model `id` through `exchange`. A request that reaches a model process in the instant
 * between its death and the router noticing is sent again once the process is known to be gone (the model then
 * reloads), instead of failing with 502. A broken connection is retried once only, in case the request itself is
 * what kills the process.
 */
export async function serveWith(
  source: LeaseSource, id: string, autoload: boolean, res: ServerResponse, dialect: ErrorDialect, exchange: Exchange,
): Promise<void> {
  noteModel(res, id);
  let resets = 0;
  for (let attempt = 0; ; attempt++) {
    const lease = await source.acquire(id, autoload, (cancel) => {
      const onClose = () => {
        if (!res.writableFinished) cancel();
      };
      res.on("close", onClose);
      return () => res.off("close", onClose);
    });
    let unreachable;
    try {
      if (res.destroyed) return;
      unreachable = await exchange(lease);
    } finally {
      lease.release();
    }
    if (!unreachable) return;
    if ((unreachable === "reset" && ++resets > 1) || attempt >= RETRIES) {
      const why = unreachable === "reset" ? "connection reset" : "connection refused";
      const e = new ApiError(502, `model '${id}' did not answer: its process stopped (${why})`, { type: "server_error" });
      sendError(res, e, errorBody(dialect, e));
      return;
    }
    await new Promise((done) => setTimeout(done, RETRY_DELAY_MS));
  }
}
