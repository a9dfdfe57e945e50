// End to end: Anthropic's Messages API on a real `corral -m` process, through Anthropic's own SDK (which sends its
// key as x-api-key) and, for the wire format, plain fetch.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import { getTestModel } from "../helpers/models.js";
import { postJson, startServer, type RunningServer } from "../helpers/server.js";

const KEY = "messages-test-key";

/** Sampling fields: sent as given, though this SDK's types no longer list them (newer Claude models fix them). */
const sampling = (fields: { temperature?: number; top_p?: number; top_k?: number }) => fields as {};

describe("model server: Anthropic Messages API", () => {
  let server: RunningServer;
  let client: Anthropic;
  const auth = { "x-api-key": KEY };

  before(async () => {
    const model = await getTestModel("tiny");
    server = await startServer(["-m", model, "-np", "1", "-t", "1", "-c", "1024", "--api-key", KEY, "-a", "tiny-anthropic"]);
    client = new Anthropic({ baseURL: server.url, apiKey: KEY, maxRetries: 0 });
  });
  after(async () => {
    await server?.stop();
  });

  const conversation: Anthropic.MessageParam[] = [
    { role: "user", content: "Hello" },
    { role: "assistant", content: "Hi there!" },
    { role: "user", content: [{ type: "text", text: "How are" }, { type: "text", text: " you?" }] },
  ];

  test("a message: text content, a stop reason, usage that adds up to the counted prompt", async () => {
    const request = { model: "tiny-anthropic", system: "Be brief.", messages: conversation };
    const counted = await client.messages.countTokens(request);
    const m = await client.messages.create({ ...request, max_tokens: 6, ...sampling({ temperature: 0.5, top_p: 0.9, top_k: 40 }) });
    assert.equal(m.type, "message");
    assert.equal(m.role, "assistant");
    assert.match(m.id, /^msg_/);
    assert.equal(m.model, "tiny-anthropic");
    assert.equal(m.content[0]!.type, "text");
    assert.ok(m.usage.output_tokens >= 1 && m.usage.output_tokens <= 6, JSON.stringify(m.usage));
    assert.ok(["end_turn", "max_tokens"].includes(m.stop_reason!));
    // a stop before the limit can only be the end of the turn
    if (m.usage.output_tokens < 6) assert.equal(m.stop_reason, "end_turn");
    assert.equal(m.usage.input_tokens + (m.usage.cache_read_input_tokens ?? 0), counted.input_tokens);
    assert.equal("timings" in m, false);
  });

  test("count_tokens needs no max_tokens, and a system prompt counts", async () => {
    const bare = await client.messages.countTokens({ model: "x", messages: [{ role: "user", content: "Hello" }] });
    const withSystem = await client.messages.countTokens({ model: "x", system: "You are a helpful assistant.", messages: [{ role: "user", content: "Hello" }] });
    assert.ok(bare.input_tokens > 0);
    assert.ok(withSystem.input_tokens > bare.input_tokens, `${withSystem.input_tokens} <= ${bare.input_tokens}`);
    const raw = await postJson(`${server.url}/v1/messages/count_tokens`, { messages: [{ role: "user", content: "Hello" }] }, auth);
    assert.deepEqual(Object.keys(raw.json), ["input_tokens"]);
  });

  test("streaming through the SDK: the events in order, and the deltas make the final message", async () => {
    // greedy, so that a streamed and a non-streamed answer must be the same
    const request = { model: "tiny-anthropic", messages: [{ role: "user" as const, content: "Say hello" }], max_tokens: 8, ...sampling({ temperature: 0, top_k: 1 }) };
    const counted = await client.messages.countTokens({ model: request.model, messages: request.messages });
    const stream = await client.messages.create({ ...request, stream: true });
    const events: Anthropic.RawMessageStreamEvent[] = [];
    for await (const e of stream) events.push(e);
    const types = events.map((e) => e.type);
    assert.equal(types[0], "message_start");
    assert.deepEqual(types.slice(-2), ["message_delta", "message_stop"]);
    assert.ok(types.includes("content_block_start") && types.includes("content_block_delta") && types.includes("content_block_stop"), types.join());
    const start = events[0] as Anthropic.RawMessageStartEvent;
    assert.equal(start.message.usage.input_tokens, counted.input_tokens);
    assert.deepEqual(start.message.content, []);
    let text = "";
    for (const e of events) {
      if (e.type === "content_block_delta") {
        assert.equal(e.index, 0);
        assert.equal(e.delta.type, "text_delta");
        if (e.delta.type === "text_delta") text += e.delta.text;
      }
    }
    const delta = events.at(-2) as Anthropic.RawMessageDeltaEvent;
    assert.ok(delta.usage.output_tokens >= 1 && delta.usage.output_tokens <= 8);
    assert.ok(["end_turn", "max_tokens"].includes(delta.delta.stop_reason!));

    const whole = await client.messages.create(request);
    assert.deepEqual(whole.content, [{ type: "text", text }]);
    assert.equal(whole.stop_reason, delta.delta.stop_reason);
    assert.equal(whole.usage.output_tokens, delta.usage.output_tokens);
    // and the SDK's own accumulator builds the same message from the events
    const final = await client.messages.stream(request).finalMessage();
    assert.deepEqual(final.content, whole.content);
  });

  test("the wire format: `event:` lines that match each payload's type, no [DONE]", async () => {
    const res = await fetch(`${server.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", ...auth },
      body: JSON.stringify({ max_tokens: 4, stream: true, messages: [{ role: "user", content: "Hi" }] }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
    const body = await res.text();
    assert.equal(body.includes("[DONE]"), false);
    const blocks = body.split("\n\n").filter((b) => b.trim() !== "");
    assert.ok(blocks.length >= 7, body);
    for (const block of blocks) {
      const m = /^event: (\w+)\ndata: (.*)$/.exec(block);
      assert.ok(m, `not an event/data pair: ${JSON.stringify(block)}`);
      assert.equal(JSON.parse(m[2]!).type, m[1]);
    }
    assert.ok(blocks.some((b) => b.startsWith("event: ping\n")));
  });

  test("tool definitions and a tool_use / tool_result round trip are accepted", async () => {
    const m = await client.messages.create({
      model: "tiny-anthropic",
      max_tokens: 4,
      tools: [{ name: "get_weather", description: "Weather in a city", input_schema: { type: "object", properties: { location: { type: "string" } }, required: ["location"] } }],
      tool_choice: { type: "auto" },
      messages: [
        { role: "user", content: "What's the weather in Paris?" },
        { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "get_weather", input: { location: "Paris" } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "Sunny, 25°C" }, { type: "text", text: "And tomorrow?" }] },
      ],
    });
    assert.equal(m.type, "message");
    assert.ok(m.content.length > 0);
  });

  test("errors come in Anthropic's shape: bad input, a wrong key, an image this model cannot see", async () => {
    await assert.rejects(
      client.messages.create({ model: "x", max_tokens: 5, messages: [{ role: "user", content: [{ type: "text" } as never] }] }),
      (err: unknown) => {
        assert.ok(err instanceof Anthropic.BadRequestError, String(err));
        assert.deepEqual(err.error, { type: "error", error: { type: "invalid_request_error", message: "'messages[0].content[0].text' is required" } });
        return true;
      },
    );
    const missing = await postJson(`${server.url}/v1/messages`, { max_tokens: 5 }, auth);
    assert.equal(missing.status, 400);
    assert.equal(missing.json.type, "error");
    assert.match(missing.json.error.message, /'messages' is required/);

    const wrongKey = await postJson(`${server.url}/v1/messages`, { max_tokens: 5, messages: [] }, { "x-api-key": "nope" });
    assert.equal(wrongKey.status, 401);
    assert.deepEqual(wrongKey.json, { type: "error", error: { type: "authentication_error", message: "Invalid API Key" } });

    const badJson = await postJson(`${server.url}/v1/messages`, "{", auth);
    assert.equal(badJson.status, 400);
    assert.equal(badJson.json.type, "error", "a body that does not parse is answered in Anthropic's shape too");
    assert.equal(badJson.json.error.type, "invalid_request_error");

    const image = await postJson(`${server.url}/v1/messages`, {
      max_tokens: 5,
      messages: [{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } }, { type: "text", text: "What is this?" }] }],
    }, auth);
    assert.equal(image.status, 500);
    assert.equal(image.json.error.type, "api_error");
    assert.match(image.json.error.message, /image input is not supported/);
  });

  test("an empty conversation is answered, as llama-server does", async () => {
    const r = await postJson(`${server.url}/v1/messages`, { max_tokens: 3, messages: [] }, auth);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.type, "message");
  });
});
