// Hostile and broken input: every case gets a 4xx JSON error in the usual shape, and the router keeps serving.
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { chat, makeModelsDir, startRouter } from "../helpers/router.js";
import { runCorral, type RunningServer } from "../helpers/server.js";

interface ErrorBody {
  error: { code: number | string; message: string; type: string };
}

/** A 4xx in the error shape of the path's dialect: Anthropic's for /v1/messages, Ollama's for /api/*, else OpenAI's. */
function assertErrorShape(status: number, body: unknown, what: string, path = ""): void {
  assert.ok(status >= 400 && status < 500, `${what}: status ${status}`);
  if (path.startsWith("/api/")) {
    const e = (body as { error?: unknown }).error;
    assert.ok(typeof e === "string" && e.length > 0, `${what}: ${JSON.stringify(body)}`);
    return;
  }
  if (path.startsWith("/v1/messages")) {
    const b = body as { type?: unknown; error?: { type?: unknown; message?: unknown } };
    assert.ok(b.type === "error" && typeof b.error?.type === "string" && typeof b.error.message === "string" && b.error.message.length > 0, `${what}: ${JSON.stringify(body)}`);
    return;
  }
  const e = (body as ErrorBody).error;
  assert.ok(e && typeof e.message === "string" && e.message.length > 0, `${what}: no error.message in ${JSON.stringify(body)}`);
  assert.ok(typeof e.type === "string" && (typeof e.code === "number" || typeof e.code === "string"), `${what}: ${JSON.stringify(body)}`);
}

async function post(url: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    method: "POST",
    body: typeof body === "string" ? body : new Uint8Array(body),
    headers: { "content-type": "application/json", ...headers },
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // left as text: the assertion will say so
  }
  return { status: res.status, body: parsed };
}

