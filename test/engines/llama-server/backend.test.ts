import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ModelSpec } from "../../../src/catalog/catalog.js";
import { llamaServerEngine, placementDefaults } from "../../../src/engines/llama-server/backend.js";

function spec(over: Partial<ModelSpec> = {}): ModelSpec {
  return {
    id: "m", source: "models_dir", path: "/models/m.gguf", aliases: [], tags: [], options: {}, loadOnStartup: false,
    stopTimeoutS: 10, pin: false, env: {}, engine: "llama-server", passthrough: [], ...over,
  };
}

describe("llama-server command line", () => {
  test("--fit off and --cache-ram 0 come before the model's options, so a user's own flags win", () => {
    const engine = llamaServerEngine(() => "/bin/llama-server");
    const args = engine.args(
      spec({ options: { ctxSize: 2048 }, passthrough: [{ args: ["--cache-ram", "256"], known: true, where: "p.ini:3", key: "cache-ram" }] }),
      "/tmp/m.sock", ["--fit", "on"],
    );
    assert.deepEqual(args, [
      "--model", "/models/m.gguf", "--alias", "m", "--host", "/tmp/m.sock", "--port", "0",
      ...(process.env.LLAMA_ARG_FIT === undefined ? ["--fit", "off"] : []),
      ...(process.env.LLAMA_ARG_CACHE_RAM === undefined ? ["--cache-ram", "0"] : []),
      "--ctx-size", "2048", "--fit", "on", "--cache-ram", "256",
    ]);
  });

  test("an LLAMA_ARG_* variable (the router's or the model's env) is left to decide", () => {
    assert.deepEqual(placementDefaults(spec(), {}), ["--fit", "off", "--cache-ram", "0"]);
    assert.deepEqual(placementDefaults(spec({ env: { LLAMA_ARG_CACHE_RAM: "1024" } }), {}), ["--fit", "off"]);
    assert.deepEqual(placementDefaults(spec(), { LLAMA_ARG_FIT: "on" }), ["--cache-ram", "0"]);
  });
});
