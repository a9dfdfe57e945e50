import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { Template } from "@huggingface/jinja";
import { getLlama, JinjaTemplateChatWrapper, LlamaLogLevel, readGgufFileInfo, type Llama } from "node-llama-cpp";
import { DEFAULT_CHAT_TEMPLATE } from "../../src/gguf/chat-template.js";
import {
    estimateRandomLlamaModel,
    resolveRandomLlamaOptions,
    writeRandomLlamaModel,
    type RandomLlamaOptions
} from "../../src/gguf/random-llama.js";
import { buildLlamaVocab, LlamaTokenType, RESERVED_TOKEN_COUNT, SPM_SPACE } from "../../src/gguf/vocab.js";
import { float16BitsToFloat32, float32ToFloat16Bits, gguf, GgufWriter } from "../../src/gguf/writer.js";
import { getTestModel, sharedThirdPartyModel, TEST_MODEL_PRESETS } from "../helpers/models.js";

const TINY: RandomLlamaOptions = TEST_MODEL_PRESETS.tiny;

let dir: string;
before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "corral-gguf-test-"));
});
after(async () => {
    await rm(dir, { recursive: true, force: true });
});

async function sha256(file: string): Promise<string> {
    return createHash("sha256").update(await readFile(file)).digest("hex");
}

describe("float16 conversion", () => {
    test("every finite binary16 value survives a round trip", () => {
        for (let h = 0; h < 0x10000; h++) {
            const f = float16BitsToFloat32(h);
            if (Number.isNaN(f))
                continue;
            assert.equal(float32ToFloat16Bits(f), h, `bits 0x${h.toString(16)} (${f})`);
        }
    });

    test("rounds to nearest even, saturates to infinity, keeps NaN and signed zero", () => {
        assert.equal(float32ToFloat16Bits(1 + 2 ** -11), 0x3c00); // tie -> even (down)
        assert.equal(float32ToFloat16Bits(1 + 3 * 2 ** -11), 0x3c02); // tie -> even (up)
        assert.equal(float32ToFloat16Bits(1 + 2 ** -11 + 2 ** -20), 0x3c01); // above the tie
        assert.equal(float32ToFloat16Bits(65504), 0x7bff);
        assert.equal(float32ToFloat16Bits(65520), 0x7c00); // rounds up past the max finite value
        assert.equal(float32ToFloat16Bits(1e9), 0x7c00);
        assert.equal(float32ToFloat16Bits(-Infinity), 0xfc00);
        assert.equal(float32ToFloat16Bits(-0), 0x8000);
        assert.equal(float32ToFloat16Bits(2 ** -24), 0x0001); // smallest subnormal
        assert.equal(float32ToFloat16Bits(2 ** -25), 0x0000); // tie with zero -> even
        assert.equal(float32ToFloat16Bits(1.5 * 2 ** -25), 0x0001);
        assert.equal(float32ToFloat16Bits(2 ** -26), 0x0000);
        assert.equal(float32ToFloat16Bits(3 * 2 ** -25), 0x0002); // subnormal tie -> even
        assert.equal(float32ToFloat16Bits(2 ** -14 - 2 ** -25), 0x0400); // carries into the smallest normal
        const nan = float32ToFloat16Bits(NaN);
        assert.equal(nan & 0x7c00, 0x7c00);
        assert.notEqual(nan & 0x3ff, 0);
    });
});

