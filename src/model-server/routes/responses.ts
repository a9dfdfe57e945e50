// OpenAI's Responses API on the model server: POST /v1/responses (and /responses, as llama-server serves both),
// and the input_tokens count. Requests are translated to chat completions (src/dialects/responses.ts) and run
// through the chat pipeline; answers are translated back. Errors keep OpenAI's shape, as this is OpenAI's API.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { chatToResponse, responsesToChat } from "../../dialects/responses.js";
import { ResponsesStreamTranslator } from "../../dialects/responses-stream.js";
import type { ServerState } from "../server/state.js";
import { countChatPromptTokens, rejectImages, runTranslated } from "./translated.js";

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

function responses(state: ServerState, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const chat = responsesToChat(req.body);
  rejectImages(chat);
  return runTranslated(state, reply, chat, {
    whole: chatToResponse,
    stream: () => new ResponsesStreamTranslator(),
    errorEvent: (e) => ({ type: "error", code: e.type, message: e.message, param: null }),
  });
}
