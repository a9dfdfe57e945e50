// How each slot's sequence is created: with a draft model's token predictor (-md), and with llama-server's context
// shift (--context-shift, --keep): when a generation fills the slot's context, the tokens after the first n_keep
// are halved, as llama-server's server_context does (n_discard = (n_past - n_keep) / 2), and generation goes on.
import type { LlamaContext, LlamaContextSequence } from "node-llama-cpp";
import type { ModelOptions } from "../../options/options.js";
import type { DraftModel } from "../engine/draft.js";
import type { Engine } from "../engine/engine.js";
import { SlotPool } from "./slots.js";

export type SequenceOptions = NonNullable<Parameters<LlamaContext["getSequence"]>[0]>;

export interface SlotSequenceInput {
  opts: ModelOptions;
  draft?: DraftModel;
  /** Whether the model's prompts start with BOS, which llama-server keeps on top of --keep. */
  addsBos: boolean;
  /** Tokens in the prompt of the request now running on the slot (for --keep -1). */
  promptLength: () => number;
}

export function slotSequenceOptions(input: SlotSequenceInput): SequenceOptions | undefined {
  const { opts, draft } = input;
  const options: SequenceOptions = {
    ...(draft ? { tokenPredictor: draft.newPredictor() } : {}),
    ...(opts.contextShift ? { contextShift: { strategy: ({ sequence }) => [shiftRange(sequence, input)] } } : {}),
  };
  return Object.keys(options).length > 0 ? options : undefined;
}

function shiftRange(sequence: LlamaContextSequence, input: SlotSequenceInput): { start: number; end: number } {
  const keep = contextShiftKeep(input.opts.keep, input.promptLength(), input.addsBos, sequence.contextSize);
  const discard = contextShiftDiscard(sequence.nextTokenIndex, keep);
  return { start: keep, end: keep + discard };
}

/** llama-server's n_keep: --keep (-1 = the whole prompt), plus BOS, leaving at least 4 tokens of room. */
export function contextShiftKeep(keep: number, promptLength: number, addsBos: boolean, nCtx: number): number {
  const n = (keep < 0 ? promptLength : keep) + (addsBos ? 1 : 0);
  return Math.max(0, Math.min(nCtx - 4, n));
}

/** llama-server's n_discard: half of the tokens after n_keep, and never all of them. */
export function contextShiftDiscard(nPast: number, keep: number): number {
  const left = nPast - keep;
  return Math.max(0, Math.min(Math.floor(left / 2), left - 1));
}

/** The slot pool of an engine, each slot's sequence created with the options above. */
export function slotPoolFor(engine: Engine, opts: ModelOptions): SlotPool {
  const pool: SlotPool = new SlotPool(engine.context, engine.facts.slots, (id) =>
    slotSequenceOptions({
      opts,
      ...(engine.draft ? { draft: engine.draft } : {}),
      addsBos: engine.model.tokens.shouldPrependBosToken,
      // read when a shift happens, long after the pool exists
      promptLength: () => pool.slots[id]?.nPromptTokens ?? 0,
    }),
  );
  pool.promptSimilarity = opts.slotPromptSimilarity;
  return pool;
}
