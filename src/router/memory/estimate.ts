// How much memory a model process will take, from its GGUF header and its command line, before it is started: the
// router admits and evicts by it. Pure: the header summary, the arguments and the sizes of other files are given.
//
// The model follows llama.cpp (the version node-llama-cpp 3.21.1 ships, which `corral engine build` compiles):
//   weights  the tensor data (mmapped file pages, or buffers with --no-mmap or repacking: the same bytes)
//   kv       n_layer × cells × (row(type_k, n_embd_k_gqa) + row(type_v, n_embd_v_gqa)), cells as llama_context pads
//            them (llama-context.cpp: n_ctx to a multiple of 256; without a unified cache, each sequence's share too)
//   compute  what the worst-case batch touches: activations of n_ubatch tokens, the attention mask (or without flash
//            attention the KQ matrix), the CPU backend's matmul work buffer, the output rows
//   other    the process itself: a fixed part per engine and llama_vocab's tables
// Reserved-but-never-touched memory is not counted: node-llama-cpp reserves logits for a whole batch (n_outputs_max
// = n_batch: 250 MB for a 32k vocabulary at n_batch 2048) but asks for one row, and untouched pages cost no RAM.
// The constants come from measurements on a 2-vCPU x86-64 VM; test/router/memory/calibration.test.ts checks them
// against real processes of both engines and prints the comparison.
import { ACCEPTED_UNIMPLEMENTED, OPTIONS } from "../../options/options.js";
import type { GgufSummary } from "../../gguf/metadata.js";

export interface MemoryEstimate {
  /** Bytes of RAM. */
  ram: number;
  /** Bytes of GPU memory, over every GPU. */
  vram: number;
  /** Where the bytes go (RAM and VRAM together). */
  parts: { weights: number; kv: number; compute: number; other: number };
}

export type EstimateEngine = "node" | "llama-server";

export interface EstimateContext {
  /** Whether the process will see a GPU: without one, llama.cpp offloads nothing whatever -ngl says. Default false. */
  gpu?: boolean;
  /** Sizes of the other files the arguments name (--mmproj, -md, --lora), by the path as written there. */
  fileSizes?: ReadonlyMap<string, number>;
  /** The draft model's header (-md), for its KV cache and compute buffer. */
  draft?: GgufSummary;
}

const MiB = 1024 * 1024;

/**
 * Fixed RAM of a process beyond its llama.cpp buffers, measured (anonymous pages after a full-batch prompt, less
 * weights, KV, compute and vocabulary): llama-server 2.4-4.2 MiB over five generated models; a node model server
 * (V8 heap, node-llama-cpp's JS side, corral) 41-46 MiB. The upper ends are taken.
 */
export const PROCESS_OVERHEAD: Record<EstimateEngine, number> = { "llama-server": 5 * MiB, node: 46 * MiB };
/** llama_vocab's tables per token (measured: 224 B/token between 2k- and 32k-token vocabularies). */
export const VOCAB_BYTES_PER_TOKEN = 224;
/**
 * A CUDA (or other GPU) context and its libraries' workspaces, per process per GPU. Not measured here (no GPU on the
 * calibration machine): CUDA contexts commonly take 250-500 MiB.
 */
export const GPU_CONTEXT_OVERHEAD = 400 * MiB;

/** llama-server's --cache-ram default, in MiB. */
export const DEFAULT_CACHE_RAM_MIB = 8192;

/** Bytes per element of each KV cache type (a block's bytes over its 32 elements for quantized types). */
const CACHE_TYPE_BYTES: Record<string, number> = {
  f32: 4, f16: 2, bf16: 2, q8_0: 34 / 32, q4_0: 18 / 32, q4_1: 20 / 32, iq4_nl: 18 / 32, q5_0: 22 / 32, q5_1: 24 / 32,
};

/** llama.cpp's defaults where corral's node engine has its own (the options table's DEFAULTS). */
const ENGINE_DEFAULTS: Record<EstimateEngine, { ctx: number | "train"; batch: number; ubatch: number }> = {
  // llama-server: -c 0 is the training context; -b 2048, -ub 512
  "llama-server": { ctx: "train", batch: 2048, ubatch: 512 },
  // corral's model server: -c 4096, -b 2048, and node-llama-cpp uses the batch size as the ubatch size
  node: { ctx: 4096, batch: 2048, ubatch: 2048 },
};

