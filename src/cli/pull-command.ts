// `corral pull|ls|rm`: models into, listed from, and out of the Hugging Face hub cache. Loaded only for these
// subcommands. Exit codes are part of the interface (scripts test them): 0 done, 1 download or verification failed,
// 2 bad command line, 3 repo / quant / file not found, 4 a token is needed or was refused.
import { HfResolveError, hubCacheDir } from "../hf/cache.js";
import { HubError, type HubErrorKind } from "../hf/download/hub-api.js";
import { listCached, pull, removeCached, type PullProgress } from "../hf/download/pull.js";

const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3, auth: 4 } as const;

function pullUsage(): string {
  return `usage: corral pull owner/repo[:QUANT] [--hf-file PATH] [--hf-token TOKEN] [--revision REV] [--no-mmproj] [--quiet]
       corral ls [--json]
       corral rm owner/repo[:QUANT] [--hf-file PATH]

  pull  download a model into the Hugging Face cache, choosing files as llama-server's -hf does: the GGUF
        with that quant tag (case-insensitive; without one Q4_K_M, else Q8_0, else the first), every shard
        of a split model, and the repo's mmproj projector when it has one. An interrupted download resumes.
          --hf-file PATH    an exact file of the repo instead of a quant tag
          --hf-token TOKEN  bearer token for gated or private repos (default: HF_TOKEN)
          --revision REV    branch, tag or commit (default: main)
          --no-mmproj       leave the projector out
          --quiet, -q       no progress, only the result and errors
  ls    the cached models, under the names the router serves them as (owner/repo:QUANT)
  rm    remove a cached model: its files, and blobs no other snapshot uses

  cache: ${hubCacheDir()} (LLAMA_CACHE, HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, HF_HOME/hub, XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub)
  hub:   HF_ENDPOINT (default https://huggingface.co)
  exit codes: 0 done (also: already cached), 1 download or verification failed, 2 bad command line,
              3 repo, quant or file not found, 4 a token is needed or was refused
`;
}

class UsageError extends Error {}

interface Args {
  positional: string[];
  flags: Map<string, string | true>;
}

/** The flags each subcommand takes besides --help / -h: those with a value, then the switches. */
const FLAGS: Record<"pull" | "ls" | "rm", [valued: string[], bool: string[]]> = {
  pull: [["--hf-token", "--hf-file", "--revision"], ["--no-mmproj", "--quiet", "-q"]],
  ls: [[], ["--json"]],
  rm: [["--hf-file"], []],
};

function parse(argv: string[], [valued, switches]: [string[], string[]]): Args {
  const bool = [...switches, "--help", "-h"];
  const out: Args = { positional: [], flags: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("-") || arg === "-") {
      out.positional.push(arg);
      continue;
    }
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (valued.includes(name)) {
      const v = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (v === undefined || v === "") throw new UsageError(`${name} needs a value`);
      out.flags.set(name, v);
    } else if (bool.includes(name) && eq < 0) {
      out.flags.set(name, true);
    } else {
      throw new UsageError(`unknown argument '${arg}'`);
    }
  }
  return out;
}

const str = (a: Args, k: string) => (typeof a.flags.get(k) === "string" ? (a.flags.get(k) as string) : undefined);

function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

const formatEta = (s: number | undefined) => {
  if (s === undefined || !Number.isFinite(s)) return "--:--";
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
};

/** The progress display: one redrawn line on a terminal, a line per file start and end otherwise. */
function progressPrinter(out: NodeJS.WriteStream, tty: boolean): { onProgress: (p: PullProgress) => void; finish: () => void } {
  const started = new Set<string>();
  const finished = new Set<string>();
  let drawn = false;
  return {
    onProgress: (p) => {
      const name = p.file.slice(p.file.lastIndexOf("/") + 1);
      if (tty) {
        // files move in parallel: one bar for the whole pull, naming the file that moved last
        const { done, total, rate, etaS } = p.all;
        if (p.done >= p.total) finished.add(p.file);
        const pct = total > 0 ? (100 * done) / total : 100;
        const width = 24;
        const fill = Math.round((width * pct) / 100);
        const line = `[${finished.size}/${p.count}] ${name} [${"#".repeat(fill)}${"-".repeat(width - fill)}] ${pct.toFixed(1).padStart(5)}%  ${formatBytes(done)}/${formatBytes(total)}  ${(rate / 1e6).toFixed(1)} MB/s  ETA ${formatEta(etaS)}`;
        const cols = out.columns || 120;
        out.write(`\r\x1b[K${line.length > cols - 1 ? line.slice(0, cols - 1) : line}`);
        drawn = true;
        if (done >= total) {
          out.write("\n");
          drawn = false;
        }
        return;
      }
      if (!started.has(p.file)) {
        started.add(p.file);
        out.write(`downloading ${p.file} (${formatBytes(p.total)}) [${p.index + 1}/${p.count}]\n`);
      }
      if (p.done >= p.total) out.write(`downloaded ${p.file} (${(p.rate / 1e6).toFixed(1)} MB/s)\n`);
    },
    finish: () => {
      if (drawn) out.write("\n");
    },
  };
}

