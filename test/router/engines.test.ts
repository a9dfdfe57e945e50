// Engines end to end: `auto` picks llama-server when a binary exists, one router mixes engines per model, every
// llama-server flag reaches llama-server children (known ones rendered, unknown ones verbatim), and a missing binary
// asked for explicitly is one clear start-up error.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { chat, emptyDir, listModels, makeModelsDir, modelStatus, startRouter, testEngines, waitFor } from "../helpers/router.js";
import { postJson, runCorral, startServer } from "../helpers/server.js";

const llamaServer = testEngines().find((e) => e.engine === "llama-server")!;

describe("engines", () => {
  test("--engine llama-server without any binary: one clear line that says how to get one", async () => {
    const dir = await makeModelsDir({ "a.gguf": 1 });
    const r = await runCorral(["--models-dir", dir, "--engine", "llama-server"], {
      env: { LLAMA_SERVER_BIN: "", PATH: "/usr/bin:/bin", XDG_CACHE_HOME: emptyDir("corral-nocache-"), LLAMA_CACHE: emptyDir("corral-hub-") },
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^corral: error: model 'a' asks for engine llama-server, but no llama-server binary was found: build one with `corral engine build`/);
    assert.equal(r.stderr.trim().split("\n").length, 1);
    const bad = await runCorral(["--models-dir", dir, "--llama-server", "/no/such/llama-server"], { env: { LLAMA_CACHE: emptyDir("corral-hub-") } });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /llama-server binary '\/no\/such\/llama-server' \(from --llama-server\) does not exist/);
  });

  test("auto without any binary: the node engine", async () => {
    const dir = await makeModelsDir({ "a.gguf": 1 });
    const server = await startServer(["--models-dir", dir, "-t", "1"], {
      env: { LLAMA_SERVER_BIN: "", PATH: "/usr/bin:/bin", XDG_CACHE_HOME: emptyDir("corral-nocache-"), LLAMA_CACHE: emptyDir("corral-hub-") },
    });
    try {
      assert.equal((await modelStatus(server.url, "a"))!.engine, "node");
      assert.equal((await chat(server.url, "a")).status, 200);
    } finally {
      await server.stop();
    }
  });

  test("auto with a binary: llama-server children; `engine = node` in a preset runs that model on the node engine beside them; flags pass through", { skip: llamaServer.skip }, async () => {
    const dir = await makeModelsDir({ "a.gguf": 1, "b.gguf": 2 });
    const ini = path.join(emptyDir("corral-preset-"), "p.ini");
    writeFileSync(ini, "[*]\nctk = f16\n[a]\nspec-draft-n-max = 3\nLLAMA_ARG_CACHE_RAM = 0\n[b]\nengine = node\n");
    // --no-warmup is a llama-server flag corral's own table does not implement: it reaches llama-server children
    // verbatim; ctk (-ctk) is one it implements, rendered from its table
    const server = await startRouter(["--models-dir", dir, "--models-preset", ini, "-c", "1024", "--no-warmup"], {}, "auto");
    try {
      const models = await listModels(server.url);
      const a = models.find((m) => m.id === "a")!;
      const b = models.find((m) => m.id === "b")!;
      assert.equal(a.engine, "llama-server");
      assert.equal(b.engine, "node");
      assert.match(a.status.args[0]!, /llama-server$/);
      const args = a.status.args.join(" ");
      for (const want of ["--ctx-size 1024", "--no-warmup", "--cache-type-k f16", "--spec-draft-n-max 3", "--alias a"]) assert.ok(args.includes(want), `${want} in ${args}`);
      assert.ok(!args.includes("--max-body") && !args.includes("--log-format"), "corral-only options stay with the node engine");
      assert.equal((await chat(server.url, "a")).status, 200);
      assert.equal((await chat(server.url, "b")).status, 200);
      const loaded = await listModels(server.url);
      const la = loaded.find((m) => m.id === "a")!;
      assert.equal(la.n_ctx, 1024, "llama-server's own facts from its ready line");
      // the child really got the flags: its environment and its /props
      const environ = readFileSync(`/proc/${la.pid}/environ`, "utf8").split("\0");
      assert.ok(environ.includes("LLAMA_ARG_CACHE_RAM=0"), "unknown LLAMA_ARG_* keys become the child's environment");
      assert.ok(environ.some((e) => e.startsWith("LLAMA_SERVER_ROUTER_PORT=")), "llama.cpp's router protocol marks the child");
      const props = (await (await fetch(`${server.url}/props?model=a`)).json()) as { default_generation_settings: { n_ctx: number } };
      assert.equal(props.default_generation_settings.n_ctx, 1024);
      // node children see no llama.cpp-only preset keys they cannot take
      const lb = loaded.find((m) => m.id === "b")!;
      assert.ok(lb.status.args[0]!.endsWith("bin/corral"));
    } finally {
      await server.stop();
    }
  });

  test("llama-server: load progress on /models/sse comes from the engine's own state lines; unload uses its exit command", { skip: llamaServer.skip }, async () => {
    const dir = await makeModelsDir({ "a.gguf": 1 });
    const server = await startRouter(["--models-dir", dir], {}, "llama-server");
    try {
      const res = await fetch(`${server.url}/models/sse`);
      const reader = res.body!.getReader();
      const seen: Array<{ model: string; data: { status: string; progress?: number } }> = [];
      const reading = (async () => {
        let buf = "";
        const dec = new TextDecoder();
        while (!seen.some((e) => e.data.status === "unloaded")) {
          const { done, value } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          const parts = buf.split("\n\n");
          buf = parts.pop()!;
          for (const p of parts) if (p.startsWith("data: ")) seen.push(JSON.parse(p.slice(6)));
        }
      })();
      assert.equal((await postJson(`${server.url}/models/load`, { model: "a", wait: true })).status, 200);
      assert.equal((await postJson(`${server.url}/models/unload`, { model: "a" })).status, 200);
      await waitFor("unloaded event", () => seen.some((e) => e.data.status === "unloaded"), 15_000);
      await reader.cancel();
      await reading.catch(() => {});
      const statuses = seen.map((e) => e.data.status);
      assert.deepEqual([...new Set(statuses)], ["loading", "loaded", "unloading", "unloaded"]);
      assert.ok(seen.some((e) => e.data.status === "loading" && typeof e.data.progress === "number"), "progress from the child's state lines");
      const m = (await modelStatus(server.url, "a"))!;
      assert.equal(m.status.failed, undefined, "a graceful stop through the exit command is not a failure");
      assert.match(server.output(), /\[a\].*exit command received/);
    } finally {
      await server.stop();
    }
  });
});