export function estimateMemory(s: GgufSummary, args: readonly string[], engine: EstimateEngine, ctx: EstimateContext = {}): MemoryEstimate {
  const a = parseArgs(args);
  const shape = shapeOf(s);
  const layout = contextLayout(a, shape, engine);
  const ngl = offloadedLayers(a.ngl, engine, shape.nLayer, ctx.gpu === true);

  const weights = weightsSplit(s, shape, ngl);
  const row = kvRowBytes(shape, a.typeK, a.typeV);
  const kvLayers = layerCells(shape, layout, a.swaFull).map((cells) => cells * row);
  const kv = kvLayers.reduce((x, y) => x + y, 0);
  // the offloaded blocks are the last ngl - 1 (the output layer is the other one)
  const gpuBlocks = Math.max(0, Math.min(ngl, shape.nLayer + 1) - 1);
  const kvVram = a.noKvOffload ? 0 : kvLayers.slice(shape.nLayer - gpuBlocks).reduce((x, y) => x + y, 0);
  const compute = computeBytes(shape, layout, a, s);
  const outputs = shape.nVocab * layout.nSeq * 4;
  const other = PROCESS_OVERHEAD[engine] + shape.nVocab * VOCAB_BYTES_PER_TOKEN;

  let ram = weights.ram + (kv - kvVram) + other + outputs;
  let vram = weights.vram + kvVram;
  if (ngl > 0) {
    // the graph runs on the GPU; the CPU keeps the input embeddings' rows
    vram += compute + GPU_CONTEXT_OVERHEAD;
    ram += layout.nUbatch * shape.nEmbd * 4 * 2;
  } else {
    ram += compute;
  }
  let extraWeights = 0;
  let extraKv = 0;
  let extraCompute = 0;

  // node: --embedding and --rerank each create one more context of a slot's size
  if (engine === "node") {
    const extraContexts = (a.embedding ? 1 : 0) + (a.reranking || (a.embedding && a.pooling === "rank") ? 1 : 0);
    if (extraContexts > 0) {
      const one: Layout = { ...layout, cells: pad(layout.nCtxSeq, 256), nCtxSeq: pad(layout.nCtxSeq, 256), nSeq: 1, nUbatch: Math.min(layout.nUbatch, layout.nCtxSeq) };
      extraKv += extraContexts * layerCells(shape, one, a.swaFull).reduce((x, cells) => x + cells * row, 0);
      extraCompute += extraContexts * computeBytes(shape, one, a, s);
    }
  }
  for (const file of [...(a.mmproj && !a.noMmproj ? [a.mmproj] : []), ...a.loras]) {
    extraWeights += ctx.fileSizes?.get(file) ?? 0;
  }
  if (a.draft) {
    if (ctx.draft) {
      const d = shapeOf(ctx.draft);
      extraWeights += ctx.draft.weights?.total ?? ctx.fileSizes?.get(a.draft) ?? 0;
      // the draft context follows the main one's cells and slots
      const draftRow = kvRowBytes(d, a.typeKDraft ?? "f16", a.typeVDraft ?? "f16");
      extraKv += layerCells(d, layout, a.swaFull).reduce((x, cells) => x + cells * draftRow, 0);
      extraCompute += computeBytes(d, layout, a, ctx.draft) + d.nVocab * layout.nSeq * 4;
    } else {
      extraWeights += ctx.fileSizes?.get(a.draft) ?? 0;
    }
  }
  // the extras are counted in RAM: offloading a projector or a draft model is not modelled
  ram += extraWeights + extraKv + extraCompute;
  // llama-server's prompt cache in host RAM grows to --cache-ram MiB: 8192 by default (the router passes 0 unless
  // asked otherwise); -1 has no limit, and is counted as the default
  const cacheRam = a.cacheRamMiB === undefined || a.cacheRamMiB < 0 ? DEFAULT_CACHE_RAM_MIB : a.cacheRamMiB;
  const promptCache = engine === "llama-server" ? cacheRam * MiB : 0;
  ram += promptCache;

  return {
    ram: Math.ceil(ram),
    vram: Math.ceil(vram),
    parts: {
      weights: Math.ceil(weights.ram + weights.vram + extraWeights),
      kv: Math.ceil(kv + extraKv),
      compute: Math.ceil(compute + outputs + extraCompute),
      other: Math.ceil(other + promptCache + (ngl > 0 ? GPU_CONTEXT_OVERHEAD + layout.nUbatch * shape.nEmbd * 8 : 0)),
    },
  };
}

// ---- the model's shape -------------------------------------------------------------------------------------------

