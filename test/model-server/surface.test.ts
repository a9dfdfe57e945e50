// llama-server's HTTP surface around generation, against real `corral -m` processes: /rerank, /tokenize's pieces,
// aliases and tags, /props and /slots, --no-ui, CORS and the --ui-mcp-proxy proxy.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { getTestModel } from "../helpers/models.js";
import { postJson, startServer, type RunningServer } from "../helpers/server.js";

const DOCS = ["a machine is a system", "learning is the process of acquiring knowledge", "paris is a city in france"];
const QUERY = "machine learning is";

describe("model server surface (--reranking, --tags, --ui-mcp-proxy, --no-ui)", () => {
  let server: RunningServer;

  before(async () => {
    const model = await getTestModel("tiny");
    server = await startServer([
      "-m", model, "-t", "1", "-c", "512", "-np", "2", "--slots", "--reranking", "--tags", "small,chat,small", "-a", "zeta,alpha",
      "--ui-mcp-proxy", "--no-ui", "--cors-origins", "localhost",
    ]);
  });
  after(async () => {
    await server?.stop();
  });

  test("/v1/models: the first alias in sorted order is the id, every alias and tag is listed", async () => {
    const m = ((await (await fetch(`${server.url}/v1/models`)).json()) as { data: Array<Record<string, unknown>> }).data[0]!;
    assert.equal(m["id"], "alpha");
    assert.deepEqual(m["aliases"], ["alpha", "zeta"]);
    assert.deepEqual(m["tags"], ["chat", "small"]);
  });

  test("rerank (Jina shape): results sorted best first, cut to top_n, usage counts the evaluated tokens", async () => {
    const r = await postJson(`${server.url}/rerank`, { query: QUERY, documents: DOCS, top_n: 2 });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.object, "list");
    assert.equal(r.json.model, "alpha");
    const results = r.json.results as Array<{ index: number; relevance_score: number }>;
    assert.equal(results.length, 2);
    for (const x of results) assert.ok(Number.isFinite(x.relevance_score) && DOCS[x.index] !== undefined);
    assert.ok(results[0]!.relevance_score >= results[1]!.relevance_score);
    assert.notEqual(results[0]!.index, results[1]!.index);
    // this vocabulary adds BOS and neither EOS nor SEP: [BOS] query document, per document
    const count = async (content: string, addSpecial: boolean) =>
      ((await postJson(`${server.url}/tokenize`, { content, add_special: addSpecial })).json.tokens as number[]).length;
    let expected = 0;
    for (const d of DOCS) expected += (await count(QUERY, true)) + (await count(d, false));
    assert.deepEqual(r.json.usage, { prompt_tokens: expected, total_tokens: expected });
    const all = await postJson(`${server.url}/rerank`, { query: QUERY, documents: DOCS, top_n: 99 });
    assert.equal(all.json.results.length, DOCS.length);
    assert.equal((await postJson(`${server.url}/rerank`, { query: QUERY, documents: DOCS, top_n: 0 })).json.results.length, 0);
  });

  test("rerank is served at all four of llama-server's paths, the same scores at each", async () => {
    const scores: string[] = [];
    for (const path of ["/rerank", "/reranking", "/v1/rerank", "/v1/reranking"]) {
      const r = await postJson(`${server.url}${path}`, { query: QUERY, documents: DOCS });
      assert.equal(r.status, 200, path);
      scores.push(JSON.stringify(r.json.results));
    }
    assert.equal(new Set(scores).size, 1);
  });

  test("rerank (TEI shape): a bare array of {index, score}, with the text when return_text", async () => {
    const r = await postJson(`${server.url}/rerank`, { query: QUERY, texts: DOCS, return_text: true });
    assert.equal(r.status, 200);
    assert.ok(Array.isArray(r.json));
    assert.equal(r.json.length, DOCS.length);
    for (const x of r.json as Array<{ index: number; score: number; text: string }>) {
      assert.ok(Number.isFinite(x.score));
      assert.equal(x.text, DOCS[x.index]);
    }
    const plain = await postJson(`${server.url}/rerank`, { query: QUERY, texts: DOCS, top_n: 1 });
    assert.equal(plain.json.length, 1);
    assert.equal(plain.json[0].text, undefined);
  });

  test("rerank: bad requests are 400s that name the field", async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ query: QUERY, documents: [] }, /'documents'/],
      [{ query: QUERY, documents: null }, /'documents'/],
      [{ query: QUERY, documents: 123 }, /'documents'/],
      [{ query: QUERY, documents: [1, 2, 3] }, /'documents\[0\]'/],
      [{ documents: DOCS }, /'query'/],
      [{ query: 5, documents: DOCS }, /'query'/],
      [{ query: QUERY, documents: DOCS, top_n: -1 }, /'top_n'/],
      [{ query: QUERY, documents: DOCS, top_n: 1.5 }, /'top_n'/],
    ];
    for (const [body, message] of cases) {
      const r = await postJson(`${server.url}/rerank`, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.json.error.message, message);
    }
    const long = await postJson(`${server.url}/rerank`, { query: QUERY, documents: ["ok", "word ".repeat(600)] });
    assert.equal(long.status, 400);
    assert.equal(long.json.error.type, "exceed_context_size_error");
    assert.match(long.json.error.message, /document 1/);
  });

  test("/tokenize with_pieces: whole characters as strings, a byte of a multi-byte character as its byte", async () => {
    const content = "héllo world";
    const r = await postJson(`${server.url}/tokenize`, { content, with_pieces: true });
    assert.equal(r.status, 200);
    const tokens = r.json.tokens as Array<{ id: number; piece: string | number[] }>;
    const bytes = tokens.map((t) => (typeof t.piece === "string" ? Buffer.from(t.piece, "utf8") : Buffer.from(t.piece)));
    // SentencePiece marks the start of the text as a word start: the pieces spell it with a leading space
    assert.equal(Buffer.concat(bytes).toString("utf8"), ` ${content}`);
    const split = tokens.filter((t) => Array.isArray(t.piece));
    assert.ok(split.length >= 2, "é only exists as byte-fallback tokens in this vocabulary");
    for (const t of tokens) assert.ok(t.piece.length > 0, `empty piece for token ${t.id}`);
    const special = await postJson(`${server.url}/tokenize`, { content: "hi", add_special: true, with_pieces: true });
    assert.equal(special.json.tokens[0].piece, "<s>", "special tokens are rendered");
  });

  test("--no-ui: / is a 404", async () => {
    assert.equal((await fetch(`${server.url}/`)).status, 404);
  });

  test("/props: llama-server's fields", async () => {
    const p = (await (await fetch(`${server.url}/props`)).json()) as Record<string, any>;
    assert.equal(p.model_alias, "alpha");
    assert.equal(p.total_slots, 2);
    assert.equal(p.default_generation_settings.n_ctx, 256);
    assert.equal(typeof p.default_generation_settings.params.seed, "number");
    assert.deepEqual(p.modalities, { vision: false, video: false, audio: false });
    assert.equal(p.endpoint_slots, true);
    assert.equal(p.ui, false);
    assert.equal(p.cors_proxy_enabled, true);
    assert.equal(p.endpoint_props, false);
    assert.equal(p.is_sleeping, false);
  });

  test("/slots: idle slots, and fail_on_no_slot passes while one is free", async () => {
    const r = await fetch(`${server.url}/slots?fail_on_no_slot=1`);
    assert.equal(r.status, 200);
    const slots = (await r.json()) as Array<Record<string, unknown>>;
    assert.equal(slots.length, 2);
    for (const s of slots) {
      assert.equal(s["n_ctx"], 256);
      assert.equal(s["is_processing"], false);
      assert.equal(s["speculative"], false);
      assert.ok(!("params" in s));
    }
  });

  test("--cors-origins localhost: loopback origins are echoed, others are not, a preflight is 200 either way", async () => {
    const ask = (origin: string) =>
      fetch(`${server.url}/completions`, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST" } });
    const local = await ask("http://127.0.0.1:3000");
    assert.equal(local.status, 200);
    assert.equal(local.headers.get("access-control-allow-origin"), "http://127.0.0.1:3000");
    const evil = await ask("http://localhost.evil.example");
    assert.equal(evil.status, 200);
    assert.equal(evil.headers.get("access-control-allow-origin"), null);
  });

  test("/cors-proxy forwards only the headers named x-llama-server-proxy-header-*, and the body as sent", async () => {
    const seen: Array<{ method: string; headers: http.IncomingHttpHeaders; body: string }> = [];
    const target = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        seen.push({ method: req.method!, headers: req.headers, body });
        res.writeHead(201, { "content-type": "text/event-stream", "set-cookie": "theirs=1", "x-upstream": "yes" });
        res.end("data: hello\n\n");
      });
    });
    await new Promise<void>((r) => target.listen(0, "127.0.0.1", r));
    const port = (target.address() as AddressInfo).port;
    try {
      const res = await fetch(`${server.url}/cors-proxy?url=${encodeURIComponent(`http://127.0.0.1:${port}/mcp?x=1`)}`, {
        method: "POST",
        headers: {
          authorization: "Bearer mine",
          cookie: "session=mine",
          "x-api-key": "mine",
          "content-type": "text/plain",
          "x-llama-server-proxy-header-authorization": "Bearer theirs",
          "x-llama-server-proxy-header-content-type": "application/json",
        },
        body: "not json {",
      });
      assert.equal(res.status, 201);
      assert.equal(await res.text(), "data: hello\n\n");
      assert.equal(res.headers.get("x-upstream"), "yes");
      assert.equal(res.headers.get("set-cookie"), null, "another site's cookies stay out of this origin");
      const got = seen[0]!;
      assert.equal(got.method, "POST");
      assert.equal(got.body, "not json {");
      assert.equal(got.headers["authorization"], "Bearer theirs");
      assert.equal(got.headers["content-type"], "application/json");
      assert.equal(got.headers["cookie"], undefined);
      assert.equal(got.headers["x-api-key"], undefined);
    } finally {
      target.close();
    }
    for (const bad of ["", "not a url", "ftp://127.0.0.1/x", "http://user:pw@127.0.0.1/"]) {
      const r = await fetch(`${server.url}/cors-proxy?url=${encodeURIComponent(bad)}`);
      assert.equal(r.status, 400, bad);
      assert.match(((await r.json()) as { error: { message: string } }).error.message, /'url'/);
    }
  });
});

