// OpenAI chat.completion.chunk events → the Responses API's streaming events: response.created/in_progress, then
// output items (reasoning, message, function calls) that are added, grow by deltas and are done one at a time,
// then response.completed with the whole Response. llama.cpp's telemetry rides along as it does on
// llama-server: `prompt_progress` on a response.in_progress event, `timings` on the event a chunk produced last
// and on response.completed.
import type { ApiError } from "../../http/errors.js";
import { type ChatCompletionChunk, type ChatToolCall, type ChatUsage, idSuffix } from "../openai/chat.js";
import type { StreamTranslator } from "../stream.js";
import { functionCallItem, messageItem, outputTextPart, reasoningItem, responseFrame, responseIds, toResponseUsage } from "./answer.js";

export interface ResponsesSseEvent {
  event: string;
  data: Record<string, unknown>;
}

type Open =
  | { kind: "reasoning"; index: number; id: string; text: string }
  | { kind: "message"; index: number; id: string; text: string }
  | { kind: "function_call"; index: number; call: ChatToolCall; nth: number; args: string };

export class ResponsesStreamTranslator implements StreamTranslator {
  private ids: ReturnType<typeof responseIds> | undefined;
  private model = "";
  private createdAt = 0;
  private seq = 0;
  private finished = false;
  private readonly output: unknown[] = [];
  private open: Open | undefined;
  /** OpenAI tool-call index → its output item, while open. */
  private readonly calls = new Map<number, Open & { kind: "function_call" }>();
  private usage: ChatUsage | undefined;
  private timings: Record<string, unknown> | undefined;

  constructor(private readonly o: { model?: string; now?: () => number } = {}) {}

  push(chunk: ChatCompletionChunk): ResponsesSseEvent[] {
    const out: ResponsesSseEvent[] = [];
    if (this.finished) return out;
    this.start(chunk, out);
    if (chunk.usage) this.usage = chunk.usage;
    if (chunk.prompt_progress) {
      out.push(this.ev("response.in_progress", { response: this.frame("in_progress"), prompt_progress: chunk.prompt_progress }));
    }
    const choice = chunk.choices?.find((c) => (c.index ?? 0) === 0);
    const delta = choice?.delta ?? {};
    if (delta.reasoning_content) {
      const item = this.ensureOpen("reasoning", out);
      item.text += delta.reasoning_content;
      out.push(this.ev("response.reasoning_text.delta", { item_id: item.id, output_index: item.index, content_index: 0, delta: delta.reasoning_content }));
    }
    if (delta.content) {
      const item = this.ensureOpen("message", out);
      item.text += delta.content;
      out.push(this.ev("response.output_text.delta", { item_id: item.id, output_index: item.index, content_index: 0, delta: delta.content, logprobs: [] }));
    }
    for (const call of delta.tool_calls ?? []) this.toolCallDelta(call, out);
    if (chunk.timings) {
      this.timings = chunk.timings;
      const last = out.at(-1);
      if (last) last.data["timings"] = chunk.timings;
    }
    return out;
  }

  /** The closing events, once the chat stream has ended (after its usage chunk, if any). */
  finish(): ResponsesSseEvent[] {
    const out: ResponsesSseEvent[] = [];
    if (this.finished) return out;
    this.start({}, out);
    // as in the non-streamed answer: an empty answer is an empty message
    if (this.output.length === 0 && !this.open) this.ensureOpen("message", out);
    this.close(out);
    this.finished = true;
    const now = this.o.now?.() ?? Math.floor(Date.now() / 1000);
    const completed: Record<string, unknown> = {
      response: { ...this.frame("completed"), completed_at: now, output: this.output, usage: toResponseUsage(this.usage) },
    };
    if (this.timings) completed["timings"] = this.timings;
    out.push(this.ev("response.completed", completed));
    return out;
  }

  /** The `error` event, which ends a stream that failed after it started. */
  error(e: ApiError): ResponsesSseEvent {
    return { event: "error", data: { type: "error", code: e.type, message: e.message, param: null } };
  }

