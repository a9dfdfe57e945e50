// Each family's parser on the answers models actually give beyond the template's own rendering: content around
// calls, several calls, thinking, broken or cut-off JSON, and the spellings fine-tunes drift into. Every case is
// also streamed in random pieces, which must add up to the same message.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { deepseekFormat } from "../../../src/model-server/tool-calls/deepseek.js";
import { functionaryFormat } from "../../../src/model-server/tool-calls/functionary.js";
import { hermesFormat } from "../../../src/model-server/tool-calls/hermes.js";
import { aprielFormat, commandR7bFormat, fireFunctionFormat, graniteFormat } from "../../../src/model-server/tool-calls/json-list.js";
import { llama3Format } from "../../../src/model-server/tool-calls/llama3.js";
import { mistralFormat } from "../../../src/model-server/tool-calls/mistral.js";
import { qwen3CoderFormat } from "../../../src/model-server/tool-calls/qwen3-coder.js";
import { parseAnswer, ToolCallStream, type StreamOptions } from "../../../src/model-server/tool-calls/stream.js";
import type { ToolCallFormat } from "../../../src/model-server/tool-calls/types.js";
import { collect, splitAt } from "./helpers.js";

const THINK = { open: "<think>", close: "</think>" };

/** The message `text` parses to; streaming it in any pieces must give the same message. */
function parse(format: ToolCallFormat, text: string, o: StreamOptions = {}) {
  const whole = parseAnswer(format, text, o);
  fc.assert(
    fc.property(fc.array(fc.nat(), { maxLength: 30 }), (cuts) => {
      const s = new ToolCallStream(format, { ...o, strict: true });
      const got = collect([]);
      for (const piece of splitAt(text, cuts)) collect(s.push(piece), got);
      collect(s.finish(), got);
      assert.equal(got.content, whole.content ?? "");
      assert.deepEqual(got.calls.map((c) => [c.id, c.name, c.arguments]).map(([id, ...rest]) => rest), whole.toolCalls.map((c) => [c.function.name, c.function.arguments]));
    }),
    { numRuns: 60 },
  );
  return { content: whole.content, calls: whole.toolCalls.map((c) => ({ name: c.function.name, args: c.function.arguments, id: c.id })) };
}

const argsOf = (r: ReturnType<typeof parse>) => r.calls.map((c) => [c.name, JSON.parse(c.args)]);

