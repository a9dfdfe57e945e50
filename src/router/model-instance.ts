// One model of the catalog and everything the router does for it, in one object (llama-swap's Process): its spec
// and the facts worked out from it once per catalog, its memory estimate, the download an `hf-repo` preset starts
// with, its launch plan, its process (run by the supervisor), the connection to it, and the classification of its
// end. Every way a load or a process can end, a failed plan, a missing file or a failed download included, goes out
// through one exit path (exited()), so the scheduler hears of each end exactly once.
//
// The instance decides nothing: the scheduler tells it to start and stop (through the router), and it tells the
// router what happened. It keeps its own phase, so that a late answer (a plan made after an unload, a download that
// lost to a rescan) is recognised as stale without asking the scheduler.
import { rmSync, statSync } from "node:fs";
import type { ModelSpec } from "../catalog/catalog.js";
import type { EngineModule } from "../engines/launch.js";
import type { EngineName, ReadyInfo } from "../engines/types.js";
import type { Logger } from "../util/log.js";
import type { Download, Downloads } from "./downloads.js";
import { servesEmbeddings } from "./embeddings-check.js";
import { exitReport, oomKillCount } from "./exit-kind.js";
import { measureMemory } from "./memory/measure.js";
import { modelMemoryEstimate } from "./memory/model-memory.js";
import type { ModelEvent, ModelStatus, StopCause } from "./model-events.js";
import type { ModelEntry } from "./model-entry.js";
import { modelEntry, presetText } from "./model-list.js";
import type { ExitReport, Memory, ModelView } from "./scheduler.js";
import type { ProcessEnd } from "./supervisor.js";
import { Upstream } from "./upstream.js";

/** What only a reload changes, worked out once per catalog rather than per listing or load. */
export interface ModelFacts {
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

/** The processes, as an instance uses them (the Supervisor; a fake in unit tests). */
export interface ProcessRunner {
  start(id: string, plan: Awaited<ReturnType<EngineModule["plan"]>>): void;
  stop(id: string): void;
  has(id: string): boolean;
  info(id: string): ReadyInfo | undefined;
}

/** What every instance shares, given by the router. */
export interface InstanceContext {
  processes: ProcessRunner;
  downloads: Pick<Downloads, "start">;
  log: Logger;
  /** The environment of every model process. */
  baseEnv(): NodeJS.ProcessEnv;
  /** --offline: an `hf-repo` preset not in the cache fails its load instead of being downloaded. */
  offline: boolean;
  /** Layers go to a GPU only where one was found. */
  gpu: boolean;
  publish(ev: ModelEvent): void;
  /** The process is serving. */
  onReady(id: string): void;
  /** The load or the process ended, for whatever reason; said once per start. */
  onExit(id: string, report: ExitReport): void;
  /** The memory estimate is known (undefined: it cannot be estimated). */
  onEstimate(id: string, memory: Memory | undefined): void;
}

type Phase =
  | "idle"
  /** an `hf-repo` preset's files are being downloaded */
  | "fetching"
  /** the engine is making the launch plan (it may allocate a port) */
  | "planning"
  /** the supervisor runs it, loading or ready */
  | "running";

/** Works out a model's facts: its engine's command line, what /models shows of it, and its launch key. */
export function factsOf(spec: ModelSpec, engine: EngineModule, binary: string | undefined, socketPath: string | undefined, passthrough: readonly string[]): ModelFacts {
  let file: { size: number; mtimeMs: number } | undefined;
  try {
    if (spec.path) file = statSync(spec.path);
  } catch {
    // missing: listed without a size, and its load reports the error
  }
  const args = engine.args(spec, socketPath, passthrough);
  const program = engine.name === "llama-server" ? binary : engine.program(spec);
  return {
    engine: engine.name,
    ...(binary ? { binary } : {}),
    args,
    shownArgs: program !== undefined ? [program, ...args] : args,
    preset: presetText(spec),
    ...(file ? { sizeBytes: file.size } : {}),
    embeddings: servesEmbeddings(engine.name, args, spec.env),
    launchKey: JSON.stringify([engine.name, binary, args, spec.env, spec.proxy, spec.health, spec.upstreamApiKey, file ? `${file.size}:${file.mtimeMs}` : "missing"]),
  };
}

export class ModelInstance {
  private phase: Phase = "idle";
  /** Between start() and the report of its end: each start ends exactly once. */
  private live = false;
  private progress: number | undefined;
  private fetching: Download | undefined;
  private upstreamOf: Upstream | undefined;
  /** The kernel's OOM-kill count when its process started (see exit-kind.ts). */
  private oomAtStart: number | undefined;
  /** Its memory estimate once known (null: it cannot be estimated), and the estimate under way. */
  private memory: Memory | null | undefined;
  private estimating: Promise<void> | undefined;