  private start(chunk: ChatCompletionChunk, out: ResponsesSseEvent[]): void {
    if (this.ids) return;
    this.ids = responseIds(chunk.id);
    this.model = this.o.model ?? chunk.model ?? "";
    this.createdAt = chunk.created ?? this.o.now?.() ?? Math.floor(Date.now() / 1000);
    out.push(this.ev("response.created", { response: this.frame("in_progress") }));
    out.push(this.ev("response.in_progress", { response: this.frame("in_progress") }));
  }

  private frame(status: "in_progress" | "completed") {
    return responseFrame(this.ids!, this.model, this.createdAt, status);
  }

  private toolCallDelta(call: ChatToolCall & { index?: number }, out: ResponsesSseEvent[]): void {
    const key = call.index ?? 0;
    let item = this.calls.get(key);
    if (!item) {
      this.close(out);
      item = { kind: "function_call", index: this.output.length, call: { id: call.id ?? `call_${idSuffix(undefined)}`, function: { name: call.function?.name ?? "" } }, nth: this.calls.size, args: "" };
      this.calls.set(key, item);
      this.open = item;
      out.push(this.ev("response.output_item.added", { output_index: item.index, item: functionCallItem(item.call, "in_progress", item.nth) }));
    }
    const args = call.function?.arguments;
    if (!args) return;
    item.args += args;
    const id = functionCallItem(item.call, "in_progress", item.nth).id;
    out.push(this.ev("response.function_call_arguments.delta", { item_id: id, output_index: item.index, delta: args }));
  }

  private ensureOpen<K extends "reasoning" | "message">(kind: K, out: ResponsesSseEvent[]): Open & { kind: K } {
    if (this.open?.kind === kind) return this.open as Open & { kind: K };
    this.close(out);
    const index = this.output.length;
    const ids = this.ids!;
    if (kind === "reasoning") {
      const item = { kind: "reasoning" as const, index, id: ids.reasoning, text: "" };
      this.open = item;
      out.push(this.ev("response.output_item.added", { output_index: index, item: reasoningItem(item.id, "", "in_progress") }));
      return item as Open & { kind: K };
    }
    const item = { kind: "message" as const, index, id: ids.message, text: "" };
    this.open = item;
    out.push(this.ev("response.output_item.added", { output_index: index, item: messageItem(item.id, "", "in_progress") }));
    out.push(this.ev("response.content_part.added", { item_id: item.id, output_index: index, content_index: 0, part: outputTextPart("") }));
    return item as Open & { kind: K };
  }

  /** Ends the open item: its `done` events carry the whole text, and it joins the final output. */
  private close(out: ResponsesSseEvent[]): void {
    const item = this.open;
    if (!item) return;
    this.open = undefined;
    let done: unknown;
    if (item.kind === "reasoning") {
      out.push(this.ev("response.reasoning_text.done", { item_id: item.id, output_index: item.index, content_index: 0, text: item.text }));
      done = reasoningItem(item.id, item.text, "completed");
    } else if (item.kind === "message") {
      out.push(this.ev("response.output_text.done", { item_id: item.id, output_index: item.index, content_index: 0, text: item.text, logprobs: [] }));
      out.push(this.ev("response.content_part.done", { item_id: item.id, output_index: item.index, content_index: 0, part: outputTextPart(item.text) }));
      done = messageItem(item.id, item.text, "completed");
    } else {
      const completed = functionCallItem({ ...item.call, function: { ...item.call.function, arguments: item.args } }, "completed", item.nth);
      out.push(this.ev("response.function_call_arguments.done", { item_id: completed.id, output_index: item.index, name: completed.name, arguments: item.args }));
      done = completed;
    }
    this.output.push(done);
    out.push(this.ev("response.output_item.done", { output_index: item.index, item: done }));
  }

  private ev(event: string, data: Record<string, unknown>): ResponsesSseEvent {
    return { event, data: { type: event, sequence_number: this.seq++, ...data } };
  }
}
