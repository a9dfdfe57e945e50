// A thinking model's answer split into its reasoning and its content, as llama-server's --reasoning-format does: a
// thought at the start of the answer, between the family's thinking tags (`<think>…</think>`, or one the prompt
// itself opened), becomes `reasoning_content`; what follows is the content. The splitter is incremental, so that a
// streamed answer sends each piece as soon as it is known which side it is on; a whole answer is one piece, so the
// two cannot disagree.
import { ApiError } from "../../http/errors.js";
import { type JsonObject, typeName } from "../../http/validate.js";
import { mayBecome, opensThinking, partialMarkerSuffix, type ThinkingTags } from "../tool-calls/content.js";

/**
 * none: the thought stays in the content, tags and all. auto and deepseek: it goes to `reasoning_content`.
 * deepseek-legacy: the same for whole answers, but streamed it stays in the content between its tags, as older
 * clients (which parse the tags themselves) expect.
 */
export const REASONING_FORMATS = ["none", "auto", "deepseek", "deepseek-legacy"] as const;
export type ReasoningFormat = (typeof REASONING_FORMATS)[number];

/** The request's `reasoning_format`, or the server's (--reasoning-format). */
export function readReasoningFormat(body: JsonObject, fallback: ReasoningFormat): ReasoningFormat {
  const v = body["reasoning_format"];
  if (v === undefined || v === null) return fallback;
  if (typeof v === "string" && (REASONING_FORMATS as readonly string[]).includes(v)) return v as ReasoningFormat;
  const got = typeof v === "string" ? `'${v}'` : typeName(v);
  throw new ApiError(400, `'reasoning_format' must be one of ${REASONING_FORMATS.join(", ")}, got ${got}`);
}

/** How one chat request's answer is split: known once its prompt is rendered. */
export class ReasoningPlan {
  /** The prompt ends inside a thinking span, so the answer starts in one. */
  readonly inThinking: boolean;

  constructor(
    readonly tags: ThinkingTags,
    readonly format: ReasoningFormat,
    promptText: string,
  ) {
    this.inThinking = opensThinking(promptText, tags);
  }

  /** A splitter for one answer, or undefined when the thought stays in the content (format none). */
  splitter(streamed: boolean): ReasoningSplitter | undefined {
    if (this.format === "none") return undefined;
    return new ReasoningSplitter({ tags: this.tags, inThinking: this.inThinking, inline: streamed && this.format === "deepseek-legacy" });
  }
}

export type SplitDelta = { reasoning: string } | { content: string };

export interface SplitOptions {
  tags: ThinkingTags;
  /** The prompt opened the thought: the answer starts inside it. */
  inThinking: boolean;
  /** The thought goes out as content between its tags (deepseek-legacy, streamed) rather than as reasoning. */
  inline?: boolean;
}

type State =
  /** Nothing but whitespace yet, or the start of what may be the opening tag. */
  | "start"
  /** Inside the thought. */
  | "thinking"
  /** Just past the closing tag: the whitespace before the content is dropped. */
  | "after"
  /** The rest of the answer. */
  | "content";

/**
 * Splits one answer, piece by piece. The thought is trimmed (whitespace at its ends is the template's layout, not
 * reasoning), so its leading whitespace is dropped and its trailing whitespace held back until more reasoning
 * follows; a tail that may be the start of the closing tag is held back too. Deltas are never empty.
 */
export class ReasoningSplitter {
  private state: State;
  /** Text received and not yet sent. */
  private held = "";
  /** The prompt opened the thought, and the model may still write the opening tag again. */
  private mayReopen: boolean;
  /** Some of the thought has been sent (its leading whitespace is dropped until then). */
  private started = false;
  /** Inline: the opening tag has gone out as content. */
  private openSent = false;
  private thought = "";
  private text = "";
  private finished = false;

  constructor(private readonly o: SplitOptions) {
    this.state = o.inThinking ? "thinking" : "start";
    this.mayReopen = o.inThinking;
  }

  /** The deltas that a newly generated piece of text makes safe to send. */
  push(piece: string): SplitDelta[] {
    if (this.finished) throw new Error("ReasoningSplitter: push after finish");
    this.held += piece;
    return this.run(false);
  }

