// Anthropic's Messages API on the model server: POST /v1/messages and /v1/messages/count_tokens. Requests are
// translated to chat completions (src/dialects/anthropic.ts) and run through the same pipeline as
// /v1/chat/completions; answers and errors are translated back, so Anthropic clients never see OpenAI's shapes.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { anthropicError, anthropicToChat, chatToAnthropic } from "../../dialects/anthropic.js";
import { type AnthropicSseEvent, AnthropicStreamTranslator } from "../../dialects/anthropic-stream.js";
import type { ChatCompletion, ChatCompletionChunk } from "../../dialects/openai-chat.js";
import { toApiError } from "../../http/errors.js";
import { disconnectSignal, openSse, type SseStream } from "../../http/sse.js";
import type { Logger } from "../../util/log.js";
import type { ServerState } from "../state.js";
import { runGeneration } from "./generation.js";
import { countChatPromptTokens, rejectImages } from "./translated.js";

export function registerMessagesRoutes(app: FastifyInstance, state: ServerState): void {
  // A route-level handler also catches what fails before the handler runs (API key, body parsing).
  const errorHandler = anthropicErrors(state.log);
  app.post("/v1/messages", { errorHandler }, (req, reply) => messages(state, req, reply));
  app.post("/v1/messages/count_tokens", { errorHandler }, async (req) => {
    const chat = anthropicToChat(req.body);
    rejectImages(chat);
    return { input_tokens: countChatPromptTokens(state, chat) };
  });
}

async function messages(state: ServerState, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const chat = anthropicToChat(req.body);
  rejectImages(chat);
  const signal = disconnectSignal(reply);
  if (chat["stream"] !== true) {
    const completion = await runGeneration("chat", state, chat, { signal });
    return chatToAnthropic(completion as ChatCompletion);
  }

  // usage arrives in a last chunk only when asked for; Anthropic's message_delta needs it
  chat["stream_options"] = { include_usage: true };
  const translator = new AnthropicStreamTranslator({ inputTokens: countChatPromptTokens(state, chat) });
  // The stream opens with the first event, so that errors found before it (a full queue, a prompt too long)
  // still get their status code.
  let sse: SseStream | undefined;
  const write = (events: AnthropicSseEvent[]) => {
    for (const e of events) (sse ??= openSse(reply)).sendEvent(e.event, e.data);
  };
  try {
    await runGeneration("chat", state, chat, { signal, onEvent: (chunk) => write(translator.push(chunk as ChatCompletionChunk)) });
    write(translator.finish());
    sse!.end(false);
  } catch (err) {
    if (!sse) throw err;
    const e = toApiError(err);
    sse.sendEvent("error", anthropicError(e.status, e.message));
    sse.end(false);
  }
  return reply;
}

function anthropicErrors(log: Logger) {
  return (err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void => {
    const e = toApiError(err);
    if (e.status >= 500) log.error(`request failed: ${e.message}`);
    if (reply.raw.headersSent) return;
    reply.code(e.status === 499 ? 400 : e.status).headers(e.headers).send(anthropicError(e.status, e.message));
  };
}
