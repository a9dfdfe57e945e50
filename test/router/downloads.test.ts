// Getting models through the router, against the fake hub (test/fixtures/fake-hub.ts) serving a real generated
// GGUF: POST /models downloads with progress on /models/sse and a `downloading` entry in /models, the model is then
// routable with no restart; a cached model answers 200; errors come before any download; DELETE /models removes it;
// Ollama's /api/pull and /api/delete do the same.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { Ollama } from "ollama";
import { fakeGguf, startFakeHub, type FakeHub } from "../fixtures/fake-hub.js";
import { getTestModel, QUIET_BYTES } from "../helpers/models.js";
import { chat, emptyDir, listModels, NO_PARTIAL_UTF8, startRouter } from "../helpers/router.js";
import { postJson, type RunningServer } from "../helpers/server.js";

const KEY = "downloads-key";
const auth = { authorization: `Bearer ${KEY}` };

/** A short chat request carrying `headers` (the key). */
const ask = (url: string, model: string, headers: Record<string, string>) =>
  fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 3, logit_bias: NO_PARTIAL_UTF8 }),
  });

type Event = { model: string; event: string; data: Record<string, unknown> };

/** Reads /models/sse into `events` until `until` says so (then `done` resolves and the stream is closed). */
async function watchEvents(url: string, headers: Record<string, string>, until: (events: Event[]) => boolean): Promise<{ events: Event[]; done: Promise<void> }> {
  const sse = await fetch(`${url}/models/sse`, { headers });
  const reader = sse.body!.getReader();
  const events: Event[] = [];
  const dec = new TextDecoder();
  let buf = "";
  const done = (async () => {
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) return;
      buf += dec.decode(value, { stream: true });
      for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (line.startsWith("data: ")) events.push(JSON.parse(line.slice(6)) as Event);
      }
      if (until(events)) return void (await reader.cancel());
    }
  })();
  return { events, done };
}

