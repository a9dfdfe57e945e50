// Reading a request's tool fields, and the per-request plan built from them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiError } from "../../../src/http/errors.js";
import type { JsonObject } from "../../../src/http/validate.js";
import { ChatTemplate } from "../../../src/model-server/templates/chat-template.js";
import { planToolCalls, readToolRequest, toolFinishReason } from "../../../src/model-server/tool-calls/index.js";
import { forcedTools } from "../../../src/model-server/tool-calls/request.js";
import { renderChatPrompt } from "../../../src/model-server/templates/chat-prompt.js";
import { loadTemplate, TIME_TOOL, WEATHER_TOOL } from "./helpers.js";

const read = (body: object) => readToolRequest(body as JsonObject);
const is400 = (re: RegExp) => (e: unknown) => e instanceof ApiError && e.status === 400 && re.test(e.message);

describe("tool calls: request fields", () => {
  test("tools, tool_choice and parallel_tool_calls", () => {
    const auto = read({ tools: [WEATHER_TOOL, TIME_TOOL] });
    assert.deepEqual([auto.choice, auto.parallel, auto.specs.map((s) => s.name)], ["auto", true, ["get_weather", "get_time"]]);
    assert.equal(forcedTools(auto), undefined);
    assert.deepEqual(forcedTools(read({ tools: [WEATHER_TOOL, TIME_TOOL], tool_choice: "required" }))?.map((s) => s.name), ["get_weather", "get_time"]);
    const named = read({ tools: [WEATHER_TOOL, TIME_TOOL], tool_choice: { type: "function", function: { name: "get_time" } }, parallel_tool_calls: false });
    assert.deepEqual([forcedTools(named)?.map((s) => s.name), named.parallel], [["get_time"], false]);
  });

  test("tool_choice none, or no tools, means no tools at all", () => {
    for (const body of [{ tools: [WEATHER_TOOL], tool_choice: "none" }, { tools: [] }, { tools: null, tool_choice: null }, {}]) {
      const r = read(body);
      assert.equal(r.tools, undefined, JSON.stringify(body));
      assert.equal(planToolCalls(r, "", ""), undefined);
    }
  });

  test("malformed fields are 400s naming the field", () => {
    assert.throws(() => read({ tools: {} }), is400(/'tools' must be an array/));
    assert.throws(() => read({ tools: [{ type: "function" }] }), is400(/tools\[0\]\.function/));
    assert.throws(() => read({ tools: [{ type: "function", function: { name: "" } }] }), is400(/tools\[0\]\.function\.name/));
    assert.throws(() => read({ tools: [{ type: "function", function: { name: "f", parameters: "x" } }] }), is400(/parameters/));
    assert.throws(() => read({ tools: [WEATHER_TOOL], tool_choice: "any" }), is400(/tool_choice/));
    assert.throws(() => read({ tools: [WEATHER_TOOL], tool_choice: { type: "function", function: { name: "nope" } } }), is400(/'nope'/));
    assert.throws(() => read({ tools: [WEATHER_TOOL], parallel_tool_calls: "yes" }), is400(/parallel_tool_calls/));
  });

  test("the plan knows when the prompt opened a thinking span (DeepSeek R1)", () => {
    const source = loadTemplate("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja");
    const t = new ChatTemplate(source, "<s>", "</s>");
    const req = read({ tools: [WEATHER_TOOL] });
    const open = t.render([{ role: "user", content: "hi" }], { tools: req.tools, extra: { enable_thinking: true } });
    const closed = t.render([{ role: "user", content: "hi" }], { tools: req.tools, extra: { enable_thinking: false } });
    assert.equal(planToolCalls(req, source, open)!.inThinking, true);
    assert.equal(planToolCalls(req, source, closed)!.inThinking, false);
    // so a call the model only muses about before </think> is not one
    const musing = '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>x\n```json\n{}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>';
    assert.equal(planToolCalls(req, source, open)!.parse(`maybe ${musing}</think>ok`).toolCalls.length, 0);
    assert.equal(planToolCalls(req, source, closed)!.parse(`maybe ${musing}</think>ok`).toolCalls.length, 1);
  });

  test("preserved markers are the ones that are single tokens", () => {
    const plan = planToolCalls(read({ tools: [WEATHER_TOOL] }), loadTemplate("Mistral-Small-3.2-24B-Instruct-2506.jinja"), "")!;
    const vocab: Record<string, number[]> = { "[TOOL_CALLS]": [9], "[ARGS]": [32], "[CALL_ID]": [1, 2, 3] };
    assert.deepEqual([...plan.preservedTokenIds((s) => vocab[s] ?? [])], [9, 32]);
  });

  test("finish_reason: tool_calls only for an answer that stopped by itself", () => {
    assert.equal(toolFinishReason("stop", 1), "tool_calls");
    assert.equal(toolFinishReason("stop", 0), "stop");
    assert.equal(toolFinishReason("length", 2), "length");
  });

  test("past calls' string arguments reach templates that write objects as objects, not double-encoded", () => {
    const body = {
      tools: [WEATHER_TOOL],
      messages: [
        { role: "user", content: "Weather?" },
        { role: "assistant", content: null, tool_calls: [{ id: "abcdefghi", type: "function", function: { name: "get_weather", arguments: '{"city": "Paris"}' } }] },
        { role: "tool", tool_call_id: "abcdefghi", content: "sunny" },
      ],
    } as unknown as JsonObject;
    for (const file of ["Qwen-Qwen2.5-7B-Instruct.jinja", "meta-llama-Llama-3.1-8B-Instruct.jinja", "Qwen3-Coder.jinja"]) {
      const { text } = renderChatPrompt(new ChatTemplate(loadTemplate(file), "<s>", "</s>"), body);
      assert.ok(!text.includes('\\"city\\"'), `${file}: ${text}`);
      assert.match(text, /"city": "Paris"|<parameter=city>\nParis/, file);
    }
    // a template that can only concatenate strings keeps them
    const strings = new ChatTemplate("{% for m in messages %}{% for c in m.tool_calls or [] %}{{ '<' + c.function.arguments + '>' }}{% endfor %}{% endfor %}", "", "");
    assert.equal(renderChatPrompt(strings, body).text, '<{"city": "Paris"}>');
  });
});
