// The cluster's routing choice as a pure function: views built by hand, decisions checked rule by rule.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { route, fitsWithoutEvictingBusy, type RouteDecision } from "../../src/cluster/routing.js";
import type { ModelStatus, NodeModel, NodeState } from "../../src/cluster/node-state.js";
import type { ClusterNode, ClusterView } from "../../src/cluster/view.js";

const GiB = 1024 ** 3;

interface NodeSpec {
  status?: "up" | "down";
  /** Free RAM in GiB (budget 64 GiB); undefined = no budget. */
  free?: number;
  vramFree?: number;
  modelsMax?: number;
  /** Catalog: id → RAM estimate in GiB. */
  catalog?: Record<string, number>;
  models?: Record<string, Partial<NodeModel> & { status: ModelStatus }>;
}

function node(name: string, spec: NodeSpec = {}): ClusterNode {
  const catalog: NodeState["catalog"] = {};
  for (const [id, gib] of Object.entries(spec.catalog ?? {})) catalog[id] = { ram: gib * GiB };
  const models: NodeState["models"] = {};
  for (const [id, m] of Object.entries(spec.models ?? {})) models[id] = { inFlight: 0, waiting: 0, slots: 1, ...m };
  const state: NodeState = {
    v: 1, name, url: `http://${name}:8080`, startId: "s", version: "0", lastSeen: 0, heartbeatMs: 1000,
    memory: {
      ...(spec.free !== undefined ? { ram: { budget: 64 * GiB, free: spec.free * GiB } } : {}),
      ...(spec.vramFree !== undefined ? { vram: { budget: 24 * GiB, free: spec.vramFree * GiB } } : {}),
    },
    modelsMax: spec.modelsMax ?? 0, catalog, models,
  };
  return { state, status: spec.status ?? "up", self: false };
}

function view(...nodes: ClusterNode[]): ClusterView {
  return new Map(nodes.map((n) => [n.state.name, n]));
}

/** "action why node" (or "not-found"), the decision's gist. */
function gist(d: RouteDecision): string {
  return d.action === "not-found" ? "not-found" : `${d.action} ${d.why} ${d.node}`;
}

