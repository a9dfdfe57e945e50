// Router end to end, with real model processes: discovery, the /models API, routing errors, load/unload, autoload,
// the API key, and reload.
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { getTestModel, QUIET_BYTES } from "../helpers/models.js";
import { chat, emptyDir, NO_PARTIAL_UTF8, listModels, makeModelsDir, modelStatus, startRouter as startRouterWith, testEngines, waitFor } from "../helpers/router.js";
import { postJson, readSse, type RunningServer } from "../helpers/server.js";

for (const { engine, skip } of testEngines()) {
describe(`router [${engine}]: discovery and the /models API`, { skip }, () => {
  const startRouter = (args: string[], env: NodeJS.ProcessEnv = {}) => startRouterWith(args, env, engine);
  let dir: string;
  let hub: string;
  let server: RunningServer;
  before(async () => {
    dir = await makeModelsDir({
      "alpha.gguf": 1,
      "mmproj-alpha-f16.gguf": 2, // a top-level projector is not a model
      "beta/beta.gguf": 3,
      "beta/beta-draft.gguf": 4, // <folder>.gguf wins over other files
      "beta/mmproj-beta.gguf": 5,
      "split-00001-of-00002.gguf": 6,
      "split-00002-of-00002.gguf": 7,
    });
    writeFileSync(path.join(dir, "notes.txt"), "not a model");
    // a Hugging Face hub cache with one repo and two quantisations
    hub = emptyDir("corral-hub-");
    const repo = path.join(hub, "models--acme--tiny-GGUF");
    mkdirSync(path.join(repo, "refs"), { recursive: true });
    writeFileSync(path.join(repo, "refs", "main"), "abc123");
    const snap = path.join(repo, "snapshots", "abc123");
    mkdirSync(path.join(snap, "sub"), { recursive: true });
    copyFileSync(await getTestModel("tiny", { seed: 8 }), path.join(snap, "tiny-Q8_0.gguf"));
    copyFileSync(await getTestModel("tiny", { seed: 9 }), path.join(snap, "sub", "tiny-f16.gguf"));
    copyFileSync(await getTestModel("tiny", { seed: 10 }), path.join(snap, "mmproj-tiny-f16.gguf"));
    server = await startRouter(["--models-dir", dir, "-c", "512"], { LLAMA_CACHE: hub });
  });
  after(async () => {
    await server.stop();
  });

  test("lists files, folders, shards and the hub cache, sorted, with llama.cpp's fields and ours", async () => {
    const models = await listModels(server.url);
    assert.deepEqual(models.map((m) => m.id), ["acme/tiny-GGUF:F16", "acme/tiny-GGUF:Q8_0", "alpha", "beta", "split"]);
    const beta = models.find((m) => m.id === "beta")!;
    assert.equal(beta.path, path.join(dir, "beta", "beta.gguf"));
    assert.equal(beta.source, "models_dir");
    assert.ok(beta.size_bytes! > 100_000);
    assert.equal(beta.status.value, "unloaded");
    assert.ok(beta.status.args.includes("--model") && beta.status.args.includes(path.join(dir, "beta", "beta.gguf")));
    assert.match(beta.status.preset, /^\[beta\]\nmodel = .*beta\.gguf\n/);
    assert.equal(beta.in_flight, 0);
    const split = models.find((m) => m.id === "split")!;
    assert.match(split.path!, /split-00001-of-00002\.gguf$/);
    const q8 = models.find((m) => m.id === "acme/tiny-GGUF:Q8_0")!;
    assert.equal(q8.source, "cache");
    assert.match(q8.path!, /snapshots\/abc123\/tiny-Q8_0\.gguf$/);
    const v1 = (await (await fetch(`${server.url}/v1/models`)).json()) as { object: string; data: Array<{ id: string; object: string; owned_by: string }> };
    assert.equal(v1.object, "list");
    assert.equal(v1.data.length, 5);
    assert.equal(v1.data[0]!.object, "model");
  });

  test("routes by model: a cache model answers, and the openai client works through the router", async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "none" });
    const r = await client.chat.completions.create({ model: "acme/tiny-GGUF:Q8_0", messages: [{ role: "user", content: "hi" }], max_tokens: 3, logit_bias: NO_PARTIAL_UTF8 });
    assert.equal(r.model, "acme/tiny-GGUF:Q8_0");
    assert.ok(["length", "stop"].includes(r.choices[0]!.finish_reason), "random weights may end early");
    assert.equal(r.object, "chat.completion");
    // end-of-generation tokens banned, so that random weights cannot end the stream before any text
    const stream = await client.chat.completions.create({
      model: "alpha", messages: [{ role: "user", content: "hi" }], max_tokens: 5, stream: true, logit_bias: { ...NO_PARTIAL_UTF8, "2": -100, "4": -100 },
    });
    let chunks = 0;
    for await (const c of stream) if (c.choices[0]?.delta?.content) chunks++;
    assert.ok(chunks > 0);
    const alpha = await modelStatus(server.url, "alpha");
    assert.equal(alpha!.status.value, "loaded");
    assert.ok(alpha!.pid! > 0);
    assert.equal(alpha!.n_ctx, 512);
    // GET routes read ?model=
    const props = await fetch(`${server.url}/props?model=alpha`);
    assert.equal(props.status, 200);
    assert.equal(((await props.json()) as { model_alias: string }).model_alias, "alpha");
    const tok = await postJson(`${server.url}/tokenize`, { model: "alpha", content: "hello" });
    assert.equal(tok.status, 200);
    assert.ok(Array.isArray(tok.json.tokens));
  });

  test("missing, unknown or mistyped model: 400 / 404 naming the models, never a path lookup", async () => {
    const missing = await postJson(`${server.url}/v1/chat/completions`, { messages: [{ role: "user", content: "hi" }] });
    assert.equal(missing.status, 400);
    assert.match(missing.json.error.message, /model/);
    for (const name of ["nope", "../../etc/passwd", path.join(dir, "alpha.gguf")]) {
      const r = await postJson(`${server.url}/v1/chat/completions`, { model: name, messages: [] });
      assert.equal(r.status, 404, name);
      assert.equal(r.json.error.code, 404);
      assert.equal(r.json.error.type, "not_found_error");
      assert.match(r.json.error.message, /not found/);
      assert.match(r.json.error.message, /'alpha'/, "a few models: all of them are listed");
    }
    const typed = await postJson(`${server.url}/v1/completions`, { model: 42, prompt: "x" });
    assert.equal(typed.status, 400);
    assert.match(typed.json.error.message, /'model' must be a string/);
    const arr = await postJson(`${server.url}/v1/completions`, "[1,2]");
    assert.equal(arr.status, 400);
    const bad = await postJson(`${server.url}/v1/completions`, "{\"model\":");
    assert.equal(bad.status, 400);
    assert.match(bad.json.error.message, /invalid JSON/);
    const noQuery = await fetch(`${server.url}/slots`);
    assert.equal(noQuery.status, 400);
  });

  test("GET /props without a model describes the router; /health is ok", async () => {
    const props = (await (await fetch(`${server.url}/props`)).json()) as Record<string, unknown>;
    assert.equal(props.role, "router");
    assert.equal(props.max_instances, 4);
    assert.equal(props.models_autoload, true);
    assert.deepEqual(await (await fetch(`${server.url}/health`)).json(), { status: "ok" });
  });

  test("load with wait, load twice (400), unload, unload again (400), unknown (404)", async () => {
    // beta's projector is a random llama model: llama-server rightly refuses it as a projector (the node engine
    // ignores projectors), so that engine loads the split model here instead
    const beta = engine === "llama-server" ? "split" : "beta";
    if (engine === "llama-server") {
      const listed = (await modelStatus(server.url, "beta"))!;
      assert.ok(listed.status.args.includes("--mmproj"), "llama-server is given the folder's projector");
    }
    const load = await postJson(`${server.url}/models/load`, { model: beta, wait: true });
    assert.equal(load.status, 200);
    assert.deepEqual(load.json, { success: true });
    assert.equal((await modelStatus(server.url, beta))!.status.value, "loaded");
    const again = await postJson(`${server.url}/models/load`, { model: beta });
    assert.equal(again.status, 400);
    assert.match(again.json.error.message, /already running/);
    const unload = await postJson(`${server.url}/models/unload`, { model: beta });
    assert.equal(unload.status, 200);
    await waitFor("beta unloaded", async () => (await modelStatus(server.url, beta))!.status.value === "unloaded");
    const unloaded = (await modelStatus(server.url, beta))!;
    assert.equal(unloaded.status.failed, undefined, "an unload is not a failure");
    const notRunning = await postJson(`${server.url}/models/unload`, { model: beta });
    assert.equal(notRunning.status, 400);
    assert.match(notRunning.json.error.message, /not running/);
    const unknown = await postJson(`${server.url}/models/load`, { model: "ghost" });
    assert.equal(unknown.status, 404);
    const badWait = await postJson(`${server.url}/models/load`, { model: beta, wait: "yes" });
    assert.equal(badWait.status, 400);
    assert.match(badWait.json.error.message, /'wait'/);
  });

  test("?autoload=false answers 400 for an unloaded model", async () => {
    const r = await fetch(`${server.url}/v1/chat/completions?autoload=false`, {
      method: "POST",
      body: JSON.stringify({ model: "split", messages: [{ role: "user", content: "hi" }] }),
    });
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as { error: { message: string } }).error.message, /not loaded/);
    assert.equal((await modelStatus(server.url, "split"))!.status.value, "unloaded");
  });

  test("GET /models/sse reports loading, progress and loaded during a load", async () => {
    const ac = new AbortController();
    const res = await fetch(`${server.url}/models/sse`, { signal: ac.signal });
    assert.equal(res.headers.get("content-type")?.startsWith("text/event-stream"), true);
    const events: Array<{ model: string; event: string; data: { status: string; progress?: number } }> = [];
    const reading = (async () => {
      const dec = new TextDecoder();
      let buf = "";
      for await (const chunk of res.body!) {
        buf += dec.decode(chunk as Uint8Array, { stream: true });
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (block.startsWith("data: ")) events.push(JSON.parse(block.slice(6)));
        }
      }
    })().catch(() => {});
    const load = await postJson(`${server.url}/models/load`, { model: "acme/tiny-GGUF:F16", wait: true });
    assert.equal(load.status, 200);
    await waitFor("loaded event", () => events.some((e) => e.data.status === "loaded"));
    ac.abort();
    await reading;
    const mine = events.filter((e) => e.model === "acme/tiny-GGUF:F16");
    assert.equal(mine[0]!.event, "status_change");
    assert.equal(mine[0]!.data.status, "loading");
    assert.ok(mine.some((e) => e.data.status === "loading" && typeof e.data.progress === "number"), "load progress is reported");
    assert.equal(mine.at(-1)!.data.status, "loaded");
  });
});
}

