import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { buildCatalog } from "../../src/catalog/catalog.js";
import { parsePresets, PresetError } from "../../src/catalog/presets.js";
import type { DiscoveredModel } from "../../src/catalog/discover.js";

const discovered: DiscoveredModel[] = [
  { id: "alpha", path: "/models/alpha.gguf", source: "models_dir" },
  { id: "vision", path: "/models/vision/vision.gguf", mmproj: "/models/vision/mmproj.gguf", source: "models_dir" },
  { id: "org/repo:Q8_0", path: "/hub/org/repo-Q8_0.gguf", source: "cache" },
  { id: "alpha", path: "/hub/alpha.gguf", source: "cache" },
];

describe("catalog", () => {
  test("precedence: router command line > [id] > [*] > discovered; folder beats cache", () => {
    const presets = parsePresets(
      ["[*]", "c = 2048", "temp = 0.5", "env = A=global", "ttl = 60", "[alpha]", "c = 4096", "temp = 0.1", "env = A=mine", "alias = a1", "pin = true"].join("\n"),
      "/p/presets.ini",
    );
    const cat = buildCatalog({ discovered, presets, cliOptions: { temp: 0.9 } });
    assert.deepEqual(cat.models.map((m) => m.id), ["alpha", "org/repo:Q8_0", "vision"]);
    const alpha = cat.models.find((m) => m.id === "alpha")!;
    assert.equal(alpha.path, "/models/alpha.gguf", "the models-dir file replaces the cache twin");
    assert.equal(alpha.options.ctxSize, 4096, "[alpha] beats [*]");
    assert.equal(alpha.options.temp, 0.9, "the router command line beats every preset");
    assert.deepEqual(alpha.env, { A: "mine" });
    assert.equal(alpha.ttlS, 60, "[*] fills what [alpha] left unset");
    assert.equal(alpha.pin, true);
    const vision = cat.models.find((m) => m.id === "vision")!;
    assert.equal(vision.options.ctxSize, 2048);
    assert.equal(vision.mmproj, "/models/vision/mmproj.gguf");
    assert.equal(cat.resolve("a1"), "alpha");
    assert.equal(cat.resolve("alpha"), "alpha");
    assert.equal(cat.resolve("nope"), undefined);
  });

  test("a section can define a new model by path or by hf-repo", () => {
    const presets = parsePresets(["[custom]", "model = weights/x.gguf", "[remote]", "hf-repo = o/r:Q4_0", "load-on-startup = 1"].join("\n"), "/p/presets.ini");
    const cat = buildCatalog({ discovered: [], presets, cliOptions: {}, defaultTtlS: 30 });
    const custom = cat.models.find((m) => m.id === "custom")!;
    assert.equal(custom.source, "preset");
    assert.equal(custom.path, "/p/weights/x.gguf");
    assert.equal(custom.ttlS, 30, "--models-ttl applies where no ttl is set");
    const remote = cat.models.find((m) => m.id === "remote")!;
    assert.equal(remote.hfRepo, "o/r:Q4_0");
    assert.equal(remote.loadOnStartup, true);
  });

  test("a section with no model source, and alias conflicts, are clear errors", () => {
    assert.throws(
      () => buildCatalog({ discovered: [], presets: parsePresets("[ghost]\nc = 1", "/p/presets.ini"), cliOptions: {} }),
      (e: unknown) => e instanceof PresetError && /presets\.ini:1: \[ghost\] matches no discovered model/.test(e.message),
    );
    assert.throws(
      () => buildCatalog({ discovered, presets: parsePresets("[vision]\nalias = alpha", "/p/presets.ini"), cliOptions: {} }),
      /alias 'alpha' of model 'vision' is already the name of model 'alpha'/,
    );
  });
});