describe("tool calls: Hermes", () => {
  const f = hermesFormat();
  test("content around calls is kept, trimmed; a call without arguments gets {}", () => {
    const r = parse(f, 'a<tool_call>{"name":"f","arguments":{"x":1}}</tool_call> b <tool_call>{"name":"g"}</tool_call>\n');
    assert.equal(r.content, "a b");
    assert.deepEqual(argsOf(r), [["f", { x: 1 }], ["g", {}]]);
  });
  test("what is not a well-formed call stays content, as written", () => {
    for (const text of ["<tool_call>{not json}</tool_call>", "use <tool_call> tags", '<tool_call>{"arguments": {}}</tool_call>', "<tool_call>\n"]) {
      const r = parse(f, text);
      assert.deepEqual(r, { content: text.trim(), calls: [] }, text);
    }
  });
  test("arguments given as a JSON string, before the name, or in OpenAI's function wrapper", () => {
    const r = parse(f, [
      '<tool_call>{"name": "a", "arguments": "{\\"q\\": \\"\\\\u00e9t\\u00e9 \\\\\\"x\\\\\\"\\"}"}</tool_call>',
      '<tool_call>{"arguments": {"n": [1, 2]}, "name": "b"}</tool_call>',
      '<tool_call>{"type": "function", "function": {"name": "c", "arguments": {"k": null}}}</tool_call>',
      '<tool_call>{"name": "d", "parameters": {"p": true}}</tool_call>',
    ].join("\n"));
    assert.deepEqual(argsOf(r), [["a", { q: 'été "x"' }], ["b", { n: [1, 2] }], ["c", { k: null }], ["d", { p: true }]]);
  });
  test("several objects, or a list, in one block", () => {
    assert.deepEqual(argsOf(parse(f, '<tool_call>\n{"name": "a", "arguments": {}}\n{"name": "b", "arguments": {}}\n</tool_call>')), [["a", {}], ["b", {}]]);
    assert.deepEqual(argsOf(parse(f, '<tool_call>[{"name": "a", "arguments": {}}, {"name": "b", "arguments": {"z": 0}}]</tool_call>')), [["a", {}], ["b", { z: 0 }]]);
  });
  test("an object after a call that is no call is content, braces and all", () => {
    const r = parse(f, '<tool_call>{"name": "a"}\n{"note": 1}</tool_call>');
    assert.deepEqual(argsOf(r), [["a", {}]]);
    assert.equal(r.content, '{"note": 1}</tool_call>');
  });
  test("a missing closing tag (the model stopped right after the JSON) is fine", () => {
    assert.deepEqual(argsOf(parse(f, 'Sure.\n<tool_call>\n{"name": "f", "arguments": {"a": "b"}}')), [["f", { a: "b" }]]);
  });
  test("an answer cut off inside the arguments keeps the call with what it had", () => {
    const r = parse(f, '<tool_call>\n{"name": "f", "arguments": {"city": "Par');
    assert.deepEqual(r.calls.map((c) => [c.name, c.args]), [["f", '{"city": "Par']]);
    const early = parse(f, 'Hi <tool_call>\n{"na');
    assert.deepEqual(early, { content: 'Hi <tool_call>\n{"na', calls: [] }, "cut off before the name: nothing was a call");
  });
  test("garbage after arguments ends the call there; the rest is content", () => {
    const r = parse(f, '<tool_call>{"name": "f", "arguments": {"a": 1}, oops}</tool_call> done');
    assert.deepEqual(argsOf(r), [["f", { a: 1 }]]);
    assert.equal(r.content, "oops}</tool_call> done");
  });
  test("markers inside thinking are not calls (Qwen3), also when the prompt opened the thinking", () => {
    const g = hermesFormat({ thinking: THINK });
    const quoted = '<think>I could write <tool_call>{"name": "x", "arguments": {}}</tool_call> here</think>\n\n';
    const r = parse(g, `${quoted}<tool_call>{"name": "real", "arguments": {}}</tool_call>`);
    assert.deepEqual(argsOf(r), [["real", {}]]);
    assert.equal(r.content, quoted.trim());
    const opened = parse(g, 'hmm <tool_call>{"name": "x"}</tool_call></think><tool_call>{"name": "real"}</tool_call>', { inThinking: true });
    assert.deepEqual(argsOf(opened), [["real", {}]]);
    const unthinking = parse(hermesFormat(), 'hmm <tool_call>{"name": "x"}</tool_call></think>');
    assert.deepEqual(argsOf(unthinking), [["x", {}]], "without thinking tags in the template, <think> means nothing");
  });
  test("parallel_tool_calls: false keeps only the first call", () => {
    const r = parse(f, '<tool_call>{"name": "a"}</tool_call><tool_call>{"name": "b"}</tool_call>', { parallel: false });
    assert.deepEqual(argsOf(r), [["a", {}]]);
  });
  test("a stream holds back what may be a marker, and sends arguments as they grow", () => {
    const s = new ToolCallStream(f, { strict: true });
    assert.deepEqual(s.push("Hello <tool_"), [{ content: "Hello" }]);
    assert.deepEqual(s.push("call>\n{\"name\": \"get_"), []);
    const header = s.push('weather", "arguments": {"ci');
    assert.equal(header.length, 1);
    const h = (header[0] as { toolCall: { index: number; id: string; type: string; function: { name: string; arguments: string } } }).toolCall;
    assert.deepEqual([h.index, h.type, h.function.name, h.function.arguments], [0, "function", "get_weather", '{"ci']);
    assert.match(h.id, /^call_/);
    assert.deepEqual(s.push('ty": "Paris"}}\n</tool'), [{ toolCall: { index: 0, function: { arguments: 'ty": "Paris"}' } } }]);
    assert.deepEqual(s.push("_call>"), []);
    assert.deepEqual(s.finish(), []);
    assert.deepEqual(s.message.content, "Hello");
  });
  test("a near-miss marker is released as content once it cannot be one", () => {
    const s = new ToolCallStream(f, { strict: true });
    assert.deepEqual(s.push("a <tool_c"), [{ content: "a" }]);
    assert.deepEqual(s.push("ar> b"), [{ content: " <tool_car> b" }]);
  });
});

