// `owner/repo[:QUANT]` into, out of, and listed from the hub cache: the operations behind `corral pull|ls|rm` (and,
// later, the router's POST/DELETE /models and Ollama's /api/pull).
import { randomBytes } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, statSync, unlinkSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  cachedRepoFiles,
  ggufNameInfo,
  HfResolveError,
  hubCacheDir,
  hfModelId,
  isModelFile,
  parseHfRef,
  pickProjector,
  repoFromFolderName,
  resolveCachedModel,
  shardsOf,
  snapshotCommit,
} from "../cache.js";
import { isDir } from "../../util/fs-kind.js";
import { chooseFiles } from "./choose.js";
import { HubError, hubConn, listFiles, resolveCommit, type HubOptions } from "./hub-api.js";
import { fetchFile, repoDirOf, type TransferProgress } from "./transfer.js";

export interface PullProgress extends TransferProgress {
  /** 0-based position of this file among the pull's files, and how many there are. */
  index: number;
  count: number;
}

export interface PullOptions extends HubOptions {
  /** Defaults to hubCacheDir(env): LLAMA_CACHE, HF_HUB_CACHE, … */
  cacheDir?: string;
  /** Branch, tag or commit; default main. */
  revision?: string;
  /** An exact file in the repo (`--hf-file`), which wins over the quant tag. */
  file?: string;
  /** false: leave the projector out. */
  mmproj?: boolean;
  onProgress?: (p: PullProgress) => void;
  /** Called once the files are known, before any byte moves. */
  onPlan?: (plan: { repo: string; commit: string; files: { path: string; size: number }[] }) => void;
  retries?: number;
  retryDelayMs?: number;
}

export interface PullResult {
  repo: string;
  /** The chosen file's quant tag, upper case; empty when its name has none. */
  tag: string;
  /** The name the router lists it under: `owner/repo:TAG` (or `owner/repo` without a tag). */
  id: string;
  commit: string;
  /** Snapshot paths of every file fetched: the shards in order, then the projector. */
  files: string[];
  /** The snapshot path of the first shard: what -m takes. */
  model: string;
  mmproj?: string;
  /** Nothing needed downloading. */
  alreadyCached: boolean;
  /** Whether the hub could not be reached and the cached copy was used. */
  offline?: boolean;
  downloadedFiles: number;
  totalBytes: number;
}


/** Downloads what `ref` names (as llama-server chooses) into the hub cache; throws HubError or HfResolveError. */
export async function pull(ref: string, o: PullOptions = {}): Promise<PullResult> {
  const hf = parseHfRef(ref, o.file);
  const cacheDir = o.cacheDir ?? hubCacheDir(o.env);
  const conn = hubConn(o);
  const revision = o.revision ?? "main";
  let commit: string;
  try {
    commit = /^[0-9a-f]{40}$/.test(revision) ? revision : await resolveCommit(hf.repo, revision, o);
  } catch (err) {
    // no network: a copy already in the cache is as good as the hub's (llama-server does the same with -hf)
    if (err instanceof HubError && err.kind === "network") {
      const cached = cachedPull(hf, cacheDir);
      if (cached) return { ...cached, offline: true };
    }
    throw err;
  }
  const chosen = chooseFiles(hf.repo, await listFiles(hf.repo, commit, o), hf.tag, hf.file, o.mmproj === false ? { mmproj: false } : {});
  const wanted = [...chosen.shards, ...(chosen.mmproj ? [chosen.mmproj] : [])];
  o.onPlan?.({ repo: hf.repo, commit, files: wanted.map((f) => ({ path: f.path, size: f.size })) });
  const files: string[] = [];
  let downloadedFiles = 0;
  for (const [index, file] of wanted.entries()) {
    const got = await fetchFile({
      conn,
      cacheDir,
      repo: hf.repo,
      commit,
      file,
      ...(o.onProgress ? { onProgress: (p: TransferProgress) => o.onProgress!({ ...p, index, count: wanted.length }) } : {}),
      ...(o.retries !== undefined ? { retries: o.retries } : {}),
      ...(o.retryDelayMs !== undefined ? { retryDelayMs: o.retryDelayMs } : {}),
    });
    files.push(got.path);
    if (got.downloaded) downloadedFiles++;
  }
  // the ref moves only once its snapshot is complete: a failed pull of a newer commit keeps serving the old one
  if (revision !== commit) await writeRef(repoDirOf(cacheDir, hf.repo), revision, commit);
  return {
    repo: hf.repo,
    tag: chosen.tag,
    id: hfModelId(hf.repo, chosen.tag),
    commit,
    files,
    model: files[0]!,
    ...(chosen.mmproj ? { mmproj: files[files.length - 1]! } : {}),
    alreadyCached: downloadedFiles === 0,
    downloadedFiles,
    totalBytes: wanted.reduce((n, f) => n + f.size, 0),
  };
}

