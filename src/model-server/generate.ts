// One generation on one slot: reuse the slot's cached prefix, evaluate the rest of the prompt, sample until a
// stop condition, and yield text as it becomes safe to emit.
import type { LlamaGrammar, SequenceEvaluateOptions, Token } from "node-llama-cpp";
import { ApiError } from "../http/errors.js";
import type { Engine } from "./engine.js";
import { nllcInternals } from "./llama-loader.js";
import type { Slot, SlotPool } from "./slots.js";
import { commonPrefix } from "./slots.js";
import { StopMatcher, TokenTextDecoder } from "./text-stream.js";

export interface SamplingParams {
  maxTokens: number; // -1 = until the slot's context is full
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  seed: number; // -1 = random
  repeatPenalty: number;
  repeatLastN: number;
  presencePenalty: number;
  frequencyPenalty: number;
  stop: string[];
  logitBias: Array<[Token, number]>;
  grammar?: LlamaGrammar;
  ignoreEos: boolean;
  /** llama.cpp's cache_prompt: reuse the slot's cached prefix (default true). */
  cachePrompt: boolean;
}

export type FinishReason = "stop" | "length";

export interface Timings {
  prompt_n: number;
  prompt_ms: number;
  prompt_per_token_ms: number;
  prompt_per_second: number;
  predicted_n: number;
  predicted_ms: number;
  predicted_per_token_ms: number;
  predicted_per_second: number;
}

export interface GenerationResult {
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  stoppedEos: boolean;
  stoppedWord: string | undefined;
  stoppedLimit: boolean;
  slotId: number;
  timings: Timings;
}

export interface GenerationHooks {
  /** Called with each piece of text as soon as it is safe to emit. */
  onText?: (text: string) => void;
  signal?: AbortSignal;
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
): Promise<GenerationResult> {
  checkPromptFits(engine, prompt);
  const slot = await pool.acquire(prompt, hooks.signal);
  try {
    return await runOnSlot(engine, slot, prompt, params, hooks);
  } finally {
    slot.nPromptTokens = 0;
    slot.nDecoded = 0;
    pool.release(slot);
  }
}

async function runOnSlot(
  engine: Engine,
  slot: Slot,
  prompt: Token[],
  params: SamplingParams,
  hooks: GenerationHooks,
): Promise<GenerationResult> {
  const { seq } = slot;
  const { model } = engine;
  const t0 = performance.now();
  // Keep the longest cached prefix, but always evaluate at least one token: logits come from the last one.
  const keep = params.cachePrompt ? Math.min(commonPrefix(seq.contextTokens, prompt), prompt.length - 1) : 0;
  if (keep < seq.nextTokenIndex) await seq.eraseContextTokenRanges([{ start: keep, end: seq.nextTokenIndex }]);
  slot.nPromptTokens = prompt.length;

  const room = engine.facts.nCtxSlot - prompt.length;
  const limit = params.maxTokens < 0 ? room : Math.min(params.maxTokens, room);
  const decoder = new TokenTextDecoder(model, prompt);
  const stopper = new StopMatcher(params.stop);
  let text = "";
  const emit = (piece: string): void => {
    if (piece.length === 0) return;
    text += piece;
    hooks.onText?.(piece);
  };

  let completion = 0;
  let tFirst = 0;
  let stoppedEos = true;
  let stoppedLimit = false;
  if (limit > 0) {
    const iterator = seq.evaluate(prompt.slice(keep), evaluateOptions(engine, slot, params));
    for await (const token of iterator) {
      if (completion === 0) tFirst = performance.now();
      completion++;
      slot.nDecoded = completion;
      emit(stopper.push(decoder.push(token)));
      if (stopper.stoppedWord !== undefined) {
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
  if (stopper.stoppedWord === undefined) emit(stopper.push(decoder.flush()) + stopper.flush());

  const tEnd = performance.now();
  if (completion === 0) tFirst = tEnd;
  const promptN = prompt.length - keep;
  const promptMs = tFirst - t0;
  const predictedMs = tEnd - tFirst;
  return {
    text,
    finishReason: stoppedLimit ? "length" : "stop",
    promptTokens: prompt.length,
    cachedTokens: keep,
    completionTokens: completion,
    stoppedEos,
    stoppedWord: stopper.stoppedWord,
    stoppedLimit,
    slotId: slot.id,
    timings: {
      prompt_n: promptN,
      prompt_ms: promptMs,
      prompt_per_token_ms: promptN > 0 ? promptMs / promptN : 0,
      prompt_per_second: promptMs > 0 ? (promptN * 1000) / promptMs : 0,
      predicted_n: completion,
      predicted_ms: predictedMs,
      predicted_per_token_ms: completion > 0 ? predictedMs / completion : 0,
      predicted_per_second: predictedMs > 0 ? (Math.max(0, completion - 1) * 1000) / predictedMs : 0,
    },
  };
}

function evaluateOptions(engine: Engine, slot: Slot, p: SamplingParams): SequenceEvaluateOptions {
  const opts: SequenceEvaluateOptions = {
    temperature: p.temperature,
    topK: p.topK,
    topP: p.topP,
    minP: p.minP,
    seed: p.seed >= 0 ? p.seed : Math.floor(Math.random() * 0xffffffff),
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
  if (p.logitBias.length > 0 || p.ignoreEos) opts.tokenBias = makeTokenBias(engine, p);
  if (p.grammar) opts.grammarEvaluationState = makeGrammarState(engine, p.grammar);
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

function makeGrammarState(engine: Engine, grammar: LlamaGrammar) {
  return new nllc!.LlamaGrammarEvaluationState({ model: engine.model, grammar });
}
