// --reasoning-budget (and a request's reasoning_budget_tokens): a thought longer than its budget of tokens is ended
// by forcing its closing tag, after an optional message, as llama-server's reasoning-budget sampler does. The
// tracker watches the generated text for the family's thinking tags (text rather than token ids: a model may spell
// a tag in more than one way), counts the thought's tokens, and once they run out names the token that each next
// sample must be. A character split over several byte tokens is finished first, so that no forced token cuts it.
import type { Token } from "node-llama-cpp";
import { type JsonObject, optNumber, optString } from "../../http/validate.js";
import type { ThinkingTags } from "../tool-calls/content.js";

export interface ReasoningBudgetSpec {
  /** Tokens the thought may take; 0 ends it as soon as it opens. */
  tokens: number;
  tags: ThinkingTags;
  /** The prompt opened the thought: counting starts with the first generated token. */
  inThinking: boolean;
  /** What is forced when the budget runs out: the message's tokens, then the closing tag's. */
  forced: readonly Token[];
}

/**
 * A chat request's budget: its `reasoning_budget_tokens` (Anthropic's thinking budget arrives as
 * `thinking_budget_tokens`), -1 or absent meaning the server's --reasoning-budget, and its
 * `reasoning_budget_message` or --reasoning-budget-message. Undefined when unlimited, or when the template shows
 * no thinking tags to watch for. `tokenize` must parse special tokens.
 */
export function readReasoningBudget(
  body: JsonObject,
  defaults: { tokens: number; message?: string | undefined },
  thinking: { tags: ThinkingTags; inThinking: boolean } | undefined,
  tokenize: (text: string) => readonly Token[],
): ReasoningBudgetSpec | undefined {
  const own = optNumber(body, "reasoning_budget_tokens", { int: true, min: -1 }) ?? optNumber(body, "thinking_budget_tokens", { int: true, min: -1 }) ?? -1;
  const message = optString(body, "reasoning_budget_message") ?? defaults.message ?? "";
  const tokens = own === -1 ? defaults.tokens : own;
  if (!thinking || tokens < 0) return undefined;
  return { tokens, tags: thinking.tags, inThinking: thinking.inThinking, forced: tokenize(message + thinking.tags.close) };
}

type State = "idle" | "counting" | "forcing" | "done";

export class ReasoningBudget {
  private state: State;
  private count = 0;
  private next = 0;
  /** The end of the text so far, long enough to hold a tag that is still being written. */
  private tail = "";

  constructor(
    private readonly spec: ReasoningBudgetSpec,
    /** True while the decoder holds an incomplete character. */
    private readonly midCharacter: () => boolean,
  ) {
    this.state = spec.forced.length === 0 ? "done" : spec.inThinking ? "counting" : "idle";
  }

  /** The token the next sample must be, or undefined to sample freely. Asked before every sample. */
  forcedToken(): Token | undefined {
    if (this.state === "counting" && this.count >= this.spec.tokens && !this.midCharacter()) {
      this.state = "forcing";
      this.next = 0;
    }
    return this.state === "forcing" ? this.spec.forced[this.next] : undefined;
  }

  /** Each generated token, with the text it released (maybe "", for part of a character). */
  observe(token: Token, text: string): void {
    const { open, close } = this.spec.tags;
    switch (this.state) {
      case "forcing":
        // a grammar may forbid the forced token: then the model goes on as the grammar wants
        if (token !== this.spec.forced[this.next] || ++this.next >= this.spec.forced.length) this.state = "done";
        return;
      case "idle": {
        this.tail += text;
        const at = this.tail.indexOf(open);
        if (at < 0) {
          this.tail = this.tail.slice(-(open.length - 1));
          return;
        }
        // the token that opens the thought is not part of it
        this.state = "counting";
        this.count = 0;
        this.tail = this.tail.slice(at + open.length);
        this.watchClose(close);
        return;
      }
      case "counting":
        this.count++;
        this.tail += text;
        this.watchClose(close);
        return;
      case "done":
        return;
    }
  }

  private watchClose(close: string): void {
    if (this.tail.includes(close)) this.state = "done";
    else this.tail = this.tail.slice(-(close.length - 1));
  }
}
