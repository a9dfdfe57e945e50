// The shape of GET /cluster, as a node answers it and the web UI reads it. Types only, importing only types, so that
// the web UI can import them without bundling the server.
import type { LocalSnapshot, ModelStatus } from "./node-state.js";

/** One node: its last published state, as the node answering sees it. */
export interface ClusterNodeEntry {
  name: string;
  /** The base URL the other nodes reach it at. */
  url: string;
  status: "up" | "down";
  /** The node answering. */
  self: boolean;
  /** Unix seconds, by the node's own clock. */
  last_seen: number;
  version: string;
  /** Models loaded at once; 0 = no limit. */
  models_max: number;
  /** Bytes; an absent pool is no limit of that kind. */
  memory: LocalSnapshot["memory"];
  /** Models with a process there. */
  models: Array<{ id: string; status: ModelStatus; in_flight: number; waiting: number; slots: number }>;
}

export interface ClusterList {
  object: "list";
  /** The name of the node answering. */
  node: string;
  /** Whether that node is connected to NATS (when not, the others' states may be out of date). */
  connected: boolean;
  data: ClusterNodeEntry[];
}