async function writeRef(repoDir: string, revision: string, commit: string): Promise<void> {
  const file = path.join(repoDir, "refs", ...revision.split("/"));
  await mkdir(path.dirname(file), { recursive: true });
  // unique per call: two pulls of one repo in one process write the ref at the same moment
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(tmp, commit);
  await rename(tmp, file);
}

function cachedPull(hf: ReturnType<typeof parseHfRef>, cacheDir: string): PullResult | undefined {
  try {
    const r = resolveCachedModel(hf, cacheDir);
    const tag = ggufNameInfo(r.repoPath)?.tag ?? "";
    const files = [...r.shards, ...(r.mmproj ? [r.mmproj] : [])];
    return {
      repo: hf.repo,
      tag,
      id: hfModelId(hf.repo, tag),
      commit: snapshotCommit(repoDirOf(cacheDir, hf.repo)) ?? "",
      files,
      model: r.path,
      ...(r.mmproj ? { mmproj: r.mmproj } : {}),
      alreadyCached: true,
      downloadedFiles: 0,
      totalBytes: files.reduce((n, f) => n + statSync(f).size, 0),
    };
  } catch {
    return undefined;
  }
}

export interface RemoveResult {
  repo: string;
  /** Repo paths whose snapshot entries were removed. */
  removed: string[];
  /** Bytes of the blobs deleted (a blob another snapshot still links stays). */
  freedBytes: number;
  /** The whole models--owner--repo folder went, nothing being left in it. */
  repoRemoved: boolean;
}

/** Every file under a folder (symlinks included, not followed). */
function walkFiles(dir: string): string[] {
  const out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names) {
    const full = path.join(dir, n);
    const st = lstatSync(full, { throwIfNoEntry: false });
    if (st?.isDirectory()) out.push(...walkFiles(full));
    else if (st) out.push(full);
  }
  return out;
}

const linkTarget = (p: string): string | undefined => {
  try {
    return path.resolve(path.dirname(p), readlinkSync(p));
  } catch {
    return undefined;
  }
};

/**
 * Removes what `ref` names from the cache (as -hf resolves it there): its snapshot entries, its projector when no
 * other model of the snapshot is left to use it, the blobs nothing else links, and the repo folder once it is empty.
 * Throws HubError("not-found") when it is not cached.
 */
