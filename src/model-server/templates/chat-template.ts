// Renders chat messages into a prompt with the model's Jinja chat template (or an override), as llama-server
// does with --jinja; an override that names one of llama.cpp's built-in formats (--chat-template llama3) uses that
// fixed layout instead.
import { Template } from "@huggingface/jinja";
import { ApiError } from "../../http/errors.js";
import type { Json, JsonObject } from "../../http/validate.js";
import { builtinFormat } from "./builtin-templates.js";
import { clockContext } from "./template-clock.js";

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
