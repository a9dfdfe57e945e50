// Model status changes, fanned out to /models/sse clients and to `POST /models/load {"wait":true}` callers.
// The shape is llama.cpp's: {"model","event":"status_change","data":{"status","progress"?,"error"?}}.
export type ModelStatus = "unloaded" | "loading" | "loaded" | "unloading";

export interface ModelEvent {
  model: string;
  event: "status_change";
  data: { status: ModelStatus; progress?: number; error?: string; exit_code?: number | null };
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
