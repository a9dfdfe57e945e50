// OpenAI chat.completion.chunk events → Anthropic's streaming events. OpenAI streams flat deltas; Anthropic
// streams numbered content blocks that open, grow and close one at a time (thinking, then text, then each
// tool call), framed by message_start and message_delta/message_stop. This translator keeps that state.
import type { ApiError } from "../../http/errors.js";
import type { ChatCompletionChunk, ChatUsage } from "../openai/chat.js";
import { idSuffix } from "../openai/chat.js";
import type { ChatStreamOptions } from "../dialect.js";
import type { StreamTranslator } from "../stream.js";
import { type AnthropicStopReason, toAnthropicId, toAnthropicUsage, toStopReason } from "./answer.js";
import { anthropicError } from "./errors.js";

/** One SSE event, written as `event: <event>` and `data: <json>`. */
export interface AnthropicSseEvent {
  event: string;
  data: Record<string, unknown>;
}

type BlockKind = "thinking" | "text" | "tool_use";

export class AnthropicStreamTranslator implements StreamTranslator {
  private started = false;
  private finished = false;
  private blocks = 0;
  private open: { kind: BlockKind; index: number } | undefined;
  /** OpenAI tool-call index → Anthropic block index. */
  private readonly toolBlocks = new Map<number, number>();
  private finishReason: string | null = null;
  private matchedStop: unknown = null;
  private usage: ChatUsage | undefined;

  /**
   * `inputTokens` is for message_start: OpenAI streams report usage only at the end, but Anthropic clients read the
   * input size from the first event, so the caller counts it beforehand where it can.
   */
  constructor(private readonly o: ChatStreamOptions = {}) {}

  /** The events one OpenAI chunk becomes (none for chunks that carry nothing Anthropic has a place for). */
  push(chunk: ChatCompletionChunk): AnthropicSseEvent[] {
    const out: AnthropicSseEvent[] = [];
    if (this.finished) return out;
    this.start(chunk, out);
    if (chunk.usage) this.usage = chunk.usage;
    // n > 1 has no Anthropic equivalent: only the first choice is followed
    const choice = chunk.choices?.find((c) => (c.index ?? 0) === 0);
    if (!choice) return out;
    const delta = choice.delta ?? {};
    if (delta.reasoning_content) {
      const index = this.ensureOpen("thinking", out, { type: "thinking", thinking: "" });
      out.push(ev("content_block_delta", { index, delta: { type: "thinking_delta", thinking: delta.reasoning_content } }));
    }
    if (delta.content) {
      const index = this.ensureOpen("text", out, { type: "text", text: "" });
      out.push(ev("content_block_delta", { index, delta: { type: "text_delta", text: delta.content } }));
    }
    for (const call of delta.tool_calls ?? []) {
      const key = call.index ?? 0;
      let index = this.toolBlocks.get(key);
      if (index === undefined) {
        this.close(out);
        index = this.openBlock("tool_use", out, {
          type: "tool_use",
          id: call.id ?? `toolu_${idSuffix(undefined)}`,
          name: call.function?.name ?? "",
          input: {},
        });
        this.toolBlocks.set(key, index);
      }
      const args = call.function?.arguments;
      if (args) out.push(ev("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: args } }));
    }
    if (choice.finish_reason) {
      this.finishReason = choice.finish_reason;
      this.matchedStop = choice.stop_reason ?? null;
    }
    return out;
  }

  /** The closing events, once the OpenAI stream has ended (after its usage chunk, if any). */
  finish(): AnthropicSseEvent[] {
    const out: AnthropicSseEvent[] = [];
    if (this.finished) return out;
    this.start({}, out);
    // as in the non-streamed answer, every message has at least one (maybe empty) text block
    if (this.blocks === 0) this.ensureOpen("text", out, { type: "text", text: "" });
    this.close(out);
    this.finished = true;
    const { stop_reason, stop_sequence } = this.stopReason();
    const usage = toAnthropicUsage(this.usage);
    out.push(ev("message_delta", {
      delta: { stop_reason, stop_sequence },
      usage: this.usage ? usage : { output_tokens: 0 },
    }));
    out.push(ev("message_stop", {}));
    return out;
  }

  /** Anthropic's `error` event, which ends a stream that failed after it started. */
  error(e: ApiError): AnthropicSseEvent {
    return { event: "error", data: { ...anthropicError(e.status, e.message) } };
  }

  private stopReason(): { stop_reason: AnthropicStopReason; stop_sequence: string | null } {
    return toStopReason(this.finishReason, this.matchedStop, this.toolBlocks.size > 0);
  }

  private start(chunk: ChatCompletionChunk, out: AnthropicSseEvent[]): void {
    if (this.started) return;
    this.started = true;
    out.push(ev("message_start", {
      message: {
        id: toAnthropicId(chunk.id),
        type: "message",
        role: "assistant",
        model: this.o.model ?? chunk.model ?? "",
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: this.o.inputTokens ?? 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
      },
    }));
    out.push(ev("ping", {}));
  }

  private ensureOpen(kind: BlockKind, out: AnthropicSseEvent[], block: Record<string, unknown>): number {
    if (this.open?.kind === kind) return this.open.index;
    this.close(out);
    return this.openBlock(kind, out, block);
  }

  private openBlock(kind: BlockKind, out: AnthropicSseEvent[], block: Record<string, unknown>): number {
    const index = this.blocks++;
    this.open = { kind, index };
    out.push(ev("content_block_start", { index, content_block: block }));
    return index;
  }

  private close(out: AnthropicSseEvent[]): void {
    const open = this.open;
    if (!open) return;
    // Anthropic's clients expect a signature before a thinking block ends; a local model has none to give
    if (open.kind === "thinking") out.push(ev("content_block_delta", { index: open.index, delta: { type: "signature_delta", signature: "" } }));
    out.push(ev("content_block_stop", { index: open.index }));
    this.open = undefined;
  }
}

/** Anthropic repeats the event name as the payload's `type`. */
function ev(event: string, data: Record<string, unknown>): AnthropicSseEvent {
  return { event, data: { type: event, ...data } };
}
