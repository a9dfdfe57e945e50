// `npm run test:llamacpp`: llama.cpp's own server test suite (tools/server/tests of the llama.cpp source that
// node-llama-cpp ships) run with pytest against `bin/corral`, offline, with the test model placed in a Hugging Face
// cache under the repo names the suite asks for. CI fails on a test that fails and is not in
// test/llamacpp/expected-failures.txt, and on a listed test that passes (the list only shrinks).
// `--server llama-server --record` runs the same files against llama-server and records what it passes.
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { bundledSourceCommit, bundlePath, buildsRoot, findLlamaServer } from "../../src/engines/llama-server/find.js";
import { cacheDir } from "../../src/util/cache-dir.js";
import { freePort } from "../../src/util/free-port.js";
import { fileOf, judge, parseExpected, parseIdList, parseReport, verdictOk, type TestResult } from "./results.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const listsDir = path.join(repoRoot, "test", "llamacpp");
const EXPECTED = path.join(listsDir, "expected-failures.txt");
const LLAMA_SERVER_RECORD = path.join(listsDir, "llama-server-passes.txt");

/** The suite's files this harness runs: the ones a text model without real weights can meaningfully take. */
export const SUITE_FILES = [
  "unit/test_basic.py",
  "unit/test_tokenize.py",
  "unit/test_chat_completion.py",
  "unit/test_completion.py",
  "unit/test_embedding.py",
  "unit/test_security.py",
  "unit/test_compat_anthropic.py",
  "unit/test_ctx_shift.py",
  "unit/test_infill.py",
  "unit/test_rerank.py",
  "unit/test_template.py",
  "unit/test_compat_oai_responses.py",
];

/** Files that import the `openai` Python package at the top: without it they cannot even be collected. */
const NEEDS_OPENAI = new Set([
  "unit/test_chat_completion.py", "unit/test_completion.py", "unit/test_embedding.py", "unit/test_security.py",
  "unit/test_compat_anthropic.py", "unit/test_compat_oai_responses.py",
]);

/** Repo → file names the suite's presets ask for; each is the test model. */
const PLACED_MODELS: Record<string, string[]> = {
  "ggml-org/test-model-stories260K": ["stories260K.gguf"],
  "ggml-org/test-model-stories260K-infill": ["stories260K-infill.gguf"],
  "ggml-org/models": ["tinyllamas/stories260K.gguf", "bert-bge-small/ggml-model-f16.gguf", "jina-reranker-v1-tiny-en/ggml-model-f16.gguf"],
  "ggml-org/stories15M_MOE": ["stories15M_MOE-F16.gguf"],
};

interface Args {
  server: "corral" | "llama-server";
  record: boolean;
  files: string[];
  keyword?: string;
  model: string;
  verbose: boolean;
}

function parseCli(argv: string[]): Args {
  const a: Args = {
    server: "corral", record: false, files: SUITE_FILES, verbose: false,
    model: path.resolve(repoRoot, "..", "shared", "models", "llama-2-tiny-random.gguf"),
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === "--server") {
      const v = value();
      if (v !== "corral" && v !== "llama-server") throw new Error(`--server must be corral or llama-server, got '${v}'`);
      a.server = v;
    } else if (flag === "--record") a.record = true;
    else if (flag === "--files") a.files = value().split(",").map((f) => (f.startsWith("unit/") ? f : `unit/${f}`)).map((f) => (f.endsWith(".py") ? f : `${f}.py`));
    else if (flag === "-k") a.keyword = value();
    else if (flag === "--model") a.model = path.resolve(value());
    else if (flag === "-v" || flag === "--verbose") a.verbose = true;
    else throw new Error(`unknown option '${flag}' (options: --server corral|llama-server, --record, --files a,b, -k EXPR, --model FILE, -v)`);
  }
  if (a.record && a.server !== "llama-server") throw new Error("--record records what llama-server passes: use it with --server llama-server");
  return a;
}

