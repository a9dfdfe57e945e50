// The catalog: what models exist and how each one is started. It merges the sources with llama.cpp's precedence
// (router command line > [id] > [*] > discovered), resolves aliases, and reports conflicts as clear start-up
// errors instead of llama.cpp's phantom or silently duplicated entries.
import type { EngineChoice, ModelOptions } from "../options/options.js";
import type { DiscoveredModel } from "./discover.js";
import { PresetError, type PassthroughKey, type PresetExtras, type PresetFile, type PresetSection } from "./presets.js";

export interface ModelSpec {
  id: string;
  source: "models_dir" | "cache" | "preset" | "builtin";
  path?: string;
  mmproj?: string;
  hfRepo?: string;
  hfFile?: string;
  /** Why hfRepo could not be served from the cache (the load fails with it). */
  hfError?: string;
  aliases: string[];
  tags: string[];
  /** Model-process options after precedence; only what some source set explicitly. */
  options: Partial<ModelOptions>;
  loadOnStartup: boolean;
  stopTimeoutS: number;
  ttlS?: number;
  pin: boolean;
  /** Requests served at once by this model; past it 429 (preset key max-concurrent). */
  maxConcurrent?: number;
  /** In a cluster: how many nodes may run a copy at once when every copy is busy (preset key replicas; default 1). */
  replicas?: number;
  env: Record<string, string>;
  /** What the user asked for (preset `engine`, else --engine); `cmd` and `remote` follow from `cmd` / `proxy`. */
  engine: EngineChoice;
  /** The llama-server binary this model asks for (preset key llama-server). */
  llamaServer?: string;
  cmd?: string;
  proxy?: string;
  health?: string;
  stopSignal?: NodeJS.Signals;
  /** A remote server's own key. */
  upstreamApiKey?: string;
  /** Preset keys corral's table does not know, for llama-server children (verbatim). */
  passthrough: PassthroughKey[];
  /** Preset key `memory`: the model's RAM in bytes, used instead of an estimate (cmd and remote models have none). */
  memoryBytes?: number;
}

export interface Catalog {
  models: ModelSpec[];
  /** id or alias -> id */
  resolve(name: string): string | undefined;
}

export const DEFAULT_STOP_TIMEOUT_S = 10;

export function buildCatalog(input: {
  discovered: DiscoveredModel[];
  presets?: PresetFile;
  /** Model options given on the router's command line: they win over every preset. */
  cliOptions: Partial<ModelOptions>;
  /** Router-wide --models-ttl, used where a model sets no ttl. */
  defaultTtlS?: number;
  /** --engine */
  engine?: ModelSpec["engine"];
}): Catalog {
  const byId = new Map<string, ModelSpec>();
  // A folder model replaces a cache model of the same id, as in llama.cpp.
  for (const d of [...input.discovered].sort((a, b) => (a.source === b.source ? 0 : a.source === "cache" ? -1 : 1))) {
    byId.set(d.id, {
      id: d.id, source: d.source, path: d.path, ...(d.mmproj ? { mmproj: d.mmproj } : {}),
      aliases: [], tags: [], options: {}, loadOnStartup: false, stopTimeoutS: DEFAULT_STOP_TIMEOUT_S, pin: false, env: {},
      engine: input.engine ?? "auto", passthrough: [],
    });
  }
  const global = input.presets?.global;
  for (const section of input.presets?.models ?? []) {
    const existing = byId.get(section.name);
    const x = section.extras;
    const where = `${input.presets!.file}:${section.line}`;
    if (!existing && !x.model && !x.hfRepo && !x.cmd && !x.proxy) {
      throw new PresetError(`${where}: [${section.name}] matches no discovered model and sets none of 'model', 'hf-repo', 'cmd' or 'proxy'`);
    }
    if (x.apiKey !== undefined && (!x.proxy || x.cmd)) {
      throw new PresetError(`${where}: [${section.name}] 'api-key' is the key of a remote server: it needs 'proxy' and no 'cmd' (the router's own key is --api-key)`);
    }
    byId.set(section.name, mergeSection(existing ?? blank(section.name, input.engine), section));
  }
  for (const spec of byId.values()) {
    spec.options = { ...(global?.options ?? {}), ...spec.options, ...input.cliOptions };
    if (global) applyGlobalExtras(spec, global);
    if (spec.ttlS === undefined && input.defaultTtlS !== undefined) spec.ttlS = input.defaultTtlS;
  }

  const names = new Map<string, string>();
  const models = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const m of models) names.set(m.id, m.id);
  for (const m of models) {
    for (const a of m.aliases) {
      const other = names.get(a);
      if (other !== undefined && other !== m.id) {
        throw new PresetError(`alias '${a}' of model '${m.id}' is already the name of model '${other}'`);
      }
      names.set(a, m.id);
    }
  }
  return { models, resolve: (name) => names.get(name) };
}

