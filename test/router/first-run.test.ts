// What a new user runs into first, through a real router with real model processes: a mistyped model gets the close
// matches in every API's error shape, "not loaded" names the model and the fix, embeddings asked of a model without
// them are a 400 that names the flag and the preset key (before anything loads), `error.code` is the HTTP status,
// and each relayed log line carries one level.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { ApiError } from "../../src/http/errors.js";
import { parsePresets } from "../../src/catalog/presets.js";
import { unknownModelMessage } from "../../src/router/refusal.js";
import { createLogger, relayLine } from "../../src/util/log.js";
import { PassThrough } from "node:stream";
import { makeModelsDir, modelStatus, startRouter, testEngines } from "../helpers/router.js";
import { postJson, type RunningServer } from "../helpers/server.js";

/** An OpenAI-shaped error whose code is its status, as everywhere. */
function assertOpenAiError(r: { status: number; json: any }, status: number, message: RegExp): void {
  assert.equal(r.status, status, JSON.stringify(r.json));
  assert.equal(r.json.error.code, status, JSON.stringify(r.json));
  assert.match(r.json.error.message, message);
}

describe("error messages (units)", () => {
  test("an unknown model among many lists only the close matches; among few, all of them", () => {
    const many = Array.from({ length: 30 }, (_, i) => ({ id: `model-${i}`, aliases: [] as string[] }));
    many.push({ id: "Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q8_0", aliases: ["qwen-small"] });
    // containing what was typed counts, case aside; the shorter name first
    assert.match(unknownModelMessage("qwen", many), /did you mean 'qwen-small', 'Qwen\/Qwen2\.5-0\.5B-Instruct-GGUF:Q8_0'\?$/);
    const near = unknownModelMessage("model-3O", many);
    assert.match(near, /^model 'model-3O' not found; did you mean 'model-3', /, "the closest first");
    assert.ok((near.match(/'model-\d+'/g) ?? []).length <= 5, `five at most, not every model: ${near}`);
    assert.match(unknownModelMessage("zzzzzz", many), /nor anything like it among 31 models \(GET \/v1\/models lists them\)$/);
    const few = [{ id: "alpha", aliases: [] }, { id: "beta", aliases: ["b"] }];
    assert.equal(unknownModelMessage("zzzzzz", few), "model 'zzzzzz' not found; available: 'alpha', 'beta'");
    assert.equal(unknownModelMessage("alhpa", few), "model 'alhpa' not found; did you mean 'alpha'? (available: 'alpha', 'beta')");
    assert.equal(unknownModelMessage("x", []), "model 'x' not found: no models are available");
  });

  test("error.code is the HTTP status, whatever extra fields an error carries", () => {
    const e = new ApiError(404, "gone", { extra: { code: "model_not_found", n_ctx: 4 } });
    assert.deepEqual(e.toJSON(), { error: { code: 404, message: "gone", type: "not_found_error", n_ctx: 4 } });
  });

  test("the preset key the embeddings error names is one presets accept", () => {
    const p = parsePresets("[m]\nembeddings = true\n", "x.ini");
    assert.equal(p.models[0]!.options.embedding, true);
  });

  test("a relayed line carries the child's level, once", () => {
    const out = new PassThrough();
    let text = "";
    out.on("data", (d: Buffer) => (text += d.toString()));
    const log = createLogger({ format: "text", verbose: true }, out);
    relayLine(log, "m", "E request failed: boom");
    relayLine(log, "m", "W slow");
    relayLine(log, "m", "0.00.012.345 D tokens");
    relayLine(log, "m", "\x1b[31mE\x1b[0m colored");
    relayLine(log, "m", "srv  load_model: loading"); // llama.cpp's lines without a level
    relayLine(log, "m", JSON.stringify({ time: "t", level: "error", msg: "json failed", status: 500 }));
    relayLine(log, "m", "{not json");
    assert.deepEqual(text.trimEnd().split("\n"), [
      "E [m] request failed: boom",
      "W [m] slow",
      "D [m] tokens",
      "E [m] colored",
      "I [m] srv  load_model: loading",
      "E [m] json failed status=500",
      "I [m] {not json",
    ]);
  });
});

