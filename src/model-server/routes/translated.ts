// What the routes of translated dialects (Anthropic Messages, OpenAI Responses) need from the model server beyond
// runGeneration: counting a chat request's prompt tokens, and refusing images, which this engine cannot see.
import { ApiError } from "../../http/errors.js";
import type { JsonObject } from "../../http/validate.js";
import { renderChatPrompt } from "../chat-template.js";
import type { ServerState } from "../state.js";
import { requireReady } from "./ready.js";

/**
 * The prompt tokens a chat-completions body renders to, rendered as the chat route renders it. Used for token
 * counting, and for the input size that a stream must report before generation starts.
 */
export function countChatPromptTokens(state: ServerState, chat: JsonObject): number {
  const { engine, template } = requireReady(state);
  return engine.tokenizePrompt(renderChatPrompt(template, chat).text).length;
}

/**
 * The model server has no multimodal projector, so an image cannot be seen. llama-server answers this case
 * with a 500 and this message (its suite checks both), so corral does the same.
 */
export function rejectImages(chat: JsonObject): void {
  const messages = chat["messages"];
  if (!Array.isArray(messages)) return;
  for (const m of messages) {
    const content = (m as JsonObject | null)?.["content"];
    if (!Array.isArray(content)) continue;
    if (content.some((p) => (p as JsonObject | null)?.["type"] === "image_url")) {
      throw new ApiError(500, "image input is not supported - hint: if this is unexpected, you may need to provide the mmproj");
    }
  }
}
