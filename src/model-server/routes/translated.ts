// What the routes of translated dialects (Anthropic Messages, OpenAI Responses, Ollama) share on the model server:
// running a translated request whole or streamed as the dialect's events, answering errors in the dialect's shape,
// counting a chat request's prompt tokens, and refusing images, which this engine cannot see.
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import type { ChatDialect, ChatStreamOptions, Dialect } from "../../dialects/dialect.js";
import { openai, type ChatCompletion, type ChatCompletionChunk } from "../../dialects/openai/index.js";
import type { StreamEvent, StreamFormat, StreamTranslator, Timing } from "../../dialects/stream.js";
import { ApiError, toApiError } from "../../http/errors.js";
import { disconnectSignal } from "../../http/sse.js";
import type { JsonObject } from "../../http/validate.js";
import type { Logger } from "../../util/log.js";
import { renderChatPrompt } from "../templates/chat-prompt.js";
import type { ServerState } from "../server/state.js";
import { runGeneration, type Flavor } from "./generation.js";
import { requireReady } from "./ready.js";

/**
 * Runs a chat-completions body translated from a chat dialect. Without `stream` the answer goes through the
 * dialect's answerFrom; with it, through its stream translator (once usage is asked for, which the dialects' last
 * events need). `streamOptions` is asked for only when the answer streams.
 */
export async function runTranslated(
  state: ServerState, reply: FastifyReply, chat: JsonObject, d: ChatDialect, streamOptions: () => ChatStreamOptions = () => ({}),
): Promise<unknown> {
  const timing = timer();
  const signal = disconnectSignal(reply);
  if (chat["stream"] !== true) return d.answerFrom((await runGeneration("chat", state, chat, { signal })) as ChatCompletion);
  chat["stream_options"] = { include_usage: true };
  return streamTranslated(state, reply, { flavor: "chat", body: chat, signal, translator: d.stream(streamOptions()), format: d.streamFormat, timing });
}

/**
 * Streams the generation of an OpenAI body as a dialect's events. The stream opens with the first event, so that
 * errors found before it (a full queue, a prompt too long) still get their status code; after it, an error is the
 * dialect's error event, the stream's last.
 */
export async function streamTranslated(
  state: ServerState,
  reply: FastifyReply,
  o: { flavor: Flavor; body: JsonObject; signal: AbortSignal; translator: StreamTranslator; format: StreamFormat; timing(): Timing },
): Promise<FastifyReply> {
  let out: EventStream | undefined;
  const write = (events: StreamEvent[]) => {
    for (const e of events) (out ??= openEvents(reply, o.format)).send(e);
  };
  try {
    await runGeneration(o.flavor, state, o.body, { signal: o.signal, onEvent: (chunk) => write(o.translator.push(chunk as ChatCompletionChunk)) });
    write(o.translator.finish(o.timing()));
    out!.end();
  } catch (err) {
    if (!out) throw err;
    out.send(o.translator.error(toApiError(err)));
    out.end();
  }
  return reply;
}

/** The time since it was made; the model is always loaded here, so none of it was spent loading. */
export function timer(): () => Timing {
  const started = process.hrtime.bigint();
  return () => ({ totalNs: Number(process.hrtime.bigint() - started), loadNs: 0 });
}

interface EventStream {
  send(e: StreamEvent): void;
  end(): void;
}

/** The reply as the dialect's stream; each event is written as soon as it exists (the reply is hijacked). */
function openEvents(reply: FastifyReply, format: StreamFormat): EventStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    "content-type": format.contentType,
    "cache-control": "no-cache",
    // as the server's other event streams have it (src/http/sse.ts)
    ...(format.kind === "sse" ? { connection: "keep-alive" } : {}),
    "x-accel-buffering": "no",
  });
  res.flushHeaders();
  return {
    send(e) {
      if (!res.destroyed) res.write(format.frame(e));
    },
    end() {
      if (!res.destroyed) res.end();
    },
  };
}

/**
 * Errors in the dialect's shape, as a route-level handler: it also catches what fails before the handler runs (API
 * key, body parsing).
 */
export function dialectErrors(log: Logger, d: Dialect) {
  return (err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void => {
    const e = toApiError(err);
    if (e.status >= 500) log.error(`request failed: ${e.message}`);
    if (reply.raw.headersSent) return;
    reply.code(e.status === 499 ? 400 : e.status).headers(e.headers).send(d.errorBody(e));
  };
}

/**
 * The prompt tokens a chat-completions body renders to, rendered as the chat route renders it. Used for token
 * counting, and for the input size that a stream must report before generation starts.
 */
export function countChatPromptTokens(state: ServerState, chat: JsonObject): number {
  const { engine, template } = requireReady(state);
  return engine.tokenizePrompt(renderChatPrompt(template, chat).text).length;
}

/**
 * The model server has no multimodal projector, so an image cannot be seen. llama-server answers this case
 * with a 500 and this message (its suite checks both), so corral does the same.
 */
export function rejectImages(chat: JsonObject): void {
  if (openai.hasImages(chat)) throw new ApiError(500, "image input is not supported - hint: if this is unexpected, you may need to provide the mmproj");
}
