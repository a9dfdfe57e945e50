// The router's core, a thin layer: it keeps the catalog and one ModelInstance per model, hands the pure scheduler's
// effects to the instances (start, stop) and to waiting requests (grant, fail), and the instances' and the
// supervisor's news back to the scheduler. A reload is one diff here. It speaks no HTTP: what it refuses, it
// rejects with a Refused value that the HTTP edge words in the client's dialect.
import { createHash } from "node:crypto";
import path from "node:path";
import { ROUTER_ONLY_ENV } from "../options/child-args.js";
import { cmdEngine } from "../engines/cmd/backend.js";
import type { EngineModule } from "../engines/launch.js";
import { llamaServerEngine } from "../engines/llama-server/backend.js";
import { ROUTER_PORT_ENV } from "../engines/llama-server/state-lines.js";
import { nodeEngine, unknownNodeKey } from "../engines/node/backend.js";
import { remoteEngine } from "../engines/remote/backend.js";
import { EngineSelector } from "../engines/select.js";
import type { EngineName, ReadyInfo } from "../engines/types.js";
import type { Logger } from "../util/log.js";
import { relayLine } from "../util/log.js";
import type { Catalog, ModelSpec } from "../catalog/catalog.js";
import { PresetError } from "../catalog/presets.js";
import { diffCatalogs } from "../catalog/diff.js";
import { Downloads } from "./downloads.js";
import type { ModelEntry } from "./model-entry.js";
import { ModelEvents, type ModelStatus } from "./model-events.js";
import { factsOf, ModelInstance, type InstanceContext, type ModelFacts } from "./model-instance.js";
import { Refused, type RouterError } from "./refusal.js";
import { Scheduler, type Effects, type KeepAlive, type Memory, type ModelConfig, type ModelView } from "./scheduler.js";
import type { Lease, LeaseSource } from "./serve.js";
import { Supervisor, type ProcessEnd } from "./supervisor.js";

export interface RouterOptions {
  modelsMax: number;
  queueMax: number;
  /** How long a model whose load failed answers 503 before it may be tried again. */
  cooldownMs: number;
  loadTimeoutMs: number;
  /** Model-server entry (JS file) and Node flags for node-engine children. */
  childEntry: string;
  childExecArgv: string[];
  /** Shown as argv[0] of status.args for node-engine children. */
  programName: string;
  /** --llama-server */
  llamaServer?: string;
  /** llama-server flags from the router's command line that corral does not know, for every child. */
  passthrough: string[];
  /** Folder for the model processes' Unix sockets; undefined = TCP on 127.0.0.1. */
  socketDir?: string;
  /** Keep a warm spare model process. */
  spare: boolean;
  log: Logger;
  /** Re-reads every model source; throws a one-line error on a bad folder or presets file. */
  readCatalog(): Catalog;
  /** What the models may take together, by their estimates (bytes); undefined: no limit of that kind. */
  memoryBudget?: { ram?: number; vram?: number };
  /** A loaded process that does not answer its health check for this long is killed (ms). */
  healthTimeoutMs: number;
  /** --offline: an `hf-repo` preset not in the cache fails its load instead of being downloaded. */
  offline?: boolean;
}

/** What the router needs of the process side (the Supervisor; a fake in unit tests). */
export type Processes = Pick<Supervisor, "start" | "stop" | "has" | "info" | "outputTail" | "stopAll" | "killAll" | "enableSpare">;

/** The parts a Router is made of, replaceable in unit tests. */
export interface RouterParts {
  processes?(events: ConstructorParameters<typeof Supervisor>[1]): Processes;
  engines?: Partial<Record<EngineName, EngineModule>>;
}

interface Pending {
  resolve(lease: Lease): void;
  reject(err: Refused): void;
}

