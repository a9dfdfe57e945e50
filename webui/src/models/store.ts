// The server's models, kept current for every view: GET /models for the full entries, and in router mode
// /models/sse for what changes between two reads (status changes, load and download progress). The stream is read
// with fetch rather than EventSource, because EventSource cannot send the API key. Counters that change with every
// request (in flight, last used, measured memory) have no events, so the list is also read again every few seconds.
// Whether the server is a node of a cluster (GET /cluster answers) is asked at start and at every reconnection: the
// page may be talking to another server by then.
import { apiFetch, apiJson, HttpError, onKeyChanged, readSse, type DownloadProgress, type ModelEvent, type ModelInfo, type ModelStatus } from "../api";

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
  /** Whether the server is a node of a cluster; undefined until GET /cluster has answered. */
  cluster: boolean | undefined;
}

const REFRESH_MS = 4000;
const SINGLE_POLL_MS = 1500;

let state: ModelsState = { models: [], mode: undefined, live: false, error: undefined, failedDownloads: {}, cluster: undefined };
const listeners = new Set<() => void>();
const eventListeners = new Set<(ev: ModelEvent) => void>();

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

/** Called with every /models/sse event, after the list has taken it in (views with data of their own read it again). */
export function onModelEvent(fn: (ev: ModelEvent) => void): () => void {
  eventListeners.add(fn);
  return () => eventListeners.delete(fn);
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

/** A read of GET /models sent before an event answers with the state before it: its answer is not to be applied. */
function dropReadsInFlight(): void {
  reading++;
}

let probing: Promise<void> | undefined;

/** Asks GET /cluster whether the server is a node of a cluster (one request at a time). */
function probeCluster(): Promise<void> {
  probing ??= apiFetch("/cluster")
    .then(
      (res) => {
        void res.body?.cancel();
        set({ cluster: true });
      },
      (err: Error) => {
        // a 401 tells nothing (a new key reconnects the stream, which asks again); no answer at all keeps what was known
        if (err instanceof HttpError && err.status !== 401) set({ cluster: false });
      },
    )
    .finally(() => (probing = undefined));
  return probing;
}

function start(): void {
  running = true;
  offKey = onKeyChanged(() => {
    void readProps();
    restartStream();
  });
  void refreshModels();
  void readProps();
  void probeCluster();
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
    // events may have been missed while the stream was down, and the server may be another one
    void refreshModels();
    void probeCluster();
    await readSse(res, (data) => {
      let ev: ModelEvent;
      try {
        ev = JSON.parse(data) as ModelEvent;
        apply(ev);
      } catch {
        return; // not an event of ours: ignored
      }
      for (const fn of eventListeners) fn(ev);
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
      let old = models[i]!;
      if (ev.node !== undefined && old.nodes) {
        // a cluster's entry: the node's badge changes; the entry's status (the best of all nodes) may not
        const known = old.nodes.some((n) => n.name === ev.node);
        const nodes = old.nodes.map((n) => (n.name === ev.node ? { ...n, status: d.status } : n));
        old = { ...old, nodes };
        const best = bestStatus(nodes);
        if (best !== d.status || !known) {
          dropReadsInFlight();
          replace(i, best === old.status.value ? old : { ...old, status: { ...old.status, value: best } });
          return void refreshModels(true);
        }
      }
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
      // progress ticks change nothing else; a new status changes pid, memory, context: read them (again: a read
      // sent before this event would answer with the old status)
      if (d.progress === undefined) dropReadsInFlight();
      replace(i, { ...old, status });
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

/** A cluster's merged entry shows its best status of all nodes (as GET /models merges them), best first. */
const RANK: Record<ModelStatus, number> = { loaded: 0, loading: 1, downloading: 2, unloading: 3, unloaded: 4 };

function bestStatus(nodes: ReadonlyArray<{ status: ModelStatus }>): ModelStatus {
  return nodes.reduce<ModelStatus>((b, n) => (RANK[n.status] < RANK[b] ? n.status : b), "unloaded");
}

function replace(i: number, m: ModelInfo): void {
  const models = state.models.slice();
  models[i] = m;
  set({ models });
}
