import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import {
  binaryVersion,
  builtBinaries,
  bundledSourceCommit,
  bundlePath,
  findLlamaServer,
  listLlamaServers,
  versionLine,
} from "../../../src/engines/llama-server/find.js";
import { parseProgress } from "../../../src/engines/llama-server/build.js";
import { StartupError } from "../../../src/util/startup-error.js";
import { FAKE_COMMIT, fakeBuild, fakeBundle, fakeServer, tempDir } from "../../helpers/fake-llama-server.js";

/** One of each source, each binary printing which one it is. */
function allSources() {
  const root = tempDir();
  const xdg = path.join(root, "xdg");
  const pathDir = path.join(root, "pathbin");
  const env: NodeJS.ProcessEnv = {
    XDG_CACHE_HOME: xdg,
    CORRAL_LLAMA_BUNDLE: fakeBundle(root),
    PATH: [path.join(root, "empty"), pathDir].join(path.delimiter),
    LLAMA_SERVER_BIN: fakeServer(path.join(root, "envbin", "llama-server"), "2 env"),
  };
  return {
    root,
    env,
    explicit: fakeServer(path.join(root, "flagbin", "llama-server"), "1 flag"),
    built: fakeBuild(xdg, "cpu"),
    onPath: fakeServer(path.join(pathDir, "llama-server"), "4 path"),
  };
}

