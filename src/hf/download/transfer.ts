// One file into the hub cache exactly as huggingface_hub lays it out: the bytes go to blobs/<sha256>.incomplete
// (resumed with Range after an interruption), are checked for size and hash, renamed to blobs/<sha256>, and only then
// linked from snapshots/<commit>/<path> with a relative symlink. Discovery reads snapshots/ alone, so it never sees a
// partial or unverified file.
import { createHash, randomBytes, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, mkdir, open, rename, rm, stat, symlink, unlink } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { repoDirOf, repoFolderName } from "../cache.js";
import lockfile from "proper-lockfile";
import { failFor, HubError, hubGet, resolveUrl, throwIfCancelled, type HubConn, type HubFile } from "./hub-api.js";

export interface TransferProgress {
  /** The file's path inside the repo. */
  file: string;
  done: number;
  total: number;
  /** Bytes per second over this transfer so far (resumed bytes excluded). */
  rate: number;
  /** Seconds left at that rate; undefined until there is a rate. */
  etaS?: number;
}

export interface FetchFileOptions {
  conn: HubConn;
  cacheDir: string;
  repo: string;
  commit: string;
  file: HubFile;
  onProgress?: (p: TransferProgress) => void;
  /** Attempts after a network failure, each resuming where the last stopped (default 4). */
  retries?: number;
  retryDelayMs?: number;
}

const blobPathOf = (cacheDir: string, repo: string, blob: string) => path.join(repoDirOf(cacheDir, repo), "blobs", blob);

/** The snapshot path of a repo file; throws on a path that would leave the snapshot (a hostile listing). */
export function snapshotPathOf(cacheDir: string, repo: string, commit: string, repoPath: string): string {
  const parts = repoPath.split("/");
  if (parts.some((p) => p === "" || p === "." || p === ".." || p.includes("\\")) || !/^[0-9a-zA-Z]+$/.test(commit)) {
    throw new HubError(`${repo}: refusing the unsafe file path '${repoPath}'`, "failed");
  }
  return path.join(repoDirOf(cacheDir, repo), "snapshots", commit, ...parts);
}

const sizeOf = async (p: string): Promise<number | undefined> => {
  try {
    return (await stat(p)).size;
  } catch {
    return undefined;
  }
};

interface Inflight {
  done: Promise<boolean>;
  listeners: Set<(p: TransferProgress) => void>;
  /** Pulls still waiting on this transfer: the last one to be cancelled cancels the transfer itself. */
  waiting: number;
  abort: AbortController;
}

// Keyed by blob path: two pulls in one process that need the same bytes (two requests for one model, or one file in
// two quants' listings) wait on one transfer instead of writing one .incomplete twice. Across processes (a `corral
// pull` beside a router downloading the same file) the lock file below does the same job.
const inflight = new Map<string, Inflight>();

/** Makes sure blobs/<blob> holds the verified file; true when bytes were downloaded, false when it was already there. */
async function ensureBlob(o: FetchFileOptions): Promise<boolean> {
  if (!/^[0-9a-f]{40}$|^[0-9a-f]{64}$/i.test(o.file.blob)) {
    throw new HubError(`${o.repo}: the hub gave '${o.file.path}' an unusable object id '${o.file.blob}'`, "failed");
  }
  const what = `${o.repo}/${o.file.path}`;
  throwIfCancelled(o.conn.signal, what);
  const blob = blobPathOf(o.cacheDir, o.repo, o.file.blob);
  let t = inflight.get(blob);
  // a transfer every waiter cancelled may still be letting go of its .incomplete and its lock: a new pull starts
  // after it has (resuming what it wrote), rather than joining it and sharing its cancellation
  while (t?.abort.signal.aborted) {
    await t.done.catch(() => {});
    throwIfCancelled(o.conn.signal, what);
    t = inflight.get(blob);
  }
  if (!t) {
    const listeners = new Set<(p: TransferProgress) => void>();
    const abort = new AbortController();
    const conn = { ...o.conn, signal: abort.signal };
    const done = (async () => {
      if ((await sizeOf(blob)) === o.file.size) return false;
      const unlock = await lockBlob(o.cacheDir, o.repo, o.file.blob, conn.signal, what);
      try {
        // another process may have finished it while this one waited for the lock
        const have = await sizeOf(blob);
        if (have === o.file.size) return false;
        if (have !== undefined) await rm(blob, { force: true });
        await download({ ...o, conn }, blob, (p) => listeners.forEach((l) => l(p)));
        return true;
      } finally {
        await unlock();
      }
    })().finally(() => inflight.delete(blob));
    // a transfer every waiter gave up on still settles; nobody needs to hear about it
    done.catch(() => {});
    t = { done, listeners, waiting: 0, abort };
    inflight.set(blob, t);
  }
  const shared = t;
  const listener = o.onProgress;
  if (listener) shared.listeners.add(listener);
  shared.waiting++;
  const mine = o.conn.signal;
  let onAbort: (() => void) | undefined;
  const cancelled = new Promise<never>((_, reject) => {
    if (!mine) return;
    onAbort = () => {
      // this pull stops waiting; the bytes go on downloading while another pull still wants them
      if (--shared.waiting === 0) shared.abort.abort();
      reject(new HubError(`${what}: the download was cancelled`, "cancelled"));
    };
    mine.addEventListener("abort", onAbort, { once: true });
  });
  cancelled.catch(() => {});
  try {
    return await Promise.race([shared.done, cancelled]);
  } finally {
    if (!mine?.aborted) shared.waiting--;
    if (mine && onAbort) mine.removeEventListener("abort", onAbort);
    if (listener) shared.listeners.delete(listener);
  }
}

