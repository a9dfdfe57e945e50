// The `generation_settings` object of llama-server's /completion answers: the parameters a generation actually ran
// with. Samplers corral does not run (mirostat, typical-p, dynamic temperature, top-n-sigma), and DRY and XTC when
// off, are listed at the values that turn them off, so a client reading them sees what happened.
import type { SamplingParams } from "../generation/generate.js";
import type { OutputOptions } from "../requests/request-options.js";

/** The order node-llama-cpp applies its samplers in (greedy replaces the last four at temperature 0). */
const SAMPLERS = ["penalties", "dry", "top_k", "top_p", "min_p", "xtc", "temperature"];

export function generationSettings(p: SamplingParams, o: OutputOptions): Record<string, unknown> {
  const dry = p.dry;
  return {
    seed: p.seed,
    temperature: p.temperature,
    dynatemp_range: 0,
    dynatemp_exponent: 1,
    top_k: p.topK,
    top_p: p.topP,
    min_p: p.minP,
    top_n_sigma: -1,
    xtc_probability: p.xtc?.probability ?? 0,
    xtc_threshold: p.xtc?.threshold ?? 0.1,
    typical_p: 1,
    repeat_last_n: p.repeatLastN,
    repeat_penalty: p.repeatPenalty,
    presence_penalty: p.presencePenalty,
    frequency_penalty: p.frequencyPenalty,
    dry_multiplier: dry?.strength ?? 0,
    dry_base: dry?.base ?? 1.75,
    dry_allowed_length: dry?.allowedLength ?? 2,
    dry_penalty_last_n: dry ? (dry.lastTokens ?? -1) : p.repeatLastN,
    dry_sequence_breakers: dry?.sequenceBreakers ?? ["\n", ":", "\"", "*"],
    mirostat: 0,
    mirostat_tau: 5,
    mirostat_eta: 0.1,
    adaptive_target: -1,
    adaptive_decay: 0.9,
    stop: p.stop,
    max_tokens: p.maxTokens,
    n_predict: p.maxTokens,
    n_keep: 0,
    n_discard: 0,
    ignore_eos: p.ignoreEos,
    stream: o.stream,
    // the JSON encoder would turn -Infinity (a banned token) into null; llama-server reports it the same way
    logit_bias: p.logitBias.map(([token, bias]) => ({ bias: Number.isFinite(bias) ? bias : null, token })),
    n_probs: o.topProbs ?? 0,
    min_keep: 0,
    grammar: p.grammar?.gbnf ?? "",
    grammar_lazy: false,
    grammar_triggers: [],
    preserved_tokens: [],
    chat_format: "Content-only",
    reasoning_format: "none",
    reasoning_in_content: false,
    generation_prompt: "",
    samplers: SAMPLERS.filter((s) => (s !== "dry" || dry) && (s !== "xtc" || p.xtc)),
    "speculative.types": "none",
    timings_per_token: o.timingsPerToken,
    post_sampling_probs: o.postSamplingProbs,
    backend_sampling: false,
    lora: [],
  };
}
