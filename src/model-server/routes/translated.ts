// What the routes of translated dialects (Anthropic Messages, OpenAI Responses) share on the model server: running a
// translated chat request whole or streamed as the dialect's named SSE events, counting a chat request's prompt
// tokens, and refusing images, which this engine cannot see.
import type { FastifyReply } from "fastify";
import { hasImages, type ChatCompletion, type ChatCompletionChunk } from "../../dialects/openai/chat.js";
import { ApiError, toApiError } from "../../http/errors.js";
import { disconnectSignal, openSse, type SseStream } from "../../http/sse.js";
import type { JsonObject } from "../../http/validate.js";
import { renderChatPrompt } from "../chat-template.js";
import type { ServerState } from "../state.js";
import { runGeneration } from "./generation.js";
import { requireReady } from "./ready.js";

/** A dialect's stream translator (src/dialects/*-stream.ts): OpenAI chunks in, the dialect's named events out. */
export interface StreamTranslator {
  push(chunk: ChatCompletionChunk): Array<{ event: string; data: unknown }>;
  finish(): Array<{ event: string; data: unknown }>;
}

/**
 * Runs a chat-completions body translated from another dialect. Without `stream` the answer goes through `whole`;
 * with it, every chunk goes through the translator `stream` makes (once usage is asked for, which the dialects'
 * last events need), and an error after the first event becomes the dialect's `error` event.
 */
export async function runTranslated(
  state: ServerState,
  reply: FastifyReply,
  chat: JsonObject,
  o: { whole: (c: ChatCompletion) => unknown; stream: () => StreamTranslator; errorEvent: (e: ApiError) => unknown },
): Promise<unknown> {
  const signal = disconnectSignal(reply);
  if (chat["stream"] !== true) return o.whole((await runGeneration("chat", state, chat, { signal })) as ChatCompletion);
  chat["stream_options"] = { include_usage: true };
  const translator = o.stream();
  // The stream opens with the first event, so that errors found before it (a full queue, a prompt too long)
  // still get their status code.
  let sse: SseStream | undefined;
  const write = (events: Array<{ event: string; data: unknown }>) => {
    for (const e of events) (sse ??= openSse(reply)).sendEvent(e.event, e.data);
  };
  try {
    await runGeneration("chat", state, chat, { signal, onEvent: (chunk) => write(translator.push(chunk as ChatCompletionChunk)) });
    write(translator.finish());
    sse!.end(false);
  } catch (err) {
    if (!sse) throw err;
    sse.sendEvent("error", o.errorEvent(toApiError(err)));
    sse.end(false);
  }
  return reply;
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
  if (hasImages(chat)) throw new ApiError(500, "image input is not supported - hint: if this is unexpected, you may need to provide the mmproj");
}
