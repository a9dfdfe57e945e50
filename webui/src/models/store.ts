// The server's models, kept current for every view: GET /models for the full entries, and in router mode
// /models/sse for what changes between two reads (status changes, load and download progress). The stream is read
// with fetch rather than EventSource, because EventSource cannot send the API key. Counters that change with every
// request (in flight, last used, measured memory) have no events, so the list is also read again every few seconds.
import { apiFetch, apiJson, HttpError, onKeyChanged, readSse, type DownloadProgress, type ModelEvent, type ModelInfo } from "../api";

/** "router": corral without -m (load, unload, logs, downloads); "single": `corral -m`, one model. */
export type ServerMode = "router" | "single";

export interface ModelsState {
  models: ModelInfo[];
  /** Undefined until /props (or the list) has told. */
  mode: ServerMode | undefined;
  /** Whether the live stream is connected (router mode) or the last read succeeded. */
  live: boolean;
  /** Why the list could not be read, if it could not. */
  error: string | undefined;
  /** Downloads that failed since the page opened, by the name they were asked for. */
  failedDownloads: Record<string, string>;
}

const REFRESH_MS = 4000;
const SINGLE_POLL_MS = 1500;

let state: ModelsState = { models: [], mode: undefined, live: false, error: undefined, failedDownloads: {} };
const listeners = new Set<() => void>();

function set(patch: Partial<ModelsState>): void {
  state = { ...state, ...patch };
  for (const fn of listeners) fn();
}

export function getModelsState(): ModelsState {
  return state;
}

/** Starts the feed with its first subscriber, and stops it with its last. */
export function subscribeModels(fn: () => void): () => void {
  listeners.add(fn);
  if (listeners.size === 1) start();
  return () => {
    listeners.delete(fn);
    if (listeners.size === 0) stop();
  };
}

/** How far a download got, where its size is known. */
function downloadFraction(d: DownloadProgress | undefined): number | undefined {
  return d && d.total > 0 ? d.done / d.total : undefined;
}

let running = false;
let timer: ReturnType<typeof setTimeout> | undefined;
let streamAbort: AbortController | undefined;
let refreshQueued: ReturnType<typeof setTimeout> | undefined;
let offKey: (() => void) | undefined;
let reading = 0;

/** Reads GET /models now (or soon, when `soon`: several events in a row cost one read). */
export function refreshModels(soon = false): Promise<void> {
  if (soon) {
    if (refreshQueued === undefined) refreshQueued = setTimeout(() => void refreshModels(), 150);
    return Promise.resolve();
  }
  if (refreshQueued !== undefined) clearTimeout(refreshQueued);
  refreshQueued = undefined;
  const mine = ++reading;
  return apiJson<{ data: ModelInfo[] }>("/models").then(
    (r) => {
      // an older read answering late must not undo a newer one
      if (mine !== reading) return;
      const models = r.data;
      // the shape tells the mode until /props has (/props needs the key; /models does not)
      const mode = state.mode ?? (models.some((m) => m.source !== undefined) ? "router" : models.length > 0 ? "single" : undefined);
      set({ models, mode, error: undefined, ...(mode === "single" ? { live: true } : {}) });
    },
    (err: Error) => {
      if (mine === reading) set({ error: err.message, ...(state.mode === "single" ? { live: false } : {}) });
    },
  );
}

function start(): void {
  running = true;
  offKey = onKeyChanged(() => {
    void readProps();
    restartStream();
  });
  void refreshModels();
  void readProps();
  schedule();
}

function stop(): void {
  running = false;
  offKey?.();
  if (timer) clearTimeout(timer);
  streamAbort?.abort();
  streamAbort = undefined;
}

function schedule(): void {
  if (!running) return;
  timer = setTimeout(() => {
    void refreshModels().finally(schedule);
  }, state.mode === "single" ? SINGLE_POLL_MS : REFRESH_MS);
}

