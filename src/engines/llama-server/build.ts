// Compiles llama-server from the llama.cpp source that node-llama-cpp ships as a git bundle, so that the binary
// matches the library corral already runs and no network is needed.
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { StartupError } from "../../util/startup-error.js";
import { type Backend, binaryVersion, buildDir, bundledSourceCommit, bundlePath, notExecutable, readStamp, whichSync } from "./find.js";

export interface BuildOptions {
  backend: Backend;
  jobs?: number;
  force?: boolean;
  quiet?: boolean;
  env?: NodeJS.ProcessEnv;
  out?: NodeJS.WriteStream;
}

export interface BuildResult {
  binary: string;
  commit: string;
  alreadyBuilt: boolean;
  /** `--version` output of a fresh build. */
  version?: string;
}

/** A step that ran and failed: carries the end of its output and the full log, for the user to read. */
export class BuildFailedError extends StartupError {
  constructor(message: string, readonly tail: string[], readonly logFile: string) {
    super(message);
  }
}

const EXE = process.platform === "win32" ? "llama-server.exe" : "llama-server";

/**
 * Configure arguments, run from the build's folder. The web UI is off because its prebuilt copy would be
 * downloaded and building it needs npm packages: corral has its own, and builds run offline.
 */
export function configureArgs(backend: Backend, extra: string[] = []): string[] {
  const args = [
    "-S", "src", "-B", "build",
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_BUILD_TOOLS=ON",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_OPENSSL=OFF",
  ];
  if (backend === "cuda") args.push("-DGGML_CUDA=ON");
  if (backend === "vulkan") args.push("-DGGML_VULKAN=ON");
  return [...args, ...extra];
}

function firstWord(s: string): string {
  return s.trim().split(/\s+/)[0] ?? "";
}

function findCompiler(envVar: string | undefined, names: string[], env: NodeJS.ProcessEnv): string | undefined {
  // CC/CXX may carry a launcher or flags ("ccache g++"); what must exist is the first word
  if (envVar) return whichSync(firstWord(envVar), env);
  for (const n of names) {
    const found = whichSync(n, env);
    if (found) return found;
  }
  return undefined;
}

/** nvcc on PATH, else in $CUDA_PATH/bin, where the toolkit's installer puts it without touching PATH. */
export function findNvcc(env: NodeJS.ProcessEnv = process.env): { path: string; onPath: boolean } | undefined {
  const onPath = whichSync("nvcc", env);
  if (onPath) return { path: onPath, onPath: true };
  const cudaPath = env["CUDA_PATH"];
  if (cudaPath) {
    const p = path.join(cudaPath, "bin", "nvcc");
    if (!notExecutable(p)) return { path: p, onPath: false };
  }
  return undefined;
}

/** Everything missing to build this backend, one line each, saying how to install it. Empty when ready. */
export function missingRequirements(backend: Backend, env: NodeJS.ProcessEnv = process.env): string[] {
  const missing: string[] = [];
  if (!whichSync("cmake", env)) missing.push("cmake is not on PATH (Debian/Ubuntu: apt-get install cmake)");
  if (!findCompiler(env["CXX"], ["c++", "g++", "clang++"], env)) {
    missing.push(`no C++ compiler (${env["CXX"] ? `CXX=${env["CXX"]}` : "c++, g++ or clang++"}) on PATH (Debian/Ubuntu: apt-get install g++)`);
  }
  if (!findCompiler(env["CC"], ["cc", "gcc", "clang"], env)) {
    missing.push(`no C compiler (${env["CC"] ? `CC=${env["CC"]}` : "cc, gcc or clang"}) on PATH (Debian/Ubuntu: apt-get install gcc)`);
  }
  if (/ninja/i.test(env["CMAKE_GENERATOR"] ?? "")) {
    if (!whichSync("ninja", env)) missing.push("ninja (CMAKE_GENERATOR is Ninja) is not on PATH (Debian/Ubuntu: apt-get install ninja-build)");
  } else if (process.platform !== "win32" && !whichSync("make", env)) {
    missing.push("make is not on PATH (Debian/Ubuntu: apt-get install make)");
  }
  if (!whichSync("git", env)) missing.push("git is not on PATH (Debian/Ubuntu: apt-get install git)");
  if (backend === "cuda" && !findNvcc(env)) {
    missing.push("nvcc (the CUDA compiler) is not on PATH nor in $CUDA_PATH/bin: install the CUDA toolkit (Debian/Ubuntu: apt-get install nvidia-cuda-toolkit) or set CUDA_PATH");
  }
  if (backend === "vulkan") {
    if (!whichSync("glslc", env)) missing.push("glslc (the Vulkan shader compiler) is not on PATH (Debian/Ubuntu: apt-get install glslc, or install the Vulkan SDK)");
    const sdk = env["VULKAN_SDK"];
    const headerDirs = [...(sdk ? [path.join(sdk, "include")] : []), "/usr/include", "/usr/local/include"];
    if (!headerDirs.some((d) => existsSync(path.join(d, "vulkan", "vulkan.h")))) {
      missing.push(`the Vulkan headers (vulkan/vulkan.h) are not in ${headerDirs.join(", ")} (Debian/Ubuntu: apt-get install libvulkan-dev, or set VULKAN_SDK)`);
    }
  }
  if (backend === "metal" && process.platform !== "darwin") missing.push(`the metal backend builds only on macOS (this is ${process.platform})`);
  return missing;
}

function formatElapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

/**
 * What cmake is working on, from one output line: `[ 35%] Building CXX object src/CMakeFiles/llama.dir/x.cpp.o`
 * (Makefiles) or `[120/345] ...` (Ninja). Undefined for lines without a progress mark.
 */
export function parseProgress(line: string): { percent: number; what: string } | undefined {
  let percent: number;
  let rest: string;
  const make = /^\[\s*(\d+)%\]\s*(.*)$/.exec(line);
  const ninja = make ? null : /^\[(\d+)\/(\d+)\]\s*(.*)$/.exec(line);
  if (make) {
    percent = Number(make[1]);
    rest = make[2]!;
  } else if (ninja) {
    percent = Math.floor((Number(ninja[1]) * 100) / Math.max(1, Number(ninja[2])));
    rest = ninja[3]!;
  } else {
    return undefined;
  }
  let what = rest;
  const obj = /CMakeFiles\/([^/\s]+)\.dir\/(\S+?)(?:\.o|\.obj)?$/.exec(rest);
  const linking = /^Linking \S+ .*?(\S+)$/.exec(rest);
  const built = /^Built target (\S+)/.exec(rest);
  if (obj) what = `${obj[1]} (${obj[2]})`;
  else if (linking) what = `linking ${path.basename(linking[1]!)}`;
  else if (built) what = `built ${built[1]}`;
  return { percent, what };
}

/** Shows progress: one line rewritten in place on a terminal, else one line per 10 %, so CI logs stay short. */
class Progress {
  private readonly start = Date.now();
  private lastBucket = -1;
  private percent = 0;
  private what = "";
  private shown = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: NodeJS.WriteStream, private readonly tty: boolean, private readonly quiet: boolean) {
    // a big file compiles for a while without output; the clock should still move
    if (tty && !quiet) this.timer = setInterval(() => this.draw(), 1000).unref();
  }

  say(text: string): void {
    if (this.quiet) return;
    this.clear();
    this.out.write(text + "\n");
  }

  line(text: string): void {
    const p = parseProgress(text);
    if (!p || this.quiet) return;
    this.percent = p.percent;
    this.what = p.what;
    if (this.tty) return this.draw();
    const bucket = Math.floor(p.percent / 10);
    if (bucket > this.lastBucket) {
      this.lastBucket = bucket;
      this.out.write(`[${String(p.percent).padStart(3)}%] ${formatElapsed(Date.now() - this.start)} ${p.what}\n`);
    }
  }

  private draw(): void {
    if (!this.what) return;
    const text = `[${String(this.percent).padStart(3)}%] ${formatElapsed(Date.now() - this.start)} ${this.what}`;
    const width = Math.max(20, (this.out.columns || 80) - 1);
    this.out.write(`\r${text.slice(0, width)}\x1b[K`);
    this.shown = true;
  }

  clear(): void {
    if (this.shown) this.out.write("\r\x1b[K");
    this.shown = false;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.clear();
  }

  elapsed(): string {
    return formatElapsed(Date.now() - this.start);
  }
}

const TAIL_LINES = 30;