describe("router: downloads", () => {
  let hub: FakeHub;
  let router: RunningServer;

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
    const sse = await watchEvents(router.url, auth, (events) => events.some((e) => e.event === "download_finished" || e.event === "download_failed"));
    const { events } = sse;
    const r = await postJson(`${router.url}/models`, { model: "org/tiny-GGUF:q8_0" }, auth);
    assert.equal(r.status, 202, JSON.stringify(r.json));
    assert.equal(r.json.model, "org/tiny-GGUF:Q8_0");
    const listed = (await listModels(router.url)).find((m) => m.id === "org/tiny-GGUF:Q8_0");
    if (listed) assert.ok(["downloading", "unloaded"].includes(listed.status.value), listed.status.value);
    await sse.done;
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

describe("router: hf-repo presets download what is not cached", () => {
  let hub: FakeHub;
  let router: RunningServer;
  let offline: RunningServer;

  before(async () => {
    const model = readFileSync(await getTestModel("tiny", { ...QUIET_BYTES, seed: 6 }));
    hub = await startFakeHub([
      { id: "org/preset-GGUF", files: [{ path: "p-Q8_0.gguf", content: model }] },
      { id: "org/slow-GGUF", files: [{ path: "s-Q8_0.gguf", content: model }] },
      { id: "org/third-GGUF", files: [{ path: "t-Q8_0.gguf", content: model }] },
    ]);
    const ini = path.join(emptyDir("corral-presets-"), "models.ini");
    writeFileSync(ini, "[*]\nc = 512\n\n[my-model]\nhf-repo = org/preset-GGUF:Q8_0\n\n[slow-model]\nhf-repo = org/slow-GGUF\n");
    const env = { HF_ENDPOINT: hub.url, HF_TOKEN: "" };
    router = await startRouter(["--api-key", KEY, "--models-preset", ini], { ...env, LLAMA_CACHE: emptyDir("corral-hub-") });
    offline = await startRouter(["--offline", "--models-preset", ini], { ...env, LLAMA_CACHE: emptyDir("corral-hub-") });
  });
  after(async () => {
    await router?.stop();
    await offline?.stop();
    await hub?.close();
  });

  test("the first request for the preset downloads its file, shown as loading progress, then is answered", async () => {
    hub.knobs.bytesPerSecond = 1_000_000;
    const sse = await watchEvents(router.url, auth, (ev) => ev.some((e) => e.model === "my-model" && e.data.status === "loaded"));
    try {
      const r = await ask(router.url, "my-model", auth);
      assert.equal(r.status, 200, await r.text());
    } finally {
      delete hub.knobs.bytesPerSecond;
    }
    await sse.done;
    const mine = sse.events.filter((e) => e.model === "my-model");
    const progress = mine.filter((e) => e.event === "download_progress");
    assert.ok(progress.length >= 1, JSON.stringify(mine.map((e) => e.event)));
    assert.ok(progress.every((e) => e.data.status === "loading"), "the model is loading while its file downloads");
    assert.equal(sse.events.some((e) => e.data.status === "downloading"), false, "no separate downloading entry");
    const entry = (await listModels(router.url)).find((m) => m.id === "my-model")!;
    assert.equal(entry.status.value, "loaded");
    assert.match(String(entry.path), /models--org--preset-GGUF\/snapshots\/[0-9a-f]{40}\/p-Q8_0\.gguf$/);
    assert.equal(hub.downloads("p-Q8_0.gguf"), 1);
  });

  test("with --offline the load fails with the not-cached reason, and nothing is fetched", async () => {
    const before = hub.downloads("p-Q8_0.gguf");
    const r = await ask(offline.url, "my-model", {});
    const text = await r.text();
    assert.equal(r.status, 503, text);
    assert.match(text, /org\/preset-GGUF.*--offline/);
    assert.equal(hub.downloads("p-Q8_0.gguf"), before);
  });

  test("unloading a preset model while it downloads cancels the download; the next load resumes it", async () => {
    hub.knobs.bytesPerSecond = 100_000;
    try {
      const sse = await watchEvents(router.url, auth, (ev) => ev.some((e) => e.model === "slow-model" && e.event === "download_progress"));
      const load = await postJson(`${router.url}/models/load`, { model: "slow-model" }, auth);
      assert.equal(load.status, 200, JSON.stringify(load.json));
      await sse.done;
      const cancelled = await watchEvents(router.url, auth, (ev) => ev.some((e) => e.model === "slow-model" && e.data.status === "unloaded"));
      const unload = await postJson(`${router.url}/models/unload`, { model: "slow-model" }, auth);
      assert.equal(unload.status, 200, JSON.stringify(unload.json));
      await cancelled.done;
      const failed = cancelled.events.find((e) => e.model === "slow-model" && e.event === "download_failed");
      assert.equal(failed?.data.cancelled, true, JSON.stringify(cancelled.events));
      const entry = (await listModels(router.url)).find((m) => m.id === "slow-model")!;
      assert.equal(entry.status.value, "unloaded");
      assert.equal(entry.status.failed, undefined, "a cancel is not a failure");
      const n = hub.requests.length;
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(hub.requests.slice(n).filter((q) => q.path.includes("s-Q8_0")).length, 0, "no more bytes are asked for");
    } finally {
      delete hub.knobs.bytesPerSecond;
    }
    const n = hub.requests.length;
    const r = await ask(router.url, "slow-model", auth);
    assert.equal(r.status, 200, await r.text());
    assert.ok(hub.requests.slice(n).some((q) => q.path.includes("s-Q8_0") && q.range !== undefined), "resumed with Range");
  });

  test("POST /models/unload of a model that POST /models is downloading cancels it", async () => {
    hub.knobs.bytesPerSecond = 100_000;
    try {
      const started = await watchEvents(router.url, auth, (ev) => ev.some((e) => e.model === "org/third-GGUF:Q8_0" && e.event === "download_progress"));
      const r = await postJson(`${router.url}/models`, { model: "org/third-GGUF:Q8_0" }, auth);
      assert.equal(r.status, 202, JSON.stringify(r.json));
      await started.done;
      const ended = await watchEvents(router.url, auth, (ev) => ev.some((e) => e.event === "download_failed"));
      const unload = await postJson(`${router.url}/models/unload`, { model: "org/third-GGUF:Q8_0" }, auth);
      assert.equal(unload.status, 200, JSON.stringify(unload.json));
      await ended.done;
      const failed = ended.events.find((e) => e.event === "download_failed")!;
      assert.equal(failed.model, "org/third-GGUF:Q8_0");
      assert.equal(failed.data.cancelled, true);
      assert.equal((await listModels(router.url)).some((m) => m.id === "org/third-GGUF:Q8_0"), false, "no entry left");
    } finally {
      delete hub.knobs.bytesPerSecond;
    }
  });
});
