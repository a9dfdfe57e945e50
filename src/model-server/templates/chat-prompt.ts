// The prompt of a chat-completions request: its messages read and checked, then rendered with the chat template
// the way llama-server does it (tools, kwargs, assistant prefill and continue_final_message).
import { ApiError } from "../../http/errors.js";
import { type Json, type JsonObject, optArray, optBool, optObject, typeName } from "../../http/validate.js";
import type { ChatMessage, ChatTemplate } from "./chat-template.js";
import { effortKwargs } from "./thinking-kwargs.js";
import { argumentsAsObjects } from "../tool-calls/history.js";

/**
 * The prompt text of a chat-completions body, as llama-server builds it: the template over `messages` (with
 * `tools` unless tool_choice is "none", and `chat_template_kwargs` over what `reasoning_effort` implies). A final assistant message is continued
 * rather than closed (assistant prefill), as is any final message with `continue_final_message`; the
 * conversation up to it is rendered with the assistant header, and its text follows.
 */
export function renderChatPrompt(template: ChatTemplate, body: JsonObject): { text: string; tools: Json[] | undefined } {
  // past calls' arguments as objects, for templates that write them with tojson (as llama-server does)
  const messages = argumentsAsObjects(template, readMessages(body));
  const tools = body["tool_choice"] === "none" ? undefined : optArray(body, "tools");
  const extra = { ...effortKwargs(body), ...(optObject(body, "chat_template_kwargs") ?? {}) };
  let addGenerationPrompt = optBool(body, "add_generation_prompt") ?? true;
  let continueFinal = readContinuation(body);
  const last = messages[messages.length - 1]!;
  if (!continueFinal && last.role === "assistant") {
    if (messages.length >= 2 && messages[messages.length - 2]!.role === "assistant") {
      throw new ApiError(400, "'messages': cannot have 2 or more assistant messages at the end of the list");
    }
    continueFinal = true;
    addGenerationPrompt = false;
  }
  if (continueFinal && addGenerationPrompt) {
    throw new ApiError(400, "cannot set both 'add_generation_prompt' and 'continue_final_message' to true");
  }
  if (!continueFinal) return { text: template.render(messages, { addGenerationPrompt, tools, extra }), tools };
  if (Array.isArray(last["tool_calls"]) && last["tool_calls"].length > 0) {
    throw new ApiError(400, "'continue_final_message': cannot continue an assistant message that contains tool calls");
  }
  const head = messages.length > 1 ? template.render(messages.slice(0, -1), { addGenerationPrompt: true, tools, extra }) : "";
  return { text: head + last.content, tools };
}

/** llama-server's continue_final_message: true, or which part to continue ("content"; "reasoning_content"). */
function readContinuation(body: JsonObject): boolean {
  const v = body["continue_final_message"];
  if (v === undefined || v === null || v === false) return false;
  if (v === true || v === "content" || v === "reasoning_content") return true;
  throw new ApiError(400, `'continue_final_message' must be a boolean, got ${typeName(v)}`);
}

/** Validates `messages` and flattens text-part content into strings, which every template understands. */
export function readMessages(body: JsonObject): ChatMessage[] {
  const raw = body["messages"];
  if (raw === undefined || raw === null) throw new ApiError(400, "'messages' is required");
  if (!Array.isArray(raw)) throw new ApiError(400, `'messages' must be an array, got ${typeName(raw)}`);
  if (raw.length === 0) throw new ApiError(400, "'messages' must not be empty");
  return raw.map((m, i) => {
    const where = `messages[${i}]`;
    if (m === null || typeof m !== "object" || Array.isArray(m)) throw new ApiError(400, `'${where}' must be an object`);
    const role = m["role"];
    if (typeof role !== "string" || role === "") throw new ApiError(400, `'${where}.role' must be a non-empty string`);
    return { ...m, role, content: flattenContent(m["content"], `${where}.content`, m["tool_calls"] !== undefined) };
  });
}

/** Text parts are joined by a blank line, as llama.cpp renders a message's content parts. */
function flattenContent(content: Json | undefined, where: string, hasToolCalls: boolean): string {
  if (typeof content === "string") return content;
  if (content === null || content === undefined) {
    if (hasToolCalls) return "";
    throw new ApiError(400, `'${where}' is required`);
  }
  if (!Array.isArray(content)) throw new ApiError(400, `'${where}' must be a string or an array of content parts`);
  return content
    .map((part, j) => {
      if (part === null || typeof part !== "object" || Array.isArray(part)) {
        throw new ApiError(400, `'${where}[${j}]' must be a content part object`);
      }
      if (part["type"] !== "text") {
        throw new ApiError(400, `'${where}[${j}].type' ${JSON.stringify(part["type"])} is not supported (only text)`);
      }
      if (typeof part["text"] !== "string") throw new ApiError(400, `'${where}[${j}].text' must be a string`);
      return part["text"];
    })
    .join("\n\n");
}
