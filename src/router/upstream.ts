// Forwards one granted request to whatever serves a model (a model process of any engine, or a remote server) and
// streams the answer back as it is produced. Each upstream is an undici Pool of keep-alive connections; the
// client's connection is kept alive too (llama.cpp's router closes it after every response). The request body is
// forwarded as the bytes the client sent. This is the only module that knows undici.
import type { IncomingMessage, ServerResponse } from "node:http";
import { Pool } from "undici";
import { errorBody, type ErrorDialect } from "../dialects/errors.js";
import type { UpstreamTarget } from "../engines/types.js";
import { ApiError } from "../http/errors.js";
import { sendError } from "../http/respond.js";
import { noteTokensFromTail, REQUEST_ID_HEADER } from "./request-log.js";

/** Hop-by-hop headers (RFC 9110 §7.6.1) and those the proxy recomputes; never forwarded either way. */
const HOP_BY_HOP = new Set([
  "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer",
  "transfer-encoding", "upgrade", "host", "content-length", "accept-encoding",
  // the client's key is the router's, never the upstream's: a remote server gets its own (or none)
  "authorization", "x-api-key",
  // a cluster node's proof of being one is for the node it calls, never passed on (see src/cluster/)
  "x-corral-cluster-key", "x-corral-forwarded-by",
]);

/** Keep-alive connections to one upstream, over its Unix socket when it has one (cheaper than TCP). */
export class Upstream {
  private readonly pool: Pool;
  private readonly basePath: string;
  /** Headers of the upstream's own (its key), as a flat [name, value, …] list. */
  private readonly own: string[];

