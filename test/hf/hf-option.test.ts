// `corral -hf owner/repo[:QUANT]` end to end: a real process serves the file llama-server would pick from the cache.
import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { startFakeHub } from "../fixtures/fake-hub.js";
import { getTestModel } from "../helpers/models.js";
import { runCorral, startServer, type RunningServer } from "../helpers/server.js";
import { emptyDir } from "../helpers/router.js";

async function hubWithTinyModel(names: string[]): Promise<string> {
  const model = await getTestModel("tiny");
  const hub = emptyDir("corral-hf-e2e-");
  const snap = path.join(hub, "models--acme--tiny-GGUF", "snapshots", "c0ffee");
  mkdirSync(path.join(hub, "models--acme--tiny-GGUF", "refs"), { recursive: true });
  writeFileSync(path.join(hub, "models--acme--tiny-GGUF", "refs", "main"), "c0ffee");
  mkdirSync(snap, { recursive: true });
  for (const n of names) symlinkSync(model, path.join(snap, n));
  return hub;
}

describe("-hf in single-model mode", () => {
  let server: RunningServer | undefined;
  after(async () => void (await server?.stop()));

  test("serves the quant the tag names, under the repo's name, and answers a completion", async () => {
    const hub = await hubWithTinyModel(["tiny-Q4_K_M.gguf", "tiny-Q8_0.gguf"]);
    server = await startServer(["-hf", "acme/tiny-GGUF:q8_0", "-c", "256"], { env: { LLAMA_CACHE: hub } });
    assert.match(server.output(), /serving .*tiny-Q8_0\.gguf/);
    const models = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: { id: string }[] };
    assert.equal(models.data[0]!.id, "acme/tiny-GGUF:q8_0");
    const res = await fetch(`${server.url}/completion`, { method: "POST", body: JSON.stringify({ prompt: "hi", n_predict: 2 }) });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { tokens_predicted: number }).tokens_predicted, 2);
  });

  test("not cached: downloaded from the hub first, then served", async () => {
    const model = readFileSync(await getTestModel("tiny"));
    const fake = await startFakeHub([{ id: "acme/fresh-GGUF", files: [{ path: "fresh-Q8_0.gguf", content: model }] }]);
    try {
      const hub = emptyDir("corral-hf-e2e-");
      const fresh = await startServer(["-hf", "acme/fresh-GGUF:Q8_0", "-c", "256"], { env: { LLAMA_CACHE: hub, HF_ENDPOINT: fake.url, HF_TOKEN: "" } });
      try {
        assert.match(fresh.output(), /is not in the Hugging Face cache: downloading it/);
        assert.match(fresh.output(), /serving .*models--acme--fresh-GGUF\/snapshots\/[0-9a-f]{40}\/fresh-Q8_0\.gguf/);
        assert.equal((await fetch(`${fresh.url}/completion`, { method: "POST", body: JSON.stringify({ prompt: "hi", n_predict: 1 }) })).status, 200);
      } finally {
        await fresh.stop();
      }
      const unknown = await runCorral(["-hf", "acme/nope-GGUF", "--port", "0"], { env: { LLAMA_CACHE: hub, HF_ENDPOINT: fake.url, HF_TOKEN: "" } });
      assert.equal(unknown.code, 1);
      assert.equal(unknown.stderr.trim().split("\n").filter((l) => l.startsWith("corral: error")).length, 1, unknown.stderr);
    } finally {
      await fake.close();
    }
  });

  test("with --offline, a repo or file that is not cached stops start-up with one line naming it and how to download it", async () => {
    const hub = await hubWithTinyModel(["tiny-Q4_K_M.gguf"]);
    const missing = await runCorral(["-hf", "acme/absent-GGUF", "--port", "0", "--offline"], { env: { LLAMA_CACHE: hub } });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^corral: error: Hugging Face repo 'acme\/absent-GGUF' is not in the cache .*download it first \(e\.g\. `corral pull acme\/absent-GGUF`/m);
    assert.doesNotMatch(missing.stdout + missing.stderr, /listening/);
    const noFile = await runCorral(["--hf-repo", "acme/tiny-GGUF", "--hf-file", "other.gguf", "--port", "0", "--offline"], { env: { LLAMA_CACHE: hub } });
    assert.equal(noFile.code, 1);
    assert.match(noFile.stderr, /file 'other\.gguf' is not in the cached repo 'acme\/tiny-GGUF' \(cached GGUF files: tiny-Q4_K_M\.gguf\)/);
    const orphan = await runCorral(["--hf-file", "x.gguf"], { env: { LLAMA_CACHE: hub } });
    assert.equal(orphan.code, 2);
    assert.match(orphan.stderr, /--hf-file needs --hf-repo/);
  });
});
