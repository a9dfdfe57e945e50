// One generation on one slot: reuse the slot's cached prefix, evaluate the rest of the prompt, sample until a
// stop condition, and yield text as it becomes safe to emit.
import type { LlamaContextSequenceDryRepeatPenalty, SequenceEvaluateOptions, Token } from "node-llama-cpp";
import { ApiError } from "../../http/errors.js";
import type { ModelOptions } from "../../options/options.js";
import type { Engine } from "../engine/engine.js";
import { reuseCachedChunks } from "./cache-reuse.js";
import { draftCounters, draftTimings } from "../engine/draft.js";
import { nllcInternals } from "../engine/llama-loader.js";
import { pickProbs, type ProbEntry } from "./logprobs.js";
import { ReasoningBudget, type ReasoningBudgetSpec } from "./reasoning-budget.js";
import type { OutputGrammar } from "./response-format.js";
import type { Slot, SlotPool } from "./slots.js";
import { commonPrefix } from "./slots.js";
import { StopMatcher, TokenTextDecoder } from "./text-stream.js";

/** One generation's sampling: the server's flags of the same names, as a request overrides them, and more. */
export interface SamplingParams extends Pick<ModelOptions, "topK" | "topP" | "minP" | "repeatPenalty" | "repeatLastN" | "presencePenalty" | "frequencyPenalty"> {
  maxTokens: number; // -1 = until the slot's context is full
  temperature: number;
  /** Resolved: never -1 here, so the answer can report the seed used. */
  seed: number;
  stop: string[];
  logitBias: Array<[Token, number]>;
  grammar?: OutputGrammar;
  ignoreEos: boolean;
  /** llama.cpp's cache_prompt: reuse the slot's cached prefix (default true). */
  cachePrompt: boolean;
  /** DRY and XTC samplers, when on (server-defaults.ts). */
  dry?: LlamaContextSequenceDryRepeatPenalty;
  xtc?: { probability: number; threshold: number };
  /** --context-shift: a generation may outgrow the slot's context (sequence-options.ts discards older tokens). */
  contextShift?: boolean;
  /** -sp/--special: special tokens are written into the text. */
  special?: boolean;
  /** Special tokens written as text even without `special`: the chat format's markers (llama-server's preserved_tokens). */
  preservedTokens?: ReadonlySet<Token>;
  /** --reasoning-budget: a thought past this many tokens is ended by forcing its closing tag. */
  reasoningBudget?: ReasoningBudgetSpec;
  /** --cache-reuse: reuse cached chunks of at least this many tokens beyond the common prefix (0 = off). */
  cacheReuse?: number;
}

export type FinishReason = "stop" | "length";

export interface Timings {
  cache_n: number;
  prompt_n: number;
  prompt_ms: number;
  prompt_per_token_ms: number;
  prompt_per_second: number;
  predicted_n: number;
  predicted_ms: number;
  predicted_per_token_ms: number;
  predicted_per_second: number;
  /** With a draft model (-md): tokens drafted, and those the model kept. */
  draft_n?: number;
  draft_n_accepted?: number;
}

export interface GenerationResult {
  text: string;
  /** The generated token ids, end-of-generation token excluded. */
  tokens: Token[];
  /** With GenerateOptions.topProbs: one entry per generated token. */
  probs: ProbEntry[] | undefined;
  finishReason: FinishReason;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  stoppedEos: boolean;
  stoppedWord: string | undefined;
  stoppedLimit: boolean;
  /** Stopped because the slot's context was full, before the requested number of tokens. */
  truncated: boolean;
  slotId: number;
  timings: Timings;
}

/** llama-server's prompt_progress: prompt tokens in all, taken from the cache, and processed so far (cache included). */
export interface PromptProgress {
  total: number;
  cache: number;
  processed: number;
  time_ms: number;
}

export interface TokenStep {
  id: Token;
  slotId: number;
  /** The text this token released ("" while held back: an incomplete character, a possible stop string). */
  text: string;
  probs: ProbEntry | undefined;
  /** Timings so far. */
  timings: Timings;
}

