// Forwards one granted request to a model process and streams the answer back as it is produced. Each model
// process gets an undici Pool of keep-alive connections; the client's connection is kept alive too (llama.cpp's
// router closes it after every response). The request body is forwarded as the bytes the client sent.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { Pool } from "undici";
import { ApiError } from "../http/errors.js";

/** Hop-by-hop headers (RFC 9110 §7.6.1) and those the proxy recomputes; never forwarded either way. */
const HOP_BY_HOP = new Set([
  "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer",
  "transfer-encoding", "upgrade", "host", "content-length", "accept-encoding",
]);

export function createPool(port: number): Pool {
  return new Pool(`http://127.0.0.1:${port}`, {
    connections: 256,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    // generation can take as long as it takes; the client's own timeout and disconnect bound it
    headersTimeout: 0,
    bodyTimeout: 0,
  });
}

function requestHeaders(h: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

function responseHeaders(h: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) {
    // content-length is kept so a plain JSON answer is not re-chunked
    if (v !== undefined && (k === "content-length" || !HOP_BY_HOP.has(k))) out[k] = v;
  }
  return out;
}

export interface ForwardResult {
  /** The client went away before the answer was complete. */
  aborted: boolean;
  /** The model process failed under the request (connection refused or reset). */
  upstreamError?: string;
}

/**
 * Sends `req` (with `body`) to the pool and pipes the answer into `res`. If the model process dies before
 * answering, the client gets 502 JSON; if it dies mid-stream, an SSE stream ends with an error event and any other
 * body is cut (its length can no longer be honoured).
 */
export async function forward(
  pool: Pool,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  body: Buffer | undefined,
  model: string,
): Promise<ForwardResult> {
  const ac = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) ac.abort();
  };
  res.on("close", onClose);
  try {
    let upstream;
    try {
      upstream = await pool.request({
        path,
        method: req.method as "GET",
        headers: requestHeaders(req.headers),
        ...(body !== undefined && req.method !== "GET" && req.method !== "HEAD" ? { body } : {}),
        signal: ac.signal,
      });
    } catch (err) {
      if (ac.signal.aborted) return { aborted: true };
      const why = describe(err);
      sendError(res, new ApiError(502, `model '${model}' did not answer: ${why}`, { type: "server_error" }));
      return { aborted: false, upstreamError: why };
    }
    res.writeHead(upstream.statusCode, responseHeaders(upstream.headers));
    if (isEventStream(upstream.headers)) res.flushHeaders();
    try {
      for await (const chunk of upstream.body) {
        if (!res.write(chunk)) await drained(res);
      }
    } catch (err) {
      if (ac.signal.aborted || res.destroyed) return { aborted: true };
      const why = describe(err);
      if (isEventStream(upstream.headers)) {
        const e = new ApiError(502, `model '${model}' stopped while streaming: ${why}`, { type: "server_error" });
        res.end(`data: ${JSON.stringify(e.toJSON())}\n\n`);
      } else res.destroy();
      return { aborted: false, upstreamError: why };
    }
    res.end();
    return { aborted: false };
  } finally {
    res.off("close", onClose);
  }
}

export function sendError(res: ServerResponse, e: ApiError): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify(e.toJSON());
  res.writeHead(e.status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body), ...e.headers });
  res.end(body);
}

function isEventStream(h: Record<string, string | string[] | undefined>): boolean {
  const ct = h["content-type"];
  return typeof ct === "string" && ct.startsWith("text/event-stream");
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string } };
  return e?.cause?.code ?? e?.code ?? e?.message ?? String(err);
}
