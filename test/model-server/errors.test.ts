// Bad input gets an OpenAI-shaped 4xx naming the problem, and the server keeps serving.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { getTestModel } from "../helpers/models.js";
import { postJson, runCorral, startServer, type RunningServer } from "../helpers/server.js";
import { tempDirUntilExit } from "../../src/util/temp-dir.js";

function assertError(r: { status: number; json: any }, status: number, type: string, messagePattern?: RegExp): void {
  assert.equal(r.status, status, JSON.stringify(r.json));
  assert.equal(r.json.error.code, status);
  assert.equal(r.json.error.type, type);
  assert.equal(typeof r.json.error.message, "string");
  if (messagePattern) assert.match(r.json.error.message, messagePattern);
}

describe("bad requests", () => {
  let server: RunningServer;
  let chat: string;
  before(async () => {
    server = await startServer(["-m", await getTestModel("tiny"), "-c", "256", "-t", "1"]);
    chat = `${server.url}/v1/chat/completions`;
  });
  after(async () => {
    await server?.stop();
  });

  const msgs = [{ role: "user", content: "hi" }];

  test("invalid JSON, a non-object body and an empty body", async () => {
    assertError(await postJson(chat, '{"messages": [', {}), 400, "invalid_request_error", /invalid JSON/);
    assertError(await postJson(chat, "[1,2,3]"), 400, "invalid_request_error", /JSON object/);
    assertError(await postJson(chat, ""), 400, "invalid_request_error", /JSON object/);
  });

  test("wrong types name the field", async () => {
    assertError(await postJson(chat, { messages: "hi" }), 400, "invalid_request_error", /'messages' must be an array/);
    assertError(await postJson(chat, { messages: [] }), 400, "invalid_request_error", /'messages'/);
    assertError(await postJson(chat, { messages: [{ content: "x" }] }), 400, "invalid_request_error", /messages\[0\]\.role/);
    assertError(await postJson(chat, { messages: msgs, temperature: "hot" }), 400, "invalid_request_error", /'temperature' must be a number/);
    assertError(await postJson(chat, { messages: msgs, max_tokens: 1.5 }), 400, "invalid_request_error", /'max_tokens' must be an integer/);
    assertError(await postJson(chat, { messages: msgs, stream: "yes" }), 400, "invalid_request_error", /'stream' must be a boolean/);
    assertError(await postJson(chat, { messages: msgs, stop: 5 }), 400, "invalid_request_error", /'stop'/);
    assertError(await postJson(chat, { messages: msgs, logit_bias: { "999999": 1 } }), 400, "invalid_request_error", /logit_bias/);
    assertError(await postJson(chat, { messages: msgs, response_format: { type: "xml" } }), 400, "invalid_request_error", /response_format\.type/);
    assertError(
      await postJson(chat, { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] }] }),
      400,
      "invalid_request_error",
      /messages\[0\]\.content\[0\]\.type/,
    );
    assertError(await postJson(`${server.url}/v1/completions`, { prompt: 42 }), 400, "invalid_request_error", /'prompt'/);
    assertError(await postJson(`${server.url}/tokenize`, { content: 1 }), 400, "invalid_request_error", /'content'/);
    assertError(await postJson(`${server.url}/detokenize`, { tokens: [-1] }), 400, "invalid_request_error", /tokens\[0\]/);
  });

  test("out-of-range values name the field", async () => {
    assertError(await postJson(chat, { messages: msgs, temperature: -1 }), 400, "invalid_request_error", /'temperature' must be >= 0/);
    assertError(await postJson(chat, { messages: msgs, top_p: 1.5 }), 400, "invalid_request_error", /'top_p' must be <= 1/);
    assertError(await postJson(chat, { messages: msgs, presence_penalty: 3 }), 400, "invalid_request_error", /'presence_penalty'/);
    assertError(await postJson(chat, { messages: msgs, n: 2 }), 400, "invalid_request_error", /'n'/);
  });

  test("a prompt longer than the context is a 400 with the sizes", async () => {
    const long = "word ".repeat(400);
    const r = await postJson(chat, { messages: [{ role: "user", content: long }] });
    assertError(r, 400, "exceed_context_size_error", /context size/);
    assert.equal(r.json.error.n_ctx, 256);
    assert.ok(r.json.error.n_prompt_tokens > 256);
    const s = await postJson(chat, { messages: [{ role: "user", content: long }], stream: true });
    assert.equal(s.status, 400, "a stream that cannot start still gets a status code");
  });

  test("unknown paths are 404 JSON; embeddings without --embedding are 400 naming the flag and the preset key", async () => {
    const r = await fetch(`${server.url}/v1/nothing-here`);
    assert.equal(r.status, 404);
    assert.equal(((await r.json()) as any).error.type, "not_found_error");
    // 400, not llama-server's 501: SDKs retry a 5xx three times, and no retry can help
    for (const p of ["/v1/embeddings", "/embeddings", "/embedding"]) {
      const e = await postJson(`${server.url}${p}`, { input: "x" });
      assertError(e, 400, "invalid_request_error", /Start it with `--embeddings`.*`embeddings = true`/);
      assert.equal(e.json.error.code, 400);
    }
    const id = ((await (await fetch(`${server.url}/v1/models`)).json()) as { data: Array<{ id: string }> }).data[0]!.id;
    const ollama = await postJson(`${server.url}/api/embed`, { model: id, input: "x" });
    assert.equal(ollama.status, 400);
    assert.match(ollama.json.error, /--embeddings/);
  });

  test("after all that, the server still answers", async () => {
    const r = await postJson(chat, { messages: msgs, max_tokens: 3 });
    assert.equal(r.status, 200);
    assert.equal(r.json.object, "chat.completion");
  });
});