describe("GgufWriter", () => {
    test("writes every metadata type and aligned F32/F16 tensors that read back", async () => {
        const file = path.join(dir, "types.gguf");
        const f32Data = Float32Array.from({ length: 6 }, (_, i) => i - 2.5);
        const writer = new GgufWriter()
            .set("general.architecture", gguf.str("test"))
            .set("t.u8", gguf.u8(255))
            .set("t.i8", gguf.i8(-128))
            .set("t.u16", gguf.u16(65535))
            .set("t.i16", gguf.i16(-32768))
            .set("t.u32", gguf.u32(4294967295))
            .set("t.i32", gguf.i32(-2147483648))
            .set("t.u64", gguf.u64(2n ** 40n))
            .set("t.i64", gguf.i64(-(2 ** 40)))
            .set("t.f32", gguf.f32(0.5))
            .set("t.f64", gguf.f64(Math.PI))
            .set("t.bool", gguf.bool(true))
            .set("t.str", gguf.str("héllo ▁ 世界"))
            .set("t.strs", gguf.strings(["a", "", "ü"]))
            .set("t.i32s", gguf.i32s([1, -2, 3]))
            .set("t.f32s", gguf.f32s(new Float32Array([0.25, -1])))
            .set("t.bools", gguf.bools([true, false]))
            .addTensor({ name: "a", dims: [3, 2], type: "f32", data: f32Data })
            .addTensor({
                name: "b",
                dims: [5],
                type: "f16",
                data: function* () {
                    yield Float32Array.of(1, 2);
                    yield Float32Array.of(-0.5, 65504, 0);
                }
            });
        const layout = await writer.write(file);
        assert.equal((await stat(file)).size, layout.fileSize);
        assert.equal(layout.dataOffset % 32, 0);

        const info = await readGgufFileInfo(file, { readTensorInfo: true, ignoreKeys: [] });
        assert.equal(info.version, 3);
        const md = info.metadata as unknown as Record<string, Record<string, unknown>>;
        assert.deepEqual(md.general, { architecture: "test", alignment: 32 });
        assert.deepEqual(
            { ...md.t, u64: Number(md.t!.u64), i64: Number(md.t!.i64) },
            {
                u8: 255, i8: -128, u16: 65535, i16: -32768, u32: 4294967295, i32: -2147483648,
                u64: 2 ** 40, i64: -(2 ** 40), f32: 0.5, f64: Math.PI, bool: true, str: "héllo ▁ 世界",
                strs: ["a", "", "ü"], i32s: [1, -2, 3], f32s: [0.25, -1], bools: [true, false]
            }
        );

        const tensors = info.fullTensorInfo ?? info.tensorInfo ?? [];
        assert.deepEqual(tensors.map((t) => [t.name, t.dimensions.map(Number), t.ggmlType]), [["a", [3, 2], 0], ["b", [5], 1]]);
        const bytes = await readFile(file);
        for (const t of tensors)
            assert.equal(Number(t.offset) % 32, 0, `tensor ${t.name} offset`);
        const a = layout.tensors[0]!;
        const b = layout.tensors[1]!;
        assert.deepEqual(new Float32Array(bytes.buffer.slice(bytes.byteOffset + a.fileOffset, bytes.byteOffset + a.fileOffset + 24)), f32Data);
        const halves = [0, 1, 2, 3, 4].map((i) => float16BitsToFloat32(bytes.readUInt16LE(b.fileOffset + 2 * i)));
        assert.deepEqual(halves, [1, 2, -0.5, 65504, 0]);
    });

    test("rejects bad input early", async () => {
        const w = new GgufWriter();
        assert.throws(() => w.set("x", gguf.u8(256)), /not a valid uint8/);
        assert.throws(() => w.set("x", gguf.i32(1.5)), /not a valid int32/);
        assert.throws(() => w.set("general.alignment", gguf.u32(64)), /alignment/);
        assert.throws(() => w.addTensor({ name: "t", dims: [2, 2], type: "f32", data: new Float32Array(3) }), /shape needs 4/);
        w.addTensor({ name: "t", dims: [4], type: "f16", data: () => [new Float32Array(3)] });
        assert.throws(() => w.addTensor({ name: "t", dims: [1], type: "f32", data: new Float32Array(1) }), /duplicate/);
        const file = path.join(dir, "short.gguf");
        await assert.rejects(w.write(file), /produced 3 values, shape needs 4/);
        assert.equal(existsSync(file), false, "partial file is removed");
    });
});

