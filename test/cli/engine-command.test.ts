import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { runCorral } from "../helpers/server.js";
import { FAKE_COMMIT, fakeBuild, fakeBundle, tempDir, writeScript } from "../helpers/fake-llama-server.js";

const SHORT = FAKE_COMMIT.slice(0, 12);

/** A temp cache and bundle, and a PATH holding only what the test puts there. */
function sandbox() {
  const root = tempDir();
  const xdg = path.join(root, "xdg");
  const tools = path.join(root, "tools");
  const calls = path.join(root, "calls.log");
  const env: NodeJS.ProcessEnv = {
    XDG_CACHE_HOME: xdg,
    CORRAL_LLAMA_BUNDLE: fakeBundle(root),
    PATH: tools,
    LLAMA_SERVER_BIN: "",
    CUDA_PATH: "",
    VULKAN_SDK: "",
    CC: "",
    CXX: "",
    CMAKE_GENERATOR: "",
    FAKE_CALLS: calls,
  };
  const calledTools = () => (existsSync(calls) ? readFileSync(calls, "utf8").trim().split("\n") : []);
  return { root, xdg, tools, env, calledTools };
}

/**
 * A toolchain that acts out a build in a blink: git "clones" by making the folder, cmake configures by writing a
 * cache and builds by printing progress and writing a llama-server (or failing, with FAKE_CMAKE_FAIL set).
 */
function fakeToolchain(tools: string): void {
  const log = 'PATH=/usr/bin:/bin\necho "$(basename "$0") $*" >> "$FAKE_CALLS"';
  for (const t of ["c++", "cc", "make"]) writeScript(path.join(tools, t), "exit 0");
  writeScript(path.join(tools, "git"), `${log}\nfor a; do last=$a; done\nmkdir -p "$last/.git"`);
  writeScript(
    path.join(tools, "cmake"),
    `${log}
if [ "$1" != "--build" ]; then
  mkdir -p build && touch build/CMakeCache.txt build/Makefile && echo "-- Configuring done"
  exit 0
fi
for p in 0 4 12 25 31 38 47 55 63 71 80 94; do echo "[ $p%] Building CXX object src/CMakeFiles/llama.dir/f$p.cpp.o"; done
if [ -n "$FAKE_CMAKE_FAIL" ]; then
  echo "src/f94.cpp:1:1: error: boom" >&2
  echo "gmake: *** [all] Error 2" >&2
  exit 2
fi
mkdir -p build/bin
printf '#!/bin/sh\\necho "version: 99 (fakebuild)" >&2\\n' > build/bin/llama-server
chmod +x build/bin/llama-server
echo "[100%] Built target llama-server"`,
  );
}

