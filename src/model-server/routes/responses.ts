// OpenAI's Responses API on the model server: POST /v1/responses (and /responses, as llama-server serves both),
// and the input_tokens count. Requests are translated to chat completions (src/dialects/responses.ts) and run
// through the chat pipeline; answers are translated back. Errors keep OpenAI's shape, as this is OpenAI's API.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { chatToResponse, responsesToChat } from "../../dialects/responses/request.js";
import { ResponsesStreamTranslator } from "../../dialects/responses/stream.js";
import type { ServerState } from "../state.js";
import { countChatPromptTokens, rejectImages, runTranslated } from "./translated.js";
import { ENDPOINTS } from "../../http/endpoints.js";
import { routeEndpoint } from "./endpoint-route.js";

export function registerResponsesRoutes(app: FastifyInstance, state: ServerState): void {
  routeEndpoint(app, ENDPOINTS.responses, (req, reply) => responses(state, req, reply));
  routeEndpoint(app, ENDPOINTS.responsesInputTokens, async (req) => {
    const chat = responsesToChat(req.body);
    rejectImages(chat);
    return { object: "response.input_tokens", input_tokens: countChatPromptTokens(state, chat) };
  });
}

function responses(state: ServerState, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const chat = responsesToChat(req.body);
  rejectImages(chat);
  return runTranslated(state, reply, chat, {
    whole: chatToResponse,
    stream: () => new ResponsesStreamTranslator(),
    errorEvent: (e) => ({ type: "error", code: e.type, message: e.message, param: null }),
  });
}
