// OpenAI's Responses API as a dialect of chat completions. Errors keep OpenAI's shape, as this is OpenAI's API.
import { ENDPOINTS } from "../../http/endpoints.js";
import type { ChatDialect } from "../dialect.js";
import { openai } from "../openai/index.js";
import { SSE_EVENTS } from "../stream.js";
import { chatToResponse } from "./answer.js";
import { responsesToChat } from "./request.js";
import { ResponsesStreamTranslator } from "./stream.js";

export const responses: ChatDialect = {
  name: "responses",
  endpoint: ENDPOINTS.responses,
  countEndpoint: ENDPOINTS.responsesInputTokens,
  errorBody: openai.errorBody,
  upstreamErrorBody: openai.upstreamErrorBody,
  parseRequest: responsesToChat,
  answerFrom: (c) => chatToResponse(c),
  stream: (o) => new ResponsesStreamTranslator(o),
  streamFormat: SSE_EVENTS,
  countAnswer: (n) => ({ object: "response.input_tokens", input_tokens: n }),
};
