// The generation loop's decoder: control tokens are hidden unless -sp, except the chat format's markers
// ("preserved tokens"), which must reach the tool-call and reasoning parsers as text, as in llama-server. A fake
// model stands in for node-llama-cpp's here; the end-to-end tests (reasoning.test.ts) run a real vocabulary.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { LlamaModel, Token } from "node-llama-cpp";
import { TokenTextDecoder } from "../../../src/model-server/generation/text-stream.js";

/** id → [text, control?]. Bytes 0xC3 0xA9 are "é" in UTF-8; each alone is an incomplete character. */
const VOCAB: Record<number, [string | Uint8Array, boolean?]> = {
  1: ["Hello"],
  2: [" world"],
  3: ["[TOOL_CALLS]", true],
  4: ["<|im_end|>", true],
  5: [Uint8Array.of(0xc3)],
  6: [Uint8Array.of(0xa9)],
  7: ["<think>", true],
};

/** Detokenizes as llama.cpp does: control tokens give their text only with `special`, bytes join into UTF-8. */
function fakeModel(calls: Array<{ tokens: Token[]; special: boolean }> = []): LlamaModel {
  return {
    detokenize(tokens: readonly Token[], special = false): string {
      calls.push({ tokens: [...tokens], special });
      const bytes: number[] = [];
      for (const t of tokens) {
        const [piece, control] = VOCAB[t]!;
        if (control && !special) continue;
        bytes.push(...(typeof piece === "string" ? Buffer.from(piece, "utf8") : piece));
      }
      return Buffer.from(bytes).toString("utf8");
    },
  } as unknown as LlamaModel;
}

const decode = (d: TokenTextDecoder, tokens: number[]) => tokens.map((t) => d.push(t as Token)).join("") + d.flush();

describe("TokenTextDecoder", () => {
  test("control tokens are hidden by default and shown with -sp", () => {
    assert.equal(decode(new TokenTextDecoder(fakeModel()), [1, 3, 2, 4]), "Hello world");
    assert.equal(decode(new TokenTextDecoder(fakeModel(), [], true), [1, 3, 2, 4]), "Hello[TOOL_CALLS] world<|im_end|>");
  });

  test("preserved tokens come out as text, and only they", () => {
    const preserved = new Set([3, 7] as Token[]);
    assert.equal(decode(new TokenTextDecoder(fakeModel(), [], false, preserved), [7, 1, 3, 2, 4]), "<think>Hello[TOOL_CALLS] world");
  });

  test("a preserved token is its own piece, detokenized with the text before it as context", () => {
    const calls: Array<{ tokens: Token[]; special: boolean }> = [];
    const d = new TokenTextDecoder(fakeModel(calls), [1 as Token], false, new Set([3 as Token]));
    assert.equal(d.push(2 as Token), " world");
    assert.equal(d.push(3 as Token), "[TOOL_CALLS]");
    assert.deepEqual(calls.at(-1), { tokens: [3], special: true });
  });

  test("an incomplete character is held back, and settled as it is when a marker comes", () => {
    const d = new TokenTextDecoder(fakeModel(), [], false, new Set([3 as Token]));
    assert.equal(d.push(5 as Token), "");
    assert.equal(d.midCharacter, true);
    assert.equal(d.push(6 as Token), "é");
    assert.equal(d.midCharacter, false);
    assert.equal(d.push(5 as Token), "");
    // the marker cannot complete the character: what was pending goes out (as U+FFFD), then the marker
    assert.equal(d.push(3 as Token), "\uFFFD[TOOL_CALLS]");
    assert.equal(d.midCharacter, false);
    assert.equal(d.flush(), "");
  });
});
