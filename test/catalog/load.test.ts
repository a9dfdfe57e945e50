import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { DEMO_MODEL_ID, loadCatalog } from "../../src/catalog/load.js";
import { tempDirUntilExit } from "../../src/util/temp-dir.js";

function hubWith(files: string[]): string {
  const hub = tempDirUntilExit("corral-hub-");
  const repo = path.join(hub, "models--acme--tiny-GGUF");
  mkdirSync(path.join(repo, "refs"), { recursive: true });
  writeFileSync(path.join(repo, "refs", "main"), "c0ffee");
  for (const f of files) {
    mkdirSync(path.dirname(path.join(repo, "snapshots", "c0ffee", f)), { recursive: true });
    writeFileSync(path.join(repo, "snapshots", "c0ffee", f), "GGUF");
  }
  return hub;
}

describe("loadCatalog", () => {
  test("a preset's hf-repo is served from the cache (tag case-insensitive); an uncached one keeps no path", () => {
    const hub = hubWith(["tiny-Q8_0.gguf"]);
    const ini = path.join(tempDirUntilExit("corral-ini-"), "p.ini");
    writeFileSync(ini, "[mine]\nhf-repo = acme/tiny-GGUF:q8_0\n\n[absent]\nhf-repo = acme/other-GGUF:Q4_K_M\n");
    const c = loadCatalog({ presetFile: ini, env: { LLAMA_CACHE: hub }, cliOptions: {} });
    const mine = c.models.find((m) => m.id === "mine")!;
    assert.equal(mine.path, path.join(hub, "models--acme--tiny-GGUF", "snapshots", "c0ffee", "tiny-Q8_0.gguf"));
    const absent = c.models.find((m) => m.id === "absent")!;
    assert.equal(absent.path, undefined);
    assert.match(absent.hfError ?? "", /'acme\/other-GGUF' is not in the cache/, "the load will fail with this reason");
    assert.ok(c.models.some((m) => m.id === "acme/tiny-GGUF:Q8_0" && m.source === "cache"));
    assert.ok(!c.models.some((m) => m.id === DEMO_MODEL_ID), "no demo model unless asked for");
  });

  test("hf-repo without a tag takes Q4_K_M when cached, else Q8_0, else the first model file (llama-server's order)", () => {
    const ini = path.join(tempDirUntilExit("corral-ini-"), "p.ini");
    writeFileSync(ini, "[plain]\nhf-repo = acme/tiny-GGUF\n\n[exact]\nhf-repo = acme/tiny-GGUF\nhf-file = tiny-F16.gguf\n");
    const withQ4 = loadCatalog({ presetFile: ini, env: { LLAMA_CACHE: hubWith(["tiny-Q8_0.gguf", "tiny-Q4_K_M.gguf"]) }, cliOptions: {} });
    assert.match(withQ4.models.find((m) => m.id === "plain")!.path!, /tiny-Q4_K_M\.gguf$/);
    assert.match(withQ4.models.find((m) => m.id === "exact")!.hfError ?? "", /file 'tiny-F16\.gguf' is not in the cached repo 'acme\/tiny-GGUF'/);
    const withQ8 = loadCatalog({ presetFile: ini, env: { LLAMA_CACHE: hubWith(["tiny-F16.gguf", "tiny-Q8_0.gguf"]) }, cliOptions: {} });
    assert.match(withQ8.models.find((m) => m.id === "plain")!.path!, /tiny-Q8_0\.gguf$/);
    const neither = loadCatalog({ presetFile: ini, env: { LLAMA_CACHE: hubWith(["tiny-Q6_K.gguf", "tiny-F16.gguf"]) }, cliOptions: {} });
    assert.match(neither.models.find((m) => m.id === "plain")!.path!, /tiny-F16\.gguf$/);
    assert.match(neither.models.find((m) => m.id === "exact")!.path!, /tiny-F16\.gguf$/, "hf-file names the file exactly");
  });

  test("the demo model is listed beside the cache models, with the command line's model options", () => {
    const hub = hubWith(["tiny-F16.gguf"]);
    const c = loadCatalog({ demoModels: [{ id: DEMO_MODEL_ID, path: "/x/demo.gguf" }], env: { LLAMA_CACHE: hub }, cliOptions: { ctxSize: 1024 } });
    assert.deepEqual(c.models.map((m) => [m.id, m.source]), [["acme/tiny-GGUF:F16", "cache"], [DEMO_MODEL_ID, "builtin"]]);
    assert.equal(c.models[1]!.options.ctxSize, 1024, "command-line model options reach every model");
  });
});
