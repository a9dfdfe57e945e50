import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { TEST_MODEL_PRESETS, getTestModel } from "../../helpers/models.js";
import { emptyDir } from "../../helpers/router.js";
import { estimateRandomLlamaModel } from "../../../src/gguf/random-llama.js";
import { readGgufSummary } from "../../../src/gguf/metadata.js";
import type { ModelSpec } from "../../../src/catalog/catalog.js";
import { envArgs, modelMemoryEstimate } from "../../../src/router/memory/model-memory.js";

function spec(over: Partial<ModelSpec> = {}): ModelSpec {
  return {
    id: "m", source: "preset", aliases: [], tags: [], options: {}, loadOnStartup: false, stopTimeoutS: 10, pin: false,
    env: {}, engine: "auto", passthrough: [], ...over,
  };
}

describe("readGgufSummary: what the estimate needs", () => {
  test("the weights are the file size less the header, by block, output layer and the rest", async () => {
    const file = await getTestModel("tiny");
    const expected = estimateRandomLlamaModel(TEST_MODEL_PRESETS.tiny);
    const s = await readGgufSummary(file);
    assert.equal(s.weights!.total, expected.fileSize - expected.headerBytes);
    assert.equal(s.weights!.layers.length, 2);
    assert.equal(s.vocabSize, 2048);
    // token embeddings and the output head are 64 × 2048 f16 each; the output norm 64 f32
    assert.equal(s.weights!.input, 64 * 2048 * 2);
    assert.equal(s.weights!.output, 64 * 2048 * 2 + 64 * 4);
    assert.equal(s.weights!.input + s.weights!.output + s.weights!.layers.reduce((a, b) => a + b, 0), s.weights!.total);
  });
});

describe("modelMemoryEstimate", () => {
  test("a GGUF model: estimated from its header and arguments; LLAMA_ARG_* variables count below the arguments", async () => {
    const file = await getTestModel("tiny");
    const e = (await modelMemoryEstimate(spec({ path: file }), ["--model", file], "llama-server", { env: {} }))!;
    const big = (await modelMemoryEstimate(spec({ path: file }), ["--model", file], "llama-server", { env: { LLAMA_ARG_CTX_SIZE: "16384" } }))!;
    const flagWins = (await modelMemoryEstimate(spec({ path: file }), ["--model", file, "-c", "4096"], "llama-server", { env: { LLAMA_ARG_CTX_SIZE: "16384" } }))!;
    const perModel = (await modelMemoryEstimate(spec({ path: file, env: { LLAMA_ARG_CTX_SIZE: "16384" } }), ["--model", file], "llama-server", { env: {} }))!;
    // tiny: 2 layers × 128 (K and V of 64 at f16 = 256 bytes per layer and cell); training context 4096
    assert.equal(e.parts.kv, 2 * 4096 * 256);
    assert.equal(big.parts.kv, 2 * 16384 * 256);
    assert.equal(flagWins.parts.kv, e.parts.kv);
    assert.equal(perModel.parts.kv, big.parts.kv);
    assert.equal(e.vram, 0);
    assert.ok(e.ram > e.parts.weights + e.parts.kv);
  });

  test("commands and remote servers have the preset's memory as RAM, or nothing", async () => {
    assert.deepEqual(await modelMemoryEstimate(spec({ cmd: "x", memoryBytes: 1000 }), [], "cmd"), { ram: 1000, vram: 0, parts: { weights: 0, kv: 0, compute: 0, other: 1000 } });
    assert.equal(await modelMemoryEstimate(spec({ proxy: "http://h" }), [], "remote"), undefined);
  });

  test("the preset's memory replaces an estimate's RAM", async () => {
    const file = await getTestModel("tiny");
    const e = (await modelMemoryEstimate(spec({ path: file, memoryBytes: 5 * 1024 ** 3 }), [], "node", { env: {} }))!;
    assert.equal(e.ram, 5 * 1024 ** 3);
  });

  test("a missing or unreadable file has no estimate, and nothing throws", async () => {
    const dir = emptyDir("corral-mem-");
    const junk = path.join(dir, "junk.gguf");
    writeFileSync(junk, "not a gguf file at all");
    assert.equal(await modelMemoryEstimate(spec({ path: path.join(dir, "absent.gguf") }), [], "node"), undefined);
    assert.equal(await modelMemoryEstimate(spec({ path: junk }), [], "llama-server"), undefined);
  });

  test("projector, adapter and draft files count; an absent one counts nothing", async () => {
    const file = await getTestModel("tiny");
    const draft = await getTestModel("tiny", { seed: 77 });
    const args = ["--model", file];
    const base = (await modelMemoryEstimate(spec({ path: file }), args, "llama-server", { env: {} }))!;
    const withDraft = (await modelMemoryEstimate(spec({ path: file }), [...args, "-md", draft, "--lora", "/nonexistent.gguf"], "llama-server", { env: {} }))!;
    const draftSummary = await readGgufSummary(draft);
    assert.equal(withDraft.parts.weights, base.parts.weights + draftSummary.weights!.total);
    assert.equal(withDraft.parts.kv, base.parts.kv * 2);
  });
});

describe("envArgs", () => {
  test("the LLAMA_ARG_* variables that size memory, as flags", () => {
    assert.deepEqual(envArgs({ LLAMA_ARG_CTX_SIZE: "8192", LLAMA_ARG_KV_UNIFIED: "false", LLAMA_ARG_EMBEDDINGS: "1", LLAMA_ARG_TEMP: "0.1" }), [
      "--ctx-size", "8192", "--no-kv-unified", "--embedding",
    ]);
  });
});
