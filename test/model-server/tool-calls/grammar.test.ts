// The grammars that force a call (tool_choice "required" or a named function): tool schemas reduced to what
// node-llama-cpp converts, rules renamed apart, and every family's grammar accepted by llama.cpp's GBNF parser.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadLlama } from "../../../src/model-server/engine/llama-loader.js";
import { createToolCallGrammar, toGbnfSchema, toolCallGrammarText } from "../../../src/model-server/tool-calls/grammar.js";
import { grammarLiteral, prefixRules } from "../../../src/model-server/tool-calls/grammar-text.js";
import { selectToolCallFormat } from "../../../src/model-server/tool-calls/select.js";
import { ChatTemplate } from "../../../src/model-server/templates/chat-template.js";
import { planToolCalls, readToolRequest } from "../../../src/model-server/tool-calls/index.js";
import type { JsonObject } from "../../../src/http/validate.js";
import { TEMPLATE_DIR, WEATHER_TOOL, loadTemplate } from "./helpers.js";
import { readdirSync } from "node:fs";

describe("tool calls: grammars", () => {
  test("schemas keep what the converter knows and loosen the rest", () => {
    const s = toGbnfSchema({
      type: "object",
      properties: {
        city: { type: "string", pattern: "^[A-Z]", description: "x" },
        unit: { enum: ["c", "f"] },
        when: { type: "string", format: "date" },
        tags: { type: "array", items: { type: "string" }, maxItems: 3 },
        n: { type: ["integer", "null"] },
        ref: { $ref: "#/$defs/point" },
        any: {},
      },
      required: ["city", "tags", "n", "ref", "any", "nope"],
      $defs: { point: { type: "object", properties: { x: { type: "number" } }, required: ["x"], additionalProperties: false } },
    });
    const ANY = { oneOf: [{ type: ["string", "number", "boolean", "null"] }, { type: "object", additionalProperties: true }, { type: "array" }] };
    assert.deepEqual(s, {
      type: "object",
      properties: {
        city: { type: "string" },
        tags: { type: "array", items: { type: "string" }, maxItems: 3 },
        n: { oneOf: [{ type: "integer" }, { type: "null" }] },
        ref: { type: "object", properties: { x: { type: "number" } } },
        any: ANY,
      },
      // unit and when are optional: the model may still give them, untyped
      additionalProperties: true,
    });
    assert.deepEqual(toGbnfSchema(undefined), { type: "object", additionalProperties: true });
    assert.deepEqual(toGbnfSchema({ type: "object", properties: { a: { const: 1 } }, required: ["a"] }), { type: "object", properties: { a: { const: 1 } } });
  });

  test("rule renaming leaves literals, classes, repetitions and comments alone", () => {
    const g = 'root ::= "a-b" [a-z-]{1,3} item # root item\nitem ::= ("x" | root)*';
    assert.equal(prefixRules(g, "t0-"), 't0-root ::= "a-b" [a-z-]{1,3} t0-item # root item\nt0-item ::= ("x" | t0-root)*');
    assert.equal(grammarLiteral('a"b\\\n\u0001｜'), '"a\\"b\\\\\\n\\x01｜"');
  });

  test("every family's grammar for one and for several tools parses in llama.cpp", async () => {
    const llama = await loadLlama({ gpu: false, verbose: false, logger: () => {} });
    const tools = [
      { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" }, days: { type: "integer" } }, required: ["city"] } },
      { name: "ping", parameters: {} },
    ];
    const seen = new Set<string>();
    for (const file of readdirSync(TEMPLATE_DIR).filter((f) => f.endsWith(".jinja"))) {
      const format = selectToolCallFormat(loadTemplate(file));
      if (seen.has(format.name)) continue;
      seen.add(format.name);
      for (const [subset, parallel] of [[tools.slice(0, 1), false], [tools, true]] as const) {
        const text = await toolCallGrammarText(format, subset, parallel);
        assert.ok(text, format.name);
        assert.match(text, /get_weather/);
        await createToolCallGrammar(llama, text).catch((e: Error) => assert.fail(`${format.name}: ${e.message}\n${text}`));
      }
    }
    assert.ok(seen.size >= 8, [...seen].join(", "));
  });

  test("after a prompt that opens thinking, the forced call comes once the thinking is closed", async () => {
    const llama = await loadLlama({ gpu: false, verbose: false, logger: () => {} });
    const source = loadTemplate("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja");
    const req = readToolRequest({ tools: [WEATHER_TOOL], tool_choice: "required" } as unknown as JsonObject);
    const prompt = new ChatTemplate(source, "<s>", "</s>").render([{ role: "user", content: "hi" }], { tools: req.tools, extra: { enable_thinking: true } });
    const g = await planToolCalls(req, source, prompt)!.grammar(llama);
    assert.match(g!.gbnf, /^tc-root ::= \[\^<\]\* "<\/think>" \[\\n\]\* tc-calls\ntc-calls ::= "<｜tool▁calls▁begin｜>"/);
    const plain = await planToolCalls(req, source, `${prompt}</think>`)!.grammar(llama);
    assert.match(plain!.gbnf, /^tc-root ::= "<｜tool▁calls▁begin｜>"/);
    assert.equal(await planToolCalls(readToolRequest({ tools: [WEATHER_TOOL] } as unknown as JsonObject), source, prompt)!.grammar(llama), undefined, "auto: no grammar");
  });
});
