// OpenAI's chat completions: the dialect every engine serves, which the others are translated to and from.
import type { Dialect } from "../dialect.js";
import { hasImages } from "./chat.js";

export type { ChatCompletion, ChatCompletionChunk, CompletionChunk, CompletionResponse } from "./chat.js";

export interface OpenAiDialect extends Dialect {
  readonly name: "openai";
  /** Whether a chat-completions body carries an image part in any message (each engine decides what that means). */
  hasImages(chat: Record<string, unknown>): boolean;
}

export const openai: OpenAiDialect = {
  name: "openai",
  errorBody: (e) => e.toJSON(),
  // the models' own answers are in this dialect already
  upstreamErrorBody: (_status, body) => body,
  hasImages,
};