  constructor(target: UpstreamTarget) {
    this.pool = new Pool(target.origin, {
      ...(target.socketPath ? { socketPath: target.socketPath } : {}),
      connections: 256,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      // generation can take as long as it takes; the client's own timeout and disconnect bound it
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    this.basePath = (target.basePath ?? "").replace(/\/+$/, "");
    const extra = Object.entries(target.headers ?? {}).flat();
    if (target.apiKey) extra.push("authorization", `Bearer ${target.apiKey}`);
    this.own = extra;
  }

  /** See forward() below. */
  forward(req: IncomingMessage, res: ServerResponse, path: string, body: Buffer | undefined, model: string, dialect: ErrorDialect = "openai"): Promise<Unreachable | undefined> {
    return forward(this.pool, req, res, this.basePath + path, body, model, this.own, dialect);
  }

  /**
   * POSTs a JSON body the router wrote (a request translated from another dialect) and resolves with the answer's
   * status, content type and body, or with why the process could not be reached (see Unreachable).
   */
  async post(path: string, json: unknown, signal: AbortSignal): Promise<UpstreamAnswer | Unreachable> {
    const sentAt = performance.now();
    try {
      const r = await this.pool.request({
        path: this.basePath + path,
        method: "POST",
        headers: ["content-type", "application/json", ...this.own],
        body: JSON.stringify(json),
        signal,
      });
      const type = r.headers["content-type"];
      return { status: r.statusCode, contentType: (Array.isArray(type) ? type[0] : type) ?? "", body: r.body };
    } catch (err) {
      if (signal.aborted) throw err;
      const why = unreachableOf(err, sentAt);
      if (why) return why;
      throw err;
    }
  }

  /** GETs `path` (a health check): its status, "timeout" when none came within `timeoutMs`, or the error. */
  async probe(path: string, timeoutMs: number): Promise<number | string> {
    try {
      const r = await this.pool.request({ path: this.basePath + path, method: "GET", signal: AbortSignal.timeout(timeoutMs) });
      await r.body.dump();
      return r.statusCode;
    } catch (err) {
      const e = err as { name?: string };
      return e?.name === "TimeoutError" || e?.name === "AbortError" ? "timeout" : describe(err);
    }
  }

  close(): Promise<void> {
    return this.pool.close().catch(() => {});
  }

  destroy(): Promise<void> {
    return this.pool.destroy().catch(() => {});
  }
}

/** The client's headers for the upstream, as a flat [name, value, …] list (no object built per request). */
function requestHeaders(raw: readonly string[], own: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (!HOP_BY_HOP.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
  }
  for (let i = 0; i < own.length; i++) out.push(own[i]!);
  return out;
}

/** A connection that breaks sooner than this after a request was sent belonged to a process already gone. */
const STALE_CONNECTION_MS = 150;

export interface UpstreamAnswer {
  status: number;
  contentType: string;
  body: AsyncIterable<Buffer> & { text(): Promise<string>; dump(): Promise<void> };
}

/**
 * Why nothing was answered, when the model process is gone: "refused" when the request never reached it (connect
 * failed), "reset" when its kept-alive connection broke at once (the process died just before the request). The
 * caller then owes the client an answer: a retry once the model has reloaded, or its own error.
 */
export type Unreachable = "refused" | "reset";

/**
 * Sends `req` (with `body`) to the pool and writes the answer into `res` as it arrives. If the model process dies
 * while working on the request, the client gets 502 JSON; if it dies mid-stream, an SSE stream ends with an error
 * event and any other body is cut (its length can no longer be honoured). Resolves when the exchange is over, with
 * the reason when the process could not be reached at all (see Unreachable).
 *
 * Written on undici's low-level dispatch() rather than request(): no Readable, async iterator or AbortSignal per
 * request, which the router pays on every proxied call (measured with --cpu-prof under load).
 */
function forward(
  pool: Pool,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  body: Buffer | undefined,
  model: string,
  own: readonly string[],
  dialect: ErrorDialect,
): Promise<Unreachable | undefined> {
  return new Promise<Unreachable | undefined>((resolve) => {
    let abortUpstream: ((err?: Error) => void) | undefined;
    let clientGone = false;
    let sse = false;
    // the last three chunks of a JSON or SSE answer, held (not copied) for the token counts at its end
    let sniff = false;
    let tail0: Buffer | undefined;
    let tail1: Buffer | undefined;
    let tail2: Buffer | undefined;
    let settled = false;
    const settle = (r?: Unreachable) => {
      if (settled) return;
      settled = true;
      res.off("close", onClose);
      resolve(r);
    };
    const onClose = () => {
      if (res.writableFinished) return;
      clientGone = true;
      abortUpstream?.(new Error("client went away"));
      settle();
    };
    res.on("close", onClose);
    const method = req.method ?? "GET";
    const sentAt = performance.now();
    const options: Parameters<Pool["dispatch"]>[0] = {
      path,
      method: method as "GET",
      headers: requestHeaders(req.rawHeaders, own),
      ...(body !== undefined && method !== "GET" && method !== "HEAD" ? { body } : {}),
    };
    const handler: Parameters<Pool["dispatch"]>[1] = {
      onConnect(abort) {
        abortUpstream = abort;
        if (clientGone) abort(new Error("client went away"));
      },
      onHeaders(statusCode, rawHeaders, resume) {
        const headers: string[] = [];
        for (let i = 0; i < rawHeaders.length; i += 2) {
          const name = rawHeaders[i]!.toString("latin1");
          const lower = name.toLowerCase();
          // content-length is kept so a plain JSON answer is not re-chunked
          if (lower !== "content-length" && HOP_BY_HOP.has(lower)) continue;
          // CORS is the router's to decide: a model's own (llama-server's default echoes any origin) is dropped
          if (lower.startsWith("access-control-")) continue;
          // the router's request id is the one the client gets (RouterResponse.writeHead adds it)
          if (lower === REQUEST_ID_HEADER) continue;
          const value = rawHeaders[i + 1]!.toString("latin1");
          if (lower === "content-type") {
            if (value.startsWith("text/event-stream")) sse = true;
            sniff = statusCode === 200 && (sse || value.includes("json"));
          }
          headers.push(name, value);
        }
        // headers the router set itself (CORS) join the model's
        for (const name of res.getHeaderNames()) {
          const v = res.getHeader(name);
          if (v !== undefined) headers.push(name, String(v));
          res.removeHeader(name);
        }
        res.writeHead(statusCode, headers);
        if (sse) res.flushHeaders();
        res.on("drain", resume);
        return true;
      },
      onData(chunk) {
        if (sniff) {
          tail2 = tail1;
          tail1 = tail0;
          tail0 = chunk;
        }
        return res.write(chunk);
      },
      onComplete() {
        if (sniff) noteTokensFromTail(res, [tail2, tail1, tail0]);
        res.end();
        settle();
      },
      onError(err) {
        if (clientGone || res.destroyed) return settle();
        const why = describe(err);
        if (!res.headersSent) {
          const unreachable = unreachableOf(err, sentAt);
          if (unreachable) return settle(unreachable);
          const e = new ApiError(502, `model '${model}' did not answer: ${why}`, { type: "server_error" });
          sendError(res, e, errorBody(dialect, e));
        } else if (sse) {
          const e = new ApiError(502, `model '${model}' stopped while streaming: ${why}`, { type: "server_error" });
          // an Anthropic stream's errors are named events; OpenAI's are bare data lines
          res.end(`${dialect === "anthropic" ? "event: error\n" : ""}data: ${JSON.stringify(errorBody(dialect, e))}\n\n`);
        } else res.destroy();
        settle();
      },
    };
    try {
      pool.dispatch(options, handler);
    } catch (err) {
      // a pool closed a moment ago (its model process just exited) may refuse at once instead of via onError
      handler.onError!(err as Error);
    }
  });
}

/**
 * Whether an error before any answer means the model's process is gone: "refused" when the request never reached
 * it, "reset" when a kept-alive connection broke within moments of sending (the process was already dying when the
 * request went out; a killed process can take tens of ms to release its sockets). Later, it died while working on
 * the request, and that is reported (502), not retried.
 */
function unreachableOf(err: unknown, sentAt: number): Unreachable | undefined {
  const why = describe(err);
  if (why === "ECONNREFUSED" || why === "ENOENT") return "refused";
  const broken = why === "ECONNRESET" || why === "EPIPE" || why === "UND_ERR_SOCKET";
  if (broken && performance.now() - sentAt < STALE_CONNECTION_MS) return "reset";
  return undefined;
}

export function describe(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string } };
  return e?.cause?.code ?? e?.code ?? e?.message ?? String(err);
}
