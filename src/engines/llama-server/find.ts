// Where corral finds a llama-server binary. Kept synchronous and free of heavy imports: the router calls it while
// starting up, before it serves anything.
import { spawn } from "node:child_process";
import { accessSync, closeSync, constants, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { cacheDir } from "../../util/cache-dir.js";
import { StartupError } from "../../util/startup-error.js";

export type BinarySource = "flag" | "env" | "built" | "path";
export interface FoundBinary {
  path: string;
  source: BinarySource;
}
export interface BuiltBinary {
  dir: string;
  binary: string;
  commit: string;
  backend: string;
  builtAt: string;
}
export interface FindOptions {
  explicit?: string;
  /** Where `explicit` came from, for the error message (default "--llama-server"). */
  explicitFrom?: string;
  env?: NodeJS.ProcessEnv;
}

/** Backends `corral engine build` knows, most preferred first: a GPU build beats the CPU one when both exist. */
export const BACKENDS = ["cuda", "vulkan", "metal", "cpu"] as const;
export type Backend = (typeof BACKENDS)[number];

const EXE = process.platform === "win32" ? "llama-server.exe" : "llama-server";

/** The folder all builds live in: `<cache>/llama-server/`. */
export function buildsRoot(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheDir(env), "llama-server");
}

/** One build's folder; the name is part of the on-disk contract, so builds made by older corrals are still found. */
export function buildDir(commit: string, backend: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(buildsRoot(env), `${commit.slice(0, 12)}-${backend}`);
}

/** Why `p` cannot be run, or undefined when it is an executable file. */
export function notExecutable(p: string): string | undefined {
  let st;
  try {
    st = statSync(p);
  } catch {
    return "does not exist";
  }
  if (!st.isFile()) return "is not a file";
  try {
    accessSync(p, constants.X_OK);
  } catch {
    return "is not executable";
  }
  return undefined;
}

/** The first executable `name` on env.PATH, as `which` would answer. */
export function whichSync(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (name.includes("/")) return notExecutable(name) ? undefined : path.resolve(name);
  for (const dir of (env["PATH"] ?? "").split(path.delimiter)) {
    // an empty PATH entry means the current folder to a shell; a router should not run whatever sits there
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (!notExecutable(candidate)) return candidate;
  }
  return undefined;
}

function checked(p: string, from: string): string {
  const why = notExecutable(p);
  if (why) throw new StartupError(`llama-server binary '${p}' (from ${from}) ${why}`);
  return path.resolve(p);
}

/** In this order: the explicit path (preset key / --llama-server flag), env LLAMA_SERVER_BIN, the binary corral built, `llama-server` on PATH. */
export function findLlamaServer(o: FindOptions = {}): FoundBinary | undefined {
  const env = o.env ?? process.env;
  if (o.explicit) return { path: checked(o.explicit, o.explicitFrom ?? "--llama-server"), source: "flag" };
  const fromEnv = env["LLAMA_SERVER_BIN"];
  if (fromEnv) return { path: checked(fromEnv, "LLAMA_SERVER_BIN"), source: "env" };
  const built = builtBinaries(env)[0];
  if (built) return { path: built.binary, source: "built" };
  const onPath = whichSync(EXE, env);
  return onPath ? { path: onPath, source: "path" } : undefined;
}

/**
 * Everything found, for `corral engine list` (each source that has a binary, in the order above, plus every built
 * one). An explicit path or LLAMA_SERVER_BIN that cannot be run is left out here; findLlamaServer reports it.
 */
export function listLlamaServers(o: FindOptions = {}): FoundBinary[] {
  const env = o.env ?? process.env;
  const out: FoundBinary[] = [];
  if (o.explicit && !notExecutable(o.explicit)) out.push({ path: path.resolve(o.explicit), source: "flag" });
  const fromEnv = env["LLAMA_SERVER_BIN"];
  if (fromEnv && !notExecutable(fromEnv)) out.push({ path: path.resolve(fromEnv), source: "env" });
  for (const b of builtBinaries(env)) out.push({ path: b.binary, source: "built" });
  const onPath = whichSync(EXE, env);
  if (onPath) out.push({ path: onPath, source: "path" });
  return out;
}

