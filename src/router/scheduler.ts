// The router's scheduler: decides, and only decides. It receives events (a request arrives, a load finishes, a
// response is served, a process exits, a client goes away, the clock ticks) and answers with effects (start or stop
// a model process, grant or fail a request). It does no I/O and owns no timers, so every rule below is unit-tested
// as a state machine (test/router/scheduler.test.ts), as llama-swap does with its process groups.
//
// Invariants:
//  1. a model with a request in flight is never stopped to make room (only by an explicit unload or a TTL that
//     waits for it to be idle);
//  2. in flight counts from the grant: a cancelled waiter never becomes in flight;
//  3. at most one process per model; concurrent first requests share one load;
//  4. loading + loaded + stopping <= modelsMax at every instant (0 = unlimited), and their memory estimates add up
//     to no more than the budget (a stopping model's memory counts until it is gone);
//  5. every request ends: granted, or refused with a reason (a load that never becomes ready is failed by the
//     supervisor's start timeout, which arrives here as an exit);
//  6. requests waiting for room are served in FIFO order.
import { pickVictim } from "./eviction.js";
import type { StopCause } from "./model-events.js";
import type { Refusal } from "./refusal.js";
import type { KeepAlive } from "../util/keep-alive.js";

export type ModelState = "unloaded" | "loading" | "loaded" | "stopping";

export interface ModelConfig {
  id: string;
  pinned?: boolean;
  /** Unload after this long without requests (ms); undefined = never. */
  ttlMs?: number;
  /** Requests served at once; beyond it 429 (undefined = unlimited). */
  maxConcurrent?: number;
  /** Its memory estimate in bytes (undefined = not known: counts as nothing). */
  memory?: Memory;
}

export interface Memory {
  ram: number;
  vram: number;
}

/** How a model's process ended, as the router tells it. */
export type ExitKind =
  /** It was asked to stop (unload, eviction, TTL) or exited cleanly. */
  | "stopped"
  /** It exited with an error on its own: while loading, a deterministic failure (bad file, bad arguments). */
  | "error"
  /** It crashed (a signal such as SIGSEGV or SIGABRT, or an error exit while serving): it is loaded again, but a crash loop is not. */
  | "signal"
  /** Someone outside killed it (SIGKILL, SIGTERM not sent by the router, and not the OOM killer): loaded again, never held against it. */
  | "killed"
  /** It ran out of memory (the OOM killer, or the engine reported an allocation failure). */
  | "oom";

/** A model process's end, classified (exit-kind.ts): what the scheduler learns of it, and what /models shows. */
export interface ExitReport {
  kind: ExitKind;
  /** Its exit code (128 + the signal's number when a signal ended it), or null where none is known. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why, for a person: the engine's own error, or the tail of its output; empty after a clean stop. */
  reason: string;
}

export interface SchedulerOptions {
  /** Models loading, loaded or stopping at once; 0 = unlimited. */
  modelsMax: number;
  /** Requests waiting (for room or for a load) at once; beyond it 503. */
  queueMax: number;
  /** After a failed load, requests for the model fail fast for this long (ms); it doubles per failure in a row. */
  cooldownMs: number;
  /** The longest cool-down (ms). Default 5 minutes. */
  cooldownMaxMs?: number;
  /** This many crashes within crashWindowMs is a crash loop, which gets the cool-down too. Default 5 in 60 s. */
  crashLoopCount?: number;
  crashWindowMs?: number;
  /** Memory the models may take together (bytes); undefined = no limit on that kind. */
  memoryBudget?: { ram?: number; vram?: number };
  now(): number;
}

export interface Effects {
  start(model: string): void;
  stop(model: string, cause: StopCause): void;
  grant(reqId: string, model: string): void;
  /** The request ends unserved; the HTTP edge words the refusal in the client's dialect. */
  fail(reqId: string, why: Refusal): void;
}

