// The shape of one GET /models (and /v1/models) entry, as the router answers it and the web UI reads it. Types only,
// with no imports but the model events' types, so that the web UI can import them without bundling the server.
import type { DownloadProgress, ModelStatus } from "./model-events.js";

export interface ModelEntryStatus {
  value: ModelStatus;
  /** The process's command line (empty for a download). */
  args: string[];
  /** The merged preset as INI text (empty for a download). */
  preset: string;
  /** How far it got, 0 to 1: a load's progress, or (a download entry) the download's, once its size is known. */
  progress?: number;
  /** The download under way: a model POST /models is fetching, or the file an hf-repo preset's load starts with. */
  download?: DownloadProgress;
  /** After a failed load or a crash (status unloaded). */
  exit_code?: number | null;
  failed?: boolean;
  error?: string;
}

/** Memory in bytes: the estimate before a load, and what a loaded model's process takes. */
export interface ModelMemory {
  estimate: { ram: number; vram: number } | null;
  measured: { ram: number; vram: number } | null;
}

// a type alias, not an interface: it stays assignable to Record<string, unknown>, which generic JSON helpers take
export type ModelEntry = {
  id: string;
  aliases: string[];
  tags: string[];
  object: "model";
  owned_by: "llamacpp";
  /** Seconds since the epoch: when the list was made. */
  created: number;
  status: ModelEntryStatus;
  path: string | null;
  size_bytes: number | null;
  /** Where the catalog found it. */
  source: "models_dir" | "cache" | "preset" | "builtin";
  /** The engine that runs it (absent while a download that is not in the catalog yet runs). */
  engine?: "node" | "llama-server" | "cmd" | "remote";
  in_flight: number;
  waiting: number;
  /** Seconds since the epoch, or null when never used. */
  last_used: number | null;
  pinned: boolean;
  /** Seconds idle before it is unloaded (its preset's ttl, or a client's keep-alive); absent: never. */
  ttl?: number;
  memory?: ModelMemory;
  /** Loaded: its process, and the facts it reported. */
  pid?: number;
  n_ctx?: number;
  n_params?: number;
  n_vocab?: number;
  slots?: number;
  /** In a cluster: every node that has the model, and its status there (the entry's status is the best of them). */
  nodes?: Array<{ name: string; status: ModelStatus }>;
};
