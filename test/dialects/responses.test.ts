// The OpenAI Responses ⇄ chat-completions translation, without a server.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { chatToResponse } from "../../src/dialects/responses/answer.js";
import { responsesToChat } from "../../src/dialects/responses/request.js";
import { ResponsesStreamTranslator, type ResponsesSseEvent } from "../../src/dialects/responses/stream.js";
import type { ChatCompletionChunk } from "../../src/dialects/openai/chat.js";
import { ApiError } from "../../src/http/errors.js";

function assertRejects(body: unknown, field: string): void {
  assert.throws(
    () => responsesToChat(body),
    (err: unknown) => {
      assert.ok(err instanceof ApiError, `not an ApiError: ${String(err)}`);
      assert.equal(err.status, 400);
      assert.ok(err.message.includes(`'${field}'`), `message does not name '${field}': ${err.message}`);
      return true;
    },
  );
}

describe("Responses request → chat completions", () => {
  test("string input with instructions; renamed fields; llama.cpp extensions pass through", () => {
    const chat = responsesToChat({
      model: "m", instructions: "Book", input: "What is the best book", max_output_tokens: 8, temperature: 0.8,
      stream: true, timings_per_token: true, return_progress: true, store: false, metadata: { a: "b" },
      reasoning: { effort: "low" }, text: { format: { type: "json_schema", name: "answer", schema: { type: "object" } } },
    });
    assert.deepEqual(chat, {
      model: "m", temperature: 0.8, stream: true, timings_per_token: true, return_progress: true,
      messages: [{ role: "system", content: "Book" }, { role: "user", content: "What is the best book" }],
      max_tokens: 8,
      response_format: { type: "json_schema", json_schema: { name: "answer", schema: { type: "object" } } },
      reasoning_effort: "low",
    });
  });

  test("input items: messages, an earlier turn's reasoning + message + call merge into one assistant message", () => {
    const chat = responsesToChat({
      input: [
        { role: "developer", content: "Be exact." },
        { type: "message", role: "user", content: [{ type: "input_text", text: "Weather?" }, { type: "input_image", image_url: "data:image/png;base64,AA" }] },
        { type: "reasoning", id: "rs_1", summary: [], content: [{ type: "reasoning_text", text: "Use the tool." }] },
        { type: "message", role: "assistant", content: [{ type: "output_text", text: "Checking." }] },
        { type: "function_call", call_id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
        { type: "function_call_output", call_id: "call_1", output: "Sunny" },
      ],
    });
    assert.deepEqual(chat["messages"], [
      { role: "system", content: "Be exact." },
      { role: "user", content: [{ type: "text", text: "Weather?" }, { type: "image_url", image_url: { url: "data:image/png;base64,AA" } }] },
      {
        role: "assistant", content: [{ type: "text", text: "Checking." }], reasoning_content: "Use the tool.",
        tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }],
      },
      { role: "tool", tool_call_id: "call_1", content: "Sunny" },
    ]);
  });

  test("function tools become chat tools; built-in tools are left out; tool_choice maps", () => {
    const chat = responsesToChat({
      input: "x",
      tools: [{ type: "function", name: "f", description: "d", parameters: { type: "object" }, strict: true }, { type: "web_search" }],
      tool_choice: { type: "function", name: "f" },
    });
    assert.deepEqual(chat["tools"], [{ type: "function", function: { name: "f", description: "d", parameters: { type: "object" }, strict: true } }]);
    assert.deepEqual(chat["tool_choice"], { type: "function", function: { name: "f" } });
  });

  test("bad input is a 400 naming the field", () => {
    assertRejects({}, "input");
    assertRejects({ input: 5 }, "input");
    assertRejects({ input: "x", previous_response_id: "resp_1" }, "previous_response_id");
    assertRejects({ input: [{ role: "robot", content: "x" }] }, "input[0].role");
    assertRejects({ input: [{ role: "user", content: [{ type: "input_file", file_id: "f" }] }] }, "input[0].content[0].type");
    assertRejects({ input: [{ type: "function_call", name: "f", arguments: "{}" }] }, "input[0].call_id");
    assertRejects({ input: [{ type: "item_reference", id: "x" }] }, "input[0].type");
    assertRejects({ input: "x", max_output_tokens: 0 }, "max_output_tokens");
    assertRejects({ input: "x", tool_choice: "sometimes" }, "tool_choice");
    assertRejects({ input: "x", text: { format: { type: "yaml" } } }, "text.format.type");
  });
});

