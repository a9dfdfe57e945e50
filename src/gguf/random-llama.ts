// Random-weight llama-architecture GGUF models for tests and benchmarks.
//
// The output is a pure function of the options (byte-identical across runs
// and machines): weights come from a hand-written seeded PRNG, never from
// Math.random, and each tensor is seeded from (seed, tensor name) so changing
// one dimension doesn't reshuffle unrelated tensors. Weights are small
// (uniform in ±0.05) and norms are 1.0, which keeps activations tiny and
// finite: generation produces gibberish, never NaN.

import { DEFAULT_CHAT_TEMPLATE } from "./chat-template.js";
import { buildLlamaVocab, llamaVocabMetadata, MAX_VOCAB_SIZE, RESERVED_TOKEN_COUNT } from "./vocab.js";
import { GgufWriter, gguf, type GgufLayout, type GgufTensorType } from "./writer.js";

/**
 * Bump whenever the bytes produced for the same options change (vocabulary,
 * template, PRNG, tensor order...), so caches keyed on options get invalidated.
 */
export const RANDOM_LLAMA_GENERATOR_VERSION = 1;

export interface RandomLlamaOptions {
    /** PRNG seed, an integer in 0..2^32-1. Default 1. */
    seed?: number;
    /** llama.embedding_length. Default 64. */
    dim?: number;
    /** llama.block_count. Default 2. */
    layers?: number;
    /** Attention heads. Default: dim / headDim with headDim = min(64, dim / 4) (adjusted to divide dim). */
    heads?: number;
    /** KV heads (grouped-query attention when < heads). Default = heads. */
    kvHeads?: number;
    /** llama.feed_forward_length. Default 8/3 * dim rounded up to a multiple of 32. */
    ffnDim?: number;
    /** Default 4096. */
    vocabSize?: number;
    /** llama.context_length (training context). Default 4096. */
    contextLength?: number;
    /** Matrix weight type; norm weights are always F32. Default "f16". */
    fileType?: GgufTensorType;
    /** Jinja chat template; null writes none. Default: ChatML with Hermes-style tools. */
    chatTemplate?: string | null;
    /** general.name. Default derived from the shape and seed. */
    name?: string;
    /** llama.rope.freq_base. Default 10000. */
    ropeTheta?: number;
    /** llama.attention.layer_norm_rms_epsilon. Default 1e-5. */
    rmsEps?: number;
    /**
     * tokenizer.ggml.add_space_prefix. Default true, like LLaMA: llama.cpp then
     * prepends "▁" to the text and to every text fragment that follows a
     * special token, and strips one leading space when detokenizing from the
     * start of a sequence.
     */
    addSpacePrefix?: boolean;
    /**
     * Extra control tokens (e.g. "<think>", "[TOOL_CALLS]"), the last tokens of
     * the vocabulary in place of its least common pieces. Default none.
     */
    controlTokens?: string[];
    /**
     * Token ids [from, to) whose output rows are zero, so that their logit is always 0, below the top-k of any
     * sampler and of greedy decoding: e.g. the non-ASCII byte tokens (ids 133..260), which random text would
     * otherwise end inside a UTF-8 sequence now and then (llama-server answers such output with a 500).
     */
    mutedTokens?: [number, number];
}

export interface ResolvedRandomLlamaOptions {
    seed: number;
    dim: number;
    layers: number;
    heads: number;
    kvHeads: number;
    ffnDim: number;
    vocabSize: number;
    contextLength: number;
    fileType: GgufTensorType;
    chatTemplate: string | null;
    name: string;
    ropeTheta: number;
    rmsEps: number;
    addSpacePrefix: boolean;
    /** Present only when non-empty, so that models without them keep the resolved options (and cache keys) they had. */
    controlTokens?: string[];
    mutedTokens?: [number, number];
}

