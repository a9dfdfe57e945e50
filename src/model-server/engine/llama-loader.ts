// Starts node-llama-cpp's backend. getLlama() spends ~400 ms of a model process's start-up forking a throwaway
// process that checks the prebuilt binary does not crash on this machine, on every start, and importing its build
// tooling. The answer does not change while the binary, Node and node-llama-cpp stay the same, so after one full
// getLlama() succeeds its result is recorded in corral's cache folder, and later CPU-only starts create the Llama
// directly from the same prebuilt binary. This uses node-llama-cpp internals, which is safe only because the
// version is pinned exactly (3.21.1); any surprise falls back to getLlama().
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync, renameSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Llama, LlamaLogLevel as LogLevel } from "node-llama-cpp";
import { cacheDir } from "../../util/cache-dir.js";

const require = createRequire(import.meta.url);
/** node-llama-cpp's dist/ folder, for its internal modules. */
const NLLC_DIST = path.dirname(require.resolve("node-llama-cpp"));
const NLLC_VERSION = (JSON.parse(readFileSync(path.join(NLLC_DIST, "..", "package.json"), "utf8")) as { version: string }).version;

export interface LoadLlamaOptions {
  gpu: boolean;
  verbose: boolean;
  maxThreads?: number;
  logger: (level: LogLevel, message: string) => void;
}

/** A module of node-llama-cpp's dist/ folder by relative path (its package exports only the index). */
export function importNllc(rel: string): Promise<any> {
  return import(pathToFileURL(path.join(NLLC_DIST, rel)).href);
}

/** The few node-llama-cpp classes the server needs, imported from their own files rather than the package index. */
export async function nllcInternals() {
  const [types, tokenBias, grammarState] = await Promise.all([
    importNllc("bindings/types.js"),
    importNllc("evaluator/TokenBias.js"),
    importNllc("evaluator/LlamaGrammarEvaluationState.js"),
  ]);
  return {
    LlamaLogLevel: types.LlamaLogLevel as typeof import("node-llama-cpp").LlamaLogLevel,
    TokenBias: tokenBias.TokenBias as typeof import("node-llama-cpp").TokenBias,
    LlamaGrammarEvaluationState: grammarState.LlamaGrammarEvaluationState as typeof import("node-llama-cpp").LlamaGrammarEvaluationState,
  };
}

/**
 * A spare process (see spare.ts) starts the CPU backend before it knows its model; the first CPU-only, non-verbose
 * loadLlama() then takes it. Native log lines go to whichever logger that load brings.
 */
let prewarmed: { llama: Promise<Llama>; setLogger(fn: LoadLlamaOptions["logger"]): void } | undefined;

export function prewarmLlama(): Promise<unknown> {
  let sink: LoadLlamaOptions["logger"] = () => {};
  const llama = loadLlama({ gpu: false, verbose: false, logger: (level, message) => sink(level, message) });
  prewarmed = { llama, setLogger: (fn) => (sink = fn) };
  return llama;
}

export async function loadLlama(o: LoadLlamaOptions): Promise<Llama> {
  if (prewarmed && !o.gpu && !o.verbose) {
    const p = prewarmed;
    prewarmed = undefined;
    try {
      const llama = await p.llama;
      p.setLogger(o.logger);
      if (o.maxThreads) llama.maxThreads = o.maxThreads;
      return llama;
    } catch {
      // the warm-up failed: try again the ordinary way, which reports the error
    }
  }
  const { LlamaLogLevel } = await nllcInternals();
  const logLevel = o.verbose ? LlamaLogLevel.info : LlamaLogLevel.warn;
  const binary = cpuBinary();
  if (!o.gpu && binary && checkedBefore(binary)) {
    try {
      return await createDirect(binary, { ...o, logLevel });
    } catch {
      // fall through to the supported path
    }
  }
  const { getLlama } = await import("node-llama-cpp");
  const llama = await getLlama({
    gpu: o.gpu ? "auto" : false,
    build: "never",
    logLevel,
    logger: o.logger,
    progressLogs: false,
    ...(o.maxThreads ? { maxThreads: o.maxThreads } : {}),
  });
  if (!o.gpu && binary && llama.buildType === "prebuilt" && llama.gpu === false) recordChecked(binary);
  return llama;
}

interface Binary {
  bindingPath: string;
  key: string;
}

/** The CPU prebuilt binary node-llama-cpp picks when GPU support is off (linux/win/mac x64/arm64 packages). */
function cpuBinary(): Binary | undefined {
  const flavor = `${process.platform === "win32" ? "win" : process.platform === "darwin" ? "mac" : process.platform}-${process.arch}`;
  let pkgDir: string;
  try {
    // the package exports only its entry, dist/index.js
    pkgDir = path.dirname(path.dirname(createRequire(path.join(NLLC_DIST, "index.js")).resolve(`@node-llama-cpp/${flavor}`)));
  } catch {
    return undefined;
  }
  const bindingPath = path.join(pkgDir, "bins", flavor, "llama-addon.node");
  if (!existsSync(bindingPath)) return undefined;
  const st = statSync(bindingPath);
  return { bindingPath, key: [NLLC_VERSION, process.versions.modules, os.release(), bindingPath, st.size, st.mtimeMs].join("|") };
}

const markerFile = () => path.join(cacheDir(), "checked-binaries.json");

function checkedKeys(): string[] {
  try {
    return JSON.parse(readFileSync(markerFile(), "utf8")) as string[];
  } catch {
    return [];
  }
}

const checkedBefore = (b: Binary): boolean => checkedKeys().includes(b.key);

function recordChecked(b: Binary): void {
  try {
    const keys = checkedKeys();
    if (keys.includes(b.key)) return;
    mkdirSync(cacheDir(), { recursive: true });
    const tmp = `${markerFile()}.${process.pid}`;
    writeFileSync(tmp, JSON.stringify([...keys.slice(-20), b.key]));
    renameSync(tmp, markerFile());
  } catch {
    // a read-only cache only costs start-up time
  }
}

async function createDirect(b: Binary, o: LoadLlamaOptions & { logLevel: LogLevel }): Promise<Llama> {
  const { Llama: LlamaClass } = (await importNllc("bindings/Llama.js")) as {
    Llama: { _create(args: Record<string, unknown>): Promise<Llama> };
  };
  const buildMetadata = JSON.parse(readFileSync(path.join(path.dirname(b.bindingPath), "_nlcBuildMetadata.json"), "utf8")) as {
    buildOptions: { gpu: unknown };
  };
  if (buildMetadata.buildOptions.gpu !== false) throw new Error("not a CPU build");
  return LlamaClass._create({
    bindings: require(b.bindingPath),
    bindingPath: b.bindingPath,
    extBackendsPath: undefined,
    buildType: "prebuilt",
    buildMetadata,
    logLevel: o.logLevel,
    logger: o.logger,
    // the paddings getLlama() uses by default
    vramPadding: (total: number) => Math.floor(Math.min(total * 0.08, 1.6 * 1024 ** 3)),
    ramPadding: (total: number) => Math.floor(Math.min(total * 0.25, (process.platform === "linux" ? 1 : 6) * 1024 ** 3)),
    maxThreads: o.maxThreads,
    skipLlamaInit: false,
    debug: false,
    numa: false,
    tempDir: false,
    experimentalOptions: undefined,
  });
}
