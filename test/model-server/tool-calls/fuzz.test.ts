// Whatever a model writes, a parser must not throw, and a stream must never take back what it sent: answers built
// from every family's marker fragments, JSON pieces and noise, cut into random pieces, must stream to exactly the
// message the whole answer parses to.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { readdirSync } from "node:fs";
import { selectToolCallFormat } from "../../../src/model-server/tool-calls/select.js";
import { parseAnswer, ToolCallStream } from "../../../src/model-server/tool-calls/stream.js";
import type { ToolCallFormat } from "../../../src/model-server/tool-calls/types.js";
import { collect, loadTemplate, splitAt, TEMPLATE_DIR } from "./helpers.js";

const FRAGMENTS = [
  "<tool_call>", "</tool_call>", "<tool_", "[TOOL_CALLS]", "[ARGS]", "[CALL_ID]", "[TOOL_", "<|python_tag|>", "<function=", "</function>",
  "<parameter=", "</parameter>", "<｜tool▁calls▁begin｜>", "<｜tool▁call▁begin｜>", "<｜tool▁sep｜>", "<｜tool▁call▁end｜>", "<｜tool▁calls▁end｜>",
  "<|START_ACTION|>", "<|END_ACTION|>", "<|tool_call|>", " functools", "<tool_calls>", "<think>", "</think>", "[THINK]", "[/THINK]",
  "```json", "```", "function", "{", "}", "[", "]", ":", ",", ";", '"', "\\", '"name"', '"arguments"', '"parameters"', '"id"', '"f"', '"tool_name"',
  "1", "-2.5e3", "true", "null", "get_weather", ">", "<", "\n", " ", "abc", "é", "😀", "brave_search.call(", "q=\"x\"", ")",
];

// whole calls of every family, so that answers hold real calls among the noise (a leak shows only then)
const CALLS = [
  '<tool_call>\n{"name": "f", "arguments": {"a": [1, "x"]}}\n</tool_call>', '[TOOL_CALLS]f[CALL_ID]abcdefghi[ARGS]{"a": 1}',
  '[TOOL_CALLS][{"name": "f", "arguments": {"a": "b"}, "id": "abcdefghi"}]', '{"name": "f", "parameters": {"a": 1}}',
  '<|python_tag|>{"name": "f", "parameters": {}}', '<function=f>{"a": 1}</function>',
  "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{\"a\": 1}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
  "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>f<｜tool▁sep｜>{}<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
  '<|START_ACTION|>[{"tool_call_id": "0", "tool_name": "f", "parameters": {}}]<|END_ACTION|>', '<|tool_call|>[{"name": "f", "arguments": {}}]',
  ' functools[{"name": "f", "arguments": {}}]', '<tool_calls>[{"name": "f", "arguments": {}, "id": "c"}]</tool_calls>',
  "<tool_call>\n<function=f>\n<parameter=q>\n1\n</parameter>\n<parameter=s>\nline\n</parameter>\n</function>\n</tool_call>",
];

const answers = fc
  .array(fc.oneof({ arbitrary: fc.constantFrom(...FRAGMENTS), weight: 4 }, { arbitrary: fc.constantFrom(...CALLS), weight: 2 }, { arbitrary: fc.string({ maxLength: 3 }), weight: 1 }), { maxLength: 24 })
  .map((parts) => parts.join(""));

/** One format per family that the templates select. */
function formats(): ToolCallFormat[] {
  const byName = new Map<string, ToolCallFormat>();
  for (const f of readdirSync(TEMPLATE_DIR).filter((x) => x.endsWith(".jinja"))) {
    const format = selectToolCallFormat(loadTemplate(f));
    byName.set(`${format.name}/${format.thinking?.open ?? ""}`, format);
  }
  return [...byName.values()];
}

describe("tool calls: any answer streams to what it parses to", () => {
  for (const format of formats()) {
    test(`${format.name}${format.thinking ? ` (thinking ${format.thinking.open})` : ""}`, () => {
      const tools = [{ name: "get_weather", parameters: { type: "object", properties: { q: { type: "integer" } } } }];
      fc.assert(
        fc.property(answers, fc.array(fc.nat(), { maxLength: 60 }), fc.boolean(), fc.boolean(), (text, cuts, inThinking, parallel) => {
          const o = { inThinking: inThinking && format.thinking !== undefined, parallel, tools };
          const whole = parseAnswer(format, text, o);
          const s = new ToolCallStream(format, { ...o, strict: true });
          const got = collect([]);
          for (const piece of splitAt(text, cuts)) collect(s.push(piece), got);
          collect(s.finish(), got);
          assert.equal(got.content, whole.content ?? "");
          assert.deepEqual(got.calls.map((c) => [c.name, c.arguments]), whole.toolCalls.map((c) => [c.function.name, c.function.arguments]));
        }),
        { numRuns: 400 },
      );
    });
  }
});
