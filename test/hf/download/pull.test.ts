import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, utimesSync, writeFileSync } from "node:fs";
import lockfile from "proper-lockfile";
import path from "node:path";
import { parseHfRef, resolveCachedModel } from "../../../src/hf/cache.js";
import { HubError, hubConn, listFiles, resolveCommit } from "../../../src/hf/download/hub-api.js";
import { listCached, pull, removeCached, type PullProgress } from "../../../src/hf/download/pull.js";
import { fakeGguf, gitOid, sha256, startFakeHub, type FakeHub, type FakeHubRepo } from "../../fixtures/fake-hub.js";
import { emptyDir } from "../../helpers/router.js";

const SPLIT = "org/split-GGUF";
const SPLIT_FILES = {
  shard1: "Model-Q4_K_M-00001-of-00002.gguf",
  shard2: "Model-Q4_K_M-00002-of-00002.gguf",
  q8: "Model-Q8_0.gguf",
  mmproj: "mmproj-Model-F16.gguf",
};
const bytes = (name: string, size = 96 * 1024) => fakeGguf(name, size);

const repos = (): FakeHubRepo[] => [
  {
    id: SPLIT,
    files: [
      ...Object.values(SPLIT_FILES).map((p) => ({ path: p, content: bytes(p) })),
      { path: "README.md", content: "# a model\n" },
      { path: ".gitattributes", content: "*.gguf filter=lfs\n" },
    ],
  },
  { id: "org/nested-GGUF", files: [{ path: "Q4_K_M/Nested-Q4_K_M.gguf", content: bytes("nested") }, { path: "Nested-F16.gguf", content: bytes("nf16") }] },
  { id: "org/big-GGUF", files: [{ path: "Big-Q4_K_M.gguf", content: bytes("big", 600 * 1024) }] },
  { id: "org/gated-GGUF", token: "hf_secret", files: [{ path: "Gated-Q8_0.gguf", content: bytes("gated") }] },
];

const freshCache = () => emptyDir("corral-pull-");
const repoDir = (cache: string, repo: string) => path.join(cache, `models--${repo.replace("/", "--")}`);
/** Nothing from the environment: no real token, no real endpoint. */
const noEnv: NodeJS.ProcessEnv = {};

let hub: FakeHub;
before(async () => {
  hub = await startFakeHub(repos());
});
after(() => hub.close());

const opts = (cacheDir: string, extra: Parameters<typeof pull>[1] = {}) => ({ cacheDir, endpoint: hub.url, env: noEnv, retryDelayMs: 10, ...extra });

describe("the hub API", () => {
  test("HF_ENDPOINT and HF_TOKEN are read from the environment; explicit options win", () => {
    assert.deepEqual(hubConn({ env: {} }), { endpoint: "https://huggingface.co" });
    assert.deepEqual(hubConn({ env: { HF_ENDPOINT: "http://mirror/", HF_TOKEN: "t1" } }), { endpoint: "http://mirror", token: "t1" });
    assert.deepEqual(hubConn({ env: { HF_TOKEN: "t1" }, token: "t2", endpoint: "http://x" }), { endpoint: "http://x", token: "t2" });
  });

  test("a revision resolves to its commit, and the tree lists LFS files by sha256 and the others by git oid", async () => {
    const commit = await resolveCommit(SPLIT, "main", { endpoint: hub.url, env: noEnv });
    assert.equal(commit, hub.commitOf(SPLIT));
    const files = await listFiles(SPLIT, commit, { endpoint: hub.url, env: noEnv });
    const shard = files.find((f) => f.path === SPLIT_FILES.shard1)!;
    assert.deepEqual(shard, { path: SPLIT_FILES.shard1, size: 96 * 1024, blob: hub.sha256Of(SPLIT, SPLIT_FILES.shard1), sha256: hub.sha256Of(SPLIT, SPLIT_FILES.shard1) });
    const readme = files.find((f) => f.path === "README.md")!;
    assert.deepEqual(readme, { path: "README.md", size: 10, blob: gitOid(Buffer.from("# a model\n")) });
  });

  test("an unknown repo is not-found; a network failure says it cannot reach the hub", async () => {
    await assert.rejects(resolveCommit("org/nope", "main", { endpoint: hub.url, env: noEnv }), (e: unknown) => e instanceof HubError && e.kind === "not-found" && /org\/nope/.test(e.message));
    await assert.rejects(resolveCommit(SPLIT, "main", { endpoint: "http://127.0.0.1:1", env: noEnv }), (e: unknown) => e instanceof HubError && e.kind === "network" && /cannot reach/.test(e.message));
  });
});

