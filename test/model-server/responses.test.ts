// End to end: OpenAI's Responses API on a real `corral -m` process, through the official openai client and, for
// the /responses alias and llama.cpp's telemetry, plain fetch.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { getTestModel } from "../helpers/models.js";
import { postJson, startServer, type RunningServer } from "../helpers/server.js";

describe("model server: OpenAI Responses API", () => {
  let server: RunningServer;
  let client: OpenAI;

  before(async () => {
    server = await startServer(["-m", await getTestModel("tiny"), "-np", "1", "-t", "1", "-c", "1024"]);
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  after(async () => {
    await server?.stop();
  });

  const input = [
    { role: "system" as const, content: "Book" },
    { role: "user" as const, content: "What is the best book" },
  ];

  test("a response: ids, output_text, usage that adds up to the counted input", async () => {
    const counted = await postJson(`${server.url}/v1/responses/input_tokens`, { input });
    assert.equal(counted.status, 200);
    assert.equal(counted.json.object, "response.input_tokens");
    const r = await client.responses.create({ model: "gpt-4.1", input, max_output_tokens: 8, temperature: 0.8 });
    assert.match(r.id, /^resp_/);
    assert.equal(r.status, "completed");
    assert.match(r.output[0]!.id!, /^msg_/);
    assert.equal(typeof r.output_text, "string");
    assert.equal(r.usage!.input_tokens, counted.json.input_tokens);
    assert.ok(r.usage!.output_tokens >= 1 && r.usage!.output_tokens <= 8);
    assert.equal(r.usage!.total_tokens, r.usage!.input_tokens + r.usage!.output_tokens);
  });

  test("a stream through the client: the deltas make the completed response's text", async () => {
    const stream = await client.responses.create({ model: "gpt-4.1", input, max_output_tokens: 8, temperature: 0, top_p: 1, stream: true });
    let gathered = "";
    let respId = "";
    let msgId = "";
    let completed: OpenAI.Responses.Response | undefined;
    for await (const e of stream) {
      if (e.type === "response.created") respId = e.response.id;
      if (e.type === "response.output_item.added") msgId = e.item.id!;
      if (e.type === "response.output_text.delta") {
        assert.equal(e.item_id, msgId);
        gathered += e.delta;
      }
      if (e.type === "response.completed") completed = e.response;
    }
    assert.ok(completed, "no response.completed");
    assert.equal(completed.id, respId);
    assert.equal(completed.output[0]!.id, msgId);
    assert.equal(completed.output_text ?? (completed.output[0] as any).content[0].text, gathered);
  });

  test("/responses with llama.cpp's telemetry: the final timings on response.completed", async () => {
    const res = await fetch(`${server.url}/responses`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input: "This is a test", max_output_tokens: 4, stream: true, timings_per_token: true, return_progress: true }),
    });
    assert.equal(res.status, 200);
    const blocks = (await res.text()).split("\n\n").filter((b) => b.trim() !== "");
    const events = blocks.map((b) => {
      const m = /^event: ([\w.]+)\ndata: (.*)$/.exec(b);
      assert.ok(m, `not an event/data pair: ${JSON.stringify(b)}`);
      const data = JSON.parse(m[2]!);
      assert.equal(data.type, m[1]);
      return data;
    });
    assert.deepEqual(events.map((e) => e.sequence_number), events.map((_, i) => i));
    const completed = events.at(-1);
    assert.equal(completed.type, "response.completed");
    assert.ok(completed.timings.predicted_n >= 1, JSON.stringify(completed.timings));
    assert.equal(completed.response.usage.output_tokens, completed.timings.predicted_n);
  });

  test("bad input is an OpenAI-shaped 400 naming the field", async () => {
    const r = await postJson(`${server.url}/v1/responses`, { input: [{ type: "function_call", name: "f", arguments: "{}" }] });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.type, "invalid_request_error");
    assert.match(r.json.error.message, /'input\[0\]\.call_id' is required/);
    const noStore = await postJson(`${server.url}/v1/responses`, { input: "hi", previous_response_id: "resp_1" });
    assert.equal(noStore.status, 400);
    assert.match(noStore.json.error.message, /'previous_response_id'/);
  });
});
