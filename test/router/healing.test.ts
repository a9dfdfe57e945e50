// Healing with real model processes and injected faults (a preset's env loads them into that model's process only):
// a process SIGKILLed while loading is loaded again for the requests that waited, with no cool-down; a process that
// stops answering is found by its health checks, killed, reported, and loaded again by the next request.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { chat, childPids, emptyDir, makeModelsDir, modelStatus, startRouter, waitFor } from "../helpers/router.js";
import { REPO_ROOT, type RunningServer } from "../helpers/server.js";

const fault = (name: string) => `NODE_OPTIONS=--require ${path.join(REPO_ROOT, "test", "fixtures", "faults", name)}`;

describe("router: healing", () => {
  let server: RunningServer;
  before(async () => {
    const dir = await makeModelsDir({ "slow.gguf": 1, "wedges.gguf": 2, "good.gguf": 3 });
    const ini = path.join(emptyDir("corral-preset-"), "faults.ini");
    writeFileSync(ini, ["[slow]", `env = ${fault("slow-start.cjs")}`, "[wedges]", `env = ${fault("wedge-after-start.cjs")}`].join("\n"));
    // no warm spare: each load starts a fresh process, which is the one the fault is loaded into
    server = await startRouter(["--models-dir", dir, "--models-preset", ini, "--models-health-timeout", "2", "--no-models-spare", "-c", "512"]);
  });
  after(async () => {
    await server?.stop();
  });

  test("a process SIGKILLed while loading is loaded again at once, and the waiting requests are served", async () => {
    const waiting = [chat(server.url, "slow"), chat(server.url, "slow")];
    const routerPid = server.proc.pid!;
    const [pid] = await waitFor("the loading process", () => {
      const pids = childPids(routerPid);
      return pids.length > 0 ? pids : undefined;
    }, 5000);
    assert.equal((await modelStatus(server.url, "slow"))!.status.value, "loading");
    process.kill(pid!, "SIGKILL");
    for (const r of await Promise.all(waiting)) assert.equal(r.status, 200, "the requests waited for the new load");
    const st = (await modelStatus(server.url, "slow"))!;
    assert.equal(st.status.value, "loaded");
    assert.notEqual(st.pid, pid);
    assert.equal((await chat(server.url, "slow")).status, 200, "no cool-down");
  });

  test("a process that stops answering is killed, its status says why, and the next request loads it again", async () => {
    assert.equal((await chat(server.url, "wedges")).status, 200);
    const pid = (await modelStatus(server.url, "wedges"))!.pid!;
    const gone = await waitFor("the wedged process killed", async () => {
      const m = (await modelStatus(server.url, "wedges"))!;
      return m.status.value === "unloaded" && m.status.failed ? m : undefined;
    }, 15_000);
    assert.match(String(gone.status.error), /not answering: its health check got no answer within 2 s/);
    assert.ok(childPids(server.proc.pid!).every((p) => p !== pid), "the wedged process is gone");
    assert.equal((await chat(server.url, "wedges")).status, 200, "loaded again, no cool-down");
    assert.equal((await chat(server.url, "good")).status, 200, "the others were never touched");
  });
});