describe("pull", () => {
  test("a split model with its projector lands in huggingface_hub's layout, and -hf then resolves it from the cache", async () => {
    const cache = freshCache();
    const events: PullProgress[] = [];
    const r = await pull(`${SPLIT}:q4_k_m`, opts(cache, { onProgress: (p) => events.push(p) }));
    const dir = repoDir(cache, SPLIT);
    const commit = hub.commitOf(SPLIT);
    assert.equal(r.id, `${SPLIT}:Q4_K_M`);
    assert.equal(r.commit, commit);
    assert.equal(r.alreadyCached, false);
    const snap = (p: string) => path.join(dir, "snapshots", commit, p);
    assert.deepEqual(r.files, [snap(SPLIT_FILES.shard1), snap(SPLIT_FILES.shard2), snap(SPLIT_FILES.mmproj)]);
    assert.equal(r.model, snap(SPLIT_FILES.shard1));
    assert.equal(r.mmproj, snap(SPLIT_FILES.mmproj));
    // blobs named by sha256, nothing else (no .incomplete, no Q8_0, no README)
    const wanted = [SPLIT_FILES.shard1, SPLIT_FILES.shard2, SPLIT_FILES.mmproj];
    assert.deepEqual(readdirSync(path.join(dir, "blobs")).sort(), wanted.map((p) => hub.sha256Of(SPLIT, p)).sort());
    for (const p of wanted) {
      assert.ok(lstatSync(snap(p)).isSymbolicLink(), `${p} is a symlink`);
      assert.equal(readlinkSync(snap(p)), `../../blobs/${hub.sha256Of(SPLIT, p)}`);
      assert.deepEqual(readFileSync(snap(p)), bytes(p));
    }
    assert.equal(readFileSync(path.join(dir, "refs", "main"), "utf8"), commit);
    const resolved = resolveCachedModel(parseHfRef(`${SPLIT}:Q4_K_M`), cache);
    assert.equal(resolved.path, r.model);
    assert.deepEqual(resolved.shards, [snap(SPLIT_FILES.shard1), snap(SPLIT_FILES.shard2)]);
    assert.equal(resolved.mmproj, r.mmproj);
    // progress: per file, monotonic, ending at the file's size
    for (const [i, p] of wanted.entries()) {
      const mine = events.filter((e) => e.file === p);
      assert.ok(mine.length > 0, `progress for ${p}`);
      assert.ok(mine.every((e, k) => e.index === i && e.count === 3 && e.total === 96 * 1024 && (k === 0 || e.done >= mine[k - 1]!.done)));
      assert.equal(mine[mine.length - 1]!.done, 96 * 1024);
    }
    // a second pull finds everything in place and downloads nothing
    const before = hub.downloads(SPLIT_FILES.shard1);
    const again = await pull(`${SPLIT}:Q4_K_M`, opts(cache));
    assert.equal(again.alreadyCached, true);
    assert.deepEqual(again.files, r.files);
    assert.equal(hub.downloads(SPLIT_FILES.shard1), before);
  });

  test("without a tag Q4_K_M is chosen; a file in a folder gets one more ../ in its link", async () => {
    const cache = freshCache();
    const r = await pull("org/nested-GGUF", opts(cache));
    assert.equal(r.id, "org/nested-GGUF:Q4_K_M");
    const link = path.join(repoDir(cache, "org/nested-GGUF"), "snapshots", hub.commitOf("org/nested-GGUF"), "Q4_K_M", "Nested-Q4_K_M.gguf");
    assert.equal(r.model, link);
    assert.equal(readlinkSync(link), `../../../blobs/${hub.sha256Of("org/nested-GGUF", "Q4_K_M/Nested-Q4_K_M.gguf")}`);
    assert.equal(resolveCachedModel(parseHfRef("org/nested-GGUF"), cache).path, link);
  });

  test("a cut transfer resumes with Range in the same pull, and the result verifies", async () => {
    const cache = freshCache();
    const file = "Big-Q4_K_M.gguf";
    const n0 = hub.requests.length;
    hub.knobs.cutAfter = 200_000;
    const r = await pull("org/big-GGUF", opts(cache));
    const gets = hub.requests.slice(n0).filter((q) => q.path.endsWith(file));
    assert.equal(gets.length, 2, "one cut request, one resumed");
    assert.equal(gets[0]!.range, undefined);
    const from = Number(/^bytes=(\d+)-$/.exec(gets[1]!.range ?? "")?.[1]);
    assert.ok(from > 0 && from <= 200_000, `resumed from ${gets[1]!.range}`);
    assert.deepEqual(readFileSync(r.model), bytes("big", 600 * 1024));
    assert.ok(!existsSync(path.join(repoDir(cache, "org/big-GGUF"), "blobs", `${hub.sha256Of("org/big-GGUF", file)}.incomplete`)));
  });

  test("an .incomplete left by an earlier run is resumed (its prefix is hashed from disk)", async () => {
    const cache = freshCache();
    const file = "Big-Q4_K_M.gguf";
    const full = bytes("big", 600 * 1024);
    const blobs = path.join(repoDir(cache, "org/big-GGUF"), "blobs");
    mkdirSync(blobs, { recursive: true });
    writeFileSync(path.join(blobs, `${sha256(full)}.incomplete`), full.subarray(0, 250_000));
    const n0 = hub.requests.length;
    const r = await pull("org/big-GGUF", opts(cache));
    const gets = hub.requests.slice(n0).filter((q) => q.path.endsWith(file));
    assert.deepEqual(gets.map((g) => g.range), ["bytes=250000-"]);
    assert.deepEqual(readFileSync(r.model), full);
  });

  test("wrong bytes: the pull fails verification, deletes the download, and leaves nothing for discovery", async () => {
    const cache = freshCache();
    hub.knobs.wrongBytes = ["Big-Q4_K_M.gguf"];
    try {
      await assert.rejects(pull("org/big-GGUF", opts(cache)), (e: unknown) => e instanceof HubError && e.kind === "verify" && /failed verification.*deleted/.test(e.message));
    } finally {
      delete hub.knobs.wrongBytes;
    }
    const dir = repoDir(cache, "org/big-GGUF");
    assert.deepEqual(readdirSync(path.join(dir, "blobs")), [], "no blob, no .incomplete");
    assert.ok(!existsSync(path.join(dir, "snapshots")), "nothing in snapshots/");
    assert.ok(!existsSync(path.join(dir, "refs", "main")));
    assert.deepEqual(listCached({ cacheDir: cache }), []);
  });

  test("a gated repo: 401 without a token and 403 with a wrong one, both saying what to do; HF_TOKEN opens it", async () => {
    const cache = freshCache();
    await assert.rejects(pull("org/gated-GGUF", opts(cache)), (e: unknown) => e instanceof HubError && e.kind === "auth" && e.status === 401 && /set HF_TOKEN/.test(e.message));
    await assert.rejects(pull("org/gated-GGUF", opts(cache, { token: "wrong" })), (e: unknown) => e instanceof HubError && e.kind === "auth" && e.status === 403 && /refused/.test(e.message));
    const n0 = hub.requests.length;
    const r = await pull("org/gated-GGUF", opts(cache, { env: { HF_TOKEN: "hf_secret" } }));
    assert.equal(r.id, "org/gated-GGUF:Q8_0");
    assert.ok(hub.requests.slice(n0).every((q) => q.auth === "Bearer hf_secret"));
  });

  test("an unknown quant lists the quants the repo has (projectors are not quants); an unknown repo is not-found", async () => {
    const cache = freshCache();
    await assert.rejects(pull(`${SPLIT}:Q5_K_S`, opts(cache)), (e: unknown) => e instanceof HubError && e.kind === "not-found" && /no GGUF file with quant 'Q5_K_S'; it has: Q4_K_M, Q8_0$/.test(e.message));
    await assert.rejects(pull("org/missing-GGUF:Q4_K_M", opts(cache)), (e: unknown) => e instanceof HubError && e.kind === "not-found");
    assert.deepEqual(readdirSync(cache), [], "a failed choice writes nothing");
  });

  test("two concurrent pulls of one model share one transfer per file", async () => {
    const cache = freshCache();
    const before = hub.downloads("Big-Q4_K_M.gguf");
    hub.knobs.bytesPerSecond = 2_000_000;
    const seen = [0, 0];
    try {
      const [a, b] = await Promise.all([
        pull("org/big-GGUF:Q4_K_M", opts(cache, { onProgress: () => seen[0]!++ })),
        pull("org/big-GGUF", opts(cache, { onProgress: () => seen[1]!++ })),
      ]);
      assert.equal(a.model, b.model);
      assert.deepEqual(readFileSync(a.model), bytes("big", 600 * 1024));
    } finally {
      delete hub.knobs.bytesPerSecond;
    }
    assert.equal(hub.downloads("Big-Q4_K_M.gguf") - before, 1, "one transfer");
    assert.ok(seen[0]! > 0 && seen[1]! > 0, "both see progress");
  });

  test("a split model's files move in parallel, and the pull's progress adds them up", async () => {
    const cache = freshCache();
    hub.knobs.bytesPerSecond = 400_000;
    const state = new Map<string, { done: number; total: number }>();
    let overlap = false;
    let last: PullProgress["all"] | undefined;
    try {
      await pull(`${SPLIT}:Q4_K_M`, opts(cache, {
        mmproj: false,
        onProgress: (p) => {
          state.set(p.file, { done: p.done, total: p.total });
          const moving = [...state.values()].filter((f) => f.done > 0 && f.done < f.total);
          if (moving.length >= 2) overlap = true;
          last = p.all;
        },
      }));
    } finally {
      delete hub.knobs.bytesPerSecond;
    }
    assert.ok(overlap, "both shards were in flight at once");
    assert.equal(last!.total, 2 * 96 * 1024);
    assert.equal(last!.done, last!.total);
  });

  test("a cancelled pull stops at once, keeps its .incomplete, and the next pull resumes it", async () => {
    const cache = freshCache();
    hub.knobs.bytesPerSecond = 200_000;
    const stop = new AbortController();
    const t0 = Date.now();
    try {
      await assert.rejects(
        pull("org/big-GGUF", opts(cache, { signal: stop.signal, onProgress: (p) => p.done > 0 && stop.abort() })),
        (e: unknown) => e instanceof HubError && e.kind === "cancelled" && /cancelled/.test(e.message),
      );
    } finally {
      delete hub.knobs.bytesPerSecond;
    }
    assert.ok(Date.now() - t0 < 2500, "it did not run to the end of the 3 s transfer");
    const blobs = path.join(repoDir(cache, "org/big-GGUF"), "blobs");
    const partial = readdirSync(blobs).filter((f) => f.endsWith(".incomplete"));
    assert.equal(partial.length, 1, readdirSync(blobs).join(" "));
    assert.ok(!existsSync(path.join(repoDir(cache, "org/big-GGUF"), "snapshots")) || listCached({ cacheDir: cache }).length === 0, "nothing placed");
    const n0 = hub.requests.length;
    const r = await pull("org/big-GGUF", opts(cache));
    assert.deepEqual(readFileSync(r.model), bytes("big", 600 * 1024));
    assert.ok(hub.requests.slice(n0).some((q) => q.range?.startsWith("bytes=") && q.range !== "bytes=0-"), "resumed with Range");
  });

  test("a cancelled pull does not stop another pull waiting on the same transfer", async () => {
    const cache = freshCache();
    hub.knobs.bytesPerSecond = 1_500_000;
    const stop = new AbortController();
    try {
      const a = pull("org/big-GGUF", opts(cache, { signal: stop.signal, onProgress: (p) => p.done > 0 && stop.abort() }));
      const b = pull("org/big-GGUF", opts(cache));
      await assert.rejects(a, (e: unknown) => e instanceof HubError && e.kind === "cancelled");
      assert.deepEqual(readFileSync((await b).model), bytes("big", 600 * 1024));
    } finally {
      delete hub.knobs.bytesPerSecond;
    }
  });

  test("a file another process is downloading (its lock held) is waited for, not fetched twice; a stale lock is taken over", async () => {
    const cache = freshCache();
    const sha = hub.sha256Of("org/nested-GGUF", "Nested-F16.gguf");
    const lockDir = path.join(cache, ".locks", "models--org--nested-GGUF");
    mkdirSync(lockDir, { recursive: true });
    const release = await lockfile.lock(path.join(lockDir, sha), { realpath: false, lockfilePath: path.join(lockDir, `${sha}.lock`) });
    const before = hub.downloads("Nested-F16.gguf");
    const pulling = pull("org/nested-GGUF:F16", opts(cache));
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(hub.downloads("Nested-F16.gguf"), before, "no transfer while another process holds the lock");
    // the "other process" finishes: the verified blob is in place, then the lock goes
    mkdirSync(path.join(repoDir(cache, "org/nested-GGUF"), "blobs"), { recursive: true });
    writeFileSync(path.join(repoDir(cache, "org/nested-GGUF"), "blobs", sha), bytes("nf16"));
    await release();
    const r = await pulling;
    assert.equal(r.alreadyCached, true);
    assert.equal(hub.downloads("Nested-F16.gguf"), before, "the file was never fetched");
    assert.deepEqual(readFileSync(r.model), bytes("nf16"));

    // a lock left by a killed process (no longer refreshed) goes stale and does not block
    const cache2 = freshCache();
    const lockDir2 = path.join(cache2, ".locks", "models--org--nested-GGUF");
    mkdirSync(path.join(lockDir2, `${sha}.lock`), { recursive: true });
    const old = new Date(Date.now() - 60_000);
    utimesSync(path.join(lockDir2, `${sha}.lock`), old, old);
    const r2 = await pull("org/nested-GGUF:F16", opts(cache2));
    assert.deepEqual(readFileSync(r2.model), bytes("nf16"));
    assert.ok(!existsSync(path.join(lockDir2, `${sha}.lock`)), "the lock is released");
  });

  test("a pull that moves refs/main to a new commit keeps the quants the new commit still has; changed ones stay behind", async () => {
    const repo = "org/moving-GGUF";
    const files = [
      { path: "M-Q4_K_M.gguf", content: bytes("m-q4") },
      { path: "M-Q8_0.gguf", content: bytes("m-q8") },
      { path: "M-F16.gguf", content: bytes("m-f16") },
    ];
    const moving = await startFakeHub([{ id: repo, files }]);
    try {
      const cache = freshCache();
      const o = { cacheDir: cache, endpoint: moving.url, env: noEnv };
      await pull(`${repo}:Q4_K_M`, o);
      await pull(`${repo}:F16`, o);
      // upstream: Q4_K_M unchanged, F16 re-quantised (new bytes), Q8_0 as before
      const c2 = moving.publish(repo, [files[0]!, files[1]!, { path: "M-F16.gguf", content: bytes("m-f16-v2") }]);
      await pull(`${repo}:Q8_0`, o);
      assert.equal(readFileSync(path.join(repoDir(cache, repo), "refs", "main"), "utf8"), c2);
      const ids = listCached({ cacheDir: cache }).map((m) => m.id);
      assert.deepEqual(ids, [`${repo}:Q4_K_M`, `${repo}:Q8_0`], "Q4_K_M carried over; the changed F16 is not served from the old commit");
      const q4 = path.join(repoDir(cache, repo), "snapshots", c2, "M-Q4_K_M.gguf");
      assert.ok(lstatSync(q4).isSymbolicLink());
      assert.deepEqual(readFileSync(q4), bytes("m-q4"));
    } finally {
      await moving.close();
    }
  });

  test("the hub's redirect to its CDN is followed", async () => {
    const cache = freshCache();
    hub.knobs.redirect = true;
    const n0 = hub.requests.length;
    try {
      const r = await pull("org/nested-GGUF:F16", opts(cache));
      assert.deepEqual(readFileSync(r.model), bytes("nf16"));
    } finally {
      delete hub.knobs.redirect;
    }
    const paths = hub.requests.slice(n0).map((q) => q.path);
    assert.ok(paths.some((p) => p.startsWith("/org/nested-GGUF/resolve/")) && paths.some((p) => p.startsWith("/cdn/")), paths.join(" "));
  });

  test("without a network, a cached model is still pulled (offline), and an uncached one fails as a network error", async () => {
    const cache = freshCache();
    await pull("org/nested-GGUF", opts(cache));
    const r = await pull("org/nested-GGUF", opts(cache, { endpoint: "http://127.0.0.1:1" }));
    assert.equal(r.offline, true);
    assert.equal(r.alreadyCached, true);
    await assert.rejects(pull("org/big-GGUF", opts(cache, { endpoint: "http://127.0.0.1:1" })), (e: unknown) => e instanceof HubError && e.kind === "network");
  });
});

