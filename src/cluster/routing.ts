// Where a request for a model goes in the cluster: decided, purely, from the view (no I/O, no clock), like the
// scheduler, so that every rule is a unit test. In order:
//  1. a node where the model is loaded with a free slot: the least busy (in flight / slots), this node on a tie;
//  2. a node where it is loading, or loaded with every slot busy: go there and wait in its queue;
//  3. placement: among the nodes whose catalog has it, one where it fits the memory budget without evicting a busy
//     model, the one with the most free memory;
//  4. none fits so: the node of the catalog with the most free memory anyway (its own scheduler queues or evicts);
//  5. no node has it: not found.
// Replicas: when every copy is loaded and busy, requests already wait (in a router's queue, or past a process's slots
// in its own), and there are fewer copies than the
// model's `replicas`, another copy is placed on a node without one (rule 3 only: a replica never evicts a busy
// model; without room the request waits as in rule 2). Down nodes are never chosen.
import type { CatalogEntry, NodeModel, NodeState } from "./node-state.js";
import type { ClusterNode, ClusterView } from "./view.js";

export interface RouteTarget {
  node: string;
  url: string;
  /** The node is this one: serve here, do not forward. */
  local: boolean;
}

export type RouteDecision =
  | (RouteTarget & { action: "serve"; why: "free-slot" | "loading" | "queued"; reason: string })
  /** Load it there: the caller takes the model's placement lock first. fits: false for rule 4. */
  | (RouteTarget & { action: "place"; why: "fits" | "most-free" | "replica"; fits: boolean; reason: string })
  | { action: "not-found"; reason: string };

export interface RouteOptions {
  /** Copies the model may have across the cluster (its preset's replicas); default 1. */
  replicas?: number;
  /** Nodes to pass over as if they were down (one that refused a connection a moment ago). */
  exclude?(node: string): boolean;
}

interface Copy {
  node: ClusterNode;
  model: NodeModel;
}

export function route(view: ClusterView, self: string, model: string, opts: RouteOptions = {}): RouteDecision {
  const up = [...view.values()].filter((n) => n.status === "up" && !opts.exclude?.(n.state.name));
  const copies: Copy[] = [];
  for (const node of up) {
    const m = node.state.models[model];
    if (m && m.status !== "unloading") copies.push({ node, model: m });
  }

  // 1. a free slot
  const free = copies.filter((c) => c.model.status === "loaded" && c.model.inFlight < c.model.slots && c.model.waiting === 0);
  const idlest = best(free, (c) => c.model.inFlight / c.model.slots, self);
  if (idlest) {
    const m = idlest.model;
    return serve(idlest.node, self, "free-slot", `${model} is loaded on ${idlest.node.state.name} with a free slot (${m.inFlight}/${m.slots} busy)`);
  }

  // replicas: another copy when every one is busy and requests wait
  // the model's own setting, as any node's catalog publishes it, unless the caller says otherwise
  const published = Math.max(...up.map((n) => n.state.catalog[model]?.replicas ?? 1));
  const replicas = Math.max(1, Math.floor(opts.replicas ?? published));
  const allLoaded = copies.every((c) => c.model.status === "loaded");
  // requests that wait: in the router's queue, or (granted past the slots) in the model process's own
  const waiting = copies.reduce((n, c) => n + c.model.waiting + Math.max(0, c.model.inFlight - c.model.slots), 0);
  if (copies.length > 0 && copies.length < replicas && allLoaded && waiting > 0) {
    const without = up.filter((n) => n.state.models[model] === undefined);
    const target = bestPlacement(without, model, self, true);
    if (target) {
      return place(target, self, "replica", true,
        `every copy of ${model} is busy with ${waiting} waiting: copy ${copies.length + 1} of ${replicas} on ${target.state.name} (${freeText(target.state)})`);
    }
  }

  // 2. wait where it is loading or queued
  const queue = best(copies, (c) => (c.model.inFlight + c.model.waiting) / c.model.slots, self);
  if (queue) {
    const m = queue.model;
    const name = queue.node.state.name;
    return m.status === "loaded"
      ? serve(queue.node, self, "queued", `${model} is loaded on ${name} with every slot busy (${m.inFlight}/${m.slots}, ${m.waiting} waiting)`)
      : serve(queue.node, self, "loading", `${model} is ${m.status} on ${name} (${m.waiting} waiting)`);
  }

  // 3. placement where it fits without evicting a busy model
  const fits = bestPlacement(up, model, self, true);
  if (fits) return place(fits, self, "fits", true, `${model} fits on ${fits.state.name} (${freeText(fits.state)})`);

  // 4. the most free memory anyway
  const anyway = bestPlacement(up, model, self, false);
  if (anyway) {
    return place(anyway, self, "most-free", false,
      `${model} fits no node without evicting a busy model; ${anyway.state.name} has the most free memory (${freeText(anyway.state)})`);
  }

  // 5. not found
  const downOnly = [...view.values()].filter((n) => n.status === "down" && n.state.catalog[model] !== undefined).map((n) => n.state.name);
  return { action: "not-found", reason: downOnly.length > 0 ? `${model} is only on nodes that are down (${downOnly.sort().join(", ")})` : `no node serves ${model}` };
}

