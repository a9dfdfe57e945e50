// The cluster's entry point, for the router to load with a dynamic import() only when --cluster is given (so that a
// router without it never loads the NATS client):
//
//   const { startCluster } = await import("../cluster/cluster.js");
//   const cluster = startCluster(config, { snapshot: () => ... }, log);
//
// It returns at once; the node serves its own models while it connects (see Membership).
import type { Logger } from "../util/log.js";
import type { ClusterConfig } from "./config.js";
import { Membership, type LocalNode } from "./membership.js";
import type { LockResult } from "./placement-lock.js";
import { route, type RouteDecision, type RouteOptions } from "./routing.js";
import type { ClusterChange, ClusterView } from "./view.js";

export type { LocalNode } from "./membership.js";
export type { LocalSnapshot, NodeModel, NodeState, ModelStatus, CatalogEntry, MemoryPool } from "./node-state.js";
export type { ClusterChange, ClusterNode, ClusterView, NodeStatus } from "./view.js";
export type { RouteDecision, RouteOptions } from "./routing.js";
export type { LockHolder, LockResult } from "./placement-lock.js";

export interface Cluster {
  /** This node's name and advertised URL. */
  readonly name: string;
  readonly url: string;
  /** Every node known, this one included (its state read from the local router now). */
  view(): ClusterView;
  /** Where a request for `model` goes (see routing.ts). */
  route(model: string, opts?: RouteOptions): RouteDecision;
  /** Takes the model's placement lock before a "place" decision is carried out. */
  tryLock(model: string, target: string): Promise<LockResult>;
  /** Releases it: once the target's state shows the model loading, or the load failed. */
  unlock(model: string): Promise<void>;
  /** The local router's state changed: published shortly (debounced). */
  changed(): void;
  /** Other nodes' changes (node up/down/gone, model status), as they are seen. */
  onChange(fn: (changes: ClusterChange[]) => void): () => void;
  /** Whether NATS is reachable now (otherwise the view is the last one seen). */
  isConnected(): boolean;
  /** Resolves once this node is registered (the first time). */
  ready(): Promise<void>;
  /** Leaves the cluster (deletes this node's entry) and disconnects. */
  close(): Promise<void>;
}

export function startCluster(config: ClusterConfig, local: LocalNode, log: Pick<Logger, "info" | "warn" | "debug">): Cluster {
  const m = new Membership({ config, local, log });
  m.start();
  return {
    name: m.name,
    url: m.url,
    view: () => m.view(),
    route: (model, opts) => route(m.view(), m.name, model, opts),
    tryLock: (model, target) => m.tryLock(model, target),
    unlock: (model) => m.unlock(model),
    changed: () => m.changed(),
    onChange: (fn) => m.onChange(fn),
    isConnected: () => m.isConnected(),
    ready: () => m.ready(),
    close: () => m.close(),
  };
}
