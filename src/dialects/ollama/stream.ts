// OpenAI stream chunks → Ollama's NDJSON stream: one object per piece of text or thought (done: false), tool calls
// once each is whole (Ollama sends arguments as an object, which a fragment cannot be), and a last object with
// done: true, done_reason and the counts and durations. Takes chat-completion chunks, text-completion chunks and
// llama.cpp's native /completion events alike, so that /api/generate's raw prompts stream through it too.
import type { JsonObject } from "../../http/validate.js";
import { doneReason, nowRfc3339, ollamaLogprobs, ollamaStats, ollamaToolCalls, timingFields } from "./answer.js";
import type { ChatCompletionChunk, ChatToolCall, ChatUsage, CompletionChunk } from "../openai/chat.js";

type AnyChunk = ChatCompletionChunk | CompletionChunk;
type AnyChoice = NonNullable<ChatCompletionChunk["choices"]>[number] & { text?: string; logprobs?: unknown };

export class OllamaStreamTranslator {
  private finished = false;
  private finishReason: string | null = null;
  private usage: ChatUsage | undefined;
  private timings: Record<string, unknown> | undefined;
  private nativeCounts: { prompt?: number; completion?: number } = {};
  /** The tool call being streamed (OpenAI index → its parts so far), sent when the next starts or the stream ends. */
  private call: { index: number; id?: string; name: string; args: string } | undefined;
  private callsSent = 0;

  constructor(private readonly o: { kind: "chat" | "generate"; model: string }) {}

  push(chunk: AnyChunk): JsonObject[] {
    const out: JsonObject[] = [];
    if (this.finished) return out;
    if (chunk.usage) this.usage = chunk.usage;
    if (chunk.timings) this.timings = chunk.timings;
    const native = chunk as CompletionChunk;
    if (typeof native.content === "string") {
      // llama.cpp's native stream: text in `content`, and a last event with stop: true and the counts
      if (native.content !== "") out.push(this.piece({ content: native.content }));
      if (native.stop === true) {
        this.finishReason = native.stop_type === "limit" ? "length" : "stop";
        this.nativeCounts = { prompt: native.tokens_evaluated, completion: native.tokens_predicted };
      }
      return out;
    }
    // n > 1 has no Ollama equivalent: only the first choice is followed
    const choice = chunk.choices?.find((c) => (c.index ?? 0) === 0) as AnyChoice | undefined;
    if (!choice) return out;
    const logprobs = ollamaLogprobs(choice.logprobs);
    const delta = choice.delta ?? {};
    if (delta.reasoning_content) out.push(this.piece({ thinking: delta.reasoning_content }));
    const text = delta.content ?? choice.text;
    if (text) out.push(this.piece({ content: text }));
    if (logprobs) {
      const last = out.at(-1);
      if (last) last["logprobs"] = logprobs;
      else out.push({ ...this.piece({ content: "" }), logprobs });
    }
    for (const call of delta.tool_calls ?? []) {
      const index = call.index ?? 0;
      if (this.call && this.call.index !== index) out.push(...this.flushCall());
      this.call ??= { index, name: "", args: "" };
      if (call.id) this.call.id = call.id;
      if (call.function?.name) this.call.name += call.function.name;
      if (call.function?.arguments) this.call.args += call.function.arguments;
    }
    if (choice.finish_reason) this.finishReason = choice.finish_reason;
    return out;
  }

  /** The rest, once the OpenAI stream has ended (after its usage chunk, if any): pending tool calls, then done. */
  finish(timing: { totalNs: number; loadNs: number }): JsonObject[] {
    if (this.finished) return [];
    this.finished = true;
    const out = this.flushCall();
    const empty: JsonObject = this.o.kind === "chat" ? { message: { role: "assistant", content: "" } } : { response: "" };
    out.push({
      model: this.o.model,
      created_at: nowRfc3339(),
      ...empty,
      done: true,
      done_reason: doneReason(this.finishReason),
      ...timingFields(timing),
      ...ollamaStats(this.usage, this.timings, this.nativeCounts),
    });
    return out;
  }

  private piece(p: { content?: string; thinking?: string }): JsonObject {
    const content = p.content ?? "";
    const body: JsonObject =
      this.o.kind === "chat"
        ? { message: { role: "assistant", content, ...(p.thinking !== undefined ? { thinking: p.thinking } : {}) } }
        : { response: content, ...(p.thinking !== undefined ? { thinking: p.thinking } : {}) };
    return { model: this.o.model, created_at: nowRfc3339(), ...body, done: false };
  }

  private flushCall(): JsonObject[] {
    const c = this.call;
    this.call = undefined;
    // /api/generate has no tools: a call there has nowhere to go
    if (!c || this.o.kind !== "chat") return [];
    const call: ChatToolCall = { function: { name: c.name, arguments: c.args }, ...(c.id ? { id: c.id } : {}) };
    const [converted] = ollamaToolCalls([call]);
    // the call's place among all of this answer's calls, as in the whole answer
    (converted!["function"] as JsonObject)["index"] = this.callsSent++;
    const msg = this.piece({ content: "" });
    (msg["message"] as JsonObject)["tool_calls"] = [converted!];
    return [msg];
  }
}