const skip = (why: string): never => {
  process.stdout.write(`test:llamacpp: skipped: ${why}\n`);
  process.exit(0);
};

// ---- Python ----------------------------------------------------------------------------------------------------

const hasModules = (python: string, modules: string[]) =>
  spawnSync(python, ["-c", `import ${modules.join(", ")}`], { stdio: "ignore" }).status === 0;

const BASE_MODULES = ["pytest", "requests", "wget", "filelock"];

/**
 * A Python with pytest, requests, wget and filelock (Debian's python3-* packages), and the `openai` package where it
 * can be had: a venv over the system's site packages in corral's cache, made once, where pip installs openai.
 */
function findPython(): { python: string; openai: boolean } {
  const venv = path.join(cacheDir(), "llamacpp-tests", "venv");
  const venvPython = path.join(venv, "bin", "python");
  if (existsSync(venvPython) && hasModules(venvPython, BASE_MODULES)) return { python: venvPython, openai: hasModules(venvPython, ["openai"]) };
  const base = ["/usr/bin/python3", "python3"].find((p) => spawnSync(p, ["--version"], { stdio: "ignore" }).status === 0);
  if (!base) skip("no python3 (install Debian's python3, python3-pytest, python3-requests, python3-wget and python3-filelock)");
  if (!hasModules(base!, BASE_MODULES)) {
    const missing = BASE_MODULES.filter((m) => !hasModules(base!, [m]));
    skip(`${base} lacks the Python modules ${missing.join(", ")} (Debian: apt-get install ${missing.map((m) => `python3-${m}`).join(" ")})`);
  }
  if (hasModules(base!, ["openai"])) return { python: base!, openai: true };
  process.stdout.write(`test:llamacpp: making a Python venv for the openai package in ${venv}\n`);
  rmSync(venv, { recursive: true, force: true });
  if (spawnSync(base!, ["-m", "venv", "--system-site-packages", venv], { stdio: "inherit" }).status !== 0) return { python: base!, openai: false };
  // pip prints a warning per unreachable index; only the outcome matters here
  spawnSync(path.join(venv, "bin", "pip"), ["install", "--quiet", "--retries", "1", "--timeout", "15", "openai"], { stdio: "ignore" });
  return { python: venvPython, openai: hasModules(venvPython, ["openai"]) };
}

// ---- the suite -------------------------------------------------------------------------------------------------

/**
 * The bundled llama.cpp source holding tools/server/tests (and models/templates, which some tests read): a
 * llama-server build's source tree, else a partial checkout of the bundle in corral's cache.
 */
function llamaCppSource(): string {
  const bundle = bundlePath();
  const commit = bundledSourceCommit(bundle);
  if (!commit) skip(`no llama.cpp source bundle at ${bundle} (node-llama-cpp ships it; run npm install)`);
  const short = commit!.slice(0, 12);
  for (const backend of ["cpu", "cuda", "vulkan", "metal"]) {
    const inBuild = path.join(buildsRoot(), `${short}-${backend}`, "src");
    if (existsSync(path.join(inBuild, SUITE, "utils.py")) && existsSync(path.join(inBuild, TEMPLATES))) return inBuild;
  }
  const dir = path.join(cacheDir(), "llamacpp-tests", short);
  if (existsSync(path.join(dir, SUITE, "utils.py")) && existsSync(path.join(dir, TEMPLATES))) return dir;
  process.stdout.write(`test:llamacpp: extracting ${SUITE} and ${TEMPLATES} of llama.cpp ${short} from ${bundle}\n`);
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(path.dirname(dir), { recursive: true });
  const git = (args: string[], cwd?: string) => {
    const r = spawnSync("git", args, { cwd, stdio: ["ignore", "ignore", "inherit"] });
    if (r.status !== 0) throw new Error(`git ${args.join(" ")} failed`);
  };
  git(["clone", "--quiet", "--no-checkout", bundle, partial]);
  git(["-c", "advice.detachedHead=false", "checkout", "--quiet", "HEAD", "--", SUITE, TEMPLATES], partial);
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
  return dir;
}

