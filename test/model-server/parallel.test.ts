// Slots, the FIFO queue, client aborts and the parent link, against real model processes.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fork } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { getTestModel } from "../helpers/models.js";
import { CORRAL_BIN, postJson, readSse, startServer, type RunningServer } from "../helpers/server.js";
import { tempDirUntilExit } from "../../src/util/temp-dir.js";

const NO_EOS = { "2": -100, "4": -100 };

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  assert.ok(m, `metric ${name} missing`);
  return Number(m[1]);
}

describe("parallel slots", () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer(["-m", await getTestModel("tiny"), "-np", "2", "-c", "4096", "-t", "1", "--metrics"]);
  });
  after(async () => {
    await server?.stop();
  });

  test("five streams on two slots: all complete, at most two generate at once, the rest wait", async () => {
    let maxProcessing = 0;
    let sawDeferred = false;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const slots = (await (await fetch(`${server.url}/slots`)).json()) as Array<{ is_processing: boolean }>;
        maxProcessing = Math.max(maxProcessing, slots.filter((s) => s.is_processing).length);
        if ((await metric(server.url, "llamacpp:requests_deferred")) > 0) sawDeferred = true;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const streams = Array.from({ length: 5 }, async (_, i) => {
      const res = await fetch(`${server.url}/v1/chat/completions`, {
        method: "POST",
        body: JSON.stringify({ messages: [{ role: "user", content: `stream ${i}` }], max_tokens: 300, stream: true, logit_bias: NO_EOS }),
      });
      return readSse(res);
    });
    const results = await Promise.all(streams);
    polling = false;
    await poller;
    for (const events of results) {
      assert.equal(events.at(-1), "[DONE]");
      const finish = events.at(-2) as { choices: Array<{ finish_reason: string }> };
      assert.equal(finish.choices[0]!.finish_reason, "length");
    }
    assert.equal(maxProcessing, 2, "both slots were used and never more");
    assert.ok(sawDeferred, "requests beyond the slot count were queued");
  });

  test("a client that disconnects mid-stream stops its generation and frees its slot", async () => {
    const before = await metric(server.url, "llamacpp:tokens_predicted_total");
    const ac = new AbortController();
    const res = await fetch(`${server.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({ prompt: "Tell me a very long story", max_tokens: 3000, stream: true, logit_bias: NO_EOS }),
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    let received = 0;
    while (received < 5) {
      const { value } = await reader.read();
      received += (new TextDecoder().decode(value).match(/data: /g) ?? []).length;
    }
    ac.abort();
    // Wait for the slot to be free again, then count what was generated after the abort.
    for (let i = 0; i < 200; i++) {
      const slots = (await (await fetch(`${server.url}/slots`)).json()) as Array<{ is_processing: boolean }>;
      if (slots.every((s) => !s.is_processing)) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const generated = (await metric(server.url, "llamacpp:tokens_predicted_total")) - before;
    // What the client had received lags what was written by the chunks in flight; measured here: 1-5 tokens.
    assert.ok(generated <= received + 50, `generation should stop right after the abort; client saw ${received}, server generated ${generated} of 3000`);
    const next = await postJson(`${server.url}/v1/completions`, { prompt: "next", max_tokens: 3 });
    assert.equal(next.status, 200);
    assert.equal(next.json.usage.completion_tokens <= 3, true);
  });

  test("a client that disconnects while queued leaves the queue", async () => {
    // Occupy both slots, queue a third request and abort it, then check the queue is empty.
    const long = (i: number) =>
      postJson(`${server.url}/v1/completions`, { prompt: `busy ${i}`, max_tokens: 400, logit_bias: NO_EOS });
    const busy = [long(1), long(2)];
    await new Promise((r) => setTimeout(r, 30));
    const ac = new AbortController();
    const queued = fetch(`${server.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({ prompt: "queued", max_tokens: 5 }),
      signal: ac.signal,
    }).catch((e: Error) => e);
    for (let i = 0; i < 100 && (await metric(server.url, "llamacpp:requests_deferred")) === 0; i++) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    await queued;
    for (let i = 0; i < 100 && (await metric(server.url, "llamacpp:requests_deferred")) > 0; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(await metric(server.url, "llamacpp:requests_deferred"), 0);
    for (const r of await Promise.all(busy)) assert.equal(r.status, 200);
  });
});

describe("parent link", () => {
  test("started by a parent: reports ready with what it serves, and exits when the parent is SIGKILLed", async () => {
    const model = await getTestModel("tiny");
    // A parent process that forks corral with an IPC channel and relays its messages on stdout.
    const parentSrc = `
      import { fork } from "node:child_process";
      const child = fork(${JSON.stringify(CORRAL_BIN)}, ["-m", ${JSON.stringify(model)}, "--port", "0", "-t", "1"], { stdio: ["ignore", "ignore", "ignore", "ipc"] });
      child.on("message", (m) => process.stdout.write(JSON.stringify({ ...m, childPid: child.pid }) + "\\n"));
      setInterval(() => {}, 1000);
    `;
    const script = path.join(tempDirUntilExit("corral-parent-"), "parent.mjs");
    writeFileSync(script, parentSrc);
    const parent = fork(script, [], { stdio: ["ignore", "pipe", "inherit", "ipc"] });
    const ready = await new Promise<{ type: string; info: { id: string; port: number; n_ctx: number; pid: number }; childPid: number }>((resolve, reject) => {
      let buf = "";
      parent.stdout!.on("data", (d: Buffer) => {
        buf += d.toString();
        for (const line of buf.split("\n").slice(0, -1)) {
          const msg = JSON.parse(line);
          if (msg.type === "ready") resolve(msg);
          if (msg.type === "failed") reject(new Error(msg.error));
        }
      });
      setTimeout(() => reject(new Error("child never became ready")), 30_000);
    });
    assert.equal(ready.info.pid, ready.childPid);
    assert.ok(ready.info.port > 0);
    assert.ok(ready.info.n_ctx > 0);
    const health = await fetch(`http://127.0.0.1:${ready.info.port}/health`);
    assert.equal(health.status, 200);

    parent.kill("SIGKILL");
    const deadline = Date.now() + 5000;
    let alive = true;
    while (alive && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      try {
        process.kill(ready.childPid, 0);
      } catch {
        alive = false;
      }
    }
    if (alive) process.kill(ready.childPid, "SIGKILL");
    assert.equal(alive, false, "the model process must exit when its parent dies");
  });
});
