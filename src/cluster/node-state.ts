// What a node tells the cluster about itself: the JSON value of its key in the nodes bucket. The local router
// supplies the part it knows (LocalSnapshot); membership adds who and when. Values from other nodes are read
// defensively: a node of another version, or a stray writer, must not break the reader's view.

/** A model process's state on a node (models without a process are absent). The router's status words. */
export type ModelStatus = "downloading" | "loading" | "loaded" | "unloading";

export const MODEL_STATUSES: readonly ModelStatus[] = ["downloading", "loading", "loaded", "unloading"];

export interface NodeModel {
  status: ModelStatus;
  /** Requests being served now. */
  inFlight: number;
  /** Requests queued for it (for its load, or for a slot). */
  waiting: number;
  /** Requests it serves at once (its --parallel); at least 1. */
  slots: number;
}

/** A memory budget: bytes the models may take together, and what is left of it by their estimates. */
export interface MemoryPool {
  budget: number;
  free: number;
}

export interface CatalogEntry {
  /** Memory estimate in bytes; absent = not known. */
  ram?: number;
  vram?: number;
  /** Other names the model answers to on that node. */
  aliases?: string[];
  /** Copies the cluster may run when every copy is busy (its preset's replicas). */
  replicas?: number;
  /** Where the node's catalog found it (GET /models `source`). */
  source?: ModelSource;
}

const SOURCES = ["models_dir", "cache", "preset", "builtin"] as const;
export type ModelSource = (typeof SOURCES)[number];

/** What the local router reports: called for every heartbeat, so it must be cheap. */
export interface LocalSnapshot {
  /** Absent pool = no limit of that kind. */
  memory: { ram?: MemoryPool; vram?: MemoryPool };
  /** Models loaded at once; 0 = unlimited. */
  modelsMax: number;
  /** Every model this node can serve, by id. */
  catalog: Record<string, CatalogEntry>;
  /** Models with a process, by id. */
  models: Record<string, NodeModel>;
}

export const STATE_VERSION = 1;

export interface NodeState extends LocalSnapshot {
  v: typeof STATE_VERSION;
  name: string;
  /** Base URL other nodes forward requests to. */
  url: string;
  /** Random per process start: a node started again under the same name has a new one. */
  startId: string;
  /** corral's version. */
  version: string;
  /** When this value was written (ms since the epoch, the writer's clock): for people; liveness uses the server's. */
  lastSeen: number;
  /** Heartbeat period the writer uses (ms). */
  heartbeatMs: number;
}

const isCount = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x) && x >= 0;
const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

/** A node's value as read from the bucket, or undefined when it is not one this version understands. */
export function parseNodeState(text: string): NodeState | undefined {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(o) || o["v"] !== STATE_VERSION) return undefined;
  const { name, url, startId, version, lastSeen, heartbeatMs, memory, modelsMax, catalog, models } = o;
  if (typeof name !== "string" || typeof url !== "string" || typeof startId !== "string" || typeof version !== "string") return undefined;
  if (!isCount(lastSeen) || !isCount(heartbeatMs) || !isCount(modelsMax) || !isObject(memory) || !isObject(catalog) || !isObject(models)) return undefined;
  const pool = (p: unknown): MemoryPool | undefined => (isObject(p) && isCount(p["budget"]) && typeof p["free"] === "number" ? { budget: p["budget"], free: p["free"] } : undefined);
  const ram = pool(memory["ram"]);
  const vram = pool(memory["vram"]);
  const cat: Record<string, CatalogEntry> = {};
  for (const [id, e] of Object.entries(catalog)) {
    if (!isObject(e)) continue;
    const aliases = Array.isArray(e["aliases"]) ? e["aliases"].filter((a): a is string => typeof a === "string") : [];
    cat[id] = {
      ...(isCount(e["ram"]) ? { ram: e["ram"] } : {}), ...(isCount(e["vram"]) ? { vram: e["vram"] } : {}),
      ...(aliases.length > 0 ? { aliases } : {}), ...(isCount(e["replicas"]) && e["replicas"] >= 1 ? { replicas: e["replicas"] } : {}),
      ...(SOURCES.includes(e["source"] as ModelSource) ? { source: e["source"] as ModelSource } : {}),
    };
  }
  const mods: Record<string, NodeModel> = {};
  for (const [id, m] of Object.entries(models)) {
    if (!isObject(m) || !MODEL_STATUSES.includes(m["status"] as ModelStatus)) continue;
    mods[id] = {
      status: m["status"] as ModelStatus,
      inFlight: isCount(m["inFlight"]) ? m["inFlight"] : 0,
      waiting: isCount(m["waiting"]) ? m["waiting"] : 0,
      slots: isCount(m["slots"]) && m["slots"] >= 1 ? m["slots"] : 1,
    };
  }
  return {
    v: STATE_VERSION, name, url, startId, version, lastSeen, heartbeatMs, modelsMax, catalog: cat, models: mods,
    memory: { ...(ram ? { ram } : {}), ...(vram ? { vram } : {}) },
  };
}

/**
 * A name as one token of a KV key. Keys allow only [-/_=.A-Za-z0-9] and dots split them, while node names have
 * colons (host:port) and model ids slashes and colons: everything but [A-Za-z0-9-] is written as _XX (hex), so
 * distinct names stay distinct keys.
 */
export function keyToken(name: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(name)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9-]/.test(c) ? c : `_${byte.toString(16).padStart(2, "0")}`;
  }
  return out;
}

export function fromKeyToken(token: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === "_" && /^[0-9a-f]{2}$/.test(token.slice(i + 1, i + 3))) {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(token.charCodeAt(i));
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}
