// The router's own metrics (GET /metrics with --metrics, read with a real Prometheus text parser) and its request
// log (one line per request, text or JSON, with the x-request-id the client got), end to end with real model
// processes.
import assert from "node:assert/strict";
import { IncomingMessage } from "node:http";
import { createRequire } from "node:module";
import { Socket } from "node:net";
import { PassThrough } from "node:stream";
import { after, before, describe, test } from "node:test";
import { chat, listModels, makeModelsDir, modelStatus, NO_PARTIAL_UTF8, startRouter, testEngines, waitFor } from "../helpers/router.js";
import { postJson, readSse, type RunningServer } from "../helpers/server.js";
import { noteTokensFromTail, RouterResponse } from "../../src/router/request-log.js";
import { createLogger } from "../../src/util/log.js";

interface Sample {
  labels?: Record<string, string>;
  value?: string;
}
interface Family {
  name: string;
  help: string;
  type: string;
  metrics: Sample[];
}
// the package ships no types
const parsePrometheus = createRequire(import.meta.url)("parse-prometheus-text-format") as (text: string) => Family[];

/**
 * The router's metrics, parsed. The parser merges the series of a labelled histogram into one and drops their
 * labels, so histograms are read as what the text format writes them as: plain _bucket, _sum and _count series.
 */
async function scrape(url: string): Promise<Family[]> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  assert.ok(parsePrometheus(text).some((f) => f.name === "corral_request_duration_seconds" && f.type === "HISTOGRAM"));
  return parsePrometheus(text.replace(/^# TYPE (\S+) histogram$/gm, "# TYPE $1 untyped"));
}

function family(all: Family[], name: string): Family {
  const f = all.find((x) => x.name === name);
  assert.ok(f, `no ${name} in the metrics: ${all.map((x) => x.name).join(", ")}`);
  return f;
}

/** The sample of `name` whose labels include `labels` (undefined when there is none). */
function sample(all: Family[], name: string, labels: Record<string, string>): Sample | undefined {
  return family(all, name).metrics.find((m) => Object.entries(labels).every(([k, v]) => (m.labels?.[k] ?? "") === v));
}

function value(all: Family[], name: string, labels: Record<string, string>): number | undefined {
  const s = sample(all, name, labels);
  return s ? Number(s.value) : undefined;
}

/** The JSON log lines of a router's output. */
function jsonLines(output: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of output.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut by the read in progress
    }
  }
  return out;
}

function requestLine(server: RunningServer, id: string): Promise<Record<string, unknown>> {
  return waitFor(`the log line of request ${id}`, () => jsonLines(server.output()).find((l) => l["msg"] === "request" && l["id"] === id), 5000);
}

describe("token counts from the end of a forwarded answer", () => {
  const tokens = (...chunks: string[]) => {
    const res = new RouterResponse(new IncomingMessage(new Socket()));
    noteTokensFromTail(res, chunks.map((c) => Buffer.from(c)));
    return [res.promptTokens, res.completionTokens];
  };
  test("JSON answers and SSE streams of each shape", () => {
    assert.deepEqual(tokens('{"choices":[],"usage":{"completion_tokens":4,"prompt_tokens":12,"total_tokens":16,"prompt_tokens_details":{"cached_tokens":0}}}'), [12, 4]);
    // a Python server's spacing, and an embedding's usage (no completion)
    assert.deepEqual(tokens('{"usage": {"prompt_tokens": 7, "completion_tokens": 2}}'), [7, 2]);
    assert.deepEqual(tokens('{"data":[],"usage":{"prompt_tokens":5,"total_tokens":5}}'), [5, -1]);
    // the usage event split across chunks, then [DONE] alone
    assert.deepEqual(tokens('data: {"choices":[{"delta":{"content":"x"}}]}\n\ndata: {"choices":[],"usage":{"prompt_to', 'kens":9,"completion_tokens":3}}\n\n', "data: [DONE]\n\n"), [9, 3]);
    // llama.cpp's /completion: its final event's counts, not an earlier event's
    assert.deepEqual(tokens('data: {"content":"a","tokens_predicted":1,"tokens_evaluated":2}\n\n', 'data: {"content":"","stop":true,"tokens_predicted":3,"tokens_evaluated":2,"timings":{"prompt_n":1,"predicted_n":3}}\n\n'), [2, 3]);
    // Anthropic's message_delta
    assert.deepEqual(tokens('event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":6}}\n\n'), [-1, 6]);
    // a key inside generated text is escaped, never read; an answer without counts leaves them unknown
    assert.deepEqual(tokens('{"content":"say \\"prompt_tokens\\":99","tokens":[1,2]}'), [-1, -1]);
    assert.deepEqual(tokens('{"usage":{"prompt_tokens":null}}'), [-1, -1]);
  });
});