describe("API key", () => {
  let server: RunningServer;
  before(async () => {
    const dir = tempDirUntilExit("corral-keys-");
    const keyFile = path.join(dir, "keys.txt");
    writeFileSync(keyFile, "# team keys\nfile-key\n");
    server = await startServer(["-m", await getTestModel("tiny"), "-t", "1", "--api-key", "k1,k2", "--api-key-file", keyFile]);
  });
  after(async () => {
    await server?.stop();
  });

  test("missing or wrong keys get 401 authentication_error; right keys pass", async () => {
    const url = `${server.url}/v1/chat/completions`;
    const body = { messages: [{ role: "user", content: "hi" }], max_tokens: 2 };
    assertError(await postJson(url, body), 401, "authentication_error", /Invalid API Key/);
    assertError(await postJson(url, body, { authorization: "Bearer nope" }), 401, "authentication_error");
    assert.equal((await postJson(url, body, { authorization: "Bearer k2" })).status, 200);
    assert.equal((await postJson(url, body, { "x-api-key": "k1" })).status, 200);
    assert.equal((await postJson(url, body, { authorization: "Bearer file-key" })).status, 200);
  });

  test("health and the model list stay open, as in llama-server", async () => {
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
    assert.equal((await fetch(`${server.url}/v1/models`)).status, 200);
    assert.equal((await fetch(`${server.url}/props`)).status, 401);
  });
});

describe("start-up errors", () => {
  /** `corral -m` on a file named `name` holding `content`, run to its exit. */
  const serveFile = async (name: string, content: string | Buffer) => {
    const bad = path.join(tempDirUntilExit("corral-bad-"), name);
    writeFileSync(bad, content);
    return runCorral(["-m", bad, "--port", "0"]);
  };
  /** The first `n` bytes of a real model. */
  const modelPrefix = async (n: number) => readFileSync(await getTestModel("tiny")).subarray(0, n);

  test("a file that is not a GGUF exits non-zero with one clear line", async () => {
    const r = await serveFile("broken.gguf", "this is not a model at all, just text");
    assert.notEqual(r.code, 0);
    const errLines = r.stderr.split("\n").filter((l) => l.startsWith("corral: error"));
    assert.equal(errLines.length, 1, r.stderr);
    assert.match(errLines[0]!, /not a GGUF file/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  });

  test("a GGUF cut short after its header says so, not a bare TypeError", async () => {
    const r = await serveFile("header-only.gguf", await modelPrefix(24));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /corral: error: failed to load model .*header-only\.gguf.*GGUF header could not be read \(the file looks truncated or corrupt/);
  });

  test("a truncated GGUF exits non-zero with a clear line", async () => {
    const r = await serveFile("truncated.gguf", await modelPrefix(5000));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /corral: error: .*(failed to load|truncated|load)/i);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  });

  test("a missing model file, an unknown flag and a bad value", async () => {
    const missing = await runCorral(["-m", "/nonexistent/model.gguf", "--port", "0"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /corral: error: cannot open model file/);
    const unknown = await runCorral(["--no-such-flag"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown argument: --no-such-flag/);
    const badValue = await runCorral(["-c", "lots"]);
    assert.equal(badValue.code, 2);
    assert.match(badValue.stderr, /-c: expected an integer/);
  });
});

describe("CORS (-m)", () => {
  test("llama-server's default (any origin, echoed, with credentials); --cors-origins '' turns it off", async () => {
    const model = await getTestModel("tiny");
    const open = await startServer(["-m", model, "-t", "1", "-c", "256"]);
    try {
      const pre = await fetch(`${open.url}/v1/chat/completions`, {
        method: "OPTIONS",
        headers: { origin: "https://x.example", "access-control-request-method": "POST" },
      });
      assert.equal(pre.status, 200);
      assert.equal(pre.headers.get("access-control-allow-origin"), "https://x.example");
      assert.equal(pre.headers.get("access-control-allow-credentials"), "true");
      const r = await fetch(`${open.url}/v1/models`, { headers: { origin: "https://x.example" } });
      assert.equal(r.headers.get("access-control-allow-origin"), "https://x.example");
      assert.match(open.output(), /CORS allows every origin and no API key is set/);
    } finally {
      await open.stop();
    }
    const off = await startServer(["-m", model, "-t", "1", "-c", "256", "--cors-origins", ""]);
    try {
      const r = await fetch(`${off.url}/v1/models`, { headers: { origin: "https://x.example" } });
      assert.equal(r.headers.get("access-control-allow-origin"), null);
      const pre = await fetch(`${off.url}/v1/models`, { method: "OPTIONS", headers: { origin: "https://x.example" } });
      assert.equal(pre.status, 404, "without CORS a preflight is just an unknown route");
    } finally {
      await off.stop();
    }
  });
});
