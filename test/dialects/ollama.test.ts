// The Ollama API ⇄ OpenAI translation, and the GGUF header summary its model listings use, without a server.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ollamaChatAnswer, ollamaEmbedAnswer, ollamaError, ollamaGenerateAnswer, ollamaLoadAnswer } from "../../src/dialects/ollama/answer.js";
import { OLLAMA_VERSION, ollamaCapabilities, ollamaDetails, ollamaDigest, ollamaPsEntry, ollamaShow, ollamaTag } from "../../src/dialects/ollama/models.js";
import { ollamaChatRequest, ollamaEmbedRequest, ollamaGenerateRequest, parseKeepAlive, sniffImageType } from "../../src/dialects/ollama/request.js";
import { OllamaStreamTranslator } from "../../src/dialects/ollama/stream.js";
import type { ChatCompletionChunk, CompletionChunk } from "../../src/dialects/openai/chat.js";
import { formatParameterSize, readGgufSummary, summaryOf } from "../../src/gguf/metadata.js";
import { gguf, GgufWriter } from "../../src/gguf/writer.js";
import { ApiError } from "../../src/http/errors.js";
import { getTestModel } from "../helpers/models.js";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { tempDirUntilExit } from "../../src/util/temp-dir.js";

/** Asserts a 400 whose message names `field` (or contains `text`). */
function assert400(f: () => unknown, text: string): void {
  assert.throws(f, (err: unknown) => {
    assert.ok(err instanceof ApiError, `not an ApiError: ${String(err)}`);
    assert.equal(err.status, 400);
    assert.ok(err.message.includes(text), `message does not mention ${text}: ${err.message}`);
    return true;
  });
}

const chat = (extra: Record<string, unknown> = {}) => ollamaChatRequest({ model: "m", messages: [{ role: "user", content: "hi" }], ...extra });
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]).toString("base64");
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46]).toString("base64");
const GIF = Buffer.from("GIF89a\x01\x00\x01\x00", "latin1").toString("base64");
const WEBP = Buffer.from("RIFF\x24\x00\x00\x00WEBPVP8 ", "latin1").toString("base64");

describe("keep_alive", () => {
  test("numbers are seconds, strings are numbers or Go durations, in milliseconds", () => {
    assert.equal(parseKeepAlive(300), 300_000);
    assert.equal(parseKeepAlive(1.5), 1500);
    assert.equal(parseKeepAlive("300"), 300_000);
    assert.equal(parseKeepAlive("5m"), 300_000);
    assert.equal(parseKeepAlive("1h30m"), 5_400_000);
    assert.equal(parseKeepAlive("10s"), 10_000);
    assert.equal(parseKeepAlive("500ms"), 500);
    assert.equal(parseKeepAlive("1.5h"), 5_400_000);
    assert.equal(parseKeepAlive("2h45m10s"), (2 * 3600 + 45 * 60 + 10) * 1000);
    // a sub-millisecond duration is still a duration, not an unload
    assert.equal(parseKeepAlive("10us"), 1);
  });

  test("zero unloads, a negative value keeps the model, absent is the default", () => {
    for (const zero of [0, "0", "0s", "0m"]) assert.equal(parseKeepAlive(zero), 0, String(zero));
    for (const neg of [-1, "-1", "-1m", "-5s"]) assert.equal(parseKeepAlive(neg), "forever", String(neg));
    assert.equal(parseKeepAlive(undefined), undefined);
    assert.equal(parseKeepAlive(null), undefined);
  });

  test("anything else is a 400 naming keep_alive", () => {
    for (const bad of ["", "5 minutes", "m5", "5d", "1h-30m", true, {}, [], Number.NaN, Infinity]) {
      assert400(() => parseKeepAlive(bad), "'keep_alive'");
    }
    assert400(() => chat({ keep_alive: "soon" }), "'keep_alive'");
  });
});