export interface GenerationHooks {
  /**
   * Each piece of text as soon as it is safe to emit. `fromToken` is false for text released only at the end
   * (held back until the generation stopped).
   */
  onText?: (text: string, fromToken: boolean) => void;
  /** Every generated token, before its text goes to onText. */
  onToken?: (step: TokenStep) => void;
  /** Prompt processing: once before the first batch, and after each batch (the last one yields the first token). */
  onPromptProgress?: (p: PromptProgress) => void;
  signal?: AbortSignal;
}

export interface GenerateOptions {
  /** Report token probabilities with this many alternatives per token. */
  topProbs?: number;
  /** Run on this slot only (-1 or undefined: any). */
  slotId?: number;
  /** The prompt batch size that onPromptProgress reports steps of. */
  progressBatch?: number;
}

export function checkPromptFits(engine: Engine, prompt: readonly Token[]): void {
  const nCtx = engine.facts.nCtxSlot;
  if (prompt.length >= nCtx) {
    throw new ApiError(
      400,
      `the request exceeds the available context size (${prompt.length} prompt tokens, context is ${nCtx} per slot); try increasing it with -c`,
      { type: "exceed_context_size_error", extra: { n_prompt_tokens: prompt.length, n_ctx: nCtx } },
    );
  }
  if (prompt.length === 0) throw new ApiError(400, "the prompt is empty");
}

export async function generate(
  engine: Engine,
  pool: SlotPool,
  prompt: Token[],
  params: SamplingParams,
  hooks: GenerationHooks = {},
  options: GenerateOptions = {},
): Promise<GenerationResult> {
  checkPromptFits(engine, prompt);
  const slot = await pool.acquire(prompt, hooks.signal, options.slotId);
  try {
    return await runOnSlot(engine, slot, prompt, params, hooks, options);
  } finally {
    slot.nPromptTokens = 0;
    slot.nDecoded = 0;
    pool.release(slot);
  }
}

interface Sampled {
  token: Token;
  probabilities?: ReadonlyMap<Token, number>;
}

