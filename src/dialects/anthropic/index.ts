// Anthropic's Messages API as a dialect of OpenAI chat completions.
import { ENDPOINTS } from "../../http/endpoints.js";
import type { ChatDialect } from "../dialect.js";
import { SSE_EVENTS } from "../stream.js";
import { chatToAnthropic } from "./answer.js";
import { anthropicError, openAiErrorToAnthropic } from "./errors.js";
import { anthropicToChat } from "./request.js";
import { AnthropicStreamTranslator } from "./stream.js";

export const anthropic: ChatDialect = {
  name: "anthropic",
  endpoint: ENDPOINTS.messages,
  countEndpoint: ENDPOINTS.messagesCountTokens,
  errorBody: (e) => anthropicError(e.status, e.message),
  upstreamErrorBody: openAiErrorToAnthropic,
  parseRequest: anthropicToChat,
  answerFrom: chatToAnthropic,
  stream: (o) => new AnthropicStreamTranslator(o),
  streamFormat: SSE_EVENTS,
  countAnswer: (n) => ({ input_tokens: n }),
};
