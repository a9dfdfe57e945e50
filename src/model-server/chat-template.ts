// Renders chat messages into a prompt with the model's Jinja chat template (or an override), as llama-server
// does with --jinja.
import { Template } from "@huggingface/jinja";
import { ApiError } from "../http/errors.js";
import { type Json, type JsonObject, typeName } from "../http/validate.js";

export interface ChatMessage {
  role: string;
  content: string;
  [k: string]: Json;
}

export class ChatTemplate {
  private readonly template: Template;
  readonly source: string;
  readonly supportsTools: boolean;

  /** Throws a plain Error for a template that does not parse; main reports it at start-up. */
  constructor(
    source: string,
    private readonly bosToken: string,
    private readonly eosToken: string,
  ) {
    this.source = source;
    this.template = new Template(source);
    this.supportsTools = /\btools\b/.test(source);
  }

  render(messages: ChatMessage[], opts: { addGenerationPrompt?: boolean; tools?: Json[]; extra?: JsonObject } = {}): string {
    try {
      return this.template.render({
        ...(opts.extra ?? {}),
        messages,
        add_generation_prompt: opts.addGenerationPrompt ?? true,
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
    .join("\n");
}