function blank(id: string, engine: ModelSpec["engine"] = "auto"): ModelSpec {
  return {
    id, source: "preset", aliases: [], tags: [], options: {}, loadOnStartup: false, stopTimeoutS: DEFAULT_STOP_TIMEOUT_S, pin: false, env: {},
    engine, passthrough: [],
  };
}

/** [id] over whatever was discovered under that id. */
function mergeSection(base: ModelSpec, s: PresetSection): ModelSpec {
  const x = s.extras;
  const spec: ModelSpec = {
    ...base, options: { ...base.options, ...s.options }, env: { ...base.env, ...s.argEnv, ...(x.env ?? {}) },
    passthrough: [...base.passthrough, ...s.passthrough],
  };
  if (x.model) {
    spec.path = x.model;
    delete spec.hfRepo;
    delete spec.hfFile;
  }
  if (x.hfRepo) {
    spec.hfRepo = x.hfRepo;
    if (x.hfFile) spec.hfFile = x.hfFile;
    else delete spec.hfFile;
    if (!x.model) delete spec.path;
  }
  if (x.mmproj) spec.mmproj = x.mmproj;
  if (x.aliases) spec.aliases = x.aliases;
  if (x.tags) spec.tags = x.tags;
  if (x.loadOnStartup !== undefined) spec.loadOnStartup = x.loadOnStartup;
  if (x.stopTimeoutS !== undefined) spec.stopTimeoutS = x.stopTimeoutS;
  if (x.ttlS !== undefined) spec.ttlS = x.ttlS;
  if (x.pin !== undefined) spec.pin = x.pin;
  if (x.maxConcurrent !== undefined) spec.maxConcurrent = x.maxConcurrent;
  if (x.replicas !== undefined) spec.replicas = x.replicas;
  if (x.engine) spec.engine = x.engine as ModelSpec["engine"];
  if (x.llamaServer) spec.llamaServer = x.llamaServer;
  if (x.cmd) spec.cmd = x.cmd;
  if (x.proxy) spec.proxy = x.proxy;
  if (x.health) spec.health = x.health;
  if (x.stopSignal) spec.stopSignal = x.stopSignal;
  if (x.apiKey !== undefined) spec.upstreamApiKey = x.apiKey;
  if (x.memoryBytes !== undefined) spec.memoryBytes = x.memoryBytes;
  return spec;
}

/** [*] under every model: it fills only what the model's own section left unset. */
function applyGlobalExtras(spec: ModelSpec, section: PresetSection): void {
  const g: PresetExtras = section.extras;
  spec.env = { ...section.argEnv, ...(g.env ?? {}), ...spec.env };
  // the model's own keys come later on the command line, so they win in the child
  const own = new Set(spec.passthrough.map((p) => p.key));
  spec.passthrough = [...section.passthrough.filter((p) => !own.has(p.key)), ...spec.passthrough];
  if (g.engine && spec.engine === "auto") spec.engine = g.engine as ModelSpec["engine"];
  if (g.llamaServer && !spec.llamaServer) spec.llamaServer = g.llamaServer;
  if (g.stopSignal && !spec.stopSignal) spec.stopSignal = g.stopSignal;
  if (g.stopTimeoutS !== undefined && spec.stopTimeoutS === DEFAULT_STOP_TIMEOUT_S) spec.stopTimeoutS = g.stopTimeoutS;
  if (g.ttlS !== undefined && spec.ttlS === undefined) spec.ttlS = g.ttlS;
  if (g.tags && spec.tags.length === 0) spec.tags = g.tags;
  if (g.maxConcurrent !== undefined && spec.maxConcurrent === undefined) spec.maxConcurrent = g.maxConcurrent;
  if (g.replicas !== undefined && spec.replicas === undefined) spec.replicas = g.replicas;
  if (g.memoryBytes !== undefined && spec.memoryBytes === undefined) spec.memoryBytes = g.memoryBytes;
}
