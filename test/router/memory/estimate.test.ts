import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { GgufSummary } from "../../../src/gguf/metadata.js";
import {
  estimateMemory, parseArgs, GPU_CONTEXT_OVERHEAD, PROCESS_OVERHEAD, VOCAB_BYTES_PER_TOKEN,
} from "../../../src/router/memory/estimate.js";

const MiB = 1024 * 1024;

/** 8 blocks of 768, 12 heads over 4 KV heads (head size 64: n_embd_k_gqa = n_embd_v_gqa = 256), FFN 2048, 32k vocabulary. */
function shape(over: Partial<GgufSummary> = {}): GgufSummary {
  return {
    architecture: "llama", parameterCount: 100e6, fileType: 1, quantization: "F16",
    contextLength: 4096, embeddingLength: 768, blockCount: 8, headCount: 12, headCountKv: 4, vocabSize: 32000,
    metadata: { "general.architecture": "llama", "llama.feed_forward_length": 2048 },
    weights: { total: 1000, layers: [100, 100, 100, 100, 100, 100, 100, 100], output: 150, input: 50 },
    ...over,
  };
}

/** K and V rows of one layer per cell at f16: 2 × 256 × 2 bytes. */
const F16_ROW = 1024;
const activations = (ub: number) => ub * (3 * 2048 + 4 * 768) * 4;
const flashMask = (nCtxSeq: number, ub: number) => nCtxSeq * ub * 2;
const work = (ub: number) => ub * 2048 * 2;
/** llama-server as the router starts it: no prompt cache (src/engines/llama-server/backend.ts). */
const LS = (...args: string[]) => ["--cache-ram", "0", ...args];
const other = (engine: "node" | "llama-server") => PROCESS_OVERHEAD[engine] + 32000 * VOCAB_BYTES_PER_TOKEN;

