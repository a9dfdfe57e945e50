// End to end against a real `corral -m` process: the generation features llama-server users rely on beyond plain
// text (token probabilities, several choices and prompts, slots, settings, progress, debug output, structured
// output, built-in chat formats, assistant prefill).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { getTestModel } from "../helpers/models.js";
import { postJson, readSse, startServer, type RunningServer } from "../helpers/server.js";

interface ProbEntry {
  id: number;
  token: string;
  bytes: number[];
  logprob?: number;
  prob?: number;
  top_logprobs?: Array<{ id: number; token: string; bytes: number[]; logprob: number }>;
  top_probs?: Array<{ id: number; token: string; bytes: number[]; prob: number }>;
}

const PROMPT = "Once upon a time there was";
/** Forces characters the tiny vocabulary only has as byte-fallback tokens, one byte per token. */
const BYTE_GRAMMAR = 'root ::= "héllo 世界 🙂"';

async function stream(url: string, body: object): Promise<any[]> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...body, stream: true }) });
  assert.equal(res.status, 200);
  return (await readSse(res)).filter((e) => typeof e === "object");
}

describe("generation features", () => {
  let server: RunningServer;
  let client: OpenAI;
  let completion: string;
  let chat: string;

  before(async () => {
    server = await startServer(["-m", await getTestModel("tiny"), "-np", "2", "-t", "1", "-c", "1024", "-b", "16", "--temp", "0"]);
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused" });
    completion = `${server.url}/completion`;
    chat = `${server.url}/v1/chat/completions`;
  });
  after(async () => {
    await server?.stop();
  });

  describe("token probabilities", () => {
    test("n_probs: one entry per token, greedy picks the most likely, texts add up to the content", async () => {
      const r = await postJson(completion, { prompt: PROMPT, n_predict: 6, n_probs: 4, ignore_eos: true });
      assert.equal(r.status, 200);
      const probs = r.json.completion_probabilities as ProbEntry[];
      assert.equal(probs.length, 6);
      assert.equal(probs.map((p) => p.token).join(""), r.json.content);
      for (const p of probs) {
        assert.equal(p.top_logprobs!.length, 4);
        assert.ok(p.logprob! <= 0);
        // temperature 0: the sampled token is the first alternative, with the same log-probability
        assert.equal(p.id, p.top_logprobs![0]!.id);
        assert.equal(p.logprob, p.top_logprobs![0]!.logprob);
        const lps = p.top_logprobs!.map((t) => t.logprob);
        assert.deepEqual(lps, [...lps].sort((a, b) => b - a), "alternatives come most likely first");
        for (const t of p.top_logprobs!) assert.equal(Buffer.from(t.bytes).toString("utf8"), t.token);
      }
    });

    test("byte-fallback tokens: bytes rebuild the text and token texts still add up to it", async () => {
      const r = await postJson(completion, { prompt: "x", n_predict: 40, n_probs: 2, grammar: BYTE_GRAMMAR });
      assert.equal(r.json.content, "héllo 世界 🙂");
      const probs = r.json.completion_probabilities as ProbEntry[];
      assert.equal(probs.length, r.json.tokens_predicted);
      assert.equal(probs.map((p) => p.token).join(""), "héllo 世界 🙂");
      assert.equal(Buffer.concat(probs.map((p) => Buffer.from(p.bytes))).toString("utf8"), "héllo 世界 🙂");
      assert.ok(probs.some((p) => p.token === "" && p.bytes.length === 1), "a lone byte of a longer character releases no text");
    });

    test("post_sampling_probs: probabilities among the tokens the samplers kept", async () => {
      const r = await postJson(completion, { prompt: PROMPT, n_predict: 5, n_probs: 10, post_sampling_probs: true, temperature: 1, top_k: 3, seed: 5 });
      const probs = r.json.completion_probabilities as ProbEntry[];
      assert.equal(probs.length, 5);
      for (const p of probs) {
        assert.ok(p.prob! > 0 && p.prob! <= 1);
        assert.ok(p.top_probs!.length >= 1 && p.top_probs!.length <= 3, "top_k 3 leaves at most 3 candidates");
        assert.ok(p.top_probs!.some((t) => t.id === p.id), "the sampled token is one of the kept ones");
        const sum = p.top_probs!.reduce((s, t) => s + t.prob, 0);
        assert.ok(Math.abs(sum - 1) < 1e-3, `kept probabilities sum to 1, got ${sum}`);
      }
    });

    test("n_probs streamed: every token event has its token id and one entry", async () => {
      const events = await stream(completion, { prompt: PROMPT, n_predict: 5, n_probs: 3, ignore_eos: true });
      const tokens = events.filter((e) => e.stop === false);
      assert.equal(tokens.length, 5);
      for (const e of tokens) {
        assert.equal(e.tokens.length, 1);
        assert.equal(e.completion_probabilities.length, 1);
        assert.equal(e.completion_probabilities[0].id, e.tokens[0]);
      }
      const whole = await postJson(completion, { prompt: PROMPT, n_predict: 5, ignore_eos: true });
      assert.equal(tokens.map((e) => e.content).join(""), whole.json.content);
      assert.equal(events.at(-1).stop, true);
      assert.equal(events.at(-1).completion_probabilities, undefined, "the last event does not repeat them");
    });

    test("chat logprobs through the openai client, plain and streamed", async () => {
      const messages = [{ role: "user" as const, content: "Tell me" }];
      const r = await client.chat.completions.create({ model: "m", messages, max_tokens: 6, logprobs: true, top_logprobs: 3 });
      const content = r.choices[0]!.logprobs!.content!;
      assert.equal(content.map((t) => t.token).join(""), r.choices[0]!.message.content);
      for (const t of content) {
        assert.ok(t.logprob <= 0);
        assert.ok(Array.isArray(t.bytes));
        assert.equal(t.top_logprobs.length, 3);
      }
      const s = await client.chat.completions.create({ model: "m", messages, max_tokens: 6, logprobs: true, top_logprobs: 3, stream: true });
      let text = "";
      let fromLogprobs = "";
      for await (const c of s) {
        const choice = c.choices[0];
        if (!choice || choice.finish_reason) continue;
        text += choice.delta.content ?? "";
        for (const t of choice.logprobs?.content ?? []) fromLogprobs += t.token;
      }
      assert.equal(fromLogprobs, text);
      assert.equal(text, r.choices[0]!.message.content);
    });

    test("top_logprobs without logprobs is a 400 naming the field", async () => {
      const r = await postJson(chat, { messages: [{ role: "user", content: "x" }], top_logprobs: 2 });
      assert.equal(r.status, 400);
      assert.match(r.json.error.message, /top_logprobs/);
    });
  });

  describe("choices, prompts and slots", () => {
    test("n = 2 gives two choices; usage counts the prompt once and both completions", async () => {
      const r = await postJson(chat, { messages: [{ role: "user", content: "Hi" }], max_tokens: 4, n: 2, ignore_eos: true });
      assert.equal(r.status, 200);
      assert.deepEqual(r.json.choices.map((c: { index: number }) => c.index), [0, 1]);
      const one = await postJson(chat, { messages: [{ role: "user", content: "Hi" }], max_tokens: 4, ignore_eos: true });
      assert.equal(r.json.usage.prompt_tokens, one.json.usage.prompt_tokens);
      assert.equal(r.json.usage.completion_tokens, 8);
    });

    test("n beyond the slots, and an id_slot that does not exist, are 400s", async () => {
      const r = await postJson(chat, { messages: [{ role: "user", content: "Hi" }], n: 3 });
      assert.equal(r.status, 400);
      assert.match(r.json.error.message, /'n'/);
      const s = await postJson(completion, { prompt: "x", id_slot: 2 });
      assert.equal(s.status, 400);
      assert.match(s.json.error.message, /id_slot/);
    });

    test("id_slot runs the request on that slot, several choices on one slot included", async () => {
      const r = await postJson(completion, { prompt: "x", n_predict: 2, id_slot: 1 });
      assert.equal(r.json.id_slot, 1);
      const both = await postJson(completion, { prompt: "y", n_predict: 2, id_slot: 1, n: 2 });
      assert.ok(Array.isArray(both.json));
      assert.deepEqual(both.json.map((b: { id_slot: number }) => b.id_slot), [1, 1]);
    });

    test("/completion takes several prompts: tokens, text, mixed and {prompt_string}, one answer each", async () => {
      const t = await postJson(`${server.url}/tokenize`, { content: PROMPT, add_special: true });
      const tokens = t.json.tokens as number[];
      const r = await postJson(completion, { prompt: [tokens, PROMPT, { prompt_string: PROMPT }], n_predict: 4 });
      assert.equal(r.status, 200);
      assert.equal(r.json.length, 3);
      assert.deepEqual(r.json.map((b: { index: number }) => b.index), [0, 1, 2]);
      assert.ok(r.json.every((b: { content: string }) => b.content === r.json[0].content), "the same prompt three ways gives the same text");
      const mixed = await postJson(completion, { prompt: [tokens[0], "hello", 5], n_predict: 2 });
      assert.equal(mixed.status, 200);
      assert.equal(typeof mixed.json.content, "string");
      const mm = await postJson(completion, { prompt: { prompt_string: "x", multimodal_data: ["AAAA"] } });
      assert.equal(mm.status, 400);
      assert.match(mm.json.error.message, /multimodal_data/);
    });

    test("OpenAI completions with several prompts give one choice per prompt", async () => {
      const r = await client.completions.create({ model: "m", prompt: ["a b", "c d"], max_tokens: 2 });
      assert.deepEqual(r.choices.map((c) => c.index), [0, 1]);
    });
  });

  describe("answer fields", () => {
    test("generation_settings report what ran, a drawn seed included, which repeats the text", async () => {
      const r = await postJson(completion, { prompt: PROMPT, n_predict: 6, temperature: 1, seed: -1, top_k: 7, ignore_eos: true });
      const g = r.json.generation_settings;
      assert.equal(g.n_predict, 6);
      assert.equal(g.top_k, 7);
      assert.equal(g.temperature, 1);
      assert.ok(Number.isInteger(g.seed) && g.seed >= 0, `seed ${g.seed}`);
      const again = await postJson(completion, { prompt: PROMPT, n_predict: 6, temperature: 1, seed: g.seed, top_k: 7, ignore_eos: true });
      assert.equal(again.json.content, r.json.content);
      assert.equal(r.json.prompt, `<s> ${PROMPT}`, "the prompt as its tokens read back, BOS included");
    });

    test("response_fields keeps only the listed fields, nested ones by path", async () => {
      const r = await postJson(completion, { prompt: PROMPT, n_predict: 3, response_fields: ["content", "generation_settings/n_predict", "nope"] });
      assert.deepEqual(Object.keys(r.json).sort(), ["content", "generation_settings/n_predict"]);
      assert.equal(r.json["generation_settings/n_predict"], 3);
    });

    test("return_tokens lists the generated token ids", async () => {
      const r = await postJson(completion, { prompt: PROMPT, n_predict: 3, return_tokens: true, ignore_eos: true });
      assert.equal(r.json.tokens.length, 3);
      const d = await postJson(`${server.url}/detokenize`, { tokens: r.json.tokens });
      assert.equal(d.json.content.trim(), r.json.content.trim());
    });

    test("verbose: true adds __verbose (the native answer) to OpenAI answers; without it there is none", async () => {
      const body = { messages: [{ role: "system", content: "Book" }, { role: "user", content: "Hi" }], max_tokens: 2 };
      const v = await postJson(chat, { ...body, verbose: true });
      assert.match(v.json.__verbose.prompt, /Book/);
      assert.equal(v.json.__verbose.content, v.json.choices[0].message.content);
      assert.equal((await postJson(chat, body)).json.__verbose, undefined);
    });

    test("timings_per_token: every streamed piece carries the timings so far", async () => {
      const events = await stream(chat, { messages: [{ role: "user", content: "Hi" }], max_tokens: 5, ignore_eos: true, timings_per_token: true, stream_options: { include_usage: true } });
      const pieces = events.filter((e) => e.choices.length > 0 && typeof e.choices[0].delta.content === "string");
      assert.ok(pieces.length > 0);
      const counts = pieces.map((e) => e.timings.predicted_n);
      assert.deepEqual(counts, [...counts].sort((a, b) => a - b));
      assert.equal("timings" in events[0], false, "the role chunk has none");
      const usage = events.at(-1);
      assert.deepEqual(usage.choices, []);
      assert.equal(usage.timings.predicted_n, 5, "the usage chunk has the final timings");
    });

    test("return_progress: a report before the prompt and after each batch, ending at the total", async () => {
      const content = "one two three four five six seven eight nine ten ".repeat(4);
      const events = await stream(completion, { prompt: content, n_predict: 2, return_progress: true, cache_prompt: false });
      const reports = events.filter((e) => e.prompt_progress).map((e) => e.prompt_progress);
      const total = reports[0].total;
      assert.equal(reports[0].processed, reports[0].cache);
      assert.equal(reports.length, 1 + Math.ceil(total / 16), "one per batch of 16 (-b 16), plus the first");
      for (let i = 1; i < reports.length; i++) assert.ok(reports[i].processed > reports[i - 1].processed);
      assert.equal(reports.at(-1).processed, total);
      // with the prompt cached, only its last token is evaluated again
      const again = (await stream(completion, { prompt: content, n_predict: 2, return_progress: true })).filter((e) => e.prompt_progress);
      assert.equal(again.length, 2);
      assert.equal(again[0].prompt_progress.cache, total - 1);
    });

    test("/chat/completions/input_tokens counts what the chat request would evaluate", async () => {
      const body = { messages: [{ role: "user", content: "count these tokens please" }] };
      const n = await postJson(`${server.url}/v1/chat/completions/input_tokens`, body);
      assert.equal(n.status, 200);
      const r = await postJson(chat, { ...body, max_tokens: 1 });
      assert.equal(n.json.input_tokens, r.json.usage.prompt_tokens);
    });
  });

  describe("structured output", () => {
    const ask = (extra: object) => postJson(chat, { messages: [{ role: "user", content: "json please" }], max_tokens: 60, ...extra });

    test("a schema without a type (tuple items) is understood, not turned into null", async () => {
      const r = await ask({ response_format: { type: "json_object", schema: { items: [{ const: 7 }, { enum: ["a", "b"] }], maxItems: 2 } } });
      assert.equal(r.status, 200);
      const v = JSON.parse(r.json.choices[0].message.content);
      assert.ok(Array.isArray(v) && v.length === 2 && v[0] === 7 && ["a", "b"].includes(v[1]), JSON.stringify(v));
      assert.equal(r.json.choices[0].finish_reason, "stop");
    });

    test("object constants, definitions and allOf come out as the schema says", async () => {
      const schema = {
        $defs: { flag: { const: true } },
        allOf: [{ type: "object", properties: { on: { $ref: "#/$defs/flag" } } }, { properties: { tag: { const: "x" } } }],
      };
      const r = await ask({ json_schema: schema });
      assert.deepEqual(JSON.parse(r.json.choices[0].message.content), { on: true, tag: "x" });
      const c = await ask({ response_format: { type: "json_schema", json_schema: { schema: { const: { a: [1, "two"] } } } } });
      assert.deepEqual(JSON.parse(c.json.choices[0].message.content), { a: [1, "two"] });
    });

    test("the grammar's end marker is not part of the answer, which ends like an end of generation", async () => {
      const r = await postJson(completion, { prompt: "x", n_predict: 40, json_schema: { const: "done" } });
      assert.equal(r.json.content, '"done"');
      assert.equal(r.json.stop_type, "eos");
    });

    test("bad schemas and formats are 400s naming the part", async () => {
      const cases: Array<[object, RegExp]> = [
        [{ response_format: { type: "json_object", schema: { type: "hiccup" } } }, /response_format\.schema\.type/],
        [{ response_format: { type: "json_object", schema: { type: 123 } } }, /response_format\.schema\.type/],
        [{ response_format: { type: "json_object", schema: 123 } }, /response_format\.schema/],
        [{ response_format: { type: "sound" } }, /response_format\.type/],
        [{ json_schema: { properties: { a: { $ref: "#/$defs/missing" } } } }, /json_schema\.properties\.a\.\$ref/],
        [{ json_schema: { const: 1 }, grammar: 'root ::= "a"' }, /grammar/],
        [{ grammar: "root ::= (" }, /'grammar'/],
      ];
      for (const [extra, re] of cases) {
        const r = await ask(extra);
        assert.equal(r.status, 400, JSON.stringify(extra));
        assert.match(r.json.error.message, re);
      }
    });
  });

  describe("chat prompts", () => {
    const prompt = async (body: object) => (await postJson(chat, { max_tokens: 1, verbose: true, ...body })).json;

    test("a final assistant message is continued, not closed", async () => {
      const r = await prompt({ messages: [{ role: "user", content: "Hi" }, { role: "assistant", content: "Well" }] });
      // (the prompt is read back from its tokens, which puts a space after each special token)
      assert.match(r.__verbose.prompt, /<\|im_start\|> ?assistant\nWell$/);
      const parts = await prompt({ messages: [{ role: "user", content: "Hi" }, { role: "assistant", content: [{ type: "text", text: "A" }, { type: "text", text: "B" }] }] });
      assert.match(parts.__verbose.prompt, /assistant\nA\n\nB$/, "text parts are joined by a blank line");
    });

    test("continuation errors: two assistant messages at the end, both flags at once", async () => {
      const twice = await postJson(chat, { messages: [{ role: "user", content: "a" }, { role: "assistant", content: "b" }, { role: "assistant", content: "c" }] });
      assert.equal(twice.status, 400);
      const both = await postJson(chat, { messages: [{ role: "user", content: "a" }], add_generation_prompt: true, continue_final_message: true });
      assert.equal(both.status, 400);
      assert.match(both.json.error.message, /continue_final_message/);
    });
  });
});

