// The Hugging Face hub cache as llama.cpp reads it (common/hf-cache.cpp, common/download.cpp): where it is, which
// commit a repo's snapshot is, and which files `-hf owner/repo[:QUANT]` / `--hf-file` name in it. Pure file-system
// reads: corral, llama-server and huggingface_hub share one cache, so what one downloads the others serve.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { isDir, isFile } from "../util/fs-kind.js";

/** A reference to a model in a hub repo, as `-hf` and the `hf-repo` preset key spell it. */
export interface HfRef {
  repo: string;
  /** Quant tag after the colon (`Q4_K_M`), or empty. */
  tag: string;
  /** `--hf-file`: an exact path inside the repo, which wins over the tag. */
  file?: string;
}

/** What a reference resolved to. */
export interface HfResolved {
  /** The model file to load (the first shard of a split model). */
  path: string;
  /** Every file of the model: one, or all shards in order. */
  shards: string[];
  /** The repo's best-matching multimodal projector, where it has one. */
  mmproj?: string;
  /** The file's path inside the repo, e.g. `Qwen3-8B-Q4_K_M.gguf`. */
  repoPath: string;
}

/** One clear line: the repo is not cached, or does not hold what was asked for. */
export class HfResolveError extends Error {}

/** The hub cache folder, in llama.cpp's order of environment variables. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const set = (k: string) => (env[k] && env[k]!.length > 0 ? env[k] : undefined);
  return (
    set("LLAMA_CACHE") ??
    set("HF_HUB_CACHE") ??
    set("HUGGINGFACE_HUB_CACHE") ??
    (set("HF_HOME") ? path.join(env["HF_HOME"]!, "hub") : undefined) ??
    (set("XDG_CACHE_HOME") ? path.join(env["XDG_CACHE_HOME"]!, "huggingface", "hub") : undefined) ??
    path.join(env["HOME"] || os.homedir(), ".cache", "huggingface", "hub")
  );
}

const REPO_PART = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;

/** `owner/repo` with both parts in the hub's alphabet. */
export function isValidRepoId(repo: string): boolean {
  const parts = repo.split("/");
  return parts.length === 2 && parts.every((p) => REPO_PART.test(p) && !/[./-]{2}/.test(p));
}

/** `owner/repo:TAG` → repo and tag; throws on anything that is not `owner/repo`. */
export function parseHfRef(spec: string, file?: string): HfRef {
  const colon = spec.lastIndexOf(":");
  const repo = colon < 0 ? spec : spec.slice(0, colon);
  const tag = colon < 0 ? "" : spec.slice(colon + 1);
  if (!isValidRepoId(repo)) throw new HfResolveError(`'${spec}' is not a Hugging Face repo: expected owner/repo or owner/repo:QUANT`);
  return { repo, tag, ...(file ? { file } : {}) };
}

/** The name a cached hub model is routed by: `owner/repo:TAG` (tag upper case as file names carry it), or the repo. */
export const hfModelId = (repo: string, tag: string): string => (tag ? `${repo}:${tag}` : repo);

export const repoFolderName = (repo: string) => `models--${repo.replace(/\//g, "--")}`;

export function repoFromFolderName(folder: string): string | undefined {
  if (!folder.startsWith("models--")) return undefined;
  const repo = folder.slice("models--".length).replace(/--/g, "/");
  return isValidRepoId(repo) ? repo : undefined;
}

/** The snapshot a repo folder serves: `refs/main`, else the first other ref, as llama.cpp's get_cached_ref. */
export function snapshotCommit(repoDir: string): string | undefined {
  const refs = path.join(repoDir, "refs");
  const read = (ref: string) => {
    try {
      const c = readFileSync(path.join(refs, ref), "utf8").trim();
      return /^[A-Za-z0-9]+$/.test(c) && isDir(path.join(repoDir, "snapshots", c)) ? c : undefined;
    } catch {
      return undefined;
    }
  };
  if (!existsSync(refs)) return undefined;
  return read("main") ?? readdirSync(refs).sort().map(read).find((c) => c !== undefined);
}

/** A file of a cached snapshot: its path inside the repo and on disk. */
export interface CachedFile {
  repoPath: string;
  localPath: string;
}

