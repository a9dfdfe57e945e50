// Owns the node-llama-cpp objects of one model: the backend, the weights, one context whose sequences are the
// slots, (with --embedding) an embedding context and (with --reranking) a ranking one.
import type {
  Llama,
  LlamaContext,
  LlamaEmbeddingContext,
  LlamaModel,
  Token,
} from "node-llama-cpp";
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { basename } from "node:path";
import type { ModelOptions } from "../../options/options.js";
import { loadLlama } from "./llama-loader.js";
import { speedUpGgufArrays } from "./gguf-fast-arrays.js";
import { loadThreadpoolShim, type ShimState } from "./threadpool-shim.js";
import { Ranker } from "./ranker.js";
import { contextOptions, modelLoadOptions } from "./engine-options.js";
import { type DraftModel, loadDraftModel } from "./draft.js";

export interface ModelFacts {
  path: string;
  sizeBytes: number;
  nParams: number;
  nEmbd: number;
  nVocab: number;
  nCtxTrain: number;
  nCtxSlot: number;
  slots: number;
  chatTemplate: string | undefined;
  bosToken: string;
  eosToken: string;
  gpu: string | false;
  gpuLayers: number;
  threadpoolShim: ShimState;
}

export interface Engine {
  llama: Llama;
  model: LlamaModel;
  context: LlamaContext;
  embedding?: LlamaEmbeddingContext;
  ranker?: Ranker;
  /** With -md: the draft model for speculative decoding. */
  draft?: DraftModel;
  facts: ModelFacts;
  /** Tokenize text that may contain special tokens, adding BOS when the model wants one. */
  tokenizePrompt(text: string, addSpecial?: boolean): Token[];
  /** A token id this model's vocabulary has: ids from requests are checked here before they reach llama.cpp. */
  isTokenId(t: unknown): t is Token;
  /** Frees the model and its contexts but keeps the backend, for --sleep-idle-seconds (loadEngine reuses it). */
  disposeModel(): Promise<void>;
  dispose(): Promise<void>;
}

/** Thrown for model files that cannot be loaded; main turns it into one line on stderr. */
export class ModelLoadError extends Error {}

