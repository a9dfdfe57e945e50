// The router's one question about a model's memory: what will it take? A GGUF model (node and llama-server engines)
// is estimated from its header and its process's command line; a command or a remote server has only what the preset
// key `memory` says. Never throws: a model whose file cannot be read has no estimate (undefined).
import { stat } from "node:fs/promises";
import type { EngineName } from "../../engines/types.js";
import { readGgufSummary, type GgufSummary } from "../../gguf/metadata.js";
import type { ModelSpec } from "../../catalog/catalog.js";
import { estimateMemory, parseArgs, type MemoryEstimate } from "./estimate.js";

export type { MemoryEstimate } from "./estimate.js";

export interface ModelMemoryOptions {
  /** Whether the model's process will use a GPU (see EstimateContext.gpu). Default false. */
  gpu?: boolean;
  /** The router's environment, whose LLAMA_ARG_* variables reach every child (default process.env). */
  env?: NodeJS.ProcessEnv;
}

const cache = new Map<string, Promise<MemoryEstimate | undefined>>();

export async function modelMemoryEstimate(spec: ModelSpec, args: readonly string[], engine: EngineName, opts: ModelMemoryOptions = {}): Promise<MemoryEstimate | undefined> {
  try {
    if (engine === "cmd" || engine === "remote" || !spec.path) return fromPreset(spec);
    const full = [...envArgs({ ...(opts.env ?? process.env), ...spec.env }), ...args];
    const file = await stat(spec.path);
    const key = JSON.stringify([engine, spec.path, file.size, file.mtimeMs, full, opts.gpu === true, spec.memoryBytes]);
    let hit = cache.get(key);
    if (!hit) {
      hit = estimate(spec, full, engine, opts.gpu === true).catch(() => undefined);
      cache.set(key, hit);
      // one entry per model version is plenty; a long-lived router with reloads must not grow it for ever
      if (cache.size > 1024) cache.delete(cache.keys().next().value!);
    }
    return await hit;
  } catch {
    return undefined;
  }
}

async function estimate(spec: ModelSpec, args: string[], engine: "node" | "llama-server", gpu: boolean): Promise<MemoryEstimate | undefined> {
  const summary = await readGgufSummary(spec.path!);
  const a = parseArgs(args);
  const files = [...(a.mmproj ? [a.mmproj] : []), ...(a.draft ? [a.draft] : []), ...a.loras];
  const fileSizes = new Map<string, number>();
  await Promise.all(files.map(async (f) => {
    const size = await stat(f).then((s) => s.size, () => undefined);
    if (size !== undefined) fileSizes.set(f, size);
  }));
  let draft: GgufSummary | undefined;
  if (a.draft) draft = await readGgufSummary(a.draft).catch(() => undefined);
  const e = estimateMemory(summary, args, engine, { gpu, fileSizes, ...(draft ? { draft } : {}) });
  // the preset's figure beats the estimate (for models the estimate gets wrong); it is RAM, the VRAM stays estimated
  if (spec.memoryBytes !== undefined) return { ...e, ram: spec.memoryBytes };
  return e;
}

function fromPreset(spec: ModelSpec): MemoryEstimate | undefined {
  if (spec.memoryBytes === undefined) return undefined;
  return { ram: spec.memoryBytes, vram: 0, parts: { weights: 0, kv: 0, compute: 0, other: spec.memoryBytes } };
}

/** LLAMA_ARG_* variables that size memory, as the flags they stand for (flags on the command line come later and win). */
const ENV_FLAGS: Record<string, string> = {
  LLAMA_ARG_CTX_SIZE: "--ctx-size",
  LLAMA_ARG_N_PARALLEL: "--parallel",
  LLAMA_ARG_N_GPU_LAYERS: "--n-gpu-layers",
  LLAMA_ARG_BATCH: "--batch-size",
  LLAMA_ARG_UBATCH: "--ubatch-size",
  LLAMA_ARG_FLASH_ATTN: "--flash-attn",
  LLAMA_ARG_CACHE_TYPE_K: "--cache-type-k",
  LLAMA_ARG_CACHE_TYPE_V: "--cache-type-v",
  LLAMA_ARG_KV_UNIFIED_PER_SLOT: "--kv-unified-per-slot",
  LLAMA_ARG_CACHE_RAM: "--cache-ram",
  LLAMA_ARG_MMPROJ: "--mmproj",
  LLAMA_ARG_SPEC_DRAFT_MODEL: "--spec-draft-model",
  LLAMA_ARG_POOLING: "--pooling",
};
const ENV_SWITCHES: Record<string, [on: string, off: string | undefined]> = {
  LLAMA_ARG_KV_UNIFIED: ["--kv-unified", "--no-kv-unified"],
  LLAMA_ARG_EMBEDDINGS: ["--embedding", undefined],
  LLAMA_ARG_RERANKING: ["--reranking", undefined],
};

export function envArgs(env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const [k, flag] of Object.entries(ENV_FLAGS)) {
    const v = env[k];
    if (v !== undefined && v !== "") out.push(flag, v);
  }
  for (const [k, [on, off]] of Object.entries(ENV_SWITCHES)) {
    const v = env[k]?.trim().toLowerCase();
    if (v === undefined || v === "") continue;
    if (["1", "true", "on", "yes", "enabled"].includes(v)) out.push(on);
    else if (off) out.push(off);
  }
  return out;
}