export interface ModelView {
  id: string;
  state: ModelState;
  inFlight: number;
  waiting: number;
  lastUsed: number;
  pinned: boolean;
  /** How long it stays loaded once idle (ms): its config's TTL, or a client's keep-alive; undefined = for ever. */
  ttlMs?: number;
  failure?: { exitCode: number | null; reason: string; coolUntil: number };
}

export type { KeepAlive };

interface ModelRec {
  cfg: ModelConfig;
  state: ModelState;
  inFlight: number;
  lastUsed: number;
  /** Requests waiting for this model's load to finish. */
  waiters: string[];
  failure?: { exitCode: number | null; reason: string; coolUntil: number };
  /** Set by an explicit unload, so that its exit is not reported as a crash. */
  stopRequested: boolean;
  /** Gone from the catalog (reload): forgotten as soon as its process is. */
  removed: boolean;
  /** Failed loads in a row (deterministic failures and crash loops): the cool-down doubles with each. */
  failures: number;
  /** When it last crashed (ms), within the crash window. */
  crashes: number[];
  /** Its last load ran out of memory: the next one first unloads every idle model. Once per successful load. */
  makeRoomFirst: boolean;
  oomRetried: boolean;
  /** The last keep-alive a client asked for, overriding the TTL until the process exits. */
  keepAlive?: KeepAlive;
  /** A pin set at run time (POST /models/pin), overriding the config's until the router stops; reloads keep it. */
  pin?: boolean;
}

interface ReqRec {
  id: string;
  /** A client's request, or an admin load waiting its turn in the queue (nobody to grant or fail). */
  kind: "client" | "admin-load";
  model: string;
  phase: "queued" | "waiting" | "granted";
}

export class Scheduler {
  private readonly models = new Map<string, ModelRec>();
  private readonly requests = new Map<string, ReqRec>();
  /** Requests for models that need room, in arrival order. */
  private queue: string[] = [];
  private adminSeq = 0;

  constructor(
    private readonly opts: SchedulerOptions,
    private readonly fx: Effects,
    models: ModelConfig[],
  ) {
    for (const cfg of models) this.models.set(cfg.id, newRec(cfg));
  }

  // ---- events ------------------------------------------------------------------------------------------------

  onRequest(reqId: string, model: string, autoload = true): void {
    const m = this.models.get(model);
    if (!m) return this.fx.fail(reqId, { kind: "unknown-model", model });
    const now = this.opts.now();
    if (m.state === "unloaded" && m.failure && now < m.failure.coolUntil) {
      const s = Math.max(1, Math.ceil((m.failure.coolUntil - now) / 1000));
      return this.fx.fail(reqId, { kind: "cooling-down", model, reason: m.failure.reason, retryAfterS: s });
    }
    if (m.state === "loaded") {
      if (m.cfg.maxConcurrent !== undefined && m.inFlight >= m.cfg.maxConcurrent) {
        return this.fx.fail(reqId, { kind: "busy", model, limit: m.cfg.maxConcurrent, retryAfterS: 1 });
      }
      return this.grant(reqId, m);
    }
    if (m.state === "unloaded" && !autoload) return this.fx.fail(reqId, { kind: "not-loaded", model });
    const tooBig = this.tooBig(m);
    if (tooBig) return this.fx.fail(reqId, tooBig);
    if (this.waitingCount() >= this.opts.queueMax) {
      return this.fx.fail(reqId, { kind: "queue-full", max: this.opts.queueMax, retryAfterS: 1 });
    }
    if (m.state === "loading") {
      this.requests.set(reqId, { id: reqId, kind: "client", model, phase: "waiting" });
      m.waiters.push(reqId);
      return;
    }
    // unloaded, or stopping (it must be gone before it can load again)
    this.requests.set(reqId, { id: reqId, kind: "client", model, phase: "queued" });
    this.queue.push(reqId);
    this.pump();
  }