describe("chat.completion → Response", () => {
  test("text and tool calls become output items; usage in Responses' names", () => {
    const r = chatToResponse({
      id: "chatcmpl-xyz", created: 100, model: "m",
      choices: [{ index: 0, finish_reason: "tool_calls", message: { role: "assistant", content: "Sure.", tool_calls: [{ id: "call_9", type: "function", function: { name: "f", arguments: "{}" } }] } }],
      usage: { prompt_tokens: 10, completion_tokens: 4, prompt_tokens_details: { cached_tokens: 3 } },
    }, 200);
    assert.equal(r.id, "resp_xyz");
    assert.equal(r.object, "response");
    assert.equal(r.status, "completed");
    assert.equal(r.created_at, 100);
    assert.equal(r.completed_at, 200);
    assert.deepEqual(r.output, [
      { id: "msg_xyz", type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text: "Sure.", annotations: [], logprobs: [] }] },
      { id: "fc_call_9", type: "function_call", status: "completed", call_id: "call_9", name: "f", arguments: "{}" },
    ]);
    assert.deepEqual(r.usage, { input_tokens: 10, input_tokens_details: { cached_tokens: 3 }, output_tokens: 4, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 14 });
  });
});

describe("chat chunks → Responses stream events", () => {
  const chunk = (delta: Record<string, unknown>, extra: Partial<ChatCompletionChunk> = {}): ChatCompletionChunk => ({
    id: "chatcmpl-s2", created: 5, model: "m", choices: [{ index: 0, delta, finish_reason: null }], ...extra,
  });

  test("progress, per-token timings and the final timings ride along as on llama-server", () => {
    const t = new ResponsesStreamTranslator({ now: () => 9 });
    const progress = { total: 40, cache: 0, processed: 32, time_ms: 1 };
    const timings = { prompt_per_second: 100, predicted_per_second: 50 };
    const events: ResponsesSseEvent[] = [
      ...t.push({ id: "chatcmpl-s2", choices: [], prompt_progress: progress }),
      ...t.push(chunk({ role: "assistant", content: null })),
      ...t.push(chunk({ content: "Once" }, { timings })),
      ...t.push(chunk({ content: " upon" }, { timings })),
      ...t.push({ id: "chatcmpl-s2", choices: [{ index: 0, delta: {}, finish_reason: "length" }], timings: { ...timings, predicted_n: 2 } }),
      ...t.push({ id: "chatcmpl-s2", choices: [], usage: { prompt_tokens: 40, completion_tokens: 2 } }),
      ...t.finish(),
    ];
    assert.deepEqual(events.map((e) => e.event), [
      "response.created", "response.in_progress", "response.in_progress",
      "response.output_item.added", "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
      "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed",
    ]);
    assert.deepEqual(events.map((e) => e.data["sequence_number"]), events.map((_, i) => i));
    const withProgress = events.filter((e) => "prompt_progress" in e.data);
    assert.deepEqual(withProgress.map((e) => [e.event, e.data["prompt_progress"]]), [["response.in_progress", progress]]);
    const deltas = events.filter((e) => e.event === "response.output_text.delta");
    assert.ok(deltas.every((d) => d.data["timings"] === timings));
    assert.ok(deltas.every((d) => d.data["item_id"] === "msg_s2"));
    const completed = events.at(-1)!.data as any;
    assert.equal(completed.response.id, "resp_s2");
    assert.equal(completed.response.status, "completed");
    assert.equal(completed.response.output[0].content[0].text, "Once upon");
    assert.equal(completed.response.usage.total_tokens, 42);
    assert.equal(completed.timings.predicted_n, 2);
    assert.equal(events[0]!.data["response"] && (events[0]!.data["response"] as any).status, "in_progress");
  });

  test("reasoning, then text, then a tool call: items in order, each done before the next is added", () => {
    const t = new ResponsesStreamTranslator();
    const events = [
      ...t.push(chunk({ reasoning_content: "Think." })),
      ...t.push(chunk({ content: "Hi." })),
      ...t.push(chunk({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: '{"a"' } }] })),
      ...t.push(chunk({ tool_calls: [{ index: 0, function: { arguments: ":1}" } }] })),
      ...t.finish(),
    ];
    const items = events.filter((e) => e.event === "response.output_item.added" || e.event === "response.output_item.done")
      .map((e) => [e.event.split(".").at(-1), e.data["output_index"], (e.data["item"] as any).type]);
    assert.deepEqual(items, [
      ["added", 0, "reasoning"], ["done", 0, "reasoning"],
      ["added", 1, "message"], ["done", 1, "message"],
      ["added", 2, "function_call"], ["done", 2, "function_call"],
    ]);
    const argsDone = events.find((e) => e.event === "response.function_call_arguments.done")!;
    assert.equal(argsDone.data["arguments"], '{"a":1}');
    const output = (events.at(-1)!.data["response"] as any).output;
    assert.deepEqual(output.map((o: any) => o.type), ["reasoning", "message", "function_call"]);
    assert.equal(output[0].content[0].text, "Think.");
    assert.equal(output[2].call_id, "call_1");
  });
});
