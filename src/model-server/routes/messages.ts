// Anthropic's Messages API on the model server: POST /v1/messages and /v1/messages/count_tokens. Requests are
// translated to chat completions (src/dialects/anthropic/) and run through the same pipeline as
// /v1/chat/completions; answers and errors are translated back, so Anthropic clients never see OpenAI's shapes.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { anthropic } from "../../dialects/anthropic/index.js";
import type { ServerState } from "../server/state.js";
import { routeEndpoint } from "./endpoint-route.js";
import { countChatPromptTokens, dialectErrors, rejectImages, runTranslated } from "./translated.js";

export function registerMessagesRoutes(app: FastifyInstance, state: ServerState): void {
  const errorHandler = dialectErrors(state.log, anthropic);
  routeEndpoint(app, anthropic.endpoint, (req, reply) => messages(state, req, reply), { errorHandler });
  routeEndpoint(app, anthropic.countEndpoint, async (req) => {
    const chat = anthropic.parseRequest(req.body);
    rejectImages(chat);
    return anthropic.countAnswer(countChatPromptTokens(state, chat));
  }, { errorHandler });
}

function messages(state: ServerState, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const chat = anthropic.parseRequest(req.body);
  rejectImages(chat);
  // message_start carries the input size before generation starts
  return runTranslated(state, reply, chat, anthropic, () => ({ inputTokens: countChatPromptTokens(state, chat) }));
}
