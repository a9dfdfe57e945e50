// OpenAI's Responses API on the model server: POST /v1/responses (and /responses, as llama-server serves both),
// and the input_tokens count. Requests are translated to chat completions (src/dialects/responses/) and run
// through the chat pipeline; answers are translated back. Errors keep OpenAI's shape, as this is OpenAI's API.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { responses } from "../../dialects/responses/index.js";
import type { ServerState } from "../server/state.js";
import { routeEndpoint } from "./endpoint-route.js";
import { countChatPromptTokens, rejectImages, runTranslated } from "./translated.js";

export function registerResponsesRoutes(app: FastifyInstance, state: ServerState): void {
  routeEndpoint(app, responses.endpoint, (req, reply) => respond(state, req, reply));
  routeEndpoint(app, responses.countEndpoint, async (req) => {
    const chat = responses.parseRequest(req.body);
    rejectImages(chat);
    return responses.countAnswer(countChatPromptTokens(state, chat));
  });
}

function respond(state: ServerState, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const chat = responses.parseRequest(req.body);
  rejectImages(chat);
  return runTranslated(state, reply, chat, responses);
}
