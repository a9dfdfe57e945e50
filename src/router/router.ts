// The router's core: it wires the pure scheduler to the real world. Scheduler effects become process starts and
// stops (supervisor, running the plan of each model's engine) and granted or refused requests (promises the HTTP
// layer awaits); supervisor events become scheduler events and /models/sse events. It also owns the catalog, so
// that a reload is one diff here.
import { createHash } from "node:crypto";
import { rmSync, statSync } from "node:fs";
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
import { ApiError } from "../http/errors.js";
import { relayLine, type Logger } from "../util/log.js";
import type { Catalog, ModelSpec } from "../catalog/catalog.js";
import { PresetError } from "../catalog/presets.js";
import { diffCatalogs } from "../catalog/diff.js";
import { Downloads, type Download } from "./downloads.js";
import { servesEmbeddings } from "./embeddings-check.js";
import { ModelEvents, type ModelEvent, type ModelStatus, type StopCause } from "./model-events.js";
import { modelEntry, presetText } from "./model-list.js";
import { unknownModelMessage, type Refusal } from "./refusal.js";
import { refusalError } from "./refusal-http.js";
import { Scheduler, type Effects, type KeepAlive, type Memory, type ModelConfig, type ModelView } from "./scheduler.js";
import { exitKind, oomKillCount } from "./exit-kind.js";
import { HealthWatch } from "./health-watch.js";
import { measureMemory } from "./memory/measure.js";
import { modelMemoryEstimate } from "./memory/model-memory.js";
import type { ExitHow } from "./supervisor.js";
import type { Lease, LeaseSource } from "./serve.js";
import { Supervisor } from "./supervisor.js";
import { Upstream } from "./upstream.js";

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

interface Pending {
  resolve(lease: Lease): void;
  reject(err: ApiError): void;
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
  private specs = new Map<string, ModelSpec>();
  /** What only a reload changes, worked out once per catalog rather than per listing or load. */
  private facts = new Map<string, ModelFacts>();
  private readonly scheduler: Scheduler;
  private readonly supervisor: Supervisor;
  private readonly upstreams = new Map<string, Upstream>();
  private readonly engines: Record<EngineName, EngineModule>;
  private readonly node: ReturnType<typeof nodeEngine>;
  private readonly selector: EngineSelector;
  private readonly progress = new Map<string, number>();
  /** `hf-repo` presets whose load is downloading their files first. */
  private readonly fetching = new Map<string, Download>();
  private readonly pending = new Map<string, Pending>();
  /** Each model's memory estimate once known (null: it cannot be estimated), and the estimates under way. */
  private readonly memory = new Map<string, Memory | null>();
  private readonly estimating = new Map<string, Promise<void>>();
  /** The kernel's OOM-kill count when each model's process started (see exit-kind.ts). */
  private readonly oomAtStart = new Map<string, number | undefined>();
  private readonly health: HealthWatch;
  private seq = 0;
  private port = 0;
  private tick?: NodeJS.Timeout;

  constructor(private readonly o: RouterOptions) {
    this.node = nodeEngine({ entry: o.childEntry, execArgv: o.childExecArgv, programName: o.programName });
    this.engines = {
      node: this.node,
      "llama-server": llamaServerEngine((spec) => this.facts.get(spec.id)?.binary ?? "llama-server"),
      cmd: cmdEngine,
      remote: remoteEngine,
    };
    this.selector = new EngineSelector(o.llamaServer);
    this.catalog = o.readCatalog();
    this.indexSpecs();
    const fx: Effects = {
      start: (id) => this.startProcess(id),
      stop: (id, cause) => this.stopProcess(id, cause),
      grant: (reqId, id) => this.grant(reqId, id),
      fail: (reqId, why) => this.failRequest(reqId, why),
    };
    this.scheduler = new Scheduler(
      {
        modelsMax: o.modelsMax, queueMax: o.queueMax, cooldownMs: o.cooldownMs, now: () => Date.now(),
        ...(o.memoryBudget ? { memoryBudget: o.memoryBudget } : {}),
      },
      fx,
      this.catalog.models.map((m) => this.configOf(m)),
    );
    // a probe at most every 5 s, and several within one timeout, so that a wedge is found within about the timeout
    this.health = new HealthWatch({
      everyMs: Math.min(5000, Math.max(100, Math.floor(o.healthTimeoutMs / 3))),
      timeoutMs: o.healthTimeoutMs,
      probe: (id, timeoutMs) => this.upstreams.get(id)?.probe("/health", timeoutMs) ?? Promise.resolve("gone"),
      onWedged: (id, why) => {
        this.o.log.warn(`model '${id}' ${why}`);
        this.supervisor.killWedged(id, why);
      },
    });
    this.supervisor = new Supervisor(
      { loadTimeoutMs: o.loadTimeoutMs },
      {
        progress: (id, value) => {
          this.progress.set(id, value);
          this.publish(id, "loading", { progress: value });
        },
        ready: (id, info) => this.onChildReady(id, info),
        exit: (id, code, reason, how) => this.onChildExit(id, code, reason, how),
        output: (id, line) => relayLine(o.log, id, line),
      },
    );
  }

