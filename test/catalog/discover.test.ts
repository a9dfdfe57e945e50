import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { DiscoveryError, hubCacheDir, scanHubCache, scanModelsDir } from "../../src/catalog/discover.js";
import { tempDirUntilExit } from "../../src/util/temp-dir.js";

function tree(files: string[]): string {
  const root = tempDirUntilExit("corral-catalog-");
  for (const f of files) {
    mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    writeFileSync(path.join(root, f), "GGUF");
  }
  return root;
}

describe("--models-dir", () => {
  test("top-level files and folders, projectors and shards, deterministic choices", () => {
    const root = tree([
      "alpha.gguf",
      "mmproj-alpha-f16.gguf",
      "notes.txt",
      "big-00001-of-00002.gguf",
      "big-00002-of-00002.gguf",
      "vision/vision.gguf",
      "vision/draft.gguf",
      "vision/mmproj-F16.gguf",
      "sharded/x-00002-of-00003.gguf",
      "sharded/x-00001-of-00003.gguf",
      "sharded/x-00003-of-00003.gguf",
      "plain/z-model.gguf",
      "plain/a-model.gguf",
      "empty/readme.md",
    ]);
    const models = scanModelsDir(root);
    const byId = Object.fromEntries(models.map((m) => [m.id, m]));
    assert.deepEqual(models.map((m) => m.id), ["alpha", "big", "plain", "sharded", "vision"]);
    assert.equal(byId["big"]!.path, path.join(root, "big-00001-of-00002.gguf"));
    assert.equal(byId["vision"]!.path, path.join(root, "vision/vision.gguf"), "<folder>.gguf wins over other files");
    assert.equal(byId["vision"]!.mmproj, path.join(root, "vision/mmproj-F16.gguf"));
    assert.equal(byId["sharded"]!.path, path.join(root, "sharded/x-00001-of-00003.gguf"));
    assert.equal(byId["plain"]!.path, path.join(root, "plain/a-model.gguf"), "otherwise the first by name");
    assert.ok(models.every((m) => m.source === "models_dir"));
  });

  test("a missing or non-folder path is a clear error", () => {
    assert.throws(() => scanModelsDir("/nonexistent/models"), (e: unknown) => e instanceof DiscoveryError && /does not exist or is not a directory/.test(e.message));
    const root = tree(["file.gguf"]);
    assert.throws(() => scanModelsDir(path.join(root, "file.gguf")), DiscoveryError);
  });
});

describe("Hugging Face hub cache", () => {
  test("owner/repo:TAG from refs/main snapshots, first shards only, no projectors, symlinked blobs", () => {
    const root = tree([
      "models--ggml-org--tinygemma3-GGUF/refs/main",
      "models--ggml-org--tinygemma3-GGUF/snapshots/abc123/tinygemma3-Q8_0.gguf",
      "models--ggml-org--tinygemma3-GGUF/snapshots/abc123/mmproj-tinygemma3-f16.gguf",
      "models--ggml-org--tinygemma3-GGUF/snapshots/old999/tinygemma3-Q4_K_M.gguf",
      "models--bob--split-GGUF/refs/main",
      "models--bob--split-GGUF/snapshots/c1/sub/model.q4_0-00001-of-00002.gguf",
      "models--bob--split-GGUF/snapshots/c1/sub/model.q4_0-00002-of-00002.gguf",
      "models--bad--name--x/refs/main",
      "datasets--someone--data/refs/main",
      "blobs/deadbeef",
    ]);
    writeFileSync(path.join(root, "models--ggml-org--tinygemma3-GGUF/refs/main"), "abc123\n");
    writeFileSync(path.join(root, "models--bob--split-GGUF/refs/main"), "c1");
    symlinkSync(path.join(root, "blobs/deadbeef"), path.join(root, "models--ggml-org--tinygemma3-GGUF/snapshots/abc123/tinygemma3-F16.gguf"));
    const models = scanHubCache(root);
    assert.deepEqual(models.map((m) => m.id), ["bob/split-GGUF:Q4_0", "ggml-org/tinygemma3-GGUF:F16", "ggml-org/tinygemma3-GGUF:Q8_0"]);
    assert.ok(models.every((m) => m.source === "cache"));
    assert.match(models[0]!.path, /model\.q4_0-00001-of-00002\.gguf$/);
  });

  test("a missing cache is empty; the folder follows llama.cpp's environment order", () => {
    assert.deepEqual(scanHubCache("/nonexistent/hub"), []);
    assert.equal(hubCacheDir({ LLAMA_CACHE: "/l", HF_HUB_CACHE: "/h" }), "/l");
    assert.equal(hubCacheDir({ HF_HUB_CACHE: "/h", HF_HOME: "/x" }), "/h");
    assert.equal(hubCacheDir({ HUGGINGFACE_HUB_CACHE: "/hh" }), "/hh");
    assert.equal(hubCacheDir({ HF_HOME: "/x" }), "/x/hub");
    assert.equal(hubCacheDir({ XDG_CACHE_HOME: "/c" }), "/c/huggingface/hub");
    assert.equal(hubCacheDir({ HOME: "/home/u" }), "/home/u/.cache/huggingface/hub");
    assert.equal(hubCacheDir({ LLAMA_CACHE: "", HOME: "/home/u" }), "/home/u/.cache/huggingface/hub", "empty counts as unset");
  });
});