/** Runs one step with its output going to the log; resolves when it succeeds, throws a BuildFailedError otherwise. */
function runStep(
  step: string,
  cmd: string,
  args: string[],
  o: { cwd: string; env: NodeJS.ProcessEnv; logFd: number; logFile: string; tail: string[]; onLine: (l: string) => void },
): Promise<void> {
  writeSync(o.logFd, `\n$ ${cmd} ${args.join(" ")}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: o.cwd, env: o.env, stdio: ["ignore", "pipe", "pipe"] });
    const feed = (stream: NodeJS.ReadableStream) => {
      let partial = "";
      stream.on("data", (d: Buffer) => {
        writeSync(o.logFd, d);
        const lines = (partial + d.toString()).split(/\r?\n/);
        partial = lines.pop() ?? "";
        for (const l of lines) {
          o.tail.push(l);
          if (o.tail.length > TAIL_LINES) o.tail.shift();
          o.onLine(l);
        }
      });
      stream.on("end", () => {
        if (partial) {
          o.tail.push(partial);
          if (o.tail.length > TAIL_LINES) o.tail.shift();
        }
      });
    };
    feed(child.stdout);
    feed(child.stderr);
    child.on("error", (err) => reject(new BuildFailedError(`${step} failed: cannot run ${cmd}: ${err.message}`, o.tail.slice(), o.logFile)));
    child.on("close", (code, signal) => {
      if (code === 0) resolve();
      else reject(new BuildFailedError(`${step} failed (${cmd} exited with ${code ?? signal})`, o.tail.slice(), o.logFile));
    });
  });
}

/**
 * Builds llama-server for one backend into `<cache>/llama-server/<commit12>-<backend>/`: src/ is a clone of the
 * bundle, build/ the cmake folder, build.json the stamp written last. A stamped build is reused unless `force`;
 * an interrupted one resumes (cmake builds incrementally).
 */
export async function buildLlamaServer(o: BuildOptions): Promise<BuildResult> {
  const env = o.env ?? process.env;
  const out = o.out ?? process.stdout;
  const backend = o.backend;
  const jobs = o.jobs ?? os.availableParallelism();
  const bundle = bundlePath(env);
  const commit = bundledSourceCommit(bundle);
  if (!commit) {
    throw new StartupError(
      existsSync(bundle)
        ? `${bundle} is not a git bundle with a HEAD (node-llama-cpp's llama.cpp source); reinstall node-llama-cpp`
        : `llama.cpp source bundle not found at ${bundle} (node-llama-cpp ships it); run npm install`,
    );
  }
  const short = commit.slice(0, 12);
  const dir = buildDir(commit, backend, env);
  const stampFile = path.join(dir, "build.json");
  const existing = readStamp(dir);
  if (existing && existing.commit === commit && existing.backend === backend && !o.force) {
    out.write(`llama-server ${short} (${backend}) is already built: ${existing.binary}\n`);
    return { binary: existing.binary, commit, alreadyBuilt: true };
  }

  const missing = missingRequirements(backend, env);
  if (missing.length > 0) {
    throw new StartupError(`cannot build llama-server (${backend}):\n${missing.map((m) => `  - ${m}`).join("\n")}`);
  }
  const extra: string[] = [];
  const nvcc = backend === "cuda" ? findNvcc(env) : undefined;
  if (nvcc && !nvcc.onPath) extra.push(`-DCMAKE_CUDA_COMPILER=${nvcc.path}`);
  const cmakeArgs = configureArgs(backend, extra);

  const srcDir = path.join(dir, "src");
  const cmakeDir = path.join(dir, "build");
  // a stamp must only ever describe a finished build: drop it before touching anything it vouches for
  rmSync(stampFile, { force: true });
  if (o.force) rmSync(cmakeDir, { recursive: true, force: true });
  mkdirSync(cmakeDir, { recursive: true });
  const logFile = path.join(cmakeDir, "corral-build.log");
  const logFd = openSync(logFile, "w");
  const tty = Boolean(out.isTTY);
  const progress = new Progress(out, tty, Boolean(o.quiet));
  const tail: string[] = [];
  const step = (name: string, cmd: string, args: string[]) =>
    runStep(name, cmd, args, { cwd: dir, env, logFd, logFile, tail, onLine: (l) => progress.line(l) });

  try {
    if (!existsSync(srcDir)) {
      progress.say(`cloning llama.cpp ${short} from ${bundle}`);
      // cloned aside and renamed, so that a clone cut short is never mistaken for a complete source tree
      const partial = path.join(dir, "src.partial");
      rmSync(partial, { recursive: true, force: true });
      await step("git clone", "git", ["-c", "advice.detachedHead=false", "clone", "--quiet", bundle, partial]);
      renameSync(partial, srcDir);
    }
    const generated = ["Makefile", "build.ninja"].some((f) => existsSync(path.join(cmakeDir, f)));
    if (!existsSync(path.join(cmakeDir, "CMakeCache.txt")) || !generated) {
      progress.say(`configuring (${backend}): cmake ${cmakeArgs.join(" ")}`);
      await step("cmake configure", "cmake", cmakeArgs);
    }
    progress.say(`building llama-server ${short} (${backend}) with ${jobs} jobs in ${cmakeDir}`);
    await step("cmake build", "cmake", ["--build", "build", "-j", String(jobs), "--target", "llama-server"]);
  } finally {
    progress.stop();
    closeSync(logFd);
  }

  const binary = path.join(cmakeDir, "bin", EXE);
  if (notExecutable(binary)) {
    throw new BuildFailedError(`the build finished but ${binary} ${notExecutable(binary)}`, tail, logFile);
  }
  const stamp = { commit, backend, binary, cmakeArgs, builtAt: new Date().toISOString() };
  writeFileSync(stampFile + ".tmp", JSON.stringify(stamp, null, 2) + "\n");
  renameSync(stampFile + ".tmp", stampFile);
  if (!o.quiet) out.write(`built in ${progress.elapsed()}\n`);
  let version: string | undefined;
  try {
    version = await binaryVersion(binary);
  } catch (err) {
    out.write(`warning: ${binary} --version failed: ${(err as Error).message}\n`);
  }
  return { binary, commit, alreadyBuilt: false, ...(version !== undefined ? { version } : {}) };
}
