// Renders chat messages into a prompt with the model's Jinja chat template (or an override), as llama-server
// does with --jinja; an override that names one of llama.cpp's built-in formats (--chat-template llama3) uses that
// fixed layout instead.
import { Template } from "@huggingface/jinja";
import { ApiError } from "../http/errors.js";
import { type Json, type JsonObject, optArray, optBool, optObject, typeName } from "../http/validate.js";
import { builtinFormat } from "./builtin-templates.js";
import { clockContext } from "./template-clock.js";
import { effortKwargs } from "./thinking-kwargs.js";
import { argumentsAsObjects } from "./tool-calls/history.js";

export interface ChatMessage {
  role: string;
  content: string;
  [k: string]: Json;
}

export class ChatTemplate {
  private readonly template: Template | undefined;
  private readonly builtin: ReturnType<typeof builtinFormat>;
  readonly source: string;
  readonly supportsTools: boolean;
  /** --chat-template-kwargs: variables every render gets; a request's chat_template_kwargs go over them. */
  defaultKwargs: JsonObject = {};

  /** Throws a plain Error for a template that does not parse; main reports it at start-up. */
  constructor(
    source: string,
    private readonly bosToken: string,
    private readonly eosToken: string,
  ) {
    this.source = source;
    this.builtin = builtinFormat(source.trim());
    this.template = this.builtin ? undefined : new Template(source);
    this.supportsTools = !this.builtin && /\btools\b/.test(source);
  }

  render(messages: ChatMessage[], opts: { addGenerationPrompt?: boolean; tools?: Json[]; extra?: JsonObject } = {}): string {
    const addGenerationPrompt = opts.addGenerationPrompt ?? true;
    if (this.builtin) return this.builtin(messages, addGenerationPrompt);
    try {
      return this.template!.render({
        ...clockContext(),
        ...this.defaultKwargs,
        ...(opts.extra ?? {}),
        messages,
        add_generation_prompt: addGenerationPrompt,
        bos_token: this.bosToken,
        eos_token: this.eosToken,
        ...(opts.tools && opts.tools.length > 0 ? { tools: opts.tools } : {}),
      });
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw new ApiError(400, `chat template could not render these messages: ${(err as Error).message}`);
    }
  }
}

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
