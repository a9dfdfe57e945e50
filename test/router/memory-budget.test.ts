// Admission by memory with real model processes: a --models-memory budget that fits two of three models, sized
// from the router's own estimates (read from GET /models of a first router), evicts the least recently used idle
// model to make room for the third; a model whose estimate exceeds the whole budget is refused at once with its
// estimate and the budget named, and nothing is evicted for it.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { chat, emptyDir, listModels, makeModelsDir, modelStatus, startRouter, testEngines, waitFor } from "../helpers/router.js";

type WithMemory = { id: string; memory?: { estimate: { ram: number } | null; measured: { ram: number } | null } };

for (const { engine, skip } of testEngines()) {
  describe(`router [${engine}]: a memory budget`, { skip }, () => {
    test("evicts by memory in LRU order, refuses what never fits, and shows estimates beside measured memory", async () => {
      const dir = await makeModelsDir({ "a.gguf": 1, "b.gguf": 2, "c.gguf": 3, "huge.gguf": 4 });
      const ini = path.join(emptyDir("corral-preset-"), "models.ini");
      // a context far beyond the others makes its KV cache alone larger than the budget (a -c on the router's
      // command line would win over every preset, so the small context is the presets' default)
      writeFileSync(ini, "[*]\nctx-size = 512\n\n[huge]\nctx-size = 1048576\n");
      const args = ["--models-dir", dir, "--models-preset", ini, "--models-max", "0"];
      const probe = await startRouter(args, {}, engine);
      let est: Map<string, number>;
      try {
        // estimates are worked out in the background from start-up: wait for all four
        const models = await waitFor("every estimate", async () => {
          const list = (await listModels(probe.url)) as unknown as WithMemory[];
          return list.every((m) => m.memory?.estimate) ? list : undefined;
        }, 10_000);
        est = new Map(models.map((m) => [m.id, m.memory!.estimate!.ram]));
      } finally {
        await probe.stop();
      }
      for (const id of ["a", "b", "c"]) assert.ok(est.get(id)! > 1e6, `${id} has an estimate`);
      // room for any two of a, b, c, not three
      const two = Math.max(est.get("a")! + est.get("b")!, est.get("a")! + est.get("c")!, est.get("b")! + est.get("c")!);
      const budget = two + Math.min(est.get("a")!, est.get("b")!, est.get("c")!) / 2;
      assert.ok(est.get("huge")! > budget, "the huge model's estimate exceeds the budget");

      const server = await startRouter([...args, "--models-memory", String(Math.floor(budget))], {}, engine);
      try {
        assert.equal((await chat(server.url, "a")).status, 200);
        assert.equal((await chat(server.url, "b")).status, 200);
        assert.equal((await chat(server.url, "a")).status, 200, "a is now more recent than b");
        const events: string[] = [];
        const sse = await fetch(`${server.url}/models/sse`);
        const reader = sse.body!.getReader();
        const dec = new TextDecoder();
        const reading = (async () => {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            events.push(dec.decode(value));
          }
        })().catch(() => {});
        assert.equal((await chat(server.url, "c")).status, 200);
        assert.equal((await modelStatus(server.url, "b"))!.status.value, "unloaded", "b, the least recently used, made room");
        assert.equal((await modelStatus(server.url, "a"))!.status.value, "loaded");
        assert.ok(events.join("").includes("\"cause\":\"memory\""), "the eviction says it was for memory");
        await reader.cancel();
        await reading;

        const huge = await chat(server.url, "huge");
        assert.equal(huge.status, 400);
        assert.match(((await huge.json()) as { error: { message: string } }).error.message, /memory estimate \(.+\) is larger than the models' budget \(.+\) even with every other model unloaded/);
        assert.equal((await modelStatus(server.url, "a"))!.status.value, "loaded", "nothing was evicted for it");
        assert.equal((await modelStatus(server.url, "c"))!.status.value, "loaded");

        const listed = (await listModels(server.url)) as unknown as WithMemory[];
        const a = listed.find((m) => m.id === "a")!;
        assert.ok(a.memory!.measured!.ram > 0, "a loaded model shows its measured memory");
        assert.ok(a.memory!.estimate!.ram >= a.memory!.measured!.ram * 0.75, JSON.stringify(a.memory));
        assert.equal(listed.find((m) => m.id === "b")!.memory!.measured, null, "an unloaded model measures nothing");
      } finally {
        await server.stop();
      }
    });
  });
}