export class Router implements LeaseSource {
  catalog: Catalog;
  readonly events = new ModelEvents();
  /** Models being downloaded into the hub cache (POST /models, /api/pull); each rescans the sources when done. */
  readonly downloads = new Downloads({
    events: this.events,
    onFinished: (result) => {
      try {
        this.reload();
      } catch (err) {
        this.o.log.error(`'${result.id}' was downloaded, but the models could not be rescanned: ${(err as Error).message}`);
      }
    },
  });
  /** One per model of the catalog, and of a model that left it until its process is gone. */
  private readonly instances = new Map<string, ModelInstance>();
  private readonly scheduler: Scheduler;
  private readonly processes: Processes;
  private readonly engines: Record<EngineName, EngineModule>;
  private readonly node: ReturnType<typeof nodeEngine>;
  private readonly selector: EngineSelector;
  private readonly ctx: InstanceContext;
  private readonly pending = new Map<string, Pending>();
  private seq = 0;
  private port = 0;
  private activity: (() => void) | undefined;
  private tick?: NodeJS.Timeout;

  constructor(private readonly o: RouterOptions, parts: RouterParts = {}) {
    this.node = nodeEngine({ entry: o.childEntry, execArgv: o.childExecArgv, programName: o.programName });
    this.engines = {
      node: this.node,
      "llama-server": llamaServerEngine((spec) => this.instances.get(spec.id)?.facts.binary ?? "llama-server"),
      cmd: cmdEngine,
      remote: remoteEngine,
      ...parts.engines,
    };
    this.selector = new EngineSelector(o.llamaServer);
    const events = {
      progress: (id: string, value: number) => this.instances.get(id)?.onProgress(value),
      ready: (id: string, info: ReadyInfo) => this.instances.get(id)?.onReady(info),
      exit: (id: string, end: ProcessEnd) => this.instances.get(id)?.exited(end),
      output: (id: string, line: string) => relayLine(o.log, id, line),
    };
    this.processes = parts.processes?.(events) ?? new Supervisor({ loadTimeoutMs: o.loadTimeoutMs, healthTimeoutMs: o.healthTimeoutMs }, events);
    this.ctx = {
      processes: this.processes,
      downloads: this.downloads,
      log: o.log,
      baseEnv: () => this.baseEnv(),
      offline: o.offline === true,
      // layers go to a GPU only where one was found (nvidia-smi gave the VRAM budget)
      gpu: o.memoryBudget?.vram !== undefined,
      publish: (ev) => this.events.publish(ev),
      onReady: (id) => this.scheduler.onReady(id),
      onExit: (id, report) => {
        this.scheduler.onExit(id, report);
        // a model that left the catalog is forgotten once its process is gone
        if (!this.scheduler.view(id)) this.instances.delete(id);
        if (report.kind === "stopped") return this.publish(id, "unloaded");
        const coolingMs = this.scheduler.coolingFor(id);
        this.publish(id, "unloaded", {
          error: report.reason, exit_code: report.code,
          ...(report.kind === "signal" || report.kind === "oom" || report.kind === "killed" ? { crashed: true } : {}),
          ...(coolingMs > 0 ? { cooldown_s: Math.ceil(coolingMs / 1000) } : {}),
        });
      },
      onEstimate: (id, memory) => this.scheduler.onMemoryEstimate(id, memory),
    };
    this.catalog = o.readCatalog();
    this.syncInstances(this.catalog);
    const fx: Effects = {
      start: (id) => this.instances.get(id)!.start(),
      stop: (id, cause) => this.instances.get(id)!.stop(cause),
      grant: (reqId, id) => this.grant(reqId, id),
      fail: (reqId, why) => this.settle(reqId, why),
    };
    this.scheduler = new Scheduler(
      {
        modelsMax: o.modelsMax, queueMax: o.queueMax, cooldownMs: o.cooldownMs, now: () => Date.now(),
        ...(o.memoryBudget ? { memoryBudget: o.memoryBudget } : {}),
      },
      fx,
      this.catalog.models.map((m) => this.configOf(m)),
    );
  }

