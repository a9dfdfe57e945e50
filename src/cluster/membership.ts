// This node's membership of the cluster: its entry in the nodes bucket, put on every change (debounced) and at
// least every third of the TTL; a watch on the bucket that keeps the view of every other node; up and down by how
// long a node has been silent; the placement locks. No leader: every node runs the same.
//
// Liveness is judged by the time an entry reached the bucket (the server's clock, for every reader alike) or
// arrived here, whichever is earlier, never by the writer's own clock. A key expiring gives no watch event (NATS
// 2.9 has no delete markers for max age), so a down node is checked with a get until its key is gone.
//
// NATS down: the view freezes as it was (nodes keep their status, requests go by it) and heartbeats are dropped
// quietly. NATS back (the client reconnects by itself): every node gets a new TTL from that moment to be heard
// from, the watch is created again (its first values bring the view up to date), this node's entry is put at
// once, and buckets lost with the server's store are created again.
import { randomUUID } from "node:crypto";
import { Kvm, type KV, type KvWatchEntry } from "@nats-io/kv";
import type { NatsConnection, QueuedIterator } from "@nats-io/transport-node";
import type { Logger } from "../util/log.js";
import { VERSION } from "../util/version.js";
import type { ClusterConfig } from "./config.js";
import { connectWithRetry, describe } from "./nats-connect.js";
import { keyToken, parseNodeState, STATE_VERSION, type LocalSnapshot, type NodeState } from "./node-state.js";
import { PlacementLocks, type LockResult } from "./placement-lock.js";
import { liveness, viewChanges, type ClusterChange, type ClusterNode, type ClusterView, type NodeStatus } from "./view.js";

export const NODES_BUCKET = "corral-nodes";
export const PLACEMENT_BUCKET = "corral-placement";

/** What membership needs from the local router. */
export interface LocalNode {
  /** This node's state now; called for every heartbeat and every view(), so it must be cheap. */
  snapshot(): LocalSnapshot;
}

export interface MembershipOptions {
  config: Pick<ClusterConfig, "nats" | "nodeName" | "advertise" | "ttlMs">;
  local: LocalNode;
  log: Pick<Logger, "info" | "warn" | "debug">;
  /** Delay that gathers changes into one put (ms). Default 100. */
  debounceMs?: number;
  /** Longest wait between start-up connection tries (ms). Default 5000. */
  retryMaxMs?: number;
}

interface Remote {
  state: NodeState;
  /** When it was last heard from (ms, this clock). */
  heardAt: number;
  /** Revision of the entry it came from. */
  revision: number;
  /** A get for its key is under way (a down node, to see whether the key is gone). */
  probing?: boolean;
  /** Its status when NATS went away, kept until NATS is back. */
  frozen?: NodeStatus;
}

export class Membership {
  readonly name: string;
  readonly url: string;
  /** Random per start: tells this run from an earlier one under the same name. */
  readonly startId = randomUUID();

  private readonly ttlMs: number;
  private readonly heartbeatMs: number;
  private readonly ownKey: string;
  private readonly remotes = new Map<string, Remote>();
  private readonly listeners = new Set<(changes: ClusterChange[]) => void>();
  private readonly locks: PlacementLocks;
  private readonly abort = new AbortController();
  private readonly timers: NodeJS.Timeout[] = [];
  private lastEmitted: ClusterView = new Map();

  private nc?: NatsConnection;
  private nodes?: KV;
  private placement?: KV;
  private watcher?: QueuedIterator<KvWatchEntry>;
  private watchGen = 0;
  private watchRetry?: NodeJS.Timeout;
  private debounce?: NodeJS.Timeout;
  private connected = false;
  private closed = false;
  /** The put under way, if any. */
  private putting?: Promise<void>;
  private putAgain = false;
  /** What the last put threw; undefined after one that worked. */
  private lastPutError?: unknown;
  private putWarned = false;
  private reopening?: Promise<void>;
  private duplicateWarnedAt = 0;
  /** Revision of this run's first entry: an entry under this name written after it is another live node's. */
  private firstRevision?: number;
  private started?: Promise<void>;
  private registered!: () => void;
  private readonly registeredOnce: Promise<void>;

