// The Anthropic Messages ⇄ OpenAI chat-completions translation, without a server.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { chatToAnthropic } from "../../src/dialects/anthropic/answer.js";
import { anthropicError, anthropicErrorType, openAiErrorToAnthropic } from "../../src/dialects/anthropic/errors.js";
import { anthropicToChat } from "../../src/dialects/anthropic/request.js";
import { type AnthropicSseEvent, AnthropicStreamTranslator } from "../../src/dialects/anthropic/stream.js";
import type { ChatCompletionChunk } from "../../src/dialects/openai/chat.js";
import { ApiError } from "../../src/http/errors.js";

/** Asserts a 400 whose message names `field`. */
function assertRejects(body: unknown, field: string): void {
  assert.throws(
    () => anthropicToChat(body),
    (err: unknown) => {
      assert.ok(err instanceof ApiError, `not an ApiError: ${String(err)}`);
      assert.equal(err.status, 400);
      assert.ok(err.message.includes(`'${field}'`), `message does not name '${field}': ${err.message}`);
      return true;
    },
  );
}

const user = (content: unknown) => ({ role: "user", content });

describe("Anthropic request → chat completions", () => {
  test("system as a string or as text blocks becomes the first message", () => {
    assert.deepEqual(anthropicToChat({ system: "Be brief.", messages: [user("Hi")] })["messages"], [
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hi" },
    ]);
    const blocks = anthropicToChat({ system: [{ type: "text", text: "One." }, { type: "text", text: "Two.", cache_control: { type: "ephemeral" } }], messages: [user("Hi")] });
    assert.deepEqual((blocks["messages"] as any[])[0], { role: "system", content: "One.\n\nTwo." });
  });

  test("a multi-turn conversation keeps its order, text blocks become text parts", () => {
    const chat = anthropicToChat({
      messages: [user("Hello"), { role: "assistant", content: "Hi there!" }, user([{ type: "text", text: "What is" }, { type: "text", text: " it?" }])],
    });
    assert.deepEqual(chat["messages"], [
      { role: "user", content: "Hello" },
      { role: "assistant", content: "Hi there!" },
      { role: "user", content: [{ type: "text", text: "What is" }, { type: "text", text: " it?" }] },
    ]);
  });

  test("sampling fields map to their OpenAI names; metadata is accepted", () => {
    const chat = anthropicToChat({
      max_tokens: 50, temperature: 0.5, top_p: 0.9, top_k: 40, stop_sequences: ["\n", "END"], stream: true,
      metadata: { user_id: "u-1" }, messages: [user("Hi")],
    });
    assert.equal(chat["max_tokens"], 50);
    assert.equal(chat["temperature"], 0.5);
    assert.equal(chat["top_p"], 0.9);
    assert.equal(chat["top_k"], 40);
    assert.deepEqual(chat["stop"], ["\n", "END"]);
    assert.equal(chat["stream"], true);
    assert.equal(chat["user"], "u-1");
    assert.equal("stop_sequences" in chat, false);
    assert.equal("metadata" in chat, false);
  });

  test("max_tokens may be left out (the engine's default applies)", () => {
    assert.equal("max_tokens" in anthropicToChat({ messages: [user("Hi")] }), false);
  });

  test("an empty conversation becomes one empty user turn", () => {
    assert.deepEqual(anthropicToChat({ messages: [] })["messages"], [{ role: "user", content: "" }]);
    assert.deepEqual(anthropicToChat({ system: "S", messages: [] })["messages"], [{ role: "system", content: "S" }, { role: "user", content: "" }]);
  });

  test("tools become functions; server tools are left out; tool_choice maps", () => {
    const schema = { type: "object", properties: { location: { type: "string" } }, required: ["location"] };
    const chat = anthropicToChat({
      messages: [user("Weather?")],
      tools: [
        { name: "get_weather", description: "Get the weather", input_schema: schema },
        { type: "web_search_20250305", name: "web_search", max_uses: 3 },
      ],
      tool_choice: { type: "tool", name: "get_weather", disable_parallel_tool_use: true },
    });
    assert.deepEqual(chat["tools"], [{ type: "function", function: { name: "get_weather", description: "Get the weather", parameters: schema } }]);
    assert.deepEqual(chat["tool_choice"], { type: "function", function: { name: "get_weather" } });
    assert.equal(chat["parallel_tool_calls"], false);
    assert.equal(anthropicToChat({ messages: [], tool_choice: { type: "any" } })["tool_choice"], "required");
    assert.equal(anthropicToChat({ messages: [], tool_choice: { type: "auto" } })["tool_choice"], "auto");
    assert.equal(anthropicToChat({ messages: [], tool_choice: { type: "none" } })["tool_choice"], "none");
  });

  test("tool_use becomes tool_calls; tool_result becomes a tool message before the user's other blocks", () => {
    const chat = anthropicToChat({
      messages: [
        user("What's the weather?"),
        { role: "assistant", content: [
          { type: "text", text: "Let me check." },
          { type: "tool_use", id: "toolu_1", name: "get_weather", input: { location: "Paris" } },
        ] },
        user([
          { type: "tool_result", tool_use_id: "toolu_1", content: "Sunny, 25°C" },
          { type: "text", text: "Thanks, and tomorrow?" },
        ]),
      ],
    });
    assert.deepEqual((chat["messages"] as any[]).slice(1), [
      {
        role: "assistant",
        content: [{ type: "text", text: "Let me check." }],
        tool_calls: [{ id: "toolu_1", type: "function", function: { name: "get_weather", arguments: '{"location":"Paris"}' } }],
      },
      { role: "tool", tool_call_id: "toolu_1", content: "Sunny, 25°C" },
      { role: "user", content: [{ type: "text", text: "Thanks, and tomorrow?" }] },
    ]);
  });

  test("an assistant turn with only a tool call has empty content", () => {
    const chat = anthropicToChat({ messages: [user("x"), { role: "assistant", content: [{ type: "tool_use", id: "t", name: "f", input: {} }] }] });
    assert.equal((chat["messages"] as any[])[1].content, "");
  });

  test("tool results: blocks of text join, is_error says so, images keep a part list", () => {
    const result = (block: Record<string, unknown>) => (anthropicToChat({ messages: [user([{ type: "tool_result", tool_use_id: "t1", ...block }])] })["messages"] as any[])[0];
    assert.equal(result({ content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] }).content, "a\nb");
    assert.equal(result({ content: "City not found", is_error: true }).content, "Error: City not found");
    assert.equal(result({}).content, "");
    assert.deepEqual(result({ content: [{ type: "text", text: "File:" }, { type: "image", source: { type: "base64", media_type: "image/png", data: "AAAA" } }] }).content, [
      { type: "text", text: "File:" },
      { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
    ]);
  });

  test("image blocks become image_url parts, from base64 or a URL", () => {
    const chat = anthropicToChat({ messages: [user([
      { type: "image", source: { type: "base64", media_type: "image/jpeg", data: "/9j/" } },
      { type: "image", source: { type: "url", url: "https://example.com/cat.png" } },
      { type: "text", text: "What is this?" },
    ])] });
    assert.deepEqual((chat["messages"] as any[])[0].content, [
      { type: "image_url", image_url: { url: "data:image/jpeg;base64,/9j/" } },
      { type: "image_url", image_url: { url: "https://example.com/cat.png" } },
      { type: "text", text: "What is this?" },
    ]);
  });

  test("thinking: the switch reaches the template, the budget goes along, earlier thinking becomes reasoning_content", () => {
    const on = anthropicToChat({ thinking: { type: "enabled", budget_tokens: 500 }, messages: [user("2+2?")] });
    assert.deepEqual(on["chat_template_kwargs"], { enable_thinking: true });
    assert.equal(on["thinking_budget_tokens"], 500);
    const off = anthropicToChat({ thinking: { type: "disabled" }, chat_template_kwargs: { foo: 1 }, messages: [user("2+2?")] });
    assert.deepEqual(off["chat_template_kwargs"], { enable_thinking: false, foo: 1 });
    const history = anthropicToChat({ messages: [user("Fix it"), { role: "assistant", content: [
      { type: "thinking", thinking: "Look first.", signature: "sig" },
      { type: "redacted_thinking", data: "opaque" },
      { type: "tool_use", id: "c1", name: "ls", input: { path: "." } },
    ] }] });
    const assistant = (history["messages"] as any[])[1];
    assert.equal(assistant.reasoning_content, "Look first.");
    assert.equal(assistant.tool_calls.length, 1);
  });

  test("Claude Code's per-request billing stamp is made constant, so the prompt cache survives", () => {
    const sys = (cch: string) => anthropicToChat({ system: [{ type: "text", text: `x-anthropic-billing-header: cc_version=2.1; cch=${cch}; You are Claude Code.` }], messages: [] })["messages"];
    assert.deepEqual(sys("a5145"), sys("ef01a"));
    assert.match(JSON.stringify(sys("a5145")), /You are Claude Code\./);
  });

  test("bad input is a 400 naming the field", () => {
    assert.throws(() => anthropicToChat("not an object"), (e: unknown) => e instanceof ApiError && e.status === 400 && /JSON object/.test(e.message));
    assertRejects({ max_tokens: 5 }, "messages");
    assertRejects({ messages: "hi" }, "messages");
    assertRejects({ messages: [{ role: "system", content: "x" }] }, "messages[0].role");
    assertRejects({ messages: [user(42)] }, "messages[0].content");
    assertRejects({ messages: [user("a"), user([{ type: "video", url: "x" }])] }, "messages[1].content[0].type");
    assertRejects({ messages: [user([{ type: "text" }])] }, "messages[0].content[0].text");
    assertRejects({ messages: [user([{ type: "tool_result", content: "x" }])] }, "messages[0].content[0].tool_use_id");
    assertRejects({ messages: [user([{ type: "tool_use", id: "a", name: "b", input: {} }])] }, "messages[0].content[0].type");
    assertRejects({ messages: [{ role: "assistant", content: [{ type: "tool_use", id: "a", name: "b", input: [1] }] }] }, "messages[0].content[0].input");
    assertRejects({ messages: [user([{ type: "image", source: { type: "file", file_id: "f" } }])] }, "messages[0].content[0].source.type");
    assertRejects({ messages: [], temperature: "hot" }, "temperature");
    assertRejects({ messages: [], max_tokens: 0 }, "max_tokens");
    assertRejects({ messages: [], top_k: 1.5 }, "top_k");
    assertRejects({ messages: [], stop_sequences: ["a", 3] }, "stop_sequences[1]");
    assertRejects({ messages: [], system: [{ type: "image" }] }, "system[0]");
    assertRejects({ messages: [], tools: [{ description: "no name" }] }, "tools[0].name");
    assertRejects({ messages: [], tool_choice: { type: "tool" } }, "tool_choice.name");
    assertRejects({ messages: [], tool_choice: { type: "sometimes" } }, "tool_choice.type");
    assertRejects({ messages: [], thinking: { type: "maybe" } }, "thinking.type");
    assertRejects({ messages: [], thinking: { type: "enabled", budget_tokens: "lots" } }, "thinking.budget_tokens");
    assertRejects({ messages: [], metadata: "x" }, "metadata");
  });
});

