// `corral engine build|list`: compile llama-server from node-llama-cpp's bundled llama.cpp, and show which
// llama-server binaries corral would use. Loaded only for this subcommand, never by a router.
import { existsSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { StartupError } from "../util/startup-error.js";
import { BuildFailedError, buildLlamaServer } from "../engines/llama-server/build.js";
import {
  type Backend,
  BACKENDS,
  binaryVersion,
  builtBinaries,
  buildsRoot,
  bundledSourceCommit,
  bundlePath,
  findLlamaServer,
  listLlamaServers,
  readStamp,
  versionLine,
} from "../engines/llama-server/find.js";

export function engineUsage(): string {
  return `usage: corral engine build [--backend cpu|cuda|vulkan|metal] [--jobs N] [--force] [--quiet]
       corral engine list

  build   compile llama-server from the llama.cpp source bundled with node-llama-cpp, into
          ${path.join(buildsRoot(), "<commit>-<backend>")}/ (no network needed)
            --backend B  cpu (default); cuda needs nvcc, vulkan needs glslc and the Vulkan headers,
                         metal needs macOS
            --jobs N     parallel compile jobs (default: ${os.availableParallelism()}, the number of CPUs)
            --force      rebuild from scratch even if this commit and backend are already built
            --quiet      print only the result and errors
  list    show the llama-server binaries corral finds, in the order it picks them:
          LLAMA_SERVER_BIN, then a binary built by 'corral engine build', then llama-server on PATH
`;
}

class UsageError extends Error {}

interface BuildArgs {
  backend: Backend;
  jobs?: number;
  force: boolean;
  quiet: boolean;
  help: boolean;
}

function parseBuildArgs(argv: string[]): BuildArgs {
  const args: BuildArgs = { backend: "cpu", force: false, quiet: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      return v;
    };
    switch (name) {
      case "--backend": {
        const b = value();
        if (!(BACKENDS as readonly string[]).includes(b)) throw new UsageError(`--backend must be one of cpu, cuda, vulkan, metal, got '${b}'`);
        args.backend = b as Backend;
        break;
      }
      case "--jobs":
      case "-j": {
        const raw = value();
        const n = Number(raw);
        if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a positive integer, got '${raw}'`);
        args.jobs = n;
        break;
      }
      case "--force":
        args.force = true;
        break;
      case "--quiet":
      case "-q":
        args.quiet = true;
        break;
      case "--help":
      case "-h":
        args.help = true;
        break;
      default:
        throw new UsageError(`unknown argument '${arg}'`);
    }
  }
  return args;
}

async function runBuild(argv: string[]): Promise<number> {
  const args = parseBuildArgs(argv);
  if (args.help) {
    process.stdout.write(engineUsage());
    return 0;
  }
  try {
    const result = await buildLlamaServer({
      backend: args.backend,
      force: args.force,
      quiet: args.quiet,
      ...(args.jobs !== undefined ? { jobs: args.jobs } : {}),
    });
    if (!result.alreadyBuilt) {
      process.stdout.write(`llama-server: ${result.binary}\n`);
      if (result.version) process.stdout.write(result.version + "\n");
    }
    return 0;
  } catch (err) {
    if (err instanceof BuildFailedError) {
      process.stderr.write(`corral: error: ${err.message}; the last lines of its output:\n`);
      for (const l of err.tail) process.stderr.write(`  ${l}\n`);
      process.stderr.write(`corral: full log: ${err.logFile}\n`);
      return 1;
    }
    if (err instanceof StartupError) {
      process.stderr.write(`corral: error: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

const SOURCE_LABEL = { flag: "--llama-server", env: "LLAMA_SERVER_BIN", built: "built", path: "PATH" } as const;

async function runList(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(engineUsage());
    return 0;
  }
  if (argv.length > 0) throw new UsageError(`unknown argument '${argv[0]}'`);
  const env = process.env;
  const lines: string[] = [];
  let chosen: string | undefined;
  try {
    chosen = findLlamaServer({ env })?.path;
  } catch (err) {
    if (!(err instanceof StartupError)) throw err;
    lines.push(`warning: ${err.message}; a router would refuse to start`);
  }
  const found = listLlamaServers({ env });
  const built = new Map(builtBinaries(env).map((b) => [b.binary, b]));
  // versions are asked in parallel: each is a process start, and a broken binary may take the full 10 s
  const versions = await Promise.all(
    found.map((f) => binaryVersion(f.path).then(versionLine, (err: Error) => `(--version failed: ${err.message})`)),
  );
  if (found.length > 0) {
    lines.push("llama-server binaries, in the order corral picks them (* = the one it uses):");
    found.forEach((f, i) => {
      const b = f.source === "built" ? built.get(f.path) : undefined;
      // listLlamaServers keeps findLlamaServer's order, so the one used is the first
      const mark = i === 0 && chosen === f.path ? "*" : " ";
      lines.push(`${mark} ${SOURCE_LABEL[f.source].padEnd(16)} ${f.path}`);
      lines.push(`  ${"".padEnd(16)} ${versions[i]}${b ? `  [llama.cpp ${b.commit.slice(0, 12)}, ${b.backend}, built ${b.builtAt}]` : ""}`);
    });
  } else {
    lines.push("no llama-server found.");
  }
  const root = buildsRoot(env);
  let dirs: string[] = [];
  try {
    dirs = readdirSync(root).sort();
  } catch {
    // no builds yet
  }
  for (const d of dirs) {
    const dir = path.join(root, d);
    if (!readStamp(dir) && existsSync(path.join(dir, "build"))) {
      lines.push(`unfinished build (no build.json): ${dir}; 'corral engine build' resumes it`);
    }
  }
  const bundled = bundledSourceCommit(bundlePath(env));
  const bundledBuilt = [...built.values()].some((b) => b.commit === bundled);
  if (found.length === 0 || (bundled && !bundledBuilt)) {
    lines.push(
      "to get one:",
      `  corral engine build        compiles llama.cpp ${bundled ? bundled.slice(0, 12) + " " : ""}(the source node-llama-cpp bundles) into ${root}/`,
      "  LLAMA_SERVER_BIN=/path/to/llama-server",
      "  or put llama-server on PATH",
    );
  }
  process.stdout.write(lines.join("\n") + "\n");
  return 0;
}

/** Runs `corral engine ARGS` and returns the exit code: 0 done, 1 failed, 2 bad command line. */
export async function runEngineCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case "build":
        return await runBuild(rest);
      case "list":
        return await runList(rest);
      case "--help":
      case "-h":
      case "help":
        process.stdout.write(engineUsage());
        return 0;
      case undefined:
        process.stderr.write(engineUsage());
        return 2;
      default:
        throw new UsageError(`unknown subcommand '${sub}'`);
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`corral engine: error: ${err.message}\n${engineUsage()}`);
    return 2;
  }
}
