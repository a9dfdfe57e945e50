// The scheduler's promises, shown end to end with real model processes: LRU eviction, a busy model never evicted,
// one load for concurrent first requests, crash isolation, TTL, and presets reaching the processes.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, copyFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { getTestModel } from "../helpers/models.js";
import { chat, childPids, emptyDir, isAlive, listModels, makeModelsDir, modelStatus, NO_PARTIAL_UTF8, startRouter as startRouterWith, testEngines, waitFor } from "../helpers/router.js";
import { postJson, readSse, runCorral } from "../helpers/server.js";

/** End-of-generation tokens banned, and bytes that could leave a UTF-8 sequence unfinished (see NO_PARTIAL_UTF8). */
const BAN = { ...NO_PARTIAL_UTF8, "2": -100, "4": -100 };

/** A request that generates `n` tokens (end-of-generation tokens banned), streamed. */
function longStream(url: string, model: string, n: number): Promise<Response> {
  return fetch(`${url}/v1/completions`, {
    method: "POST",
    body: JSON.stringify({
      model, prompt: "once", max_tokens: n, stream: true, stream_options: { include_usage: true }, logit_bias: BAN,
    }),
  });
}

/** Tokens the stream reports it generated (its usage chunk). */
function countTokens(events: unknown[]): number {
  const usage = events.map((e) => (e as { usage?: { completion_tokens: number } }).usage).find((u) => u);
  return usage?.completion_tokens ?? -1;
}