  /** The client went away before its grant. After a grant, use onServeDone. */
  onCancel(reqId: string): void {
    const r = this.requests.get(reqId);
    if (!r || r.phase === "granted") return;
    this.requests.delete(reqId);
    if (r.phase === "queued") this.queue = this.queue.filter((id) => id !== reqId);
    else {
      const m = this.models.get(r.model)!;
      m.waiters = m.waiters.filter((id) => id !== reqId);
    }
    this.pump();
  }

  /** A granted request is finished; `keepAlive`, when the client gave one, is applied as onKeepAlive does. */
  onServeDone(reqId: string, keepAlive?: KeepAlive): void {
    const r = this.requests.get(reqId);
    if (!r || r.phase !== "granted") return;
    this.requests.delete(reqId);
    const m = this.models.get(r.model);
    if (!m) return this.pump();
    m.inFlight--;
    m.lastUsed = this.opts.now();
    if (keepAlive !== undefined) this.applyKeepAlive(m, keepAlive);
    this.pump();
  }

  /** A model's memory estimate became known (or changed): admission counts it from now on. */
  onMemoryEstimate(model: string, memory: Memory | undefined): void {
    const m = this.models.get(model);
    if (!m) return;
    const { memory: _old, ...rest } = m.cfg;
    m.cfg = memory ? { ...rest, memory } : rest;
    this.pump();
  }

  /**
   * A client says how long a loaded model should stay loaded once idle, from now on (it replaces the TTL until the
   * process exits): 0 unloads it as soon as nothing is in flight. Ignored unless the model is loaded.
   */
  onKeepAlive(model: string, keepAlive: KeepAlive): void {
    const m = this.models.get(model);
    if (!m) return;
    this.applyKeepAlive(m, keepAlive);
    this.pump();
  }

  onReady(model: string): void {
    const m = this.models.get(model);
    if (!m || m.state !== "loading") return;
    m.state = "loaded";
    m.failure = undefined;
    m.failures = 0;
    m.oomRetried = false;
    m.lastUsed = this.opts.now();
    const waiters = m.waiters;
    m.waiters = [];
    for (const id of waiters) {
      if (m.cfg.maxConcurrent !== undefined && m.inFlight >= m.cfg.maxConcurrent) {
        this.requests.delete(id);
        this.fx.fail(id, { kind: "busy", model, limit: m.cfg.maxConcurrent, retryAfterS: 1 });
      } else this.grant(id, m);
    }
  }

  /**
   * The model's process is gone: stopped, crashed, or failed to load. A process that crashed (a signal) is loaded
   * again by the next request, at once, and the requests waiting for a load that crashed keep waiting for the next
   * one; one that ran out of memory first unloads every idle model (once). Only a load that exits with an error
   * (bad file, bad arguments), or a crash loop, gets the cool-down, which doubles with each failure in a row.
   */
  onExit(model: string, exit: ExitReport): void {
    const { code: exitCode, reason, kind } = exit;
    const m = this.models.get(model);
    if (!m || m.state === "unloaded") return;
    const was = m.state;
    const now = this.opts.now();
    m.state = "unloaded";
    m.keepAlive = undefined;
    const clean = m.stopRequested || was === "stopping" || kind === "stopped";
    m.stopRequested = false;
    if (clean) {
      // a stop asked for while loading already sent its waiters back to the queue
    } else if (kind === "error" && was === "loading") {
      this.coolDown(m, exitCode, reason, now);
    } else {
      const window = this.opts.crashWindowMs ?? 60_000;
      m.crashes = m.crashes.filter((t) => now - t < window);
      if (kind !== "killed") m.crashes.push(now);
      if (kind !== "killed" && m.crashes.length >= (this.opts.crashLoopCount ?? 5)) {
        this.coolDown(m, exitCode, `${reason} (${m.crashes.length} crashes in ${Math.round(window / 1000)} s)`, now);
      } else if (kind === "oom" && m.oomRetried && was === "loading") {
        // out of memory again, even after making room: more tries would only churn the other models
        this.coolDown(m, exitCode, reason, now);
      } else {
        // reported in /models, but no cool-down: the next request loads it again
        m.failure = { exitCode, reason, coolUntil: 0 };
        if (kind === "oom" && was === "loading") {
          m.oomRetried = true;
          m.makeRoomFirst = true;
        }
        // its waiters go back to the front of the queue, in order, to wait for the next load
        this.queue.unshift(...m.waiters);
        for (const id of m.waiters) this.requests.get(id)!.phase = "queued";
        m.waiters = [];
      }
    }
    if (m.removed) this.forget(m);
    this.pump();
  }

