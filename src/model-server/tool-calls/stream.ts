// Turns a family's parser into OpenAI's streamed shape. Each piece of generated text re-parses the answer so far
// (parsers are pure functions of the text, which keeps every family simple to write and to test) and what is
// new since the last parse goes out as deltas: content, a call's header (index, id, name) once its name is
// known, then pieces of its arguments. Parsers only ever grow their results, so nothing sent is ever taken
// back, and a whole answer is just a stream with one piece: the two cannot disagree.
import { randomBytes } from "node:crypto";
import type { ParseResult, ToolCallFormat, ToolSpec } from "./types.js";

/** One `delta.tool_calls[]` entry of a chat.completion.chunk. */
export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: "function";
  function: { name?: string; arguments?: string };
}

export type StreamDelta = { content: string } | { toolCall: ToolCallDelta };

/** One entry of a chat.completion message's `tool_calls`. */
export interface OpenAiToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export interface StreamOptions {
  /** parallel_tool_calls: when false, only the first call counts. Default true. */
  parallel?: boolean;
  /** The prompt left the model inside a thinking span (it ends with `<think>\n`). */
  inThinking?: boolean;
  tools?: readonly ToolSpec[];
  /** Throw when a parser takes back something already sent (tests); otherwise it is ignored. */
  strict?: boolean;
}

export class ToolCallStream {
  private text = "";
  private content = "";
  private readonly calls: OpenAiToolCall[] = [];
  private finished = false;

  constructor(
    readonly format: ToolCallFormat,
    private readonly o: StreamOptions = {},
  ) {}

  /** The deltas that a newly generated piece of text makes safe to send. */
  push(piece: string): StreamDelta[] {
    if (this.finished) throw new Error("ToolCallStream: push after finish");
    if (piece.length === 0) return [];
    this.text += piece;
    return this.update(false);
  }

  /** The end of the answer: whatever was held back as a possible marker is settled. */
  finish(): StreamDelta[] {
    if (this.finished) return [];
    this.finished = true;
    return this.update(true);
  }

  /** The message so far (complete after finish()): content trimmed, null when empty, and the calls. */
  get message(): { content: string | null; toolCalls: OpenAiToolCall[] } {
    return { content: this.content.length > 0 ? this.content : null, toolCalls: this.calls.map((c) => ({ ...c, function: { ...c.function } })) };
  }

  private update(final: boolean): StreamDelta[] {
    const r: ParseResult = this.format.parse(this.text, { final, inThinking: this.o.inThinking ?? false, tools: this.o.tools ?? [] });
    const out: StreamDelta[] = [];
    // whitespace at either end of the content is dropped: it is mostly the newline before or after a call
    const content = r.content.trim();
    if (content.length > this.content.length) {
      if (content.startsWith(this.content)) {
        out.push({ content: content.slice(this.content.length) });
        this.content = content;
      } else {
        this.mismatch("content", this.content, content);
      }
    }
    const calls = this.o.parallel === false ? r.calls.slice(0, 1) : r.calls;
    if (calls.length < this.calls.length) this.mismatch("call count", String(this.calls.length), String(calls.length));
    calls.forEach((c, index) => {
      const args = final && c.args === "" ? "{}" : c.args;
      const sent = this.calls[index];
      if (!sent) {
        const id = c.id ?? newCallId(this.format.idStyle);
        this.calls.push({ id, type: "function", function: { name: c.name, arguments: args } });
        out.push({ toolCall: { index, id, type: "function", function: { name: c.name, arguments: args } } });
        return;
      }
      if (sent.function.name !== c.name) this.mismatch("name", sent.function.name, c.name);
      const had = sent.function.arguments;
      if (args.length <= had.length) return;
      if (!args.startsWith(had)) {
        this.mismatch("arguments", had, args);
        return;
      }
      out.push({ toolCall: { index, function: { arguments: args.slice(had.length) } } });
      sent.function.arguments = args;
    });
    return out;
  }

  private mismatch(what: string, sent: string, now: string): void {
    if (this.o.strict) throw new Error(`${this.format.name} parser took back ${what}: sent ${JSON.stringify(sent)}, now ${JSON.stringify(now)}`);
  }
}

/** A whole answer, parsed: a stream fed in one piece. */
export function parseAnswer(format: ToolCallFormat, text: string, o: StreamOptions = {}): { content: string | null; toolCalls: OpenAiToolCall[] } {
  const s = new ToolCallStream(format, o);
  s.push(text);
  s.finish();
  return s.message;
}

/** The `delta` object of a chat.completion.chunk that carries `d`. */
export function chunkDelta(d: StreamDelta): Record<string, unknown> {
  return "content" in d ? { content: d.content } : { tool_calls: [d.toolCall] };
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** OpenAI-looking ids, or the 9 alphanumerics that Mistral's templates insist on when the call is sent back. */
export function newCallId(style: "openai" | "mistral"): string {
  const n = style === "mistral" ? 9 : 24;
  const bytes = randomBytes(n);
  let id = "";
  for (const b of bytes) id += ALNUM[b % ALNUM.length];
  return style === "mistral" ? id : `call_${id}`;
}