test("a corked logger writes a turn's lines together, in order, at the end of the turn", async () => {
  const out = new PassThrough();
  const writes: string[] = [];
  out.on("data", (d: Buffer) => writes.push(d.toString()));
  const log = createLogger({ format: "text", verbose: false }, out);
  log.info("before");
  log.cork!();
  log.info("one");
  log.warn("two");
  await new Promise((r) => process.nextTick(r));
  assert.deepEqual(writes, ["I before\n"], "held until the turn ends");
  await new Promise((r) => setImmediate(r));
  assert.equal(writes.join(""), "I before\nI one\nW two\n");
  log.info("three");
  await new Promise((r) => setImmediate(r));
  assert.equal(writes.at(-1), "I three\n", "not corked any more");
});

describe("router metrics and request log (--metrics, --log-format json)", () => {
  let server: RunningServer;
  before(async () => {
    const dir = await makeModelsDir({ "alpha.gguf": 1, "beta.gguf": 2 });
    server = await startRouter(["--models-dir", dir, "--models-max", "1", "-c", "512", "--metrics", "--log-format", "json"]);
  });
  after(async () => {
    await server.stop();
  });

  test("requests, loads, an unload and an LRU eviction are counted; ?model= is the model's own metrics", async () => {
    for (let i = 0; i < 2; i++) assert.equal((await chat(server.url, "alpha")).status, 200);
    assert.equal((await chat(server.url, "no-such-model")).status, 404);
    assert.equal((await postJson(`${server.url}/models/unload`, { model: "alpha" })).status, 200);
    await waitFor("alpha unloaded", async () => (await modelStatus(server.url, "alpha"))!.status.value === "unloaded");
    assert.equal((await chat(server.url, "beta")).status, 200);
    // --models-max 1: alpha's load evicts beta, the least recently used idle model
    assert.equal((await chat(server.url, "alpha")).status, 200);
    await waitFor("beta unloaded", async () => (await modelStatus(server.url, "beta"))!.status.value === "unloaded");

    // the model process got --metrics from the router's command line, and answers for itself
    const own = await fetch(`${server.url}/metrics?model=alpha`);
    assert.equal(own.status, 200);
    const ownText = await own.text();
    assert.match(ownText, /^llamacpp:requests_total \d+/m);
    assert.doesNotMatch(ownText, /corral_/);
    assert.ok(parsePrometheus(ownText).some((f) => f.name === "llamacpp:prompt_tokens_total"));

    const m = await scrape(server.url);
    const requests = (labels: Record<string, string>) => value(m, "corral_requests_total", labels);
    assert.equal(requests({ model: "alpha", endpoint: "chat", status: "200" }), 3);
    assert.equal(requests({ model: "beta", endpoint: "chat", status: "200" }), 1);
    // an unknown name is never a label value: the request counts under no model
    assert.equal(requests({ model: "", endpoint: "chat", status: "404" }), 1);
    assert.equal(requests({ model: "alpha", endpoint: "metrics", status: "200" }), 1);
    assert.equal(requests({ model: "alpha", endpoint: "models", status: "200" }), 1, "the unload names its model");
    assert.ok(Number(requests({ model: "", endpoint: "models", status: "200" })) > 0, "the listings name none");
    assert.ok(!family(m, "corral_requests_total").metrics.some((s) => s.labels?.["model"] === "no-such-model"));

    assert.equal(value(m, "corral_request_duration_seconds_count", { model: "alpha" }), 4, "three chats and one ?model= scrape");
    assert.ok(Number(value(m, "corral_request_duration_seconds_sum", { model: "alpha" })) > 0);
    assert.equal(value(m, "corral_request_duration_seconds_bucket", { model: "alpha", le: "+Inf" }), 4);
    assert.ok(Number(value(m, "corral_request_tokens_total", { model: "alpha", kind: "prompt" })) > 0, "prompt tokens from the answers' usage");

    assert.equal(value(m, "corral_model_loads_total", { model: "alpha", outcome: "loaded" }), 2);
    assert.equal(value(m, "corral_model_loads_total", { model: "beta", outcome: "loaded" }), 1);
    const load = { model: "alpha", outcome: "loaded" };
    assert.equal(value(m, "corral_model_load_duration_seconds_count", load), 2);
    assert.ok(Number(value(m, "corral_model_load_duration_seconds_sum", load)) > 0);
    assert.equal(value(m, "corral_model_load_duration_seconds_bucket", { ...load, le: "+Inf" }), 2);
    assert.equal(value(m, "corral_model_load_duration_seconds_bucket", { ...load, le: "0.1" }), 0, "a load takes longer than 100 ms");
    assert.equal(value(m, "corral_model_unloads_total", { model: "alpha", cause: "unload" }), 1);
    assert.equal(value(m, "corral_model_unloads_total", { model: "beta", cause: "lru" }), 1);
    assert.equal(sample(m, "corral_model_crashes_total", { model: "alpha" }), undefined);

    assert.equal(value(m, "corral_model_status", { model: "alpha", status: "loaded" }), 1);
    assert.equal(value(m, "corral_model_status", { model: "beta", status: "loaded" }), 0);
    assert.equal(value(m, "corral_model_status", { model: "beta", status: "unloaded" }), 1);
    assert.equal(value(m, "corral_model_in_flight", { model: "alpha" }), 0);
    assert.equal(value(m, "corral_model_waiting", { model: "beta" }), 0);

    // memory as GET /models shows it, where it shows it
    for (const entry of await listModels(server.url)) {
      const mem = (entry as unknown as { memory?: { estimate?: { ram?: unknown } | null } }).memory;
      const ram = mem?.estimate?.ram;
      if (typeof ram === "number") assert.equal(value(m, "corral_model_memory_estimate_bytes", { model: entry.id, kind: "ram" }), ram);
    }

    // a model process killed from outside is a crash (and, being no fault of the model's, no cool-down)
    const pid = (await modelStatus(server.url, "alpha"))!.pid!;
    process.kill(pid, "SIGKILL");
    await waitFor("alpha gone", async () => (await modelStatus(server.url, "alpha"))!.status.value === "unloaded");
    const after = await scrape(server.url);
    assert.equal(value(after, "corral_model_crashes_total", { model: "alpha" }), 1);
    assert.equal(sample(after, "corral_model_cooldowns_total", { model: "alpha" }), undefined);
    assert.equal(value(after, "corral_model_status", { model: "alpha", status: "unloaded" }), 1);

    // the router process's own (prom-client's default metrics, prefixed)
    assert.ok(Number(value(m, "corral_router_process_cpu_seconds_total", {})) > 0);
    assert.ok(family(m, "corral_router_nodejs_eventloop_lag_seconds"));
    assert.ok(Number(value(m, "corral_router_process_resident_memory_bytes", {})) > 10_000_000);
  });

  test("one JSON line per request, with the x-request-id the client got (or sent), the model and tokens", async () => {
    const res = await chat(server.url, "alpha");
    assert.equal(res.status, 200);
    const { usage } = (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
    const id = res.headers.get("x-request-id");
    assert.ok(id && /^[0-9a-f]{6,}$/.test(id), `x-request-id ${id}`);
    const line = await requestLine(server, id);
    assert.equal(line["level"], "info");
    assert.equal(line["method"], "POST");
    assert.equal(line["path"], "/v1/chat/completions");
    assert.equal(line["model"], "alpha");
    assert.equal(line["status"], 200);
    assert.equal(typeof line["duration_ms"], "number");
    assert.ok(usage.prompt_tokens > 0);
    assert.equal(line["prompt_tokens"], usage.prompt_tokens);
    assert.equal(line["completion_tokens"], usage.completion_tokens);

    // the client's own id is echoed; a stream's tokens come from its last usage event
    const streamed = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "client-id-42" },
      body: JSON.stringify({
        model: "alpha", messages: [{ role: "user", content: "hi" }], max_tokens: 3, stream: true,
        stream_options: { include_usage: true }, logit_bias: { ...NO_PARTIAL_UTF8, "2": -100, "4": -100 },
      }),
    });
    assert.equal(streamed.headers.get("x-request-id"), "client-id-42");
    const streamedUsage = (await readSse(streamed)).map((e) => (e as { usage?: typeof usage }).usage).find((u) => u)!;
    const sline = await requestLine(server, "client-id-42");
    assert.equal(sline["completion_tokens"], streamedUsage.completion_tokens);
    assert.equal(sline["prompt_tokens"], streamedUsage.prompt_tokens);

    // the router's own answers carry an id too, errors included
    const missing = await postJson(`${server.url}/v1/chat/completions`, { messages: [] });
    assert.equal(missing.status, 400);
    const mline = await requestLine(server, missing.headers.get("x-request-id")!);
    assert.equal(mline["status"], 400);
    assert.equal(mline["model"], undefined);
  });
});