  /** A failure that trying again at once would repeat: waiters fail, and requests fail fast for a while. */
  private coolDown(m: ModelRec, exitCode: number | null, reason: string, now: number): void {
    m.failures++;
    const ms = Math.min(this.opts.cooldownMs * 2 ** (m.failures - 1), this.opts.cooldownMaxMs ?? 300_000);
    m.failure = { exitCode, reason, coolUntil: now + ms };
    m.makeRoomFirst = false;
    const retryAfterS = Math.max(1, Math.ceil(ms / 1000));
    const waiters = m.waiters;
    m.waiters = [];
    for (const id of waiters) {
      this.requests.delete(id);
      this.fx.fail(id, { kind: "load-failed", model: m.cfg.id, reason, retryAfterS });
    }
    this.failQueuedFor(m, { kind: "load-failed", model: m.cfg.id, reason, retryAfterS });
  }

  /** How long requests for a model are refused after its last failure (ms from now; 0 = not cooling down). */
  coolingFor(model: string): number {
    const m = this.models.get(model);
    if (!m?.failure) return 0;
    return Math.max(0, m.failure.coolUntil - this.opts.now());
  }

  /**
   * Reload: the catalog changed. New models appear; models gone from it are stopped if running (even if serving:
   * the files behind them may be gone) and forgotten once their process is; `changed` models that are running are
   * stopped so that their next request starts them with the new settings. Everything else is left alone.
   */
  onCatalogChange(configs: readonly ModelConfig[], changed: ReadonlySet<string>): void {
    const next = new Map(configs.map((c) => [c.id, c]));
    for (const m of [...this.models.values()]) {
      const cfg = next.get(m.cfg.id);
      if (cfg) {
        m.cfg = cfg;
        m.removed = false;
        if (m.state === "unloaded") m.failure = undefined;
        if (changed.has(cfg.id) && (m.state === "loading" || m.state === "loaded")) {
          m.stopRequested = true;
          this.stopModel(m, "reload");
        }
        continue;
      }
      m.removed = true;
      if (m.state === "unloaded") this.forget(m);
      else if (m.state !== "stopping") {
        m.stopRequested = true;
        this.stopModel(m, "reload");
      }
    }
    for (const cfg of configs) if (!this.models.has(cfg.id)) this.models.set(cfg.id, newRec(cfg));
    this.pump();
  }

  /** Admin load. */
  onLoadRequest(model: string): "ok" | "unknown-model" | "already-running" | Refusal {
    const m = this.models.get(model);
    if (!m) return "unknown-model";
    if (m.state === "loading" || m.state === "loaded") return "already-running";
    const big = this.tooBig(m);
    if (big) return big;
    m.failure = undefined;
    if (m.state === "unloaded" && fits(this.freeRoom(), roomOf(m))) {
      this.startModel(m);
      return "ok";
    }
    // The load waits its turn like a request (for a victim to go idle, or a stop under way): a queued placeholder.
    const id = `admin-load:${model}:${++this.adminSeq}`;
    this.requests.set(id, { id, kind: "admin-load", model, phase: "queued" });
    this.queue.push(id);
    this.pump();
    return "ok";
  }

