// Ollama's API through the router, with the official `ollama` client, on corral's own engine and llama-server:
// the listings, chat and generate (streamed and not), embeddings, keep_alive (0 unloads, preload loads), and
// errors as {"error"} with Ollama's status codes. Random weights: shapes and counts, never text.
import assert from "node:assert/strict";
import { copyFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { Ollama } from "ollama";
import { getTestModel, QUIET_BYTES } from "../helpers/models.js";
import { emptyDir, modelStatus, startRouter, testEngines, waitFor } from "../helpers/router.js";
import { postJson, type RunningServer } from "../helpers/server.js";

const KEY = "ollama-test-key";

for (const { engine, skip } of testEngines()) {
  describe(`router [${engine}]: Ollama's API`, { skip }, () => {
    let router: RunningServer;
    let client: Ollama;
    const auth = { authorization: `Bearer ${KEY}` };

    before(async () => {
      const dir = emptyDir("corral-models-");
      copyFileSync(await getTestModel("tiny", { ...QUIET_BYTES, seed: 1 }), path.join(dir, "m.gguf"));
      copyFileSync(await getTestModel("tiny", { ...QUIET_BYTES, seed: 2 }), path.join(dir, "e.gguf"));
      const ini = path.join(emptyDir("corral-preset-"), "models.ini");
      writeFileSync(ini, "[e]\nembeddings = true\npooling = mean\n");
      router = await startRouter(["--models-dir", dir, "--models-preset", ini, "-c", "1024", "--api-key", KEY], {}, engine);
      client = new Ollama({ host: router.url, headers: auth });
    });
    after(async () => {
      await router?.stop();
    });

    test("version, tags and show describe the models from their GGUF headers, before any load", async () => {
      const version = await client.version();
      assert.match(version.version, /^\d+\.\d+\.\d+$/);
      const { models } = await client.list();
      assert.deepEqual(models.map((m) => m.name).sort(), ["e", "m"]);
      const m = models.find((x) => x.name === "m")!;
      assert.equal(m.details.family, "llama");
      assert.equal(m.details.format, "gguf");
      assert.equal(m.details.quantization_level, "F16");
      assert.match(m.details.parameter_size, /^\d+(\.\d+)?[KMB]$/);
      assert.ok(m.size > 100_000);
      assert.match(m.digest, /^[0-9a-f]{64}$/);
      const show = await client.show({ model: "m" });
      assert.ok(show.capabilities.includes("completion"));
      assert.ok(show.capabilities.includes("tools"), "the generated models' template takes tools");
      assert.equal((show.model_info as unknown as Record<string, unknown>)["general.architecture"], "llama");
      assert.match(show.template, /im_start/);
      assert.ok((await client.show({ model: "e" })).capabilities.includes("embedding"));
      assert.equal((await modelStatus(router.url, "m"))!.status.value, "unloaded", "describing a model does not load it");
    });

    test("chat, whole and streamed, with counts and durations; ps then lists the model with its expiry", async () => {
      const whole = await client.chat({ model: "m", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello" }], stream: false, options: { num_predict: 5, temperature: 0.5, seed: 3 } });
      assert.equal(whole.message.role, "assistant");
      assert.equal(whole.done, true);
      assert.ok(["stop", "length"].includes(whole.done_reason), whole.done_reason);
      assert.ok(whole.eval_count >= 1 && whole.eval_count <= 5, String(whole.eval_count));
      assert.ok(whole.prompt_eval_count > 3);
      assert.ok(whole.total_duration >= whole.load_duration && whole.load_duration > 0, "the first request waited for the load");
      const parts = [];
      for await (const part of await client.chat({ model: "m", messages: [{ role: "user", content: "Tell me" }], stream: true, options: { num_predict: 4 } })) parts.push(part);
      const last = parts.at(-1)!;
      assert.equal(last.done, true);
      assert.ok(parts.slice(0, -1).every((p) => p.done === false && p.message.role === "assistant"));
      assert.ok(last.eval_count >= 1);
      const ps = await client.ps();
      const entry = ps.models.find((x) => x.name === "m");
      assert.ok(entry, JSON.stringify(ps));
      assert.equal(entry.size_vram, 0);
      assert.ok(new Date(entry.expires_at).getTime() > Date.now() + 24 * 3600_000, "no TTL: kept for good");
    });

    test("generate, whole and streamed, and raw prompts", async () => {
      const whole = await client.generate({ model: "m", prompt: "Once", system: "Be brief.", stream: false, options: { num_predict: 4 } });
      assert.equal(whole.done, true);
      assert.equal(typeof whole.response, "string");
      assert.ok(whole.eval_count >= 1);
      const parts = [];
      for await (const part of await client.generate({ model: "m", prompt: "Once upon", raw: true, stream: true, options: { num_predict: 4 } })) parts.push(part);
      assert.equal(parts.at(-1)!.done, true);
      assert.ok(parts.at(-1)!.eval_count >= 1);
    });

    test("tools: definitions, and tool calls and results in the history, are accepted", async () => {
      const r = await client.chat({
        model: "m", stream: false, options: { num_predict: 3 },
        tools: [{ type: "function", function: { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } }],
        messages: [
          { role: "user", content: "Weather in Paris?" },
          { role: "assistant", content: "", tool_calls: [{ function: { name: "get_weather", arguments: { city: "Paris" } } }] },
          { role: "tool", content: "sunny", tool_name: "get_weather" },
        ],
      });
      assert.equal(r.done, true);
      assert.ok(r.prompt_eval_count > 30, "the tool definitions and results are in the prompt");
    });

    test("embed and the older embeddings", async () => {
      const r = await client.embed({ model: "e", input: ["one", "two"] });
      assert.equal(r.embeddings.length, 2);
      assert.equal(r.embeddings[0]!.length, 64);
      const legacy = await client.embeddings({ model: "e", prompt: "one" });
      assert.equal(legacy.embedding.length, 64);
    });

    test("keep_alive: 0 unloads after the request, a preload loads, a negative value keeps it for good", async () => {
      await client.generate({ model: "m", prompt: "x", stream: false, keep_alive: 0, options: { num_predict: 2 } });
      await waitFor("m unloaded", async () => (await modelStatus(router.url, "m"))!.status.value === "unloaded", 10_000);
      assert.equal((await client.ps()).models.some((x) => x.name === "m"), false);
      const preload = await client.generate({ model: "m", prompt: "", keep_alive: "10m" });
      assert.equal(preload.done, true);
      assert.equal(preload.done_reason, "load");
      const entry = (await client.ps()).models.find((x) => x.name === "m")!;
      const expires = new Date(entry.expires_at).getTime() - Date.now();
      assert.ok(expires > 9 * 60_000 && expires <= 10 * 60_000 + 1000, String(expires));
      const unload = await client.chat({ model: "m", messages: [], keep_alive: 0 });
      assert.equal(unload.done_reason, "unload");
      await waitFor("m unloaded", async () => (await modelStatus(router.url, "m"))!.status.value === "unloaded", 10_000);
    });

    test("errors: an unknown model is 404, bad input 400, both as {error}", async () => {
      await assert.rejects(client.chat({ model: "nope", messages: [{ role: "user", content: "x" }], stream: false }), (e: { status_code: number; error: string }) => {
        assert.equal(e.status_code, 404);
        assert.match(e.error, /nope/);
        return true;
      });
      const bad = await postJson(`${router.url}/api/chat`, { model: "m", messages: "hello" }, auth);
      assert.equal(bad.status, 400);
      assert.equal(typeof bad.json.error, "string");
      assert.match(bad.json.error, /messages/);
      const ttl = await postJson(`${router.url}/api/generate`, { model: "m", prompt: "x", keep_alive: "soon" }, auth);
      assert.equal(ttl.status, 400);
      assert.match(ttl.json.error, /keep_alive/);
      const noKey = await postJson(`${router.url}/api/chat`, { model: "m", messages: [] });
      assert.equal(noKey.status, 401);
      assert.equal(typeof noKey.json.error, "string");
      const head = await fetch(router.url, { method: "HEAD" });
      assert.equal(head.status, 200, "Ollama clients probe HEAD / without a key");
    });
  });
}