describe("chat.completion → Anthropic message", () => {
  const completion = (message: Record<string, unknown>, finish: string, extra: Record<string, unknown> = {}) => ({
    id: "chatcmpl-abc123", object: "chat.completion", model: "tiny",
    choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: finish, ...extra }],
    usage: { prompt_tokens: 20, completion_tokens: 7, total_tokens: 27, prompt_tokens_details: { cached_tokens: 12 } },
    timings: { predicted_n: 7 },
  });

  test("text, usage with the cached part split out, no timings", () => {
    const m = chatToAnthropic(completion({ content: "Hello!" }, "stop"));
    assert.deepEqual(m, {
      id: "msg_abc123", type: "message", role: "assistant", model: "tiny",
      content: [{ type: "text", text: "Hello!" }],
      stop_reason: "end_turn", stop_sequence: null,
      usage: { input_tokens: 8, output_tokens: 7, cache_read_input_tokens: 12, cache_creation_input_tokens: 0 },
    });
  });

  test("finish reasons: length → max_tokens, a named stop string → stop_sequence", () => {
    assert.equal(chatToAnthropic(completion({ content: "x" }, "length")).stop_reason, "max_tokens");
    const stopped = chatToAnthropic(completion({ content: "x" }, "stop", { stop_reason: "END" }));
    assert.equal(stopped.stop_reason, "stop_sequence");
    assert.equal(stopped.stop_sequence, "END");
  });

  test("reasoning, text and tool calls become thinking, text and tool_use blocks in that order", () => {
    const m = chatToAnthropic(completion({
      content: "Checking.",
      reasoning_content: "Need the weather.",
      tool_calls: [
        { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"location":"Paris"}' } },
        { id: "call_2", type: "function", function: { name: "broken", arguments: "{not json" } },
      ],
    }, "tool_calls"));
    assert.deepEqual(m.content, [
      { type: "thinking", thinking: "Need the weather.", signature: "" },
      { type: "text", text: "Checking." },
      { type: "tool_use", id: "call_1", name: "get_weather", input: { location: "Paris" } },
      { type: "tool_use", id: "call_2", name: "broken", input: {} },
    ]);
    assert.equal(m.stop_reason, "tool_use");
  });

  test("an empty answer still has a text block", () => {
    assert.deepEqual(chatToAnthropic(completion({ content: null }, "stop")).content, [{ type: "text", text: "" }]);
  });
});

