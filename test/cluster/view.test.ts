// A node's value in the bucket (read defensively), its key, and the changes between two views of the cluster.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { fromKeyToken, keyToken, parseNodeState, type NodeState } from "../../src/cluster/node-state.js";
import { liveness, viewChanges, type ClusterNode, type ClusterView } from "../../src/cluster/view.js";

function state(name: string, models: Record<string, NodeState["models"][string]["status"]> = {}, startId = "s1"): NodeState {
  const m: NodeState["models"] = {};
  for (const [id, status] of Object.entries(models)) m[id] = { status, inFlight: 0, waiting: 0, slots: 1 };
  return { v: 1, name, url: `http://${name}`, startId, version: "1", lastSeen: 5, heartbeatMs: 1000, memory: {}, modelsMax: 0, catalog: {}, models: m };
}

const view = (...nodes: Array<[NodeState, "up" | "down"]>): ClusterView =>
  new Map(nodes.map(([s, status]): [string, ClusterNode] => [s.name, { state: s, status, self: false }]));

describe("node state", () => {
  test("a value round-trips through JSON; junk and other versions are refused; bad parts are dropped", () => {
    const s = state("n", { a: "loaded" });
    s.catalog = { a: { ram: 10, vram: 2 }, b: {} };
    s.memory = { ram: { budget: 100, free: 40 } };
    assert.deepEqual(parseNodeState(JSON.stringify(s)), s);
    assert.equal(parseNodeState("{"), undefined);
    assert.equal(parseNodeState("[]"), undefined);
    assert.equal(parseNodeState(JSON.stringify({ ...s, v: 2 })), undefined);
    assert.equal(parseNodeState(JSON.stringify({ ...s, url: 3 })), undefined);
    const messy = parseNodeState(JSON.stringify({ ...s, models: { a: { status: "exploded" }, b: { status: "loading", slots: 0, inFlight: -1 } }, catalog: { c: 5, d: { ram: "x" } } }));
    assert.deepEqual(messy!.models, { b: { status: "loading", inFlight: 0, waiting: 0, slots: 1 } });
    assert.deepEqual(messy!.catalog, { d: {} });
  });

  test("key tokens: only characters KV keys allow, distinct names stay distinct, and they decode back", () => {
    const names = ["host:8080", "host_3a8080", "org/repo:Q4_K_M", "a.b", "ümlaut", "-x-", "A"];
    const tokens = names.map(keyToken);
    for (const t of tokens) assert.match(t, /^[-_=A-Za-z0-9]+$/);
    assert.equal(new Set(tokens).size, names.length);
    assert.deepEqual(tokens.map(fromKeyToken), names);
    assert.equal(keyToken("host:8080"), "host_3a8080");
  });
});

describe("view changes", () => {
  test("a node appearing: its status, then its models", () => {
    assert.deepEqual(viewChanges(new Map(), view([state("b", { m: "loading" }), "up"])), [
      { kind: "node", node: "b", status: "up", url: "http://b" },
      { kind: "model", node: "b", model: "m", status: "loading" },
    ]);
  });

  test("model status changes, loads and unloads; counts alone are no change", () => {
    const before = view([state("a", { x: "loading", y: "loaded" }), "up"]);
    const after = state("a", { x: "loaded", z: "downloading" });
    const counted = view([state("a", { x: "loading", y: "loaded" }), "up"]);
    counted.get("a")!.state.models["y"]!.inFlight = 5;
    assert.deepEqual(viewChanges(before, counted), []);
    assert.deepEqual(viewChanges(before, view([after, "up"])), [
      { kind: "model", node: "a", model: "x", status: "loaded" },
      { kind: "model", node: "a", model: "y", status: "unloaded" },
      { kind: "model", node: "a", model: "z", status: "downloading" },
    ]);
  });

  test("up to down and back; a node gone: its models unloaded, then the node", () => {
    const up = view([state("a", { m: "loaded" }), "up"]);
    const down = view([state("a", { m: "loaded" }), "down"]);
    assert.deepEqual(viewChanges(up, down), [{ kind: "node", node: "a", status: "down", url: "http://a" }]);
    assert.deepEqual(viewChanges(down, up), [{ kind: "node", node: "a", status: "up", url: "http://a" }]);
    assert.deepEqual(viewChanges(down, new Map()), [
      { kind: "model", node: "a", model: "m", status: "unloaded" },
      { kind: "node", node: "a", status: "gone", url: "http://a" },
    ]);
  });

  test("a node restarted under the same name: only what changed", () => {
    const old = view([state("a", { m: "loaded", n: "loaded" }, "s1"), "up"]);
    const restarted = view([state("a", { m: "loaded" }, "s2"), "up"]);
    assert.deepEqual(viewChanges(old, restarted), [{ kind: "model", node: "a", model: "n", status: "unloaded" }]);
  });

  test("liveness: down once silent longer than the TTL", () => {
    assert.equal(liveness(1000, 3000, 2000), "up");
    assert.equal(liveness(1000, 3001, 2000), "down");
  });
});