export interface ModelShape {
  nLayer: number;
  nEmbd: number;
  nHead: number;
  nHeadKv: number;
  nEmbdKGqa: number;
  nEmbdVGqa: number;
  /** Feed-forward width per token (for MoE: the experts used, plus shared ones). */
  nFf: number;
  nVocab: number;
  nCtxTrain: number;
  /** Sliding-window attention: the window, and which blocks use it (by index); absent for full attention only. */
  swa?: { window: number; layers: boolean[] };
}

/**
 * Architectures whose blocks mix sliding-window and full attention, as llama.cpp's src/models/<arch>.cpp set them up:
 * the default period (`<arch>.attention.sliding_window_pattern` overrides it; block il uses the window when
 * il % period < period - 1), the default window where the header may omit it, and whether the header must have a
 * non-zero window for any of it to apply. Other architectures are counted with a full-size cache for every block
 * (an overestimate for the ones with windows llama.cpp knows and this table does not).
 */
const SWA_ARCHS: Record<string, { period: number; window?: number; needsKey?: boolean }> = {
  gemma2: { period: 2, window: 4096 },
  gemma3: { period: 6, needsKey: true },
  cohere2: { period: 4 },
  "gpt-oss": { period: 2 },
  olmo2: { period: 4, needsKey: true },
  // chunked attention: the chunk works as the window does here
  llama4: { period: 4, window: 8192 },
};

export function shapeOf(s: GgufSummary): ModelShape {
  const arch = s.architecture;
  const num = (k: string): number | undefined => {
    const v = s.metadata[`${arch}.${k}`];
    return typeof v === "number" && Number.isFinite(v) ? v : undefined;
  };
  const nLayer = s.blockCount ?? num("block_count") ?? s.weights?.layers.length ?? 0;
  const nEmbd = s.embeddingLength ?? num("embedding_length") ?? 0;
  const nHead = s.headCount ?? num("attention.head_count") ?? 1;
  const nHeadKv = s.headCountKv ?? num("attention.head_count_kv") ?? nHead;
  const headK = num("attention.key_length") ?? (nHead > 0 ? nEmbd / nHead : 0);
  const headV = num("attention.value_length") ?? headK;
  const expertFf = num("expert_feed_forward_length");
  const expertsUsed = num("expert_used_count");
  const sharedFf = num("expert_shared_feed_forward_length") ?? 0;
  const denseFf = num("feed_forward_length") ?? 4 * nEmbd;
  const nFf = expertFf && expertsUsed ? expertFf * expertsUsed + sharedFf : denseFf;
  const shape: ModelShape = {
    nLayer, nEmbd, nHead, nHeadKv, nEmbdKGqa: headK * nHeadKv, nEmbdVGqa: headV * nHeadKv, nFf,
    nVocab: s.vocabSize ?? num("vocab_size") ?? 0,
    nCtxTrain: s.contextLength ?? num("context_length") ?? 4096,
  };
  const swa = SWA_ARCHS[arch];
  const key = num("attention.sliding_window");
  // llama4: a window of 0 in the header turns it off; gemma3, olmo2: no window in the header, none at all
  const window = key !== undefined ? (arch === "llama4" && key === 0 ? 0 : key) : swa?.needsKey ? 0 : swa?.window;
  if (swa && window && window > 0) {
    const period = num("attention.sliding_window_pattern") ?? swa.period;
    shape.swa = { window, layers: Array.from({ length: nLayer }, (_, il) => period === 0 || il % period < period - 1) };
  }
  return shape;
}

/**
 * KV cells of each block. A sliding-window block keeps only the window and one ubatch
 * (llama-kv-cache-iswa.cpp: min(cells, n_swa × n_seq + n_ubatch) in a unified cache, per sequence otherwise,
 * padded to 256), unless --swa-full.
 */
function layerCells(shape: ModelShape, layout: Layout, swaFull: boolean): number[] {
  const swa = shape.swa;
  let swaCells = layout.cells;
  if (swa && !swaFull) {
    swaCells = layout.unified
      ? pad(Math.min(layout.cells, swa.window * layout.nSeq + layout.nUbatch), 256)
      : pad(Math.min(layout.nCtxSeq, swa.window + layout.nUbatch), 256) * layout.nSeq;
  }
  return Array.from({ length: shape.nLayer }, (_, il) => (swa?.layers[il] ? swaCells : layout.cells));
}

// ---- the command line --------------------------------------------------------------------------------------------