for (const { engine, skip } of testEngines()) {
describe(`router [${engine}]: autoload off, API key, reload`, { skip }, () => {
  const startRouter = (args: string[], env: NodeJS.ProcessEnv = {}) => startRouterWith(args, env, engine);
  test("--no-models-autoload: 400 until loaded explicitly, then 200", async () => {
    const dir = await makeModelsDir({ "a.gguf": 1 }, QUIET_BYTES);
    const server = await startRouter(["--models-dir", dir, "--no-models-autoload"]);
    try {
      assert.equal((await chat(server.url, "a")).status, 400);
      assert.equal(((await (await fetch(`${server.url}/props`)).json()) as { models_autoload: boolean }).models_autoload, false);
      assert.equal((await postJson(`${server.url}/models/load`, { model: "a", wait: true })).status, 200);
      assert.equal((await chat(server.url, "a")).status, 200);
      // ?autoload=true overrides the flag for one request (after an unload)
      await postJson(`${server.url}/models/unload`, { model: "a" });
      await waitFor("a unloaded", async () => (await modelStatus(server.url, "a"))!.status.value === "unloaded");
      const r = await fetch(`${server.url}/v1/chat/completions?autoload=true`, {
        method: "POST",
        body: JSON.stringify({ model: "a", messages: [{ role: "user", content: "hi" }], max_tokens: 2, logit_bias: NO_PARTIAL_UTF8 }),
      });
      assert.equal(r.status, 200, await r.clone().text());
    } finally {
      await server.stop();
    }
  });

  test("--api-key: routes and admin endpoints need it; /health and GET /models stay open", async () => {
    const dir = await makeModelsDir({ "a.gguf": 1 }, QUIET_BYTES);
    const server = await startRouter(["--models-dir", dir, "--api-key", "sekrit"]);
    try {
      const noKey = await chat(server.url, "a");
      assert.equal(noKey.status, 401);
      assert.equal(((await noKey.json()) as { error: { type: string } }).error.type, "authentication_error");
      assert.equal((await postJson(`${server.url}/models/load`, { model: "a" })).status, 401);
      assert.equal((await postJson(`${server.url}/models/unload`, { model: "a" })).status, 401);
      assert.equal((await fetch(`${server.url}/health`)).status, 200);
      assert.equal((await fetch(`${server.url}/models`)).status, 200);
      assert.equal((await fetch(`${server.url}/v1/models`)).status, 200);
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "sekrit" });
      const r = await client.chat.completions.create({ model: "a", messages: [{ role: "user", content: "hi" }], max_tokens: 2 });
      assert.equal(r.object, "chat.completion");
      // the key is not handed to the model process
      const a = (await listModels(server.url)).find((m) => m.id === "a")!;
      assert.ok(!a.status.args.includes("--api-key") && !a.status.args.includes("sekrit"));
    } finally {
      await server.stop();
    }
  });

  test("GET /models?reload=1: removed models go, new ones appear, unchanged loaded ones stay loaded", async () => {
    const dir = await makeModelsDir({ "keep.gguf": 1, "drop.gguf": 2 });
    const server = await startRouter(["--models-dir", dir]);
    try {
      assert.equal((await chat(server.url, "keep")).status, 200);
      assert.equal((await chat(server.url, "drop")).status, 200);
      const keepPid = (await modelStatus(server.url, "keep"))!.pid;
      rmSync(path.join(dir, "drop.gguf"));
      copyFileSync(await getTestModel("tiny", { seed: 3 }), path.join(dir, "fresh.gguf"));
      const ids = (await listModels(server.url, "?reload=1")).map((m) => m.id);
      assert.deepEqual(ids, ["fresh", "keep"]);
      const keep = (await modelStatus(server.url, "keep"))!;
      assert.equal(keep.status.value, "loaded");
      assert.equal(keep.pid, keepPid, "an unchanged model keeps its process");
      assert.equal((await chat(server.url, "drop")).status, 404);
      assert.equal((await chat(server.url, "fresh")).status, 200);
    } finally {
      await server.stop();
    }
  });
});
}
