// What a GGUF file's header says about its model (architecture, size, quantization, context, template), read
// without loading the weights: the Ollama dialect's /api/tags, /api/ps and /api/show describe models this way,
// for the router's catalog (models not loaded) as for `corral -m`.
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import {
  gguf, ggufAllShards, GGMLFileQuantizationType, parseGGUFQuantLabel, parseGgufShardFilename, type GGUFParseOutput,
} from "@huggingface/gguf";

export interface GgufSummary {
  architecture: string;
  name?: string;
  /** Over all shards of a split model. */
  parameterCount: number;
  /** general.file_type, llama.cpp's LLAMA_FTYPE number. */
  fileType?: number;
  /** llama.cpp's name of the file type ("Q4_K_M", "F16"), else the quant tag in the file name, else "unknown". */
  quantization: string;
  contextLength?: number;
  embeddingLength?: number;
  blockCount?: number;
  headCount?: number;
  headCountKv?: number;
  chatTemplate?: string;
  /** Tokens in the vocabulary: tokenizer.ggml.tokens' length, else `<arch>.vocab_size`. */
  vocabSize?: number;
  /** Where the tensor data's bytes are, over all shards (for memory estimates); absent when the sizes are unknown. */
  weights?: GgufWeights;
  /** The header's scalar fields (bigints as numbers); arrays (the vocabulary above all) are left out. */
  metadata: Record<string, string | number | boolean>;
}

/** Tensor data bytes grouped as llama.cpp places them on devices (src/router/memory/estimate.ts). */
export interface GgufWeights {
  /** Every tensor: the files' sizes minus their headers. */
  total: number;
  /** Block i's tensors (`blk.<i>.*`), by i. */
  layers: number[];
  /** The output layer: `output.weight` and `output_norm.*`, placed with the last block. */
  output: number;
  /** Everything else (token embeddings above all), which llama.cpp keeps on the CPU. */
  input: number;
}

const cache = new Map<string, { key: string; summary: Promise<GgufSummary> }>();

/**
 * The summary of a GGUF file, read once per version of the file (path, size and mtime). For a split model
 * (`…-00001-of-00003.gguf`) every shard's header is read, to add up the parameters; the metadata is the first's.
 */
export async function readGgufSummary(path: string): Promise<GgufSummary> {
  const st = await stat(path);
  const key = `${st.size}:${st.mtimeMs}`;
  const hit = cache.get(path);
  if (hit?.key === key) return hit.summary;
  const summary = summarize(path);
  cache.set(path, { key, summary });
  // a failure is not cached: the file may be mid-download
  summary.catch(() => {
    if (cache.get(path)?.summary === summary) cache.delete(path);
  });
  return summary;
}

async function summarize(path: string): Promise<GgufSummary> {
  let parsed: GGUFParseOutput & { parameterCount: number };
  try {
    parsed = await gguf(path, { allowLocalFile: true, computeParametersCount: true });
  } catch (err) {
    throw new Error(`${path} is not a readable GGUF file: ${(err as Error).message}`);
  }
  let parameterCount = parsed.parameterCount;
  let shards: Array<{ parsed: GGUFParseOutput; path: string }> = [{ parsed, path }];
  if (parseGgufShardFilename(path)) {
    // a missing shard leaves the first one's count (and no weight sizes): the model will not load anyway, and saying
    // so is not our job
    const all = await ggufAllShards(path, { allowLocalFile: true }).catch(() => undefined);
    if (all) {
      parameterCount = all.parameterCount;
      shards = all.shards.map((p, i) => ({ parsed: p, path: all.urls[i]! }));
    } else {
      shards = [];
    }
  }
  const summary = summaryOf(parsed.metadata as unknown as Record<string, unknown>, parameterCount, basename(path));
  const weights = await weightsOf(shards).catch(() => undefined);
  if (weights) summary.weights = weights;
  return summary;
}

/**
 * Each tensor's bytes are the distance to the next tensor's offset (the last one's: to the end of its file), so
 * no table of ggml type sizes is needed, and alignment padding is counted as llama.cpp's buffers count it.
 */