  /** Starts the TTL clock and the load-on-startup models. */
  start(routerPort: number): void {
    this.port = routerPort;
    this.tick = setInterval(() => this.scheduler.onTick(), 1000);
    this.tick.unref();
    // every model's estimate is worked out now, so that /models shows it before any load
    for (const m of this.catalog.models) {
      const known = this.instances.get(m.id)!.ensureEstimate();
      if (m.loadOnStartup) void known.then(() => this.scheduler.onLoadRequest(m.id));
    }
    // a spare only helps node-engine models (llama-server starts in a fraction of Node's time)
    const anyNode = [...this.instances.values()].some((i) => i.facts.engine === "node");
    if (this.o.spare && anyNode) this.processes.enableSpare(this.node.sparePlan(this.baseEnv()));
  }

  /** id or alias → id */
  resolve(name: string): string | undefined {
    return this.catalog.resolve(name);
  }

  /**
   * Waits until `model` may serve one more request (loading it, and making room, as needed). Rejects with a
   * Refused: not loaded (autoload off), busy, queue full, a failed load, the client gone.
   */
  acquire(model: string, autoload: boolean, onGone: (cancel: () => void) => () => void): Promise<Lease> {
    // admission needs the model's memory estimate: the first request for it waits for its header to be read (not
    // an async function: the common case, an estimate known, adds no promise of its own to the proxy path)
    const instance = this.instances.get(model);
    if (instance && !instance.estimated) return instance.ensureEstimate().then(() => this.acquire(model, autoload, onGone));
    const reqId = `r${++this.seq}`;
    return new Promise<Lease>((resolve, reject) => {
      let stopWatching: (() => void) | undefined;
      this.pending.set(reqId, {
        resolve: (lease) => {
          stopWatching?.();
          resolve(lease);
        },
        reject: (err) => {
          stopWatching?.();
          reject(err);
        },
      });
      this.scheduler.onRequest(reqId, model, autoload);
      this.activity?.();
      // granted or failed at once (the common case): nothing to watch
      if (!this.pending.has(reqId)) return;
      stopWatching = onGone(() => {
        if (!this.pending.has(reqId)) return;
        this.scheduler.onCancel(reqId);
        this.activity?.();
        this.settle(reqId, { kind: "client-gone", model });
      });
    });
  }

  /**
   * Calls `fn` whenever requests start, wait or end (in-flight and waiting counts change): a layer above the router
   * keeps other nodes informed with it. One watcher; none by default, which costs the proxy path one check.
   */
  watchActivity(fn: () => void): void {
    this.activity = fn;
  }

  /** POST /models/load. With `wait`, resolves once the model is ready and rejects with the reason if it fails. */
  async load(model: string, wait: boolean): Promise<void> {
    await this.instances.get(model)?.ensureEstimate();
    const answer = this.scheduler.onLoadRequest(model);
    if (answer === "unknown-model") throw this.notFound(model);
    if (answer === "already-running") throw new Refused({ kind: "already-running", model });
    if (typeof answer === "object") throw new Refused(answer);
    if (!wait || this.scheduler.view(model)?.state === "loaded") return;
    const ev = await this.events.next(model, (e) => e.data.status === "loaded" || e.data.status === "unloaded");
    if (ev.data.status !== "loaded") throw new Refused({ kind: "load-ended", model, reason: ev.data.error ?? "" });
  }

  /** A client's keep-alive for a loaded model (Ollama's keep_alive on a request that generates nothing). */
  keepAlive(model: string, keepAlive: KeepAlive): void {
    this.scheduler.onKeepAlive(model, keepAlive);
  }

  /** POST /models/unload */
  unload(model: string): void {
    const answer = this.scheduler.onUnloadRequest(model);
    if (answer === "unknown-model") throw this.notFound(model);
    if (answer === "not-running") throw new Refused({ kind: "not-running", model });
  }

  /** A model name nothing in the catalog answers to; its message names the close matches (or them all, when few). */
  notFound(model: string): Refused {
    return new Refused({ kind: "unknown-model", model, known: this.catalog.models });
  }