describe("vocabulary", () => {
    test("exact size, no duplicates, and the special token layout", () => {
        for (const size of [RESERVED_TOKEN_COUNT + 1, 2048, 4096, 32000]) {
            const v = buildLlamaVocab(size);
            assert.equal(v.tokens.length, size);
            assert.equal(v.scores.length, size);
            assert.equal(v.tokenTypes.length, size);
            assert.equal(new Set(v.tokens).size, size, `duplicates in a ${size}-token vocabulary`);
        }
        const v = buildLlamaVocab(4096);
        assert.deepEqual(v.tokens.slice(0, 5), ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"]);
        assert.deepEqual([...v.tokenTypes.slice(0, 5)], [2, 3, 3, 3, 3]);
        assert.deepEqual([v.unkId, v.bosId, v.eosId, v.imStartId, v.imEndId, v.eotId], [0, 1, 2, 3, 4, 4]);
        assert.equal(v.tokens[5], "<0x00>");
        assert.equal(v.tokens[5 + 0xff], "<0xFF>");
        assert.ok(v.tokenTypes.slice(5, 261).every((t) => t === LlamaTokenType.byte));
        assert.ok(v.tokens.includes(`${SPM_SPACE}the`) && v.tokens.includes(`${SPM_SPACE}and`));
        assert.throws(() => buildLlamaVocab(100), /vocabulary size/);
    });

    test("pieces are mergeable: every prefix is a token and ▁ only starts a piece", () => {
        const v = buildLlamaVocab(32000);
        const known = new Set(v.tokens);
        assert.deepEqual(buildLlamaVocab(2048).tokens, v.tokens.slice(0, 2048), "smaller vocabularies are prefixes of larger ones");
        for (let i = RESERVED_TOKEN_COUNT; i < v.tokens.length; i++) {
            const chars = [...v.tokens[i]!];
            assert.equal(v.tokenTypes[i], LlamaTokenType.normal);
            assert.ok(v.scores[i]! < v.scores[i - 1]! || i === RESERVED_TOKEN_COUNT, "scores decrease with rarity");
            assert.ok(!chars.slice(1).includes(SPM_SPACE) || chars.every((c) => c === SPM_SPACE), v.tokens[i]);
            for (let n = 2; n < chars.length; n++)
                assert.ok(known.has(chars.slice(0, n).join("")), `prefix of ${v.tokens[i]} missing`);
        }
    });

    test("extra control tokens take the place of the rarest pieces, and only they change", () => {
        const plain = buildLlamaVocab(2048);
        const v = buildLlamaVocab(2048, ["<think>", "[TOOL_CALLS]"]);
        assert.equal(v.tokens.length, 2048);
        assert.deepEqual(v.tokens.slice(-2), ["<think>", "[TOOL_CALLS]"]);
        assert.deepEqual([...v.tokenTypes.slice(-2)], [LlamaTokenType.control, LlamaTokenType.control]);
        assert.deepEqual(v.tokens.slice(0, -2), plain.tokens.slice(0, -2));
        assert.deepEqual([...v.scores.slice(0, -2)], [...plain.scores.slice(0, -2)]);
        assert.throws(() => buildLlamaVocab(2048, ["<s>"]), /already in the vocabulary/);
        assert.throws(() => buildLlamaVocab(2048, ["<think>", "<think>"]), /already in the vocabulary/);
        assert.throws(() => buildLlamaVocab(RESERVED_TOKEN_COUNT + 1, ["<think>"]), /no room/);
    });
});

describe("random llama models", () => {
    test("same options give identical bytes; a different seed does not", async () => {
        const a = path.join(dir, "a.gguf");
        const b = path.join(dir, "b.gguf");
        const c = path.join(dir, "c.gguf");
        await writeRandomLlamaModel(a, TINY);
        await writeRandomLlamaModel(b, TINY);
        await writeRandomLlamaModel(c, { ...TINY, seed: 2 });
        assert.equal(await sha256(a), await sha256(b));
        assert.notEqual(await sha256(a), await sha256(c));
        assert.equal((await stat(a)).size, (await stat(c)).size);
    });

    test("sizes: tiny stays small and the estimate matches the file", async () => {
        for (const opts of [TINY, { ...TINY, fileType: "f32" as const }, { dim: 128, layers: 3, heads: 4, kvHeads: 2, vocabSize: 3000 }]) {
            const file = path.join(dir, "size.gguf");
            const info = await writeRandomLlamaModel(file, opts);
            const actual = (await stat(file)).size;
            const estimate = estimateRandomLlamaModel(opts);
            assert.equal(info.fileSize, actual);
            assert.ok(Math.abs(estimate.fileSize - actual) / actual < 0.03, `estimate ${estimate.fileSize} vs ${actual}`);
            assert.equal(estimate.parameterCount, info.parameterCount);
        }
        const tiny = await getTestModel("tiny");
        assert.ok((await stat(tiny)).size < 2 * 1024 * 1024);
        // bench is ~200 MB: only estimated here, generating it is too slow for unit tests
        const bench = estimateRandomLlamaModel(TEST_MODEL_PRESETS.bench);
        assert.ok(bench.fileSize > 150e6 && bench.fileSize < 250e6, String(bench.fileSize));
    });

    test("options are validated", () => {
        assert.throws(() => resolveRandomLlamaOptions({ dim: 64, heads: 5 }), /divisible/);
        assert.throws(() => resolveRandomLlamaOptions({ heads: 4, kvHeads: 3 }), /divisible/);
        assert.throws(() => resolveRandomLlamaOptions({ fileType: "q4" as "f16" }), /fileType/);
        assert.throws(() => resolveRandomLlamaOptions({ seed: -1 }), /seed/);
        const o = resolveRandomLlamaOptions({ dim: 768 });
        assert.deepEqual([o.heads, o.kvHeads, o.ffnDim], [12, 12, 2048]);
    });

    test("getTestModel caches by options", async () => {
        const a = await getTestModel("tiny");
        assert.equal(await getTestModel("tiny"), a);
        assert.ok(path.isAbsolute(a) && existsSync(a));
        const b = await getTestModel("tiny", { seed: 7 });
        assert.notEqual(b, a);
        const shared = sharedThirdPartyModel();
        if (shared !== undefined)
            assert.ok(path.isAbsolute(shared) && shared.endsWith("llama-2-tiny-random.gguf"));
    });
});

describe("node-llama-cpp", () => {
    let llama: Llama;
    before(async () => {
        llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.warn, progressLogs: false });
    });
    after(async () => {
        await llama?.dispose();
    });

    test("metadata reads back", async () => {
        const file = await getTestModel("tiny");
        const info = await readGgufFileInfo(file);
        const md = info.metadata;
        assert.equal(md.general.architecture, "llama");
        assert.equal(md.general.file_type, 1);
        const arch = md.llama as unknown as { block_count: number; embedding_length: number; context_length: number; vocab_size: number };
        assert.equal(arch.block_count, 2);
        assert.equal(arch.embedding_length, 64);
        assert.equal(arch.context_length, 4096);
        assert.equal(arch.vocab_size, 2048);
        assert.equal(md.tokenizer.chat_template, DEFAULT_CHAT_TEMPLATE);
        assert.equal(md.tokenizer.ggml.model, "llama");
        assert.equal(md.tokenizer.ggml.tokens.length, 2048);
        assert.equal(md.tokenizer.ggml.eos_token_id, 2);

        const bare = path.join(dir, "no-template.gguf");
        await writeRandomLlamaModel(bare, { ...TINY, chatTemplate: null });
        assert.equal((await readGgufFileInfo(bare)).metadata.tokenizer.chat_template, undefined);
    });

    for (const fileType of ["f16", "f32"] as const) {
        test(`${fileType}: loads, tokenizes, round-trips text and generates finite output`, async () => {
            const file = await getTestModel("tiny", { fileType });
            const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
            try {
                assert.equal(model.tokens.bos, 1);
                assert.equal(model.tokens.eos, 2);
                assert.equal(model.tokens.eot, 4);
                for (const text of ["Hello world", "héllo 世界 🙂", "a  b\n\tc!", "The quick brown fox."]) {
                    const tokens = model.tokenize(text);
                    assert.equal(model.detokenize(tokens), text);
                }
                assert.deepEqual(model.tokenize("Hello world").map((t) => model.detokenize([t])), ["Hello", "world"]);
                // CJK characters aren't pieces: "世" must come out as its 3 UTF-8 bytes (after the "▁" space prefix)
                assert.deepEqual(model.tokenize("世").filter((t) => t >= 5 && t < 261), [0xe4, 0xb8, 0x96].map((b) => 5 + b));
                assert.deepEqual(model.tokenize("<|im_start|><|im_end|>", true), [3, 4]);

                const ctx = await model.createContext({ contextSize: 512, sequences: 1, threads: 1 });
                try {
                    const seq = ctx.getSequence();
                    const out: number[] = [];
                    for await (const { token, confidence } of seq.evaluateWithMetadata(model.tokenize("Hello"), { confidence: true }, { temperature: 0.8, seed: 1 })) {
                        assert.ok(Number.isFinite(confidence) && confidence > 0 && confidence <= 1, `confidence ${confidence}`);
                        assert.ok(token >= 0 && token < 2048);
                        out.push(token);
                        if (out.length >= 20)
                            break;
                    }
                    assert.equal(out.length, 20);
                } finally {
                    await ctx.dispose();
                }
            } finally {
                await model.dispose();
            }
        });
    }

    test("add_space_prefix: llama.cpp's SPM quirks with and without it", async () => {
        const withPrefix = await llama.loadModel({ modelPath: await getTestModel("tiny"), gpuLayers: 0 });
        const without = path.join(dir, "no-space-prefix.gguf");
        await writeRandomLlamaModel(without, { ...TINY, addSpacePrefix: false });
        const withoutPrefix = await llama.loadModel({ modelPath: without, gpuLayers: 0 });
        try {
            const prompt = "<|im_start|>user\nHi<|im_end|>\n";
            const pieces = (m: typeof withPrefix) => m.tokenize(prompt, true).map((t) => m.detokenize([t], true));
            // With the prefix, every text fragment after a special token gets a "▁" (a lone one before "\n"),
            // and detokenizing a single token drops its leading space unless given the preceding tokens.
            assert.deepEqual(pieces(withPrefix), ["<|im_start|>", "user", "\n", "H", "i", "<|im_end|>", "", "\n"]);
            const [hello, world] = withPrefix.tokenize("Hello world");
            assert.equal(withPrefix.detokenize([world!]), "world");
            assert.equal(withPrefix.detokenize([world!], false, [hello!]), " world");
            assert.deepEqual(pieces(withoutPrefix), ["<|im_start|>", "user", "\n", "H", "i", "<|im_end|>", "\n"]);
            for (const text of ["Hello world", " Hello", "héllo 世界 🙂"])
                assert.equal(withoutPrefix.detokenize(withoutPrefix.tokenize(text)), text);
        } finally {
            await withPrefix.dispose();
            await withoutPrefix.dispose();
        }
    });

    test("chat template renders the same in @huggingface/jinja and llama.cpp's Jinja engine", async () => {
        const tools = [{ type: "function", function: { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }];
        const inputs: Record<string, unknown>[] = [
            { messages: [{ role: "user", content: "Hi" }], add_generation_prompt: true },
            { messages: [{ role: "system", content: "S" }, { role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] }] },
            {
                tools,
                add_generation_prompt: true,
                messages: [
                    { role: "system", content: "S" },
                    { role: "user", content: "Weather?" },
                    { role: "assistant", content: null, tool_calls: [{ id: "1", type: "function", function: { name: "get_weather", arguments: "{\"city\": \"Paris\"}" } }] },
                    { role: "tool", tool_call_id: "1", content: "sunny" }
                ]
            }
        ];
        const expected = [
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nab<|im_end|>\n"
        ];
        const hf = new Template(DEFAULT_CHAT_TEMPLATE);
        const bindings = (llama as unknown as { _bindings?: { AddonJinjaRenderer?: new (t: string) => { render(items: Record<string, unknown>): string } } })._bindings;
        const native = bindings?.AddonJinjaRenderer === undefined ? undefined : new bindings.AddonJinjaRenderer(DEFAULT_CHAT_TEMPLATE);
        for (const [i, input] of inputs.entries()) {
            const rendered = hf.render(input);
            if (expected[i] !== undefined)
                assert.equal(rendered, expected[i]);
            if (native !== undefined)
                assert.equal(native.render(input), rendered);
        }
        const withTools = hf.render(inputs[2]!);
        assert.match(withTools, /^<\|im_start\|>system\nS\n\n# Tools\n/);
        assert.match(withTools, /<tools>\n\{"type": "function", "function": \{"name": "get_weather"/);
        assert.match(withTools, /<\|im_start\|>assistant\n<tool_call>\n\{"name": "get_weather", "arguments": \{"city": "Paris"\}\}\n<\/tool_call><\|im_end\|>\n/);
        assert.match(withTools, /<\|im_start\|>user\n<tool_response>\nsunny\n<\/tool_response><\|im_end\|>\n<\|im_start\|>assistant\n$/);

        // node-llama-cpp's own wrapper accepts it and recognizes the tool call syntax
        const model = await llama.loadModel({ modelPath: await getTestModel("tiny"), gpuLayers: 0 });
        try {
            const wrapper = new JinjaTemplateChatWrapper({ template: DEFAULT_CHAT_TEMPLATE, tokenizer: model.tokenizer });
            const state = wrapper.generateContextState({ chatHistory: [{ type: "user", text: "hi" }, { type: "model", response: [] }] });
            assert.match(state.contextText.toString(), /<\|im_start\|>user\nhi<\|im_end\|>\n<\|im_start\|>assistant\n/);
            assert.match(JSON.stringify(wrapper.settings.functions.call.prefix), /<tool_call>/);
        } finally {
            await model.dispose();
        }
    });

    test("the shared third-party model loads, if present", { skip: sharedThirdPartyModel() === undefined && "../shared/models is absent" }, async () => {
        const model = await llama.loadModel({ modelPath: sharedThirdPartyModel()!, gpuLayers: 0 });
        try {
            assert.equal(model.detokenize(model.tokenize("Hello world")), "Hello world");
        } finally {
            await model.dispose();
        }
    });
});