async function weightsOf(shards: Array<{ parsed: GGUFParseOutput; path: string }>): Promise<GgufWeights | undefined> {
  if (shards.length === 0) return undefined;
  const w: GgufWeights = { total: 0, layers: [], output: 0, input: 0 };
  for (const { parsed, path } of shards) {
    const dataBytes = (await stat(path)).size - Number(parsed.tensorDataOffset);
    const tensors = [...parsed.tensorInfos].sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
    tensors.forEach((t, i) => {
      const end = i + 1 < tensors.length ? Number(tensors[i + 1]!.offset) : dataBytes;
      const bytes = Math.max(0, end - Number(t.offset));
      w.total += bytes;
      const block = /^blk\.(\d+)\./.exec(t.name);
      if (block) {
        const il = Number(block[1]);
        while (w.layers.length <= il) w.layers.push(0);
        w.layers[il]! += bytes;
      } else if (/^output(_norm)?\./.test(t.name)) {
        w.output += bytes;
      } else {
        w.input += bytes;
      }
    });
  }
  return w;
}

/** The summary of parsed header metadata (exported for tests, which have no file for every case). */
export function summaryOf(raw: Record<string, unknown>, parameterCount: number, fileName: string): GgufSummary {
  const metadata: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(raw)) {
    // the parser's own bookkeeping, not header keys
    if (k === "version" || k === "tensor_count" || k === "kv_count") continue;
    if (typeof v === "bigint") metadata[k] = Number(v);
    else if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") metadata[k] = v;
  }
  const architecture = typeof metadata["general.architecture"] === "string" ? metadata["general.architecture"] : "unknown";
  const num = (k: string): number | undefined => (typeof metadata[k] === "number" ? (metadata[k] as number) : undefined);
  const str = (k: string): string | undefined => (typeof metadata[k] === "string" ? (metadata[k] as string) : undefined);
  const fileType = num("general.file_type");
  const s: GgufSummary = {
    architecture,
    parameterCount,
    quantization: quantizationName(fileType, fileName),
    metadata,
  };
  const optional: Array<[keyof GgufSummary, string | number | undefined]> = [
    ["name", str("general.name")],
    ["fileType", fileType],
    ["contextLength", num(`${architecture}.context_length`)],
    ["embeddingLength", num(`${architecture}.embedding_length`)],
    ["blockCount", num(`${architecture}.block_count`)],
    ["headCount", num(`${architecture}.attention.head_count`)],
    ["headCountKv", num(`${architecture}.attention.head_count_kv`)],
    ["chatTemplate", str("tokenizer.chat_template")],
    ["vocabSize", Array.isArray(raw["tokenizer.ggml.tokens"]) ? (raw["tokenizer.ggml.tokens"] as unknown[]).length : num(`${architecture}.vocab_size`)],
  ];
  for (const [k, v] of optional) if (v !== undefined) (s as unknown as Record<string, unknown>)[k] = v;
  return s;
}

function quantizationName(fileType: number | undefined, fileName: string): string {
  const named = fileType !== undefined ? (GGMLFileQuantizationType as unknown as Record<number, string | undefined>)[fileType] : undefined;
  if (named) return named;
  return parseGGUFQuantLabel(fileName)?.toUpperCase() ?? "unknown";
}

/**
 * A parameter count as Ollama writes it (its format.HumanNumber): "8.0B", "494.03M", "135M", "23K". Billions get
 * one decimal, millions two, thousands none, and a whole number none at all.
 */
export function formatParameterSize(n: number): string {
  const scaled = (unit: number, decimals: number, suffix: string) => {
    const v = n / unit;
    return `${v === Math.floor(v) ? v.toFixed(0) : v.toFixed(decimals)}${suffix}`;
  };
  if (n >= 1e9) return scaled(1e9, 1, "B");
  if (n >= 1e6) return scaled(1e6, 2, "M");
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)}K`;
  return String(Math.round(n));
}
