// Serving a request of another dialect (Anthropic Messages, OpenAI Responses, Ollama) through an engine that does
// not speak it: the dialect module has turned it into an OpenAI request, which is sent to the model's upstream
// (with the same lease, load and retry rules as a forwarded request, see serve.ts), and the answer, whole or
// streamed, is turned back into the dialect as it arrives. Errors keep their status and take the dialect's shape.
import type { ServerResponse } from "node:http";
import { createParser } from "eventsource-parser";
import { errorBody, upstreamErrorBody, type ErrorDialect } from "../dialects/errors.js";
import type { ChatCompletionChunk } from "../dialects/openai/index.js";
import type { StreamEvent, StreamFormat, StreamTranslator, Timing } from "../dialects/stream.js";
import { ApiError } from "../http/errors.js";
import { sendError, sendJson } from "../http/respond.js";
import type { KeepAlive } from "./scheduler.js";
import { noteUsage } from "./request-log.js";
import { serveWith, type LeaseSource } from "./serve.js";
import { describe } from "./upstream.js";

export interface Translation {
  /** The OpenAI path and body sent upstream (its `stream` flag already set as the client asked). */
  path: string;
  body: Record<string, unknown>;
  whole(answer: unknown, timing: Timing): unknown;
  /** When the client asked for a stream: the dialect's translator for it, and how its events are written. */
  stream?: { translator(): StreamTranslator; format: StreamFormat };
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
    let streaming: { translator: StreamTranslator; format: StreamFormat } | undefined;
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
      streaming = { translator: t.stream.translator(), format: t.stream.format };
      const { translator, format } = streaming;
      const frames = (events: StreamEvent[]) => events.map((e) => format.frame(e));
      res.writeHead(200, { "content-type": format.contentType, "cache-control": "no-cache", "x-accel-buffering": "no" });
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
            pending.push(format.frame(translator.error(new ApiError(typeof code === "number" ? code : 500, upstreamMessage(chunk)))));
            failed = true;
            return;
          }
          const c = chunk as { usage?: unknown; timings?: unknown } | null;
          if (c?.usage || c?.timings) noteUsage(res, chunk);
          pending.push(...frames(translator.push(chunk as ChatCompletionChunk)));
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
      if (!failed) pending.push(...frames(translator.finish(timing())));
      lease.release(t.keepAlive);
      res.end(pending.join(""));
    } catch (err) {
      if (ac.signal.aborted || res.destroyed) return;
      const e = new ApiError(502, `model '${id}' did not answer: ${describe(err)}`, { type: "server_error" });
      if (!res.headersSent) sendError(res, e, errorBody(dialect, e));
      else res.end(streaming ? streaming.format.frame(streaming.translator.error(e)) : undefined);
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