/**
 * Whether `model` fits on `node` without evicting a busy model: its estimate within the free memory plus what the
 * idle loaded models would give back, and room under modelsMax (an idle model to unload when it is full).
 * Unknown estimates count as nothing, as the scheduler counts them.
 */
export function fitsWithoutEvictingBusy(node: NodeState, need: CatalogEntry): boolean {
  let ram = 0;
  let vram = 0;
  let idle = 0;
  for (const [id, m] of Object.entries(node.models)) {
    if (m.status !== "loaded" || m.inFlight > 0 || m.waiting > 0) continue;
    idle++;
    ram += node.catalog[id]?.ram ?? 0;
    vram += node.catalog[id]?.vram ?? 0;
  }
  const count = Object.keys(node.models).length;
  if (node.modelsMax > 0 && count >= node.modelsMax && idle === 0) return false;
  const { ram: ramPool, vram: vramPool } = node.memory;
  if (ramPool && (need.ram ?? 0) > ramPool.free + ram) return false;
  if (vramPool && (need.vram ?? 0) > 0 && (need.vram ?? 0) > vramPool.free + vram) return false;
  return true;
}

function bestPlacement(nodes: ClusterNode[], model: string, self: string, mustFit: boolean): ClusterNode | undefined {
  const candidates = nodes.filter((n) => {
    const need = n.state.catalog[model];
    return need !== undefined && (!mustFit || fitsWithoutEvictingBusy(n.state, need));
  });
  // most free RAM first, then most free VRAM; no budget = unlimited
  const sorted = [...candidates].sort((a, b) =>
    freeOf(b.state, "ram") - freeOf(a.state, "ram") || freeOf(b.state, "vram") - freeOf(a.state, "vram") || tieBreak(a, b, self));
  return sorted[0];
}

/** The element with the smallest score; ties go to this node, then to the first name in order. */
function best<T extends { node: ClusterNode }>(items: T[], score: (item: T) => number, self: string): T | undefined {
  return [...items].sort((a, b) => score(a) - score(b) || tieBreak(a.node, b.node, self))[0];
}

function tieBreak(a: ClusterNode, b: ClusterNode, self: string): number {
  const sa = a.state.name === self ? 0 : 1;
  const sb = b.state.name === self ? 0 : 1;
  return sa - sb || (a.state.name < b.state.name ? -1 : a.state.name > b.state.name ? 1 : 0);
}

function freeOf(state: NodeState, kind: "ram" | "vram"): number {
  const pool = state.memory[kind];
  return pool ? pool.free : Number.MAX_SAFE_INTEGER;
}

function target(node: ClusterNode, self: string): RouteTarget {
  return { node: node.state.name, url: node.state.url, local: node.state.name === self };
}

function serve(node: ClusterNode, self: string, why: "free-slot" | "loading" | "queued", reason: string): RouteDecision {
  return { action: "serve", ...target(node, self), why, reason };
}

function place(node: ClusterNode, self: string, why: "fits" | "most-free" | "replica", fits: boolean, reason: string): RouteDecision {
  return { action: "place", ...target(node, self), why, fits, reason };
}

function freeText(state: NodeState): string {
  const ram = state.memory.ram;
  return ram ? `${gib(ram.free)} of ${gib(ram.budget)} free` : "no memory budget";
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}