/** The snapshot a repo's ref names: its commit, its folder, and every file in it, sorted by path. */
export interface CachedSnapshot {
  commit: string;
  root: string;
  files: CachedFile[];
}

export const repoDirOf = (cacheDir: string, repo: string) => path.join(cacheDir, repoFolderName(repo));

/** The repo's cached snapshot, read once (ref and walk) for callers that need its commit as well as its files. */
export function cachedSnapshot(cacheDir: string, repo: string): CachedSnapshot | undefined {
  const repoDir = repoDirOf(cacheDir, repo);
  const commit = snapshotCommit(repoDir);
  if (!commit) return undefined;
  const root = path.join(repoDir, "snapshots", commit);
  return { commit, root, files: snapshotFiles(root) };
}

/** Every file of a repo's cached snapshot, sorted by path; empty when the repo is not cached. */
export function cachedRepoFiles(cacheDir: string, repo: string): CachedFile[] {
  return cachedSnapshot(cacheDir, repo)?.files ?? [];
}

/** Every file under a snapshot folder (links followed, as a reader of the file sees it), sorted by path. */
export function snapshotFiles(root: string): CachedFile[] {
  const out: CachedFile[] = [];
  const walk = (dir: string, rel: string) => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const full = path.join(dir, n);
      const r = rel ? `${rel}/${n}` : n;
      if (isDir(full)) walk(full, r);
      else if (isFile(full)) out.push({ repoPath: r, localPath: full });
    }
  };
  walk(root, "");
  return out.sort((a, b) => (a.repoPath < b.repoPath ? -1 : a.repoPath > b.repoPath ? 1 : 0));
}

const SPLIT_RE = /^(.+)-(\d{5})-of-(\d{5})$/i;
const TAG_RE = /[-.]([A-Z0-9_]+)$/i;

interface GgufName {
  prefix: string;
  tag: string;
  index: number;
  count: number;
}

/** Shard numbering and quant tag of a GGUF file name, as llama.cpp's get_gguf_split_info. */
export function ggufNameInfo(repoPath: string): GgufName | undefined {
  if (!repoPath.toLowerCase().endsWith(".gguf")) return undefined;
  let prefix = repoPath.slice(0, -".gguf".length);
  let index = 1;
  let count = 1;
  const split = SPLIT_RE.exec(prefix);
  if (split) {
    prefix = split[1]!;
    index = Number(split[2]);
    count = Number(split[3]);
  }
  const tag = TAG_RE.exec(prefix)?.[1]?.toUpperCase() ?? "";
  return { prefix, tag, index, count };
}

/** Sidecar files (projectors, imatrix, speculative heads) are never models. */
export function isModelFile(repoPath: string): boolean {
  if (!repoPath.toLowerCase().endsWith(".gguf")) return false;
  const name = repoPath.slice(repoPath.lastIndexOf("/") + 1);
  return !["mmproj", "imatrix", "mtp-", "eagle3-", "dflash-", "dspark-"].some((k) => name.includes(k));
}

/** A model file that starts a model: unsplit, or the first of its shards (what a quant tag can name). */
export function isModelFirstShard(repoPath: string): boolean {
  const info = ggufNameInfo(repoPath);
  return info !== undefined && isModelFile(repoPath) && (info.count <= 1 || info.index === 1);
}

const quantBits = (tag: string) => {
  const m = /\d+/.exec(tag);
  return m ? Number(m[0]) : 0;
};
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The model file a tag names: Q4_K_M, then Q8_0, then the first model when no tag is given. First shards only. */
export function pickModelFile<T extends { repoPath: string }>(files: readonly T[], tag: string): T | undefined {
  for (const t of tag ? [tag] : ["Q4_K_M", "Q8_0"]) {
    const re = new RegExp(`${escapeRe(t)}[.-]`, "i");
    const hit = files.find((f) => isModelFirstShard(f.repoPath) && re.test(f.repoPath));
    if (hit) return hit;
  }
  return tag ? undefined : files.find((f) => isModelFirstShard(f.repoPath));
}