describe("tool calls: Llama 3.x", () => {
  const f = llama3Format();
  test("a bare JSON call, with or without a type field, one or several", () => {
    assert.deepEqual(argsOf(parse(f, '{"name": "get_weather", "parameters": {"city": "Paris"}}')), [["get_weather", { city: "Paris" }]]);
    assert.deepEqual(argsOf(parse(f, ' {"type": "function", "name": "f", "parameters": {}}')), [["f", {}]]);
    assert.deepEqual(argsOf(parse(f, '{"name": "a", "parameters": {}}; {"name": "b", "arguments": {"x": 1}}')), [["a", {}], ["b", { x: 1 }]]);
  });
  test("an answer after the call is content", () => {
    const r = parse(f, '{"name": "a", "parameters": {}}\n{"answer": 1}');
    assert.deepEqual(argsOf(r), [["a", {}]]);
    assert.equal(r.content, '{"answer": 1}');
  });
  test("JSON that does not start like a call, or comes after text, is an answer", () => {
    for (const text of ['{"answer": 42}', 'Here: {"name": "f", "parameters": {}}', "[1, 2]", "{oops"]) {
      assert.deepEqual(parse(f, text), { content: text, calls: [] }, text);
    }
  });
  test("<|python_tag|>: built-in tools, JSON calls, and code for the interpreter", () => {
    assert.deepEqual(argsOf(parse(f, '<|python_tag|>brave_search.call(query="news, \\"today\\"", n=3)')), [["brave_search", { query: 'news, "today"', n: 3 }]]);
    assert.deepEqual(argsOf(parse(f, 'Let me look.<|python_tag|>{"name": "f", "parameters": {"a": 1}}')), [["f", { a: 1 }]]);
    const code = parse(f, "<|python_tag|>import math\nprint(math.pi)");
    assert.deepEqual(argsOf(code), [["python", { code: "import math\nprint(math.pi)" }]]);
  });
});

describe("tool calls: Mistral", () => {
  const nemo = mistralFormat({ namedCalls: false });
  const small = mistralFormat({ namedCalls: true, thinking: { open: "[THINK]", close: "[/THINK]" } });
  test("the JSON list form, with content before it, keeps the model's ids", () => {
    const r = parse(nemo, 'Checking. [TOOL_CALLS][{"name": "a", "arguments": {"x": 1}, "id": "abcdefghi"}, {"name": "b", "arguments": {}, "id": "123456789"}]');
    assert.equal(r.content, "Checking.");
    assert.deepEqual(r.calls.map((c) => [c.name, JSON.parse(c.args), c.id]), [["a", { x: 1 }, "abcdefghi"], ["b", {}, "123456789"]]);
  });
  test("the named form, with and without [CALL_ID], several calls", () => {
    const r = parse(small, '[TOOL_CALLS]a[CALL_ID]abcdefghi[ARGS]{"x": 1}[TOOL_CALLS]b[ARGS]{"y": [true]}');
    assert.deepEqual(r.calls.map((c) => [c.name, JSON.parse(c.args)]), [["a", { x: 1 }], ["b", { y: [true] }]]);
    assert.equal(r.calls[0]!.id, "abcdefghi");
    assert.match(r.calls[1]!.id, /^[A-Za-z0-9]{9}$/, "Mistral templates only take 9-character ids back");
  });
  test("either template reads either form", () => {
    assert.deepEqual(argsOf(parse(nemo, '[TOOL_CALLS]f[ARGS]{"a": 1}')), [["f", { a: 1 }]]);
    assert.deepEqual(argsOf(parse(small, '[TOOL_CALLS][{"name": "f", "arguments": {"a": 1}}]')), [["f", { a: 1 }]]);
  });
  test("a marker not followed by a call stays content; markers inside [THINK] are ignored", () => {
    assert.deepEqual(parse(small, "the [TOOL_CALLS] token"), { content: "the [TOOL_CALLS] token", calls: [] });
    const r = parse(small, '[THINK]maybe [TOOL_CALLS]x[ARGS]{}[/THINK]ok[TOOL_CALLS]y[ARGS]{}');
    assert.deepEqual(argsOf(r), [["y", {}]]);
  });
});