describe("estimateMemory: llama-server", () => {
  test("defaults: the training context, 4 slots sharing one unified cache, ubatch 512", () => {
    const e = estimateMemory(shape(), LS(), "llama-server");
    const kv = 8 * 4096 * F16_ROW;
    const compute = activations(512) + flashMask(4096, 512) + work(512);
    const outputs = 32000 * 4 * 4;
    assert.equal(e.parts.kv, kv);
    assert.equal(e.parts.kv, 32 * MiB);
    assert.equal(e.parts.compute, compute + outputs);
    assert.equal(e.parts.weights, 1000);
    assert.equal(e.parts.other, other("llama-server"));
    assert.equal(e.ram, 1000 + kv + compute + outputs + other("llama-server"));
    assert.equal(e.vram, 0);
    assert.equal(e.parts.weights + e.parts.kv + e.parts.compute + e.parts.other, e.ram);
  });

  test("-c is padded to 256 cells; -c 0 is the training context", () => {
    assert.equal(estimateMemory(shape(), LS("-c", "5000"), "llama-server").parts.kv, 8 * 5120 * F16_ROW);
    assert.equal(estimateMemory(shape({ contextLength: 32768 }), LS("--ctx-size", "0"), "llama-server").parts.kv, 8 * 32768 * F16_ROW);
    assert.equal(estimateMemory(shape(), LS("--ctx-size=1024"), "llama-server").parts.kv, 8 * 1024 * F16_ROW);
  });

  test("separate slot caches: each slot's share is padded (-np 3 -c 4096: 3 × 1536 cells), the mask is one share wide", () => {
    const e = estimateMemory(shape(), LS("-c", "4096", "-np", "3", "--no-kv-unified"), "llama-server");
    assert.equal(e.parts.kv, 8 * 4608 * F16_ROW);
    assert.equal(e.parts.compute, activations(512) + flashMask(1536, 512) + work(512) + 32000 * 3 * 4);
    // an explicit -np alone keeps llama.cpp's default of separate caches
    assert.equal(estimateMemory(shape(), LS("-c", "4096", "-np", "3"), "llama-server").parts.kv, 8 * 4608 * F16_ROW);
    assert.equal(estimateMemory(shape(), LS("-c", "4096", "-np", "3", "-kvu"), "llama-server").parts.kv, 8 * 4096 * F16_ROW);
  });

  test("--kv-unified-per-slot sizes the pool when -c is not given", () => {
    assert.equal(estimateMemory(shape(), LS("-np", "2", "-kvu", "--kv-unified-per-slot", "1000"), "llama-server").parts.kv, 8 * 2048 * F16_ROW);
    assert.equal(estimateMemory(shape(), LS("-c", "0", "--kv-unified-per-slot", "1000"), "llama-server").parts.kv, 8 * 4096 * F16_ROW);
  });

  test("cache types: bytes per element of each ggml type (q8_0 34/32, q4_0 18/32, f32 4)", () => {
    assert.equal(estimateMemory(shape(), LS("-ctk", "q8_0", "-ctv", "q4_0"), "llama-server").parts.kv, 8 * 4096 * (272 + 144));
    assert.equal(estimateMemory(shape(), LS("--cache-type-k", "f32", "--cache-type-v", "f32"), "llama-server").parts.kv, 8 * 4096 * 2048);
  });

  test("-ub and -b size the compute buffer (ubatch = min(b, ub)); -fa off adds the KQ scores", () => {
    assert.equal(estimateMemory(shape(), LS("-ub", "128"), "llama-server").parts.compute, activations(128) + flashMask(4096, 128) + work(128) + 512000);
    assert.equal(estimateMemory(shape(), LS("-b", "256"), "llama-server").parts.compute, activations(256) + flashMask(4096, 256) + work(256) + 512000);
    const off = estimateMemory(shape(), LS("-fa", "off"), "llama-server").parts.compute;
    assert.equal(off, activations(512) + 4096 * 512 * 12 * 4 + work(512) + 512000);
    // -fa alone turns it on, and the next flag is still read
    assert.equal(estimateMemory(shape(), LS("-fa", "-c", "1024"), "llama-server").parts.kv, 8 * 1024 * F16_ROW);
  });

  test("f32 weights need no matmul work buffer", () => {
    assert.equal(estimateMemory(shape({ fileType: 0 }), LS(), "llama-server").parts.compute, activations(512) + flashMask(4096, 512) + 512000);
  });

  test("--cache-ram counts its limit (llama-server's default 8 GiB, and for no limit); other files count their sizes", () => {
    const base = estimateMemory(shape(), LS(), "llama-server").ram;
    assert.equal(estimateMemory(shape(), LS("--cache-ram", "512"), "llama-server").ram, base + 512 * MiB);
    assert.equal(estimateMemory(shape(), [], "llama-server").ram, base + 8192 * MiB);
    assert.equal(estimateMemory(shape(), ["-cram", "-1"], "llama-server").ram, base + 8192 * MiB);
    assert.equal(estimateMemory(shape(), ["--cache-ram", "0"], "node").ram, estimateMemory(shape(), [], "node").ram);
    const sizes = new Map([["/m/proj.gguf", 300], ["/m/a.gguf", 20], ["/m/b.gguf", 30], ["/m/draft.gguf", 4000]]);
    const e = estimateMemory(shape(), LS("--mmproj", "/m/proj.gguf", "--lora", "/m/a.gguf", "--lora-scaled", "/m/b.gguf:0.5", "-md", "/m/draft.gguf"), "llama-server", { fileSizes: sizes });
    assert.equal(e.ram, base + 300 + 20 + 30 + 4000);
    assert.equal(e.parts.weights, 1000 + 4350);
  });

  test("a draft model's header adds its KV cache (same cells) and compute", () => {
    const draft = shape({ blockCount: 2, weights: { total: 400, layers: [100, 100], output: 150, input: 50 } });
    const base = estimateMemory(shape(), LS(), "llama-server");
    const e = estimateMemory(shape(), LS("-md", "/m/d.gguf"), "llama-server", { draft });
    assert.equal(e.parts.kv, base.parts.kv + 2 * 4096 * F16_ROW);
    assert.equal(e.parts.weights, 1000 + 400);
  });
});

describe("estimateMemory: sliding-window attention", () => {
  // gemma3: every 6th block (5, 11) attends to the whole context, the others to a window of 1024
  const gemma = (over: Record<string, number> = {}) => shape({
    architecture: "gemma3", contextLength: 32768, blockCount: 12,
    metadata: { "general.architecture": "gemma3", "gemma3.feed_forward_length": 2048, "gemma3.attention.sliding_window": 1024, ...over },
  });

  test("window blocks keep window × slots + one ubatch cells (unified), padded to 256; the others the whole context", () => {
    const e = estimateMemory(gemma(), LS(), "llama-server");
    assert.equal(e.parts.kv, (10 * 4608 + 2 * 32768) * F16_ROW);
    // separate caches: a window and a ubatch per slot
    assert.equal(estimateMemory(gemma(), LS("-np", "2", "-c", "8192"), "llama-server").parts.kv, (10 * 2 * 1536 + 2 * 8192) * F16_ROW);
    assert.equal(estimateMemory(gemma(), LS("--swa-full"), "llama-server").parts.kv, 12 * 32768 * F16_ROW);
  });

  test("the header's pattern overrides the default period; without a window gemma3 has none", () => {
    assert.equal(estimateMemory(gemma({ "gemma3.attention.sliding_window_pattern": 2 }), LS(), "llama-server").parts.kv, (6 * 4608 + 6 * 32768) * F16_ROW);
    assert.equal(estimateMemory(gemma({ "gemma3.attention.sliding_window": 0 }), LS(), "llama-server").parts.kv, 12 * 32768 * F16_ROW);
  });
});