export interface ParsedArgs {
  /** -c as given (0 = the training context). */
  ctx?: number;
  parallel?: number;
  kvUnified?: boolean;
  kvUnifiedPerSlot?: number;
  /** -ngl: a number (-1 = all), "all" or "auto". */
  ngl?: number | "all" | "auto";
  typeK: string;
  typeV: string;
  typeKDraft?: string;
  typeVDraft?: string;
  flashAttn: "on" | "off" | "auto";
  batch?: number;
  ubatch?: number;
  mmproj?: string;
  noMmproj: boolean;
  draft?: string;
  loras: string[];
  embedding: boolean;
  reranking: boolean;
  pooling?: string;
  noKvOffload: boolean;
  cacheRamMiB?: number;
  swaFull: boolean;
}

const VALUED: Record<string, (p: ParsedArgs, v: string) => void> = {};
const FLAGS: Record<string, (p: ParsedArgs) => void> = {};
function valued(names: string[], set: (p: ParsedArgs, v: string) => void): void {
  for (const n of names) VALUED[n] = set;
}
function flag(names: string[], set: (p: ParsedArgs) => void): void {
  for (const n of names) FLAGS[n] = set;
}
const int = (v: string): number | undefined => (/^-?\d+$/.test(v.trim()) ? Number(v.trim()) : undefined);
valued(["-c", "--ctx-size"], (p, v) => (p.ctx = int(v) ?? p.ctx));
valued(["-np", "--parallel"], (p, v) => (p.parallel = int(v) ?? p.parallel));
valued(["--kv-unified-per-slot"], (p, v) => (p.kvUnifiedPerSlot = int(v) ?? p.kvUnifiedPerSlot));
valued(["-ngl", "--gpu-layers", "--n-gpu-layers"], (p, v) => {
  const t = v.trim();
  p.ngl = t === "all" || t === "auto" ? t : int(t) ?? p.ngl;
});
valued(["-ctk", "--cache-type-k"], (p, v) => (p.typeK = v.trim().toLowerCase()));
valued(["-ctv", "--cache-type-v"], (p, v) => (p.typeV = v.trim().toLowerCase()));
valued(["-ctkd", "--cache-type-k-draft", "--spec-draft-type-k"], (p, v) => (p.typeKDraft = v.trim().toLowerCase()));
valued(["-ctvd", "--cache-type-v-draft", "--spec-draft-type-v"], (p, v) => (p.typeVDraft = v.trim().toLowerCase()));
valued(["-b", "--batch-size"], (p, v) => (p.batch = int(v) ?? p.batch));
valued(["-ub", "--ubatch-size"], (p, v) => (p.ubatch = int(v) ?? p.ubatch));
valued(["-mm", "--mmproj"], (p, v) => (p.mmproj = v));
valued(["-md", "--model-draft", "--spec-draft-model"], (p, v) => (p.draft = v));
valued(["--lora"], (p, v) => p.loras.push(...v.split(",").filter(Boolean)));
valued(["--pooling"], (p, v) => (p.pooling = v.trim()));
valued(["-cram", "--cache-ram"], (p, v) => (p.cacheRamMiB = int(v) ?? p.cacheRamMiB));
flag(["-kvu", "--kv-unified"], (p) => (p.kvUnified = true));
flag(["-no-kvu", "--no-kv-unified"], (p) => (p.kvUnified = false));
flag(["--no-mmproj"], (p) => (p.noMmproj = true));
flag(["--embedding", "--embeddings"], (p) => (p.embedding = true));
flag(["--rerank", "--reranking"], (p) => (p.reranking = true));
flag(["-nkvo", "--no-kv-offload"], (p) => (p.noKvOffload = true));
flag(["-kvo", "--kv-offload"], (p) => (p.noKvOffload = false));
flag(["--swa-full"], (p) => (p.swaFull = true));

/** Every other flag known to take values (corral's table, llama-server's flags it lists), so that a value is never read as a flag. */
const OTHER_ARITY = new Map<string, number>();
for (const o of OPTIONS) if (o.type !== "bool") for (const n of o.names) OTHER_ARITY.set(n, 1);
for (const [n, arity] of Object.entries(ACCEPTED_UNIMPLEMENTED)) if (arity > 0) OTHER_ARITY.set(n, arity);

const FA_VALUES: Record<string, "on" | "off" | "auto"> = {
  on: "on", off: "off", auto: "auto", true: "on", false: "off", "1": "on", "0": "off", enabled: "on", disabled: "off",
};