export interface RandomLlamaModelInfo {
    path: string;
    fileSize: number;
    parameterCount: number;
    options: ResolvedRandomLlamaOptions;
}

export interface RandomLlamaEstimate {
    parameterCount: number;
    /** Exact size of the file writeRandomLlamaModel would produce. */
    fileSize: number;
    /** Header + metadata (mostly the vocabulary) + tensor infos, including alignment padding. */
    headerBytes: number;
    tensorDataBytes: number;
    layout: GgufLayout;
}

const WEIGHT_RANGE = 0.05;
const CHUNK_ELEMENTS = 1 << 18;

function defaultHeads(dim: number): number {
    let headDim = Math.max(2, Math.min(64, Math.floor(dim / 4)));
    // RoPE rotates pairs, so the head size has to be even.
    while (headDim > 2 && (dim % headDim !== 0 || headDim % 2 !== 0))
        headDim--;
    return dim % headDim === 0 ? dim / headDim : 1;
}

function requireInt(name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    if (!Number.isSafeInteger(v) || v < min || v > max)
        throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${String(v)}`);
    return v;
}

/** Applies defaults and checks the shape is one llama.cpp can load. */
export function resolveRandomLlamaOptions(opts: RandomLlamaOptions = {}): ResolvedRandomLlamaOptions {
    const seed = requireInt("seed", opts.seed ?? 1, 0, 0xffffffff);
    const dim = requireInt("dim", opts.dim ?? 64, 2, 1 << 16);
    const layers = requireInt("layers", opts.layers ?? 2, 1, 1024);
    const heads = requireInt("heads", opts.heads ?? defaultHeads(dim), 1, dim);
    const kvHeads = requireInt("kvHeads", opts.kvHeads ?? heads, 1, heads);
    const ffnDim = requireInt("ffnDim", opts.ffnDim ?? Math.ceil((8 * dim) / 3 / 32) * 32, 1, 1 << 20);
    const vocabSize = requireInt("vocabSize", opts.vocabSize ?? 4096, RESERVED_TOKEN_COUNT + 1, MAX_VOCAB_SIZE);
    const contextLength = requireInt("contextLength", opts.contextLength ?? 4096, 1, 0xffffffff);
    const fileType = opts.fileType ?? "f16";
    if (fileType !== "f16" && fileType !== "f32")
        throw new RangeError(`fileType must be "f16" or "f32", got ${JSON.stringify(fileType)}`);
    if (dim % heads !== 0)
        throw new RangeError(`dim (${dim}) must be divisible by heads (${heads})`);
    if ((dim / heads) % 2 !== 0)
        throw new RangeError(`head size dim/heads = ${dim / heads} must be even (RoPE rotates pairs)`);
    if (heads % kvHeads !== 0)
        throw new RangeError(`heads (${heads}) must be divisible by kvHeads (${kvHeads})`);
    const ropeTheta = opts.ropeTheta ?? 10000;
    const rmsEps = opts.rmsEps ?? 1e-5;
    if (!(ropeTheta > 0) || !Number.isFinite(ropeTheta))
        throw new RangeError(`ropeTheta must be a positive number, got ${ropeTheta}`);
    if (!(rmsEps > 0) || !Number.isFinite(rmsEps))
        throw new RangeError(`rmsEps must be a positive number, got ${rmsEps}`);
    const chatTemplate = opts.chatTemplate === undefined ? DEFAULT_CHAT_TEMPLATE : opts.chatTemplate;
    const name = opts.name ?? `corral-random-llama-d${dim}-l${layers}-v${vocabSize}-s${seed}`;
    const addSpacePrefix = opts.addSpacePrefix ?? true;
    const controlTokens = opts.controlTokens ?? [];
    if (controlTokens.length > 0)
        buildLlamaVocab(vocabSize, controlTokens); // checks them (room, duplicates) with the other options
    const muted = opts.mutedTokens;
    if (muted && !(Number.isInteger(muted[0]) && Number.isInteger(muted[1]) && 0 <= muted[0] && muted[0] <= muted[1] && muted[1] <= vocabSize))
        throw new RangeError(`mutedTokens must be a range [from, to) within the vocabulary, got ${JSON.stringify(muted)}`);
    return {
        seed, dim, layers, heads, kvHeads, ffnDim, vocabSize, contextLength, fileType, chatTemplate, name, ropeTheta, rmsEps, addSpacePrefix,
        ...(controlTokens.length > 0 ? { controlTokens: [...controlTokens] } : {}),
        ...(muted ? { mutedTokens: [muted[0], muted[1]] as [number, number] } : {})
    };
}

// ---------------------------------------------------------------------------
// PRNG: xoshiro128** seeded through splitmix32 (both public domain, Vigna et al.)

function splitmix32(state: number): [next: number, out: number] {
    const next = (state + 0x9e3779b9) | 0;
    let z = next;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return [next, (z ^ (z >>> 16)) >>> 0];
}

function fnv1a(text: string): number {
    let h = 0x811c9dc5;
    for (const byte of Buffer.from(text, "utf8"))
        h = Math.imul(h ^ byte, 0x01000193);
    return h >>> 0;
}

function* uniformChunks(count: number, seed: number, tensorName: string, range: number): Generator<Float32Array> {
    let s = (seed ^ Math.imul(fnv1a(tensorName), 0x9e3779b1)) | 0;
    let a: number, b: number, c: number, d: number;
    [s, a] = splitmix32(s);
    [s, b] = splitmix32(s);
    [s, c] = splitmix32(s);
    [s, d] = splitmix32(s);
    if ((a | b | c | d) === 0) // the one state xoshiro cannot leave
        a = 1;

    const buf = new Float32Array(Math.min(count, CHUNK_ELEMENTS));
    const scale = (2 * range) / 2 ** 24;
    for (let done = 0; done < count;) {
        const n = Math.min(buf.length, count - done);
        for (let i = 0; i < n; i++) {
            const x = Math.imul(b, 5);
            const result = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
            const t = b << 9;
            c ^= a;
            d ^= b;
            b ^= c;
            a ^= d;
            c ^= t;
            d = (d << 11) | (d >>> 21);
            // Top 24 bits -> exactly representable float32 steps in [-range, range).
            buf[i] = (result >>> 8) * scale - range;
        }
        done += n;
        yield n === buf.length ? buf : buf.subarray(0, n);
    }
}

/** Zeroes rows [from, to) of a row-major matrix with `cols` columns, streamed in chunks. */
function* zeroRows(chunks: Generator<Float32Array>, cols: number, [from, to]: [number, number]): Generator<Float32Array> {
    let offset = 0;
    for (const chunk of chunks) {
        const start = Math.max(from * cols - offset, 0);
        const end = Math.min(to * cols - offset, chunk.length);
        if (start < end)
            chunk.fill(0, start, end);
        offset += chunk.length;
        yield chunk;
    }
}

// ---------------------------------------------------------------------------

/** Registers all metadata and tensors; data is generated lazily while writing. */
export function buildRandomLlamaWriter(opts: RandomLlamaOptions = {}): { writer: GgufWriter; options: ResolvedRandomLlamaOptions } {
    const o = resolveRandomLlamaOptions(opts);
    const vocab = buildLlamaVocab(o.vocabSize, o.controlTokens);
    const headDim = o.dim / o.heads;
    const writer = new GgufWriter();

    writer
        .set("general.architecture", gguf.str("llama"))
        .set("general.name", gguf.str(o.name))
        .set("general.file_type", gguf.u32(o.fileType === "f32" ? 0 : 1))
        .set("llama.vocab_size", gguf.u32(o.vocabSize))
        .set("llama.context_length", gguf.u32(o.contextLength))
        .set("llama.embedding_length", gguf.u32(o.dim))
        .set("llama.block_count", gguf.u32(o.layers))
        .set("llama.feed_forward_length", gguf.u32(o.ffnDim))
        .set("llama.rope.dimension_count", gguf.u32(headDim))
        .set("llama.attention.head_count", gguf.u32(o.heads))
        .set("llama.attention.head_count_kv", gguf.u32(o.kvHeads))
        .set("llama.attention.layer_norm_rms_epsilon", gguf.f32(o.rmsEps))
        .set("llama.rope.freq_base", gguf.f32(o.ropeTheta));
    for (const [key, value] of llamaVocabMetadata(vocab))
        writer.set(key, value);
    writer.set("tokenizer.ggml.add_space_prefix", gguf.bool(o.addSpacePrefix));
    if (o.chatTemplate != null)
        writer.set("tokenizer.chat_template", gguf.str(o.chatTemplate));

    const matrix = (name: string, cols: number, rows: number) => {
        writer.addTensor({
            name,
            dims: [cols, rows],
            type: o.fileType,
            data: () => uniformChunks(cols * rows, o.seed, name, WEIGHT_RANGE)
        });
    };
    // ggml's CPU kernels want norm weights in F32 regardless of the file type.
    const norm = (name: string) => {
        writer.addTensor({ name, dims: [o.dim], type: "f32", data: new Float32Array(o.dim).fill(1) });
    };

    const kvDim = o.kvHeads * headDim;
    matrix("token_embd.weight", o.dim, o.vocabSize);
    for (let i = 0; i < o.layers; i++) {
        norm(`blk.${i}.attn_norm.weight`);
        matrix(`blk.${i}.attn_q.weight`, o.dim, o.dim);
        matrix(`blk.${i}.attn_k.weight`, o.dim, kvDim);
        matrix(`blk.${i}.attn_v.weight`, o.dim, kvDim);
        matrix(`blk.${i}.attn_output.weight`, o.dim, o.dim);
        norm(`blk.${i}.ffn_norm.weight`);
        matrix(`blk.${i}.ffn_gate.weight`, o.dim, o.ffnDim);
        matrix(`blk.${i}.ffn_up.weight`, o.dim, o.ffnDim);
        matrix(`blk.${i}.ffn_down.weight`, o.ffnDim, o.dim);
    }
    norm("output_norm.weight");
    const muted = o.mutedTokens;
    writer.addTensor({
        name: "output.weight",
        dims: [o.dim, o.vocabSize],
        type: o.fileType,
        data: () => muted ? zeroRows(uniformChunks(o.dim * o.vocabSize, o.seed, "output.weight", WEIGHT_RANGE), o.dim, muted) : uniformChunks(o.dim * o.vocabSize, o.seed, "output.weight", WEIGHT_RANGE)
    });

    return { writer, options: o };
}

/** Writes the model to `path` (overwriting it). Not atomic: write to a temporary name and rename if readers may race. */
export async function writeRandomLlamaModel(path: string, opts: RandomLlamaOptions = {}): Promise<RandomLlamaModelInfo> {
    const { writer, options } = buildRandomLlamaWriter(opts);
    const layout = await writer.write(path);
    return { path, fileSize: layout.fileSize, parameterCount: countParameters(layout), options };
}

/** Parameter count and the exact file size, without generating any weights (cheap: builds only the vocabulary). */
export function estimateRandomLlamaModel(opts: RandomLlamaOptions = {}): RandomLlamaEstimate {
    const layout = buildRandomLlamaWriter(opts).writer.layout();
    return {
        parameterCount: countParameters(layout),
        fileSize: layout.fileSize,
        headerBytes: layout.dataOffset,
        tensorDataBytes: layout.tensorDataBytes,
        layout
    };
}

function countParameters(layout: GgufLayout): number {
    let n = 0;
    for (const t of layout.tensors)
        n += t.elementCount;
    return n;
}
