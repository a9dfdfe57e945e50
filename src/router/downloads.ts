// Downloads the router runs for POST /models and Ollama's /api/pull: each is a pull into the Hugging Face cache
// (src/hf/download/), shown in GET /models as a `downloading` entry with its progress and announced on /models/sse
// with llama.cpp's event names. A finished download makes the router rescan its sources, so the model is routable
// at once, with no restart. Two requests for the same model share one download.
import { pull, type PullResult } from "../hf/download/pull.js";
import type { DownloadProgress, ModelEvents } from "./model-events.js";

export interface Download {
  /** The name it was asked for (owner/repo[:QUANT]); the model's id once it is known may differ (a default quant). */
  name: string;
  progress: DownloadProgress;
  /** Resolves once the hub has said which files it is (or rejects as done does): unknown repos fail here. */
  planned: Promise<void>;
  done: Promise<PullResult>;
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
  start(name: string): Download {
    const known = this.active.get(name);
    if (known) return known;
    const progress: DownloadProgress = { file: "", done: 0, total: 0, rate: 0 };
    let sizes: number[] = [];
    let lastEvent = 0;
    let markPlanned!: () => void;
    const planned = new Promise<void>((resolve) => (markPlanned = resolve));
    const publish = (event: "download_progress" | "download_finished" | "download_failed", data: Record<string, unknown>) =>
      this.o.events.publish({ model: name, event, data: { status: event === "download_progress" ? "downloading" : "unloaded", ...data } });
    const done = pull(name, {
      ...(this.o.cacheDir ? { cacheDir: this.o.cacheDir } : {}),
      ...(this.o.token ? { token: this.o.token } : {}),
      ...(this.o.env ? { env: this.o.env } : {}),
      onPlan: (plan) => {
        sizes = plan.files.map((f) => f.size);
        progress.total = sizes.reduce((a, b) => a + b, 0);
        markPlanned();
      },
      onProgress: (p) => {
        // the whole pull's bytes: the files before this one, and this one's so far
        progress.file = p.file;
        progress.done = sizes.slice(0, p.index).reduce((a, b) => a + b, 0) + p.done;
        progress.rate = p.rate;
        const left = progress.total - progress.done;
        if (p.rate > 0) progress.eta_s = Math.ceil(left / p.rate);
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
        publish("download_failed", { error: err.message });
        throw err;
      },
    );
    // the caller may not wait: an unobserved failure is reported through the events, not as an unhandled rejection
    done.catch(() => {});
    // a pull with nothing to fetch may end without a plan
    const d: Download = { name, progress, planned: Promise.race([planned, done.then(() => undefined)]), done };
    this.active.set(name, d);
    return d;
  }

  /** Downloads under way, for GET /models. */
  list(): Download[] {
    return [...this.active.values()];
  }
}