  /** POST /models/pin: pinned models are never evicted to make room (until the router stops, or it is unpinned). */
  pin(model: string, pinned: boolean): void {
    if (this.scheduler.onPinRequest(model, pinned) === "unknown-model") throw this.notFound(model);
  }

  /** GET /models?reload=1: re-reads every source; running models that changed or vanished are unloaded. */
  reload(): void {
    let next: Catalog;
    let facts: Map<string, ModelFacts>;
    try {
      next = this.o.readCatalog();
      facts = this.factsFor(next);
    } catch (err) {
      throw new Refused({ kind: "reload-failed", reason: (err as Error).message });
    }
    const keys = (ids: Iterable<[string, ModelFacts]>) => new Map([...ids].map(([id, f]) => [id, f.launchKey]));
    const before = keys(this.catalog.models.map((m) => [m.id, this.instances.get(m.id)!.facts] as [string, ModelFacts]));
    const diff = diffCatalogs(before, keys(facts));
    this.catalog = next;
    const fetched = this.syncInstances(next, facts);
    const restart = new Set(diff.changed.filter((id) => !fetched.has(id)));
    this.scheduler.onCatalogChange(next.models.map((m) => this.configOf(m)), restart);
    // models that left the catalog and had nothing running are forgotten now; the others once their process is gone
    for (const id of this.instances.keys()) if (!this.scheduler.view(id)) this.instances.delete(id);
    for (const m of next.models) void this.instances.get(m.id)!.ensureEstimate();
    const added = new Set(diff.added);
    for (const m of next.models) if (m.loadOnStartup && added.has(m.id)) this.scheduler.onLoadRequest(m.id);
  }

  /** GET /models: every model of the catalog. */
  list(): ModelEntry[] {
    const created = Math.floor(Date.now() / 1000);
    const out: ModelEntry[] = [];
    for (const spec of this.catalog.models) {
      const view = this.scheduler.view(spec.id);
      if (view) out.push(this.instances.get(spec.id)!.entry(view, created));
    }
    return out;
  }

  /** One model as the router sees it now: its spec, its scheduler state, its engine and process arguments. */
  inspect(model: string): { spec: ModelSpec; view: ModelView; engine: EngineName; args: string[]; child?: ReadyInfo } | undefined {
    const instance = this.instances.get(model);
    const view = this.scheduler.view(model);
    if (!instance || !view) return undefined;
    const child = this.processes.info(model);
    return { spec: instance.spec, view, engine: instance.facts.engine, args: instance.facts.args, ...(child ? { child } : {}) };
  }

  /** A model's memory estimate, once it is known. */
  memoryEstimate(model: string): Memory | undefined {
    return this.instances.get(model)?.memoryEstimate;
  }

  /** How many models may run at once (0: no limit) and what they may take together (bytes). */
  get limits(): { modelsMax: number; memoryBudget?: { ram?: number; vram?: number } } {
    return { modelsMax: this.o.modelsMax, ...(this.o.memoryBudget ? { memoryBudget: this.o.memoryBudget } : {}) };
  }

  /** The engine that serves a model (what it speaks, which paths it lacks). */
  engineOf(model: string): EngineModule {
    return this.instances.get(model)!.engine;
  }

  /** Whether a model's process serves embeddings (undefined: a command or remote server, which corral cannot see). */
  servesEmbeddings(model: string): boolean | undefined {
    return this.instances.get(model)?.facts.embeddings;
  }

  /** Whether a model can see images (see ModelInstance.takesImages). */
  takesImages(model: string): boolean {
    return this.instances.get(model)!.takesImages;
  }

  /** Cancels the download of `name` under way (POST /models/unload or DELETE /models of a model not in the catalog yet). */
  cancelDownload(name: string): boolean {
    const d = this.downloads.get(name);
    if (!d) return false;
    d.cancel();
    return true;
  }

  /** GET /models/logs */
  logs(model: string): string[] {
    return this.processes.outputTail(model);
  }