  constructor(private readonly opts: MembershipOptions) {
    this.name = opts.config.nodeName;
    this.url = opts.config.advertise;
    this.ttlMs = opts.config.ttlMs;
    this.heartbeatMs = Math.max(100, Math.floor(this.ttlMs / 3));
    this.ownKey = keyToken(this.name);
    this.locks = new PlacementLocks(() => (this.connected ? this.placement : undefined), { node: this.name, startId: this.startId });
    this.registeredOnce = new Promise((resolve) => (this.registered = resolve));
  }

  /** Connects (in the background, retrying until NATS answers) and registers this node. Returns at once. */
  start(): void {
    if (this.started || this.closed) return;
    this.timers.push(setInterval(() => void this.put(), this.heartbeatMs));
    this.timers.push(setInterval(() => this.tick(), Math.min(1000, Math.max(100, Math.floor(this.ttlMs / 4)))));
    this.started = this.run();
  }

  /** Resolves once this node's entry is in the bucket and the watch runs (the first time only). */
  ready(): Promise<void> {
    return this.registeredOnce;
  }

  /** Whether NATS is reachable now (otherwise the view is the last one seen). */
  isConnected(): boolean {
    return this.connected;
  }

  /** Every node known, this one included (with its state as the local router has it now). */
  view(): ClusterView {
    const out = this.othersView();
    const self = this.selfState();
    if (self) out.set(this.name, { state: self, status: "up", self: true });
    return out;
  }

