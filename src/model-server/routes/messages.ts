// Anthropic's Messages API on the model server: POST /v1/messages and /v1/messages/count_tokens. Requests are
// translated to chat completions (src/dialects/anthropic.ts) and run through the same pipeline as
// /v1/chat/completions; answers and errors are translated back, so Anthropic clients never see OpenAI's shapes.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { anthropicError, anthropicToChat, chatToAnthropic } from "../../dialects/anthropic/request.js";
import { AnthropicStreamTranslator } from "../../dialects/anthropic/stream.js";
import { toApiError } from "../../http/errors.js";
import type { Logger } from "../../util/log.js";
import type { ServerState } from "../state.js";
import { countChatPromptTokens, rejectImages, runTranslated } from "./translated.js";
import { ENDPOINTS } from "../../http/endpoints.js";
import { routeEndpoint } from "./endpoint-route.js";

export function registerMessagesRoutes(app: FastifyInstance, state: ServerState): void {
  // A route-level handler also catches what fails before the handler runs (API key, body parsing).
  const errorHandler = anthropicErrors(state.log);
  routeEndpoint(app, ENDPOINTS.messages, (req, reply) => messages(state, req, reply), { errorHandler });
  routeEndpoint(app, ENDPOINTS.messagesCountTokens, async (req) => {
    const chat = anthropicToChat(req.body);
    rejectImages(chat);
    return { input_tokens: countChatPromptTokens(state, chat) };
  }, { errorHandler });
}

function messages(state: ServerState, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const chat = anthropicToChat(req.body);
  rejectImages(chat);
  return runTranslated(state, reply, chat, {
    whole: chatToAnthropic,
    // message_start carries the input size before generation starts
    stream: () => new AnthropicStreamTranslator({ inputTokens: countChatPromptTokens(state, chat) }),
    errorEvent: (e) => anthropicError(e.status, e.message),
  });
}

function anthropicErrors(log: Logger) {
  return (err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void => {
    const e = toApiError(err);
    if (e.status >= 500) log.error(`request failed: ${e.message}`);
    if (reply.raw.headersSent) return;
    reply.code(e.status === 499 ? 400 : e.status).headers(e.headers).send(anthropicError(e.status, e.message));
  };
}
