// End to end against a real `corral -m` process with a generated model, through the official openai client.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { getTestModel } from "../helpers/models.js";
import { postJson, readSse, startServer, type RunningServer } from "../helpers/server.js";

describe("model server API (openai client)", () => {
  let server: RunningServer;
  let client: OpenAI;

  before(async () => {
    const model = await getTestModel("tiny");
    server = await startServer(["-m", model, "-np", "2", "-t", "1", "-c", "2048", "--embedding", "--metrics", "-a", "tiny-model,tm"]);
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused" });
  });
  after(async () => {
    await server?.stop();
  });

  test("lists the model with its alias and metadata", async () => {
    const list = await client.models.list();
    assert.equal(list.data.length, 1);
    const m = list.data[0] as unknown as { id: string; aliases: string[]; meta: { n_ctx_train: number; n_vocab: number } };
    assert.equal(m.id, "tiny-model", "the first alias in sorted order, as llama-server");
    assert.deepEqual(m.aliases, ["tiny-model", "tm"]);
    assert.ok(m.meta.n_vocab > 256);
  });

  test("chat completion returns text, usage and a finish reason", async () => {
    const r = await client.chat.completions.create({
      model: "tiny-model",
      messages: [{ role: "system", content: "be brief" }, { role: "user", content: [{ type: "text", text: "Hello there" }] }],
      max_tokens: 8,
      temperature: 0.7,
      seed: 3,
    });
    assert.equal(r.object, "chat.completion");
    assert.equal(r.choices[0]!.message.role, "assistant");
    assert.equal(typeof r.choices[0]!.message.content, "string");
    assert.ok(["stop", "length"].includes(r.choices[0]!.finish_reason));
    assert.ok(r.usage!.prompt_tokens > 5);
    assert.ok(r.usage!.completion_tokens >= 1 && r.usage!.completion_tokens <= 8);
    assert.equal(r.usage!.total_tokens, r.usage!.prompt_tokens + r.usage!.completion_tokens);
  });

  test("max_tokens limit gives finish_reason length with exactly that many tokens", async () => {
    const r = await client.chat.completions.create({
      model: "tiny-model",
      messages: [{ role: "user", content: "Count" }],
      max_tokens: 5,
      logit_bias: { "2": -100, "4": -100 }, // no </s>, no <|im_end|>: it cannot stop early
    });
    assert.equal(r.choices[0]!.finish_reason, "length");
    assert.equal(r.usage!.completion_tokens, 5);
  });

  test("logit_bias is an additive logit, as in OpenAI: +100 forces a token", async () => {
    const piece = await postJson(`${server.url}/tokenize`, { content: "the", with_pieces: true });
    const forced = piece.json.tokens.at(-1).id as number;
    const r = await postJson(`${server.url}/completion`, { prompt: "x", n_predict: 4, logit_bias: { [forced]: 100 }, temperature: 1 });
    const t = await postJson(`${server.url}/tokenize`, { content: r.json.content });
    assert.ok(t.json.tokens.filter((x: number) => x === forced).length >= 3, `expected token ${forced} repeated, got ${JSON.stringify(r.json.content)}`);
  });

  test("the same seed gives the same text", async () => {
    const ask = () =>
      client.chat.completions.create({ model: "tm", messages: [{ role: "user", content: "Say something" }], max_tokens: 12, seed: 42, temperature: 1 });
    const [a, b] = [await ask(), await ask()];
    assert.equal(a.choices[0]!.message.content, b.choices[0]!.message.content);
  });

  test("streaming sends a role chunk, content chunks, a finish chunk, a usage chunk and [DONE]", async () => {
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({
        model: "tiny-model",
        messages: [{ role: "user", content: "Stream please" }],
        max_tokens: 6,
        stream: true,
        stream_options: { include_usage: true },
        logit_bias: { "2": -100, "4": -100 },
      }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
    const events = await readSse(res);
    assert.equal(events.at(-1), "[DONE]");
    const chunks = events.slice(0, -1) as Array<{ object: string; choices: Array<{ delta: { role?: string; content?: string }; finish_reason: string | null }>; usage?: { completion_tokens: number } }>;
    assert.ok(chunks.every((c) => c.object === "chat.completion.chunk"));
    assert.equal(chunks[0]!.choices[0]!.delta.role, "assistant");
    const usageChunk = chunks.at(-1)!;
    assert.deepEqual(usageChunk.choices, []);
    assert.equal(usageChunk.usage!.completion_tokens, 6);
    const finish = chunks.at(-2)!;
    assert.equal(finish.choices[0]!.finish_reason, "length");
    const text = chunks.slice(1, -2).map((c) => c.choices[0]!.delta.content ?? "").join("");
    assert.ok(text.length > 0);
  });

  test("streaming through the openai client assembles the same text as non-streaming", async () => {
    const params = { model: "tiny-model", messages: [{ role: "user" as const, content: "Same?" }], max_tokens: 10, seed: 7, temperature: 0.9 };
    const plain = await client.chat.completions.create(params);
    const stream = await client.chat.completions.create({ ...params, stream: true });
    let text = "";
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(text, plain.choices[0]!.message.content);
    assert.equal(finish, plain.choices[0]!.finish_reason);
  });

  test("text completions (OpenAI) and /completion (llama.cpp native)", async () => {
    const r = await client.completions.create({ model: "tiny-model", prompt: "Once upon a time", max_tokens: 4, logit_bias: { "2": -100 } });
    assert.equal(r.object, "text_completion");
    assert.equal(r.choices[0]!.finish_reason, "length");
    assert.equal(r.usage!.completion_tokens, 4);

    const n = await postJson(`${server.url}/completion`, { prompt: "Once upon a time", n_predict: 3, logit_bias: [[2, false]] });
    assert.equal(n.status, 200);
    assert.equal(typeof n.json.content, "string");
    assert.equal(n.json.tokens_predicted, 3);
    assert.equal(n.json.stop_type, "limit");
    assert.ok(n.json.timings.predicted_n === 3);

    const s = await fetch(`${server.url}/completion`, { method: "POST", body: JSON.stringify({ prompt: "Hi", n_predict: 3, stream: true, logit_bias: [[2, false]] }) });
    const events = (await readSse(s)) as Array<{ content: string; stop: boolean }>;
    assert.ok(events.length >= 2);
    assert.equal(events.at(-1)!.stop, true);
    assert.ok(events.slice(0, -1).every((e) => e.stop === false));
  });

  test("stop strings cut the output and report finish_reason stop", async () => {
    // Greedy generation is deterministic: learn what comes out, then ask it to stop at a word in the middle.
    const base = { model: "tiny-model", prompt: "The", max_tokens: 30, temperature: 0, logit_bias: { "2": -100 } };
    const full = (await client.completions.create(base)).choices[0]!.text;
    assert.ok(full.length > 10, `greedy text too short: ${JSON.stringify(full)}`);
    const stopAt = full.slice(Math.floor(full.length / 2), Math.floor(full.length / 2) + 3);
    const cut = await client.completions.create({ ...base, stop: [stopAt] });
    assert.equal(cut.choices[0]!.finish_reason, "stop");
    assert.equal(cut.choices[0]!.text, full.slice(0, full.indexOf(stopAt)));
  });

  test("response_format json_schema gives JSON that parses and matches the schema", async () => {
    const r = await client.chat.completions.create({
      model: "tiny-model",
      messages: [{ role: "user", content: "Give me a flag" }],
      max_tokens: 64,
      response_format: {
        type: "json_schema",
        json_schema: { name: "flag", schema: { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"], additionalProperties: false } },
      },
    });
    const parsed = JSON.parse(r.choices[0]!.message.content!) as { ok: unknown };
    assert.equal(typeof parsed.ok, "boolean");
    assert.equal(r.choices[0]!.finish_reason, "stop");
  });

  test("multi-byte characters produced byte by byte arrive intact when streamed", async () => {
    // The grammar forces characters the vocabulary only has as byte-fallback tokens, one byte per token.
    const res = await fetch(`${server.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({ prompt: "x", max_tokens: 40, stream: true, grammar: 'root ::= "héllo 世界 🙂"' }),
    });
    const events = (await readSse(res)).slice(0, -1) as Array<{ choices: Array<{ text: string }> }>;
    const pieces = events.map((e) => e.choices[0]!.text);
    assert.equal(pieces.join(""), "héllo 世界 🙂");
    for (const p of pieces) assert.ok(!p.includes("\uFFFD"), `broken character in piece ${JSON.stringify(p)}`);
  });

  test("embeddings: float and base64 (the openai client's default)", async () => {
    const r = await client.embeddings.create({ model: "tiny-model", input: ["hello world", "goodbye"] });
    assert.equal(r.data.length, 2);
    const v = r.data[0]!.embedding;
    assert.ok(v.length > 0);
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    assert.ok(Math.abs(norm - 1) < 1e-3, `embedding should be L2-normalised, norm ${norm}`);
    assert.notDeepEqual(r.data[0]!.embedding, r.data[1]!.embedding);
    const f = await postJson(`${server.url}/v1/embeddings`, { input: "hello world", encoding_format: "float" });
    assert.equal(f.status, 200);
    assert.equal(f.json.data[0].embedding.length, v.length);
    f.json.data[0].embedding.forEach((x: number, i: number) => assert.ok(Math.abs(x - v[i]!) < 1e-5));
    assert.ok(r.usage.prompt_tokens > 0);
    const bad = await postJson(`${server.url}/v1/embeddings`, { input: [[1, 999999]] });
    assert.equal(bad.status, 400, "a token id outside the vocabulary is the client's mistake, not a 500");
    assert.match(bad.json.error.message, /'input\[0\]\[1\]' must be a token id/);
  });

  test("tokenize / detokenize round trip, with pieces, and apply-template", async () => {
    const text = "Hello world, héllo 世界";
    const t = await postJson(`${server.url}/tokenize`, { content: text });
    assert.equal(t.status, 200);
    assert.ok(Array.isArray(t.json.tokens) && t.json.tokens.length > 3);
    const d = await postJson(`${server.url}/detokenize`, { tokens: t.json.tokens });
    assert.equal(d.json.content, text);
    const p = await postJson(`${server.url}/tokenize`, { content: "Hello", with_pieces: true });
    assert.ok(p.json.tokens.every((x: { id: number; piece: string }) => typeof x.id === "number" && typeof x.piece === "string"));
    const a = await postJson(`${server.url}/apply-template`, { messages: [{ role: "user", content: "Hi" }] });
    assert.equal(a.json.prompt, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  });

  test("props, health and metrics", async () => {
    const props = await (await fetch(`${server.url}/props`)).json() as Record<string, any>;
    assert.equal(props.default_generation_settings.n_ctx, 1024);
    assert.equal(props.total_slots, 2);
    assert.match(props.model_path, /\.gguf$/);
    assert.match(props.chat_template, /im_start/);
    assert.equal(typeof props.build_info, "string");
    assert.deepEqual(await (await fetch(`${server.url}/health`)).json(), { status: "ok" });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /llamacpp:tokens_predicted_total \d+/);
    assert.match(metrics, /llamacpp:requests_processing 0/);
  });

  test("multi-turn chat reuses the slot's cached prefix", async () => {
    const turn1 = [{ role: "user" as const, content: "Remember the number seven." }];
    const r1 = await client.chat.completions.create({ model: "tiny-model", messages: turn1, max_tokens: 4 });
    const turn2 = [...turn1, { role: "assistant" as const, content: r1.choices[0]!.message.content ?? "" }, { role: "user" as const, content: "Which number?" }];
    const r2 = await client.chat.completions.create({ model: "tiny-model", messages: turn2, max_tokens: 4 });
    const cached = (r2.usage as unknown as { prompt_tokens_details: { cached_tokens: number } }).prompt_tokens_details.cached_tokens;
    assert.ok(cached >= r1.usage!.prompt_tokens - 1, `expected the first turn's ${r1.usage!.prompt_tokens} prompt tokens to be reused, got ${cached}`);
  });
});