function exitFor(kind: HubErrorKind): number {
  return kind === "not-found" ? EXIT.notFound : kind === "auth" ? EXIT.auth : EXIT.failed;
}

async function runPull(a: Args): Promise<number> {
  if (a.positional.length !== 1) throw new UsageError(a.positional.length === 0 ? "pull needs owner/repo[:QUANT]" : `one model at a time, got ${a.positional.join(" ")}`);
  const quiet = a.flags.has("--quiet") || a.flags.has("-q");
  const printer = progressPrinter(process.stderr, process.stderr.isTTY === true);
  const token = str(a, "--hf-token");
  const file = str(a, "--hf-file");
  const revision = str(a, "--revision");
  try {
    const r = await pull(a.positional[0]!, {
      ...(token ? { token } : {}),
      ...(file ? { file } : {}),
      ...(revision ? { revision } : {}),
      ...(a.flags.has("--no-mmproj") ? { mmproj: false } : {}),
      ...(quiet ? {} : { onProgress: printer.onProgress }),
    });
    printer.finish();
    const how = r.offline
      ? "already cached (the hub could not be reached; the cached copy was not checked for updates)"
      : r.alreadyCached
        ? "already cached"
        : `downloaded ${r.downloadedFiles} of ${r.files.length} file${r.files.length > 1 ? "s" : ""}`;
    process.stdout.write(`${r.id}: ${how}, ${formatBytes(r.totalBytes)}\n  model:  ${r.model}\n${r.mmproj ? `  mmproj: ${r.mmproj}\n` : ""}`);
    return EXIT.ok;
  } catch (err) {
    printer.finish();
    if (err instanceof HubError) {
      process.stderr.write(`corral pull: error: ${err.message}\n`);
      return exitFor(err.kind);
    }
    throw err;
  }
}

function runLs(a: Args): number {
  if (a.positional.length > 0) throw new UsageError(`unknown argument '${a.positional[0]}'`);
  const models = listCached();
  if (a.flags.has("--json")) {
    process.stdout.write(JSON.stringify(models, null, 2) + "\n");
    return EXIT.ok;
  }
  if (models.length === 0) {
    process.stdout.write(`no models in ${hubCacheDir()}\n`);
    return EXIT.ok;
  }
  const w = Math.max(4, ...models.map((m) => m.id.length));
  const lines = [`${"NAME".padEnd(w)}  ${"SIZE".padStart(9)}  FILE`];
  for (const m of models) {
    const extra = [m.shards > 1 ? `${m.shards} shards` : "", m.mmproj ? `+ ${m.mmproj}` : ""].filter(Boolean).join(", ");
    lines.push(`${m.id.padEnd(w)}  ${formatBytes(m.size).padStart(9)}  ${m.file}${extra ? `  (${extra})` : ""}`);
  }
  process.stdout.write(lines.join("\n") + "\n");
  return EXIT.ok;
}

function runRm(a: Args): number {
  if (a.positional.length !== 1) throw new UsageError("rm needs owner/repo[:QUANT]");
  const file = str(a, "--hf-file");
  try {
    const r = removeCached(a.positional[0]!, file ? { file } : {});
    process.stdout.write(
      `removed ${r.removed.join(", ")} from ${r.repo} (${formatBytes(r.freedBytes)} freed${r.repoRemoved ? "; nothing of the repo is left" : ""})\n`,
    );
    return EXIT.ok;
  } catch (err) {
    if (err instanceof HubError) {
      process.stderr.write(`corral rm: error: ${err.message}\n`);
      return exitFor(err.kind);
    }
    throw err;
  }
}

/** Runs `corral pull|ls|rm ARGS` and returns the exit code (see EXIT). */
export async function runHubCommand(cmd: "pull" | "ls" | "rm", argv: string[]): Promise<number> {
  try {
    const a = parse(argv, FLAGS[cmd]);
    if (a.flags.has("--help") || a.flags.has("-h")) {
      process.stdout.write(pullUsage());
      return EXIT.ok;
    }
    return cmd === "pull" ? await runPull(a) : cmd === "ls" ? runLs(a) : runRm(a);
  } catch (err) {
    // a malformed owner/repo is a command-line mistake, not a missing repo
    if (!(err instanceof UsageError) && !(err instanceof HfResolveError)) throw err;
    process.stderr.write(`corral ${cmd}: error: ${err.message}\n${pullUsage()}`);
    return EXIT.usage;
  }
}
