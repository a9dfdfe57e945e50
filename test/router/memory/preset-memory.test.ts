import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { buildCatalog } from "../../../src/catalog/catalog.js";
import { parsePresets, PresetError } from "../../../src/catalog/presets.js";
import { presetText } from "../../../src/router/model-list.js";

const FILE = "/etc/corral/presets.ini";

describe("preset key memory", () => {
  test("a size becomes memoryBytes on the model, [*] fills it where a model sets none, and /models shows it", () => {
    const p = parsePresets(["[*]", "memory = 1g", "[vllm]", "cmd = vllm serve x --port ${PORT}", "memory = 6g", "[far]", "proxy = http://10.0.0.2:8000"].join("\n"), FILE);
    assert.equal(p.models[0]!.extras.memoryBytes, 6 * 1024 ** 3);
    const catalog = buildCatalog({ discovered: [], presets: p, cliOptions: {} });
    const vllm = catalog.models.find((m) => m.id === "vllm")!;
    const far = catalog.models.find((m) => m.id === "far")!;
    assert.equal(vllm.memoryBytes, 6 * 1024 ** 3);
    assert.equal(far.memoryBytes, 1024 ** 3);
    assert.match(presetText(vllm), /^memory = 6g$/m);
  });

  test("a percentage or a malformed size is an error naming the key and the line", () => {
    assert.throws(() => parsePresets("[x]\ncmd = a\nmemory = 50%\n", FILE), (e: unknown) => e instanceof PresetError && /presets\.ini:3: 'memory' must be a size .*not a percentage/.test((e as Error).message));
    assert.throws(() => parsePresets("[x]\ncmd = a\nmemory = lots\n", FILE), (e: unknown) => e instanceof PresetError && /:3: 'memory' must be a size such as 512m/.test((e as Error).message));
  });
});
