// Model status changes, fanned out to /models/sse clients and to `POST /models/load {"wait":true}` callers.
// The shape is llama.cpp's: {"model","event":"status_change","data":{"status","progress"?,"error"?}}.
export type ModelStatus = "unloaded" | "loading" | "loaded" | "unloading" | "downloading";

/** Why a running model is being stopped. */
export type StopCause = "lru" | "memory" | "ttl" | "unload" | "reload" | "wedged" | "shutdown";

/** A download's progress: bytes of the file being fetched, and of the whole pull. */
export interface DownloadProgress {
  file: string;
  done: number;
  total: number;
  /** Bytes per second, and seconds left at that rate. */
  rate: number;
  eta_s?: number;
}

export interface ModelEvent {
  model: string;
  /** In a cluster: the node it happened on (on /models/sse). */
  node?: string;
  /** status_change for loads and unloads; the download_* events and model_remove (llama.cpp's names) for downloads. */
  event: "status_change" | "download_progress" | "download_finished" | "download_failed" | "model_remove";
  data: {
    status: ModelStatus;
    progress?: number;
    error?: string;
    exit_code?: number | null;
    /** With "unloading": why. */
    cause?: StopCause;
    /** With "unloaded": the process died on its own (a crash, a signal, the OOM killer) rather than being stopped. */
    crashed?: boolean;
    /** With "unloaded" after a failure: requests are refused for this long (the back-off). */
    cooldown_s?: number;
    /** With download_progress (status "downloading", or "loading" for an hf-repo preset's first load). */
    download?: DownloadProgress;
    /** With download_finished: the id the downloaded model is listed under. */
    id?: string;
    /** With download_failed: the download was cancelled (an unload), not broken. */
    cancelled?: boolean;
  };
}

export type Listener = (ev: ModelEvent) => void;

export class ModelEvents {
  private readonly listeners = new Set<Listener>();

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  publish(ev: ModelEvent): void {
    for (const fn of [...this.listeners]) fn(ev);
  }

  /** Resolves with the first event for `model` that `pick` accepts. */
  next(model: string, pick: (ev: ModelEvent) => boolean): Promise<ModelEvent> {
    return new Promise((resolve) => {
      const off = this.subscribe((ev) => {
        if (ev.model !== model || !pick(ev)) return;
        off();
        resolve(ev);
      });
    });
  }
}
