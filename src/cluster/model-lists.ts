// GET /models on a node of a cluster: every model of every node, listed once. Each node answers its own list (the
// entries a single router gives, unchanged); a node that is down or too slow to answer is listed from its last
// published state. A model on several nodes is one entry: the fields of its best-off copy (loaded before loading
// before unloading before unloaded), its requests added up, and `nodes` with its status on each.
import type { ModelEntry } from "../router/model-entry.js";
import type { ModelStatus } from "../router/model-events.js";
import type { NodeState } from "./node-state.js";

export interface NodeList {
  node: string;
  status: "up" | "down";
  /** The node's own GET /models entries; undefined when it did not answer. */
  entries: ModelEntry[] | undefined;
  /** Its last published state, for when it did not answer. */
  state?: NodeState;
}

const RANK: Record<ModelStatus, number> = { loaded: 0, loading: 1, downloading: 2, unloading: 3, unloaded: 4 };

export function mergeModelLists(lists: readonly NodeList[]): ModelEntry[] {
  const byId = new Map<string, { best: ModelEntry; copies: ModelEntry[]; nodes: Array<{ name: string; status: ModelStatus }> }>();
  for (const list of lists) {
    const entries = list.entries ?? (list.state ? fromState(list.state) : []);
    for (const e of entries) {
      const known = byId.get(e.id);
      const node = { name: list.node, status: e.status.value };
      if (!known) {
        byId.set(e.id, { best: e, copies: [e], nodes: [node] });
        continue;
      }
      known.copies.push(e);
      known.nodes.push(node);
      if (RANK[e.status.value] < RANK[known.best.status.value]) known.best = e;
    }
  }
  return [...byId.values()].map(({ best, copies, nodes }) => ({
    ...best,
    in_flight: copies.reduce((n, c) => n + c.in_flight, 0),
    waiting: copies.reduce((n, c) => n + c.waiting, 0),
    nodes: nodes.sort((a, b) => a.name.localeCompare(b.name)),
  }));
}

/** Entries for a node that did not answer: what its published state says of each model. */
function fromState(state: NodeState): ModelEntry[] {
  const created = Math.floor(state.lastSeen / 1000);
  return Object.entries(state.catalog).map(([id, c]) => {
    const m = state.models[id];
    return {
      id, aliases: [...(c.aliases ?? [])].sort(), tags: [], object: "model", owned_by: "llamacpp", created,
      status: { value: m?.status ?? "unloaded", args: [], preset: "" },
      // a node of an older version may not say where the model comes from
      path: null, size_bytes: null, source: c.source ?? "models_dir", in_flight: m?.inFlight ?? 0, waiting: m?.waiting ?? 0,
      last_used: null, pinned: false,
      ...(c.ram !== undefined ? { memory: { estimate: { ram: c.ram, vram: c.vram ?? 0 }, measured: null } } : {}),
    };
  });
}