for (const { engine, skip } of testEngines()) {
  describe(`router [${engine}]: first-run errors`, { skip }, () => {
    let server: RunningServer;
    before(async () => {
      const dir = await makeModelsDir({ "alpha.gguf": 1, "beta.gguf": 2, "gamma.gguf": 3 });
      const ini = path.join(dir, "..", `${path.basename(dir)}.ini`);
      // mean pooling: llama-server refuses /v1/embeddings with the random model's own (none)
      writeFileSync(ini, "[gamma]\nembeddings = true\npooling = mean\n");
      server = await startRouter(["--models-dir", dir, "--models-preset", ini, "-c", "256"], {}, engine);
    });
    after(async () => {
      await server?.stop();
    });

    test("a mistyped model: 404 with the close match and the list, in every API's error shape", async () => {
      const msgs = [{ role: "user", content: "hi" }];
      const did = /model 'alhpa' not found; did you mean 'alpha'\? \(available: 'alpha', 'beta', 'gamma'\)/;
      assertOpenAiError(await postJson(`${server.url}/v1/chat/completions`, { model: "alhpa", messages: msgs }), 404, did);
      const openai = await postJson(`${server.url}/v1/chat/completions`, { model: "alhpa", messages: msgs });
      assert.equal(openai.json.error.type, "not_found_error");
      assertOpenAiError(await postJson(`${server.url}/v1/responses`, { model: "alhpa", input: "hi" }), 404, did);
      const anthropic = await postJson(`${server.url}/v1/messages`, { model: "alhpa", max_tokens: 4, messages: msgs });
      assert.equal(anthropic.status, 404);
      assert.equal(anthropic.json.type, "error");
      assert.match(anthropic.json.error.message, did);
      const ollama = await postJson(`${server.url}/api/chat`, { model: "alhpa", messages: msgs });
      assert.equal(ollama.status, 404);
      assert.match(ollama.json.error, did);
      // nothing close: the models, since there are few
      assertOpenAiError(await postJson(`${server.url}/models/load`, { model: "zzzzzz" }), 404, /not found; available: 'alpha', 'beta', 'gamma'$/);
      const logs = await fetch(`${server.url}/models/logs?model=gama`);
      assert.equal(logs.status, 404);
      assert.match(((await logs.json()) as any).error.message, /did you mean 'gamma'/);
    });

    test("autoload off for a request: 400 naming the model and POST /models/load", async () => {
      const r = await postJson(`${server.url}/v1/chat/completions?autoload=false`, { model: "beta", messages: [{ role: "user", content: "hi" }] });
      assertOpenAiError(r, 400, /^model 'beta' is not loaded.*load it first with POST \/models\/load \{"model":"beta"\}$/);
      const ollama = await postJson(`${server.url}/api/generate?autoload=false`, { model: "beta", prompt: "hi" });
      assert.equal(ollama.status, 400);
      assert.match(ollama.json.error, /model 'beta' is not loaded.*POST \/models\/load/);
    });

    test("embeddings without --embeddings: 400 naming the flag and the preset key, and nothing loads", async () => {
      const why = /^model 'alpha' does not support embeddings: start the router with `--embeddings`.*`embeddings = true`/;
      for (const p of ["/v1/embeddings", "/embeddings", "/embedding"]) {
        const r = await postJson(`${server.url}${p}`, { model: "alpha", input: "hello" });
        assertOpenAiError(r, 400, why);
        assert.equal(r.json.error.type, "invalid_request_error");
      }
      const ollama = await postJson(`${server.url}/api/embed`, { model: "alpha", input: "hello" });
      assert.equal(ollama.status, 400);
      assert.match(ollama.json.error, /--embeddings/);
      assert.equal((await modelStatus(server.url, "alpha"))!.status.value, "unloaded", "a request that cannot succeed loads nothing");
      // a model whose preset turns them on is served
      const ok = await postJson(`${server.url}/v1/embeddings`, { model: "gamma", input: "hello" });
      assert.equal(ok.status, 200, JSON.stringify(ok.json));
      assert.ok(Array.isArray(ok.json.data[0].embedding));
    });

    test("the router's log never nests levels", () => {
      const nested = server.output().split("\n").filter((l) => /^[DIWE] \[[^\]]+\] [DIWE] /.test(l));
      assert.deepEqual(nested, []);
      assert.match(server.output(), /^I \[gamma\] /m, "the model's lines are relayed");
    });
  });
}
