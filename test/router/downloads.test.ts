// Getting models through the router, against the fake hub (test/fixtures/fake-hub.ts) serving a real generated
// GGUF: POST /models downloads with progress on /models/sse and a `downloading` entry in /models, the model is then
// routable with no restart; a cached model answers 200; errors come before any download; DELETE /models removes it;
// Ollama's /api/pull and /api/delete do the same.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { Ollama } from "ollama";
import { fakeGguf, startFakeHub, type FakeHub } from "../fixtures/fake-hub.js";
import { getTestModel, QUIET_BYTES } from "../helpers/models.js";
import { chat, emptyDir, listModels, startRouter } from "../helpers/router.js";
import { postJson, type RunningServer } from "../helpers/server.js";

const KEY = "downloads-key";

describe("router: downloads", () => {
  let hub: FakeHub;
  let router: RunningServer;
  const auth = { authorization: `Bearer ${KEY}` };

  before(async () => {
    const model = readFileSync(await getTestModel("tiny", { ...QUIET_BYTES, seed: 5 }));
    hub = await startFakeHub([
      { id: "org/tiny-GGUF", files: [{ path: "tiny-Q8_0.gguf", content: model }, { path: "tiny-Q4_K_M.gguf", content: model }] },
      { id: "org/gated-GGUF", token: "hf_secret", files: [{ path: "g-Q4_K_M.gguf", content: fakeGguf("g", 4096) }] },
    ]);
    // slow enough for progress events to be seen, fast enough for the test (about 0.8 MB)
    hub.knobs.bytesPerSecond = 2_000_000;
    router = await startRouter(["--api-key", KEY, "-c", "512"], { LLAMA_CACHE: emptyDir("corral-hub-"), HF_ENDPOINT: hub.url, HF_TOKEN: "" });
  });
  after(async () => {
    await router?.stop();
    await hub?.close();
  });

  test("POST /models downloads with progress, then the model is routable with no restart", async () => {
    const sse = await fetch(`${router.url}/models/sse`, { headers: auth });
    const reader = sse.body!.getReader();
    const events: Array<{ model: string; event: string; data: Record<string, unknown> }> = [];
    const dec = new TextDecoder();
    let buf = "";
    const finished = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += dec.decode(value, { stream: true });
        for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (line.startsWith("data: ")) events.push(JSON.parse(line.slice(6)) as (typeof events)[number]);
        }
        if (events.some((e) => e.event === "download_finished" || e.event === "download_failed")) return;
      }
    })();
    const r = await postJson(`${router.url}/models`, { model: "org/tiny-GGUF:q8_0" }, auth);
    assert.equal(r.status, 202, JSON.stringify(r.json));
    assert.equal(r.json.model, "org/tiny-GGUF:Q8_0");
    const listed = (await listModels(router.url)).find((m) => m.id === "org/tiny-GGUF:Q8_0");
    if (listed) assert.ok(["downloading", "unloaded"].includes(listed.status.value), listed.status.value);
    await finished;
    await reader.cancel();
    const progress = events.filter((e) => e.event === "download_progress");
    assert.ok(progress.length >= 1, "progress events");
    const last = progress.at(-1)!.data["download"] as { done: number; total: number };
    assert.equal(last.done, last.total);
    assert.ok(events.some((e) => e.event === "download_finished" && e.model === "org/tiny-GGUF:Q8_0"), JSON.stringify(events.map((e) => e.event)));
    const entry = (await listModels(router.url)).find((m) => m.id === "org/tiny-GGUF:Q8_0")!;
    assert.equal(entry.status.value, "unloaded");
    assert.equal(entry.source, "cache");
    const c = await fetch(`${router.url}/v1/chat/completions`, {
      method: "POST", headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ model: "org/tiny-GGUF:Q8_0", messages: [{ role: "user", content: "hi" }], max_tokens: 3 }),
    });
    assert.equal(c.status, 200);
    const again = await postJson(`${router.url}/models`, { model: "org/tiny-GGUF:Q8_0" }, auth);
    assert.equal(again.status, 200);
    assert.equal(again.json.status, "cached");
  });

  test("errors come before any download: unknown repo 404, unknown quant 404 naming the quants, gated 401, bad name 400, no key 401", async () => {
    const unknown = await postJson(`${router.url}/models`, { model: "org/nope-GGUF" }, auth);
    assert.equal(unknown.status, 404, JSON.stringify(unknown.json));
    const quant = await postJson(`${router.url}/models`, { model: "org/tiny-GGUF:Q2_K" }, auth);
    assert.equal(quant.status, 404);
    assert.match(quant.json.error.message, /Q4_K_M, Q8_0/);
    const gated = await postJson(`${router.url}/models`, { model: "org/gated-GGUF" }, auth);
    assert.equal(gated.status, 401);
    assert.match(gated.json.error.message, /HF_TOKEN/);
    const bad = await postJson(`${router.url}/models`, { model: "not a repo" }, auth);
    assert.equal(bad.status, 400);
    assert.match(bad.json.error.message, /'model'/);
    assert.equal((await postJson(`${router.url}/models`, { model: "org/tiny-GGUF:Q8_0" })).status, 401);
  });

  test("DELETE /models unloads and removes a cached model; others cannot be removed", async () => {
    assert.equal((await chat(router.url, "org/tiny-GGUF:Q8_0", {}).then((r) => r.status)), 401, "the key is needed");
    const del = await fetch(`${router.url}/models?model=org/tiny-GGUF:Q8_0`, { method: "DELETE", headers: auth });
    assert.equal(del.status, 200, await del.clone().text());
    assert.equal((await listModels(router.url)).some((m) => m.id === "org/tiny-GGUF:Q8_0"), false);
    const demo = await fetch(`${router.url}/models?model=corral-demo`, { method: "DELETE", headers: auth });
    assert.equal(demo.status, 400);
    const gone = await fetch(`${router.url}/models?model=org/tiny-GGUF:Q8_0`, { method: "DELETE", headers: auth });
    assert.equal(gone.status, 404);
  });

  test("Ollama's /api/pull streams progress to success, and /api/delete removes the model", async () => {
    const ollama = new Ollama({ host: router.url, headers: auth });
    const statuses: string[] = [];
    for await (const p of await ollama.pull({ model: "org/tiny-GGUF:Q4_K_M", stream: true })) statuses.push(p.status);
    assert.equal(statuses[0], "pulling manifest");
    assert.equal(statuses.at(-1), "success");
    assert.ok((await ollama.list()).models.some((m) => m.name === "org/tiny-GGUF:Q4_K_M"));
    await ollama.delete({ model: "org/tiny-GGUF:Q4_K_M" });
    assert.equal((await ollama.list()).models.some((m) => m.name === "org/tiny-GGUF:Q4_K_M"), false);
    await assert.rejects(ollama.pull({ model: "org/nope-GGUF", stream: false }), (e: { status_code: number }) => e.status_code === 404);
  });
});