describe("router without --metrics; text request log", () => {
  let server: RunningServer;
  before(async () => {
    server = await startRouter(["--models-dir", await makeModelsDir({ "alpha.gguf": 1 })]);
  });
  after(async () => {
    await server.stop();
  });

  test("GET /metrics answers llama-server's error for a disabled endpoint", async () => {
    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 501);
    assert.deepEqual(await res.json(), {
      error: { code: 501, message: "This server does not support metrics endpoint. Start it with `--metrics`", type: "not_supported_error" },
    });
  });

  test("one text line per request; polled paths only at debug level", async () => {
    const res = await fetch(`${server.url}/models`);
    assert.equal(res.status, 200);
    await res.text();
    const id = res.headers.get("x-request-id")!;
    await waitFor("the request's line", () => new RegExp(`^I req ${id} GET /models 200 [\\d.]+ms$`, "m").test(server.output()), 5000);
    assert.doesNotMatch(server.output(), /req \S+ GET \/health/, "health checks are polled: debug level");
  });
});

// llama-server's answers have their own shapes (usage, timings): the tokens are read from its JSON and its streams
for (const { engine, skip } of testEngines().filter((e) => e.engine === "llama-server")) {
  describe(`router [${engine}]: request log tokens`, { skip }, () => {
    test("tokens from a JSON answer and from a /completion stream", async () => {
      const server = await startRouter(["--models-dir", await makeModelsDir({ "alpha.gguf": 1 }), "-c", "512", "--log-format", "json"], {}, engine);
      try {
        const res = await chat(server.url, "alpha");
        assert.equal(res.status, 200);
        const { usage } = (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
        const line = await requestLine(server, res.headers.get("x-request-id")!);
        assert.equal(line["prompt_tokens"], usage.prompt_tokens);
        assert.equal(line["completion_tokens"], usage.completion_tokens);
        const native = await fetch(`${server.url}/completion`, {
          method: "POST",
          body: JSON.stringify({ model: "alpha", prompt: "hi", n_predict: 3, stream: true, logit_bias: { ...NO_PARTIAL_UTF8, "2": -100, "4": -100 } }),
        });
        assert.equal(native.status, 200);
        const last = (await readSse(native)).at(-1) as { stop: boolean; tokens_predicted: number; tokens_evaluated: number };
        assert.equal(last.stop, true);
        const nline = await requestLine(server, native.headers.get("x-request-id")!);
        assert.equal(nline["completion_tokens"], last.tokens_predicted);
        assert.equal(nline["prompt_tokens"], last.tokens_evaluated);
      } finally {
        await server.stop();
      }
    });
  });
}
