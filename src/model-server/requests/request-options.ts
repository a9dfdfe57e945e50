// The fields of a generation request that shape its answer rather than its sampling: how many choices, which slot,
// token probabilities, per-token timings, prompt progress, debug output and the /completion field filter.
import { ApiError } from "../../http/errors.js";
import { type JsonObject, optArray, optBool, optNumber, optObject } from "../../http/validate.js";
import type { ServerState } from "../server/state.js";

export type Flavor = "chat" | "oai-completion" | "native";

export interface OutputOptions {
  stream: boolean;
  includeUsage: boolean;
  /** Completions per prompt (OpenAI `n`, llama.cpp `n_cmpl`). */
  n: number;
  /** The slot to run on, or -1 for any. */
  idSlot: number;
  /** How many alternatives to list per token; undefined = no token probabilities at all. */
  topProbs: number | undefined;
  /** Report probabilities after the samplers (`prob`/`top_probs`) instead of log-probabilities. */
  postSamplingProbs: boolean;
  timingsPerToken: boolean;
  /** Stream prompt-processing progress events (only with `stream`). */
  returnProgress: boolean;
  returnTokens: boolean;
  /** Add llama-server's `__verbose` debug object (the native answer) to OpenAI answers. */
  verbose: boolean;
  /** /completion: only these fields, "a/b" naming a nested one. */
  responseFields: string[];
}

export function readOutputOptions(flavor: Flavor, body: JsonObject, state: ServerState, nVocab: number): OutputOptions {
  const slots = state.opts.parallel;
  const streamOptions = optObject(body, "stream_options");
  const n = optNumber(body, "n_cmpl", { int: true }) ?? optNumber(body, "n", { int: true }) ?? 1;
  // every choice takes a slot of its own, as in llama-server
  if (n < 1 || n > slots) {
    throw new ApiError(400, `'n' must be between 1 and ${slots} (the server's slots, --parallel), got ${n}`);
  }
  const idSlot = optNumber(body, "id_slot", { int: true, min: -1 }) ?? -1;
  if (idSlot >= slots) throw new ApiError(400, `'id_slot' must be < ${slots} (the server's slots), got ${idSlot}`);
  const fields = optArray(body, "response_fields") ?? [];
  fields.forEach((f, i) => {
    if (typeof f !== "string") throw new ApiError(400, `'response_fields[${i}]' must be a string`);
  });
  return {
    stream: optBool(body, "stream") ?? false,
    includeUsage: streamOptions ? (optBool(streamOptions, "include_usage", "stream_options.") ?? false) : false,
    n,
    idSlot,
    topProbs: readTopProbs(flavor, body, nVocab),
    postSamplingProbs: optBool(body, "post_sampling_probs") ?? false,
    timingsPerToken: optBool(body, "timings_per_token") ?? false,
    returnProgress: optBool(body, "return_progress") ?? false,
    returnTokens: optBool(body, "return_tokens") ?? false,
    verbose: optBool(body, "verbose") ?? (state.opts.verbose || verbosity(state) > 9),
    responseFields: fields as string[],
  };
}

/**
 * Chat: OpenAI's `logprobs: true` with `top_logprobs` alternatives (20 when left out, as llama-server). Completions:
 * `n_probs` or the OpenAI integer `logprobs`; 0 means none.
 */
function readTopProbs(flavor: Flavor, body: JsonObject, nVocab: number): number | undefined {
  const max = nVocab > 0 ? nVocab : undefined;
  if (flavor === "chat") {
    const wanted = optBool(body, "logprobs") ?? false;
    const top = optNumber(body, "top_logprobs", { int: true, min: 0, ...(max ? { max } : {}) });
    if (!wanted) {
      if (top !== undefined) throw new ApiError(400, "'top_logprobs' requires 'logprobs' to be true");
      const n = optNumber(body, "n_probs", { int: true, min: 0, ...(max ? { max } : {}) });
      return n ? n : undefined;
    }
    return top ?? 20;
  }
  const n =
    optNumber(body, "n_probs", { int: true, min: 0, ...(max ? { max } : {}) }) ??
    optNumber(body, "logprobs", { int: true, min: 0, ...(max ? { max } : {}) });
  return n ? n : undefined;
}

/** llama-server's --verbosity, where this build has it. */
function verbosity(state: ServerState): number {
  const v = (state.opts as unknown as { verbosity?: unknown }).verbosity;
  return typeof v === "number" ? v : 0;
}