  /**
   * Admin pin: a pinned model is never evicted to make room. Unpinning may free room that queued requests wait
   * for, so the queue is served again.
   */
  onPinRequest(model: string, pinned: boolean): "ok" | "unknown-model" {
    const m = this.models.get(model);
    if (!m) return "unknown-model";
    m.pin = pinned;
    this.pump();
    return "ok";
  }

  /** Admin unload: stops the model even if it is serving (the caller asked for it). */
  onUnloadRequest(model: string): "ok" | "unknown-model" | "not-running" {
    const m = this.models.get(model);
    if (!m) return "unknown-model";
    if (m.state !== "loading" && m.state !== "loaded") return "not-running";
    m.stopRequested = true;
    this.stopModel(m, "unload");
    return "ok";
  }

  /** TTL: idle models past their time are unloaded; the clock stops while requests are in flight. */
  onTick(): void {
    const now = this.opts.now();
    for (const m of this.models.values()) {
      const ttl = ttlOf(m);
      if (m.state === "loaded" && m.inFlight === 0 && ttl !== undefined && now - m.lastUsed >= ttl) {
        m.stopRequested = true;
        this.stopModel(m, "ttl");
      }
    }
  }

  // ---- views -------------------------------------------------------------------------------------------------

  view(model: string): ModelView | undefined {
    const m = this.models.get(model);
    if (!m) return undefined;
    return {
      id: m.cfg.id,
      state: m.state,
      inFlight: m.inFlight,
      waiting: m.waiters.length + this.queue.filter((id) => this.requests.get(id)?.model === model).length,
      lastUsed: m.lastUsed,
      pinned: pinnedOf(m),
      ...(ttlOf(m) !== undefined ? { ttlMs: ttlOf(m) } : {}),
      ...(m.failure ? { failure: m.failure } : {}),
    };
  }

  get queued(): number {
    return this.queue.length;
  }

  // ---- decisions ---------------------------------------------------------------------------------------------

  /**
   * Serves the queue in FIFO order: each model at the head that is not running gets room (a slot under
   * --models-max and memory under the budget): free room, room that stops under way will free, or room made by
   * new evictions (least recently used idle models first). When none is possible the rest waits, so no later request
   * overtakes an earlier one.
   */
  private pump(): void {
    // runs after every served request: with nobody waiting there is nothing to decide (and no model scan to pay)
    if (this.queue.length === 0) return;
    // free: room now; pending: room that stops under way will free and no earlier head has claimed
    const free = this.freeRoom();
    const pending: Room = { count: 0, ram: 0, vram: 0 };
    for (const m of this.models.values()) if (m.state === "stopping") addRoom(pending, roomOf(m), 1);
    const handled = new Set<string>();
    for (const reqId of [...this.queue]) {
      const r = this.requests.get(reqId)!;
      if (handled.has(r.model)) continue;
      const m = this.models.get(r.model)!;
      if (m.state === "stopping") {
        handled.add(r.model);
        continue; // it frees its own room when it exits
      }
      if (m.state === "loading" || m.state === "loaded") {
        this.moveQueuedTo(m);
        continue;
      }
      handled.add(r.model);
      const big = this.tooBig(m);
      if (big) {
        this.failQueuedFor(m, big);
        continue;
      }
      const need = roomOf(m);
      if (m.makeRoomFirst) {
        // its last load ran out of memory although the estimate fitted: every idle model goes first
        const idle = this.victimCandidates().filter((c) => c.id !== m.cfg.id);
        for (const v of idle) this.stopModel(this.models.get(v.id)!, "memory");
        if (idle.length > 0 || [...this.models.values()].some((x) => x.state === "stopping")) break;
        m.makeRoomFirst = false;
      }
      if (fits(free, need)) {
        addRoom(free, need, -1);
        this.startModel(m);
        continue;
      }
      const projected = sumRoom(free, pending);
      while (!fits(projected, need)) {
        const victim = pickVictim(this.victimCandidates());
        if (!victim) break;
        const v = this.models.get(victim)!;
        // memory, unless a slot alone was missing
        const cause = projected.count >= need.count ? "memory" : "lru";
        this.stopModel(v, cause);
        addRoom(projected, roomOf(v), 1);
      }
      if (fits(projected, need)) {
        // this model waits for the stops, and claims their room (and the free room it needs) before later heads
        const left = sumRoom(projected, { count: -need.count, ram: -need.ram, vram: -need.vram });
        for (const k of ["count", "ram", "vram"] as const) {
          free[k] = Math.min(free[k], left[k]);
          pending[k] = left[k] === free[k] ? 0 : left[k] - free[k];
        }
        continue;
      }
      const blocked = this.blockedForever(m);
      if (blocked) {
        this.failQueuedFor(m, blocked);
        continue;
      }
      // busy models will go idle, or their stops will end: wait, and let nobody behind overtake
      break;
    }
  }