  #spec: ModelSpec;
  #facts: ModelFacts;
  #engine: EngineModule;

  constructor(
    spec: ModelSpec,
    facts: ModelFacts,
    engine: EngineModule,
    private readonly socketPath: string | undefined,
    private readonly ctx: InstanceContext,
  ) {
    this.#spec = spec;
    this.#facts = facts;
    this.#engine = engine;
  }

  /** The engine that runs it (what it speaks, which paths it lacks). */
  get engine(): EngineModule {
    return this.#engine;
  }

  get id(): string {
    return this.#spec.id;
  }

  get spec(): ModelSpec {
    return this.#spec;
  }

  get facts(): ModelFacts {
    return this.#facts;
  }

  /** Where its requests go while it is serving. */
  get upstream(): Upstream | undefined {
    return this.upstreamOf;
  }

  /** Its memory estimate, when known. */
  get memoryEstimate(): Memory | undefined {
    return this.memory ?? undefined;
  }

  /** Whether its estimate has been worked out (a request for it waits for that: admission needs it). */
  get estimated(): boolean {
    return this.memory !== undefined;
  }

  /**
   * A reload found the model again. A changed launch key means a new estimate (and the scheduler restarts a running
   * process); "fetched": the download this load was waiting for has put its file in place, and the load goes on.
   */
  update(spec: ModelSpec, facts: ModelFacts, engine: EngineModule): "unchanged" | "changed" | "fetched" {
    const changed = facts.launchKey !== this.#facts.launchKey;
    this.#spec = spec;
    this.#facts = facts;
    // a process already running keeps the plan it was started with
    this.#engine = engine;
    if (!changed) return "unchanged";
    this.memory = undefined;
    this.estimating = undefined;
    // an `hf-repo` preset whose download just put its file in place is not a changed model to restart: its load
    // goes on, now with the file
    if (this.phase === "fetching" && spec.path !== undefined) {
      const d = this.fetching!;
      this.fetching = undefined;
      d.cancel(); // already done, unless another process fetched the files first
      this.launch();
      return "fetched";
    }
    return "changed";
  }

  /** Reads the model's memory estimate once per catalog version, and tells the router. Never rejects. */
  ensureEstimate(): Promise<void> {
    if (this.estimating) return this.estimating;
    const { spec, facts } = this;
    const p = modelMemoryEstimate(spec, facts.args, facts.engine, { gpu: this.ctx.gpu }).then(
      (e) => (e ? { ram: e.ram, vram: e.vram } : null),
      () => null,
    ).then((m) => {
      // a reload may have changed this model meanwhile: only the current version's estimate counts
      if (this.estimating !== p) return;
      this.memory = m;
      this.ctx.onEstimate(this.id, m ?? undefined);
    });
    this.estimating = p;
    return p;
  }

  // ---- the scheduler's effects ---------------------------------------------------------------------------------

  start(): void {
    this.live = true;
    this.progress = undefined;
    this.status("loading");
    const { spec, facts } = this;
    if (!spec.path && (facts.engine === "node" || facts.engine === "llama-server")) {
      if (spec.hfRepo && !this.ctx.offline) return this.fetchThenLaunch(spec.hfRepo, spec.hfFile);
      const why = spec.hfRepo
        ? `${spec.hfError ?? `'${spec.hfRepo}' is not in the Hugging Face cache`} (--offline: not downloaded)`
        : "the preset names no model file";
      this.phase = "planning";
      queueMicrotask(() => {
        if (this.phase === "planning") this.failed(why);
      });
      return;
    }
    this.launch();
  }

  stop(cause: StopCause): void {
    if (this.fetching) {
      // the unload of a model still downloading stops its download; what it fetched stays resumable
      this.fetching.cancel();
      this.fetching = undefined;
    }
    this.status("unloading", { cause });
    if (this.phase === "running" && this.ctx.processes.has(this.id)) {
      this.ctx.log.info(`unloading model '${this.id}'`);
      this.ctx.processes.stop(this.id);
      return;
    }
    // nothing runs for it (its start failed, or its plan or download is under way): the stop is done now
    this.phase = "idle";
    queueMicrotask(() => this.exited({ code: null, signal: null, stopped: true, reason: "" }));
  }

  // ---- the supervisor's events ---------------------------------------------------------------------------------

  onProgress(fraction: number): void {
    this.progress = fraction;
    this.status("loading", { progress: fraction });
  }

  onReady(info: ReadyInfo): void {
    this.upstreamOf = new Upstream(info.target);
    this.progress = undefined;
    this.ctx.log.info(`model '${this.id}' is ready (${info.pid !== undefined ? `pid ${info.pid}, ` : ""}${info.target.socketPath ?? info.target.origin})`);
    this.ctx.onReady(this.id);
    this.status("loaded");
  }