describe("finding llama-server", () => {
  test("explicit path > LLAMA_SERVER_BIN > corral's build > PATH", () => {
    const s = allSources();
    assert.deepEqual(findLlamaServer({ explicit: s.explicit, env: s.env }), { path: s.explicit, source: "flag" });
    assert.deepEqual(findLlamaServer({ env: s.env }), { path: s.env["LLAMA_SERVER_BIN"], source: "env" });
    const noEnv = { ...s.env, LLAMA_SERVER_BIN: "" };
    assert.deepEqual(findLlamaServer({ env: noEnv }), { path: s.built, source: "built" });
    const noBuild = { ...noEnv, XDG_CACHE_HOME: path.join(s.root, "no-cache") };
    assert.deepEqual(findLlamaServer({ env: noBuild }), { path: s.onPath, source: "path" });
    assert.equal(findLlamaServer({ env: { ...noBuild, PATH: path.join(s.root, "empty") } }), undefined);
  });

  test("listLlamaServers lists every source in that order", () => {
    const s = allSources();
    const list = listLlamaServers({ explicit: s.explicit, env: s.env });
    assert.deepEqual(list.map((f) => f.source), ["flag", "env", "built", "path"]);
    assert.deepEqual(list.map((f) => f.path), [s.explicit, s.env["LLAMA_SERVER_BIN"], s.built, s.onPath]);
  });

  test("an explicit path or LLAMA_SERVER_BIN that cannot run is a start-up error naming it", () => {
    const s = allSources();
    const missing = path.join(s.root, "nope", "llama-server");
    assert.throws(
      () => findLlamaServer({ explicit: missing, env: s.env }),
      (err: unknown) => err instanceof StartupError && err.message.includes(missing) && err.message.includes("--llama-server") && /does not exist/.test(err.message),
    );
    assert.throws(() => findLlamaServer({ explicit: missing, explicitFrom: "preset key llama-server", env: s.env }), /from preset key llama-server/);
    const notExec = path.join(s.root, "plain-file");
    writeFileSync(notExec, "");
    assert.throws(
      () => findLlamaServer({ env: { ...s.env, LLAMA_SERVER_BIN: notExec } }),
      (err: unknown) => err instanceof StartupError && /'.*plain-file' \(from LLAMA_SERVER_BIN\) is not executable/.test(err.message),
    );
    assert.throws(() => findLlamaServer({ explicit: s.root, env: s.env }), /is not a file/);
    // listing is for diagnosis: it skips what it cannot run instead of failing
    assert.deepEqual(listLlamaServers({ explicit: missing, env: { ...s.env, LLAMA_SERVER_BIN: notExec } }).map((f) => f.source), ["built", "path"]);
  });

  test("builds: the bundled commit first, then cuda > vulkan > metal > cpu, then the newest", () => {
    const root = tempDir();
    const xdg = path.join(root, "xdg");
    const env = { XDG_CACHE_HOME: xdg, CORRAL_LLAMA_BUNDLE: fakeBundle(root) };
    const other = "fedcba9876543210fedcba9876543210fedcba98";
    fakeBuild(xdg, "cpu");
    fakeBuild(xdg, "vulkan");
    fakeBuild(xdg, "metal");
    fakeBuild(xdg, "cuda", { commit: other, builtAt: "2027-01-01T00:00:00.000Z" });
    fakeBuild(xdg, "cpu", { commit: other, builtAt: "2027-01-01T00:00:00.000Z" });
    fakeBuild(xdg, "vulkan", { commit: other, builtAt: "2025-01-01T00:00:00.000Z" });
    fakeBuild(xdg, "cpu", { commit: "2222222222222222222222222222222222222222", builtAt: "2024-01-01T00:00:00.000Z" });
    fakeBuild(xdg, "cuda", { stamp: false }); // interrupted: binary linked, never stamped
    fakeBuild(xdg, "cuda", { commit: "1111111111111111111111111111111111111111", binary: false }); // stamp without binary
    const order = builtBinaries(env).map((b) => `${b.commit.slice(0, 4)}-${b.backend}`);
    assert.deepEqual(order, ["0123-vulkan", "0123-metal", "0123-cpu", "fedc-cuda", "fedc-vulkan", "fedc-cpu", "2222-cpu"]);
    assert.equal(findLlamaServer({ env: { ...env, PATH: "" } })?.path, builtBinaries(env)[0]!.binary);
    const first = builtBinaries(env)[0]!;
    assert.equal(first.dir, path.join(xdg, "corral", "llama-server", `${FAKE_COMMIT.slice(0, 12)}-vulkan`));
  });

  test("the bundled source commit is read from the bundle's header", () => {
    assert.match(bundlePath({}), /node-llama-cpp[/\\]llama[/\\]gitRelease\.bundle$/);
    assert.match(bundledSourceCommit(bundlePath({})) ?? "", /^[0-9a-f]{40}$/);
    const dir = tempDir();
    assert.equal(bundledSourceCommit(fakeBundle(dir)), FAKE_COMMIT);
    const v3 = path.join(dir, "v3.bundle");
    writeFileSync(v3, `# v3 git bundle\n@object-format=sha1\n-${"a".repeat(40)} prerequisite\n${"b".repeat(40)} refs/heads/x\n${"c".repeat(40)} HEAD\n\nPACK`);
    assert.equal(bundledSourceCommit(v3), "c".repeat(40));
    const junk = path.join(dir, "junk.bundle");
    writeFileSync(junk, "not a bundle\n");
    assert.equal(bundledSourceCommit(junk), undefined);
    assert.equal(bundledSourceCommit(path.join(dir, "missing.bundle")), undefined);
    assert.equal(bundlePath({ CORRAL_LLAMA_BUNDLE: junk }), junk);
  });

  test("--version output is read from stdout and stderr; the version line is picked out", async () => {
    const bin = fakeServer(path.join(tempDir(), "llama-server"), "7 (abcdef)");
    const out = await binaryVersion(bin);
    assert.match(out, /^load_backend: loaded CPU backend\nversion: 7 \(abcdef\)\nbuilt with fake$/);
    assert.equal(versionLine(out), "version: 7 (abcdef)");
    assert.equal(versionLine("only line\n"), "only line");
    await assert.rejects(binaryVersion(path.join(tempDir(), "missing")));
  });

  test("cmake progress lines", () => {
    assert.deepEqual(parseProgress("[ 35%] Building CXX object src/CMakeFiles/llama.dir/models/eagle3.cpp.o"), { percent: 35, what: "llama (models/eagle3.cpp)" });
    assert.deepEqual(parseProgress("[100%] Linking CXX executable ../../bin/llama-server"), { percent: 100, what: "linking llama-server" });
    assert.deepEqual(parseProgress("[  2%] Built target vendor-hash"), { percent: 2, what: "built vendor-hash" });
    assert.deepEqual(parseProgress("[50/200] Building C object ggml/src/CMakeFiles/ggml-base.dir/ggml.c.o"), { percent: 25, what: "ggml-base (ggml.c)" });
    assert.equal(parseProgress("-- Configuring done"), undefined);
  });
});
