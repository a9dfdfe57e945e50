// The page's one way to talk to the server: every request carries the API key the user entered (kept in the
// browser's storage), and a 401 asks for one instead of failing silently.

import { createParser } from "eventsource-parser";
// The wire format's types come from the server's own definitions (types only: nothing of the server is bundled)
import type { DownloadProgress, ModelEvent, ModelStatus } from "../../src/router/model-events";
import type { ModelEntry, ModelEntryStatus } from "../../src/router/model-entry";
export type { DownloadProgress, ModelStatus };

/** A /models/sse event; in a cluster it names the node it happened on. */
export type { ModelEvent };

const KEY_STORAGE = "corral.apiKey";

export function getApiKey(): string {
  return localStorage.getItem(KEY_STORAGE) ?? "";
}

export function setApiKey(key: string): void {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
  for (const fn of changeListeners) fn();
}

type KeyListener = () => void;
const keyListeners = new Set<KeyListener>();
const changeListeners = new Set<KeyListener>();
/** Called whenever the server answers 401: the app shows its key prompt. */
export function onKeyNeeded(fn: KeyListener): () => void {
  keyListeners.add(fn);
  return () => keyListeners.delete(fn);
}

/** Called when the key is entered, changed or forgotten: whatever failed with 401 (a live stream) tries again. */
export function onKeyChanged(fn: KeyListener): () => void {
  changeListeners.add(fn);
  return () => changeListeners.delete(fn);
}

export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** The folder the page is served from: "" at /, "/llm" under `--api-prefix /llm`, where the API is too. */
const BASE = location.pathname.replace(/\/[^/]*$/, "");

/** An API path ("/v1/models") as this page must ask for it. */
function apiUrl(path: string): string {
  return path.startsWith("/") ? BASE + path : path;
}

/** fetch with the key; throws HttpError (with the server's own message) on a non-2xx answer. */
export async function apiFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const key = getApiKey();
  if (key) headers.set("authorization", `Bearer ${key}`);
  if (init.body !== undefined && !headers.has("content-type")) headers.set("content-type", "application/json");
  const res = await fetch(apiUrl(path), { ...init, headers });
  if (res.ok) return res;
  const text = await res.text().catch(() => "");
  let message = text || res.statusText;
  try {
    const body = JSON.parse(text) as { error?: { message?: string } | string };
    message = typeof body.error === "string" ? body.error : body.error?.message ?? message;
  } catch {
    // not JSON: keep the text
  }
  if (res.status === 401) for (const fn of keyListeners) fn();
  throw new HttpError(res.status, message);
}

export async function apiJson<T>(path: string, body?: unknown, method = body === undefined ? "GET" : "POST"): Promise<T> {
  const res = await apiFetch(path, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  return (await res.json()) as T;
}

/**
 * Reads an SSE answer (from apiFetch: the key went with it) to its end, handing each event's data to `onData`. An
 * abort of the request rejects, after `onData` got everything that had arrived.
 */
export async function readSse(res: Response, onData: (data: string) => void): Promise<void> {
  const parser = createParser({ onEvent: (e) => onData(e.data) });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      parser.feed(value);
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * One model as the views show it: a GET /models entry (the router's ModelEntry). `corral -m` answers a single entry
 * of its own, with fewer fields and its facts under `meta`, and the models feed (models/store.ts) lists a download
 * from its first event, before GET /models does: so all but the id and the status's value may be missing.
 */
export type ModelInfo = Partial<Omit<ModelEntry, "id" | "status">> & {
  id: string;
  status: Partial<ModelEntryStatus> & Pick<ModelEntryStatus, "value">;
  /** `corral -m`: llama-server's facts of the one model. */
  meta?: { n_ctx?: number; n_params?: number; size?: number; n_ctx_train?: number };
};

/** A model's status as every view names it: a failed load or crash shows as "failed" rather than "unloaded". */
export function statusWord(m: ModelInfo): string {
  if (m.status.value === "unloaded" && m.status.failed) return "failed";
  return m.status.value;
}

/** A model's status on one node of a cluster (a GET /models entry's `nodes`). */
export type ModelNode = NonNullable<ModelEntry["nodes"]>[number];

/** One node of GET /cluster, and the whole answer (the server's types). */
export type { ClusterNodeEntry as ClusterNode, ClusterList } from "../../src/cluster/cluster-entry";
