// The Anthropic Messages and OpenAI Responses APIs through the router, with the official SDKs, on every kind of
// engine: corral's own and llama-server (which answer both natively: the router forwards), and a remote server
// (which only speaks OpenAI chat completions: the router translates). The remote is a real `corral -m` reached
// as a preset's `proxy`, so the translated path runs real inference too. Random weights: shapes, not text.
import assert from "node:assert/strict";
import { copyFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { getTestModel, QUIET_BYTES } from "../helpers/models.js";
import { emptyDir, makeModelsDir, modelStatus, startRouter, testEngines, type TestEngine } from "../helpers/router.js";
import { postJson, startServer, type RunningServer } from "../helpers/server.js";

const KEY = "dialects-test-key";

type Variant = { name: string; skip: string | false; engine: TestEngine; remote: boolean };
const variants: Variant[] = [
  ...testEngines().map(({ engine, skip }) => ({ name: engine, skip, engine, remote: false })),
  { name: "remote (translated)", skip: false, engine: "node", remote: true },
];

/** Sampling fields the Anthropic SDK's types no longer list, sent as given. */
const sampling = (fields: { temperature?: number; top_k?: number }) => fields as {};

for (const v of variants) {
  describe(`router [${v.name}]: Anthropic Messages and OpenAI Responses`, { skip: v.skip }, () => {
    let router: RunningServer;
    let remote: RunningServer | undefined;
    let anthropic: Anthropic;
    let openai: OpenAI;
    const auth = { authorization: `Bearer ${KEY}` };

    before(async () => {
      // "idle" is never asked for anything it can serve: it must stay unloaded
      const dir = await makeModelsDir({ "idle.gguf": 2 }, QUIET_BYTES);
      const model = await getTestModel("tiny", { ...QUIET_BYTES, seed: 1 });
      let args: string[];
      if (v.remote) {
        remote = await startServer(["-m", model, "-t", "1", "-c", "1024", "-a", "m"]);
        const ini = path.join(emptyDir("corral-preset-"), "models.ini");
        writeFileSync(ini, `[m]\nproxy = ${remote.url}\n`);
        args = ["--models-dir", dir, "--models-preset", ini];
      } else {
        copyFileSync(model, path.join(dir, "m.gguf"));
        args = ["--models-dir", dir, "-c", "1024"];
      }
      router = await startRouter([...args, "--api-key", KEY], {}, v.engine);
      // Anthropic's SDK sends its key as x-api-key; OpenAI's as a bearer token
      anthropic = new Anthropic({ baseURL: router.url, apiKey: KEY, maxRetries: 0 });
      openai = new OpenAI({ baseURL: `${router.url}/v1`, apiKey: KEY, maxRetries: 0 });
    });
    after(async () => {
      await router?.stop();
      await remote?.stop();
    });

    test("Anthropic: a message, its token count, usage and stop reason", async () => {
      const request = { model: "m", system: "Be brief.", messages: [
        { role: "user" as const, content: "Hello" },
        { role: "assistant" as const, content: "Hi!" },
        { role: "user" as const, content: [{ type: "text" as const, text: "How are you?" }] },
      ] };
      const counted = await anthropic.messages.countTokens(request);
      assert.ok(counted.input_tokens > 5, JSON.stringify(counted));
      const m = await anthropic.messages.create({ ...request, max_tokens: 6, stop_sequences: ["\n\n"], metadata: { user_id: "u1" }, ...sampling({ temperature: 0.7, top_k: 20 }) });
      assert.equal(m.type, "message");
      assert.equal(m.role, "assistant");
      // llama-server's own Messages API keeps its chat ids (chatcmpl-…); the router forwards its answers as they are
      if (v.engine !== "llama-server" || v.remote) assert.match(m.id, /^msg_/);
      assert.equal(m.model, "m");
      assert.ok(m.content.every((b) => b.type === "text"), JSON.stringify(m.content));
      assert.ok(m.usage.output_tokens >= 1 && m.usage.output_tokens <= 6, JSON.stringify(m.usage));
      assert.ok(m.usage.input_tokens + (m.usage.cache_read_input_tokens ?? 0) > 5, JSON.stringify(m.usage));
      assert.ok(["end_turn", "max_tokens", "stop_sequence"].includes(m.stop_reason!), String(m.stop_reason));
    });

    test("Anthropic: a stream has Anthropic's event sequence and ends with the final usage", async () => {
      const stream = anthropic.messages.stream({ model: "m", max_tokens: 6, messages: [{ role: "user", content: "Tell me" }] });
      const types: string[] = [];
      for await (const ev of stream) types.push(ev.type);
      const final = await stream.finalMessage();
      assert.equal(types[0], "message_start");
      assert.equal(types.at(-1), "message_stop");
      assert.equal(types.at(-2), "message_delta");
      assert.ok(types.includes("content_block_start") && types.includes("content_block_stop"), types.join(","));
      assert.ok(final.usage.output_tokens >= 1, JSON.stringify(final.usage));
      assert.ok(final.stop_reason !== null);
    });

    test("Anthropic: a tool round trip (tool_use and tool_result in the history) is answered", async () => {
      const m = await anthropic.messages.create({
        model: "m", max_tokens: 4,
        tools: [{ name: "get_weather", description: "Weather for a city", input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }],
        messages: [
          { role: "user", content: "Weather in Paris?" },
          { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } }] },
          { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "sunny, 21 C" }] },
        ],
      });
      assert.equal(m.type, "message");
      assert.ok(m.usage.input_tokens + (m.usage.cache_read_input_tokens ?? 0) > 20, "the tool definitions and results are in the prompt");
    });

    test("Anthropic: errors in Anthropic's shape with the right status, for the SDK and on the wire", async () => {
      await assert.rejects(anthropic.messages.create({ model: "nope", max_tokens: 4, messages: [{ role: "user", content: "x" }] }), (e: unknown) => {
        assert.ok(e instanceof Anthropic.NotFoundError, String(e));
        return true;
      });
      const bad = await postJson(`${router.url}/v1/messages`, { model: "m", max_tokens: 4, messages: "hello" }, { "x-api-key": KEY });
      assert.equal(bad.status, 400);
      assert.equal(bad.json.type, "error");
      assert.equal(bad.json.error.type, "invalid_request_error");
      assert.match(bad.json.error.message, /messages/);
      const noKey = await postJson(`${router.url}/v1/messages`, { model: "m", max_tokens: 4, messages: [] });
      assert.equal(noKey.status, 401);
      assert.equal(noKey.json.error.type, "authentication_error");
    });

    test("Responses: plain, with instructions, and a function-call round trip", async () => {
      const r = await openai.responses.create({ model: "m", input: "Hello", instructions: "Be brief.", max_output_tokens: 5, temperature: 0.5 });
      assert.equal(r.object, "response");
      assert.equal(r.status, "completed");
      assert.equal(typeof r.output_text, "string");
      assert.ok(r.usage!.output_tokens >= 1 && r.usage!.output_tokens <= 5, JSON.stringify(r.usage));
      const tools: OpenAI.Responses.Tool[] = [{ type: "function", name: "get_weather", strict: false, parameters: { type: "object", properties: { city: { type: "string" } } } }];
      const round = await openai.responses.create({
        model: "m", max_output_tokens: 4, tools,
        input: [
          { role: "user", content: "Weather in Paris?" },
          { type: "function_call", call_id: "call_1", name: "get_weather", arguments: "{\"city\":\"Paris\"}" },
          { type: "function_call_output", call_id: "call_1", output: "sunny" },
        ],
      });
      assert.equal(round.status, "completed");
      assert.ok(round.usage!.input_tokens > 20, JSON.stringify(round.usage));
    });

    test("Responses: a stream goes from response.created to response.completed", async () => {
      const stream = await openai.responses.create({ model: "m", input: [{ role: "user", content: "Tell me" }], max_output_tokens: 5, stream: true });
      const types: string[] = [];
      let completed: OpenAI.Responses.Response | undefined;
      for await (const ev of stream) {
        types.push(ev.type);
        if (ev.type === "response.completed") completed = ev.response;
      }
      assert.equal(types[0], "response.created");
      assert.equal(types.at(-1), "response.completed");
      assert.ok(completed && completed.usage!.output_tokens >= 1, JSON.stringify(completed?.usage));
    });

    test("bad Responses input is a 400 in OpenAI's shape", async () => {
      const r = await postJson(`${router.url}/v1/responses`, { model: "m", input: 42 }, auth);
      assert.equal(r.status, 400);
      assert.match(r.json.error.message, /input/);
    });

    if (!v.remote && v.engine === "node") {
      test("a path the engine lacks, or an image it cannot see, is refused without loading the model", async () => {
        const infill = await postJson(`${router.url}/infill`, { model: "idle", input_prefix: "a", input_suffix: "b" }, auth);
        assert.equal(infill.status, 404);
        assert.match(infill.json.error.message, /infill/);
        const image = await postJson(`${router.url}/v1/messages`, {
          model: "idle", max_tokens: 4,
          messages: [{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } }] }],
        }, auth);
        assert.equal(image.status, 400);
        assert.equal(image.json.type, "error");
        assert.match(image.json.error.message, /cannot take images/);
        assert.equal((await modelStatus(router.url, "idle"))!.status.value, "unloaded");
      });
    }
  });
}
