// The pure parts of the generation pipeline, against small fakes: chat prompt assembly (prefill, continuation),
// prompt forms of /completion, token pieces, slot pinning, response_fields and usage.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { LlamaContext, LlamaModel, Token } from "node-llama-cpp";
import { ApiError } from "../../src/http/errors.js";
import type { JsonObject } from "../../src/http/validate.js";
import { renderChatPrompt } from "../../src/model-server/templates/chat-prompt.js";
import { ChatTemplate } from "../../src/model-server/templates/chat-template.js";
import type { Engine } from "../../src/model-server/engine/engine.js";
import type { GenerationResult } from "../../src/model-server/generation/generate.js";
import { pickFields, usageOf } from "../../src/model-server/answers/native-answer.js";
import { readPrompts } from "../../src/model-server/requests/prompt-input.js";
import { SlotPool } from "../../src/model-server/generation/slots.js";
import { tokenPieces, validUtf8Prefix } from "../../src/model-server/generation/token-pieces.js";

const is400 = (re: RegExp) => (e: unknown) => e instanceof ApiError && e.status === 400 && re.test(e.message);

describe("renderChatPrompt", () => {
  const chatml = new ChatTemplate("chatml", "", "");
  const render = (body: JsonObject) => renderChatPrompt(chatml, body).text;

  test("a normal conversation ends with the assistant header", () => {
    assert.equal(render({ messages: [{ role: "user", content: "Hi" }] }), "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  });

  test("a final assistant message is prefill: the assistant header, then its text, left open", () => {
    const text = render({ messages: [{ role: "user", content: "Hi" }, { role: "assistant", content: "Wh" }] });
    assert.equal(text, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nWh");
  });

  test("continue_final_message does the same for an explicit request", () => {
    const text = render({ messages: [{ role: "user", content: "Hi" }, { role: "assistant", content: "Wh" }], add_generation_prompt: false, continue_final_message: true });
    assert.ok(text.endsWith("assistant\nWh"));
  });

  test("add_generation_prompt: false leaves the header out", () => {
    assert.equal(render({ messages: [{ role: "user", content: "Hi" }], add_generation_prompt: false }), "<|im_start|>user\nHi<|im_end|>\n");
  });

  test("refusals: both flags, two assistant messages at the end, continuing a tool call", () => {
    assert.throws(() => render({ messages: [{ role: "user", content: "a" }], continue_final_message: true }), is400(/add_generation_prompt/));
    const two = [{ role: "user", content: "a" }, { role: "assistant", content: "b" }, { role: "assistant", content: "c" }];
    assert.throws(() => render({ messages: two }), is400(/2 or more assistant/));
    const call: JsonObject[] = [{ role: "user", content: "a" }, { role: "assistant", content: null, tool_calls: [{ id: "1" }] }];
    assert.throws(() => render({ messages: call }), is400(/tool calls/));
    assert.throws(() => render({ messages: [{ role: "user", content: "a" }], continue_final_message: 3 }), is400(/continue_final_message/));
  });
});

/** An engine whose tokenizer maps each character to its code (BOS = 1). */
function fakeEngine(): Engine {
  return {
    facts: { nVocab: 1000 },
    tokenizePrompt: (text: string, addSpecial = true) => [...(addSpecial ? [1] : []), ...[...text].map((c) => c.charCodeAt(0))],
    isTokenId: (t: unknown): t is Token => typeof t === "number" && Number.isInteger(t) && t >= 0 && t < 1000,
  } as unknown as Engine;
}

describe("readPrompts", () => {
  const e = fakeEngine();

  test("a string, token ids, and {prompt_string} are one prompt each", () => {
    assert.deepEqual(readPrompts(e, "ab"), [[1, 97, 98]]);
    assert.deepEqual(readPrompts(e, [5, 6]), [[5, 6]]);
    assert.deepEqual(readPrompts(e, { prompt_string: "a" }), [[1, 97]]);
  });

  test("a list with a number in it is one mixed prompt; BOS only when it starts with text", () => {
    assert.deepEqual(readPrompts(e, [5, "a", 6]), [[5, 97, 6]]);
    assert.deepEqual(readPrompts(e, ["a", 5, "b"]), [[1, 97, 5, 98]]);
  });

  test("any other list is several prompts", () => {
    assert.deepEqual(readPrompts(e, ["a", [7], { prompt_string: "b" }]), [[1, 97], [7], [1, 98]]);
  });

  test("bad prompts are 400s naming the element", () => {
    assert.throws(() => readPrompts(e, undefined), is400(/'prompt' is required/));
    assert.throws(() => readPrompts(e, []), is400(/must not be empty/));
    assert.throws(() => readPrompts(e, [5, 99999]), is400(/'prompt\[1\]' is not a valid token id/));
    assert.throws(() => readPrompts(e, ["a", true]), is400(/'prompt\[1\]'/));
    assert.throws(() => readPrompts(e, [5, null]), is400(/'prompt\[1\]'/));
    assert.throws(() => readPrompts(e, { prompt_string: "x", multimodal_data: [] }), is400(/multimodal_data/));
    assert.throws(() => readPrompts(e, 42), is400(/'prompt' must be/));
  });
});

function fakeModel(kind: string, tokens: string[], types: number[]): LlamaModel {
  return {
    fileInfo: { metadata: { tokenizer: { ggml: { model: kind, tokens, token_type: types } } } },
    detokenize: () => "",
  } as unknown as LlamaModel;
}

const tok = (n: number) => n as Token;

describe("token pieces", () => {
  test("SentencePiece: ▁ is a space, byte tokens are their byte, control tokens are nothing", () => {
    const p = tokenPieces(fakeModel("llama", ["<s>", "▁hello", "<0xE4>", "<unk>"], [3, 1, 6, 2]));
    assert.equal(p.text(tok(1)), " hello");
    assert.deepEqual([...p.bytes(tok(2))], [0xe4]);
    assert.equal(p.text(tok(2)), "", "a lone lead byte is no text yet");
    assert.deepEqual([...p.bytes(tok(0))], []);
    assert.equal(p.text(tok(3)), "\u2585");
    assert.deepEqual([...p.bytes(tok(99))], [], "ids outside the vocabulary have no piece");
  });

  test("byte-level BPE: Ġ is a space and shifted characters are raw bytes", () => {
    // "Ġw" = " w"; "ä¸" = the first two bytes of 世 (E4 B8), which is no text until its last byte
    const p = tokenPieces(fakeModel("gpt2", ["Ġw", "ä¸", "<|end|>"], [1, 1, 3]));
    assert.equal(p.text(tok(0)), " w");
    assert.deepEqual([...p.bytes(tok(1))], [0xe4, 0xb8]);
    assert.equal(p.text(tok(1)), "");
    assert.deepEqual([...p.bytes(tok(2))], []);
  });

  test("validUtf8Prefix cuts only a character that is not complete", () => {
    const bytes = (s: string) => new Uint8Array(Buffer.from(s, "utf8"));
    assert.equal(validUtf8Prefix(bytes("a世")), "a世");
    assert.equal(validUtf8Prefix(bytes("a世").slice(0, 3)), "a");
    assert.equal(validUtf8Prefix(bytes("🙂").slice(0, 3)), "");
    assert.equal(validUtf8Prefix(bytes("é")), "é");
    assert.equal(validUtf8Prefix(new Uint8Array(0)), "");
  });
});

describe("SlotPool with id_slot", () => {
  const fakeContext = { getSequence: () => ({ contextTokens: [] as Token[] }) } as unknown as LlamaContext;

  test("a pinned request waits for its slot while others take a free one", async () => {
    const pool = new SlotPool(fakeContext, 2);
    const a = await pool.acquire([tok(1)], undefined, 0);
    assert.equal(a.id, 0);
    let pinnedGot: number | undefined;
    const pinned = pool.acquire([tok(1)], undefined, 0).then((s) => (pinnedGot = s.id));
    const any = await pool.acquire([tok(1)]);
    assert.equal(any.id, 1, "the unpinned request is not stuck behind the pinned one");
    pool.release(any);
    await new Promise((r) => setImmediate(r));
    assert.equal(pinnedGot, undefined, "slot 1 freeing does not serve a request pinned to slot 0");
    pool.release(a);
    await pinned;
    assert.equal(pinnedGot, 0);
  });

  test("a cancelled wait leaves the queue", async () => {
    const pool = new SlotPool(fakeContext, 1);
    const held = await pool.acquire([tok(1)], undefined, 0);
    const ac = new AbortController();
    const waiting = pool.acquire([tok(1)], ac.signal, 0);
    ac.abort();
    await assert.rejects(waiting, (e: unknown) => e instanceof ApiError && e.status === 499);
    assert.equal(pool.deferred, 0);
    pool.release(held);
    assert.equal(pool.processing, 0);
  });
});

describe("answer helpers", () => {
  test("pickFields keeps the listed fields, nested by path, and skips missing ones", () => {
    const body = { content: "x", generation_settings: { n_predict: 3, seed: 1 }, timings: { a: null } };
    assert.deepEqual(pickFields(body, ["content", "generation_settings/n_predict", "nope", "content/deeper", "timings/a"]), {
      content: "x",
      "generation_settings/n_predict": 3,
      "timings/a": null,
    });
  });

  test("usageOf counts each prompt once and every completion", () => {
    const r = (prompt: number, completion: number, cached: number) => ({ promptTokens: prompt, completionTokens: completion, cachedTokens: cached }) as GenerationResult;
    const u = usageOf([
      { result: r(10, 3, 0), job: { firstOfPrompt: true } },
      { result: r(10, 4, 9), job: { firstOfPrompt: false } },
      { result: r(5, 1, 2), job: { firstOfPrompt: true } },
    ]);
    assert.deepEqual(u, { prompt_tokens: 15, completion_tokens: 8, total_tokens: 23, prompt_tokens_details: { cached_tokens: 2 } });
  });
});
