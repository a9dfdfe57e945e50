// Turns generated tokens into text safely: a token may end inside a multi-byte UTF-8 character (byte-fallback
// tokens), so text is held back until the character is complete; and text that could be the start of a stop
// string is held back until it is known not to be one.
import type { LlamaModel, Token } from "node-llama-cpp";

const REPLACEMENT = "\uFFFD";
/** A UTF-8 character is at most 4 bytes, so at most 4 byte tokens can be pending for one character. */
const MAX_PENDING = 4;

export class TokenTextDecoder {
  private pending: Token[] = [];
  private history: Token[];

  constructor(
    private readonly model: LlamaModel,
    context: readonly Token[] = [],
    /** -sp/--special: special tokens become their text (e.g. <|im_start|>) instead of nothing. */
    private readonly special = false,
    /**
     * Tokens written as text even without `special`, as llama-server's "preserved tokens": a chat format's markers
     * (Mistral's [TOOL_CALLS], <think>) that a model's vocabulary may hold as control tokens, and that the answer's
     * parser must see.
     */
    private readonly preserved: ReadonlySet<Token> = new Set(),
  ) {
    this.history = context.slice(-8);
  }

  /** True while a character is incomplete: forcing other tokens now would cut it. */
  get midCharacter(): boolean {
    return this.pending.length > 0;
  }

  /** Text completed by this token ("" while a character is still incomplete). */
  push(token: Token): string {
    if (!this.special && this.preserved.has(token)) {
      // a marker token is whole by itself, so whatever was pending before it is as complete as it will get
      const before = this.flush();
      this.pending.push(token);
      return before + this.commit(this.model.detokenize(this.pending, true, this.history));
    }
    this.pending.push(token);
    const text = this.model.detokenize(this.pending, this.special, this.history);
    if (text.endsWith(REPLACEMENT) && this.pending.length < MAX_PENDING) return "";
    return this.commit(text);
  }

  /** Whatever is still pending, even if incomplete (end of generation). */
  flush(): string {
    if (this.pending.length === 0) return "";
    return this.commit(this.model.detokenize(this.pending, this.special, this.history));
  }

  private commit(text: string): string {
    this.history = this.history.concat(this.pending).slice(-8);
    this.pending = [];
    return text;
  }
}

export class StopMatcher {
  private held = "";
  stoppedWord: string | undefined;

  constructor(private readonly stops: readonly string[]) {}

  /** Returns the text that can be emitted now; sets `stoppedWord` when a stop string was found. */
  push(text: string): string {
    if (this.stops.length === 0) return text;
    const combined = this.held + text;
    let cut = -1;
    for (const s of this.stops) {
      const i = combined.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) {
        cut = i;
        this.stoppedWord = s;
      }
    }
    if (cut >= 0) {
      this.held = "";
      return combined.slice(0, cut);
    }
    const keep = this.partialSuffix(combined);
    this.held = combined.slice(combined.length - keep);
    return combined.slice(0, combined.length - keep);
  }

  flush(): string {
    const h = this.held;
    this.held = "";
    return h;
  }

  /** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
  private partialSuffix(text: string): number {
    let best = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, text.length); k > best; k--) {
        if (text.endsWith(s.slice(0, k))) {
          best = k;
          break;
        }
      }
    }
    return best;
  }
}