async function runOnSlot(
  engine: Engine,
  slot: Slot,
  prompt: Token[],
  params: SamplingParams,
  hooks: GenerationHooks,
  options: GenerateOptions,
): Promise<GenerationResult> {
  const { seq } = slot;
  const { model } = engine;
  const t0 = performance.now();
  // Keep the longest cached prefix, but always evaluate at least one token: logits come from the last one.
  const prefix = params.cachePrompt ? Math.min(commonPrefix(seq.contextTokens, prompt), prompt.length - 1) : 0;
  const keep = params.cachePrompt ? await reuseCachedChunks(seq, prompt, prefix, params.cacheReuse ?? 0) : 0;
  if (keep < seq.nextTokenIndex) await seq.eraseContextTokenRanges([{ start: keep, end: seq.nextTokenIndex }]);
  slot.nPromptTokens = prompt.length;

  const room = params.contextShift ? Infinity : engine.facts.nCtxSlot - prompt.length;
  const draftBefore = draftCounters(seq);
  const limit = params.maxTokens < 0 ? room : Math.min(params.maxTokens, room);
  const decoder = new TokenTextDecoder(model, prompt, params.special, params.preservedTokens);
  const budget = params.reasoningBudget ? new ReasoningBudget(params.reasoningBudget, () => decoder.midCharacter) : undefined;
  const grammarStops = params.grammar?.stopTriggers ?? [];
  const stopper = new StopMatcher([...params.stop, ...grammarStops]);
  const topProbs = options.topProbs;
  let text = "";
  const tokens: Token[] = [];
  const probs: ProbEntry[] | undefined = topProbs !== undefined ? [] : undefined;

  let completion = 0;
  let tFirst = 0;
  let stoppedEos = true;
  let stoppedLimit = false;
  const timings = (now: number): Timings => makeTimings(prompt.length - keep, keep, completion, t0, completion > 0 ? tFirst : now, now);
  const progress = (processed: number) =>
    hooks.onPromptProgress?.({ total: prompt.length, cache: keep, processed, time_ms: performance.now() - t0 });

  if (limit > 0) {
    let pending = prompt.slice(keep);
    if (hooks.onPromptProgress) {
      // evaluated batch by batch so that each batch can be reported; the last one is evaluated with the first token
      progress(keep);
      const batch = Math.max(1, options.progressBatch ?? pending.length);
      while (pending.length > batch) {
        if (hooks.signal?.aborted) throw new ApiError(499, "request cancelled");
        await seq.evaluateWithoutGeneratingNewTokens(pending.slice(0, batch));
        pending = pending.slice(batch);
        progress(prompt.length - pending.length);
      }
    }
    for await (const { token, probabilities } of sample(seq, pending, evaluateOptions(engine, slot, params, budget), topProbs !== undefined)) {
      if (completion === 0) {
        tFirst = performance.now();
        progress(prompt.length);
      }
      completion++;
      slot.nDecoded = completion;
      tokens.push(token);
      const decoded = decoder.push(token);
      budget?.observe(token, decoded);
      let piece = stopper.push(decoded);
      const stoppedHere = stopper.stoppedWord !== undefined;
      if (stoppedHere && grammarStops.includes(stopper.stoppedWord!) && params.grammar?.trimWhitespaceSuffix) piece = piece.trimEnd();
      text += piece;
      let entry: ProbEntry | undefined;
      if (probs && probabilities) {
        entry = { id: token, text: piece, ...pickProbs(probabilities, token, topProbs!) };
        probs.push(entry);
      }
      hooks.onToken?.({ id: token, slotId: slot.id, text: piece, probs: entry, timings: timings(performance.now()) });
      if (piece.length > 0) hooks.onText?.(piece, true);
      if (stoppedHere) {
        stoppedEos = false;
        break;
      }
      if (completion >= limit) {
        stoppedEos = false;
        stoppedLimit = true;
        break;
      }
      if (hooks.signal?.aborted) {
        stoppedEos = false;
        break;
      }
    }
  } else {
    stoppedEos = false;
    stoppedLimit = true;
  }
  if (stopper.stoppedWord === undefined) {
    const tail = stopper.push(decoder.flush()) + stopper.flush();
    if (tail.length > 0) {
      text += tail;
      if (probs && probs.length > 0) probs[probs.length - 1]!.text += tail;
      hooks.onText?.(tail, false);
    }
  }

  // a grammar's own end marker is the grammar finishing, which llama.cpp reports as an end of generation
  const grammarEnded = stopper.stoppedWord !== undefined && grammarStops.includes(stopper.stoppedWord);
  const stoppedWord = grammarEnded ? undefined : stopper.stoppedWord;
  return {
    text,
    tokens,
    probs,
    finishReason: stoppedLimit ? "length" : "stop",
    promptTokens: prompt.length,
    cachedTokens: keep,
    completionTokens: completion,
    stoppedEos: stoppedEos || grammarEnded,
    stoppedWord,
    stoppedLimit,
    truncated: stoppedLimit && limit === room && (params.maxTokens < 0 || room < params.maxTokens),
    slotId: slot.id,
    timings: { ...timings(performance.now()), ...draftTimings(seq, draftBefore) },
  };
}

/** Tokens from the sequence, with node-llama-cpp's probability list when asked (costly: the whole vocabulary). */
async function* sample(
  seq: Slot["seq"],
  tokens: Token[],
  opts: SequenceEvaluateOptions,
  withProbabilities: boolean,
): AsyncGenerator<Sampled> {
  if (withProbabilities) {
    for await (const out of seq.evaluateWithMetadata(tokens, { probabilities: true }, opts)) {
      yield { token: out.token, probabilities: out.probabilities };
    }
  } else {
    for await (const token of seq.evaluate(tokens, opts)) yield { token };
  }
}