export function removeCached(ref: string, o: { cacheDir?: string; env?: NodeJS.ProcessEnv; file?: string } = {}): RemoveResult {
  const hf = parseHfRef(ref, o.file);
  const cacheDir = o.cacheDir ?? hubCacheDir(o.env);
  const repoDir = repoDirOf(cacheDir, hf.repo);
  let resolved;
  try {
    resolved = resolveCachedModel(hf, cacheDir);
  } catch (err) {
    if (err instanceof HfResolveError) throw new HubError(`${ref} is not in the cache (${cacheDir})`, "not-found", 404);
    throw err;
  }
  const commit = snapshotCommit(repoDir)!;
  const snapRoot = path.join(repoDir, "snapshots", commit);
  const targets = [...resolved.shards];
  if (resolved.mmproj) {
    const others = cachedRepoFiles(cacheDir, hf.repo).filter((f) => isModelFile(f.repoPath) && !targets.includes(f.localPath));
    if (others.length === 0) targets.push(resolved.mmproj);
  }
  const blobs = new Set<string>();
  for (const t of targets) {
    const b = linkTarget(t);
    if (b) blobs.add(b);
    unlinkSync(t);
    // prune the folders this left empty, up to (and including) the snapshot itself
    for (let d = path.dirname(t); d.startsWith(snapRoot); d = path.dirname(d)) {
      try {
        rmdirSync(d);
      } catch {
        break;
      }
    }
  }
  const stillLinked = new Set(walkFiles(path.join(repoDir, "snapshots")).map(linkTarget));
  let freedBytes = 0;
  for (const b of blobs) {
    if (stillLinked.has(b)) continue;
    const st = lstatSync(b, { throwIfNoEntry: false });
    if (st?.isFile()) {
      freedBytes += st.size;
      rmSync(b, { force: true });
    }
  }
  const removed = targets.map((t) => path.relative(snapRoot, t).split(path.sep).join("/"));
  const left = walkFiles(path.join(repoDir, "snapshots"));
  if (left.length === 0) {
    rmSync(repoDir, { recursive: true, force: true });
    return { repo: hf.repo, removed, freedBytes, repoRemoved: true };
  }
  if (!isDir(snapRoot)) {
    // refs pointing at the emptied snapshot would only make discovery look there
    for (const r of walkFiles(path.join(repoDir, "refs"))) {
      if (readFileSync(r, "utf8").trim() === commit) rmSync(r, { force: true });
    }
  }
  return { repo: hf.repo, removed, freedBytes, repoRemoved: false };
}

export interface CachedModel {
  /** What the router lists it as: `owner/repo:TAG`, or `owner/repo` for a model file without a tag. */
  id: string;
  repo: string;
  tag: string;
  /** The first shard's path inside the repo. */
  file: string;
  /** Its snapshot path. */
  path: string;
  shards: number;
  /** The projector's path inside the repo. */
  mmproj?: string;
  /** Bytes of every shard (the projector not counted). */
  size: number;
  commit: string;
}

/** The models in the cache, named as the router's discovery names them (scanHubCache); sorted by id. */
export function listCached(o: { cacheDir?: string; env?: NodeJS.ProcessEnv } = {}): CachedModel[] {
  const cacheDir = o.cacheDir ?? hubCacheDir(o.env);
  let entries: string[];
  try {
    entries = readdirSync(cacheDir).sort();
  } catch {
    return [];
  }
  const out = new Map<string, CachedModel>();
  for (const entry of entries) {
    const repo = repoFromFolderName(entry);
    if (!repo) continue;
    const files = cachedRepoFiles(cacheDir, repo);
    const commit = snapshotCommit(path.join(cacheDir, entry)) ?? "";
    for (const f of files) {
      const info = ggufNameInfo(f.repoPath);
      const name = f.repoPath.slice(f.repoPath.lastIndexOf("/") + 1);
      if (!info || name.toLowerCase().includes("mmproj") || (info.count > 1 && info.index !== 1)) continue;
      // tagless files are not router models, but -hf owner/repo serves the first of them: list that one
      if (!info.tag && (!isModelFile(f.repoPath) || out.has(repo))) continue;
      const id = hfModelId(repo, info.tag);
      if (out.has(id)) continue;
      const shards = shardsOf(files, f);
      const projector = pickProjector(files, f.repoPath);
      out.set(id, {
        id,
        repo,
        tag: info.tag,
        file: f.repoPath,
        path: f.localPath,
        shards: shards.length,
        ...(projector ? { mmproj: projector.repoPath } : {}),
        size: shards.reduce((n, s) => n + statSync(s.localPath).size, 0),
        commit,
      });
    }
  }
  return [...out.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
