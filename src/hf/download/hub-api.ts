// The hub's public API as llama.cpp and huggingface_hub use it: a revision's commit, a commit's file tree (sizes and
// LFS sha256), and the bytes at /resolve/. Every failure becomes one HubError whose kind the CLI turns into an exit
// code and the router (later) into an HTTP status.
import { request, type Dispatcher } from "undici";

export type HubErrorKind = "not-found" | "auth" | "network" | "verify" | "failed" | "cancelled";

/** One clear line; `kind` says what went wrong so callers can map it (exit code, HTTP status). */
export class HubError extends Error {
  constructor(
    message: string,
    readonly kind: HubErrorKind,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface HubOptions {
  /** Defaults to HF_ENDPOINT, else https://huggingface.co. */
  endpoint?: string;
  /** Defaults to HF_TOKEN (or HUGGING_FACE_HUB_TOKEN); sent as a bearer token. */
  token?: string;
  env?: NodeJS.ProcessEnv;
  /** Aborts every request (a cancelled download): they fail with HubError "cancelled". */
  signal?: AbortSignal;
}

export interface HubConn {
  endpoint: string;
  token?: string;
  signal?: AbortSignal;
}

export function hubConn(o: HubOptions = {}): HubConn {
  const env = o.env ?? process.env;
  const endpoint = (o.endpoint || env["HF_ENDPOINT"] || "https://huggingface.co").replace(/\/+$/, "");
  const token = o.token || env["HF_TOKEN"] || env["HUGGING_FACE_HUB_TOKEN"] || undefined;
  return { endpoint, ...(token ? { token } : {}), ...(o.signal ? { signal: o.signal } : {}) };
}

/** A file of a commit's tree. `blob` names it in the cache: the LFS sha256, else the git blob oid (as huggingface_hub). */
export interface HubFile {
  path: string;
  size: number;
  blob: string;
  /** Present for LFS files: what the bytes must hash to. Otherwise `blob` is a git (sha1) blob oid. */
  sha256?: string;
}

const encodePath = (p: string) => p.split("/").map(encodeURIComponent).join("/");

export function resolveUrl(conn: HubConn, repo: string, commit: string, file: string): string {
  return `${conn.endpoint}/${repo}/resolve/${encodeURIComponent(commit)}/${encodePath(file)}`;
}

const header = (h: Dispatcher.ResponseData["headers"], k: string): string | undefined => {
  const v = h[k];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * A GET that follows redirects itself: the real hub sends /resolve/ to a CDN with a signed URL, and the token must not
 * travel to another host (huggingface_hub and browsers drop it too).
 */
export async function hubGet(conn: HubConn, url: string, what: string, extra: Record<string, string> = {}): Promise<Dispatcher.ResponseData> {
  const origin = new URL(url).origin;
  for (let hops = 0; hops <= 10; hops++) {
    const headers: Record<string, string> = { "user-agent": "corral", ...extra };
    if (conn.token && new URL(url).origin === origin) headers["authorization"] = `Bearer ${conn.token}`;
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, { method: "GET", headers, ...(conn.signal ? { signal: conn.signal } : {}) });
    } catch (err) {
      throwIfCancelled(conn.signal, what);
      throw new HubError(`cannot reach ${new URL(url).origin} for ${what}: ${(err as Error).message}`, "network");
    }
    const loc = header(res.headers, "location");
    if (res.statusCode >= 300 && res.statusCode < 400 && loc) {
      await res.body.dump();
      url = new URL(loc, url).href;
      continue;
    }
    return res;
  }
  throw new HubError(`too many redirects for ${what}`, "network");
}

/** Throws HubError "cancelled" once `signal` has aborted. */
export function throwIfCancelled(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new HubError(`${what}: the download was cancelled`, "cancelled");
}

/** Turns a non-2xx answer into a HubError (consuming its body). */
export async function failFor(res: Dispatcher.ResponseData, conn: HubConn, repo: string, what: string): Promise<never> {
  const body = (await res.body.text().catch(() => "")).slice(0, 300);
  let detail = "";
  try {
    detail = (JSON.parse(body) as { error?: string }).error ?? "";
  } catch {
    detail = body.trim();
  }
  const s = res.statusCode;
  // the real hub answers 401 + RepoNotFound for a repo that does not exist or that this token may not see
  if (header(res.headers, "x-error-code") === "RepoNotFound") {
    const hint = conn.token ? "" : " (if it is private or gated, set HF_TOKEN or pass --hf-token)";
    throw new HubError(`${repo}: ${what}: no such repo on ${conn.endpoint}${hint}`, "not-found", s);
  }
  if (s === 401 || s === 403) {
    const hint = conn.token
      ? "the token was refused (check HF_TOKEN / --hf-token, and that you accepted the repo's terms on the hub)"
      : "the repo is gated or private: set HF_TOKEN (or pass --hf-token) to a token that can read it";
    throw new HubError(`${repo}: ${what}: access denied (HTTP ${s}): ${hint}`, "auth", s);
  }
  if (s === 404) {
    throw new HubError(`${repo}: ${what}: not found on ${conn.endpoint} (HTTP 404)${detail ? `: ${detail}` : ""}`, "not-found", s);
  }
  throw new HubError(`${repo}: ${what}: HTTP ${s}${detail ? `: ${detail}` : ""}`, s >= 500 ? "network" : "failed", s);
}

async function getJson(conn: HubConn, repo: string, url: string, what: string): Promise<{ json: unknown; next?: string }> {
  const res = await hubGet(conn, url, `${repo} (${what})`, { accept: "application/json" });
  if (res.statusCode !== 200) await failFor(res, conn, repo, what);
  let json: unknown;
  try {
    json = await res.body.json();
  } catch (err) {
    throwIfCancelled(conn.signal, `${repo} (${what})`);
    throw new HubError(`${repo}: ${what}: the hub answered something that is not JSON (${(err as Error).message})`, "failed");
  }
  // the tree listing is paginated with a Link header, as huggingface_hub follows it
  const link = header(res.headers, "link");
  const next = link ? /<([^>]+)>;\s*rel="next"/.exec(link)?.[1] : undefined;
  return { json, ...(next ? { next: new URL(next, url).href } : {}) };
}

/** The commit a revision (branch, tag or sha) points at. */
export async function resolveCommit(repo: string, revision = "main", o: HubOptions = {}): Promise<string> {
  const conn = hubConn(o);
  const { json } = await getJson(conn, repo, `${conn.endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}`, `revision '${revision}'`);
  const sha = (json as { sha?: unknown }).sha;
  if (typeof sha !== "string" || !/^[0-9a-f]{40}$/i.test(sha)) {
    throw new HubError(`${repo}: the hub gave no commit for revision '${revision}'`, "failed");
  }
  return sha;
}

interface TreeEntry {
  type?: string;
  path?: string;
  size?: number;
  oid?: string;
  lfs?: { oid?: string; size?: number };
}

/** Every file of a commit, recursively. */
export async function listFiles(repo: string, commit: string, o: HubOptions = {}): Promise<HubFile[]> {
  const conn = hubConn(o);
  const out: HubFile[] = [];
  let url: string | undefined = `${conn.endpoint}/api/models/${repo}/tree/${encodeURIComponent(commit)}?recursive=true&expand=false`;
  for (let page = 0; url && page < 1000; page++) {
    const { json, next }: { json: unknown; next?: string } = await getJson(conn, repo, url, "file list");
    if (!Array.isArray(json)) throw new HubError(`${repo}: the hub's file list is not a list`, "failed");
    for (const e of json as TreeEntry[]) {
      if (e.type !== "file" || typeof e.path !== "string") continue;
      const sha256 = e.lfs?.oid;
      const blob = sha256 ?? e.oid;
      const size = e.lfs?.size ?? e.size;
      if (typeof blob !== "string" || typeof size !== "number") continue;
      out.push({ path: e.path, size, blob, ...(sha256 ? { sha256 } : {}) });
    }
    url = next;
  }
  return out;
}
