// End to end: Ollama's API on a real `corral -m` process, through Ollama's own JavaScript client and, for the wire
// format and the errors, plain fetch. Random weights write random text: only shapes, counts and flags are checked.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Ollama, type Message } from "ollama";
import { getTestModel } from "../helpers/models.js";
import { postJson, startServer, type RunningServer } from "../helpers/server.js";

const KEY = "ollama-test-key";
const MODEL = "tiny-ollama";
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]).toString("base64");

describe("model server: Ollama API", () => {
  let server: RunningServer;
  let client: Ollama;
  const auth = { authorization: `Bearer ${KEY}` };

  before(async () => {
    const model = await getTestModel("tiny");
    server = await startServer(["-m", model, "-np", "1", "-t", "1", "-c", "1024", "--embeddings", "--api-key", KEY, "-a", MODEL]);
    client = new Ollama({ host: server.url, headers: auth });
  });
  after(async () => {
    await server?.stop();
  });

  const ask = (path: string, body: unknown) => postJson(`${server.url}${path}`, body, auth);
  const user = (content: string): Message => ({ role: "user", content });

  test("HEAD / answers 200 for clients that probe it, and /api/version, both without a key", async () => {
    const res = await fetch(`${server.url}/`, { method: "HEAD" });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "");
    const { version } = await new Ollama({ host: server.url }).version();
    assert.match(version, /^\d+\.\d+\.\d+$/);
  });

  test("list, ps and show describe the one model from its GGUF header", async () => {
    const { models } = await client.list();
    assert.equal(models.length, 1);
    const m = models[0]!;
    assert.equal(m.name, MODEL);
    assert.equal(m.model, MODEL);
    assert.ok(m.size > 100_000, String(m.size));
    assert.match(m.digest, /^[0-9a-f]{64}$/);
    assert.ok(!Number.isNaN(new Date(m.modified_at).getTime()));
    assert.deepEqual(m.details, { parent_model: "", format: "gguf", family: "llama", families: ["llama"], parameter_size: m.details.parameter_size, quantization_level: "F16" });
    assert.match(m.details.parameter_size, /^\d+(\.\d+)?[KMB]$/);

    const ps = await client.ps();
    assert.equal(ps.models.length, 1);
    const p = ps.models[0]! as typeof ps.models[0] & { context_length?: number };
    assert.equal(p.name, MODEL);
    assert.equal(p.digest, m.digest);
    assert.equal(p.size_vram, 0);
    assert.equal(p.context_length, 1024);
    assert.ok(new Date(p.expires_at).getUTCFullYear() > 2300, "one model, never unloaded");

    const show = await client.show({ model: `${MODEL}:latest` });
    assert.deepEqual(show.capabilities, ["completion", "tools", "embedding"]);
    assert.match(show.template, /im_start/);
    assert.deepEqual(show.details, m.details);
    const info = show.model_info as unknown as Record<string, unknown>;
    assert.equal(info["general.architecture"], "llama");
    assert.equal(typeof info["general.parameter_count"], "number");
    assert.equal(info["llama.context_length"], 4096);
    assert.match(show.parameters, /^num_ctx +1024$/m);
    assert.match(show.modelfile, /^FROM .*\.gguf$/m);
    // Ollama before 0.4 called the field `name`
    const legacy = await ask("/api/show", { name: MODEL });
    assert.equal(legacy.status, 200);
    assert.deepEqual(legacy.json.capabilities, show.capabilities);
  });

  test("chat, whole: a message, done, counts that match the prompt the chat endpoint counts", async () => {
    const messages = [{ role: "system", content: "Be brief." }, user("Hello")];
    const r = await client.chat({ model: MODEL, messages, stream: false, options: { num_predict: 5, temperature: 0.5, top_k: 40 } });
    assert.equal(r.model, MODEL);
    assert.equal(r.message.role, "assistant");
    assert.equal(typeof r.message.content, "string");
    assert.equal(r.done, true);
    assert.ok(["stop", "length"].includes(r.done_reason), r.done_reason);
    assert.ok(r.eval_count >= 1 && r.eval_count <= 5, String(r.eval_count));
    if (r.eval_count < 5) assert.equal(r.done_reason, "stop");
    const counted = await ask("/v1/chat/completions/input_tokens", { messages });
    assert.equal(r.prompt_eval_count, counted.json.input_tokens);
    assert.ok(r.total_duration > 0 && r.total_duration >= r.eval_duration, `${r.total_duration} ${r.eval_duration}`);
    assert.ok(r.prompt_eval_duration > 0);
    assert.equal(r.load_duration, 0);
  });

  test("chat, streamed: pieces with done false, then one done object; the same text as the whole answer", async () => {
    const request = { model: MODEL, messages: [user("Say hello")], options: { num_predict: 8, temperature: 0, top_k: 1 } };
    const parts = [];
    for await (const p of await client.chat({ ...request, stream: true })) parts.push(p);
    const last = parts.at(-1)!;
    assert.equal(last.done, true);
    assert.equal(last.message.content, "");
    assert.ok(parts.slice(0, -1).every((p) => p.done === false && p.message.role === "assistant"));
    assert.ok(last.eval_count >= 1 && last.eval_count <= 8);
    const text = parts.map((p) => p.message.content).join("");
    const whole = await client.chat({ ...request, stream: false });
    assert.equal(whole.message.content, text);
    assert.equal(whole.eval_count, last.eval_count);
    assert.equal(whole.done_reason, last.done_reason);
  });

  test("the wire format: application/x-ndjson, one JSON object per line, stream on by default", async () => {
    const res = await fetch(`${server.url}/api/chat`, {
      method: "POST",
      headers: { "content-type": "application/json", ...auth },
      body: JSON.stringify({ model: MODEL, messages: [user("Hi")], options: { num_predict: 3 } }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/x-ndjson");
    const lines = (await res.text()).split("\n");
    assert.equal(lines.pop(), "", "ends with a newline");
    const objects = lines.map((l) => JSON.parse(l));
    assert.ok(objects.length >= 2);
    assert.equal(objects.filter((o) => o.done).length, 1);
    assert.equal(objects.at(-1).done, true);
  });

  test("generate: templated and raw, whole and streamed", async () => {
    const whole = await client.generate({ model: MODEL, prompt: "Once upon a time", system: "Tell a story.", options: { num_predict: 4 } });
    assert.equal(typeof whole.response, "string");
    assert.equal(whole.done, true);
    assert.ok(whole.eval_count >= 1 && whole.eval_count <= 4);
    assert.ok(whole.prompt_eval_count > 4, "the template wraps the prompt");

    const raw = await client.generate({ model: MODEL, prompt: "Once upon a time", raw: true, options: { num_predict: 4 } });
    assert.equal(raw.done, true);
    assert.ok(raw.prompt_eval_count < whole.prompt_eval_count, `${raw.prompt_eval_count} >= ${whole.prompt_eval_count}`);

    for (const rawMode of [false, true]) {
      const parts = [];
      for await (const p of await client.generate({ model: MODEL, prompt: "Hello", raw: rawMode, stream: true, options: { num_predict: 4 } })) parts.push(p);
      const last = parts.at(-1)!;
      assert.equal(last.done, true);
      assert.equal(last.response, "");
      assert.ok(["stop", "length"].includes(last.done_reason));
      assert.ok(parts.slice(0, -1).every((p) => p.done === false && typeof p.response === "string"));
      assert.ok(last.eval_count >= 1 && last.eval_count <= 4);
    }
  });

  test("format json and a schema constrain the answer", async () => {
    const schema = { type: "object", properties: { n: { type: "integer" } }, required: ["n"] };
    const r = await client.chat({ model: MODEL, messages: [user("A number?")], format: schema, stream: false, options: { num_predict: 64 } });
    if (r.done_reason === "stop") assert.equal(typeof JSON.parse(r.message.content).n, "number");
    else assert.match(r.message.content, /^\{/);
  });

  test("load and unload: no messages, no prompt", async () => {
    const load = await ask("/api/chat", { model: MODEL, messages: [] });
    assert.equal(load.status, 200);
    assert.deepEqual({ ...load.json, created_at: undefined }, { model: MODEL, created_at: undefined, message: { role: "assistant", content: "" }, done: true, done_reason: "load" });
    const unload = await ask("/api/generate", { model: MODEL, keep_alive: 0 });
    assert.equal(unload.json.done_reason, "unload");
    assert.equal(unload.json.response, "");
    // nothing is unloaded on -m: the model still answers
    const r = await client.generate({ model: MODEL, prompt: "Hi", options: { num_predict: 1 } });
    assert.equal(r.done, true);
  });

  test("tools: an assistant's tool call and the tool's result render as the chat endpoint renders them", async () => {
    const tools = [{ type: "function", function: { name: "get_weather", description: "Weather in a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } }];
    const r = await client.chat({
      model: MODEL,
      stream: false,
      tools,
      options: { num_predict: 2 },
      messages: [
        user("Weather in Paris?"),
        { role: "assistant", content: "", tool_calls: [{ function: { name: "get_weather", arguments: { city: "Paris" } } }] },
        { role: "tool", content: "Sunny, 25C", tool_name: "get_weather" },
      ],
    });
    assert.equal(r.done, true);
    const openai = {
      tools,
      messages: [
        { role: "user", content: "Weather in Paris?" },
        { role: "assistant", content: "", tool_calls: [{ id: "call_1_0", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
        { role: "tool", tool_call_id: "call_1_0", content: "Sunny, 25C" },
      ],
    };
    const rendered = await ask("/apply-template", openai);
    assert.match(rendered.json.prompt, /<tool_call>\n\{"name": "get_weather", "arguments": \{"city": "Paris"\}\}\n<\/tool_call>/);
    assert.match(rendered.json.prompt, /<tool_response>\nSunny, 25C\n<\/tool_response>/);
    const counted = await ask("/v1/chat/completions/input_tokens", openai);
    assert.equal(r.prompt_eval_count, counted.json.input_tokens);
  });

  test("embed and the legacy embeddings", async () => {
    const e = await client.embed({ model: MODEL, input: ["the sky", "is blue today"] });
    assert.equal(e.model, MODEL);
    assert.equal(e.embeddings.length, 2);
    assert.equal(e.embeddings[0]!.length, 64);
    assert.equal(e.embeddings[1]!.length, 64);
    const norm = Math.hypot(...e.embeddings[0]!);
    assert.ok(Math.abs(norm - 1) < 1e-6, String(norm));
    assert.ok(e.prompt_eval_count >= 4);
    const one = await client.embeddings({ model: MODEL, prompt: "the sky" });
    assert.equal(one.embedding.length, 64);
    one.embedding.forEach((x, i) => assert.ok(Math.abs(x - e.embeddings[0]![i]!) < 1e-6));
    const short = await client.embed({ model: MODEL, input: "the sky", dimensions: 8 });
    assert.equal(short.embeddings[0]!.length, 8);
  });

  test("errors are Ollama's {error}: an unknown model is a 404 the client throws as ResponseError", async () => {
    for (const call of [
      () => client.chat({ model: "nope", messages: [user("Hi")] }),
      () => client.chat({ model: "nope", messages: [user("Hi")], stream: true }),
      () => client.generate({ model: "nope:7b", prompt: "Hi" }),
      () => client.embed({ model: "nope", input: "x" }),
      () => client.show({ model: "nope" }),
    ]) {
      await assert.rejects(call(), (err: any) => {
        assert.equal(err.name, "ResponseError");
        assert.equal(err.status_code, 404);
        assert.match(err.error, /^model 'nope(:7b)?' not found$/);
        return true;
      });
    }
  });

  test("bad requests are 400s with {error}, before and after the body parses, and without a key a 401", async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ["/api/chat", { model: MODEL, messages: "Hi" }, /'messages' must be an array/],
      ["/api/chat", { model: MODEL, messages: [user("Hi")], keep_alive: "forever" }, /'keep_alive'/],
      ["/api/chat", { model: MODEL, messages: [user("Hi")], options: { temperature: "warm" } }, /'options\.temperature'/],
      ["/api/chat", { messages: [user("Hi")] }, /^model is required$/],
      ["/api/generate", { model: MODEL, prompt: "x", suffix: "y" }, /'suffix'/],
      ["/api/chat", { model: MODEL, messages: [{ role: "user", content: "What is this?", images: [PNG] }] }, /cannot take images/],
      ["/api/chat", "{not json", /invalid JSON/],
    ];
    for (const [path, body, message] of cases) {
      const r = await ask(path, body);
      assert.equal(r.status, 400, `${path} ${JSON.stringify(body)}: ${JSON.stringify(r.json)}`);
      assert.deepEqual(Object.keys(r.json), ["error"]);
      assert.match(r.json.error, message);
    }
    await assert.rejects(client.chat({ model: MODEL, messages: [user("Hi")], keep_alive: "1 hour" }), (err: any) => err.status_code === 400);
    const noKey = await postJson(`${server.url}/api/chat`, { model: MODEL, messages: [user("Hi")] });
    assert.equal(noKey.status, 401);
    assert.deepEqual(noKey.json, { error: "Invalid API Key" });
    const unknown = await ask("/api/pull", { model: MODEL });
    assert.equal(unknown.status, 404);
    assert.deepEqual(Object.keys(unknown.json), ["error"]);
  });
});