describe("chat chunks → Anthropic stream events", () => {
  const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Partial<ChatCompletionChunk> = {}): ChatCompletionChunk => ({
    id: "chatcmpl-s1", object: "chat.completion.chunk", model: "tiny", choices: [{ index: 0, delta, finish_reason: finish }], ...extra,
  });
  const usageChunk: ChatCompletionChunk = { id: "chatcmpl-s1", choices: [], usage: { prompt_tokens: 9, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 4 } } };
  const run = (chunks: ChatCompletionChunk[], inputTokens = 9): AnthropicSseEvent[] => {
    const t = new AnthropicStreamTranslator({ inputTokens });
    return [...chunks.flatMap((c) => t.push(c)), ...t.finish()];
  };

  test("a text answer: message_start, ping, one text block, message_delta, message_stop", () => {
    const events = run([
      chunk({ role: "assistant", content: null }),
      chunk({ content: "Hel" }),
      chunk({ content: "lo" }),
      chunk({}, "length", { timings: { predicted_n: 3 } }),
      usageChunk,
    ]);
    assert.deepEqual(events.map((e) => e.event), [
      "message_start", "ping", "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop",
    ]);
    for (const e of events) assert.equal(e.data["type"], e.event);
    const start = events[0]!.data["message"] as any;
    assert.equal(start.id, "msg_s1");
    assert.equal(start.model, "tiny");
    assert.deepEqual(start.content, []);
    assert.equal(start.usage.input_tokens, 9);
    assert.deepEqual(events[2]!.data["content_block"], { type: "text", text: "" });
    assert.deepEqual(events.slice(3, 5).map((e) => (e.data["delta"] as any).text), ["Hel", "lo"]);
    assert.deepEqual(events[6]!.data, {
      type: "message_delta",
      delta: { stop_reason: "max_tokens", stop_sequence: null },
      usage: { input_tokens: 5, output_tokens: 3, cache_read_input_tokens: 4, cache_creation_input_tokens: 0 },
    });
    assert.ok(events.every((e) => !("timings" in e.data)), "Anthropic events carry no llama.cpp timings");
  });

  test("thinking, text and tool calls get consecutive blocks; thinking closes with a signature", () => {
    const events = run([
      chunk({ reasoning_content: "Hmm." }),
      chunk({ content: "Calling." }),
      chunk({ tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "f", arguments: "" } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"x":' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: "1}" } }] }),
      chunk({ tool_calls: [{ index: 1, id: "call_b", type: "function", function: { name: "g", arguments: "{}" } }] }),
      chunk({}, "tool_calls"),
    ]);
    const starts = events.filter((e) => e.event === "content_block_start");
    assert.deepEqual(starts.map((e) => [e.data["index"], (e.data["content_block"] as any).type]), [[0, "thinking"], [1, "text"], [2, "tool_use"], [3, "tool_use"]]);
    assert.deepEqual(starts[2]!.data["content_block"], { type: "tool_use", id: "call_a", name: "f", input: {} });
    const stops = events.filter((e) => e.event === "content_block_stop").map((e) => e.data["index"]);
    assert.deepEqual(stops, [0, 1, 2, 3]);
    // the signature comes right before the thinking block's stop
    const sigAt = events.findIndex((e) => (e.data["delta"] as any)?.type === "signature_delta");
    assert.equal(events[sigAt + 1]!.event, "content_block_stop");
    assert.equal(events[sigAt + 1]!.data["index"], 0);
    const json = events.filter((e) => (e.data["delta"] as any)?.type === "input_json_delta");
    assert.deepEqual(json.map((e) => [e.data["index"], (e.data["delta"] as any).partial_json]), [[2, '{"x":'], [2, "1}"], [3, "{}"]]);
    assert.equal((events.find((e) => e.event === "message_delta")!.data["delta"] as any).stop_reason, "tool_use");
  });

  test("a stream with no content still has one (empty) text block, and nothing follows message_stop", () => {
    const t = new AnthropicStreamTranslator({ inputTokens: 3, model: "named" });
    const events = [...t.push(chunk({ role: "assistant", content: null })), ...t.push(chunk({}, "stop")), ...t.finish()];
    assert.deepEqual(events.map((e) => e.event), ["message_start", "ping", "content_block_start", "content_block_stop", "message_delta", "message_stop"]);
    assert.equal((events[0]!.data["message"] as any).model, "named");
    assert.equal((events[4]!.data["delta"] as any).stop_reason, "end_turn");
    assert.deepEqual(t.push(chunk({ content: "late" })), []);
    assert.deepEqual(t.finish(), []);
  });
});

describe("Anthropic errors", () => {
  test("statuses map to Anthropic's error types", () => {
    assert.deepEqual(
      [400, 401, 403, 404, 413, 429, 500, 503, 529, 422].map(anthropicErrorType),
      ["invalid_request_error", "authentication_error", "permission_error", "not_found_error", "request_too_large", "rate_limit_error", "api_error", "overloaded_error", "overloaded_error", "invalid_request_error"],
    );
    assert.deepEqual(anthropicError(401, "Invalid API Key"), { type: "error", error: { type: "authentication_error", message: "Invalid API Key" } });
  });

  test("an OpenAI-shaped error keeps its message", () => {
    assert.deepEqual(openAiErrorToAnthropic(400, { error: { code: 400, message: "'messages' is required", type: "invalid_request_error" } }), {
      type: "error", error: { type: "invalid_request_error", message: "'messages' is required" },
    });
    assert.equal(openAiErrorToAnthropic(502, "Bad Gateway").error.message, "Bad Gateway");
    assert.equal(openAiErrorToAnthropic(500, null).error.message, "upstream error 500");
  });
});