/**
 * The flags that size memory, as llama.cpp reads them: `--flag value` or `--flag=value`, the last one winning
 * (lists accumulate). Everything else is skipped.
 */
export function parseArgs(args: readonly string[]): ParsedArgs {
  const p: ParsedArgs = { typeK: "f16", typeV: "f16", flashAttn: "auto", noMmproj: false, loras: [], embedding: false, reranking: false, noKvOffload: false, swaFull: false };
  for (let i = 0; i < args.length; i++) {
    const tok = args[i]!;
    const eq = tok.startsWith("-") ? tok.indexOf("=") : -1;
    const name = eq > 0 ? tok.slice(0, eq) : tok;
    const inline = eq > 0 ? tok.slice(eq + 1) : undefined;
    if (name === "-fa" || name === "--flash-attn") {
      // the value is optional in llama.cpp (-fa alone turns it on)
      const next = inline ?? args[i + 1];
      const v = next !== undefined ? FA_VALUES[next.trim().toLowerCase()] : undefined;
      if (v && inline === undefined) i++;
      p.flashAttn = v ?? "on";
    } else if (name === "--lora-scaled") {
      // FILE:SCALE[,…], or the older two-argument form FILE SCALE
      const v = inline ?? args[++i] ?? "";
      if (!v.includes(":") && inline === undefined && args[i + 1] !== undefined && /^[\d.]+$/.test(args[i + 1]!)) {
        p.loras.push(v);
        i++;
      } else {
        for (const item of v.split(",")) if (item) p.loras.push(item.slice(0, item.lastIndexOf(":") > 0 ? item.lastIndexOf(":") : item.length));
      }
    } else if (VALUED[name]) {
      const v = inline ?? args[++i];
      if (v !== undefined) VALUED[name](p, v);
    } else if (FLAGS[name] && inline === undefined) {
      FLAGS[name](p);
    } else if (inline === undefined && OTHER_ARITY.has(name)) {
      i += OTHER_ARITY.get(name)!;
    }
  }
  return p;
}

// ---- the context --------------------------------------------------------------------------------------------------

export interface Layout {
  /** KV cells over every sequence (n_ctx after llama_context's padding). */
  cells: number;
  /** Cells one sequence sees (n_ctx_seq): the attention mask's width. */
  nCtxSeq: number;
  /** Sequences (slots): n_seq_max. */
  nSeq: number;
  nUbatch: number;
  /** One cache shared by every sequence (llama-server's default), or one per sequence. */
  unified: boolean;
}

const pad = (n: number, to: number): number => Math.ceil(n / to) * to;

/** n_ctx, n_ctx_seq, n_seq_max and n_ubatch as each engine ends up giving them to llama_context. */
export function contextLayout(a: ParsedArgs, shape: ModelShape, engine: EstimateEngine): Layout {
  const d = ENGINE_DEFAULTS[engine];
  const train = shape.nCtxTrain;
  let nSeq: number;
  let unified: boolean;
  let nCtx: number;
  if (engine === "llama-server") {
    // llama-server: -np unset ("auto") is 4 slots sharing one unified cache
    const auto = a.parallel === undefined || a.parallel < 0;
    nSeq = auto ? 4 : Math.max(1, a.parallel!);
    unified = a.kvUnified ?? auto;
    // -c unset with --kv-unified-per-slot sizes the pool to slots × N (an explicit -c, even 0, wins)
    if (a.ctx === undefined && a.kvUnifiedPerSlot !== undefined && a.kvUnifiedPerSlot > 0) nCtx = nSeq * a.kvUnifiedPerSlot;
    else nCtx = a.ctx === undefined || a.ctx <= 0 ? train : a.ctx;
  } else {
    // src/model-server/engine/engine.ts: each slot gets its own cache of total / slots tokens (all of it with --kv-unified);
    // node-llama-cpp never unifies, so llama_context sees slots × that
    nSeq = Math.max(1, a.parallel ?? 1);
    unified = false;
    const total = a.ctx === undefined ? (d.ctx === "train" ? train : d.ctx) : a.ctx <= 0 ? train : a.ctx;
    const perSlot = Math.max(16, a.kvUnified ? total : Math.floor(total / nSeq));
    nCtx = perSlot * nSeq;
  }
  // llama-context.cpp: n_ctx is padded to 256; without a unified cache each sequence's share is padded again
  let cells = pad(Math.max(1, nCtx), 256);
  let nCtxSeq = cells;
  if (!unified) {
    nCtxSeq = pad(Math.floor(cells / nSeq), 256);
    cells = nCtxSeq * nSeq;
  }
  const batchGiven = a.batch ?? d.batch;
  let nBatch: number;
  let nUbatch: number;
  if (engine === "node") {
    // src/model-server/engine/engine.ts caps the batch at the context; node-llama-cpp makes ubatch = batch
    nBatch = Math.max(Math.min(batchGiven, cells), nSeq);
    nUbatch = nBatch;
  } else {
    nBatch = batchGiven;
    nUbatch = Math.min(nBatch, a.ubatch ?? d.ubatch);
    // server.cpp: embeddings need the whole input in one ubatch
    if (a.embedding && nBatch > nUbatch) nBatch = nUbatch;
  }
  // causal attention: llama_context caps the batch at n_ctx
  nUbatch = Math.min(nUbatch, nBatch, cells);
  return { cells, nCtxSeq, nSeq, nUbatch, unified };
}