/** A build's stamp, if the build finished: build.json is written only after the binary was linked. */
export function readStamp(dir: string): BuiltBinary | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path.join(dir, "build.json"), "utf8"));
  } catch {
    return undefined;
  }
  const s = raw as Record<string, unknown>;
  if (typeof s["commit"] !== "string" || typeof s["backend"] !== "string" || typeof s["binary"] !== "string") return undefined;
  if (notExecutable(s["binary"])) return undefined;
  return { dir, binary: s["binary"], commit: s["commit"], backend: s["backend"], builtAt: typeof s["builtAt"] === "string" ? s["builtAt"] : "" };
}

function backendRank(b: string): number {
  const i = (BACKENDS as readonly string[]).indexOf(b);
  return i < 0 ? BACKENDS.length : i;
}

/** Finished builds in the cache, best first: the bundled commit, then GPU backends over CPU, then the newest. */
export function builtBinaries(env: NodeJS.ProcessEnv = process.env): BuiltBinary[] {
  const root = buildsRoot(env);
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return [];
  }
  const found: BuiltBinary[] = [];
  for (const e of entries) {
    const stamp = readStamp(path.join(root, e));
    if (stamp) found.push(stamp);
  }
  const bundled = bundledSourceCommit(bundlePath(env));
  return found.sort(
    (a, b) =>
      Number(b.commit === bundled) - Number(a.commit === bundled) ||
      backendRank(a.backend) - backendRank(b.backend) ||
      b.builtAt.localeCompare(a.builtAt),
  );
}

/** `llama-server --version` output (it prints to stderr; take both), trimmed; rejects after 10 s. */
export function binaryVersion(binary: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ["--version"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${binary} --version did not answer within 10 s`));
    }, 10_000);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const text = out.trim();
      if (text) resolve(text);
      else reject(new Error(`${binary} --version printed nothing (exit ${code ?? signal})`));
    });
  });
}

/** The line of `--version` output worth showing: llama.cpp prints backend-loading chatter before `version: N (sha)`. */
export function versionLine(output: string): string {
  const lines = output.split("\n").map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /^version:/.test(l)) ?? lines[0] ?? "";
}

/**
 * The commit of the bundled llama.cpp source, read from the bundle's text header (no git needed): first line
 * "# v2 git bundle" (or v3), then "<sha> HEAD" lines.
 */
export function bundledSourceCommit(bundle: string = bundlePath()): string | undefined {
  let head: string;
  try {
    const fd = openSync(bundle, "r");
    try {
      // the header is a few short lines; the binary pack follows it
      const buf = Buffer.alloc(4096);
      head = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString("latin1");
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const lines = head.split("\n");
  if (!/^# v[23] git bundle$/.test(lines[0] ?? "")) return undefined;
  for (const line of lines.slice(1)) {
    if (line === "") break;
    const m = /^([0-9a-f]{40}(?:[0-9a-f]{24})?) (.+)$/.exec(line);
    if (m && m[2] === "HEAD") return m[1];
  }
  return undefined;
}

/**
 * The llama.cpp source bundle inside the installed node-llama-cpp. Its package.json is not in its exports map, so
 * the package folder is found from its entry point.
 */
export function bundlePath(env: NodeJS.ProcessEnv = process.env): string {
  const override = env["CORRAL_LLAMA_BUNDLE"];
  if (override) return path.resolve(override);
  // where it would be if resolution fails: callers then report a missing file, which names the path
  const fallback = path.resolve("node_modules/node-llama-cpp/llama/gitRelease.bundle");
  let dir: string;
  try {
    dir = path.dirname(createRequire(import.meta.url).resolve("node-llama-cpp"));
  } catch {
    return fallback;
  }
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { name?: string };
      if (pkg.name === "node-llama-cpp") return path.join(dir, "llama", "gitRelease.bundle");
    } catch {
      // not the package root yet
    }
    const up = path.dirname(dir);
    if (up === dir) return fallback;
    dir = up;
  }
}
