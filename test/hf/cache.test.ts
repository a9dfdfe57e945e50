import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { HfResolveError, parseHfRef, pickModelFile, pickProjector, resolveCachedModel } from "../../src/hf/cache.js";
import { emptyDir } from "../helpers/router.js";

const COMMIT = "a".repeat(40);

/** A hub cache with one repo whose snapshot holds `files` (relative paths). */
function hub(repo: string, files: string[], ref = "main"): string {
  const root = emptyDir("corral-hf-");
  const dir = path.join(root, `models--${repo.replace("/", "--")}`);
  mkdirSync(path.join(dir, "refs"), { recursive: true });
  writeFileSync(path.join(dir, "refs", ref), COMMIT);
  for (const f of files) {
    const full = path.join(dir, "snapshots", COMMIT, f);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, "GGUF");
  }
  return root;
}
const snap = (root: string, repo: string, f: string) => path.join(root, `models--${repo.replace("/", "--")}`, "snapshots", COMMIT, f);
const files = (names: string[]) => names.map((repoPath) => ({ repoPath }));

describe("-hf owner/repo[:QUANT] references", () => {
  test("repo and tag are split at the last colon; anything else is refused with the expected form", () => {
    assert.deepEqual(parseHfRef("ggml-org/tinygemma3-GGUF:Q8_0"), { repo: "ggml-org/tinygemma3-GGUF", tag: "Q8_0" });
    assert.deepEqual(parseHfRef("bob/model", "sub/x.gguf"), { repo: "bob/model", tag: "", file: "sub/x.gguf" });
    for (const bad of ["model-only", "a/b/c", "owner/-repo", "owner/re..po", ""]) {
      assert.throws(() => parseHfRef(bad), (e: unknown) => e instanceof HfResolveError && /expected owner\/repo/.test(e.message), bad);
    }
  });

  test("the quant tag picks case-insensitively; without one Q4_K_M, then Q8_0, then the first model file", () => {
    const list = files(["a-F16.gguf", "a-Q8_0.gguf", "a-Q4_K_M.gguf", "mmproj-a-Q4_K_M.gguf"]);
    assert.equal(pickModelFile(list, "q8_0")?.repoPath, "a-Q8_0.gguf");
    assert.equal(pickModelFile(list, "")?.repoPath, "a-Q4_K_M.gguf");
    assert.equal(pickModelFile(files(["a-F16.gguf", "a-Q8_0.gguf"]), "")?.repoPath, "a-Q8_0.gguf");
    assert.equal(pickModelFile(files(["mmproj-F16.gguf", "b-F32.gguf", "c-BF16.gguf"]), "")?.repoPath, "b-F32.gguf", "projectors are never models");
    assert.equal(pickModelFile(list, "Q2_K"), undefined, "an unknown tag picks nothing (no fallback)");
  });

  test("projector: the model's own folder first, then the closest quantisation", () => {
    const list = files(["q/m-Q8_0.gguf", "mmproj-F16.gguf", "q/mmproj-F16.gguf", "q/mmproj-Q8_0.gguf", "other/mmproj-Q8_0.gguf"]);
    assert.equal(pickProjector(list, "q/m-Q8_0.gguf")?.repoPath, "q/mmproj-Q8_0.gguf");
    assert.equal(pickProjector(files(["m-Q4_K_M.gguf", "mmproj-F16.gguf", "sub/mmproj-Q4_0.gguf"]), "m-Q4_K_M.gguf")?.repoPath, "mmproj-F16.gguf", "never from a folder below the model's");
  });
});

describe("resolving against the cache", () => {
  test("a split model resolves to its first shard with every shard in order, and the projector beside it", () => {
    const repo = "bob/big-GGUF";
    const root = hub(repo, ["big-Q4_K_M-00002-of-00002.gguf", "big-Q4_K_M-00001-of-00002.gguf", "big-Q8_0.gguf", "mmproj-big-f16.gguf"]);
    const r = resolveCachedModel(parseHfRef(repo), root);
    assert.equal(r.path, snap(root, repo, "big-Q4_K_M-00001-of-00002.gguf"));
    assert.deepEqual(r.shards, [snap(root, repo, "big-Q4_K_M-00001-of-00002.gguf"), snap(root, repo, "big-Q4_K_M-00002-of-00002.gguf")]);
    assert.equal(r.mmproj, snap(root, repo, "mmproj-big-f16.gguf"));
    assert.equal(resolveCachedModel(parseHfRef(`${repo}:Q8_0`), root).path, snap(root, repo, "big-Q8_0.gguf"));
    assert.equal(resolveCachedModel(parseHfRef(repo), root, { mmproj: false }).mmproj, undefined);
  });

  test("--hf-file names an exact file, in a subfolder too; a snapshot under another ref than main is found", () => {
    const repo = "ggml-org/models";
    const root = hub(repo, ["tinyllamas/stories260K.gguf", "bert/ggml-model-f16.gguf"], "v1.0");
    assert.equal(resolveCachedModel(parseHfRef(repo, "bert/ggml-model-f16.gguf"), root).path, snap(root, repo, "bert/ggml-model-f16.gguf"));
  });

  test("what is not cached is one clear error naming the repo, what exists, and how to download it", () => {
    const root = hub("bob/m-GGUF", ["m-Q4_K_M.gguf", "m-big-Q8_0-00001-of-00002.gguf"]);
    const fails = (spec: string, file: string | undefined, re: RegExp) =>
      assert.throws(() => resolveCachedModel(parseHfRef(spec, file), root), (e: unknown) => e instanceof HfResolveError && re.test(e.message), spec);
    fails("alice/none", undefined, /'alice\/none' is not in the cache .*corral pull alice\/none/);
    fails("bob/m-GGUF:Q2_K", undefined, /no GGUF file with quant 'Q2_K' \(cached GGUF files: m-Q4_K_M\.gguf, m-big-Q8_0-00001-of-00002\.gguf\)/);
    fails("bob/m-GGUF", "nope.gguf", /file 'nope\.gguf' is not in the cached repo 'bob\/m-GGUF'/);
    fails("bob/m-GGUF:Q8_0", undefined, /holds 1 of the 2 shards/);
  });
});