describe("ls and rm", () => {
  test("ls names models as the router does; rm removes one quant's files and blobs, then the whole repo", async () => {
    const cache = freshCache();
    await pull(`${SPLIT}:Q4_K_M`, opts(cache));
    await pull(`${SPLIT}:Q8_0`, opts(cache));
    const listed = listCached({ cacheDir: cache });
    assert.deepEqual(
      listed.map((m) => [m.id, m.file, m.shards, m.size, m.mmproj]),
      [
        [`${SPLIT}:Q4_K_M`, SPLIT_FILES.shard1, 2, 2 * 96 * 1024, SPLIT_FILES.mmproj],
        [`${SPLIT}:Q8_0`, SPLIT_FILES.q8, 1, 96 * 1024, SPLIT_FILES.mmproj],
      ],
    );
    const dir = repoDir(cache, SPLIT);
    const r1 = removeCached(`${SPLIT}:q4_k_m`, { cacheDir: cache });
    assert.deepEqual(r1, { repo: SPLIT, removed: [SPLIT_FILES.shard1, SPLIT_FILES.shard2], freedBytes: 2 * 96 * 1024, repoRemoved: false });
    // the projector stays: the Q8_0 model still uses it
    assert.deepEqual(readdirSync(path.join(dir, "blobs")).sort(), [hub.sha256Of(SPLIT, SPLIT_FILES.q8), hub.sha256Of(SPLIT, SPLIT_FILES.mmproj)].sort());
    assert.deepEqual(listCached({ cacheDir: cache }).map((m) => m.id), [`${SPLIT}:Q8_0`]);
    assert.throws(() => removeCached(`${SPLIT}:Q4_K_M`, { cacheDir: cache }), (e: unknown) => e instanceof HubError && e.kind === "not-found");
    const r2 = removeCached(`${SPLIT}:Q8_0`, { cacheDir: cache });
    assert.deepEqual(r2.removed, [SPLIT_FILES.q8, SPLIT_FILES.mmproj]);
    assert.equal(r2.repoRemoved, true);
    assert.ok(!existsSync(dir));
  });

  test("rm keeps a blob another snapshot still links", async () => {
    const cache = freshCache();
    const r = await pull("org/nested-GGUF:F16", opts(cache));
    const dir = repoDir(cache, "org/nested-GGUF");
    // an older snapshot holding the same bytes, as after the repo gained a commit that did not touch this file
    const old = path.join(dir, "snapshots", "b".repeat(40));
    mkdirSync(old, { recursive: true });
    const blob = hub.sha256Of("org/nested-GGUF", "Nested-F16.gguf");
    const { symlinkSync } = await import("node:fs");
    symlinkSync(`../../blobs/${blob}`, path.join(old, "Nested-F16.gguf"));
    const res = removeCached("org/nested-GGUF:F16", { cacheDir: cache });
    assert.equal(res.freedBytes, 0);
    assert.equal(res.repoRemoved, false);
    assert.ok(existsSync(path.join(dir, "blobs", blob)));
    assert.ok(!existsSync(r.model));
  });
});