describe("estimateMemory: node engine", () => {
  test("corral's defaults: -c 4096 for one slot, ubatch = batch = 2048", () => {
    const e = estimateMemory(shape({ contextLength: 32768 }), [], "node");
    assert.equal(e.parts.kv, 8 * 4096 * F16_ROW);
    assert.equal(e.parts.compute, activations(2048) + flashMask(4096, 2048) + work(2048) + 32000 * 4);
    assert.equal(e.parts.other, other("node"));
  });

  test("-c 0 is the training context; slots split -c (each padded), --kv-unified gives each slot all of it", () => {
    assert.equal(estimateMemory(shape({ contextLength: 8192 }), ["-c", "0"], "node").parts.kv, 8 * 8192 * F16_ROW);
    assert.equal(estimateMemory(shape(), ["-c", "4096", "-np", "3"], "node").parts.kv, 8 * 4608 * F16_ROW);
    assert.equal(estimateMemory(shape(), ["-c", "4096", "-np", "2", "--kv-unified"], "node").parts.kv, 8 * 8192 * F16_ROW);
  });

  test("the batch is capped at the context; -ub is not used", () => {
    assert.equal(estimateMemory(shape(), ["-c", "1024", "-ub", "64"], "node").parts.compute, activations(1024) + flashMask(1024, 1024) + work(1024) + 32000 * 4);
  });

  test("--embedding adds a context of one slot's size", () => {
    const base = estimateMemory(shape(), [], "node");
    assert.equal(estimateMemory(shape(), ["--embedding"], "node").parts.kv, base.parts.kv * 2);
  });
});

describe("estimateMemory: GPU offload", () => {
  test("without a GPU nothing is offloaded, whatever -ngl says", () => {
    assert.equal(estimateMemory(shape(), LS("-ngl", "99"), "llama-server").vram, 0);
    assert.equal(estimateMemory(shape(), ["-ngl", "-1"], "node").vram, 0);
  });

  test("-ngl N: the output layer and the last N-1 blocks, with their KV; token embeddings stay on the CPU", () => {
    const cpu = estimateMemory(shape(), LS("-ngl", "0"), "llama-server", { gpu: true });
    assert.equal(cpu.vram, 0);
    const e = estimateMemory(shape(), LS("-ngl", "3"), "llama-server", { gpu: true });
    const layerKv = 4096 * F16_ROW;
    const compute = activations(512) + flashMask(4096, 512) + work(512);
    assert.equal(e.vram, 150 + 200 + 2 * layerKv + compute + GPU_CONTEXT_OVERHEAD);
    assert.equal(e.ram, 650 + 6 * layerKv + 512000 + other("llama-server") + 512 * 768 * 8);
    const p = e.parts;
    assert.equal(p.weights + p.kv + p.compute + p.other, e.ram + e.vram, "the parts add up to RAM and VRAM");
  });

  test("llama-server offloads everything by default (-ngl auto without --fit); the node engine nothing", () => {
    const ls = estimateMemory(shape(), LS(), "llama-server", { gpu: true });
    assert.equal(ls.vram, 950 + 8 * 4096 * F16_ROW + activations(512) + flashMask(4096, 512) + work(512) + GPU_CONTEXT_OVERHEAD);
    assert.equal(estimateMemory(shape(), LS("-ngl", "all"), "llama-server", { gpu: true }).vram, ls.vram);
    assert.equal(estimateMemory(shape(), [], "node", { gpu: true }).vram, 0);
    assert.ok(estimateMemory(shape(), ["-ngl", "-1"], "node", { gpu: true }).vram > 0);
  });

  test("-nkvo keeps the KV cache in RAM", () => {
    const e = estimateMemory(shape(), LS("-nkvo"), "llama-server", { gpu: true });
    assert.equal(e.vram, 950 + activations(512) + flashMask(4096, 512) + work(512) + GPU_CONTEXT_OVERHEAD);
  });
});

describe("parseArgs", () => {
  test("both spellings, = values, the last one winning, lists accumulating", () => {
    const p = parseArgs(["-c", "100", "--ctx-size=200", "--lora", "a,b", "--lora", "c", "--lora-scaled", "d.gguf", "0.5", "--lora-scaled", "e:1,f:0.2", "-ngl", "auto", "--no-mmproj"]);
    assert.equal(p.ctx, 200);
    assert.deepEqual(p.loras, ["a", "b", "c", "d.gguf", "e", "f"]);
    assert.equal(p.ngl, "auto");
    assert.equal(p.noMmproj, true);
  });

  test("a flag's value is never read as a flag, and unknown flags are skipped", () => {
    const p = parseArgs(["--alias", "-c", "--temp", "0.5", "--rope-scaling", "-np", "--unknown-switch", "-np", "2"]);
    assert.equal(p.ctx, undefined);
    assert.equal(p.parallel, 2);
  });
});
