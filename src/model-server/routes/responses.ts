// OpenAI's Responses API on the model server: POST /v1/responses (and /responses, as llama-server serves both),
// and the input_tokens count. Requests are translated to chat completions (src/dialects/responses.ts) and run
// through the chat pipeline; answers are translated back. Errors keep OpenAI's shape, as this is OpenAI's API.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ChatCompletion, ChatCompletionChunk } from "../../dialects/openai-chat.js";
import { chatToResponse, responsesToChat } from "../../dialects/responses.js";
import { type ResponsesSseEvent, ResponsesStreamTranslator } from "../../dialects/responses-stream.js";
import { toApiError } from "../../http/errors.js";
import { disconnectSignal, openSse, type SseStream } from "../../http/sse.js";
import type { ServerState } from "../state.js";
import { runGeneration } from "./generation.js";
import { countChatPromptTokens, rejectImages } from "./translated.js";

export function registerResponsesRoutes(app: FastifyInstance, state: ServerState): void {
  for (const p of ["/v1/responses", "/responses"]) app.post(p, (req, reply) => responses(state, req, reply));
  for (const p of ["/v1/responses/input_tokens", "/responses/input_tokens"]) {
    app.post(p, async (req) => {
      const chat = responsesToChat(req.body);
      rejectImages(chat);
      return { object: "response.input_tokens", input_tokens: countChatPromptTokens(state, chat) };
    });
  }
}

async function responses(state: ServerState, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const chat = responsesToChat(req.body);
  rejectImages(chat);
  const signal = disconnectSignal(reply);
  if (chat["stream"] !== true) {
    const completion = await runGeneration("chat", state, chat, { signal });
    return chatToResponse(completion as ChatCompletion);
  }

  // usage arrives in a last chunk only when asked for; response.completed needs it
  chat["stream_options"] = { include_usage: true };
  const translator = new ResponsesStreamTranslator();
  // opened with the first event, so that errors found before it still get their status code
  let sse: SseStream | undefined;
  const write = (events: ResponsesSseEvent[]) => {
    for (const e of events) (sse ??= openSse(reply)).sendEvent(e.event, e.data);
  };
  try {
    await runGeneration("chat", state, chat, { signal, onEvent: (chunk) => write(translator.push(chunk as ChatCompletionChunk)) });
    write(translator.finish());
    sse!.end(false);
  } catch (err) {
    if (!sse) throw err;
    const e = toApiError(err);
    sse.sendEvent("error", { type: "error", code: e.type, message: e.message, param: null });
    sse.end(false);
  }
  return reply;
}