/** Sends raw bytes on a fresh connection and returns everything the server answers before closing. */
function rawExchange(port: number, bytes: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    let out = "";
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; got: ${out}`));
    }, timeoutMs);
    sock.on("data", (d) => (out += d.toString()));
    sock.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
    sock.on("error", () => {});
    sock.write(bytes);
  });
}

describe("router: hostile input", () => {
  let server: RunningServer;
  let port: number;
  before(async () => {
    const dir = await makeModelsDir({ "tiny.gguf": 1 });
    server = await startRouter(["--models-dir", dir, "-c", "512", "--timeout", "2", "--max-body", "1m"]);
    port = Number(new URL(server.url).port);
  });
  after(async () => {
    await server.stop();
  });

  test("bad bodies: truncated, array, wrong types, deep nesting, invalid UTF-8, path-like model names", async () => {
    const url = `${server.url}/v1/chat/completions`;
    const cases: Array<[string, string | Buffer]> = [
      ["truncated JSON", '{"model":"tiny","messages":[{"role":'],
      ["JSON array", "[1,2,3]"],
      ["JSON string", '"hello"'],
      ["number model", '{"model":7,"messages":[]}'],
      ["object model", '{"model":{"a":1}}'],
      ["no model", '{"messages":[{"role":"user","content":"hi"}]}'],
      ["empty body", ""],
      ["path model", '{"model":"../../etc/passwd","messages":[]}'],
      ["absolute path model", '{"model":"/etc/passwd","messages":[]}'],
      ["100000-deep nesting", `{"model":${"[".repeat(100_000)}${"]".repeat(100_000)}}`],
      ["100000-deep objects", `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`],
      ["invalid UTF-8", Buffer.concat([Buffer.from('{"model":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('","messages":[]}')])],
      ["NUL bytes", Buffer.from([0, 0, 0, 0])],
    ];
    for (const [what, body] of cases) {
      const r = await post(url, body);
      assertErrorShape(r.status, r.body, what);
    }
    const tooBig = await post(url, Buffer.alloc(2 * 1024 * 1024, 0x61));
    assert.equal(tooBig.status, 413);
    assertErrorShape(tooBig.status, tooBig.body, "2 MB body over --max-body 1m");
    // and after all that, the model still answers
    assert.equal((await chat(server.url, "tiny")).status, 200);
  });

  test("a 64 MB body is refused with 413 and others are served meanwhile", async () => {
    const big = fetch(`${server.url}/v1/completions`, { method: "POST", body: new Uint8Array(64 * 1024 * 1024).fill(0x20) })
      .then(async (r) => ({ status: r.status, body: await r.json().catch(() => undefined) }))
      .catch(() => ({ status: 413, body: { error: { code: 413, message: "connection closed after the 413", type: "x" } } }));
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
    const r = await big;
    assert.equal(r.status, 413);
  });

  test("malformed HTTP: unknown method, garbage, huge headers get a JSON 4xx; known methods on unknown routes 404", async () => {
    for (const [what, bytes] of [
      ["unknown method", "FROB /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"],
      ["garbage", "\x00\x01\x02 hello\r\n\r\n"],
      ["huge headers", `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(70_000)}\r\n\r\n`],
    ] as const) {
      const answer = await rawExchange(port, bytes);
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(answer);
      assert.ok(m, `${what}: ${answer.slice(0, 200)}`);
      const body = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)) as unknown;
      assertErrorShape(Number(m[1]), body, what);
    }
    const put = await fetch(`${server.url}/v1/chat/completions`, { method: "PUT", body: "{}" });
    assertErrorShape(put.status, await put.json(), "PUT");
    const del = await fetch(`${server.url}/models/load`, { method: "DELETE" });
    assertErrorShape(del.status, await del.json(), "DELETE");
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
  });

  test("a client that sends half a request and stalls: others are served, and the idle connection is closed", async () => {
    const stalled = net.connect(port, "127.0.0.1");
    const closed = new Promise<number>((resolve) => stalled.on("close", () => resolve(Date.now())));
    stalled.on("error", () => {});
    const t0 = Date.now();
    stalled.write("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"model\":\"ti");
    for (let i = 0; i < 3; i++) assert.equal((await chat(server.url, "tiny")).status, 200);
    const closedAt = await closed;
    assert.ok(closedAt - t0 < 6000, `closed after ${closedAt - t0} ms (--timeout 2)`);
  });

  test("fuzz: arbitrary bodies on routed and admin paths always get a 4xx JSON error (autoload off), never a crash", async () => {
    const dir = await makeModelsDir({ "tiny.gguf": 1 });
    const fuzzed = await startRouter(["--models-dir", dir, "--no-models-autoload"]);
    try {
      // no /models/load: with nothing loaded (and autoload off) nothing reaches a model process, so every answer
      // comes from the router's own routing and validation layer
      const paths = ["/v1/chat/completions", "/v1/completions", "/completion", "/v1/embeddings", "/tokenize", "/models/unload", "/infill", "/v1/messages", "/v1/responses", "/api/chat", "/api/generate", "/api/embed"];
      const bodies = fc.oneof(
        fc.string(),
        fc.json(),
        fc.jsonValue().map((v) => JSON.stringify(v)),
        fc.record({ model: fc.oneof(fc.string(), fc.constant("tiny"), fc.integer(), fc.constant(null), fc.array(fc.string())), messages: fc.anything() })
          .map((v) => JSON.stringify(v)),
        fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
      );
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...paths), bodies, async (path, body) => {
          const r = await post(`${fuzzed.url}${path}`, body);
          assertErrorShape(r.status, r.body, `${path} ${String(body).slice(0, 80)}`, path);
        }),
        { numRuns: 300 },
      );
      assert.equal((await fetch(`${fuzzed.url}/health`)).status, 200);
      assert.equal(fuzzed.proc.exitCode, null, "the router is still running");
    } finally {
      await fuzzed.stop();
    }
  });
});

describe("router: exposure", () => {
  test("refuses a non-loopback --host without --api-key, unless --allow-public", async () => {
    const dir = await makeModelsDir({ "tiny.gguf": 1 });
    const r = await runCorral(["--models-dir", dir, "--host", "0.0.0.0", "--port", "0"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refusing to listen on 0\.0\.0\.0 without --api-key.*--allow-public/);
    assert.equal(r.stderr.trim().split("\n").length, 1);
  });

  test("CORS is off by default; --cors-origins allows the listed origins, preflight included", async () => {
    const dir = await makeModelsDir({ "tiny.gguf": 1 });
    const off = await startRouter(["--models-dir", dir]);
    try {
      const r = await fetch(`${off.url}/v1/models`, { headers: { origin: "https://app.example" } });
      assert.equal(r.headers.get("access-control-allow-origin"), null);
    } finally {
      await off.stop();
    }
    const on = await startRouter(["--models-dir", dir, "--cors-origins", "https://app.example", "-c", "512"]);
    try {
      const pre = await fetch(`${on.url}/v1/chat/completions`, {
        method: "OPTIONS",
        headers: { origin: "https://app.example", "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
      });
      assert.equal(pre.status, 200, "llama-server answers preflights 200");
      assert.equal(pre.headers.get("access-control-allow-origin"), "https://app.example");
      assert.match(pre.headers.get("access-control-allow-methods")!, /POST/);
      const routed = await fetch(`${on.url}/v1/chat/completions`, {
        method: "POST",
        headers: { origin: "https://app.example", "content-type": "application/json" },
        body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "hi" }], max_tokens: 2 }),
      });
      assert.equal(routed.status, 200);
      assert.equal(routed.headers.get("access-control-allow-origin"), "https://app.example", "proxied answers carry it too");
      const other = await fetch(`${on.url}/v1/models`, { headers: { origin: "https://evil.example" } });
      assert.equal(other.headers.get("access-control-allow-origin"), null);
    } finally {
      await on.stop();
    }
  });
});