const SUITE = "tools/server/tests";
const TEMPLATES = "models/templates";

/** A hub cache holding the test model under every repo and file name the suite's presets use. */
function placeModels(hub: string, model: string): void {
  const commit = "0123456789abcdef0123456789abcdef01234567";
  for (const [repo, files] of Object.entries(PLACED_MODELS)) {
    const repoDir = path.join(hub, `models--${repo.replace("/", "--")}`);
    mkdirSync(path.join(repoDir, "refs"), { recursive: true });
    writeFileSync(path.join(repoDir, "refs", "main"), commit);
    for (const f of files) {
      const target = path.join(repoDir, "snapshots", commit, f);
      mkdirSync(path.dirname(target), { recursive: true });
      symlinkSync(model, target);
    }
  }
}

function serverBinary(server: Args["server"]): string {
  if (server === "corral") return path.join(repoRoot, "bin", "corral");
  const found = findLlamaServer();
  if (!found) skip("no llama-server binary (run `bin/corral engine build`)");
  return found!.path;
}

const WORK_PREFIX = "corral-llamacpp-";

/**
 * Removes the work folders earlier runs left (each holds a copy of the suite, about 1 MB), once they are an hour
 * old: a run takes minutes, so a folder that young may belong to a run still going on beside this one.
 */
function pruneEarlierRuns(): void {
  const cutoff = Date.now() - 3600_000;
  for (const name of readdirSync(os.tmpdir())) {
    if (!name.startsWith(WORK_PREFIX)) continue;
    const dir = path.join(os.tmpdir(), name);
    if ((statSync(dir, { throwIfNoEntry: false })?.mtimeMs ?? Infinity) < cutoff) rmSync(dir, { recursive: true, force: true });
  }
}