describe("cluster routing", () => {
  test("a loaded model with a free slot: the least busy node", () => {
    const v = view(
      node("a", { catalog: { m: 1 }, models: { m: { status: "loaded", inFlight: 3, slots: 4 } } }),
      node("b", { catalog: { m: 1 }, models: { m: { status: "loaded", inFlight: 1, slots: 4 } } }),
      node("c", { catalog: { m: 1 }, models: { m: { status: "loaded", inFlight: 1, slots: 2 } } }),
    );
    const d = route(v, "a", "m");
    assert.equal(gist(d), "serve free-slot b");
    assert.ok(d.action === "serve" && d.url === "http://b:8080" && !d.local);
    assert.match(d.reason, /loaded on b with a free slot \(1\/4 busy\)/);
  });

  test("ties go to this node, then to the first name", () => {
    const busy = (n: string) => node(n, { catalog: { m: 1 }, models: { m: { status: "loaded", inFlight: 1, slots: 2 } } });
    const v = view(busy("c"), busy("b"), busy("a"));
    const here = route(v, "b", "m");
    assert.equal(gist(here), "serve free-slot b");
    assert.ok(here.action === "serve" && here.local);
    assert.equal(gist(route(v, "zz", "m")), "serve free-slot a");
  });

  test("a free slot beats a less loaded node with a queue; a busier free slot beats placement", () => {
    const v = view(
      node("a", { free: 60, catalog: { m: 1 } }),
      node("b", { catalog: { m: 1 }, models: { m: { status: "loaded", inFlight: 7, slots: 8 } } }),
    );
    assert.equal(gist(route(v, "a", "m")), "serve free-slot b");
    const full = view(node("a", { catalog: { m: 1 }, models: { m: { status: "loaded", inFlight: 1, slots: 1 } } }),
      node("b", { catalog: { m: 1 }, models: { m: { status: "loaded", inFlight: 1, slots: 4 } } }));
    assert.equal(gist(route(full, "a", "m")), "serve free-slot b");
  });

  test("a model loading somewhere: wait there rather than place another copy", () => {
    const v = view(
      node("a", { free: 60, catalog: { m: 1 } }),
      node("b", { free: 2, catalog: { m: 1 }, models: { m: { status: "loading", waiting: 3 } } }),
    );
    const d = route(v, "a", "m");
    assert.equal(gist(d), "serve loading b");
    assert.match(d.reason, /m is loading on b \(3 waiting\)/);
    const dl = view(node("b", { catalog: { m: 1 }, models: { m: { status: "downloading" } } }));
    assert.equal(gist(route(dl, "a", "m")), "serve loading b");
  });

  test("every copy busy: the shortest queue per slot", () => {
    const v = view(
      node("a", { catalog: { m: 1 }, models: { m: { status: "loaded", inFlight: 1, slots: 1, waiting: 4 } } }),
      node("b", { catalog: { m: 1 }, models: { m: { status: "loaded", inFlight: 4, slots: 4, waiting: 2 } } }),
      node("c", { catalog: { m: 1 }, models: { m: { status: "loading", waiting: 3 } } }),
    );
    const d = route(v, "a", "m");
    assert.equal(gist(d), "serve queued b");
    assert.match(d.reason, /every slot busy \(4\/4, 2 waiting\)/);
  });

  test("an unloading copy is no copy: the model is placed", () => {
    const v = view(node("a", { free: 10, catalog: { m: 1 }, models: { m: { status: "unloading" } } }), node("b", { free: 20, catalog: { m: 1 } }));
    assert.equal(gist(route(v, "a", "m")), "place fits b");
  });

  test("placement: the node with the most free memory among those whose catalog has it", () => {
    const v = view(
      node("a", { free: 10, catalog: { m: 4 } }),
      node("b", { free: 30, catalog: { m: 4 } }),
      node("c", { free: 50, catalog: { other: 1 } }),
      node("d", { free: 20, catalog: { m: 4 } }),
    );
    const d = route(v, "a", "m");
    assert.equal(gist(d), "place fits b");
    assert.ok(d.action === "place" && d.fits);
    assert.match(d.reason, /fits on b \(30\.0 GiB of 64\.0 GiB free\)/);
  });

  test("placement ties: this node, then the first name; a node without a budget counts as the most free", () => {
    const v = view(node("c", { free: 8, catalog: { m: 4 } }), node("b", { free: 8, catalog: { m: 4 } }), node("a", { free: 8, catalog: { m: 4 } }));
    assert.equal(gist(route(v, "c", "m")), "place fits c");
    assert.equal(gist(route(v, "x", "m")), "place fits a");
    const unlimited = view(node("a", { free: 60, catalog: { m: 4 } }), node("b", { catalog: { m: 4 } }));
    assert.equal(gist(route(unlimited, "a", "m")), "place fits b");
  });

  test("memory fit: idle models may be evicted, busy ones may not", () => {
    const v = view(
      // 2 GiB free + 8 GiB idle: a 9 GiB model fits without evicting a busy one
      node("a", { free: 2, catalog: { m: 9, idle: 8 }, models: { idle: { status: "loaded" } } }),
      // more free memory, but its 20 GiB model is busy
      node("b", { free: 4, catalog: { m: 9, busy: 20 }, models: { busy: { status: "loaded", inFlight: 1 } } }),
    );
    assert.equal(gist(route(v, "b", "m")), "place fits a");
    // a model queued for is as busy as one serving
    const queued = view(node("a", { free: 2, catalog: { m: 9, q: 8 }, models: { q: { status: "loaded", waiting: 1 } } }));
    assert.equal(gist(route(queued, "a", "m")), "place most-free a");
  });

  test("none fits without evicting a busy model: the most free memory anyway", () => {
    const v = view(
      node("a", { free: 1, catalog: { m: 9, x: 8 }, models: { x: { status: "loaded", inFlight: 1 } } }),
      node("b", { free: 3, catalog: { m: 9, y: 8 }, models: { y: { status: "loading" } } }),
    );
    const d = route(v, "a", "m");
    assert.equal(gist(d), "place most-free b");
    assert.ok(d.action === "place" && !d.fits);
    assert.match(d.reason, /fits no node without evicting a busy model; b has the most free memory/);
  });

  test("VRAM counts where the model needs it and the node has a budget", () => {
    const a = node("a", { free: 40, vramFree: 2, catalog: { m: 1 } });
    a.state.catalog["m"] = { ram: GiB, vram: 6 * GiB };
    const b = node("b", { free: 10, vramFree: 12, catalog: { m: 1 } });
    b.state.catalog["m"] = { ram: GiB, vram: 6 * GiB };
    assert.equal(gist(route(view(a, b), "a", "m")), "place fits b");
    assert.equal(fitsWithoutEvictingBusy(a.state, { ram: GiB }), true, "no VRAM needed: the VRAM budget does not matter");
  });

  test("models-max: a full node fits only by unloading an idle model", () => {
    const full = node("a", { free: 60, modelsMax: 2, catalog: { m: 1, x: 1, y: 1 }, models: { x: { status: "loaded", inFlight: 1 }, y: { status: "loading" } } });
    const roomy = node("b", { free: 5, modelsMax: 2, catalog: { m: 1, x: 1 }, models: { x: { status: "loaded" } } });
    assert.equal(fitsWithoutEvictingBusy(full.state, { ram: GiB }), false);
    assert.equal(fitsWithoutEvictingBusy({ ...roomy.state, models: { x: { status: "loaded", inFlight: 0, waiting: 0, slots: 1 }, z: { status: "loaded", inFlight: 0, waiting: 0, slots: 1 } } }, { ram: GiB }), true);
    assert.equal(gist(route(view(full, roomy), "a", "m")), "place fits b");
  });

  test("unknown estimates count as nothing", () => {
    const a = node("a", { free: 0, catalog: {} });
    a.state.catalog["m"] = {};
    assert.equal(gist(route(view(a), "a", "m")), "place fits a");
  });

  test("down nodes are never chosen, for serving or placement", () => {
    const v = view(
      node("a", { status: "down", free: 60, catalog: { m: 1 }, models: { m: { status: "loaded", slots: 8 } } }),
      node("b", { free: 4, catalog: { m: 1 } }),
    );
    assert.equal(gist(route(v, "b", "m")), "place fits b");
    const only = view(node("a", { status: "down", catalog: { m: 1 }, models: { m: { status: "loaded" } } }), node("b", { catalog: { x: 1 } }));
    const d = route(only, "b", "m");
    assert.equal(gist(d), "not-found");
    assert.match(d.reason, /only on nodes that are down \(a\)/);
  });

  test("no node has it: not found", () => {
    const d = route(view(node("a", { catalog: { x: 1 } })), "a", "m");
    assert.equal(gist(d), "not-found");
    assert.match(d.reason, /no node serves m/);
    assert.equal(gist(route(new Map(), "a", "m")), "not-found");
  });

  test("replicas: every copy busy with requests waiting and fewer copies than replicas: another copy elsewhere", () => {
    const busy = node("a", { free: 30, catalog: { m: 4 }, models: { m: { status: "loaded", inFlight: 1, slots: 1, waiting: 2 } } });
    const v = view(busy, node("b", { free: 10, catalog: { m: 4 } }), node("c", { free: 20, catalog: { m: 4 } }), node("d", { free: 50, catalog: {} }));
    const d = route(v, "a", "m", { replicas: 2 });
    assert.equal(gist(d), "place replica c");
    assert.match(d.reason, /copy 2 of 2 on c/);
    // default replicas = 1: wait in the queue
    assert.equal(gist(route(v, "a", "m")), "serve queued a");
    assert.equal(gist(route(v, "a", "m", { replicas: 1 })), "serve queued a");
  });

  test("replicas: not while a copy has a free slot, is loading, or nobody waits yet; not past N", () => {
    const loaded = (inFlight: number, waiting: number) => ({ catalog: { m: 4 }, free: 30, models: { m: { status: "loaded" as const, inFlight, slots: 1, waiting } } });
    const spare = node("z", { free: 60, catalog: { m: 4 } });
    assert.equal(gist(route(view(node("a", loaded(0, 0)), spare), "a", "m", { replicas: 3 })), "serve free-slot a");
    assert.equal(gist(route(view(node("a", loaded(1, 0)), spare), "a", "m", { replicas: 3 })), "serve queued a", "full but nobody waits yet");
    const loading = node("b", { catalog: { m: 4 }, models: { m: { status: "loading", waiting: 1 } } });
    assert.equal(gist(route(view(node("a", loaded(1, 3)), loading, spare), "a", "m", { replicas: 3 })), "serve loading b");
    assert.equal(gist(route(view(node("a", loaded(1, 3)), node("b", loaded(1, 3)), spare), "a", "m", { replicas: 2 })), "serve queued a", "two copies of two");
    assert.equal(gist(route(view(node("a", loaded(1, 3)), node("b", loaded(1, 3)), spare), "a", "m", { replicas: 3 })), "place replica z");
  });

  test("replicas: only where it fits without evicting a busy model; otherwise wait", () => {
    const a = node("a", { free: 30, catalog: { m: 4 }, models: { m: { status: "loaded", inFlight: 1, slots: 1, waiting: 2 } } });
    const tight = node("b", { free: 1, catalog: { m: 4, x: 8 }, models: { x: { status: "loaded", inFlight: 1 } } });
    assert.equal(gist(route(view(a, tight), "b", "m", { replicas: 2 })), "serve queued a");
  });

  test("a copy on a down node does not count towards replicas", () => {
    const a = node("a", { free: 30, catalog: { m: 4 }, models: { m: { status: "loaded", inFlight: 1, slots: 1, waiting: 2 } } });
    const gone = node("b", { status: "down", free: 30, catalog: { m: 4 }, models: { m: { status: "loaded" } } });
    const c = node("c", { free: 30, catalog: { m: 4 } });
    assert.equal(gist(route(view(a, gone, c), "a", "m", { replicas: 2 })), "place replica c");
  });

  test("the decision names the node's URL and whether it is this node", () => {
    const d = route(view(node("a", { free: 8, catalog: { m: 1 } })), "a", "m");
    assert.deepEqual(d.action === "place" ? [d.node, d.url, d.local] : [], ["a", "http://a:8080", true]);
  });
});
