// Scores (query, document) pairs as llama-server's /rerank does: one sequence per pair, laid out by the model's
// rerank template or else as [BOS] query [EOS] [SEP] document [EOS] (each special token only where the vocabulary
// asks for it), evaluated in a context with rank pooling, the score being the first value of the pooled output,
// unscaled. node-llama-cpp's own LlamaRankingContext differs in ways a drop-in cannot take: it refuses models
// without a classification head (llama-server scores any model), always adds EOS and SEP, and maps scores through
// a sigmoid. So the context is created with node-llama-cpp's internal ranking options and read as its ranking
// context reads it; node-llama-cpp is pinned exactly (3.21.1), which keeps these internals still.
import type { LlamaContext, LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";

/** The internals of LlamaContext this module relies on (see above). */
interface RankingContextInternals {
  _ctx: { getEmbedding(inputTokensLength: number, maxVectorSize?: number): Float64Array };
}

export interface RankerOptions {
  contextSize: number;
  threads: number;
}

export class Ranker {
  /** Evaluations run one at a time: the rank-pooled output is read back from the context's only sequence. */
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly seq: LlamaContextSequence,
    private readonly template: string | undefined,
  ) {}

  static async create(model: LlamaModel, o: RankerOptions): Promise<Ranker> {
    const options = {
      contextSize: o.contextSize,
      // the pooled output needs the whole pair in one batch
      batchSize: o.contextSize,
      sequences: 1,
      threads: o.threads,
      _embeddings: true,
      _ranking: true,
    };
    const context = await model.createContext(options as Parameters<LlamaModel["createContext"]>[0]);
    const meta = model.fileInfo.metadata as unknown as { tokenizer?: Record<string, unknown> };
    const template = meta.tokenizer?.["chat_template.rerank"];
    return new Ranker(model, context, context.getSequence(), typeof template === "string" ? template : undefined);
  }

  get contextSize(): number {
    return this.context.contextSize;
  }

  /** The tokens llama-server evaluates for one pair. */
  tokensFor(query: string, document: string): Token[] {
    if (this.template !== undefined) {
      // the template is tokenized whole, special tokens included, as llama-server does
      const text = this.template.replaceAll("{query}", query).replaceAll("{document}", document);
      return this.model.tokenize(text, true);
    }
    const t = this.model.tokens;
    const v = vocabFlags(this.model);
    const eos = t.eos ?? t.sep;
    const out: Token[] = [];
    if (t.shouldPrependBosToken && t.bos != null) out.push(t.bos);
    out.push(...this.model.tokenize(query, false));
    if (v.addEos && eos != null) out.push(eos);
    if (v.addSep && t.sep != null) out.push(t.sep);
    out.push(...this.model.tokenize(document, false));
    if (v.addEos && eos != null) out.push(eos);
    return out;
  }

  /** The score of one token sequence (from tokensFor); callers check its length against contextSize first. */
  score(tokens: Token[]): Promise<number> {
    const run = this.tail.then(() => this.evaluate(tokens));
    this.tail = run.catch(() => {});
    return run;
  }

  private async evaluate(tokens: Token[]): Promise<number> {
    await this.seq.eraseContextTokenRanges([{ start: 0, end: this.seq.nextTokenIndex }]);
    const options = { _noSampling: true };
    // one step evaluates the whole input; nothing is sampled
    for await (const _ of this.seq.evaluate(tokens, options as Parameters<LlamaContextSequence["evaluate"]>[1])) break;
    const out = (this.context as unknown as RankingContextInternals)._ctx.getEmbedding(tokens.length, 1);
    return out.length > 0 ? out[0]! : 0;
  }

  async dispose(): Promise<void> {
    await this.context.dispose();
  }
}

/**
 * Whether the vocabulary appends EOS and inserts SEP around a pair. node-llama-cpp exposes the first; the second
 * follows llama.cpp's vocabulary loader: the GGUF key when present, else on for BERT-style (WPM) vocabularies and
 * the BPE pre-tokenizers llama.cpp turns it on for.
 */
function vocabFlags(model: LlamaModel): { addEos: boolean; addSep: boolean } {
  const ggml = (model.fileInfo.metadata as unknown as { tokenizer?: { ggml?: Record<string, unknown> } }).tokenizer?.ggml ?? {};
  const declared = ggml["add_sep_token"];
  const addSep = typeof declared === "boolean"
    ? declared
    : ggml["model"] === "bert" || ["jina-v1-en", "jina-v2-code", "roberta-bpe"].includes(String(ggml["pre"]));
  return { addEos: model.tokens.shouldAppendEosToken, addSep };
}