describe("server flags: built-in chat format, --verbose, --kv-unified, --backend_sampling", () => {
  let server: RunningServer;
  before(async () => {
    const model = await getTestModel("tiny");
    server = await startServer(["-m", model, "-np", "2", "-t", "1", "-c", "512", "--kv-unified", "--backend_sampling", "--chat-template", "llama3", "--verbose"]);
  });
  after(async () => {
    await server?.stop();
  });

  test("--chat-template llama3 uses llama.cpp's built-in layout; --verbose adds __verbose", async () => {
    const messages = [{ role: "system", content: "Book " }, { role: "user", content: "What is the best book" }];
    const expected = "<|start_header_id|>system<|end_header_id|>\n\nBook<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhat is the best book<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
    const a = await postJson(`${server.url}/apply-template`, { messages });
    assert.equal(a.json.prompt, expected);
    const r = await postJson(`${server.url}/v1/chat/completions`, { messages, max_tokens: 1 });
    assert.equal(r.json.__verbose.prompt.replace(/^<s> ?/, ""), expected);
  });

  test("--kv-unified lets one slot use the whole context", async () => {
    // more than half of -c 512: with the context split between the two slots this would not fit
    const r = await postJson(`${server.url}/completion`, { prompt: "word ".repeat(300), n_predict: 4 });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.ok(r.json.tokens_evaluated > 256);
  });
});
