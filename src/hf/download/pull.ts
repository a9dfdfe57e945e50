// `owner/repo[:QUANT]` into, out of, and listed from the hub cache: the operations behind `corral pull|ls|rm` (and,
// later, the router's POST/DELETE /models and Ollama's /api/pull).
import { randomBytes } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, statSync, unlinkSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  cachedSnapshot,
  ggufNameInfo,
  HfResolveError,
  hubCacheDir,
  hfModelId,
  isModelFile,
  parseHfRef,
  pickProjector,
  repoDirOf,
  repoFromFolderName,
  resolveCachedModel,
  shardsOf,
  snapshotCommit,
  snapshotFiles,
} from "../cache.js";
import { isDir } from "../../util/fs-kind.js";
import { chooseFiles } from "./choose.js";
import { HubError, hubConn, listFiles, resolveCommit, type HubFile, type HubOptions } from "./hub-api.js";
import { fetchFile, linkSnapshot, snapshotPathOf, type TransferProgress } from "./transfer.js";

export interface PullProgress extends TransferProgress {
  /** 0-based position of this file among the pull's files, and how many there are. */
  index: number;
  count: number;
  /** The whole pull: bytes of every file so far (files move in parallel), their rate and time left. */
  all: { done: number; total: number; rate: number; etaS?: number };
}

/** Files of one pull in flight at once: a split model's shards come faster over several connections, as llama.cpp fetches them. */
const PARALLEL_FILES = 4;

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
  const tree = await listFiles(hf.repo, commit, o);
  const chosen = chooseFiles(hf.repo, tree, hf.tag, hf.file, o.mmproj === false ? { mmproj: false } : {});
  const wanted = [...chosen.shards, ...(chosen.mmproj ? [chosen.mmproj] : [])];
  o.onPlan?.({ repo: hf.repo, commit, files: wanted.map((f) => ({ path: f.path, size: f.size })) });
  const files: string[] = new Array<string>(wanted.length);
  let downloadedFiles = 0;
  const doneOf = wanted.map(() => 0);
  const rateOf = wanted.map(() => 0);
  const total = wanted.reduce((n, f) => n + f.size, 0);
  const onFile = (index: number) => (p: TransferProgress) => {
    doneOf[index] = p.done;
    rateOf[index] = p.done >= p.total ? 0 : p.rate;
    const done = doneOf.reduce((a, b) => a + b, 0);
    const rate = rateOf.reduce((a, b) => a + b, 0);
    o.onProgress!({ ...p, index, count: wanted.length, all: { done, total, rate, ...(rate > 0 ? { etaS: (total - done) / rate } : {}) } });
  };
  let next = 0;
  // the first failure stops the other files too (what they fetched stays resumable as .incomplete)
  const stopOthers = new AbortController();
  const fileConn = { ...conn, signal: conn.signal ? AbortSignal.any([conn.signal, stopOthers.signal]) : stopOthers.signal };
  const worker = async () => {
    while (next < wanted.length && !stopOthers.signal.aborted) {
      const index = next++;
      const file = wanted[index]!;
      const got = await fetchFile({
        conn: fileConn,
        cacheDir,
        repo: hf.repo,
        commit,
        file,
        ...(o.onProgress ? { onProgress: onFile(index) } : {}),
        ...(o.retries !== undefined ? { retries: o.retries } : {}),
        ...(o.retryDelayMs !== undefined ? { retryDelayMs: o.retryDelayMs } : {}),
      });
      doneOf[index] = file.size;
      files[index] = got.path;
      if (got.downloaded) downloadedFiles++;
    }
  };
  const results = await Promise.allSettled(
    Array.from({ length: Math.min(PARALLEL_FILES, wanted.length) }, () => worker().catch((err: unknown) => {
      stopOthers.abort();
      throw err;
    })),
  );
  // the failure that stopped the pull, not the cancellations it caused in the other files
  const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason as Error] : []));
  const first = failures.find((e) => !(e instanceof HubError && e.kind === "cancelled")) ?? failures[0];
  if (first) throw first;
  // the ref moves only once its snapshot is complete: a failed pull of a newer commit keeps serving the old one
  if (revision !== commit) {
    const repoDir = repoDirOf(cacheDir, hf.repo);
    const before = snapshotCommit(repoDir);
    if (before && before !== commit) await carryOver(cacheDir, hf.repo, before, commit, tree);
    await writeRef(repoDir, revision, commit);
  }
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
    totalBytes: total,
  };
}

/**
 * Discovery reads the snapshot refs/main names, so moving the ref to a new commit would hide the quants pulled
 * earlier into the old one. Each old file the new commit still has, byte for byte (the same blob), is linked into
 * the new snapshot too; a file the new commit changed or dropped stays in the old snapshot only (as huggingface_hub
 * leaves it), to be pulled again.
 */
async function carryOver(cacheDir: string, repo: string, from: string, to: string, tree: readonly HubFile[]): Promise<void> {
  const blobOf = new Map(tree.map((f) => [f.path, f.blob]));
  // snapshotFiles lists only links that reach a file, so a link whose blob is gone is not carried
  for (const { repoPath, localPath } of snapshotFiles(path.join(repoDirOf(cacheDir, repo), "snapshots", from))) {
    const blob = blobOf.get(repoPath);
    const target = linkTarget(localPath);
    if (!blob || !target || path.basename(target) !== blob) continue;
    const snap = snapshotPathOf(cacheDir, repo, to, repoPath);
    if (!lstatSync(snap, { throwIfNoEntry: false })) await linkSnapshot(snap, target);
  }
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
    const snapshot = cachedSnapshot(cacheDir, hf.repo);
    const r = resolveCachedModel(hf, cacheDir, {}, snapshot);
    const tag = ggufNameInfo(r.repoPath)?.tag ?? "";
    const files = [...r.shards, ...(r.mmproj ? [r.mmproj] : [])];
    return {
      repo: hf.repo,
      tag,
      id: hfModelId(hf.repo, tag),
      commit: snapshot!.commit,
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
  // read once: what the ref resolves to, its commit, and the other models that may still use the projector
  const snapshot = cachedSnapshot(cacheDir, hf.repo);
  let resolved;
  try {
    resolved = resolveCachedModel(hf, cacheDir, {}, snapshot);
  } catch (err) {
    if (err instanceof HfResolveError) throw new HubError(`${ref} is not in the cache (${cacheDir})`, "not-found", 404);
    throw err;
  }
  const { commit, root: snapRoot, files } = snapshot!;
  const targets = [...resolved.shards];
  if (resolved.mmproj) {
    const others = files.filter((f) => isModelFile(f.repoPath) && !targets.includes(f.localPath));
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
  // deleting blobs below leaves snapshots/ as it is: one walk serves both what is still linked and what is left
  const left = walkFiles(path.join(repoDir, "snapshots"));
  const stillLinked = new Set(left.map(linkTarget));
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
    const snapshot = cachedSnapshot(cacheDir, repo);
    if (!snapshot) continue;
    const { files, commit } = snapshot;
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
