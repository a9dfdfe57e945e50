// What a dialect is to the router and to the model server. Every one answers errors in its own shape and re-shapes a
// model's OpenAI-shaped ones; a chat dialect (Anthropic Messages, OpenAI Responses) also translates a request to one
// chat-completions body and the answer back, whole or streamed. Each folder here exports its dialect as one object.
import type { Endpoint } from "../http/endpoints.js";
import type { ApiError } from "../http/errors.js";
import type { JsonObject } from "../http/validate.js";
import type { ChatCompletion } from "./openai/chat.js";
import type { StreamFormat, StreamTranslator } from "./stream.js";

export interface Dialect {
  readonly name: "openai" | "anthropic" | "responses" | "ollama";
  /** The body of an error answered in this dialect. */
  errorBody(e: ApiError): unknown;
  /** A model's OpenAI-shaped error answer (or whatever else it sent) in this dialect; its status is kept. */
  upstreamErrorBody(status: number, body: unknown): unknown;
}

/** What a chat dialect's streamed answer may be told beforehand. */
export interface ChatStreamOptions {
  /** The model name to report; else the chunks' own. */
  model?: string;
  /** Prompt tokens, for a dialect whose first event reports them (Anthropic's message_start). */
  inputTokens?: number;
}

export interface ChatDialect extends Dialect {
  readonly name: "anthropic" | "responses";
  /** Its requests, and its token counts. */
  readonly endpoint: Endpoint;
  readonly countEndpoint: Endpoint;
  /** The request as a chat-completions body; a bad field is a 400 that names it in the dialect's terms. */
  parseRequest(body: unknown): JsonObject;
  /** A whole chat.completion as the dialect's answer. */
  answerFrom(c: ChatCompletion): unknown;
  stream(o: ChatStreamOptions): StreamTranslator;
  readonly streamFormat: StreamFormat;
  /** The answer to a token count. */
  countAnswer(promptTokens: number): unknown;
}
