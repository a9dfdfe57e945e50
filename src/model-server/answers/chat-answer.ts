// The assistant message of a chat answer, built from the generated text: the reasoning comes out first
// (reasoning.ts), then tool calls are parsed out of what is left, the content (tool-calls/). Streamed, each piece of
// text gives the chunk deltas it makes safe to send; a whole answer is the same with one piece, so the two agree.
import type { Token } from "node-llama-cpp";
import type { ReasoningSplitter } from "./reasoning.js";
import { chunkDelta, type ThinkingTags, type ToolCallPlan, type ToolCallStream } from "../tool-calls/index.js";

/** The `delta` of a chat.completion.chunk: `{content}`, `{reasoning_content}` or `{tool_calls: [one]}`. */
export type ChatDelta = Record<string, unknown>;

export class ChatAnswer {
  /** The content, when there are no tools (the tool-call stream keeps its own). */
  private text = "";

  constructor(
    private readonly reasoning: ReasoningSplitter | undefined,
    private readonly tools: ToolCallStream | undefined,
  ) {}

  /** The deltas that a newly generated piece of text makes safe to send. */
  push(text: string): ChatDelta[] {
    return this.route(this.reasoning ? this.reasoning.push(text) : [{ content: text }]);
  }

  /** The end of the answer: whatever was held back (a possible tag or marker) is settled. */
  finish(): ChatDelta[] {
    const out = this.route(this.reasoning?.finish() ?? []);
    if (this.tools) out.push(...this.tools.finish().map(chunkDelta));
    return out;
  }

  get toolCallCount(): number {
    return this.tools?.message.toolCalls.length ?? 0;
  }

  /** The message (whole after finish()), in llama-server's shape: reasoning_content only when there was some. */
  message(): Record<string, unknown> {
    const reasoning = this.reasoning?.reasoning;
    const thought = reasoning !== undefined ? { reasoning_content: reasoning } : {};
    if (!this.tools) return { role: "assistant", content: this.text, ...thought };
    const m = this.tools.message;
    if (m.toolCalls.length === 0) return { role: "assistant", content: m.content ?? "", ...thought };
    return { role: "assistant", content: m.content, ...thought, tool_calls: m.toolCalls };
  }

  private route(pieces: ReadonlyArray<{ reasoning: string } | { content: string }>): ChatDelta[] {
    const out: ChatDelta[] = [];
    for (const p of pieces) {
      if ("reasoning" in p) out.push({ reasoning_content: p.reasoning });
      else if (this.tools) out.push(...this.tools.push(p.content).map(chunkDelta));
      else if (p.content.length > 0) {
        this.text += p.content;
        out.push({ content: p.content });
      }
    }
    return out;
  }
}

/**
 * The special tokens a chat answer's parsers must see as text, as llama-server's preserved_tokens: the tool-call
 * format's markers, and the thinking tags. Only single tokens count; `tokenize` must parse special tokens.
 */
export function chatPreservedTokens(tokenize: (text: string) => readonly Token[], tools: ToolCallPlan | undefined, tags: ThinkingTags | undefined): Set<Token> {
  const ids = new Set<Token>(tools ? (tools.preservedTokenIds(tokenize) as Set<Token>) : []);
  for (const tag of tags ? [tags.open, tags.close] : []) {
    const t = tokenize(tag);
    if (t.length === 1) ids.add(t[0]!);
  }
  return ids;
}