  /** The one exit path: the process, or the load before it, is over. */
  exited(end: ProcessEnd): void {
    if (!this.live) return;
    this.live = false;
    this.phase = "idle";
    const upstream = this.upstreamOf;
    this.upstreamOf = undefined;
    this.progress = undefined;
    void upstream?.close();
    if (end.reason) this.ctx.log.warn(`model '${this.id}' stopped: ${end.reason}`);
    this.ctx.onExit(this.id, exitReport(end, this.oomAtStart));
  }

  // ---- views ---------------------------------------------------------------------------------------------------

  /** GET /models entry, given its scheduler view. */
  entry(view: ModelView, created: number): ModelEntry {
    const { spec, facts } = this;
    const child = this.ctx.processes.info(this.id);
    return modelEntry({
      spec, view, engine: facts.engine, args: facts.shownArgs, preset: facts.preset,
      ...(facts.sizeBytes !== undefined ? { sizeBytes: facts.sizeBytes } : {}),
      ...(child ? { child } : {}),
      ...(this.progress !== undefined ? { progress: this.progress } : {}),
      ...(this.fetching ? { download: { ...this.fetching.progress } } : {}),
      memory: this.memoryOf(view.state === "loaded" ? child?.pid : undefined),
    }, created);
  }

  /**
   * Whether it can see images: llama-server with a projector, or an engine corral cannot look into (a command, a
   * remote server); never corral's own, which has no projector.
   */
  get takesImages(): boolean {
    const f = this.facts;
    if (f.engine === "node") return false;
    if (f.engine === "llama-server") return f.args.includes("--mmproj") || f.args.includes("-mm");
    return true;
  }

  // ---- loading -------------------------------------------------------------------------------------------------

  private launch(): void {
    const { spec, facts } = this;
    this.phase = "planning";
    this.ctx.log.info(`loading model '${this.id}' (engine ${facts.engine})`);
    this.oomAtStart = oomKillCount();
    if (this.socketPath) rmSync(this.socketPath, { force: true }); // left behind by a killed process
    this.engine.plan({ spec, args: facts.args, baseEnv: this.ctx.baseEnv(), ...(this.socketPath ? { socketPath: this.socketPath } : {}) }).then(
      (plan) => {
        // an unload came while the plan was being made (a port being found): stop() already reported it gone
        if (this.phase !== "planning") return;
        this.phase = "running";
        try {
          this.ctx.processes.start(this.id, plan);
        } catch (err) {
          // never expected (one process per model is the scheduler's invariant), but never fatal to the router
          this.failed(`cannot start: ${(err as Error).message}`);
        }
      },
      (err: Error) => {
        if (this.phase === "planning") this.failed(`cannot start: ${err.message}`);
      },
    );
  }

  /**
   * The first part of loading an `hf-repo` preset that is not cached: its download, shown as the model's loading
   * progress. When it finishes the router rescans, and update() goes on with this same load now that the file is
   * there, its waiters kept. An unload cancels it (stop()).
   */
  private fetchThenLaunch(repo: string, file: string | undefined): void {
    this.ctx.log.info(`model '${this.id}': downloading ${repo}${file ? ` (${file})` : ""} into the Hugging Face cache`);
    const d = this.ctx.downloads.start(repo, { forModel: this.id, ...(file ? { file } : {}) });
    this.phase = "fetching";
    this.fetching = d;
    const fail = (why: string) => {
      // still ours: neither an unload nor the rescan took this load over
      if (this.fetching !== d) return;
      this.fetching = undefined;
      this.failed(why);
    };
    d.done.then(
      // the rescan did not find the file (it does not answer the preset's hf-repo / hf-file): a load that never ends
      // otherwise
      () => fail(`${repo} was downloaded, but ${this.spec.hfError ?? "the preset's file is still not found"}`),
      (err: Error) => fail(`download of ${repo} failed: ${err.message}`),
    );
  }

  /** A load that ends before any process runs. */
  private failed(reason: string): void {
    this.exited({ code: null, signal: null, stopped: false, reason });
  }

  private status(status: ModelStatus, extra: Omit<ModelEvent["data"], "status"> = {}): void {
    this.ctx.publish({ model: this.id, event: "status_change", data: { status, ...extra } });
  }

  /** GET /models `memory`: the estimate, and what the loaded process takes (RAM; VRAM where it is known). */
  private memoryOf(pid: number | undefined): { estimate: Memory | null; measured: Memory | null } {
    const measured = pid !== undefined ? measureMemory(pid) : undefined;
    return { estimate: this.memory ?? null, measured: measured ? { ram: measured.ram, vram: 0 } : null };
  }
}