/**
 * Holds `.locks/models--owner--repo/<blob>.lock` (huggingface_hub's lock folder) while this process writes the blob,
 * waiting while another process holds it. proper-lockfile makes it with mkdir and keeps its mtime fresh, so a lock
 * left by a killed process goes stale and is taken over instead of blocking every later pull.
 */
async function lockBlob(cacheDir: string, repo: string, blob: string, signal: AbortSignal, what: string): Promise<() => Promise<void>> {
  const dir = path.join(cacheDir, ".locks", repoFolderName(repo));
  await mkdir(dir, { recursive: true });
  const target = path.join(dir, blob);
  for (;;) {
    throwIfCancelled(signal, what);
    try {
      // realpath: false, as the locked path itself never exists (the lock is the folder beside it)
      return await lockfile.lock(target, {
        realpath: false,
        lockfilePath: `${target}.lock`,
        stale: 20_000,
        update: 5_000,
        // the lock folder removed under us (`corral rm` of the repo): the download fails on its own, never the process
        onCompromised: () => {},
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ELOCKED") throw new HubError(`${what}: cannot lock '${target}.lock': ${(err as Error).message}`, "failed");
      await sleep(LOCK_POLL_MS);
    }
  }
}

const LOCK_POLL_MS = 250;

/** Downloads (or reuses) a file and links it into the snapshot; returns the snapshot path. */
export async function fetchFile(o: FetchFileOptions): Promise<{ path: string; downloaded: boolean }> {
  const snap = snapshotPathOf(o.cacheDir, o.repo, o.commit, o.file.path);
  const downloaded = await ensureBlob(o);
  await linkSnapshot(snap, blobPathOf(o.cacheDir, o.repo, o.file.blob));
  return { path: snap, downloaded };
}

/** snapshots/<commit>/<path> → ../../blobs/<blob> (one more ../ per folder), replaced atomically. */
export async function linkSnapshot(snap: string, blob: string): Promise<void> {
  await mkdir(path.dirname(snap), { recursive: true });
  const tmp = `${snap}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await symlink(path.relative(path.dirname(snap), blob), tmp);
  } catch (err) {
    // file systems without symlinks (Windows without developer mode, some mounts): a copy, as huggingface_hub falls back
    if (!["EPERM", "EACCES", "ENOTSUP", "EOPNOTSUPP"].includes((err as NodeJS.ErrnoException).code ?? "")) throw err;
    await copyFile(blob, tmp);
  }
  try {
    await rename(tmp, snap);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

/** An interruption worth resuming from (the connection, not the bytes). */
class Interrupted extends Error {}

/** A hash of the file's bytes from the start: sha256 for LFS files, else the git blob oid (which hashes a header too). */
function newHash(file: HubFile): Hash {
  const h = createHash(file.sha256 ? "sha256" : "sha1");
  if (!file.sha256) h.update(`blob ${file.size}\0`);
  return h;
}

async function download(o: FetchFileOptions, blob: string, emit: (p: TransferProgress) => void): Promise<void> {
  const { file } = o;
  const incomplete = `${blob}.incomplete`;
  await mkdir(path.dirname(blob), { recursive: true });
  const started = Date.now();
  let fresh = 0; // bytes fetched by this process: the rate ignores what an earlier run left behind
  let lastEmit = 0;
  const report = (done: number, force = false) => {
    const now = Date.now();
    if (!force && now - lastEmit < 200) return;
    lastEmit = now;
    const secs = (now - started) / 1000;
    const rate = secs > 0 ? fresh / secs : 0;
    emit({ file: file.path, done, total: file.size, rate, ...(rate > 0 ? { etaS: (file.size - done) / rate } : {}) });
  };
  // The running hash survives a failed attempt (it only ever covers bytes already written), so a resume in this
  // process does not re-read the prefix; a resume of an earlier run's .incomplete hashes its prefix from disk once.
  let hashed: { hash: Hash; upTo: number } | undefined;
  const retries = o.retries ?? 4;
  for (let attempt = 0; ; attempt++) {
    try {
      let start = (await sizeOf(incomplete)) ?? 0;
      if (start > file.size) {
        await rm(incomplete, { force: true });
        start = 0;
      }
      if (!hashed || hashed.upTo !== start) {
        const hash = newHash(file);
        if (start > 0) for await (const chunk of createReadStream(incomplete, { start: 0, end: start - 1 })) hash.update(chunk as Buffer);
        hashed = { hash, upTo: start };
      }
      if (start < file.size) await fetchRange(o, incomplete, start, hashed, (done, n) => ((fresh += n), report(done)));
      report(file.size, true);
      const digest = hashed.hash.digest("hex");
      hashed = undefined;
      const want = (file.sha256 ?? file.blob).toLowerCase();
      if (digest !== want) {
        await rm(incomplete, { force: true });
        throw new HubError(
          `${o.repo}: '${file.path}' failed verification (${file.sha256 ? "sha256" : "git oid"} ${digest}, expected ${want}); the download was deleted`,
          "verify",
        );
      }
      await rename(incomplete, blob);
      return;
    } catch (err) {
      // an aborted body reads as a broken connection: a cancellation is not retried
      throwIfCancelled(o.conn.signal, `${o.repo}/${file.path}`);
      if (!(err instanceof Interrupted)) throw err;
      if (attempt >= retries) {
        throw new HubError(`${o.repo}: downloading '${file.path}' failed after ${attempt + 1} attempts: ${err.message}; run it again to resume`, "network");
      }
      await sleep((o.retryDelayMs ?? 500) * (attempt + 1));
    }
  }
}

/** Appends bytes [start, size) to `incomplete`; throws Interrupted for anything a retry may fix. */
async function fetchRange(
  o: FetchFileOptions,
  incomplete: string,
  start: number,
  hashed: { hash: Hash; upTo: number },
  onBytes: (done: number, n: number) => void,
): Promise<void> {
  const { file } = o;
  const url = resolveUrl(o.conn, o.repo, o.commit, file.path);
  let res;
  try {
    res = await hubGet(o.conn, url, `${o.repo}/${file.path}`, start > 0 ? { range: `bytes=${start}-` } : {});
  } catch (err) {
    if (err instanceof HubError && err.kind === "network") throw new Interrupted(err.message);
    throw err;
  }
  let pos = start;
  if (res.statusCode === 206) {
    const range = /^bytes (\d+)-/.exec(String(res.headers["content-range"] ?? ""));
    if (!range || Number(range[1]) !== start) {
      await res.body.dump();
      throw new Interrupted(`the hub answered the range request from byte ${start} with '${String(res.headers["content-range"])}'`);
    }
  } else if (res.statusCode === 200) {
    // the server ignored Range: start over
    pos = 0;
    if (start > 0) {
      hashed.hash = newHash(file);
      hashed.upTo = 0;
    }
  } else if (res.statusCode >= 500 || res.statusCode === 429) {
    await res.body.dump();
    throw new Interrupted(`HTTP ${res.statusCode}`);
  } else {
    await failFor(res, o.conn, o.repo, `'${file.path}'`);
  }
  const fh = await open(incomplete, pos > 0 ? "r+" : "w");
  try {
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        if (pos + chunk.length > file.size) {
          await fh.close().catch(() => {});
          await rm(incomplete, { force: true });
          throw new HubError(`${o.repo}: '${file.path}' is larger than the ${file.size} bytes the hub listed; the download was deleted`, "verify");
        }
        try {
          await fh.write(chunk, 0, chunk.length, pos);
        } catch (err) {
          // a full or read-only disk is not fixed by retrying
          throw new HubError(`${o.repo}: cannot write '${incomplete}': ${(err as Error).message}`, "failed");
        }
        hashed.hash.update(chunk);
        pos += chunk.length;
        hashed.upTo = pos;
        onBytes(pos, chunk.length);
      }
    } catch (err) {
      if (err instanceof HubError) throw err;
      throw new Interrupted((err as Error).message);
    }
  } finally {
    await fh.close().catch(() => {});
  }
  if (pos < file.size) throw new Interrupted(`the connection ended after ${pos} of ${file.size} bytes`);
}
