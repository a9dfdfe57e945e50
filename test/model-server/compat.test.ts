// Real third-party files, the demo model `npm start` serves, and tool calls.
import { describe, test } from "node:test";
import assert from "node:assert/strict";

import path from "node:path";
import OpenAI from "openai";
import { getTestModel, sharedThirdPartyModel } from "../helpers/models.js";
import { postJson, startServer } from "../helpers/server.js";
import { parseToolCalls } from "../../src/model-server/routes/generation.js";
import { tempDirUntilExit } from "../../src/util/temp-dir.js";

describe("third-party GGUF (llama-2-tiny-random, converted by Hugging Face tooling)", () => {
  const model = sharedThirdPartyModel();
  test("loads, tokenizes with its 32000-token vocabulary, chats with the ChatML fallback, and streams", { skip: model ? false : "../shared/models/llama-2-tiny-random.gguf is not present (only CI and developers have it)" }, async () => {
    const server = await startServer(["-m", model!, "-t", "1", "-c", "1024"]);
    try {
      const models = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: Array<{ id: string; meta: { n_vocab: number } }> };
      assert.equal(models.data[0]!.id, "llama-2-tiny-random");
      assert.equal(models.data[0]!.meta.n_vocab, 32000);
      const tok = await postJson(`${server.url}/tokenize`, { content: "Hello world" });
      const detok = await postJson(`${server.url}/detokenize`, { tokens: tok.json.tokens });
      assert.equal(detok.json.content, "Hello world");
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "x" });
      const r = await client.chat.completions.create({ model: "llama-2-tiny-random", messages: [{ role: "user", content: "hi" }], max_tokens: 8, logit_bias: { "2": -100 } });
      assert.equal(r.usage!.completion_tokens, 8);
      const props = (await (await fetch(`${server.url}/props`)).json()) as { chat_template: string };
      assert.match(props.chat_template, /im_start/, "no template in the file: ChatML, as llama-server does");
      const stream = await client.chat.completions.create({ model: "x", messages: [{ role: "user", content: "hi" }], max_tokens: 5, stream: true });
      let chunks = 0;
      for await (const _ of stream) chunks++;
      assert.ok(chunks >= 2);
    } finally {
      await server.stop();
    }
  });
});

describe("npm start with no model", () => {
  test("is a router over the Hugging Face cache and the demo model, generated into the cache folder", async () => {
    const cache = tempDirUntilExit("corral-xdg-");
    // only XDG_CACHE_HOME: both the demo model and the (empty) hub cache live under it
    const env: NodeJS.ProcessEnv = { XDG_CACHE_HOME: cache, LLAMA_CACHE: "", HF_HUB_CACHE: "", HUGGINGFACE_HUB_CACHE: "", HF_HOME: "" };
    const server = await startServer(["-t", "1"], { env });
    try {
      assert.match(server.output(), /demo model/);
      const models = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: Array<{ id: string; source: string }> };
      assert.deepEqual(models.data.map((m) => [m.id, m.source]), [["corral-demo", "builtin"], ["corral-demo-b", "builtin"]]);
      const r = await postJson(`${server.url}/v1/chat/completions`, { model: "corral-demo", messages: [{ role: "user", content: "hi" }], max_tokens: 4 });
      assert.equal(r.status, 200);
    } finally {
      await server.stop();
    }
  });
});

describe("templates and logs", () => {
  test("--chat-template overrides the model's template; --log-format json writes JSON lines", async () => {
    const template = "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}";
    const server = await startServer(["-m", await getTestModel("tiny"), "-t", "1", "--chat-template", template, "--log-format", "json"]);
    try {
      const r = await postJson(`${server.url}/apply-template`, { messages: [{ role: "user", content: "Hi" }] });
      assert.equal(r.json.prompt, "[user] Hi\n[assistant] ");
      const lines = server.output().trim().split("\n").filter((l) => l.startsWith("{"));
      assert.ok(lines.length >= 2, server.output());
      for (const l of lines) assert.equal(typeof (JSON.parse(l) as { msg: string }).msg, "string");
    } finally {
      await server.stop();
    }
  });

  test("a chat template that does not parse stops start-up with one line", async () => {
    const { runCorral } = await import("../helpers/server.js");
    const r = await runCorral(["-m", await getTestModel("tiny"), "--port", "0", "--chat-template", "{% for %}"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /corral: error: the chat template does not parse/);
  });
});

describe("tools", () => {
  test("tools are rendered by the template and <tool_call> output becomes tool_calls", async () => {
    const server = await startServer(["-m", await getTestModel("tiny"), "-t", "1"]);
    try {
      const tools = [{ type: "function", function: { name: "get_weather", description: "Weather for a city", parameters: { type: "object", properties: { city: { type: "string" } } } } }];
      const messages = [{ role: "user", content: "Weather in Paris?" }];
      const prompt = await postJson(`${server.url}/apply-template`, { messages, tools });
      assert.match(prompt.json.prompt, /get_weather/);
      // A random model will not call a tool on its own: a grammar makes it emit one.
      const r = await postJson(`${server.url}/v1/chat/completions`, {
        messages, tools, max_tokens: 80,
        grammar: 'root ::= "<tool_call>{\\"name\\": \\"get_weather\\", \\"arguments\\": {\\"city\\": \\"Paris\\"}}</tool_call>"',
      });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      const choice = r.json.choices[0];
      assert.equal(choice.finish_reason, "tool_calls");
      assert.equal(choice.message.tool_calls[0].function.name, "get_weather");
      assert.deepEqual(JSON.parse(choice.message.tool_calls[0].function.arguments), { city: "Paris" });
    } finally {
      await server.stop();
    }
  });

  test("text that is not a well-formed tool call stays content", () => {
    assert.equal(parseToolCalls("just words"), undefined);
    assert.equal(parseToolCalls("<tool_call>{not json}</tool_call>"), undefined);
    const two = parseToolCalls('a<tool_call>{"name":"f","arguments":{"x":1}}</tool_call> b <tool_call>{"name":"g"}</tool_call>');
    assert.equal(two!.calls.length, 2);
    assert.equal(two!.rest, "a b");
  });
});