  /** Starts the TTL clock and the load-on-startup models. */
  start(routerPort: number): void {
    this.port = routerPort;
    this.tick = setInterval(() => this.scheduler.onTick(), 1000);
    this.tick.unref();
    // every model's estimate is worked out now, so that /models shows it before any load
    for (const m of this.catalog.models) {
      const known = this.ensureEstimate(m.id);
      if (m.loadOnStartup) void known.then(() => this.scheduler.onLoadRequest(m.id));
    }
    // a spare only helps node-engine models (llama-server starts in a fraction of Node's time)
    const anyNode = [...this.facts.values()].some((f) => f.engine === "node");
    if (this.o.spare && anyNode) this.supervisor.enableSpare(this.node.sparePlan(this.baseEnv()));
  }

  /** id or alias → id */
  resolve(name: string): string | undefined {
    return this.catalog.resolve(name);
  }

  /**
   * Waits until `model` may serve one more request (loading it, and making room, as needed). Rejects with the
   * ApiError to answer: 400 not loaded (autoload off), 429/503 with Retry-After, 503 failed load.
   */
  acquire(model: string, autoload: boolean, onGone: (cancel: () => void) => () => void): Promise<Lease> {
    // admission needs the model's memory estimate: the first request for it waits for its header to be read
    if (!this.memory.has(model) && this.specs.has(model)) return this.ensureEstimate(model).then(() => this.acquire(model, autoload, onGone));
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
      // granted or failed at once (the common case): nothing to watch
      if (!this.pending.has(reqId)) return;
      stopWatching = onGone(() => {
        if (!this.pending.delete(reqId)) return;
        this.scheduler.onCancel(reqId);
        reject(new ApiError(499, "the client went away while waiting for the model"));
      });
    });
  }

  /** POST /models/load. With `wait`, resolves once the model is ready and rejects with the reason if it fails. */
  async load(model: string, wait: boolean): Promise<void> {
    if (this.specs.has(model)) await this.ensureEstimate(model);
    const answer = this.scheduler.onLoadRequest(model);
    if (answer === "unknown-model") throw this.notFound(model);
    if (answer === "already-running") throw new ApiError(400, `model '${model}' is already running`);
    if (typeof answer === "object") throw refusalError(answer);
    if (!wait) return;
    const view = this.scheduler.view(model);
    if (view?.state === "loaded") return;
    const ev = await this.events.next(model, (e) => e.data.status === "loaded" || e.data.status === "unloaded");
    if (ev.data.status !== "loaded") {
      throw new ApiError(503, `model '${model}' failed to load: ${ev.data.error || "the process was stopped"}`);
    }
  }

  /** A client's keep-alive for a loaded model (Ollama's keep_alive on a request that generates nothing). */
  keepAlive(model: string, keepAlive: KeepAlive): void {
    this.scheduler.onKeepAlive(model, keepAlive);
  }

  /** POST /models/unload */
  unload(model: string): void {
    const answer = this.scheduler.onUnloadRequest(model);
    if (answer === "unknown-model") throw this.notFound(model);
    if (answer === "not-running") throw new ApiError(400, `model '${model}' is not running`);
  }

  /** 404 for a model name nothing in the catalog answers to, naming the close matches (or them all, when few). */
  notFound(model: string): ApiError {
    return new ApiError(404, unknownModelMessage(model, this.catalog.models));
  }

  /** POST /models/pin: pinned models are never evicted to make room (until the router stops, or it is unpinned). */
  pin(model: string, pinned: boolean): void {
    if (this.scheduler.onPinRequest(model, pinned) === "unknown-model") throw this.notFound(model);
  }

  /** GET /models?reload=1: re-reads every source; running models that changed or vanished are unloaded. */
  reload(): void {
    const before = { catalog: this.catalog, facts: this.facts, specs: this.specs };
    try {
      this.catalog = this.o.readCatalog();
      this.indexSpecs();
    } catch (err) {
      Object.assign(this, before);
      throw new ApiError(400, `reload failed, the previous models are kept: ${(err as Error).message}`);
    }
    const keys = (f: Map<string, ModelFacts>) => new Map([...f].map(([id, x]) => [id, x.launchKey]));
    const diff = diffCatalogs(keys(before.facts), keys(this.facts));
    // a changed model (file, arguments) needs a new estimate; the next request or the background pass makes it
    for (const id of [...diff.changed, ...diff.removed]) {
      this.memory.delete(id);
      this.estimating.delete(id);
    }
    // an `hf-repo` preset whose download just put its file in place is not a changed model to restart: its load
    // goes on, now with the file (fetchThenLoad)
    const fetched = diff.changed.filter((id) => this.fetching.has(id) && this.specs.get(id)?.path !== undefined);
    const restart = new Set(diff.changed.filter((id) => !fetched.includes(id)));
    this.scheduler.onCatalogChange(this.catalog.models.map((m) => this.configOf(m)), restart);
    for (const id of fetched) {
      const d = this.fetching.get(id)!;
      this.fetching.delete(id);
      d.cancel(); // already done, unless another process fetched the files first
      if (this.scheduler.view(id)?.state === "loading") this.startProcess(id);
    }
    for (const m of this.catalog.models) void this.ensureEstimate(m.id);
    const added = new Set(diff.added);
    for (const m of this.catalog.models) if (m.loadOnStartup && added.has(m.id)) this.scheduler.onLoadRequest(m.id);
  }

  list(): Record<string, unknown>[] {
    const created = Math.floor(Date.now() / 1000);
    const out: Record<string, unknown>[] = [];
    for (const spec of this.catalog.models) {
      const view = this.scheduler.view(spec.id);
      if (!view) continue;
      const child = this.supervisor.info(spec.id);
      const fixed = this.facts.get(spec.id)!;
      out.push(modelEntry({
        spec, view, engine: fixed.engine, args: fixed.shownArgs, preset: fixed.preset,
        ...(fixed.sizeBytes !== undefined ? { sizeBytes: fixed.sizeBytes } : {}),
        ...(child ? { child } : {}),
        ...(this.progress.has(spec.id) ? { progress: this.progress.get(spec.id)! } : {}),
        ...(this.fetching.has(spec.id) ? { download: { ...this.fetching.get(spec.id)!.progress } } : {}),
        memory: this.memoryOf(spec.id, view.state === "loaded" ? child?.pid : undefined),
      }, created));
    }
    return out;
  }

  /** One model as the router sees it now: its spec, its scheduler state, its engine and process arguments. */
  inspect(model: string): { spec: ModelSpec; view: ModelView; engine: EngineName; args: string[]; child?: ReadyInfo } | undefined {
    const spec = this.specs.get(model);
    const view = this.scheduler.view(model);
    const facts = this.facts.get(model);
    if (!spec || !view || !facts) return undefined;
    const child = this.supervisor.info(model);
    return { spec, view, engine: facts.engine, args: facts.args, ...(child ? { child } : {}) };
  }

  /** The engine that serves a model (what it speaks, which paths it lacks). */
  engineOf(model: string): EngineModule {
    return this.engines[this.facts.get(model)!.engine];
  }

  /** Whether a model's process serves embeddings (undefined: a command or remote server, which corral cannot see). */
  servesEmbeddings(model: string): boolean | undefined {
    return this.facts.get(model)?.embeddings;
  }

  /**
   * Whether a model can see images: llama-server with a projector, or an engine corral cannot look into (a command,
   * a remote server); never corral's own, which has no projector.
   */
  takesImages(model: string): boolean {
    const f = this.facts.get(model)!;
    if (f.engine === "node") return false;
    if (f.engine === "llama-server") return f.args.includes("--mmproj") || f.args.includes("-mm");
    return true;
  }

  /** GET /models entries for downloads under way (models not in the catalog yet). */
  listDownloads(): Record<string, unknown>[] {
    const created = Math.floor(Date.now() / 1000);
    return this.downloads.list().filter((d) => !d.forModel && this.resolve(d.name) === undefined).map((d) => ({
      id: d.name, aliases: [], tags: [], object: "model", owned_by: "llamacpp", created,
      status: { value: "downloading", progress: { ...d.progress }, args: [], preset: "" },
      path: null, size_bytes: d.progress.total || null, source: "cache", in_flight: 0, waiting: 0, last_used: null, pinned: false,
    }));
  }

  /** GET /models/logs */
  logs(model: string): string[] {
    return this.supervisor.outputTail(model);
  }

  /** Stops every model process (graceful, then killed after each one's stop timeout). */
  async stopAll(): Promise<void> {
    if (this.tick) clearInterval(this.tick);
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(refusalError({ kind: "shutting-down" }));
    }
    await this.supervisor.stopAll();
    await Promise.all([...this.upstreams.values()].map((u) => u.destroy()));
  }

  killAll(): void {
    this.supervisor.killAll();
  }

  // ---- effects -------------------------------------------------------------------------------------------------

  private startProcess(id: string): void {
    const spec = this.specs.get(id)!;
    const facts = this.facts.get(id)!;
    this.progress.delete(id);
    this.publish(id, "loading");
    if (!spec.path && (facts.engine === "node" || facts.engine === "llama-server")) {
      if (spec.hfRepo && !this.o.offline) return this.fetchThenLoad(id, spec.hfRepo, spec.hfFile);
      const why = spec.hfRepo
        ? `${spec.hfError ?? `'${spec.hfRepo}' is not in the Hugging Face cache`} (--offline: not downloaded)`
        : "the preset names no model file";
      queueMicrotask(() => this.onChildExit(id, null, why));
      return;
    }
    this.o.log.info(`loading model '${id}' (engine ${facts.engine})`);
    this.oomAtStart.set(id, oomKillCount());
    const sock = this.socketPath(id);
    if (sock) rmSync(sock, { force: true }); // left behind by a killed process
    const engine = this.engines[facts.engine];
    engine.plan({ spec, args: facts.args, baseEnv: this.baseEnv(), ...(sock ? { socketPath: sock } : {}) }).then(
      (plan) => {
        // an unload came while the plan was being made (a port being found): stopProcess() already reported the
        // model gone, since the supervisor had nothing for it
        if (this.scheduler.view(id)?.state !== "loading") return;
        try {
          this.supervisor.start(id, plan);
        } catch (err) {
          // never expected (one process per model is the scheduler's invariant), but never fatal to the router
          this.onChildExit(id, null, `cannot start: ${(err as Error).message}`);
        }
      },
      (err: Error) => this.onChildExit(id, null, `cannot start: ${err.message}`),
    );
  }

  /**
   * The first part of loading an `hf-repo` preset that is not cached: its download, shown as the model's loading
   * progress. When it finishes the router rescans (Downloads.onFinished), and reload() goes on with this same load
   * now that the file is there, its waiters kept. An unload cancels it (stopProcess).
   */
  private fetchThenLoad(id: string, repo: string, file: string | undefined): void {
    this.o.log.info(`model '${id}': downloading ${repo}${file ? ` (${file})` : ""} into the Hugging Face cache`);
    const d = this.downloads.start(repo, { forModel: id, ...(file ? { file } : {}) });
    this.fetching.set(id, d);
    const fail = (why: string) => {
      // still ours: neither an unload nor the rescan took this load over
      if (this.fetching.get(id) !== d) return;
      this.fetching.delete(id);
      if (this.scheduler.view(id)?.state === "loading") this.onChildExit(id, null, why);
    };
    d.done.then(
      // the rescan did not find the file (it does not answer the preset's hf-repo / hf-file): a load that never ends
      // otherwise
      () => fail(`${repo} was downloaded, but ${this.specs.get(id)?.hfError ?? "the preset's file is still not found"}`),
      (err: Error) => fail(`download of ${repo} failed: ${err.message}`),
    );
  }

  /** Cancels the download of `name` under way (POST /models/unload or DELETE /models of a model not in the catalog yet). */
  cancelDownload(name: string): boolean {
    const d = this.downloads.get(name);
    if (!d) return false;
    d.cancel();
    return true;
  }

  private stopProcess(id: string, cause: StopCause): void {
    const fetch = this.fetching.get(id);
    if (fetch) {
      // the unload of a model still downloading stops its download; what it fetched stays resumable
      this.fetching.delete(id);
      fetch.cancel();
    }
    this.publish(id, "unloading", { cause });
    if (!this.supervisor.has(id)) {
      // nothing runs for it (its start failed, or its plan is still being made): the stop is already done
      queueMicrotask(() => this.onChildExit(id, null, ""));
      return;
    }
    this.o.log.info(`unloading model '${id}'`);
    this.supervisor.stop(id);
  }

  private grant(reqId: string, id: string): void {
    const p = this.pending.get(reqId);
    this.pending.delete(reqId);
    const upstream = this.upstreams.get(id);
    if (!p || !upstream) {
      // the waiter is gone, or (never expected) the model has no connection: give the grant back
      this.scheduler.onServeDone(reqId);
      p?.reject(new ApiError(503, `model '${id}' is not reachable`, { headers: { "retry-after": "1" } }));
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
      },
    });
  }

  private failRequest(reqId: string, why: Refusal): void {
    const p = this.pending.get(reqId);
    if (!p) return;
    this.pending.delete(reqId);
    p.reject(refusalError(why));
  }

  // ---- supervisor events ---------------------------------------------------------------------------------------

  private onChildReady(id: string, info: ReadyInfo): void {
    this.upstreams.set(id, new Upstream(info.target));
    this.progress.delete(id);
    this.o.log.info(`model '${id}' is ready (${info.pid !== undefined ? `pid ${info.pid}, ` : ""}${info.target.socketPath ?? info.target.origin})`);
    // a remote server's health is the supervisor's to watch; local processes are watched for wedges here
    if (info.pid !== undefined) this.health.watch(id);
    this.scheduler.onReady(id);
    this.publish(id, "loaded");
  }

  private onChildExit(id: string, code: number | null, reason: string, how: ExitHow = { signal: null }): void {
    const upstream = this.upstreams.get(id);
    this.upstreams.delete(id);
    this.progress.delete(id);
    this.health.unwatch(id);
    void upstream?.close();
    if (reason) this.o.log.warn(`model '${id}' stopped: ${reason}`);
    const kind = exitKind(reason, how, this.oomAtStart.get(id));
    this.scheduler.onExit(id, code, reason, kind);
    if (reason === "") return this.publish(id, "unloaded");
    const coolingMs = this.scheduler.coolingFor(id);
    this.publish(id, "unloaded", {
      error: reason, exit_code: code,
      ...(kind === "signal" || kind === "oom" || kind === "killed" ? { crashed: true } : {}),
      ...(coolingMs > 0 ? { cooldown_s: Math.ceil(coolingMs / 1000) } : {}),
    });
  }

  private publish(model: string, status: ModelStatus, extra: Omit<ModelEvent["data"], "status"> = {}): void {
    this.events.publish({ model, event: "status_change", data: { status, ...extra } });
  }

  /** Reads the model's memory estimate once per catalog version, and tells the scheduler. Never rejects. */
  private ensureEstimate(id: string): Promise<void> {
    const known = this.estimating.get(id);
    if (known) return known;
    const spec = this.specs.get(id);
    const facts = this.facts.get(id);
    if (!spec || !facts) return Promise.resolve();
    // layers go to a GPU only where one was found (nvidia-smi gave the VRAM budget)
    const gpu = this.o.memoryBudget?.vram !== undefined;
    const p = modelMemoryEstimate(spec, facts.args, facts.engine, { gpu }).then(
      (e) => (e ? { ram: e.ram, vram: e.vram } : null),
      () => null,
    ).then((m) => {
      // a reload may have replaced this model meanwhile: only the current version's estimate counts
      if (this.estimating.get(id) !== p) return;
      this.memory.set(id, m);
      this.scheduler.onMemoryEstimate(id, m ?? undefined);
    });
    this.estimating.set(id, p);
    return p;
  }

  /** GET /models `memory`: the estimate, and what the loaded process takes (RAM; VRAM where it is known). */
  private memoryOf(id: string, pid: number | undefined): { estimate: Memory | null; measured: Memory | null } {
    const measured = pid !== undefined ? measureMemory(pid) : undefined;
    return { estimate: this.memory.get(id) ?? null, measured: measured ? { ram: measured.ram, vram: 0 } : null };
  }

  private configOf(s: ModelSpec): ModelConfig {
    const memory = this.memory?.get(s.id);
    return { ...toConfig(s), ...(memory ? { memory } : {}) };
  }

  // ---- helpers -------------------------------------------------------------------------------------------------

  /** The environment of every model process: the router's, without its own settings, plus the router's port. */
  private baseEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of ROUTER_ONLY_ENV) delete env[k];
    env[ROUTER_PORT_ENV] = String(this.port);
    return env;
  }

  /** Throws (a StartupError) when a model asks for llama-server and there is none. */
  private indexSpecs(): void {
    const facts = new Map<string, ModelFacts>();
    for (const m of this.catalog.models) {
      const chosen = this.selector.choose(m);
      const unknown = chosen.engine === "node" ? unknownNodeKey(m) : undefined;
      if (unknown) throw new PresetError(unknown);
      facts.set(m.id, this.factsOf(m, chosen.engine, chosen.binary));
    }
    this.specs = new Map(this.catalog.models.map((m) => [m.id, m]));
    this.facts = facts;
  }

  private factsOf(m: ModelSpec, engine: EngineName, binary: string | undefined): ModelFacts {
    let file: { size: number; mtimeMs: number } | undefined;
    try {
      if (m.path) file = statSync(m.path);
    } catch {
      // missing: listed without a size, and its load reports the error
    }
    const mod = this.engines[engine];
    const args = mod.args(m, this.socketPath(m.id), this.o.passthrough);
    const program = engine === "llama-server" ? binary : mod.program(m);
    return {
      engine,
      ...(binary ? { binary } : {}),
      args,
      shownArgs: program !== undefined ? [program, ...args] : args,
      preset: presetText(m),
      ...(file ? { sizeBytes: file.size } : {}),
      embeddings: servesEmbeddings(engine, args, m.env),
      launchKey: JSON.stringify([engine, binary, args, m.env, m.proxy, m.health, m.upstreamApiKey, file ? `${file.size}:${file.mtimeMs}` : "missing"]),
    };
  }

  /** One socket path per model id (short: Unix socket paths are limited to about 100 bytes). */
  private socketPath(id: string): string | undefined {
    if (!this.o.socketDir) return undefined;
    return path.join(this.o.socketDir, `${createHash("sha1").update(id).digest("hex").slice(0, 12)}.sock`);
  }
}

function toConfig(s: ModelSpec): ModelConfig {
  return {
    id: s.id,
    pinned: s.pin,
    ...(s.ttlS !== undefined ? { ttlMs: s.ttlS * 1000 } : {}),
    ...(s.maxConcurrent !== undefined ? { maxConcurrent: s.maxConcurrent } : {}),
  };
}

interface ModelFacts {
  engine: EngineName;
  /** The llama-server binary, for that engine. */
  binary?: string;
  /** The model process's command line (after the program). */
  args: string[];
  /** status.args: the program, then its arguments. */
  shownArgs: string[];
  /** The merged preset as INI text (GET /models status.preset). */
  preset: string;
  sizeBytes?: number;
  /** Whether its process serves embeddings (embeddings-check.ts); undefined where corral cannot tell. */
  embeddings: boolean | undefined;
  /** What a running process depends on, file stamp included: when it changes, a reload restarts the model. */
  launchKey: string;
}