export async function loadEngine(opts: ModelOptions, modelPath: string, onProgress?: (fraction: number) => void, reuseLlama?: Llama): Promise<Engine> {
  const size = checkModelFile(modelPath);
  await speedUpGgufArrays();
  const flashAttention = opts.flashAttn === undefined ? undefined : opts.flashAttn === "auto" ? "auto" : opts.flashAttn === "on";
  const wantGpu = opts.nGpuLayers !== undefined && opts.nGpuLayers !== 0;
  // llama.cpp's own log lines are kept out of the way unless -v: a load failure is reported as one line that
  // quotes the most telling native message instead of a burst of native errors.
  const nativeLog: string[] = [];
  const shim = loadThreadpoolShim();
  const llama = reuseLlama ?? await loadLlama({
    gpu: wantGpu,
    verbose: opts.verbose,
    ...(opts.threads > 0 ? { maxThreads: opts.threads } : {}),
    logger: (_level, message) => {
      const line = message.trim();
      if (!line) return;
      nativeLog.push(line);
      if (nativeLog.length > 50) nativeLog.shift();
      if (opts.verbose) process.stderr.write(`[llama.cpp] ${line}\n`);
    },
  });
  let model: LlamaModel;
  try {
    model = await llama.loadModel({
      modelPath,
      gpuLayers: !wantGpu || llama.gpu === false ? 0 : opts.nGpuLayers === -1 ? "max" : opts.nGpuLayers!,
      useMmap: opts.mmap,
      useMlock: opts.mlock,
      ...(onProgress ? { onLoadProgress: onProgress } : {}),
      ...(flashAttention !== undefined ? { defaultContextFlashAttention: flashAttention } : {}),
      ...modelLoadOptions(opts),
    });
  } catch (err) {
    // the first native complaint is the root cause; the later ones only repeat that loading failed
    const cause = nativeLog.find((l) => /error|failed/i.test(l));
    // node-llama-cpp reads the header itself before llama.cpp sees the file: a file cut short after its magic
    // fails there with a bare TypeError, which says nothing about the file
    const detail = cause
      ? cause.replace(/^.*error loading model:\s*/, "")
      : err instanceof TypeError
        ? `its GGUF header could not be read (the file looks truncated or corrupt: ${err.message})`
        : (err as Error).message;
    throw new ModelLoadError(`failed to load model '${modelPath}': ${detail}`);
  }
  const nCtxTrain = model.trainContextSize;
  const slots = opts.parallel;
  const total = opts.ctxSize > 0 ? opts.ctxSize : nCtxTrain;
  // llama-server splits -c between the slots; each slot gets an equal share. With --kv-unified its slots share
  // one cache, so each may use all of it; node-llama-cpp's sequences cannot share cells, so each gets its own.
  const nCtxSlot = Math.max(16, opts.kvUnified ? total : Math.floor(total / slots));
  // -t -1 means one thread per core, as llama.cpp's cpu_get_num_math(). node-llama-cpp's own default is at least 4
  // threads, which on a 2-core machine makes every token wait on oversubscribed barriers (measured: ~190 ms per
  // token instead of <1 ms on the tiny test model).
  const threads = opts.threads > 0 ? opts.threads : Math.max(1, llama.cpuMathCores);
  if (opts.threads <= 0) llama.maxThreads = threads;
  let context: LlamaContext;
  try {
    context = await model.createContext({
      contextSize: nCtxSlot,
      sequences: slots,
      batchSize: Math.min(opts.batchSize, nCtxSlot * slots),
      threads,
      ...(flashAttention !== undefined ? { flashAttention } : {}),
      ...contextOptions(opts),
    });
  } catch (err) {
    await model.dispose();
    // llama.cpp says why (e.g. "K cache type q8_0 with block size 32 does not divide n_embd_head_k=16" for -ctk)
    const cause = [...nativeLog].reverse().find((l) => /^llama_init_from_model:|error/i.test(l) && !/simulating/i.test(l));
    throw new ModelLoadError(`failed to create a context of ${nCtxSlot} x ${slots} tokens: ${cause?.replace(/^llama_init_from_model:\s*/, "") ?? (err as Error).message}`);
  }
  let embedding: LlamaEmbeddingContext | undefined;
  if (opts.embedding) {
    embedding = await model.createEmbeddingContext({
      contextSize: nCtxSlot,
      batchSize: Math.min(opts.batchSize, nCtxSlot),
      ...(threads ? { threads } : {}),
    });
  }
  let ranker: Ranker | undefined;
  // as llama-server, --reranking is --embedding with rank pooling
  if (opts.reranking || (opts.embedding && opts.pooling === "rank")) {
    try {
      ranker = await Ranker.create(model, { contextSize: nCtxSlot, threads });
    } catch (err) {
      await embedding?.dispose();
      await context.dispose();
      await model.dispose();
      throw new ModelLoadError(`failed to create a ranking context of ${nCtxSlot} tokens: ${(err as Error).message}`);
    }
  }
  let draft: DraftModel | undefined;
  try {
    draft = await loadDraftModel(opts, llama, { model, nCtxSlot, slots, threads, batchSize: opts.batchSize, ...(flashAttention !== undefined ? { flashAttention } : {}) });
  } catch (err) {
    await embedding?.dispose();
    await ranker?.dispose();
    await context.dispose();
    await model.dispose();
    throw err;
  }
  const meta = model.fileInfo.metadata as unknown as { tokenizer?: { chat_template?: string } };
  const bos = model.tokens.bos;
  const eos = model.tokens.eos;
  const facts: ModelFacts = {
    path: modelPath,
    sizeBytes: size,
    nParams: model.fileInsights.totalParameters,
    nEmbd: model.embeddingVectorSize,
    nVocab: vocabSize(model),
    nCtxTrain,
    nCtxSlot,
    slots,
    chatTemplate: typeof meta.tokenizer?.chat_template === "string" ? meta.tokenizer.chat_template : undefined,
    bosToken: bos != null ? model.detokenize([bos], true) : "",
    eosToken: eos != null ? model.detokenize([eos], true) : "",
    gpu: llama.gpu,
    gpuLayers: model.gpuLayers,
    threadpoolShim: shim,
  };
  const shouldAddBos = model.tokens.shouldPrependBosToken;
  const disposeModel = async (): Promise<void> => {
    await draft?.dispose();
    await embedding?.dispose();
    await ranker?.dispose();
    await context.dispose();
    await model.dispose();
  };
  return {
    llama,
    model,
    context,
    embedding,
    ...(ranker ? { ranker } : {}),
    ...(draft ? { draft } : {}),
    facts,
    tokenizePrompt(text: string, addSpecial = true): Token[] {
      const tokens = model.tokenize(text, true);
      if (addSpecial && shouldAddBos && bos != null && tokens[0] !== bos) tokens.unshift(bos);
      return tokens;
    },
    isTokenId(t: unknown): t is Token {
      return typeof t === "number" && Number.isInteger(t) && t >= 0 && (facts.nVocab === 0 || t < facts.nVocab);
    },
    disposeModel,
    async dispose() {
      await disposeModel();
      await llama.dispose();
    },
  };
}

/**
 * Throws a ModelLoadError with one clear line when `path` cannot be a model (missing, not a file, unreadable, not a
 * GGUF, an unknown version); returns its size. Synchronous and cheap (8 bytes read), so that `corral -m` checks its
 * file before it listens: llama.cpp also aborts the whole process on some malformed files.
 */
export function checkModelFile(path: string): number {
  let size: number;
  let fd: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new ModelLoadError(`model path '${path}' is not a file`);
    size = st.size;
    fd = openSync(path, "r");
  } catch (err) {
    if (err instanceof ModelLoadError) throw err;
    throw new ModelLoadError(`cannot open model file '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    const buf = Buffer.alloc(8);
    const bytesRead = readSync(fd, buf, 0, 8, 0);
    if (bytesRead < 8 || buf.toString("latin1", 0, 4) !== "GGUF") {
      throw new ModelLoadError(`'${basename(path)}' is not a GGUF file (bad magic)`);
    }
    const version = buf.readUInt32LE(4);
    if (version < 2 || version > 3) throw new ModelLoadError(`'${basename(path)}' has unsupported GGUF version ${version}`);
  } finally {
    closeSync(fd);
  }
  return size;
}

function vocabSize(model: LlamaModel): number {
  const meta = model.fileInfo.metadata as unknown as Record<string, Record<string, unknown> | undefined>;
  const declared = meta[model.fileInfo.metadata.general.architecture]?.["vocab_size"];
  if (typeof declared === "number") return declared;
  const tokens = (meta["tokenizer"]?.["ggml"] as { tokens?: unknown[] } | undefined)?.tokens;
  return Array.isArray(tokens) ? tokens.length : 0;
}