/** Every shard of the model `primary` starts, in order. */
export function shardsOf<T extends { repoPath: string }>(files: readonly T[], primary: T): T[] {
  const info = ggufNameInfo(primary.repoPath);
  if (!info || info.count <= 1) return [primary];
  return files
    .filter((f) => {
      const i = ggufNameInfo(f.repoPath);
      return i !== undefined && i.count === info.count && i.prefix === info.prefix;
    })
    .sort((a, b) => ggufNameInfo(a.repoPath)!.index - ggufNameInfo(b.repoPath)!.index);
}

/**
 * The projector that goes with a model: one in the model's folder or above it, the deepest such folder first, then
 * the quantisation closest to the model's (a Q8_0 model takes mmproj-Q8_0 over mmproj-F16).
 */
export function pickProjector<T extends { repoPath: string }>(files: readonly T[], modelPath: string): T | undefined {
  const modelDirs = modelPath.split("/").slice(0, -1);
  const bits = quantBits(ggufNameInfo(modelPath)?.tag ?? "");
  let best: { f: T; depth: number; diff: number } | undefined;
  for (const f of files) {
    if (!f.repoPath.toLowerCase().endsWith(".gguf") || !f.repoPath.includes("mmproj")) continue;
    const dirs = f.repoPath.split("/").slice(0, -1);
    if (dirs.length > modelDirs.length || dirs.some((d, i) => d !== modelDirs[i])) continue;
    const diff = Math.abs(quantBits(ggufNameInfo(f.repoPath)?.tag ?? "") - bits);
    if (!best || dirs.length > best.depth || (dirs.length === best.depth && diff < best.diff)) best = { f, depth: dirs.length, diff };
  }
  return best?.f;
}

/** How to get a repo that is not cached (seen with --offline, or by the router, which downloads only when asked). */
function downloadHint(ref: HfRef): string {
  const spec = ref.tag ? `${ref.repo}:${ref.tag}` : ref.repo;
  return `download it first (e.g. \`corral pull ${spec}\`${ref.file ? `, or \`hf download ${ref.repo} ${ref.file}\`` : ""}, or POST /models to a running router)`;
}

/**
 * Resolves a reference against the cache, exactly as llama-server picks files; throws HfResolveError. `snapshot`:
 * the repo's cachedSnapshot when the caller has already read it (and needs its commit or other files too).
 */
export function resolveCachedModel(
  ref: HfRef,
  cacheDir: string,
  opts: { mmproj?: boolean } = {},
  snapshot: CachedSnapshot | undefined = cachedSnapshot(cacheDir, ref.repo),
): HfResolved {
  const files = snapshot?.files ?? [];
  if (files.length === 0) {
    throw new HfResolveError(`Hugging Face repo '${ref.repo}' is not in the cache (${cacheDir}): ${downloadHint(ref)}`);
  }
  const ggufs = files.filter((f) => f.repoPath.toLowerCase().endsWith(".gguf")).map((f) => f.repoPath);
  const available = ggufs.length > 0 ? ` (cached GGUF files: ${ggufs.join(", ")})` : " (it holds no GGUF files)";
  let primary: CachedFile | undefined;
  if (ref.file) {
    primary = files.find((f) => f.repoPath === ref.file);
    if (!primary) throw new HfResolveError(`file '${ref.file}' is not in the cached repo '${ref.repo}'${available}: ${downloadHint(ref)}`);
  } else {
    primary = pickModelFile(files, ref.tag);
    if (!primary) {
      const what = ref.tag ? `no GGUF file with quant '${ref.tag}'` : "no GGUF model file";
      throw new HfResolveError(`the cached repo '${ref.repo}' has ${what}${available}: ${downloadHint(ref)}`);
    }
  }
  const shards = shardsOf(files, primary);
  const info = ggufNameInfo(primary.repoPath);
  if (info && info.count > 1 && shards.length < info.count) {
    throw new HfResolveError(`the cached repo '${ref.repo}' holds ${shards.length} of the ${info.count} shards of '${primary.repoPath}': ${downloadHint(ref)}`);
  }
  const projector = opts.mmproj === false ? undefined : pickProjector(files, primary.repoPath);
  return {
    path: primary.localPath,
    shards: shards.map((s) => s.localPath),
    repoPath: primary.repoPath,
    ...(projector ? { mmproj: projector.localPath } : {}),
  };
}
