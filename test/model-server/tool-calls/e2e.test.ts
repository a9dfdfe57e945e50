// Tool calls through a real `corral -m` process. A random-weights model never calls a tool on its own, but
// tool_choice "required" (or a named function) constrains it with the grammar of the template's family, so it
// must write a call in that family's format: the answer then goes through the same parser as a real model's, whole
// and streamed. Tools are given enum-only arguments so that a random model has nothing to ramble on.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import path from "node:path";
import OpenAI from "openai";
import { getTestModel } from "../../helpers/models.js";
import { postJson, readSse, startServer, type RunningServer } from "../../helpers/server.js";
import { TEMPLATE_DIR } from "./helpers.js";

const WEATHER = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Weather for a city",
    parameters: { type: "object", properties: { city: { enum: ["Paris", "Lyon"] }, unit: { enum: ["c", "f"] } }, required: ["city", "unit"], additionalProperties: false },
  },
} as const;
const TIME = {
  type: "function",
  function: {
    name: "get_time",
    description: "Time in a timezone",
    parameters: { type: "object", properties: { tz: { const: "UTC" } }, required: ["tz"], additionalProperties: false },
  },
} as const;
const MESSAGES = [{ role: "user", content: "What is the weather in Paris?" }];

interface Chunk {
  choices: Array<{ delta: { role?: string; content?: string | null; tool_calls?: Array<{ index: number; id?: string; type?: string; function: { name?: string; arguments?: string } }> }; finish_reason: string | null }>;
}

/** The calls a stream of chunks adds up to, checking that each call's first delta carries its id and name. */
function streamedCalls(chunks: Chunk[]) {
  const calls: Array<{ id: string; name: string; arguments: string }> = [];
  let content = "";
  for (const c of chunks) {
    for (const choice of c.choices) {
      content += choice.delta.content ?? "";
      for (const tc of choice.delta.tool_calls ?? []) {
        if (!calls[tc.index]) {
          assert.equal(tc.type, "function");
          calls[tc.index] = { id: tc.id!, name: tc.function.name!, arguments: tc.function.arguments ?? "" };
        } else {
          assert.equal(tc.function.name, undefined);
          calls[tc.index]!.arguments += tc.function.arguments ?? "";
        }
      }
    }
  }
  return { calls, content };
}

function checkWeatherCall(call: { name: string; arguments: string } | undefined): void {
  assert.equal(call?.name, "get_weather");
  const args = JSON.parse(call!.arguments) as { city: string; unit: string };
  assert.ok(["Paris", "Lyon"].includes(args.city) && ["c", "f"].includes(args.unit), call!.arguments);
}

