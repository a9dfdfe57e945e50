// Downloads the router runs for POST /models and Ollama's /api/pull: each is a pull into the Hugging Face cache
// (src/hf/download/), shown in GET /models as a `downloading` entry with its progress and announced on /models/sse
// with llama.cpp's event names. A finished download makes the router rescan its sources, so the model is routable
// at once, with no restart. Two requests for the same model share one download.
import { HubError } from "../hf/download/hub-api.js";
import { pull, type PullResult } from "../hf/download/pull.js";
import type { DownloadProgress, ModelEvents } from "./model-events.js";

export interface Download {
  /** The name it was asked for (owner/repo[:QUANT]); the model's id once it is known may differ (a default quant). */
  name: string;
  /** The preset model this download is for (a request for an `hf-repo` preset not cached yet), if any. */
  forModel?: string;
  progress: DownloadProgress;
  /** Resolves once the hub has said which files it is (or rejects as done does): unknown repos fail here. */
  planned: Promise<void>;
  done: Promise<PullResult>;
  /** Stops it (an unload of the model being downloaded); `done` rejects with HubError "cancelled". */
  cancel(): void;
}

export interface StartOptions {
  /** An exact file in the repo (a preset's `hf-file`). */
  file?: string;
  /**
   * The preset model it is for: its events carry that id and the status `loading` (the model is loading, and this
   * is the first part of it), instead of the download's own name and `downloading`.
   */
  forModel?: string;
}

export interface DownloadsOptions {
  events: ModelEvents;
  /** Called when a download has finished, before it is announced: the router rescans its sources. */
  onFinished(result: PullResult): void;
  /** Hub cache folder, endpoint and token; the environment's (HF_ENDPOINT, HF_TOKEN, LLAMA_CACHE, …) by default. */
  cacheDir?: string;
  token?: string;
  env?: NodeJS.ProcessEnv;
}

/** Progress events at most this often per download: a fast link would otherwise flood /models/sse. */
const PROGRESS_EVERY_MS = 250;

export class Downloads {
  private readonly active = new Map<string, Download>();

  constructor(private readonly o: DownloadsOptions) {}

  /** The download of `name` under way, or a new one. Rejects with the pull's error (HubError, HfResolveError). */
  start(name: string, opts: StartOptions = {}): Download {
    const known = this.active.get(name);
    if (known) return known;
    const abort = new AbortController();
    const eventModel = opts.forModel ?? name;
    const progress: DownloadProgress = { file: "", done: 0, total: 0, rate: 0 };
    let lastEvent = 0;
    let markPlanned!: () => void;
    const planned = new Promise<void>((resolve) => (markPlanned = resolve));
    const status = (event: string) => (opts.forModel ? "loading" : event === "download_progress" ? "downloading" : "unloaded");
    const publish = (event: "download_progress" | "download_finished" | "download_failed", data: Record<string, unknown>) =>
      this.o.events.publish({ model: eventModel, event, data: { status: status(event), ...data } });
    const done = pull(name, {
      ...(this.o.cacheDir ? { cacheDir: this.o.cacheDir } : {}),
      ...(this.o.token ? { token: this.o.token } : {}),
      ...(this.o.env ? { env: this.o.env } : {}),
      ...(opts.file ? { file: opts.file } : {}),
      signal: abort.signal,
      onPlan: (plan) => {
        progress.total = plan.files.reduce((a, f) => a + f.size, 0);
        markPlanned();
      },
      onProgress: (p) => {
        progress.file = p.file;
        progress.done = p.all.done;
        progress.rate = p.all.rate;
        if (p.all.etaS !== undefined) progress.eta_s = Math.ceil(p.all.etaS);
        const now = performance.now();
        if (now - lastEvent >= PROGRESS_EVERY_MS || progress.done === progress.total) {
          lastEvent = now;
          publish("download_progress", { download: { ...progress } });
        }
      },
    }).then(
      (result) => {
        this.active.delete(name);
        this.o.onFinished(result);
        publish("download_finished", { id: result.id });
        return result;
      },
      (err: Error) => {
        this.active.delete(name);
        const cancelled = err instanceof HubError && err.kind === "cancelled";
        publish("download_failed", { error: err.message, ...(cancelled ? { cancelled } : {}) });
        throw err;
      },
    );
    // the caller may not wait: an unobserved failure is reported through the events, not as an unhandled rejection
    done.catch(() => {});
    // a pull with nothing to fetch may end without a plan
    const d: Download = {
      name,
      ...(opts.forModel ? { forModel: opts.forModel } : {}),
      progress,
      planned: Promise.race([planned, done.then(() => undefined)]),
      done,
      cancel: () => abort.abort(),
    };
    this.active.set(name, d);
    return d;
  }

  /** The download of `name` under way, if any. */
  get(name: string): Download | undefined {
    return this.active.get(name);
  }

  /** Downloads under way, for GET /models. */
  list(): Download[] {
    return [...this.active.values()];
  }
}