async function readProps(): Promise<void> {
  try {
    const props = await apiJson<{ role?: string }>("/props");
    set({ mode: props.role === "router" ? "router" : "single" });
  } catch (err) {
    // 401: the key prompt is up, and a new key calls this again; 503: `corral -m` is still loading its model
    if (!(err instanceof HttpError && err.status === 401) && running) setTimeout(() => void readProps(), 2000);
    return;
  }
  // the first answer starts the stream; later ones (a new key) find it restarted by onKeyChanged already
  if (state.mode === "router" && !streamAbort) restartStream();
}

function restartStream(): void {
  if (!running || state.mode !== "router") return;
  streamAbort?.abort();
  const ac = new AbortController();
  streamAbort = ac;
  void follow(ac.signal, 0);
}

/** Reads /models/sse until it ends, then connects again (after a pause that grows while it keeps failing). */
async function follow(signal: AbortSignal, failures: number): Promise<void> {
  let connected = false;
  try {
    const res = await apiFetch("/models/sse", { signal });
    connected = true;
    set({ live: true });
    // events may have been missed while the stream was down
    void refreshModels();
    await readSse(res, (data) => {
      try {
        apply(JSON.parse(data) as ModelEvent);
      } catch {
        // not an event of ours: ignored
      }
    });
  } catch (err) {
    if (signal.aborted) return;
    // a wrong or missing key: the prompt is up, and a new key restarts the stream
    if (err instanceof HttpError && err.status === 401) {
      set({ live: false });
      return;
    }
  }
  if (signal.aborted) return;
  set({ live: false });
  const next = connected ? 0 : failures + 1;
  await new Promise((r) => setTimeout(r, Math.min(500 * 2 ** next, 8000)));
  if (!signal.aborted && running) void follow(signal, next);
}

function apply(ev: ModelEvent): void {
  const models = state.models;
  const i = models.findIndex((m) => m.id === ev.model);
  const d = ev.data;
  switch (ev.event) {
    case "status_change": {
      if (i < 0) return void refreshModels(true);
      const old = models[i]!;
      const status: ModelInfo["status"] = { ...old.status, value: d.status };
      if (d.progress !== undefined) status.progress = d.progress;
      else delete status.progress;
      if (d.status === "loading" || d.status === "loaded") {
        delete status.error;
        delete status.failed;
        delete status.exit_code;
      }
      if (d.error) {
        status.error = d.error;
        status.failed = true;
        if (d.exit_code !== undefined) status.exit_code = d.exit_code;
      }
      replace(i, { ...old, status });
      // progress ticks change nothing else; a new status changes pid, memory, context: read them
      if (d.progress === undefined) void refreshModels(true);
      return;
    }
    case "download_progress": {
      const download = d.download;
      const progress = downloadFraction(download);
      // "downloading" for POST /models; "loading" when the download is the first part of an hf-repo preset's load
      const status: ModelInfo["status"] = { value: d.status, ...(download ? { download } : {}), ...(progress !== undefined ? { progress } : {}) };
      const { [ev.model]: _gone, ...failedDownloads } = state.failedDownloads;
      if (i < 0) {
        const listed: ModelInfo = { id: ev.model, status, source: "cache", size_bytes: download?.total ?? null };
        set({
          models: [...models, listed].sort((a, b) => a.id.localeCompare(b.id)),
          failedDownloads,
        });
      } else {
        replace(i, { ...models[i]!, status: { ...models[i]!.status, ...status } });
        if (_gone !== undefined) set({ failedDownloads });
      }
      return;
    }
    case "download_failed":
      // one refused before it started (an unknown repo) was the POST's own answer, and was never listed
      if (i >= 0) set({ failedDownloads: { ...state.failedDownloads, [ev.model]: d.error ?? "the download failed" } });
      return void refreshModels(true);
    case "download_finished":
    case "model_remove":
      return void refreshModels(true);
  }
}

function replace(i: number, m: ModelInfo): void {
  const models = state.models.slice();
  models[i] = m;
  set({ models });
}