// ---- the parts ----------------------------------------------------------------------------------------------------

/** One layer's K and V bytes per cell. */
function kvRowBytes(shape: ModelShape, typeK: string, typeV: string): number {
  return shape.nEmbdKGqa * (CACHE_TYPE_BYTES[typeK] ?? 2) + shape.nEmbdVGqa * (CACHE_TYPE_BYTES[typeV] ?? 2);
}

/**
 * The compute buffer a full ubatch touches, fitted to llama.cpp's reported CPU compute buffers (exact to 0.1 MiB
 * on five generated shapes, ubatch 64-2048, context 1k-16k):
 *   activations  n_ubatch × (3·n_ff + 4·n_embd) f32
 *   mask         n_ctx_seq × n_ubatch f16 (flash attention); without it the KQ scores n_ctx_seq × n_ubatch × n_head
 *                f32, and the f32 mask where it is larger than the activations it overlaps
 *   work         the CPU backend converts matmul inputs to the weights' dot type: n_ubatch × n_ff × 2 (none for f32)
 */
function computeBytes(shape: ModelShape, layout: Layout, a: ParsedArgs, s: GgufSummary): number {
  const ub = layout.nUbatch;
  const activations = ub * (3 * shape.nFf + 4 * shape.nEmbd) * 4;
  // quantized K or V needs flash attention; "auto" turns it on wherever the backend has it (the CPU has)
  const flash = a.flashAttn !== "off";
  const attention = flash ? layout.nCtxSeq * ub * 2 : layout.nCtxSeq * ub * shape.nHead * 4 + Math.max(0, layout.nCtxSeq * ub * 4 - activations);
  // sliding-window blocks have a mask of their own, as wide as their cache
  const swaMask = shape.swa && !a.swaFull ? Math.min(layout.nCtxSeq, shape.swa.window + ub) * ub * (flash ? 2 : 4) : 0;
  const work = s.fileType === 0 ? 0 : ub * shape.nFf * 2;
  return activations + attention + swaMask + work;
}

/** Layers on the GPU as llama-model.cpp counts them: the output layer counts as one more, and goes first. */
function offloadedLayers(ngl: ParsedArgs["ngl"], engine: EstimateEngine, nLayer: number, gpu: boolean): number {
  if (!gpu) return 0;
  // llama-server's -ngl default is "auto", which without --fit offloads everything; corral's node engine offloads
  // nothing unless asked
  const v = ngl ?? (engine === "llama-server" ? "auto" : 0);
  if (v === "all" || v === "auto" || v < 0) return nLayer + 1;
  return Math.min(v, nLayer + 1);
}

/**
 * Weights in RAM and VRAM. With N layers offloaded llama.cpp puts the output layer and the last N-1 blocks on the GPU
 * (llama-model.cpp: i_gpu_start = n_layer + 1 - N); the token embeddings always stay on the CPU.
 */
function weightsSplit(s: GgufSummary, shape: ModelShape, ngl: number): { ram: number; vram: number } {
  const w = s.weights;
  if (!w) {
    // no tensor sizes (an unreadable shard): the parameters at the file type's rough width, all in RAM
    return { ram: s.parameterCount * 2, vram: 0 };
  }
  if (ngl <= 0) return { ram: w.total, vram: 0 };
  const firstGpu = shape.nLayer + 1 - ngl;
  let vram = w.output;
  w.layers.forEach((bytes, i) => {
    if (i >= firstGpu) vram += bytes;
  });
  return { ram: w.total - vram, vram };
}
