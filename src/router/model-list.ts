// The entries of GET /models and /v1/models: llama.cpp's fields (id, aliases, tags, object, owned_by, created,
// status{value,args,preset,exit_code,failed}) plus what its users asked for: where the model comes from, its size,
// what it is doing now, why it failed, and the facts of its running process.
import { longName } from "../options/child-args.js";
import { OPTIONS } from "../options/options.js";
import type { ModelSpec } from "../catalog/catalog.js";
import { formatSize } from "./memory/budget.js";
import type { EngineName, ReadyInfo } from "../engines/types.js";
import type { ModelView } from "./scheduler.js";
import type { DownloadProgress } from "./model-events.js";
import type { ModelEntry, ModelEntryStatus, ModelMemory } from "./model-entry.js";

export type { ModelEntry };

export interface ListedModel {
  spec: ModelSpec;
  view: ModelView;
  engine: EngineName;
  args: string[];
  /** presetText(spec), computed once per catalog. */
  preset: string;
  sizeBytes?: number;
  child?: ReadyInfo;
  progress?: number;
  /** The download an `hf-repo` preset's load starts with, while it runs. */
  download?: DownloadProgress;
  /** Its memory estimate and, loaded, what its process takes (bytes). */
  memory?: ModelMemory;
}

export function modelEntry(m: ListedModel, created: number): ModelEntry {
  const { spec, view } = m;
  const status: ModelEntryStatus = {
    value: view.state === "stopping" ? "unloading" : view.state,
    args: m.args,
    preset: m.preset,
  };
  if (view.state === "loading" && m.progress !== undefined) status.progress = m.progress;
  if (view.state === "loading" && m.download) status.download = m.download;
  if (view.failure && view.state === "unloaded") {
    status.exit_code = view.failure.exitCode;
    status.failed = true;
    status.error = view.failure.reason;
  }
  const entry: ModelEntry = {
    id: spec.id,
    aliases: [...spec.aliases].sort(),
    tags: [...spec.tags].sort(),
    object: "model",
    owned_by: "llamacpp",
    created,
    status,
    path: spec.path ?? null,
    size_bytes: m.sizeBytes ?? null,
    source: spec.source,
    engine: m.engine,
    in_flight: view.inFlight,
    waiting: view.waiting,
    last_used: view.lastUsed > 0 ? Math.floor(view.lastUsed / 1000) : null,
    pinned: view.pinned,
    // seconds idle before it is unloaded (its preset's ttl, or a client's keep-alive); absent: never
    ...(view.ttlMs !== undefined ? { ttl: view.ttlMs / 1000 } : {}),
    ...(m.memory ? { memory: m.memory } : {}),
  };
  if (m.child && view.state === "loaded") {
    if (m.child.pid !== undefined) entry.pid = m.child.pid;
    for (const k of ["n_ctx", "n_params", "n_vocab", "slots"] as const) {
      const v = m.child.facts[k];
      if (typeof v === "number") entry[k] = v;
    }
  }
  return entry;
}

/** What the model list reads of the router's downloads: each one under way, and whether a name is in the catalog. */
export interface DownloadSource {
  readonly downloads: { list(): ReadonlyArray<{ name: string; forModel?: string; progress: DownloadProgress }> };
  resolve(name: string): string | undefined;
}

/**
 * GET /models entries for the downloads under way that are not models yet: a preset's own download shows in its
 * model's entry instead, and one that has finished is listed by the catalog.
 */
export function downloadEntries(source: DownloadSource, created: number): ModelEntry[] {
  return source.downloads.list().filter((d) => !d.forModel && source.resolve(d.name) === undefined).map((d) => downloadEntry(d, created));
}

/**
 * The entry of a download that is not in the catalog yet (POST /models): listed as `downloading`, its progress a
 * fraction as a load's is, once the download knows its size.
 */
export function downloadEntry(d: { name: string; progress: DownloadProgress }, created: number): ModelEntry {
  const download = { ...d.progress };
  return {
    id: d.name, aliases: [], tags: [], object: "model", owned_by: "llamacpp", created,
    status: { value: "downloading", ...(download.total > 0 ? { progress: download.done / download.total } : {}), download, args: [], preset: "" },
    path: null, size_bytes: download.total || null, source: "cache", in_flight: 0, waiting: 0, last_used: null, pinned: false,
  };
}

/** The merged preset as INI text, as llama.cpp shows it (router-owned keys left out). */
export function presetText(spec: ModelSpec): string {
  const lines = [`[${spec.id}]`];
  if (spec.path) lines.push(`model = ${spec.path}`);
  if (spec.hfRepo) lines.push(`hf-repo = ${spec.hfRepo}`);
  if (spec.hfFile) lines.push(`hf-file = ${spec.hfFile}`);
  if (spec.mmproj) lines.push(`mmproj = ${spec.mmproj}`);
  // cmd and proxy decide the engine themselves
  if (spec.engine !== "auto" && !spec.cmd && !spec.proxy) lines.push(`engine = ${spec.engine}`);
  if (spec.llamaServer) lines.push(`llama-server = ${spec.llamaServer}`);
  if (spec.cmd) lines.push(`cmd = ${spec.cmd}`);
  if (spec.proxy) lines.push(`proxy = ${spec.proxy}`);
  if (spec.health) lines.push(`health = ${spec.health}`);
  if (spec.stopSignal) lines.push(`stop-signal = ${spec.stopSignal}`);
  if (spec.memoryBytes !== undefined) lines.push(`memory = ${formatSize(spec.memoryBytes)}`);
  // a remote server's key is a secret, and /models is readable without the API key
  if (spec.upstreamApiKey) lines.push("api-key = ***");
  for (const o of OPTIONS) {
    const v = (spec.options as Record<string, unknown>)[o.key];
    if (v === undefined || o.routerOnly) continue;
    lines.push(`${longName(o.names).replace(/^-+/, "")} = ${Array.isArray(v) ? v.join(",") : String(v)}`);
  }
  for (const p of spec.passthrough) lines.push(`${p.key} = ${p.args.slice(1).join(" ") || "true"}`);
  if (spec.loadOnStartup) lines.push("load-on-startup = true");
  if (spec.ttlS !== undefined) lines.push(`ttl = ${spec.ttlS}`);
  if (spec.pin) lines.push("pin = true");
  if (spec.maxConcurrent !== undefined) lines.push(`max-concurrent = ${spec.maxConcurrent}`);
  if (spec.replicas !== undefined) lines.push(`replicas = ${spec.replicas}`);
  // values may be secrets (tokens), and /models is readable without the API key
  for (const k of Object.keys(spec.env)) lines.push(`env = ${k}=***`);
  return lines.join("\n") + "\n\n";
}