  /** The end of the answer: whatever was held back is settled. */
  finish(): SplitDelta[] {
    if (this.finished) return [];
    this.finished = true;
    return this.run(true);
  }

  /** The reasoning so far (all of it after finish()), or undefined when there was none (or it went out inline). */
  get reasoning(): string | undefined {
    return this.thought.length > 0 ? this.thought : undefined;
  }

  /** The content so far. */
  get content(): string {
    return this.text;
  }

  private run(final: boolean): SplitDelta[] {
    const out: SplitDelta[] = [];
    const { open, close } = this.o.tags;
    for (;;) {
      switch (this.state) {
        case "start": {
          const rest = this.held.slice(leadingSpace(this.held));
          if (rest.startsWith(open)) {
            this.held = rest.slice(open.length);
            this.enter(out);
            continue;
          }
          if (!final && (rest === "" || mayBecome(rest, open))) return out;
          // no thought: the answer is all content, its leading whitespace included
          this.state = "content";
          continue;
        }
        case "thinking": {
          if (this.mayReopen) {
            const rest = this.held.slice(leadingSpace(this.held));
            if (!final && (rest === "" || mayBecome(rest, open))) return out;
            this.mayReopen = false;
            if (rest.startsWith(open)) this.held = rest.slice(open.length);
          }
          // the prompt's own opening tag is not in the answer, but a client parsing the tags needs it
          if (this.o.inline && !this.openSent) this.emit(out, open);
          this.openSent = true;
          if (!this.started) this.held = this.held.slice(leadingSpace(this.held));
          const end = this.held.indexOf(close);
          if (end >= 0) {
            this.reason(out, this.held.slice(0, trailingSpaceStart(this.held, end)));
            this.held = this.held.slice(end + close.length);
            if (this.o.inline) this.emit(out, close);
            this.state = "after";
            continue;
          }
          // an unclosed thought at the end (max_tokens, say) is reasoning all the same
          const safe = trailingSpaceStart(this.held, final ? this.held.length : this.held.length - partialMarkerSuffix(this.held, 0, [close]));
          this.reason(out, this.held.slice(0, safe));
          this.held = final ? "" : this.held.slice(safe);
          return out;
        }
        case "after": {
          this.held = this.held.slice(leadingSpace(this.held));
          if (this.held === "") return out;
          this.state = "content";
          continue;
        }
        case "content": {
          this.emit(out, this.held);
          this.held = "";
          return out;
        }
      }
    }
  }

  private enter(out: SplitDelta[]): void {
    this.state = "thinking";
    if (this.o.inline) this.emit(out, this.o.tags.open);
    this.openSent = true;
  }

  private reason(out: SplitDelta[], text: string): void {
    if (text.length === 0) return;
    this.started = true;
    if (this.o.inline) {
      this.emit(out, text);
      return;
    }
    this.thought += text;
    out.push({ reasoning: text });
  }

  private emit(out: SplitDelta[], text: string): void {
    if (text.length === 0) return;
    this.text += text;
    out.push({ content: text });
  }
}

// The whitespace trimmed around a thought, as llama.cpp's: ASCII only, so that a whole answer and its stream (which
// holds back trailing whitespace in case the thought ends there) always trim the same characters.
function isSpace(c: string | undefined): boolean {
  return c === " " || c === "\n" || c === "\r" || c === "\t";
}

function leadingSpace(s: string): number {
  let i = 0;
  while (isSpace(s[i])) i++;
  return i;
}

/** Where the whitespace that ends `s.slice(0, end)` starts. */
function trailingSpaceStart(s: string, end: number): number {
  while (end > 0 && isSpace(s[end - 1])) end--;
  return end;
}

/** A whole answer split: reasoning (undefined when none) and content. */
export function splitReasoning(text: string, o: SplitOptions): { reasoning: string | undefined; content: string } {
  const s = new ReasoningSplitter(o);
  s.push(text);
  s.finish();
  return { reasoning: s.reasoning, content: s.content };
}