  /** Room now free: slots under --models-max and memory under the budget, with every non-unloaded model counted. */
  private freeRoom(): Room {
    const b = this.opts.memoryBudget ?? {};
    const room: Room = {
      count: this.opts.modelsMax > 0 ? this.opts.modelsMax : Infinity,
      ram: b.ram ?? Infinity,
      vram: b.vram ?? Infinity,
    };
    for (const m of this.models.values()) if (m.state !== "unloaded") addRoom(room, roomOf(m), -1);
    return room;
  }

  /** The refusal for a model whose estimate exceeds the budget on its own (nothing is evicted for it). */
  private tooBig(m: ModelRec): Refusal | undefined {
    const b = this.opts.memoryBudget;
    const need = m.cfg.memory;
    if (!b || !need) return undefined;
    if ((b.ram !== undefined && need.ram > b.ram) || (b.vram !== undefined && need.vram > b.vram)) {
      return { kind: "too-big", model: m.cfg.id, need, budget: b };
    }
    return undefined;
  }

  /** Why room will never appear for `m`: every slot, or too much memory, is held by pinned models. */
  private blockedForever(m: ModelRec): Refusal | undefined {
    const running = [...this.models.values()].filter((x) => x.state !== "unloaded");
    if (running.length === 0) return undefined;
    if (this.opts.modelsMax > 0 && running.filter((x) => pinnedOf(x) && x.state !== "stopping").length >= this.opts.modelsMax) {
      return { kind: "pinned-full", model: m.cfg.id, modelsMax: this.opts.modelsMax };
    }
    const b = this.opts.memoryBudget;
    const need = m.cfg.memory;
    if (!b || !need) return undefined;
    const pinned = { ram: 0, vram: 0 };
    for (const x of running) {
      if (!pinnedOf(x) || x.state === "stopping") continue;
      pinned.ram += x.cfg.memory?.ram ?? 0;
      pinned.vram += x.cfg.memory?.vram ?? 0;
    }
    if ((b.ram !== undefined && pinned.ram + need.ram > b.ram) || (b.vram !== undefined && pinned.vram + need.vram > b.vram)) {
      return { kind: "pinned-memory", model: m.cfg.id, need, budget: b };
    }
    return undefined;
  }

  private victimCandidates() {
    return [...this.models.values()]
      .filter((m) => m.state === "loaded" && m.inFlight === 0 && m.waiters.length === 0 && !pinnedOf(m))
      .map((m) => ({ id: m.cfg.id, lastUsed: m.lastUsed }));
  }

  private startModel(m: ModelRec): void {
    m.state = "loading";
    m.failure = undefined;
    m.lastUsed = this.opts.now();
    this.moveQueuedTo(m);
    this.fx.start(m.cfg.id);
  }

  private applyKeepAlive(m: ModelRec, keepAlive: KeepAlive): void {
    if (m.state !== "loaded") return;
    m.keepAlive = keepAlive;
    if (keepAlive === 0 && m.inFlight === 0) {
      m.stopRequested = true;
      this.stopModel(m, "ttl");
    }
  }