describe("corral engine", () => {
  test("list shows a built binary with its version", async () => {
    const s = sandbox();
    const binary = fakeBuild(s.xdg, "cpu");
    const r = await runCorral(["engine", "list"], { env: s.env });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(binary), r.stdout);
    assert.match(r.stdout, /^\* built +\S+llama-server$/m);
    assert.match(r.stdout, /version: 4242 \(01234567\) cpu +\[llama\.cpp 0123456789ab, cpu, built 2026-09-01/);
    assert.doesNotMatch(r.stdout, /to get one/);
  });

  test("list with nothing found says how to get one", async () => {
    const s = sandbox();
    const r = await runCorral(["engine", "list"], { env: s.env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /no llama-server found/);
    assert.match(r.stdout, new RegExp(`corral engine build +compiles llama\\.cpp ${SHORT}`));
    assert.match(r.stdout, /LLAMA_SERVER_BIN=/);
    assert.match(r.stdout, /llama-server on PATH/);
  });

  test("list reports a LLAMA_SERVER_BIN that cannot run, and an unfinished build", async () => {
    const s = sandbox();
    fakeBuild(s.xdg, "cuda", { stamp: false });
    const bad = path.join(s.root, "missing-llama-server");
    const r = await runCorral(["engine", "list"], { env: { ...s.env, LLAMA_SERVER_BIN: bad } });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(`warning: llama-server binary '${bad}' (from LLAMA_SERVER_BIN) does not exist`), r.stdout);
    assert.match(r.stdout, new RegExp(`unfinished build \\(no build.json\\): \\S+${SHORT}-cuda`));
  });

  test("build of what is already built is a no-op", async () => {
    const s = sandbox();
    const binary = fakeBuild(s.xdg, "cpu");
    const r = await runCorral(["engine", "build"], { env: s.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `llama-server ${SHORT} (cpu) is already built: ${binary}`);
    assert.deepEqual(s.calledTools(), [], "no tool runs");
  });

  test("build clones, configures, builds and stamps; an unstamped build resumes without cloning or configuring", async () => {
    const s = sandbox();
    fakeToolchain(s.tools);
    const r = await runCorral(["engine", "build", "--jobs", "3"], { env: s.env });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const dir = path.join(s.xdg, "corral", "llama-server", `${SHORT}-cpu`);
    const binary = path.join(dir, "build", "bin", "llama-server");
    const configure = "-S src -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_OPENSSL=OFF";
    assert.deepEqual(s.calledTools(), [
      `git -c advice.detachedHead=false clone --quiet ${s.env["CORRAL_LLAMA_BUNDLE"]} ${path.join(dir, "src.partial")}`,
      `cmake ${configure}`,
      "cmake --build build -j 3 --target llama-server",
    ]);
    assert.ok(existsSync(path.join(dir, "src", ".git")));
    const stamp = JSON.parse(readFileSync(path.join(dir, "build.json"), "utf8"));
    assert.deepEqual({ ...stamp, builtAt: undefined }, { commit: FAKE_COMMIT, backend: "cpu", binary, cmakeArgs: configure.split(" "), builtAt: undefined });
    assert.ok(!Number.isNaN(Date.parse(stamp.builtAt)));
    // not a terminal: one line per 10 % step
    const steps = r.stdout.split("\n").filter((l) => /^\[\s*\d+%\]/.test(l)).map((l) => Number(/\d+/.exec(l)![0]));
    assert.deepEqual(steps, [0, 12, 25, 31, 47, 55, 63, 71, 80, 94, 100]);
    assert.ok(r.stdout.includes(`llama-server: ${binary}\nversion: 99 (fakebuild)`), r.stdout);

    rmSync(path.join(dir, "build.json"));
    rmSync(s.env["FAKE_CALLS"]!);
    const resumed = await runCorral(["engine", "build", "--jobs=2", "--quiet"], { env: s.env });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(s.calledTools(), ["cmake --build build -j 2 --target llama-server"]);
    assert.ok(existsSync(path.join(dir, "build.json")));
    assert.doesNotMatch(resumed.stdout, /%\]/, "--quiet shows no progress");

    const again = await runCorral(["engine", "build"], { env: s.env });
    assert.match(again.stdout, /is already built/);
    const forced = await runCorral(["engine", "build", "--force", "--quiet"], { env: s.env });
    assert.equal(forced.code, 0, forced.stderr);
    // --force builds from a fresh build folder, with the default of one job per CPU
    assert.deepEqual(s.calledTools().slice(1), [`cmake ${configure}`, `cmake --build build -j ${os.availableParallelism()} --target llama-server`]);
  });

  test("a failed build exits non-zero with the end of its output and the log's path", async () => {
    const s = sandbox();
    fakeToolchain(s.tools);
    const r = await runCorral(["engine", "build"], { env: { ...s.env, FAKE_CMAKE_FAIL: "1" } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cmake build failed \(cmake exited with 2\)/);
    assert.match(r.stderr, /error: boom/);
    const log = path.join(s.xdg, "corral", "llama-server", `${SHORT}-cpu`, "build", "corral-build.log");
    assert.ok(r.stderr.includes(`full log: ${log}`), r.stderr);
    assert.match(readFileSync(log, "utf8"), /\$ cmake --build build[\s\S]*error: boom/);
    assert.ok(!existsSync(path.join(path.dirname(path.dirname(log)), "build.json")), "no stamp");
  });

  test("a backend whose compiler is missing, or missing build tools, is one clear error", async () => {
    const s = sandbox();
    fakeToolchain(s.tools);
    const cuda = await runCorral(["engine", "build", "--backend", "cuda"], { env: s.env });
    assert.equal(cuda.code, 1);
    assert.match(cuda.stderr, /cannot build llama-server \(cuda\):\n  - nvcc \(the CUDA compiler\) is not on PATH nor in \$CUDA_PATH\/bin/);
    assert.doesNotMatch(cuda.stderr, /cmake is not/);
    const bare = await runCorral(["engine", "build"], { env: { ...s.env, PATH: path.join(s.root, "empty") } });
    assert.equal(bare.code, 1);
    for (const what of ["cmake is not on PATH (Debian/Ubuntu: apt-get install cmake)", "no C++ compiler", "apt-get install g++", "git is not on PATH"]) {
      assert.ok(bare.stderr.includes(what), `${what} in: ${bare.stderr}`);
    }
  });

  test("cuda with nvcc only under CUDA_PATH passes it to cmake", async () => {
    const s = sandbox();
    fakeToolchain(s.tools);
    const nvcc = writeScript(path.join(s.root, "cuda", "bin", "nvcc"), "exit 0");
    const r = await runCorral(["engine", "build", "--backend", "cuda", "--quiet"], { env: { ...s.env, CUDA_PATH: path.join(s.root, "cuda") } });
    assert.equal(r.code, 0, r.stderr);
    const stamp = JSON.parse(readFileSync(path.join(s.xdg, "corral", "llama-server", `${SHORT}-cuda`, "build.json"), "utf8"));
    assert.deepEqual(stamp.cmakeArgs.slice(-2), ["-DGGML_CUDA=ON", `-DCMAKE_CUDA_COMPILER=${nvcc}`]);
  });

  test("usage: unknown backend, subcommand or flag exit 2; --help exits 0", async () => {
    const s = sandbox();
    const bad = await runCorral(["engine", "build", "--backend", "rocm"], { env: s.env });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--backend must be one of cpu, cuda, vulkan, metal, got 'rocm'/);
    assert.match(bad.stderr, /usage: corral engine build/);
    for (const args of [["engine"], ["engine", "frob"], ["engine", "build", "--jobs", "0"], ["engine", "list", "--x"]]) {
      const r = await runCorral(args, { env: s.env });
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.stderr, /usage: corral engine build/);
    }
    const help = await runCorral(["engine", "--help"], { env: s.env });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /usage: corral engine build \[--backend cpu\|cuda\|vulkan\|metal\] \[--jobs N\] \[--force\] \[--quiet\]\n {7}corral engine list/);
  });
});