for (const { engine, skip } of testEngines()) {
describe(`router [${engine}]: scheduling with real processes`, { skip }, () => {
  const startRouter = (args: string[], env: NodeJS.ProcessEnv = {}) => startRouterWith(args, env, engine);
  // llama-server generates the tiny model's tokens ~50x faster than the node engine: its long streams are longer,
  // in one slot with the whole context, so that they are still running when the test acts on them
  // (the tiny model's training context, 4096, is as long as llama-server lets a slot be)
  const LONG = engine === "llama-server" ? 4000 : 2500;
  const CTX = engine === "llama-server" ? ["-c", "4096", "-np", "1"] : ["-c", "4096"];
  test("LRU with --models-max 2 over three models; six concurrent first requests start one process", async () => {
    const dir = await makeModelsDir({ "a.gguf": 1, "b.gguf": 2, "c.gguf": 3 });
    const server = await startRouter(["--models-dir", dir, "--models-max", "2", "-c", "512"]);
    try {
      const six = await Promise.all(Array.from({ length: 6 }, () => chat(server.url, "a")));
      assert.deepEqual(six.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
      assert.equal(server.output().match(/loading model 'a'/g)?.length, 1, "one load for six requests");
      const aPid = (await modelStatus(server.url, "a"))!.pid!;
      assert.ok(childPids(server.proc.pid!).includes(aPid));
      assert.equal((await chat(server.url, "b")).status, 200);
      assert.equal((await chat(server.url, "a")).status, 200); // a is now more recent than b
      assert.equal((await chat(server.url, "c")).status, 200);
      const models = await listModels(server.url);
      assert.deepEqual(Object.fromEntries(models.map((m) => [m.id, m.status.value])), { a: "loaded", b: "unloaded", c: "loaded" });
      // two model processes, plus at most the warm spare
      await waitFor("b's process gone", () => childPids(server.proc.pid!).length <= 3);
      assert.equal(models.find((m) => m.id === "a")!.pid, aPid, "a kept its process");
    } finally {
      await server.stop();
    }
  });

  test("a busy model is not evicted: the other model's request waits for the stream to finish, both succeed", async () => {
    const dir = await makeModelsDir({ "a.gguf": 1, "b.gguf": 2 });
    const server = await startRouter(["--models-dir", dir, "--models-max", "1", ...CTX]);
    try {
      assert.equal((await chat(server.url, "a")).status, 200);
      const order: string[] = [];
      const streaming = longStream(server.url, "a", LONG).then(async (res) => {
        const events = await readSse(res);
        order.push("a done");
        return { status: res.status, events };
      });
      await waitFor("a in flight", async () => (await modelStatus(server.url, "a"))!.in_flight === 1);
      const other = chat(server.url, "b").then((res) => {
        order.push("b done");
        return res;
      });
      const [a, b] = await Promise.all([streaming, other]);
      assert.equal(a.status, 200);
      assert.equal(countTokens(a.events), LONG, "the stream was not cut");
      assert.equal(a.events.at(-1), "[DONE]");
      assert.equal(b.status, 200);
      assert.deepEqual(order, ["a done", "b done"]);
    } finally {
      await server.stop();
    }
  });

  test("kill -9 of one model while another streams: the stream completes, the killed one is failed, then reloads", async () => {
    const dir = await makeModelsDir({ "a.gguf": 1, "b.gguf": 2 });
    const server = await startRouter(["--models-dir", dir, ...CTX]);
    try {
      assert.equal((await chat(server.url, "b")).status, 200);
      const bPid = (await modelStatus(server.url, "b"))!.pid!;
      const streaming = longStream(server.url, "a", LONG);
      await waitFor("a in flight", async () => (await modelStatus(server.url, "a"))!.in_flight === 1);
      process.kill(bPid, "SIGKILL");
      const res = await streaming;
      const events = await readSse(res);
      assert.equal(countTokens(events), LONG);
      const b = await waitFor("b failed", async () => {
        const m = await modelStatus(server.url, "b");
        return m?.status.value === "unloaded" && m.status.failed ? m : undefined;
      });
      assert.equal(b.status.exit_code, 137);
      assert.match(b.status.error!, /SIGKILL/);
      assert.equal((await chat(server.url, "b")).status, 200, "the next request loads it again");
      assert.notEqual((await modelStatus(server.url, "b"))!.pid, bPid);
    } finally {
      await server.stop();
    }
  });

  test("a model killed under its own stream ends the stream with an SSE error event; a non-stream request gets 502 JSON", async () => {
    const dir = await makeModelsDir({ "a.gguf": 1 });
    const server = await startRouter(["--models-dir", dir, ...CTX]);
    try {
      const res = await longStream(server.url, "a", LONG);
      const pid = (await modelStatus(server.url, "a"))!.pid!;
      const reader = res.body!.getReader();
      await reader.read(); // the stream has started
      process.kill(pid, "SIGKILL");
      let text = "";
      const dec = new TextDecoder();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += dec.decode(value, { stream: true });
      }
      const last = text.trim().split("\n\n").at(-1)!;
      assert.match(last, /^data: \{"error":/);
      assert.equal(JSON.parse(last.slice(6)).error.code, 502);

      // non-stream: the process dies before it answers
      let slowEnded = false;
      const slow = fetch(`${server.url}/v1/completions`, {
        method: "POST",
        body: JSON.stringify({ model: "a", prompt: "once", max_tokens: LONG, logit_bias: BAN }),
      }).finally(() => (slowEnded = true));
      await waitFor("a in flight", async () => slowEnded || (await modelStatus(server.url, "a"))?.in_flight === 1);
      if (slowEnded) {
        const early = await slow;
        assert.fail(`the request ended before the kill: ${early.status} ${(await early.text()).slice(0, 300)}\n${server.output().slice(-2000)}`);
      }
      // a process that dies within moments of receiving a request is treated as already gone, and the request retried
      await new Promise((r) => setTimeout(r, 400));
      process.kill((await modelStatus(server.url, "a"))!.pid!, "SIGKILL");
      const r = await slow;
      assert.equal(r.status, 502);
      const body = (await r.json()) as { error: { message: string; type: string } };
      assert.equal(body.error.type, "server_error");
      assert.match(body.error.message, /model 'a'/);
    } finally {
      await server.stop();
    }
  });

  test("a client that disconnects mid-stream stops the generation in the model process; max-concurrent answers 429", async () => {
    const dir = await makeModelsDir({ "a.gguf": 1 });
    const ini = path.join(emptyDir("corral-preset-"), "p.ini");
    writeFileSync(ini, "[a]\nmax-concurrent = 1\n");
    const server = await startRouter(["--models-dir", dir, "--models-preset", ini, ...CTX]);
    try {
      const ac = new AbortController();
      const res = await fetch(`${server.url}/v1/completions`, {
        method: "POST",
        signal: ac.signal,
        body: JSON.stringify({ model: "a", prompt: "once", max_tokens: LONG, stream: true, logit_bias: BAN }),
      });
      const reader = res.body!.getReader();
      await reader.read();
      const busy = await chat(server.url, "a");
      assert.equal(busy.status, 429);
      assert.ok(Number(busy.headers.get("retry-after")) >= 1);
      ac.abort();
      await waitFor("in flight back to 0", async () => (await modelStatus(server.url, "a"))!.in_flight === 0, 5000);
      // llama-server notices a closed connection at its next token write, a moment after the router released it
      const processing = async () => ((await (await fetch(`${server.url}/slots?model=a`)).json()) as Array<{ is_processing: boolean }>)[0]!.is_processing;
      await waitFor("the model process stopped generating", async () => !(await processing()), 3000);
      assert.equal((await chat(server.url, "a")).status, 200);
    } finally {
      await server.stop();
    }
  });

  test("a request sent the instant after its model process died is served by a reloaded process, not failed", async () => {
    const dir = await makeModelsDir({ "a.gguf": 1 });
    const server = await startRouter(["--models-dir", dir, "-c", "512"]);
    try {
      for (let i = 0; i < 3; i++) {
        assert.equal((await chat(server.url, "a")).status, 200);
        const pid = (await modelStatus(server.url, "a"))!.pid!;
        process.kill(pid, "SIGKILL");
        const r = await chat(server.url, "a"); // usually reaches the router before it has seen the exit
        assert.equal(r.status, 200, await r.text());
        assert.notEqual((await modelStatus(server.url, "a"))!.pid, pid);
      }
    } finally {
      await server.stop();
    }
  });

  test("a model that fails to load fails its waiters with the reason, then answers 503 with Retry-After", async () => {
    const dir = await makeModelsDir({ "good.gguf": 1 });
    writeFileSync(path.join(dir, "broken.gguf"), Buffer.concat([Buffer.from("GGUF"), Buffer.alloc(64, 7)]));
    const server = await startRouter(["--models-dir", dir]);
    try {
      const [r1, r2] = await Promise.all([chat(server.url, "broken"), chat(server.url, "broken")]);
      for (const r of [r1, r2]) {
        assert.equal(r.status, 503);
        const e = (await r.json()) as { error: { message: string } };
        assert.match(e.error.message, /failed to load/);
      }
      const r3 = await chat(server.url, "broken");
      assert.equal(r3.status, 503);
      assert.ok(Number(r3.headers.get("retry-after")) >= 1);
      const m = (await modelStatus(server.url, "broken"))!;
      assert.equal(m.status.failed, true);
      assert.ok(m.status.error!.length > 0);
      assert.equal((await chat(server.url, "good")).status, 200, "the others go on serving");
    } finally {
      await server.stop();
    }
  });
});
}

describe("router: presets", () => {
  test("precedence (command line > [id] > [*]), aliases, tags, a new model by relative path, env, ttl", async () => {
    const dir = await makeModelsDir({ "a.gguf": 1, "b.gguf": 2 });
    const presetDir = emptyDir("corral-preset-");
    mkdirSync(path.join(presetDir, "weights"));
    copyFileSync(await getTestModel("tiny", { seed: 4 }), path.join(presetDir, "weights", "x.gguf"));
    const ini = path.join(presetDir, "models.ini");
    writeFileSync(ini, [
      "; corral presets",
      "[*]",
      "ctx-size = 1024",
      "top_k = 5",
      "",
      "[a]",
      "c = 256",
      "top-k = 3",
      "alias = first, second",
      "tags = chat,small",
      "env = CORRAL_TEST_MARK=hello",
      "",
      "[custom]",
      "model = weights/x.gguf",
      "ttl = 1",
    ].join("\n"));
    const server = await startRouterWith(["--models-dir", dir, "--models-preset", ini, "--top-k", "7"]);
    try {
      const models = await listModels(server.url);
      assert.deepEqual(models.map((m) => m.id), ["a", "b", "custom"]);
      const a = models.find((m) => m.id === "a")!;
      assert.deepEqual(a.aliases, ["first", "second"]);
      assert.deepEqual(a.tags, ["chat", "small"]);
      const argOf = (m: { status: { args: string[] } }, flag: string) => m.status.args[m.status.args.indexOf(flag) + 1];
      assert.equal(argOf(a, "--ctx-size"), "256", "[a] beats [*]");
      assert.equal(argOf(a, "--top-k"), "7", "the command line beats [a]");
      const b = models.find((m) => m.id === "b")!;
      assert.equal(argOf(b, "--ctx-size"), "1024", "[*] applies to discovered models");
      const custom = models.find((m) => m.id === "custom")!;
      assert.equal(custom.source, "preset");
      assert.equal(custom.path, path.join(presetDir, "weights", "x.gguf"));

      // an alias routes to its model, whose process got the preset's settings and environment
      assert.equal((await chat(server.url, "second")).status, 200);
      const loaded = (await modelStatus(server.url, "a"))!;
      assert.equal(loaded.n_ctx, 256);
      const environ = readFileSync(`/proc/${loaded.pid}/environ`, "utf8").split("\0");
      assert.ok(environ.includes("CORRAL_TEST_MARK=hello"));

      // ttl = 1: unloaded about a second after its last request
      assert.equal((await chat(server.url, "custom")).status, 200);
      await waitFor("custom unloaded by ttl", async () => (await modelStatus(server.url, "custom"))!.status.value === "unloaded", 10_000);
      assert.equal((await modelStatus(server.url, "a"))!.status.value, "loaded", "models without ttl stay");
    } finally {
      await server.stop();
    }
  });

  test("a bad key, a bad value and a missing --models-dir stop start-up with one clear line", async () => {
    const ini = path.join(emptyDir("corral-preset-"), "bad.ini");
    // a key neither corral nor its list of llama-server flags knows is refused for node-engine models (llama-server
    // models get it verbatim: see engines.test.ts)
    writeFileSync(ini, "[*]\nctx-size = 512\nbogus-key = 1\n[x]\nmodel = /nowhere.gguf\n");
    const r = await runCorral(["--engine", "node", "--models-preset", ini]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`bad\\.ini:3: unknown key 'bogus-key'`));
    assert.equal(r.stderr.trim().split("\n").length, 1);

    // a typo gets the key it was meant to be
    writeFileSync(ini, "[x]\nmodel = /nowhere.gguf\nctx-sise = 512\n");
    const typo = await runCorral(["--engine", "node", "--models-preset", ini]);
    assert.equal(typo.code, 1);
    assert.match(typo.stderr, /bad\.ini:3: unknown key 'ctx-sise'.*did you mean 'ctx-size'\?/);

    writeFileSync(ini, "[x]\nmodel = /nowhere.gguf\nctx-size = lots\n");
    const v = await runCorral(["--models-preset", ini]);
    assert.equal(v.code, 1);
    assert.match(v.stderr, /bad\.ini:3:.*ctx-size.*integer/);

    const d = await runCorral(["--models-dir", "/definitely/not/here"]);
    assert.equal(d.code, 1);
    assert.match(d.stderr, /--models-dir '\/definitely\/not\/here' does not exist or is not a directory/);
    assert.doesNotMatch(d.stderr, /at .*\.js:\d+/, "no stack trace");
  });
});

for (const { engine, skip } of testEngines()) {
describe(`router [${engine}]: shutdown leaves no model process behind`, { skip }, () => {
  const startRouter = (args: string[], env: NodeJS.ProcessEnv = {}) => startRouterWith(args, env, engine);
  for (const signal of ["SIGTERM", "SIGINT", "SIGKILL"] as const) {
    test(`${signal} of the router`, async () => {
      const dir = await makeModelsDir({ "a.gguf": 1, "b.gguf": 2 });
      const server = await startRouter(["--models-dir", dir]);
      try {
        assert.equal((await chat(server.url, "a")).status, 200);
        assert.equal((await chat(server.url, "b")).status, 200);
        const modelPids = (await listModels(server.url)).map((m) => m.pid).filter((p): p is number => p !== undefined);
        assert.equal(modelPids.length, 2);
        // the model processes and the warm spare
        const pids = childPids(server.proc.pid!);
        for (const p of modelPids) assert.ok(pids.includes(p));
        const exited = new Promise((resolve) => server.proc.once("exit", resolve));
        server.proc.kill(signal);
        await exited;
        await waitFor("model processes gone within 2 s", () => pids.every((p) => !isAlive(p)), 2000);
      } finally {
        await server.stop();
      }
    });
  }
});
}