  private stopModel(m: ModelRec, cause: StopCause): void {
    if (m.state === "stopping" || m.state === "unloaded") return;
    const wasLoading = m.state === "loading";
    m.state = "stopping";
    if (wasLoading) {
      // its waiters go back to the front of the queue, in order, to load it again after it is gone
      this.queue.unshift(...m.waiters);
      for (const id of m.waiters) this.requests.get(id)!.phase = "queued";
      m.waiters = [];
    }
    this.fx.stop(m.cfg.id, cause);
  }

  /** Queued requests for a model that is now loading or loaded join it. */
  private moveQueuedTo(m: ModelRec): void {
    const mine = this.queue.filter((id) => this.requests.get(id)!.model === m.cfg.id);
    if (mine.length === 0) return;
    this.queue = this.queue.filter((id) => this.requests.get(id)!.model !== m.cfg.id);
    for (const id of mine) {
      if (this.requests.get(id)!.kind === "admin-load") {
        this.requests.delete(id);
        continue;
      }
      if (m.state === "loaded") this.grant(id, m);
      else {
        this.requests.get(id)!.phase = "waiting";
        m.waiters.push(id);
      }
    }
  }

  /** Drops a model that left the catalog; requests still waiting for it fail as unknown. */
  private forget(m: ModelRec): void {
    this.models.delete(m.cfg.id);
    const why: Refusal = { kind: "gone", model: m.cfg.id };
    for (const id of m.waiters) {
      this.requests.delete(id);
      this.fx.fail(id, why);
    }
    m.waiters = [];
    this.failQueuedFor(m, why);
  }

  private failQueuedFor(m: ModelRec, why: Refusal): void {
    const mine = this.queue.filter((id) => this.requests.get(id)!.model === m.cfg.id);
    this.queue = this.queue.filter((id) => this.requests.get(id)!.model !== m.cfg.id);
    for (const id of mine) {
      const r = this.requests.get(id)!;
      this.requests.delete(id);
      if (r.kind === "client") this.fx.fail(id, why);
    }
  }

  private grant(reqId: string, m: ModelRec): void {
    this.requests.set(reqId, { id: reqId, kind: "client", model: m.cfg.id, phase: "granted" });
    m.inFlight++;
    m.lastUsed = this.opts.now();
    this.fx.grant(reqId, m.cfg.id);
  }

  private waitingCount(): number {
    let n = this.queue.length;
    for (const m of this.models.values()) n += m.waiters.length;
    return n;
  }
}

function pinnedOf(m: ModelRec): boolean {
  return m.pin ?? m.cfg.pinned ?? false;
}

/** The idle time after which a loaded model is unloaded: a client's keep-alive, else its TTL (undefined = never). */
function ttlOf(m: ModelRec): number | undefined {
  if (m.keepAlive === "forever") return undefined;
  return m.keepAlive ?? m.cfg.ttlMs;
}

function newRec(cfg: ModelConfig): ModelRec {
  return {
    cfg, state: "unloaded", inFlight: 0, lastUsed: 0, waiters: [], stopRequested: false, removed: false,
    failures: 0, crashes: [], makeRoomFirst: false, oomRetried: false,
  };
}

/** Slots and memory: what a model needs, what is free. */
interface Room {
  count: number;
  ram: number;
  vram: number;
}

function roomOf(m: ModelRec): Room {
  return { count: 1, ram: m.cfg.memory?.ram ?? 0, vram: m.cfg.memory?.vram ?? 0 };
}

function fits(free: Room, need: Room): boolean {
  return need.count <= free.count && need.ram <= free.ram && need.vram <= free.vram;
}

/** room += sign × add */
function addRoom(room: Room, add: Room, sign: 1 | -1): void {
  room.count += sign * add.count;
  room.ram += sign * add.ram;
  room.vram += sign * add.vram;
}

function sumRoom(a: Room, b: Room): Room {
  return { count: a.count + b.count, ram: a.ram + b.ram, vram: a.vram + b.vram };
}