function makeTimings(promptN: number, cacheN: number, completion: number, t0: number, tFirst: number, tEnd: number): Timings {
  const promptMs = tFirst - t0;
  const predictedMs = tEnd - tFirst;
  return {
    cache_n: cacheN,
    prompt_n: promptN,
    prompt_ms: promptMs,
    prompt_per_token_ms: promptN > 0 ? promptMs / promptN : 0,
    prompt_per_second: promptMs > 0 ? (promptN * 1000) / promptMs : 0,
    predicted_n: completion,
    predicted_ms: predictedMs,
    predicted_per_token_ms: completion > 0 ? predictedMs / completion : 0,
    predicted_per_second: predictedMs > 0 ? (Math.max(0, completion - 1) * 1000) / predictedMs : 0,
  };
}

function evaluateOptions(engine: Engine, slot: Slot, p: SamplingParams, budget: ReasoningBudget | undefined): SequenceEvaluateOptions {
  const opts: SequenceEvaluateOptions = {
    temperature: p.temperature,
    topK: p.topK,
    topP: p.topP,
    minP: p.minP,
    seed: p.seed,
    yieldEogToken: false,
  };
  if (p.repeatPenalty !== 1 || p.presencePenalty !== 0 || p.frequencyPenalty !== 0) {
    const n = p.repeatLastN;
    opts.repeatPenalty = {
      punishTokens: () => (n > 0 ? slot.seq.contextTokens.slice(-n) : []),
      penalty: p.repeatPenalty,
      presencePenalty: p.presencePenalty,
      frequencyPenalty: p.frequencyPenalty,
    };
  }
  const bias = p.logitBias.length > 0 || p.ignoreEos ? makeTokenBias(engine, p) : undefined;
  // asked before every sample, so that the budget can take over the next one
  if (budget) {
    const free = bias ?? new nllc!.TokenBias(engine.model.tokenizer);
    opts.tokenBias = () => {
      const forced = budget.forcedToken();
      return forced === undefined ? free : withForcedToken(engine, bias, forced);
    };
  } else if (bias) {
    opts.tokenBias = bias;
  }
  if (p.grammar) opts.grammarEvaluationState = makeGrammarState(engine, p.grammar);
  if (p.dry) opts.dryRepeatPenalty = p.dry;
  if (p.xtc) opts.xtc = p.xtc;
  return opts;
}

// These two are created per request: both hold per-generation state inside node-llama-cpp.
let nllc: Awaited<ReturnType<typeof nllcInternals>> | undefined;
export async function preloadSamplingClasses(): Promise<void> {
  nllc = await nllcInternals();
}

function makeTokenBias(engine: Engine, p: SamplingParams) {
  const bias = new nllc!.TokenBias(engine.model.tokenizer);
  // TokenBias.set() reads numbers as probabilities and silently skips end-of-generation tokens, while OpenAI's
  // logit_bias is an additive logit that may ban EOS. So the map the sampler reads is filled directly.
  const biases = (bias as unknown as { _biases: Map<Token, number> })._biases;
  for (const [token, value] of p.logitBias) biases.set(token, value <= -100 ? -Infinity : value);
  if (p.ignoreEos) {
    for (const t of [engine.model.tokens.eos, engine.model.tokens.eot]) if (t != null) biases.set(t, -Infinity);
  }
  return bias;
}

/**
 * A logit so far above any real one that the token is sampled whatever the other samplers do; a grammar that
 * forbids it still wins (its -Infinity stays -Infinity). Finite, so that softmax stays well defined.
 */
const FORCE_BIAS = 1e6;

function withForcedToken(engine: Engine, bias: ReturnType<typeof makeTokenBias> | undefined, forced: Token) {
  const out = new nllc!.TokenBias(engine.model.tokenizer);
  const biases = (out as unknown as { _biases: Map<Token, number> })._biases;
  if (bias) for (const [t, v] of (bias as unknown as { _biases: Map<Token, number> })._biases) biases.set(t, v);
  biases.set(forced, FORCE_BIAS);
  return out;
}

function makeGrammarState(engine: Engine, grammar: OutputGrammar) {
  return new nllc!.LlamaGrammarEvaluationState({ model: engine.model, grammar: grammar.grammar });
}