describe("tool calls: DeepSeek", () => {
  test("R1: fenced JSON, several calls, after the thinking the prompt opened", () => {
    const f = deepseekFormat({ r1Style: true });
    const text =
      "I should call both.\n</think>\n\n<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>a\n```json\n{\"x\": 1}\n```<｜tool▁call▁end｜>\n" +
      "<｜tool▁call▁begin｜>function<｜tool▁sep｜>b\n```json\n{}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>";
    const r = parse(f, text, { inThinking: true });
    assert.deepEqual(argsOf(r), [["a", { x: 1 }], ["b", {}]]);
    assert.equal(r.content, "I should call both.\n</think>");
  });
  test("V3.1: name<｜tool▁sep｜>arguments", () => {
    const f = deepseekFormat({ r1Style: false });
    const r = parse(f, "Sure<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_time<｜tool▁sep｜>{\"tz\": \"UTC\"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>");
    assert.deepEqual(argsOf(r), [["get_time", { tz: "UTC" }]]);
    assert.equal(r.content, "Sure");
  });
});

describe("tool calls: other families", () => {
  test("Functionary v3.1: <function=name>, and python code", () => {
    const f = functionaryFormat();
    assert.deepEqual(argsOf(parse(f, '<function=a>{"x": 1}</function>\n<function=b>{}</function>')), [["a", { x: 1 }], ["b", {}]]);
    assert.deepEqual(argsOf(parse(f, "<|python_tag|>print(2)")), [["python", { code: "print(2)" }]]);
  });
  test("Command R7B: an action list with ids, after thinking", () => {
    const f = commandR7bFormat();
    const r = parse(f, '<|START_THINKING|>I will act<|END_THINKING|><|START_ACTION|>[\n    {"tool_call_id": "0", "tool_name": "f", "parameters": {"a": 1}}\n]<|END_ACTION|>');
    assert.deepEqual(r.calls.map((c) => [c.id, c.name, JSON.parse(c.args)]), [["0", "f", { a: 1 }]]);
  });
  test("Granite 3, FireFunction v2 and Apriel lists", () => {
    assert.deepEqual(argsOf(parse(graniteFormat(), '<|tool_call|>[{"name": "f", "arguments": {"a": 1}}]')), [["f", { a: 1 }]]);
    assert.deepEqual(argsOf(parse(fireFunctionFormat(), ' functools[{"name": "f", "arguments": {"a": 1}}, {"name": "g", "arguments": {}}]')), [["f", { a: 1 }], ["g", {}]]);
    const apriel = parse(aprielFormat(), 'x <tool_calls>[{"name": "f", "arguments": {"a": 1}, "id": "c1"}]</tool_calls>');
    assert.deepEqual(apriel.calls.map((c) => [c.id, c.name]), [["c1", "f"]]);
  });
  test("Qwen3-Coder XML: values typed by the tool's schema, multi-line strings streamed as they come", () => {
    const tools = [{ name: "f", parameters: { type: "object", properties: { n: { type: "integer" }, o: { type: "object" }, s: { type: "string" } } } }];
    const text = "<tool_call>\n<function=f>\n<parameter=n>\n42\n</parameter>\n<parameter=o>\n{\"k\": [1]}\n</parameter>\n<parameter=s>\nline one\nline \"two\"\n</parameter>\n<parameter=other>\n7\n</parameter>\n</function>\n</tool_call>";
    const r = parse(qwen3CoderFormat(), text, { tools });
    assert.deepEqual(argsOf(r), [["f", { n: 42, o: { k: [1] }, s: 'line one\nline "two"', other: "7" }]]);
    const s = new ToolCallStream(qwen3CoderFormat(), { tools, strict: true });
    const got = collect(s.push("<tool_call>\n<function=f>\n<parameter=s>\nhel"));
    assert.equal(got.calls[0]!.arguments, '{"s": "hel');
    collect(s.push("lo\n"), got);
    assert.equal(got.calls[0]!.arguments, '{"s": "hello', "the newline may be the markup's, so it waits");
  });
});