describe("/api/chat → chat completions", () => {
  test("the basics: model, messages, stream on by default with usage, keep_alive", () => {
    const t = chat({ keep_alive: "10m" });
    assert.equal(t.model, "m");
    assert.equal(t.stream, true);
    assert.equal(t.keepAlive, 600_000);
    assert.equal(t.path, "/v1/chat/completions");
    assert.equal(t.loadOnly, false);
    assert.deepEqual(t.openai, { model: "m", messages: [{ role: "user", content: "hi" }], stream: true, stream_options: { include_usage: true } });
    const whole = chat({ stream: false });
    assert.equal(whole.stream, false);
    assert.equal(whole.openai["stream"], false);
    assert.equal("stream_options" in whole.openai, false);
  });

  test("no messages (absent or empty) is a load-only request", () => {
    assert.equal(ollamaChatRequest({ model: "m" }).loadOnly, true);
    assert.equal(ollamaChatRequest({ model: "m", messages: [] }).loadOnly, true);
    assert.equal(ollamaChatRequest({ model: "m", messages: [], keep_alive: 0 }).keepAlive, 0);
  });

  test("model is required, and bad fields are 400s naming them", () => {
    assert400(() => ollamaChatRequest({ messages: [] }), "model is required");
    assert400(() => ollamaChatRequest({ model: "  " }), "model is required");
    assert400(() => ollamaChatRequest({ model: 3 }), "'model'");
    assert400(() => ollamaChatRequest("nope"), "JSON object");
    assert400(() => ollamaChatRequest({ model: "m", messages: {} }), "'messages'");
    assert400(() => ollamaChatRequest({ model: "m", messages: ["hi"] }), "'messages[0]'");
    assert400(() => ollamaChatRequest({ model: "m", messages: [{ role: "user", content: "a" }, { role: "user", content: 5 }] }), "'messages[1].content'");
    assert400(() => ollamaChatRequest({ model: "m", messages: [{ content: "a" }] }), "'messages[0].role'");
    assert400(() => chat({ stream: "yes" }), "'stream'");
    assert400(() => chat({ options: [] }), "'options'");
    assert400(() => chat({ format: "xml" }), "'format'");
    assert400(() => chat({ think: "max" }), "'think'");
    assert400(() => chat({ tools: [{ type: "function" }] }), "'tools[0].function'");
  });

  test("options map to OpenAI and llama.cpp names; load-time and unknown options are ignored", () => {
    const t = chat({
      options: {
        temperature: 0.2, top_k: 20, top_p: 0.9, min_p: 0.05, typical_p: 0.7, seed: 42, num_predict: 100, stop: ["\n", "user:"],
        repeat_penalty: 1.1, repeat_last_n: 33, presence_penalty: 1.5, frequency_penalty: 1.0, mirostat: 1, mirostat_tau: 0.8,
        mirostat_eta: 0.6, num_keep: 5, tfs_z: 1, penalize_newline: true, num_ctx: 8192, num_gpu: 99, num_thread: 8, num_batch: 512,
        low_vram: false, use_mmap: true, numa: false, main_gpu: 0, use_mlock: false, something_new: "x",
      },
    });
    const { model, messages, stream, stream_options, ...rest } = t.openai;
    assert.deepEqual(rest, {
      temperature: 0.2, top_k: 20, top_p: 0.9, min_p: 0.05, typical_p: 0.7, seed: 42, max_tokens: 100, stop: ["\n", "user:"],
      repeat_penalty: 1.1, repeat_last_n: 33, presence_penalty: 1.5, frequency_penalty: 1.0, mirostat: 1, mirostat_tau: 0.8,
      mirostat_eta: 0.6, n_keep: 5,
    });
  });

  test("option details: a stop string, no-limit num_predict, fractional integers, null values", () => {
    assert.deepEqual(chat({ options: { stop: "END" } }).openai["stop"], ["END"]);
    for (const n of [-1, -2]) assert.equal("max_tokens" in chat({ options: { num_predict: n } }).openai, false);
    assert.equal(chat({ options: { top_k: 40.7 } }).openai["top_k"], 40);
    assert.equal("temperature" in chat({ options: { temperature: null } }).openai, false);
    // names of Object's own methods are just unknown options
    const odd = chat({ options: JSON.parse('{"constructor": 1, "toString": "x", "__proto__": {"a": 1}, "hasOwnProperty": [], "seed": 1}') }).openai;
    assert.equal(odd["seed"], 1);
    assert.equal(Object.hasOwn(odd, "constructor"), false);
  });

  test("a known option of the wrong type is a 400 naming options.<key>", () => {
    assert400(() => chat({ options: { temperature: "hot" } }), "'options.temperature'");
    assert400(() => chat({ options: { num_predict: "10" } }), "'options.num_predict'");
    assert400(() => chat({ options: { stop: [1] } }), "'options.stop'");
    // ignored options are still checked
    assert400(() => chat({ options: { num_ctx: "big" } }), "'options.num_ctx'");
    assert400(() => chat({ options: { use_mmap: 1 } }), "'options.use_mmap'");
  });

  test("format: json, a JSON schema, or nothing", () => {
    assert.deepEqual(chat({ format: "json" }).openai["response_format"], { type: "json_object" });
    const schema = { type: "object", properties: { age: { type: "integer" } }, required: ["age"] };
    assert.deepEqual(chat({ format: schema }).openai["response_format"], { type: "json_schema", json_schema: { name: "schema", schema } });
    assert.equal("response_format" in chat({ format: "" }).openai, false);
    assert.equal("response_format" in chat({ format: null }).openai, false);
  });

  test("think switches thinking through the template and asks for the thought apart", () => {
    assert.deepEqual(chat({ think: true }).openai["chat_template_kwargs"], { enable_thinking: true });
    assert.equal(chat({ think: true }).openai["reasoning_format"], "deepseek");
    assert.deepEqual(chat({ think: false }).openai["chat_template_kwargs"], { enable_thinking: false });
    const high = chat({ think: "high" }).openai;
    assert.deepEqual(high["chat_template_kwargs"], { enable_thinking: true, reasoning_effort: "high" });
    assert.equal(high["reasoning_effort"], "high");
    assert.equal("chat_template_kwargs" in chat().openai, false);
  });

  test("logprobs and top_logprobs pass on", () => {
    const t = chat({ logprobs: true, top_logprobs: 3 }).openai;
    assert.equal(t["logprobs"], true);
    assert.equal(t["top_logprobs"], 3);
    assert.equal(chat({ logprobs: true }).openai["top_logprobs"], 0);
    assert.equal("logprobs" in chat({ logprobs: false }).openai, false);
    assert.equal(ollamaGenerateRequest({ model: "m", prompt: "x", raw: true, logprobs: true }).openai["logprobs"], 1);
    assert.equal(ollamaGenerateRequest({ model: "m", prompt: "x", raw: true, logprobs: true, top_logprobs: 5 }).openai["logprobs"], 5);
  });

  test("tools round trip: calls get ids, arguments become JSON text, results take their call's id", () => {
    const tools = [{ type: "function", function: { name: "get_weather", description: "w", parameters: { type: "object", properties: { city: { type: "string" } } } } }];
    const t = ollamaChatRequest({
      model: "m",
      tools,
      messages: [
        { role: "user", content: "weather in Paris and Rome, and the time?" },
        {
          role: "assistant", content: "", thinking: "two cities",
          tool_calls: [
            { function: { name: "get_weather", arguments: { city: "Paris" } } },
            { function: { name: "get_time", arguments: {} } },
            { function: { name: "get_weather", arguments: { city: "Rome" } } },
          ],
        },
        { role: "tool", tool_name: "get_time", content: "noon" },
        { role: "tool", tool_name: "get_weather", content: "sunny" },
        { role: "tool", content: "rainy" },
      ],
    });
    assert.deepEqual(t.openai["tools"], tools);
    const m = t.openai["messages"] as any[];
    assert.deepEqual(m[1], {
      role: "assistant", content: "", reasoning_content: "two cities",
      tool_calls: [
        { id: "call_1_0", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
        { id: "call_1_1", type: "function", function: { name: "get_time", arguments: "{}" } },
        { id: "call_1_2", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } },
      ],
    });
    assert.deepEqual(m[2], { role: "tool", content: "noon", tool_call_id: "call_1_1", name: "get_time" });
    assert.deepEqual(m[3], { role: "tool", content: "sunny", tool_call_id: "call_1_0", name: "get_weather" });
    // no name: the earliest call still unanswered
    assert.deepEqual(m[4], { role: "tool", content: "rainy", tool_call_id: "call_1_2" });
  });

  test("tool calls with a client's ids, string arguments and explicit tool_call_id are kept", () => {
    const t = ollamaChatRequest({
      model: "m",
      messages: [
        { role: "assistant", content: "", tool_calls: [{ id: "abc", function: { name: "f", arguments: '{"x":1}' } }] },
        { role: "tool", tool_call_id: "abc", content: "1" },
      ],
    });
    const m = t.openai["messages"] as any[];
    assert.deepEqual(m[0].tool_calls[0], { id: "abc", type: "function", function: { name: "f", arguments: '{"x":1}' } });
    assert.equal(m[1].tool_call_id, "abc");
    assert400(() => ollamaChatRequest({ model: "m", messages: [{ role: "assistant", content: "", tool_calls: [{ function: { arguments: {} } }] }] }), "'messages[0].tool_calls[0].function.name'");
    assert400(() => ollamaChatRequest({ model: "m", messages: [{ role: "assistant", content: "", tool_calls: [{ function: { name: "f", arguments: [1] } }] }] }), "'messages[0].tool_calls[0].function.arguments'");
  });

  test("images become data-URL parts before the text, typed from their bytes", () => {
    assert.equal(sniffImageType(PNG), "image/png");
    assert.equal(sniffImageType(JPEG), "image/jpeg");
    assert.equal(sniffImageType(GIF), "image/gif");
    assert.equal(sniffImageType(WEBP), "image/webp");
    assert.equal(sniffImageType(Buffer.from("hello").toString("base64")), "image/jpeg");
    const t = ollamaChatRequest({ model: "m", messages: [{ role: "user", content: "what is this?", images: [PNG, GIF] }] });
    assert.deepEqual((t.openai["messages"] as any[])[0].content, [
      { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}` } },
      { type: "image_url", image_url: { url: `data:image/gif;base64,${GIF}` } },
      { type: "text", text: "what is this?" },
    ]);
    assert400(() => ollamaChatRequest({ model: "m", messages: [{ role: "user", content: "x", images: "abc" }] }), "'messages[0].images'");
    assert400(() => ollamaChatRequest({ model: "m", messages: [{ role: "user", content: "x", images: ["not base64!"] }] }), "'messages[0].images[0]'");
  });
});

describe("/api/generate → chat or text completions", () => {
  test("a prompt with a system prompt and images is a chat", () => {
    const t = ollamaGenerateRequest({ model: "m", prompt: "describe", system: "be brief", images: [JPEG], stream: false, options: { num_predict: 5 } });
    assert.equal(t.path, "/v1/chat/completions");
    assert.equal(t.stream, false);
    assert.deepEqual(t.openai, {
      model: "m",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: [{ type: "image_url", image_url: { url: `data:image/jpeg;base64,${JPEG}` } }, { type: "text", text: "describe" }] },
      ],
      stream: false,
      max_tokens: 5,
    });
  });

  test("raw goes to completions as it is, with format as llama.cpp's json_schema", () => {
    const t = ollamaGenerateRequest({ model: "m", prompt: "[INST] hi [/INST]", raw: true, format: "json", think: true, context: [1, 2, 3] });
    assert.equal(t.path, "/v1/completions");
    assert.deepEqual(t.openai, { model: "m", prompt: "[INST] hi [/INST]", stream: true, stream_options: { include_usage: true }, json_schema: { type: "object" } });
    const schema = { type: "object", properties: { a: { type: "string" } } };
    assert.deepEqual(ollamaGenerateRequest({ model: "m", prompt: "x", raw: true, format: schema }).openai["json_schema"], schema);
    assert400(() => ollamaGenerateRequest({ model: "m", prompt: "x", raw: true, images: [PNG] }), "'images'");
  });

  test("no prompt (or an empty one) is a load-only request", () => {
    assert.equal(ollamaGenerateRequest({ model: "m" }).loadOnly, true);
    assert.equal(ollamaGenerateRequest({ model: "m", prompt: "" }).loadOnly, true);
    assert.equal(ollamaGenerateRequest({ model: "m", prompt: "x" }).loadOnly, false);
  });

  test("suffix and template are refused unless empty; bad types are 400s", () => {
    assert.equal(ollamaGenerateRequest({ model: "m", prompt: "x", suffix: "", template: "" }).loadOnly, false);
    assert400(() => ollamaGenerateRequest({ model: "m", prompt: "def f():", suffix: "return x" }), "'suffix'");
    assert400(() => ollamaGenerateRequest({ model: "m", prompt: "x", template: "{{ .Prompt }}" }), "'template'");
    assert400(() => ollamaGenerateRequest({ model: "m", prompt: 5 }), "'prompt'");
    assert400(() => ollamaGenerateRequest({ model: "m", prompt: "x", raw: "yes" }), "'raw'");
    assert400(() => ollamaGenerateRequest({ prompt: "x" }), "model is required");
  });
});

describe("answers", () => {
  const timing = { model: "m:latest", totalNs: 5_000_000, loadNs: 1_000 };
  const usage = { prompt_tokens: 26, completion_tokens: 4, total_tokens: 30 };
  const timings = { prompt_n: 26, prompt_ms: 12.5, predicted_n: 4, predicted_ms: 40.25 };

  test("a chat answer: message with thinking and tool calls, done, counts and nanosecond durations", () => {
    const a = ollamaChatAnswer({
      choices: [{
        message: { role: "assistant", content: "ok", reasoning_content: "hmm", tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: '{"x":1}' } }, { function: { name: "g", arguments: "not json" } }] },
        finish_reason: "tool_calls",
      }],
      usage, timings,
    }, timing);
    assert.match(a["created_at"] as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/);
    delete a["created_at"];
    assert.deepEqual(a, {
      model: "m:latest",
      message: { role: "assistant", content: "ok", thinking: "hmm", tool_calls: [{ id: "c1", function: { index: 0, name: "f", arguments: { x: 1 } } }, { function: { index: 1, name: "g", arguments: {} } }] },
      done: true, done_reason: "stop", total_duration: 5_000_000, load_duration: 1_000,
      prompt_eval_count: 26, prompt_eval_duration: 12_500_000, eval_count: 4, eval_duration: 40_250_000,
    });
  });

  test("length is done_reason length; without usage or timings the counts come from timings or are 0", () => {
    const a = ollamaChatAnswer({ choices: [{ message: { content: null }, finish_reason: "length" }] }, timing);
    assert.equal(a["done_reason"], "length");
    assert.deepEqual(a["message"], { role: "assistant", content: "" });
    assert.equal(a["prompt_eval_count"], 0);
    assert.equal(a["eval_duration"], 0);
    const b = ollamaChatAnswer({ choices: [{ message: { content: "x" }, finish_reason: "stop" }], timings }, timing);
    assert.equal(b["prompt_eval_count"], 26);
    assert.equal(b["eval_count"], 4);
  });

  test("a generate answer from a chat completion or a text completion", () => {
    const fromChat = ollamaGenerateAnswer({ choices: [{ message: { content: "hi", reasoning_content: "t" }, finish_reason: "stop" }], usage }, timing);
    assert.equal(fromChat["response"], "hi");
    assert.equal(fromChat["thinking"], "t");
    assert.equal("message" in fromChat, false);
    const fromText = ollamaGenerateAnswer({ choices: [{ text: "raw text", finish_reason: "length" }], usage }, timing);
    assert.equal(fromText["response"], "raw text");
    assert.equal(fromText["done_reason"], "length");
    assert.equal(fromText["eval_count"], 4);
  });

  test("logprobs in Ollama's shape", () => {
    const a = ollamaChatAnswer({
      choices: [{ message: { content: "a" }, finish_reason: "stop", logprobs: { content: [{ token: "a", logprob: -0.5, bytes: [97], top_logprobs: [{ token: "a", logprob: -0.5 }, { token: "b", logprob: -1 }] }] } } as any],
    }, timing);
    assert.deepEqual(a["logprobs"], [{ token: "a", logprob: -0.5, bytes: [97], top_logprobs: [{ token: "a", logprob: -0.5 }, { token: "b", logprob: -1 }] }]);
  });

  test("load and unload answers, errors", () => {
    const load = ollamaLoadAnswer("m", "chat", "load");
    delete load["created_at"];
    assert.deepEqual(load, { model: "m", message: { role: "assistant", content: "" }, done: true, done_reason: "load" });
    const unload = ollamaLoadAnswer("m", "generate", "unload");
    delete unload["created_at"];
    assert.deepEqual(unload, { model: "m", response: "", done: true, done_reason: "unload" });
    assert.deepEqual(ollamaError("boom"), { error: "boom" });
  });
});

describe("NDJSON stream", () => {
  const chunk = (delta: Record<string, unknown>, finish: string | null = null): ChatCompletionChunk => ({ choices: [{ index: 0, delta, finish_reason: finish }] });
  const strip = (objs: Record<string, unknown>[]) => objs.map(({ created_at, ...rest }) => {
    assert.equal(typeof created_at, "string");
    return rest;
  });

  test("chat: thinking and content pieces, then a done object with counts", () => {
    const t = new OllamaStreamTranslator({ kind: "chat", model: "m" });
    const out = [
      ...t.push(chunk({ role: "assistant", content: null })),
      ...t.push(chunk({ reasoning_content: "let me" })),
      ...t.push(chunk({ content: "Hi" })),
      ...t.push(chunk({ content: " there" })),
      ...t.push(chunk({}, "length")),
      ...t.push({ choices: [], usage: { prompt_tokens: 7, completion_tokens: 3 }, timings: { prompt_ms: 2, predicted_ms: 3 } }),
      ...t.finish({ totalNs: 9_000_000, loadNs: 0 }),
    ];
    assert.deepEqual(strip(out), [
      { model: "m", message: { role: "assistant", content: "", thinking: "let me" }, done: false },
      { model: "m", message: { role: "assistant", content: "Hi" }, done: false },
      { model: "m", message: { role: "assistant", content: " there" }, done: false },
      {
        model: "m", message: { role: "assistant", content: "" }, done: true, done_reason: "length", total_duration: 9_000_000, load_duration: 0,
        prompt_eval_count: 7, prompt_eval_duration: 2_000_000, eval_count: 3, eval_duration: 3_000_000,
      },
    ]);
    assert.deepEqual(t.push(chunk({ content: "late" })), []);
    assert.deepEqual(t.finish({ totalNs: 1, loadNs: 0 }), []);
  });

  test("chat: tool-call fragments are sent whole, each when the next starts or the stream ends", () => {
    const t = new OllamaStreamTranslator({ kind: "chat", model: "m" });
    const out = [
      ...t.push(chunk({ tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "get_weather", arguments: "" } }] })),
      ...t.push(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] })),
      ...t.push(chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] })),
    ];
    assert.deepEqual(out, [], "nothing until the call is whole");
    const second = t.push(chunk({ tool_calls: [{ index: 1, id: "call_b", function: { name: "get_time", arguments: "{}" } }] }));
    assert.deepEqual(strip(second), [
      { model: "m", message: { role: "assistant", content: "", tool_calls: [{ id: "call_a", function: { index: 0, name: "get_weather", arguments: { city: "Paris" } } }] }, done: false },
    ]);
    t.push(chunk({}, "tool_calls"));
    const end = strip(t.finish({ totalNs: 1, loadNs: 0 }));
    assert.equal(end.length, 2);
    assert.deepEqual(end[0], { model: "m", message: { role: "assistant", content: "", tool_calls: [{ id: "call_b", function: { index: 1, name: "get_time", arguments: {} } }] }, done: false });
    assert.equal(end[1]!["done"], true);
    assert.equal(end[1]!["done_reason"], "stop");
  });

  test("generate: text-completion chunks and chat chunks become response pieces", () => {
    const t = new OllamaStreamTranslator({ kind: "generate", model: "g" });
    const text = (s: string, finish: string | null = null): CompletionChunk => ({ choices: [{ index: 0, text: s, finish_reason: finish }] });
    const out = strip([
      ...t.push(text("Once")),
      ...t.push(text(" upon")),
      ...t.push(chunk({ reasoning_content: "hm" })),
      ...t.push(text("", "stop")),
      ...t.push({ choices: [], usage: { prompt_tokens: 2, completion_tokens: 2 } }),
      ...t.finish({ totalNs: 5, loadNs: 1 }),
    ]);
    assert.deepEqual(out, [
      { model: "g", response: "Once", done: false },
      { model: "g", response: " upon", done: false },
      { model: "g", response: "", thinking: "hm", done: false },
      { model: "g", response: "", done: true, done_reason: "stop", total_duration: 5, load_duration: 1, prompt_eval_count: 2, prompt_eval_duration: 0, eval_count: 2, eval_duration: 0 },
    ]);
  });

  test("generate: llama.cpp's native events, whose last one carries the counts", () => {
    const t = new OllamaStreamTranslator({ kind: "generate", model: "g" });
    const out = strip([
      ...t.push({ content: "a", stop: false }),
      ...t.push({ content: "b", stop: false }),
      ...t.push({ content: "", stop: true, stop_type: "limit", tokens_evaluated: 9, tokens_predicted: 2, timings: { prompt_ms: 1, predicted_ms: 2 } }),
      ...t.finish({ totalNs: 3, loadNs: 0 }),
    ]);
    assert.deepEqual(out.map((o) => o["response"]), ["a", "b", ""]);
    assert.deepEqual(out[2], { model: "g", response: "", done: true, done_reason: "length", total_duration: 3, load_duration: 0, prompt_eval_count: 9, prompt_eval_duration: 1_000_000, eval_count: 2, eval_duration: 2_000_000 });
  });

  test("only the first choice is followed, and per-chunk logprobs ride on the piece", () => {
    const t = new OllamaStreamTranslator({ kind: "chat", model: "m" });
    const out = strip(t.push({ choices: [{ index: 1, delta: { content: "other" } }, { index: 0, delta: { content: "x" }, logprobs: { content: [{ token: "x", logprob: -1 }] } } as any] }));
    assert.deepEqual(out, [{ model: "m", message: { role: "assistant", content: "x" }, done: false, logprobs: [{ token: "x", logprob: -1 }] }]);
  });
});

describe("embeddings", () => {
  test("/api/embed: input string or list; legacy /api/embeddings: prompt", () => {
    const e = ollamaEmbedRequest({ model: "e", input: ["a", "b"], truncate: true, keep_alive: -1 }, false);
    assert.deepEqual(e, { model: "e", keepAlive: "forever", openai: { model: "e", input: ["a", "b"], encoding_format: "float" }, loadOnly: false });
    assert.equal(ollamaEmbedRequest({ model: "e", input: "a" }, false).openai["input"], "a");
    assert.equal(ollamaEmbedRequest({ model: "e", input: [] }, false).loadOnly, true);
    assert.equal(ollamaEmbedRequest({ model: "e" }, false).loadOnly, true);
    const legacy = ollamaEmbedRequest({ model: "e", prompt: "hello" }, true);
    assert.equal(legacy.openai["input"], "hello");
    assert.equal(ollamaEmbedRequest({ model: "e", prompt: "" }, true).loadOnly, true);
    const dims = ollamaEmbedRequest({ model: "e", input: "a", dimensions: 2 }, false);
    assert.equal(dims.dimensions, 2);
    assert400(() => ollamaEmbedRequest({ model: "e", input: [1, 2] }, false), "'input'");
    assert400(() => ollamaEmbedRequest({ model: "e", input: "a", truncate: "no" }, false), "'truncate'");
    assert400(() => ollamaEmbedRequest({ model: "e", input: "a", dimensions: 0 }, false), "'dimensions'");
    assert400(() => ollamaEmbedRequest({ model: "e", prompt: 1 }, true), "'prompt'");
    assert400(() => ollamaEmbedRequest({ input: "a" }, false), "model is required");
  });

  test("answers: vectors in input order, counts; legacy is one vector; dimensions cut and renormalize", () => {
    const resp = { object: "list", data: [{ index: 1, embedding: [0, 1] }, { index: 0, embedding: [1, 0] }], usage: { prompt_tokens: 5, total_tokens: 5 } };
    assert.deepEqual(ollamaEmbedAnswer(resp, { model: "e", totalNs: 10, loadNs: 2 }, false), { model: "e", embeddings: [[1, 0], [0, 1]], total_duration: 10, load_duration: 2, prompt_eval_count: 5 });
    assert.deepEqual(ollamaEmbedAnswer(resp, { model: "e", totalNs: 10, loadNs: 2 }, true), { embedding: [1, 0] });
    assert.deepEqual(ollamaEmbedAnswer({ data: [] }, { model: "e", totalNs: 1, loadNs: 0 }, true), { embedding: [] });
    const cut = ollamaEmbedAnswer({ data: [{ index: 0, embedding: [3, 4, 12] }] }, { model: "e", totalNs: 1, loadNs: 0, dimensions: 2 }, false);
    assert.deepEqual(cut["embeddings"], [[0.6, 0.8]]);
  });
});

describe("model listings", () => {
  const summary = summaryOf(
    {
      version: 3, tensor_count: 291n, kv_count: 30n,
      "general.architecture": "qwen2", "general.name": "Qwen2.5 7B", "general.file_type": 15,
      "qwen2.context_length": 32768, "qwen2.embedding_length": 3584, "qwen2.block_count": 28,
      "qwen2.attention.head_count": 28, "qwen2.attention.head_count_kv": 4, "general.big": 5000000000n,
      "tokenizer.ggml.tokens": ["a", "b"], "tokenizer.chat_template": "{{ messages }}",
    },
    7_615_616_512,
    "qwen2.5-7b-instruct-q4_k_m.gguf",
  );

  test("the GGUF summary: named fields, scalars only, bigints as numbers", () => {
    assert.equal(summary.architecture, "qwen2");
    assert.equal(summary.name, "Qwen2.5 7B");
    assert.equal(summary.fileType, 15);
    assert.equal(summary.quantization, "Q4_K_M");
    assert.equal(summary.contextLength, 32768);
    assert.equal(summary.embeddingLength, 3584);
    assert.equal(summary.blockCount, 28);
    assert.equal(summary.headCount, 28);
    assert.equal(summary.headCountKv, 4);
    assert.equal(summary.chatTemplate, "{{ messages }}");
    assert.equal(summary.metadata["general.big"], 5_000_000_000);
    assert.equal("tokenizer.ggml.tokens" in summary.metadata, false);
    assert.equal("version" in summary.metadata, false);
    // no file type: the file name's quant tag, else unknown
    assert.equal(summaryOf({ "general.architecture": "llama" }, 1, "x-Q8_0.gguf").quantization, "Q8_0");
    assert.equal(summaryOf({}, 1, "x.gguf").quantization, "unknown");
    assert.equal(summaryOf({}, 1, "x.gguf").architecture, "unknown");
  });

  test("parameter sizes as Ollama writes them", () => {
    assert.equal(formatParameterSize(8_030_261_248), "8.0B");
    assert.equal(formatParameterSize(7_615_616_512), "7.6B");
    assert.equal(formatParameterSize(70_553_706_496), "70.6B");
    assert.equal(formatParameterSize(3_000_000_000), "3B");
    assert.equal(formatParameterSize(494_032_768), "494.03M");
    assert.equal(formatParameterSize(135_000_000), "135M");
    assert.equal(formatParameterSize(368_960), "369K");
    assert.equal(formatParameterSize(999), "999");
  });

  test("details, a tags entry and a ps entry", () => {
    assert.deepEqual(ollamaDetails(summary), { parent_model: "", format: "gguf", family: "qwen2", families: ["qwen2"], parameter_size: "7.6B", quantization_level: "Q4_K_M" });
    assert.deepEqual(ollamaDetails(undefined), { parent_model: "", format: "gguf", family: "", families: [], parameter_size: "", quantization_level: "" });
    const modifiedAt = new Date("2025-01-02T03:04:05.000Z");
    const digest = ollamaDigest("/m/q.gguf", 123, 456);
    assert.match(digest, /^[0-9a-f]{64}$/);
    assert.equal(ollamaDigest("/m/q.gguf", 123, 456), digest);
    assert.notEqual(ollamaDigest("/m/q.gguf", 123, 457), digest);
    assert.deepEqual(ollamaTag({ name: "qwen", sizeBytes: 123, modifiedAt, digest, summary }), {
      name: "qwen", model: "qwen", modified_at: "2025-01-02T03:04:05.000Z", size: 123, digest, details: ollamaDetails(summary),
    });
    const expiresAt = new Date("2030-01-01T00:00:00.000Z");
    assert.deepEqual(ollamaPsEntry({ name: "qwen", sizeBytes: 123, digest, summary, expiresAt, sizeVram: 100, contextLength: 4096 }), {
      name: "qwen", model: "qwen", size: 123, digest, details: ollamaDetails(summary), expires_at: "2030-01-01T00:00:00.000Z", size_vram: 100, context_length: 4096,
    });
    const forever = ollamaPsEntry({ name: "q", sizeBytes: 1, digest, expiresAt: undefined, sizeVram: 0 });
    assert.ok(new Date(forever["expires_at"] as string).getUTCFullYear() > 2300);
    assert.equal("context_length" in forever, false);
  });

  test("show: model_info with the parameter count, parameters as text, a Modelfile", () => {
    const s = ollamaShow({
      summary,
      template: "TPL",
      parameters: { num_ctx: 4096, temperature: 0.8, stop: ["<|im_end|>", "<|endoftext|>"] },
      modifiedAt: new Date("2025-01-02T03:04:05.000Z"),
      capabilities: ["completion", "tools"],
      path: "/m/q.gguf",
    });
    assert.equal(s["license"], "");
    assert.equal(s["template"], "TPL");
    assert.deepEqual(s["capabilities"], ["completion", "tools"]);
    assert.equal(s["modified_at"], "2025-01-02T03:04:05.000Z");
    assert.deepEqual(s["details"], ollamaDetails(summary));
    const info = s["model_info"] as Record<string, unknown>;
    assert.equal(info["general.parameter_count"], 7_615_616_512);
    assert.equal(info["qwen2.context_length"], 32768);
    assert.equal("tokenizer.chat_template" in info, false);
    assert.equal(s["parameters"], [
      `${"num_ctx".padEnd(30)} 4096`,
      `${"temperature".padEnd(30)} 0.8`,
      `${"stop".padEnd(30)} "<|im_end|>"`,
      `${"stop".padEnd(30)} "<|endoftext|>"`,
    ].join("\n"));
    const modelfile = s["modelfile"] as string;
    assert.match(modelfile, /^FROM \/m\/q\.gguf$/m);
    assert.match(modelfile, /^TEMPLATE """TPL"""$/m);
    assert.match(modelfile, /^PARAMETER stop +"<\|im_end\|>"$/m);
    // without a template of its own, the GGUF's
    assert.equal(ollamaShow({ summary, modifiedAt: new Date(), capabilities: [] })["template"], "{{ messages }}");
  });

  test("capabilities from the template and the engine", () => {
    assert.deepEqual(ollamaCapabilities({ template: "{{ messages }}" }), ["completion"]);
    assert.deepEqual(ollamaCapabilities({ template: "{% if tools %}{{ tools | tojson }}{% endif %}" }), ["completion", "tools"]);
    assert.deepEqual(ollamaCapabilities({ template: "{% if enable_thinking %}<think>{% endif %}", embeddings: true, vision: true }), ["completion", "thinking", "vision", "embedding"]);
    assert.deepEqual(ollamaCapabilities({ template: "{{ message.reasoning_content }}" }), ["completion", "thinking"]);
  });

  test("a version clients accept", () => {
    const [major, minor] = OLLAMA_VERSION.split(".").map(Number);
    assert.ok(major! > 0 || minor! >= 9, OLLAMA_VERSION);
  });
});

describe("readGgufSummary on files", () => {
  test("a real GGUF file: the random test model's header, cached per file version", async () => {
    const file = await getTestModel("tiny");
    const s = await readGgufSummary(file);
    assert.equal(s.architecture, "llama");
    assert.equal(s.quantization, "F16");
    assert.equal(s.fileType, 1);
    assert.ok(s.parameterCount > 100_000, String(s.parameterCount));
    assert.equal(typeof s.contextLength, "number");
    assert.equal(typeof s.blockCount, "number");
    assert.match(s.chatTemplate ?? "", /im_start/);
    assert.equal(await readGgufSummary(file), s, "the second read is the cached summary");
  });

  test("a split model: the first shard's metadata, the parameters of all shards", async () => {
    const dir = tempDirUntilExit("corral-gguf-");
    const shard = async (i: number, elements: number) => {
      const w = new GgufWriter().set("split.no", gguf.u16(i - 1)).set("split.count", gguf.u16(2));
      if (i === 1) w.set("general.architecture", gguf.str("llama")).set("general.file_type", gguf.u32(7)).set("llama.block_count", gguf.u32(3));
      w.addTensor({ name: `t${i}`, dims: [elements], type: "f32", data: new Float32Array(elements) });
      await w.write(path.join(dir, `m-Q8_0-0000${i}-of-00002.gguf`));
    };
    await shard(1, 100);
    await shard(2, 50);
    const s = await readGgufSummary(path.join(dir, "m-Q8_0-00001-of-00002.gguf"));
    assert.equal(s.parameterCount, 150);
    assert.equal(s.architecture, "llama");
    assert.equal(s.quantization, "Q8_0");
    assert.equal(s.blockCount, 3);
    assert.equal(s.metadata["split.count"], 2);
  });

  test("a file that is not a GGUF is a clear error", async () => {
    const dir = tempDirUntilExit("corral-gguf-");
    const file = path.join(dir, "fake.gguf");
    writeFileSync(file, "this is not a model, just some text that is long enough to be read as a header");
    await assert.rejects(readGgufSummary(file), /fake\.gguf is not a readable GGUF file/);
    await assert.rejects(readGgufSummary(path.join(dir, "missing.gguf")), /ENOENT/);
  });
});
