// Speculative decoding with a draft model (-md/--model-draft): a small model with the same vocabulary drafts the
// next tokens, and the model checks them all in one batch, keeping the ones it would have generated itself. The
// output is the same as without a draft model; only the speed changes. node-llama-cpp does the drafting and the
// checking (DraftSequenceTokenPredictor); this loads the draft model, gives each slot a draft sequence, and
// reports llama-server's draft_n / draft_n_accepted timings.
import type { Llama, LlamaContext, LlamaContextSequence, LlamaModel, SequenceEvaluateOptions, Token, TokenBias as TokenBiasType, TokenPredictor } from "node-llama-cpp";
import type { ModelOptions } from "../../options/options.js";
import { parseGpuLayers } from "../../options/value-formats.js";
import { StartupError } from "../../util/startup-error.js";
import { importNllc, nllcInternals } from "./llama-loader.js";

export interface DraftModel {
  model: LlamaModel;
  context: LlamaContext;
  /** A predictor on a draft sequence of its own: one per slot (node-llama-cpp forbids sharing them). */
  newPredictor(): TokenPredictor;
  dispose(): Promise<void>;
}

export interface DraftTarget {
  model: LlamaModel;
  /** Context size of one slot. */
  nCtxSlot: number;
  slots: number;
  threads: number;
  batchSize: number;
  flashAttention?: boolean | "auto";
}

/** Loads the draft model given by -md, or returns undefined without one. */
export async function loadDraftModel(opts: ModelOptions, llama: Llama, target: DraftTarget): Promise<DraftModel | undefined> {
  if (!opts.modelDraft) return undefined;
  const where = `draft model '${opts.modelDraft}'`;
  let model: LlamaModel;
  try {
    model = await llama.loadModel({
      modelPath: opts.modelDraft,
      gpuLayers: draftGpuLayers(opts, llama, target.model.gpuLayers),
      useMmap: opts.mmap,
      useMlock: opts.mlock,
    });
  } catch (err) {
    throw new StartupError(`failed to load the ${where}: ${(err as Error).message}`);
  }
  try {
    checkCompatible(target.model, model, where);
    const contextSize = opts.ctxSizeDraft > 0 ? opts.ctxSizeDraft : target.nCtxSlot;
    const context = await model.createContext({
      contextSize,
      sequences: target.slots,
      batchSize: Math.min(target.batchSize, contextSize * target.slots),
      threads: target.threads,
      ...(target.flashAttention !== undefined ? { flashAttention: target.flashAttention } : {}),
    });
    const { DraftSequenceTokenPredictor } = (await importNllc("evaluator/LlamaContext/tokenPredictors/DraftSequenceTokenPredictor.js")) as typeof import("node-llama-cpp");
    const { TokenBias } = await nllcInternals();
    /**
     * node-llama-cpp drafts with the request's own sampling options, but a logit bias (and --ignore-eos, which is
     * one) is bound to the model it was made for and is refused by the draft model's context: the draft gets a
     * copy made for the draft model (the vocabularies match, so the token ids do).
     */
    class DraftPredictor extends DraftSequenceTokenPredictor {
      override reset(params: Parameters<TokenPredictor["reset"]>[0]): Promise<void> {
        return super.reset({ ...params, evaluateOptions: withDraftTokenBias(params.evaluateOptions, model, TokenBias) });
      }
    }
    return {
      model,
      context,
      newPredictor: () =>
        new DraftPredictor(context.getSequence(), {
          minTokens: opts.draftMin,
          maxTokens: Math.max(opts.draftMax, opts.draftMin, 1),
          minConfidence: opts.draftPMin,
        }),
      async dispose() {
        await context.dispose();
        await model.dispose();
      },
    };
  } catch (err) {
    await model.dispose();
    if (err instanceof StartupError) throw err;
    throw new StartupError(`failed to create a context for the ${where}: ${(err as Error).message}`);
  }
}

function withDraftTokenBias(options: Readonly<SequenceEvaluateOptions>, draft: LlamaModel, TokenBias: typeof TokenBiasType): SequenceEvaluateOptions {
  const given = typeof options.tokenBias === "function" ? options.tokenBias() : options.tokenBias;
  if (!given) return options;
  const copy = new TokenBias(draft.tokenizer);
  const biases = (b: TokenBiasType) => (b as unknown as { _biases: Map<Token, number> })._biases;
  for (const [token, bias] of biases(given)) biases(copy).set(token, bias);
  return { ...options, tokenBias: copy };
}

/** -ngld, or by default as many layers as the model's own offload allows (none when the model stays on the CPU). */
function draftGpuLayers(opts: ModelOptions, llama: Llama, targetGpuLayers: number): number | "auto" | "max" {
  if (llama.gpu === false) return 0;
  const given = opts.gpuLayersDraft !== undefined ? parseGpuLayers(opts.gpuLayersDraft) : undefined;
  if (given === undefined) return targetGpuLayers > 0 ? "max" : 0;
  if (given === "all" || given === -1) return "max";
  return given;
}

/**
 * llama.cpp accepts a draft model whose vocabulary matches the model's: the same special tokens, sizes within 128
 * tokens, and the same text for the tokens both have (common_speculative_are_compatible). Drafts of another
 * vocabulary would only ever be refuted, so this is a start-up error.
 */
function checkCompatible(target: LlamaModel, draft: LlamaModel, where: string): void {
  const nTarget = vocabSize(target);
  const nDraft = vocabSize(draft);
  if (Math.abs(nTarget - nDraft) > 128) {
    throw new StartupError(`the ${where} has ${nDraft} tokens in its vocabulary, the model ${nTarget}: they must match`);
  }
  for (const t of ["bos", "eos"] as const) {
    if (target.tokens[t] !== draft.tokens[t]) throw new StartupError(`the ${where} has another ${t.toUpperCase()} token than the model`);
  }
  const n = Math.min(nTarget, nDraft, 512);
  for (let i = 0; i < n; i++) {
    const id = i as Token;
    if (target.detokenize([id], true) !== draft.detokenize([id], true)) {
      throw new StartupError(`the ${where} has another vocabulary than the model (token ${i} differs)`);
    }
  }
}

function vocabSize(model: LlamaModel): number {
  const tokens = (model.fileInfo.metadata as unknown as { tokenizer?: { ggml?: { tokens?: unknown[] } } }).tokenizer?.ggml?.tokens;
  return Array.isArray(tokens) ? tokens.length : 0;
}

/** Draft counters of a sequence, to measure one generation: drafted tokens, and those the model kept. */
export function draftCounters(seq: LlamaContextSequence): { drafted: number; accepted: number } {
  const p = seq.tokenPredictions;
  return { drafted: p.validated + p.refuted, accepted: p.validated };
}

/** llama-server's timings fields for a generation with a draft model (nothing for a sequence without one). */
export function draftTimings(seq: LlamaContextSequence, before: { drafted: number; accepted: number }): { draft_n?: number; draft_n_accepted?: number } {
  if (!seq.tokenPredictor) return {};
  const now = draftCounters(seq);
  return { draft_n: now.drafted - before.drafted, draft_n_accepted: now.accepted - before.accepted };
}
