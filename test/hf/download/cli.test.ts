// `corral pull|ls|rm` end to end: a real bin/corral process against the fake hub, checked by exit code and output.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { runCorral } from "../../helpers/server.js";
import { fakeGguf, startFakeHub, type FakeHub } from "../../fixtures/fake-hub.js";
import { emptyDir } from "../../helpers/router.js";

let hub: FakeHub;
before(async () => {
  hub = await startFakeHub([
    {
      id: "org/tiny-GGUF",
      files: [
        { path: "Tiny-Q4_K_M.gguf", content: fakeGguf("q4", 64 * 1024) },
        { path: "Tiny-Q8_0.gguf", content: fakeGguf("q8", 64 * 1024) },
        { path: "mmproj-Tiny-F16.gguf", content: fakeGguf("mm", 16 * 1024) },
      ],
    },
    { id: "org/gated-GGUF", token: "hf_secret", files: [{ path: "Gated-Q4_K_M.gguf", content: fakeGguf("g", 16 * 1024) }] },
    { id: "org/bad-GGUF", files: [{ path: "Bad-Q4_K_M.gguf", content: fakeGguf("b", 16 * 1024) }] },
  ]);
  hub.knobs.wrongBytes = ["Bad-Q4_K_M.gguf"];
});
after(() => hub.close());

describe("corral pull, ls, rm", () => {
  const cache = emptyDir("corral-pull-cli-");
  // LLAMA_CACHE comes first in the cache precedence, so the user's own cache is never touched
  const env = (extra: NodeJS.ProcessEnv = {}) => ({ env: { HF_ENDPOINT: hub.url, LLAMA_CACHE: cache, HF_TOKEN: "", HUGGING_FACE_HUB_TOKEN: "", ...extra } });

  test("pull downloads (plain progress lines off a terminal), then says it is already cached; both exit 0", async () => {
    const r = await runCorral(["pull", "org/tiny-GGUF:q8_0"], env());
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^org\/tiny-GGUF:Q8_0: downloaded 2 of 2 files/);
    assert.match(r.stdout, /model: {2}.*models--org--tiny-GGUF\/snapshots\/[0-9a-f]{40}\/Tiny-Q8_0\.gguf/);
    assert.match(r.stdout, /mmproj: .*mmproj-Tiny-F16\.gguf/);
    assert.match(r.stderr, /downloading Tiny-Q8_0\.gguf \(65\.5 kB\) \[1\/2\]/);
    assert.doesNotMatch(r.stderr, /\r|\x1b\[/, "no terminal control off a terminal");
    const again = await runCorral(["pull", "org/tiny-GGUF:Q8_0", "--quiet"], env());
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already cached/);
    assert.equal(again.stderr, "");
  });

  test("ls lists the cached models under the router's names; rm removes them (3 when not cached)", async () => {
    const ls = await runCorral(["ls"], env());
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /^NAME +SIZE +FILE\norg\/tiny-GGUF:Q8_0 +65\.5 kB +Tiny-Q8_0\.gguf {2}\(\+ mmproj-Tiny-F16\.gguf\)\n$/);
    const json = await runCorral(["ls", "--json"], env());
    assert.deepEqual((JSON.parse(json.stdout) as { id: string }[]).map((m) => m.id), ["org/tiny-GGUF:Q8_0"]);
    const rm = await runCorral(["rm", "org/tiny-GGUF:Q8_0"], env());
    assert.equal(rm.code, 0, rm.stderr);
    assert.match(rm.stdout, /removed Tiny-Q8_0\.gguf, mmproj-Tiny-F16\.gguf from org\/tiny-GGUF .*nothing of the repo is left/);
    assert.ok(!existsSync(path.join(cache, "models--org--tiny-GGUF")));
    const rm2 = await runCorral(["rm", "org/tiny-GGUF:Q8_0"], env());
    assert.equal(rm2.code, 3);
    assert.match(rm2.stderr, /not in the cache/);
    assert.match((await runCorral(["ls"], env())).stdout, /^no models in /);
  });

  test("exit codes: 3 unknown quant or repo, 4 token needed, 1 verification failed, 2 bad command line", async () => {
    const quant = await runCorral(["pull", "org/tiny-GGUF:Q2_K"], env());
    assert.equal(quant.code, 3);
    assert.match(quant.stderr, /it has: Q4_K_M, Q8_0/);
    assert.equal((await runCorral(["pull", "org/nope-GGUF"], env())).code, 3);
    const gated = await runCorral(["pull", "org/gated-GGUF"], env());
    assert.equal(gated.code, 4);
    assert.match(gated.stderr, /HF_TOKEN/);
    assert.equal((await runCorral(["pull", "org/gated-GGUF", "--hf-token", "hf_secret", "-q"], env())).code, 0);
    const bad = await runCorral(["pull", "org/bad-GGUF"], env());
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /failed verification/);
    for (const argv of [["pull"], ["pull", "not-a-repo"], ["pull", "a/b", "--frobnicate"], ["rm"], ["ls", "extra"]]) {
      const r = await runCorral(argv, env());
      assert.equal(r.code, 2, `${argv.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /usage: corral pull/);
    }
    const help = await runCorral(["pull", "--help"], env());
    assert.equal(help.code, 0);
    assert.match(help.stdout, /exit codes: 0 done/);
  });
});
