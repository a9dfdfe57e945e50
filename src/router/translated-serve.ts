// Serving a request of another dialect (Anthropic Messages, OpenAI Responses, Ollama) through an engine that does
// not speak it: the dialect module has turned it into an OpenAI request, which is sent to the model's upstream
// (with the same lease, load and retry rules as a forwarded request, see serve.ts), and the answer, whole or
// streamed, is turned back into the dialect as it arrives. Errors keep their status and take the dialect's shape.
import type { ServerResponse } from "node:http";
import { createParser } from "eventsource-parser";
import { errorBody, upstreamErrorBody, type ErrorDialect } from "../dialects/errors.js";
import { ApiError } from "../http/errors.js";
import { sendError, sendJson } from "../http/respond.js";
import type { KeepAlive } from "./scheduler.js";
import { noteUsage } from "./request-log.js";
import { serveWith, type LeaseSource } from "./serve.js";
import { describe } from "./upstream.js";

/** Nanoseconds (Ollama reports durations so): the whole exchange, and the part of it spent waiting for a load. */
export interface Timing {
  totalNs: number;
  loadNs: number;
}

/** A dialect's streamed answer, as the bytes to write: OpenAI chunks in, frames (SSE events, NDJSON lines) out. */
export interface FrameTranslator {
  push(chunk: unknown): string[];
  finish(timing: Timing): string[];
  /** The frame that ends a stream that failed after it started. */
  error(e: ApiError): string;
}

export interface Translation {
  /** The OpenAI path and body sent upstream (its `stream` flag already set as the client asked). */
  path: string;
  body: Record<string, unknown>;
  stream: boolean;
  /** The content type of the streamed answer. */
  contentType: string;
  whole(answer: unknown, timing: Timing): unknown;
  frames(): FrameTranslator;
  /** Applied to the model when the answer is done (Ollama's keep_alive). */
  keepAlive?: KeepAlive;
}

/** Serves `t` with model `id`; resolves when the answer is finished or the client is gone. */
export function serveTranslated(
  source: LeaseSource, id: string, autoload: boolean, res: ServerResponse, dialect: ErrorDialect, t: Translation,
): Promise<void> {
  const t0 = performance.now();
  return serveWith(source, id, autoload, res, dialect, async (lease) => {
    const grantedAt = performance.now();
    const timing = (): Timing => ({ totalNs: Math.round((performance.now() - t0) * 1e6), loadNs: Math.round((grantedAt - t0) * 1e6) });
    const ac = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) ac.abort();
    };
    res.on("close", onClose);
    let frames: FrameTranslator | undefined;
    try {
      const a = await lease.upstream.post(t.path, t.body, ac.signal);
      if (typeof a === "string") return a;
      if (a.status !== 200) {
        const text = await a.body.text();
        sendJson(res, a.status, upstreamErrorBody(dialect, a.status, parseOr(text)));
        return;
      }
      if (!t.stream || !a.contentType.startsWith("text/event-stream")) {
        const answer = parseOr(await a.body.text());
        noteUsage(res, answer);
        // released before the answer is sent, so that a client that looks right after sees its keep-alive applied
        lease.release(t.keepAlive);
        sendJson(res, 200, t.whole(answer, timing()));
        return;
      }
      frames = t.frames();
      const out = frames;
      res.writeHead(200, { "content-type": t.contentType, "cache-control": "no-cache", "x-accel-buffering": "no" });
      res.flushHeaders();
      let pending: string[] = [];
      let failed = false;
      const parser = createParser({
        onEvent: (ev) => {
          if (failed || ev.data === "[DONE]") return;
          const chunk = parseOr(ev.data);
          const err = (chunk as { error?: unknown } | null)?.error;
          if (err !== undefined) {
            const code = (err as { code?: unknown }).code;
            pending.push(out.error(new ApiError(typeof code === "number" ? code : 500, upstreamMessage(chunk))));
            failed = true;
            return;
          }
          const c = chunk as { usage?: unknown; timings?: unknown } | null;
          if (c?.usage || c?.timings) noteUsage(res, chunk);
          pending.push(...out.push(chunk));
        },
      });
      const dec = new TextDecoder();
      for await (const buf of a.body) {
        parser.feed(dec.decode(buf, { stream: true }));
        if (pending.length > 0) {
          const ok = res.write(pending.join(""));
          pending = [];
          if (!ok) await new Promise((done) => res.once("drain", done));
        }
        if (failed) break;
      }
      if (!failed) pending.push(...out.finish(timing()));
      lease.release(t.keepAlive);
      res.end(pending.join(""));
    } catch (err) {
      if (ac.signal.aborted || res.destroyed) return;
      const e = new ApiError(502, `model '${id}' did not answer: ${describe(err)}`, { type: "server_error" });
      if (!res.headersSent) sendError(res, e, errorBody(dialect, e));
      else res.end(frames ? frames.error(e) : undefined);
    } finally {
      res.off("close", onClose);
    }
    return undefined;
  });
}

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function upstreamMessage(chunk: unknown): string {
  const e = (chunk as { error?: { message?: unknown } | string }).error;
  if (typeof e === "string") return e;
  return typeof e?.message === "string" ? e.message : "the model failed while streaming";
}

/** Frames for dialects that stream server-sent events with names (Anthropic, Responses). */
export function sseFrames<T>(
  translator: { push(chunk: T): Array<{ event: string; data: unknown }>; finish(): Array<{ event: string; data: unknown }> },
  errorData: (e: ApiError) => unknown,
): FrameTranslator {
  const frame = (e: { event: string; data: unknown }) => `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;
  return {
    push: (chunk) => translator.push(chunk as T).map(frame),
    finish: () => translator.finish().map(frame),
    error: (e) => frame({ event: "error", data: errorData(e) }),
  };
}
