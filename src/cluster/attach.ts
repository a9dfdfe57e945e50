// The cluster as a layer over one node's router: loaded by the command line only with --cluster, it wraps the
// router's model routes so that a request entering any node reaches the node the routing choice names (routing.ts),
// forwarded over HTTP with the cluster's key; it merges every node's models into GET /models and /models/sse, adds
// GET /cluster, and lets a peer's forwarded request in without an API key. The local router is never told about the
// cluster: it serves what reaches it, exactly as without one.
import { readFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import os from "node:os";
import { Counter, Gauge } from "prom-client";
import { ENDPOINT_LIST, routeKeys, type Endpoint } from "../http/endpoints.js";
import { ApiError } from "../http/errors.js";
import { HANDLED, type Handler, type RequestContext } from "../router/http-server.js";
import type { RouterExtension } from "../router/main.js";
import type { RouterMetrics } from "../router/metrics.js";
import type { ModelEntry } from "../router/model-entry.js";
import { streamModelEvents } from "../router/model-events-stream.js";
import { noteModel, noteNode } from "../router/request-log.js";
import type { Router } from "../router/router.js";
import { Upstream } from "../router/upstream.js";
import type { Logger } from "../util/log.js";
import { startCluster, type Cluster, type RouteDecision } from "./cluster.js";
import type { ClusterList } from "./cluster-entry.js";
import { resolveClusterConfig, type ClusterConfig, type ClusterFlags } from "./config.js";
import { localSnapshot } from "./local-snapshot.js";
import { mergeModelLists, type NodeList } from "./model-lists.js";
import { forwardHeaders, isPeerRequest } from "./peer-auth.js";

/** How long a request waits for a model another node is placing to show up in the view. */
const PLACEMENT_WAIT_MS = 30_000;
/** Nodes that refused a connection are passed over for this long (their entry may not have expired yet). */
const SUSPECT_MS = 15_000;
/** Attempts at forwarding one request before giving up (each to another node). */
const MAX_HOPS = 4;
/** A peer's model list is waited for this long; a slow node is listed from the view instead. */
const LIST_TIMEOUT_MS = 2000;

export function clusterExtension(flags: ClusterFlags, log: Logger): RouterExtension {
  return new ClusterLayer(flags, log);
}

class ClusterLayer implements RouterExtension {
  private cluster: Cluster | undefined;
  private config: ClusterConfig | undefined;
  private router!: Router;
  private readonly peers = new Map<string, Upstream>();
  private readonly suspects = new Map<string, number>();
  private forwarded: Counter<"peer"> | undefined;

  constructor(private readonly flags: ClusterFlags, private readonly log: Logger) {}

  attach(router: Router, routes: Map<string, Handler>, metrics: RouterMetrics | undefined): void {
    this.router = router;
    for (const e of ENDPOINT_LIST) {
      if (e.route === "router") continue;
      for (const key of routeKeys(e)) {
        const original = routes.get(key);
        if (original) routes.set(key, this.routed(e, original));
      }
    }
    for (const key of ["GET /models", "GET /v1/models"]) {
      const original = routes.get(key)!;
      routes.set(key, (ctx) => this.listModels(ctx, original));
    }
    // Ollama's listings (every model; the running ones), merged by name
    for (const key of ["GET /api/tags", "GET /api/ps"]) {
      const original = routes.get(key)!;
      routes.set(key, (ctx) => this.ollamaList(ctx, original, key.slice(4)));
    }
    // what one model's node does: the `node` named, or the node the model runs on, or the one it would go to
    for (const [key, running] of [["POST /models/load", false], ["POST /models/unload", true], ["POST /models/pin", true], ["GET /models/logs", true]] as const) {
      const original = routes.get(key)!;
      routes.set(key, (ctx) => this.onModelsNode(ctx, original, running));
    }
    const events = routes.get("GET /models/sse")!;
    routes.set("GET /models/sse", (ctx) => this.events(ctx, events));
    routes.set("GET /cluster", () => this.nodes());
    if (metrics) this.registerMetrics(metrics);
  }

  isPeer(req: IncomingMessage): boolean {
    return this.config !== undefined && isPeerRequest(req.headers, this.config.key);
  }

  started(port: number): void {
    const { config, warnings } = resolveClusterConfig(this.flags, { hostname: os.hostname(), port, readFile: (f) => readFileSync(f, "utf8") });
    for (const w of warnings) this.log.warn(w);
    if (!config) return;
    this.config = config;
    this.log.info(`cluster: node '${config.nodeName}' at ${config.advertise}, joining ${this.flags.cluster!.join(", ")}`);
    const snapshot = localSnapshot(this.router);
    this.cluster = startCluster(config, { snapshot: () => snapshot.get() }, this.log);
    // the other nodes hear of this node's changes at once (the membership gathers them into one write): model
    // status changes, and requests starting, waiting and ending (the counts the routing choice reads)
    this.router.events.subscribe(() => {
      snapshot.invalidate();
      this.cluster?.changed();
    });
    this.router.watchActivity(() => this.cluster?.changed());
  }

  async close(): Promise<void> {
    const c = this.cluster;
    this.cluster = undefined;
    // leaving is a courtesy (the entry expires anyway): NATS being down must not hold the shutdown up
    await Promise.race([c?.close(), new Promise((r) => setTimeout(r, 2000).unref())]);
    await Promise.all([...this.peers.values()].map((p) => p.destroy()));
  }

  // ---- routing -------------------------------------------------------------------------------------------------

  private routed(e: Endpoint, original: Handler): Handler {
    return async (ctx) => {
      const c = this.cluster;
      if (!c) return original(ctx);
      // a forwarded request is served here and never forwarded again, so that two views that disagree cannot
      // bounce it between nodes
      if (this.isPeer(ctx.req)) {
        noteNode(ctx.res, c.name);
        return original(ctx);
      }
      const name = e.model === "query" ? ctx.query.get("model") : (ctx.body as { model?: unknown } | undefined)?.model;
      if (typeof name !== "string" || name === "") return original(ctx);
      const id = this.resolve(name) ?? (e.errors === "ollama" ? this.resolveOllama(name) : undefined);
      if (id === undefined) return original(ctx);
      return this.dispatch(ctx, id, original);
    };
  }

  /** Serves a request for `id` where the routing choice says, trying other nodes when one cannot be reached. */
  private async dispatch(ctx: RequestContext, id: string, original: Handler): Promise<unknown> {
    const c = this.cluster!;
    const avoid = new Set<string>();
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      const d = await this.decide(c, id, avoid);
      if (d.action === "not-found" || d.local) {
        noteNode(ctx.res, c.name);
        return original(ctx);
      }
      const gone = await this.forward(ctx, id, d.node, d.url);
      if (!gone) return HANDLED;
      this.log.warn(`cluster: node '${d.node}' did not answer (${gone}); trying another`);
      avoid.add(d.node);
      this.suspects.set(d.node, Date.now() + SUSPECT_MS);
    }
    throw new ApiError(502, `model '${id}': no node of the cluster could be reached`, { type: "server_error" });
  }

  /**
   * The routing choice, with the placement lock for a model that is loaded nowhere: the node that wins it places
   * the model; the others send their requests to the node it chose, which loads it once.
   */
  private async decide(c: Cluster, id: string, avoid: ReadonlySet<string>): Promise<RouteDecision> {
    const now = Date.now();
    const skip = (node: string) => avoid.has(node) || (this.suspects.get(node) ?? 0) > now;
    const d = c.route(id, { exclude: skip });
    if (d.action !== "place") return d;
    const lock = await c.tryLock(id, d.node);
    if (lock.kind === "won") {
      this.releaseWhenPlaced(c, id, d.node, lock.release);
      return d;
    }
    if (lock.kind === "unavailable") return d; // NATS is down: each node decides by its last view
    // another node is placing it: go where it is going, once that node is known (and not to be avoided)
    const target = lock.by?.target;
    const known = target !== undefined && !skip(target) ? c.view().get(target) : undefined;
    if (known?.status === "up") return { ...d, node: target!, url: known.state.url, local: target === c.name };
    return this.waitForPlacement(c, id, skip);
  }

  /** Holds the lock until the view shows the model on its node (or the load fails, or a time limit passes). */
  private releaseWhenPlaced(c: Cluster, id: string, node: string, release: () => Promise<void>): void {
    const started = Date.now();
    const check = () => {
      const m = c.view().get(node)?.state.models[id];
      if (m || Date.now() - started > PLACEMENT_WAIT_MS) return void release().catch(() => {});
      setTimeout(check, 100).unref();
    };
    // the chosen node publishes its state a moment after its load starts
    setTimeout(check, 100).unref();
  }

  private async waitForPlacement(c: Cluster, id: string, skip: (n: string) => boolean): Promise<RouteDecision> {
    const until = Date.now() + PLACEMENT_WAIT_MS;
    for (;;) {
      const d = c.route(id, { exclude: skip });
      if (d.action !== "place" || Date.now() > until) return d;
      const lock = await c.tryLock(id, d.node);
      if (lock.kind !== "held") {
        if (lock.kind === "won") this.releaseWhenPlaced(c, id, d.node, lock.release);
        return d;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Forwards the request to a peer; resolves with why when the peer could not be reached at all. */
  private async forward(ctx: RequestContext, id: string | undefined, node: string, url: string): Promise<string | undefined> {
    // the metrics label only names a model some node has (never a name a client made up)
    if (id !== undefined) noteModel(ctx.res, id);
    noteNode(ctx.res, node);
    this.forwarded?.inc({ peer: node });
    const peer = this.peer(url);
    const unreachable = await peer.forward(ctx.req, ctx.res, ctx.req.url ?? ctx.path, ctx.rawBody, id ?? node, ctx.dialect);
    return unreachable;
  }

  private peer(url: string): Upstream {
    let p = this.peers.get(url);
    if (!p) {
      const u = new URL(url);
      p = new Upstream({
        origin: u.origin,
        ...(u.pathname !== "/" ? { basePath: u.pathname } : {}),
        headers: forwardHeaders(this.cluster!.name, this.config!.key),
      });
      this.peers.set(url, p);
    }
    return p;
  }

  /** A model's id, by this node's catalog or another node's. */
  private resolve(name: string): string | undefined {
    return this.router.resolve(name) ?? this.resolveRemote(name);
  }

  /** Ollama's names carry a tag: `name:latest` is `name`, as the Ollama routes take it (the node served reads it so). */
  private resolveOllama(name: string): string | undefined {
    return name.endsWith(":latest") ? this.resolve(name.slice(0, -":latest".length)) : undefined;
  }

  /** A name no model of this node answers to: an id or alias in another node's catalog. */
  private resolveRemote(name: string): string | undefined {
    for (const n of this.cluster?.view().values() ?? []) {
      if (n.state.catalog[name]) return name;
      for (const [id, e] of Object.entries(n.state.catalog)) if (e.aliases?.includes(name)) return id;
    }
    return undefined;
  }

  // ---- the router's own routes, cluster-wide -------------------------------------------------------------------

  /**
   * POST /models/load, /unload, /pin and GET /models/logs take an optional `node` (in the body, or ?node=). Without
   * one, a model this node does not have goes to a node that runs it (`running`) or, for a load, to the node the
   * routing choice names.
   */
  private async onModelsNode(ctx: RequestContext, original: Handler, running: boolean): Promise<unknown> {
    const c = this.cluster;
    if (!c || this.isPeer(ctx.req)) return original(ctx);
    const body = (ctx.body ?? {}) as { model?: unknown; node?: unknown };
    const given = ctx.query.get("node") ?? body.node;
    if (given !== undefined && typeof given !== "string") throw new ApiError(400, `'node' must be a string, got ${typeof given}`);
    const model = ctx.query.get("model") ?? body.model;
    const name = typeof model === "string" ? model : undefined;
    let node = given;
    if (node === undefined && name !== undefined && this.router.resolve(name) === undefined) {
      const id = this.resolveRemote(name);
      if (id !== undefined) {
        const d = c.route(id);
        node = running ? this.nodesWith(id)[0] : d.action !== "not-found" ? d.node : undefined;
      }
    }
    if (node === undefined || node === c.name) return original(ctx);
    const target = c.view().get(node);
    if (!target) throw new ApiError(404, `node '${node}' is not in the cluster (GET /cluster lists the nodes)`);
    const id = name === undefined ? undefined : this.resolve(name);
    const gone = await this.forward(ctx, id, node, target.state.url);
    if (gone) throw new ApiError(502, `node '${node}' did not answer (${gone})`, { type: "server_error" });
    return HANDLED;
  }

  /** Nodes where a model has a process. */
  private nodesWith(id: string): string[] {
    return [...(this.cluster?.view().values() ?? [])].filter((n) => n.status === "up" && n.state.models[id]).map((n) => n.state.name);
  }

  /** GET /models: every model of every node, once, with the nodes it is on. */
  private async listModels(ctx: RequestContext, original: Handler): Promise<unknown> {
    const own = (await original(ctx)) as { object: "list"; data: ModelEntry[] };
    const c = this.cluster;
    if (!c || this.isPeer(ctx.req)) return own;
    const lists: NodeList[] = [{ node: c.name, status: "up", entries: own.data }];
    const others = [...c.view().values()].filter((n) => !n.self);
    const answers = await Promise.all(others.map(async (n) => ({ n, entries: n.status === "up" ? await this.peerList(n.state.url) : undefined })));
    for (const { n, entries } of answers) lists.push({ node: n.state.name, status: n.status, entries, state: n.state });
    return { object: "list", data: mergeModelLists(lists) };
  }

  /** Ollama's /api/tags or /api/ps on every up node, each model once (by name), this node's first. */
  private async ollamaList(ctx: RequestContext, original: Handler, path: string): Promise<unknown> {
    const own = (await original(ctx)) as { models: Array<{ name: string }> };
    const c = this.cluster;
    if (!c || this.isPeer(ctx.req)) return own;
    const others = [...c.view().values()].filter((n) => !n.self && n.status === "up");
    const lists = await Promise.all(others.map((n) => this.peerGet<{ models?: Array<{ name: string }> }>(n.state.url, path)));
    const seen = new Set(own.models.map((m) => m.name));
    const models = [...own.models];
    for (const list of lists) {
      for (const m of list?.models ?? []) {
        if (seen.has(m.name)) continue;
        seen.add(m.name);
        models.push(m);
      }
    }
    return { ...own, models };
  }

  private async peerList(url: string): Promise<ModelEntry[] | undefined> {
    return (await this.peerGet<{ data?: ModelEntry[] }>(url, "/models"))?.data;
  }

  /** A peer's own answer to a GET (as a peer asks it: its own models only), or undefined when it gave none in time. */
  private async peerGet<T>(url: string, path: string): Promise<T | undefined> {
    try {
      const res = await fetch(`${url}${path}`, { headers: forwardHeaders(this.cluster!.name, this.config!.key), signal: AbortSignal.timeout(LIST_TIMEOUT_MS) });
      if (!res.ok) return undefined;
      return (await res.json()) as T;
    } catch {
      return undefined;
    }
  }

  /** GET /cluster */
  private nodes(): ClusterList {
    const c = this.cluster;
    if (!c) throw new ApiError(503, "this node is not in the cluster now (it is starting or leaving)");
    const data = [...c.view().values()].sort((a, b) => a.state.name.localeCompare(b.state.name)).map((n) => ({
      name: n.state.name,
      url: n.state.url,
      status: n.status,
      self: n.self,
      last_seen: Math.floor(n.state.lastSeen / 1000),
      version: n.state.version,
      models_max: n.state.modelsMax,
      memory: n.state.memory,
      models: Object.entries(n.state.models).map(([id, m]) => ({ id, status: m.status, in_flight: m.inFlight, waiting: m.waiting, slots: m.slots })),
    }));
    return { object: "list", node: c.name, connected: c.isConnected(), data };
  }

  /** GET /models/sse: this node's events and, each with its `node`, the other nodes'. */
  private events(ctx: RequestContext, original: Handler): unknown {
    const c = this.cluster;
    if (!c || this.isPeer(ctx.req)) return original(ctx);
    streamModelEvents(ctx.res, (send) => {
      const offLocal = this.router.events.subscribe((ev) => send({ ...ev, node: c.name }));
      const offRemote = c.onChange((changes) => {
        for (const ch of changes) {
          if (ch.kind !== "model" || ch.node === c.name) continue;
          send({ model: ch.model, event: "status_change", node: ch.node, data: { status: ch.status === "downloading" ? "loading" : ch.status } });
        }
      });
      return () => {
        offLocal();
        offRemote();
      };
    });
    return HANDLED;
  }

  private registerMetrics(metrics: RouterMetrics): void {
    const registers = [metrics.registry];
    const self = this;
    new Gauge({
      name: "corral_cluster_nodes", help: "Nodes of the cluster this node knows, by status (up, down).",
      labelNames: ["status"] as const, registers,
      collect() {
        this.reset();
        for (const s of ["up", "down"] as const) this.set({ status: s }, [...(self.cluster?.view().values() ?? [])].filter((n) => n.status === s).length);
      },
    });
    this.forwarded = new Counter({
      name: "corral_cluster_forwarded_requests_total", help: "Requests this node forwarded to another node of the cluster, by peer.",
      labelNames: ["peer"] as const, registers,
    });
  }
}

export type { ClusterFlags };