async function runPytest(a: Args, python: string, source: string, files: string[]): Promise<{ results: TestResult[]; log: string }> {
  // the work folder stays after the run, so its pytest.log can be read; the ones earlier runs kept go now
  pruneEarlierRuns();
  const work = mkdtempSync(path.join(os.tmpdir(), WORK_PREFIX));
  // the suite's own layout: tests read chat templates from ../../../models/templates
  const suite = path.join(work, SUITE);
  cpSync(path.join(source, SUITE), suite, { recursive: true });
  mkdirSync(path.join(work, "models"), { recursive: true });
  symlinkSync(path.join(source, TEMPLATES), path.join(work, TEMPLATES));
  cpSync(path.join(repoRoot, "tools", "llamacpp-tests", "corral_plugin.py"), path.join(suite, "corral_plugin.py"));
  const hub = path.join(work, "hub");
  placeModels(hub, a.model);
  const report = path.join(work, "results.jsonl");
  const log = path.join(work, "pytest.log");
  const args = ["-m", "pytest", "-p", "corral_plugin", "-p", "no:cacheprovider", "-m", "not slow", "-rN", "-q", ...(a.keyword ? ["-k", a.keyword] : []), ...files];
  const env = {
    ...process.env,
    LLAMA_SERVER_BIN_PATH: serverBinary(a.server),
    LLAMA_CACHE: hub,
    PORT: String(await freePort()),
    PYTHONPATH: suite,
    CORRAL_RESULTS: report,
    // corral's children should not find a llama-server and pick it: the built-in engine is what is under test
    CORRAL_ENGINE: "node",
  };
  process.stdout.write(`test:llamacpp: ${a.server}: running ${files.length} file(s) of llama.cpp's server tests (log: ${log})\n`);
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(python, args, { cwd: suite, env, stdio: ["ignore", "pipe", "pipe"] });
    const out = [] as Buffer[];
    const take = (b: Buffer) => {
      out.push(b);
      if (a.verbose) process.stdout.write(b);
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("error", reject);
    child.on("close", () => {
      writeFileSync(log, Buffer.concat(out));
      resolve();
    });
  });
  if (!existsSync(report)) throw new Error(`pytest wrote no results; see ${log}`);
  const results = parseReport(readFileSync(report, "utf8"));
  process.stdout.write(`test:llamacpp: ${results.length} tests in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  return { results, log };
}

async function main(): Promise<void> {
  const a = parseCli(process.argv.slice(2));
  if (!existsSync(a.model)) skip(`the test model ${a.model} is not present (only CI and developers have ../shared/models; pass --model FILE)`);
  const { python, openai } = findPython();
  let files = a.files;
  if (!openai) {
    const dropped = files.filter((f) => NEEDS_OPENAI.has(f));
    if (dropped.length > 0) process.stdout.write(`test:llamacpp: the Python 'openai' package is not installable here: not running ${dropped.join(", ")}\n`);
    files = files.filter((f) => !NEEDS_OPENAI.has(f));
  }
  if (files.length === 0) skip("no test file left to run");
  const { results } = await runPytest(a, python, llamaCppSource(), files);

  if (a.record) {
    const passed = results.filter((r) => r.outcome === "passed").map((r) => r.id).sort();
    const header = [
      "# Tests of llama.cpp's server suite that llama-server (built from node-llama-cpp's bundled llama.cpp) passes in",
      "# corral's offline setup (the random-weight test model under the suite's repo names). Written by",
      "# `npm run test:llamacpp -- --server llama-server --record`; corral's built-in engine is held to this list.",
    ];
    writeFileSync(LLAMA_SERVER_RECORD, `${header.join("\n")}\n${passed.join("\n")}\n`);
    process.stdout.write(`test:llamacpp: llama-server passes ${passed.length} of ${results.length}; recorded in ${path.relative(repoRoot, LLAMA_SERVER_RECORD)}\n`);
    return;
  }
  if (a.server === "llama-server") {
    const failed = results.filter((r) => r.outcome === "failed" || r.outcome === "error");
    process.stdout.write(`test:llamacpp: llama-server passes ${results.length - failed.length - results.filter((r) => r.outcome === "skipped").length} of ${results.length}\n`);
    return;
  }

  const ran = new Set(files);
  const expectedAll = parseExpected(readFileSync(EXPECTED, "utf8"));
  // entries of files (or -k selections) not run this time are neither expected to fail nor to pass
  const ids = new Set(results.map((r) => r.id));
  const expected = new Map([...expectedAll].filter(([id]) => ran.has(fileOf(id)) && ids.has(id)));
  const lsPasses = existsSync(LLAMA_SERVER_RECORD) ? parseIdList(readFileSync(LLAMA_SERVER_RECORD, "utf8")) : undefined;
  const v = judge(results, expected, lsPasses);
  const say = (s: string) => process.stdout.write(`${s}\n`);
  say(`test:llamacpp: corral passed ${v.passed.length}, failed as expected ${v.expectedFailures.length}, skipped ${v.skipped.length}`);
  if (lsPasses) {
    const lsRan = [...lsPasses].filter((id) => ids.has(id));
    say(`test:llamacpp: of the ${lsRan.length} tests llama-server passes here, corral passes ${lsRan.length - v.behindLlamaServer.length}`);
  }
  for (const r of v.unexpectedFailures) say(`  FAILED (not in ${path.relative(repoRoot, EXPECTED)}): ${r.id}\n      ${r.message}`);
  for (const id of v.unexpectedPasses) say(`  PASSED but listed as expected to fail (remove it from the list): ${id}`);
  if (!verdictOk(v)) {
    say("test:llamacpp: FAILED");
    process.exitCode = 1;
  } else {
    say("test:llamacpp: ok");
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`test:llamacpp: error: ${(err as Error).message}\n`);
  process.exit(2);
});