  /** The local router's state changed (a load, an unload, a request queued): published shortly, once per burst. */
  changed(): void {
    if (this.closed || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.put();
    }, this.opts.debounceMs ?? 100);
  }

  /** Other nodes' changes (this node's own are the router's to report), in batches, as they are seen. */
  onChange(fn: (changes: ClusterChange[]) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  tryLock(model: string, target: string): Promise<LockResult> {
    return this.locks.tryLock(model, target);
  }

  unlock(model: string): Promise<void> {
    return this.locks.unlock(model);
  }

  /**
   * Stops. `leave` (the default) deletes this node's entry so the others forget it at once; without it the entry
   * stays to expire, as after a crash.
   */
  async close(opts: { leave?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.debounce);
    clearTimeout(this.watchRetry);
    this.watchGen++;
    this.watcher?.stop();
    if (opts.leave !== false && this.connected) {
      // a put still under way would bring the entry back after the delete
      await withTimeout(Promise.all([this.putting, this.locks.releaseAll()]), 2000).catch(() => {});
      await withTimeout(this.nodes?.delete(this.ownKey) ?? Promise.resolve(), 2000).catch(() => {});
    }
    this.connected = false;
    await this.nc?.close().catch(() => {});
    await this.started;
  }

  // ---- the connection ----------------------------------------------------------------------------------------

  /** Connects and registers; once more from the start should the client give up (it closes, e.g. on auth errors). */
  private async run(): Promise<void> {
    while (!this.closed) {
      try {
        await this.connectAndRegister();
      } catch (err) {
        this.opts.log.warn(`cluster: ${describe(err)}`);
      }
      const closed = await this.nc?.closed();
      if (this.closed) return;
      this.connected = false;
      this.freeze();
      this.opts.log.warn(`cluster: the NATS connection closed${closed instanceof Error ? ` (${describe(closed)})` : ""}; connecting again`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  private async connectAndRegister(): Promise<void> {
    const { config, log } = this.opts;
    const nc = await connectWithRetry({
      nats: config.nats, name: `corral ${this.name}`, log, pingMs: Math.max(1000, Math.floor(this.ttlMs / 2)),
      signal: this.abort.signal, ...(this.opts.retryMaxMs !== undefined ? { retryMaxMs: this.opts.retryMaxMs } : {}),
    });
    if (!nc) return;
    this.nc = nc;
    this.connected = true;
    this.thaw();
    void this.followStatus(nc);
    // buckets, watch and first put: tried until they work (JetStream may start after the server answers)
    let warned = false;
    while (!this.closed) {
      try {
        await this.openBuckets();
        await this.startWatch();
        await this.put();
        if (this.lastPutError !== undefined || this.firstRevision === undefined) throw this.lastPutError ?? new Error("this node's state could not be read");
        break;
      } catch (err) {
        if (!warned) log.warn(`cluster: cannot register with NATS yet (${describe(err)}); retrying`);
        warned = true;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    if (this.closed) return;
    if (warned) log.info("cluster: registered");
    this.registered();
  }

  private async followStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (this.closed) return;
      if (s.type === "disconnect") {
        if (!this.connected) continue;
        this.connected = false;
        this.freeze();
        this.opts.log.warn("cluster: lost NATS; serving with the last view of the cluster until it is back");
      } else if (s.type === "reconnect") {
        this.connected = true;
        this.thaw();
        this.opts.log.info("cluster: NATS is back; registering again");
        void this.afterReconnect();
      }
    }
  }

  /** NATS went away: every node keeps the status it had. */
  private freeze(): void {
    const now = Date.now();
    for (const r of this.remotes.values()) r.frozen ??= liveness(r.heardAt, now, this.ttlMs);
  }

  /** NATS is back: the silence was not the nodes' fault, so each node up then gets a full TTL from now. */
  private thaw(): void {
    const now = Date.now();
    for (const r of this.remotes.values()) {
      if (r.frozen === "up") r.heardAt = Math.max(r.heardAt, now);
      delete r.frozen;
    }
  }

  private async afterReconnect(): Promise<void> {
    await this.put();
    await this.startWatch().catch((err) => this.watchFailed(err));
  }

  private async openBuckets(): Promise<void> {
    const kvm = new Kvm(this.nc!);
    // a dead node's entry lives one TTL past "down", so that the others show it down before it is gone
    this.nodes = await kvm.create(NODES_BUCKET, { ttl: 2 * this.ttlMs, history: 1 });
    this.placement = await kvm.create(PLACEMENT_BUCKET, { ttl: this.ttlMs, history: 1 });
    const have = (await this.nodes.status()).ttl;
    if (have !== 2 * this.ttlMs) {
      this.opts.log.warn(`cluster: the ${NODES_BUCKET} bucket keeps entries ${have / 1000} s, made by a node with another --cluster-ttl; this node's TTL is ${this.ttlMs / 1000} s`);
    }
  }

  /** Buckets gone with the server's store (a NATS that came back empty): created again, and watched again. */
  private reopen(): Promise<void> {
    this.reopening ??= (async () => {
      try {
        await this.openBuckets();
        await this.startWatch();
      } finally {
        this.reopening = undefined;
      }
    })();
    return this.reopening;
  }

  // ---- this node's entry -------------------------------------------------------------------------------------

  private selfState(): NodeState | undefined {
    let snap: LocalSnapshot;
    try {
      snap = this.opts.local.snapshot();
    } catch (err) {
      this.opts.log.debug(`cluster: the local state could not be read: ${describe(err)}`);
      return undefined;
    }
    return {
      v: STATE_VERSION, name: this.name, url: this.url, startId: this.startId, version: VERSION, lastSeen: Date.now(),
      heartbeatMs: this.heartbeatMs, ...snap,
    };
  }

  /**
   * Puts this node's entry: one put at a time, and a change during one gives one more after it. Never throws; the
   * returned promise settles when the entry is as current as it can be made (lastPutError says how the last went).
   */
  private put(): Promise<void> {
    if (this.putting) {
      this.putAgain = true;
      return this.putting;
    }
    this.putting = this.putLoop().finally(() => (this.putting = undefined));
    return this.putting;
  }

  private async putLoop(): Promise<void> {
    do {
      this.putAgain = false;
      if (this.closed || !this.nodes) return;
      const state = this.selfState();
      if (!state) return;
      try {
        const revision = await this.nodes.put(this.ownKey, JSON.stringify(state), { timeout: Math.max(500, this.heartbeatMs) });
        this.firstRevision ??= revision;
        if (this.putWarned) this.opts.log.info("cluster: this node's heartbeat reaches NATS again");
        this.putWarned = false;
        this.lastPutError = undefined;
      } catch (err) {
        if (isMissingStream(err)) void this.reopen().then(() => this.put(), () => {});
        // before registration the registration says it; while NATS is away the disconnect has said it
        if (this.firstRevision !== undefined && this.connected && !this.putWarned) {
          this.putWarned = true;
          this.opts.log.warn(`cluster: cannot put this node's heartbeat (${describe(err)}); retrying`);
        }
        this.lastPutError = err;
      }
    } while (this.putAgain && !this.closed);
  }

  // ---- the other nodes ---------------------------------------------------------------------------------------

  private async startWatch(): Promise<void> {
    const gen = ++this.watchGen;
    this.watcher?.stop();
    this.watcher = undefined;
    const w = await this.nodes!.watch();
    if (gen !== this.watchGen || this.closed) {
      w.stop();
      return;
    }
    this.watcher = w;
    void (async () => {
      try {
        for await (const e of w) {
          if (gen !== this.watchGen) break;
          this.onEntry(e);
        }
      } catch {
        // ended with an error: made again below
      }
      if (gen === this.watchGen && !this.closed) this.retryWatch();
    })();
  }

  private retryWatch(): void {
    if (this.closed || this.watchRetry) return;
    this.watchRetry = setTimeout(() => {
      this.watchRetry = undefined;
      if (!this.connected) return this.retryWatch();
      this.startWatch().catch((err) => this.watchFailed(err));
    }, 1000);
  }

  private watchFailed(err: unknown): void {
    if (isMissingStream(err)) this.reopen().catch(() => this.retryWatch());
    else this.retryWatch();
  }

  private onEntry(e: KvWatchEntry): void {
    if (e.operation !== "PUT") {
      this.remotes.delete(e.key);
      return this.emit();
    }
    this.accept(e.key, e.string(), e.created.getTime(), e.revision);
  }

  private accept(key: string, text: string, created: number, revision: number): void {
    const state = parseNodeState(text);
    if (!state) return;
    if (key === this.ownKey || state.name === this.name) {
      // an earlier run's entry may come back with the watch's first values: only one written since is another node
      const since = this.firstRevision !== undefined && revision > this.firstRevision;
      if (since && state.startId !== this.startId && Date.now() - this.duplicateWarnedAt > 60_000) {
        this.duplicateWarnedAt = Date.now();
        this.opts.log.warn(`cluster: another node registers under this node's name ${this.name} (at ${state.url}); give each node its own --node-name`);
      }
      return;
    }
    const prev = this.remotes.get(key);
    // never earlier than it was: a watch made again replays entries written before a grace began
    const heardAt = Math.max(prev?.heardAt ?? 0, Math.min(Date.now(), created));
    this.remotes.set(key, { state, heardAt, revision });
    this.emit();
  }

  private statusOf(r: Remote, now: number): NodeStatus {
    // frozen while NATS is away: no news is not bad news then
    return r.frozen ?? liveness(r.heardAt, now, this.ttlMs);
  }

  /** Marks nodes down, and forgets down nodes whose keys have expired. */
  private tick(): void {
    if (!this.connected || !this.nodes) return;
    const now = Date.now();
    for (const [key, r] of this.remotes) {
      if (this.statusOf(r, now) === "down" && !r.probing) void this.probe(key, r);
    }
    this.emit();
  }

  private async probe(key: string, r: Remote): Promise<void> {
    r.probing = true;
    try {
      const e = await this.nodes!.get(key);
      if (this.remotes.get(key) !== r) return;
      if (!e || e.operation !== "PUT") {
        this.remotes.delete(key);
        this.emit();
      } else if (e.revision > r.revision) {
        // a put the watch missed
        this.accept(key, e.string(), e.created.getTime(), e.revision);
      }
    } catch {
      // asked again on the next tick
    } finally {
      r.probing = false;
    }
  }

  private emit(): void {
    if (this.listeners.size === 0) {
      this.lastEmitted = this.othersView();
      return;
    }
    const next = this.othersView();
    const changes = viewChanges(this.lastEmitted, next);
    this.lastEmitted = next;
    if (changes.length === 0) return;
    for (const fn of [...this.listeners]) {
      try {
        fn(changes);
      } catch (err) {
        this.opts.log.debug(`cluster: a view listener failed: ${describe(err)}`);
      }
    }
  }

  private othersView(): Map<string, ClusterNode> {
    const now = Date.now();
    const out = new Map<string, ClusterNode>();
    for (const r of this.remotes.values()) out.set(r.state.name, { state: r.state, status: this.statusOf(r, now), self: false });
    return out;
  }
}

/** The bucket's stream is not there (nats.js words a publish nobody answers as "jetstream is not enabled"). */
function isMissingStream(err: unknown): boolean {
  const e = err as { name?: unknown; message?: unknown };
  return ["NoRespondersError", "StreamNotFoundError", "JetStreamNotEnabled", "JetStreamNotEnabledError"].includes(String(e?.name)) ||
    (typeof e?.message === "string" && /no responders|stream not found|jetstream is not enabled/i.test(e.message));
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error("timed out")), ms)))]).finally(() => clearTimeout(timer));
}