describe("tool calls end to end (default template: Hermes)", () => {
  let server: RunningServer;
  let client: OpenAI;
  before(async () => {
    server = await startServer(["-m", await getTestModel("tiny"), "-t", "1", "-c", "2048", "-np", "1"]);
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "x" });
  });
  after(async () => {
    await server?.stop();
  });

  test("tools reach the prompt; tool_choice none takes them out", async () => {
    const count = async (extra: object) =>
      (await postJson(`${server.url}/v1/chat/completions`, { messages: MESSAGES, max_tokens: 1, ...extra })).json.usage.prompt_tokens as number;
    const bare = await count({});
    assert.ok((await count({ tools: [WEATHER] })) > bare + 20);
    assert.equal(await count({ tools: [WEATHER], tool_choice: "none" }), bare);
  });

  test("tool_choice required: the answer is a call, as tool_calls with finish_reason tool_calls", async () => {
    const r = await client.chat.completions.create({
      model: "x", messages: MESSAGES, tools: [WEATHER, TIME], tool_choice: "required", parallel_tool_calls: false, max_tokens: 200, seed: 1,
    } as never) as OpenAI.ChatCompletion;
    const choice = r.choices[0]!;
    assert.equal(choice.finish_reason, "tool_calls");
    assert.equal(choice.message.content, null);
    assert.equal(choice.message.tool_calls!.length, 1);
    const call = choice.message.tool_calls![0]! as { id: string; type: string; function: { name: string; arguments: string } };
    assert.match(call.id, /^call_[A-Za-z0-9]{24}$/);
    assert.equal(call.type, "function");
    if (call.function.name === "get_weather") checkWeatherCall(call.function);
    else assert.deepEqual([call.function.name, JSON.parse(call.function.arguments)], ["get_time", { tz: "UTC" }]);
  });

  test("a named function is the one called, streamed as tool_calls deltas that the openai client adds up", async () => {
    const body = { model: "x", messages: MESSAGES, tools: [WEATHER, TIME], tool_choice: { type: "function", function: { name: "get_weather" } }, parallel_tool_calls: false, max_tokens: 200 };
    const res = await fetch(`${server.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...body, stream: true }) });
    const events = await readSse(res);
    assert.equal(events.at(-1), "[DONE]");
    const chunks = events.slice(0, -1) as Chunk[];
    assert.equal(chunks[0]!.choices[0]!.delta.role, "assistant");
    assert.equal(chunks.at(-1)!.choices[0]!.finish_reason, "tool_calls");
    const { calls, content } = streamedCalls(chunks);
    assert.equal(content, "", "no marker text leaks out as content");
    assert.equal(calls.length, 1);
    checkWeatherCall(calls[0]);

    const stream = client.chat.completions.stream(body as never);
    const final = await stream.finalChatCompletion();
    assert.equal(final.choices[0]!.finish_reason, "tool_calls");
    checkWeatherCall(final.choices[0]!.message.tool_calls?.[0]?.function as { name: string; arguments: string });
  });

  test("tool_choice none: a call-shaped answer stays content", async () => {
    const grammar = 'root ::= "<tool_call>{\\"name\\": \\"get_weather\\", \\"arguments\\": {}}</tool_call>"';
    const r = await postJson(`${server.url}/v1/chat/completions`, { messages: MESSAGES, tools: [WEATHER], tool_choice: "none", grammar, max_tokens: 60 });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.choices[0].message.tool_calls, undefined);
    assert.match(r.json.choices[0].message.content, /^<tool_call>/);
  });

  test("bad tool fields are 400s that name the field", async () => {
    const cases: Array<[object, RegExp]> = [
      [{ tools: [{ type: "retrieval" }] }, /tools\[0\]\.type/],
      [{ tools: [WEATHER], tool_choice: "sometimes" }, /tool_choice/],
      [{ tools: [WEATHER], tool_choice: { type: "function", function: { name: "nope" } } }, /nope/],
    ];
    for (const [extra, message] of cases) {
      const r = await postJson(`${server.url}/v1/chat/completions`, { messages: MESSAGES, max_tokens: 1, ...extra });
      assert.equal(r.status, 400, JSON.stringify(extra));
      assert.match(r.json.error.message, message);
    }
  });
});

// Other families, through their real templates (--chat-template-file): the forced call is written in the
// family's format, and parsed back by the family's parser.
const FAMILIES: Array<[string, RegExp, object?]> = [
  ["meta-llama-Llama-3.1-8B-Instruct.jinja", /^call_/],
  ["Mistral-Small-3.2-24B-Instruct-2506.jinja", /^[A-Za-z0-9]{9}$/],
  ["mistralai-Mistral-Nemo-Instruct-2407.jinja", /^[A-Za-z0-9]{9}$/],
  // thinking off: a random model would think aloud until max_tokens before the call
  ["Qwen3.5-4B.jinja", /^call_/, { chat_template_kwargs: { enable_thinking: false } }],
];
for (const [file, idShape, extra] of FAMILIES) {
  describe(`tool calls end to end (${file})`, () => {
    let server: RunningServer;
    before(async () => {
      server = await startServer(["-m", await getTestModel("tiny"), "-t", "1", "-c", "4096", "-np", "1", "--chat-template-file", path.join(TEMPLATE_DIR, file)]);
    });
    after(async () => {
      await server?.stop();
    });

    test("a forced call comes back as tool_calls, whole and streamed", async () => {
      const body = { messages: MESSAGES, tools: [WEATHER], tool_choice: "required", parallel_tool_calls: false, max_tokens: 300, seed: 7, ...extra };
      const r = await postJson(`${server.url}/v1/chat/completions`, body);
      assert.equal(r.status, 200, JSON.stringify(r.json));
      const choice = r.json.choices[0];
      assert.equal(choice.finish_reason, "tool_calls", JSON.stringify(choice));
      assert.equal(choice.message.tool_calls.length, 1);
      assert.match(choice.message.tool_calls[0].id, idShape);
      checkWeatherCall(choice.message.tool_calls[0].function);

      const res = await fetch(`${server.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...body, stream: true }) });
      const chunks = (await readSse(res)).slice(0, -1) as Chunk[];
      assert.equal(chunks.at(-1)!.choices[0]!.finish_reason, "tool_calls");
      const streamed = streamedCalls(chunks);
      assert.equal(streamed.calls.length, 1);
      // the same seed and prompt: the same call, whether whole or streamed
      assert.equal(streamed.calls[0]!.arguments, choice.message.tool_calls[0].function.arguments);
      assert.equal(streamed.content, choice.message.content ?? "");
    });
  });
}