describe("model server surface (defaults, --pooling none, --tools)", () => {
  let server: RunningServer;

  before(async () => {
    const model = await getTestModel("tiny");
    server = await startServer(["-m", model, "-t", "1", "-c", "256", "--embedding", "--pooling", "none", "--tools", "all"]);
  });
  after(async () => {
    await server?.stop();
  });

  test("--pooling none: the OpenAI embeddings path refuses, as llama-server's", async () => {
    const r = await postJson(`${server.url}/v1/embeddings`, { input: "hello" });
    assert.equal(r.status, 400);
    assert.match(r.json.error.message, /not OAI compatible/);
  });

  test("embeddings take llama-server's mixed prompts of token ids and strings", async () => {
    const post = (input: unknown) => postJson(`${server.url}/embeddings`, { input });
    assert.equal((await post([12, 34, "string", 56, 78])).json.data.length, 1, "numbers and strings at the top: one prompt");
    assert.equal((await post([[12, 34, 56], [12, "string", 34, 56]])).json.data.length, 2);
    assert.equal((await post(["string1", [12, 34, 56]])).json.data.length, 2);
    const bad = await post([[12, { x: 1 }]]);
    assert.equal(bad.status, 400);
    assert.match(bad.json.error.message, /'input\[0\]\[1\]'/);
    const long = await post("word ".repeat(400));
    assert.equal(long.status, 400);
    assert.match(long.json.error.message, /too large/);
  });

  test("without --reranking, /rerank is a 501; without --ui-mcp-proxy, /cors-proxy is a 403", async () => {
    const r = await postJson(`${server.url}/rerank`, { query: "q", documents: ["d"] });
    assert.equal(r.status, 501);
    assert.match(r.json.error.message, /--reranking/);
    const p = await fetch(`${server.url}/cors-proxy?url=${encodeURIComponent("http://127.0.0.1:1/")}`);
    assert.equal(p.status, 403);
    assert.equal(((await p.json()) as { error: { type: string } }).error.type, "feature_disabled");
  });

  test("--tools: accepted with a warning, and the default CORS origins narrow to localhost", async () => {
    assert.match(server.output(), /--tools all: corral's built-in engine has no built-in agent tools/);
    const get = (origin: string) => fetch(`${server.url}/v1/models`, { headers: { origin } });
    assert.equal((await get("http://localhost:8080")).headers.get("access-control-allow-origin"), "http://localhost:8080");
    assert.equal((await get("https://web.example")).headers.get("access-control-allow-origin"), null);
  });

  test("the web page is served at / by default", async () => {
    const r = await fetch(`${server.url}/`);
    assert.equal(r.status, 200);
    assert.match(await r.text(), /^<!doctype html>/);
  });
});
