// llama-server's native /completion answer (also the `__verbose` object of OpenAI answers), its `response_fields`
// filter, and the OpenAI usage block.
import type { Token } from "node-llama-cpp";
import type { Engine } from "../engine/engine.js";
import type { GenerationResult, SamplingParams } from "../generation/generate.js";
import { generationSettings } from "./generation-settings.js";
import { dropHeldTail, probEntriesJson } from "../generation/logprobs.js";
import type { OutputOptions } from "../requests/request-options.js";
import type { TokenPieces } from "../generation/token-pieces.js";

export interface NativeContext {
  engine: Engine;
  pieces: TokenPieces;
  model: string;
  params: SamplingParams;
  out: OutputOptions;
}

export function stopType(r: GenerationResult): "word" | "limit" | "eos" | "none" {
  return r.stoppedWord !== undefined ? "word" : r.stoppedLimit ? "limit" : r.stoppedEos ? "eos" : "none";
}

/**
 * The final /completion object. In a stream the content and tokens were already sent, so the last event carries
 * neither (nor the probabilities).
 */
export function nativeBody(c: NativeContext, index: number, prompt: readonly Token[], r: GenerationResult, streamed: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {
    index,
    content: streamed ? "" : r.text,
    tokens: !streamed && c.out.returnTokens ? r.tokens : [],
    id_slot: r.slotId,
    stop: true,
    model: c.model,
    tokens_predicted: r.completionTokens,
    tokens_evaluated: r.promptTokens,
    generation_settings: generationSettings(c.params, c.out),
    prompt: c.engine.model.detokenize(prompt as Token[], true),
    has_new_line: r.text.includes("\n"),
    truncated: r.truncated,
    stop_type: stopType(r),
    stopping_word: r.stoppedWord ?? "",
    // the last token sampled is not evaluated, so it is not in the cache
    tokens_cached: r.promptTokens + Math.max(0, r.completionTokens - 1),
    timings: r.timings,
  };
  const probs = probsOf(r);
  if (!streamed && probs && probs.length > 0) body["completion_probabilities"] = probEntriesJson(probs, c.out.postSamplingProbs, c.pieces);
  return body;
}

/** A generation's probability entries, without those of a stop string (which is not part of the answer). */
export function probsOf(r: GenerationResult) {
  if (!r.probs) return undefined;
  return r.stoppedWord !== undefined ? dropHeldTail(r.probs) : r.probs;
}

/**
 * llama-server's response_fields: only the listed fields, each under its own name; "a/b" picks field b of object a
 * (and is named "a/b"). Fields that do not exist are left out.
 */
export function pickFields(body: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const path of fields) {
    let v: unknown = body;
    for (const key of path.split("/")) {
      v = v !== null && typeof v === "object" && !Array.isArray(v) && Object.hasOwn(v, key) ? (v as Record<string, unknown>)[key] : undefined;
      if (v === undefined) break;
    }
    if (v !== undefined) out[path] = v;
  }
  return out;
}

/** OpenAI usage over all choices: each prompt counted once, every choice's completion tokens. */
export function usageOf(results: ReadonlyArray<{ result: GenerationResult; job: { firstOfPrompt: boolean } }>) {
  let prompt = 0;
  let completion = 0;
  let cached = 0;
  for (const { result, job } of results) {
    completion += result.completionTokens;
    if (!job.firstOfPrompt) continue;
    prompt += result.promptTokens;
    cached += result.cachedTokens;
  }
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, prompt_tokens_details: { cached_tokens: cached } };
}
