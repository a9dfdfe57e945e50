// One routed request's life: acquire a lease on the model from the scheduler (loading it, and making room, as
// needed), forward the request to the model's upstream, retry when the process turned out to be dead before any
// byte went out, and release the lease when the answer is finished or the client is gone. The HTTP routes only
// find the model and call serve().
import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError } from "../http/errors.js";
import { sendError } from "../http/respond.js";
import type { Upstream } from "./upstream.js";

export interface Lease {
  model: string;
  upstream: Upstream;
  /** The response is finished (or aborted): the model's in-flight count drops. Idempotent. */
  release(): void;
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
}

/** Attempts for a request that keeps finding the model's process gone (each waits for the reload). */
const RETRIES = 20;
const RETRY_DELAY_MS = 50;

/**
 * Serves one request with model `id`. A request that reaches a model process in the instant between its death and
 * the router noticing is sent again once the process is known to be gone (the model then reloads), instead of
 * failing with 502. A broken connection is retried once only, in case the request itself is what kills the process.
 */
export async function serve(source: LeaseSource, id: string, autoload: boolean, r: Routed): Promise<void> {
  const { res } = r;
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
      unreachable = await lease.upstream.forward(r.req, res, r.path, r.body, id);
    } finally {
      lease.release();
    }
    if (!unreachable) return;
    if ((unreachable === "reset" && ++resets > 1) || attempt >= RETRIES) {
      const why = unreachable === "reset" ? "connection reset" : "connection refused";
      sendError(res, new ApiError(502, `model '${id}' did not answer: its process stopped (${why})`, { type: "server_error" }));
      return;
    }
    await new Promise((done) => setTimeout(done, RETRY_DELAY_MS));
  }
}
