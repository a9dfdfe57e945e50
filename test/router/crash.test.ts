// Crash isolation with injected faults: a model process that crashes while loading, hangs at start, or ignores
// SIGTERM. Faults are loaded into that model's process only, through its preset's env (NODE_OPTIONS=--require), so
// the product has no test hooks. (Crashes while streaming and while idle are in scheduling.test.ts.)
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { chat, emptyDir, isAlive, makeModelsDir, modelStatus, startRouter, waitFor } from "../helpers/router.js";
import { REPO_ROOT } from "../helpers/server.js";

const fault = (name: string) => `NODE_OPTIONS=--require ${path.join(REPO_ROOT, "test", "fixtures", "faults", name)}`;

describe("router: crash isolation", () => {
  test("crash while loading, hang at start, and a process that ignores SIGTERM; the healthy model serves throughout", async () => {
    const dir = await makeModelsDir({ "good.gguf": 1, "crashy.gguf": 2, "hangs.gguf": 3, "stubborn.gguf": 4 });
    const ini = path.join(emptyDir("corral-preset-"), "faults.ini");
    writeFileSync(ini, [
      "[crashy]", `env = ${fault("crash-while-loading.cjs")}`,
      "[hangs]", `env = ${fault("hang-at-start.cjs")}`,
      "[stubborn]", `env = ${fault("ignore-sigterm.cjs")}`, "stop-timeout = 1",
    ].join("\n"));
    const server = await startRouter(["--models-dir", dir, "--models-preset", ini, "--models-load-timeout", "3", "-c", "512"]);
    try {
      assert.equal((await chat(server.url, "good")).status, 200);

      // crash while loading: the waiters get 503 with the reason, the model shows failed with its exit code
      const [c1, c2] = await Promise.all([chat(server.url, "crashy"), chat(server.url, "crashy")]);
      for (const r of [c1, c2]) {
        assert.equal(r.status, 503);
        assert.match(((await r.json()) as { error: { message: string } }).error.message, /failed to load: killed by SIGSEGV/);
      }
      const crashy = (await modelStatus(server.url, "crashy"))!;
      assert.equal(crashy.status.failed, true);
      assert.equal(crashy.status.exit_code, 139);
      assert.equal((await chat(server.url, "good")).status, 200, "the others go on serving");
      // GET /models/logs: the running process's output
      const logs = await fetch(`${server.url}/models/logs?model=good`);
      assert.equal(logs.status, 200);
      assert.match(await logs.text(), /model loaded: good/);
      assert.equal((await fetch(`${server.url}/models/logs?model=nope`)).status, 404);

      // hang at start: failed after --models-load-timeout, with that reason
      const t0 = Date.now();
      const h = await chat(server.url, "hangs");
      assert.equal(h.status, 503);
      assert.match(((await h.json()) as { error: { message: string } }).error.message, /not ready after 3 s/);
      assert.ok(Date.now() - t0 >= 2900, "it waited for the load timeout");
      assert.equal((await modelStatus(server.url, "hangs"))!.status.failed, true);

      // ignores SIGTERM: an unload kills it after its stop-timeout (1 s); that is not a failure
      assert.equal((await chat(server.url, "stubborn")).status, 200);
      const pid = (await modelStatus(server.url, "stubborn"))!.pid!;
      const u0 = Date.now();
      const unload = await fetch(`${server.url}/models/unload`, { method: "POST", body: JSON.stringify({ model: "stubborn" }) });
      assert.equal(unload.status, 200);
      await waitFor("stubborn unloaded", async () => (await modelStatus(server.url, "stubborn"))!.status.value === "unloaded", 5000);
      const took = Date.now() - u0;
      assert.ok(took >= 900 && took < 4000, `stopped after ${took} ms (stop-timeout 1 s)`);
      assert.ok(!isAlive(pid));
      assert.equal((await modelStatus(server.url, "stubborn"))!.status.failed, undefined);
      // the output of a process that is gone is kept
      assert.match(await (await fetch(`${server.url}/models/logs?model=stubborn`)).text(), /model loaded: stubborn/);

      assert.equal((await chat(server.url, "good")).status, 200);
    } finally {
      await server.stop();
    }
  });
});
