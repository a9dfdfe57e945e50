// The cluster as one node sees it, and what changed between two sightings: the changes are what a watcher of
// other nodes' models (the router's /models/sse) forwards, so they are worked out here, purely, once.
import type { ModelStatus, NodeState } from "./node-state.js";

/** up: heard from within the TTL; down: silent longer, but its entry has not expired yet. */
export type NodeStatus = "up" | "down";

export interface ClusterNode {
  state: NodeState;
  status: NodeStatus;
  /** This node (its state is the local router's own, never stale). */
  self: boolean;
}

/** Every node known, by name. */
export type ClusterView = ReadonlyMap<string, ClusterNode>;

export type ClusterChange =
  /** A node appeared (up or down), changed status, or is gone (left, or its entry expired). */
  | { kind: "node"; node: string; status: NodeStatus | "gone"; url: string }
  /** A model's process on a node changed state; unloaded = it has none any more (or the node is gone). */
  | { kind: "model"; node: string; model: string; status: ModelStatus | "unloaded" };

/**
 * The changes from `prev` to `next`, nodes in name order: a node's own event before its models' when it appears,
 * after them when it goes (so that a listener never sees a model on a node it does not know). A node started again
 * under the same name is the same node: only its models that changed are reported.
 */
export function viewChanges(prev: ClusterView, next: ClusterView): ClusterChange[] {
  const out: ClusterChange[] = [];
  const names = [...new Set([...prev.keys(), ...next.keys()])].sort();
  for (const node of names) {
    const a = prev.get(node);
    const b = next.get(node);
    if (b && (!a || a.status !== b.status)) out.push({ kind: "node", node, status: b.status, url: b.state.url });
    const before = a?.state.models ?? {};
    const after = b?.state.models ?? {};
    for (const model of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
      const was = before[model]?.status ?? "unloaded";
      const is = after[model]?.status ?? "unloaded";
      if (was !== is) out.push({ kind: "model", node, model, status: is });
    }
    if (a && !b) out.push({ kind: "node", node, status: "gone", url: a.state.url });
  }
  return out;
}

/** Whether a node last heard from at `lastHeard` is up at `now`. */
export function liveness(lastHeard: number, now: number, ttlMs: number): NodeStatus {
  return now - lastHeard > ttlMs ? "down" : "up";
}