  /** Stops every model process (graceful, then killed after each one's stop timeout). */
  async stopAll(): Promise<void> {
    if (this.tick) clearInterval(this.tick);
    for (const id of [...this.pending.keys()]) this.settle(id, { kind: "shutting-down" });
    await this.processes.stopAll();
    await Promise.all([...this.instances.values()].map((i) => i.upstream?.destroy()));
  }

  killAll(): void {
    this.processes.killAll();
  }

  // ---- scheduler effects on requests ---------------------------------------------------------------------------

  private grant(reqId: string, id: string): void {
    const p = this.pending.get(reqId);
    this.pending.delete(reqId);
    const upstream = this.instances.get(id)?.upstream;
    if (!p || !upstream) {
      // the waiter is gone, or (never expected) the model has no connection: give the grant back
      this.scheduler.onServeDone(reqId);
      p?.reject(new Refused({ kind: "unreachable", model: id, retryAfterS: 1 }));
      return;
    }
    let released = false;
    p.resolve({
      model: id,
      upstream,
      release: (keepAlive) => {
        if (released) return;
        released = true;
        this.scheduler.onServeDone(reqId, keepAlive);
        this.activity?.();
      },
    });
  }

  /** A waiting request ends unserved. */
  private settle(reqId: string, why: RouterError): void {
    const p = this.pending.get(reqId);
    if (!p) return;
    this.pending.delete(reqId);
    p.reject(new Refused(why));
  }

  private publish(model: string, status: ModelStatus, extra: Omit<Parameters<ModelEvents["publish"]>[0]["data"], "status"> = {}): void {
    this.events.publish({ model, event: "status_change", data: { status, ...extra } });
  }

  // ---- the catalog ---------------------------------------------------------------------------------------------

  /**
   * Makes an instance for each new model and gives the others their new spec and facts. Returns the models whose
   * load was waiting for a download that has now put their file in place (they are not restarted).
   */
  private syncInstances(catalog: Catalog, facts = this.factsFor(catalog)): Set<string> {
    const fetched = new Set<string>();
    for (const m of catalog.models) {
      const f = facts.get(m.id)!;
      const known = this.instances.get(m.id);
      if (!known) this.instances.set(m.id, new ModelInstance(m, f, this.engines[f.engine], this.socketPath(m.id), this.ctx));
      else if (known.update(m, f, this.engines[f.engine]) === "fetched") fetched.add(m.id);
    }
    return fetched;
  }

  /** Throws (a StartupError, a PresetError) when a model asks for llama-server and there is none, or has a bad key. */
  private factsFor(catalog: Catalog): Map<string, ModelFacts> {
    const facts = new Map<string, ModelFacts>();
    for (const m of catalog.models) {
      const chosen = this.selector.choose(m);
      const unknown = chosen.engine === "node" ? unknownNodeKey(m) : undefined;
      if (unknown) throw new PresetError(unknown);
      facts.set(m.id, factsOf(m, this.engines[chosen.engine], chosen.binary, this.socketPath(m.id), this.o.passthrough));
    }
    return facts;
  }

  private configOf(s: ModelSpec): ModelConfig {
    const memory = this.instances.get(s.id)?.memoryEstimate;
    return {
      id: s.id,
      pinned: s.pin,
      ...(s.ttlS !== undefined ? { ttlMs: s.ttlS * 1000 } : {}),
      ...(s.maxConcurrent !== undefined ? { maxConcurrent: s.maxConcurrent } : {}),
      ...(memory ? { memory } : {}),
    };
  }

  // ---- helpers -------------------------------------------------------------------------------------------------

  /** The environment of every model process: the router's, without its own settings, plus the router's port. */
  private baseEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of ROUTER_ONLY_ENV) delete env[k];
    env[ROUTER_PORT_ENV] = String(this.port);
    return env;
  }

  /** One socket path per model id (short: Unix socket paths are limited to about 100 bytes). */
  private socketPath(id: string): string | undefined {
    if (!this.o.socketDir) return undefined;
    return path.join(this.o.socketDir, `${createHash("sha1").update(id).digest("hex").slice(0, 12)}.sock`);
  }
}
