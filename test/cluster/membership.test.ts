// Membership against a real nats-server with JetStream: members see each other, a silent member goes down and then
// away, a member that leaves goes at once, a member started again under its name replaces its old entry.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { natsServerPath, NO_NATS, startNats, type NatsServer } from "../helpers/nats.js";
import { member, summary, until, withTimeout, type TestMember } from "./members.js";

const skip = natsServerPath() ? false : NO_NATS;

describe("cluster membership", { skip, timeout: 60_000 }, () => {
  let nats: NatsServer;
  const members: TestMember[] = [];
  const join = (name: string) => {
    const t = member(nats.url, name);
    members.push(t);
    return t;
  };

  before(async () => {
    nats = await startNats();
  });
  after(async () => {
    await Promise.all(members.map((t) => t.m.close({ leave: false })));
    await nats?.close();
  });

  test("three members see each other, and each other's models, within a second", async () => {
    const [a, b, c] = [join("a:1"), join("b:2"), join("c:3")];
    await withTimeout(Promise.all([a, b, c].map((t) => t.m.ready())), 10_000, "registration");
    const all = { "a:1": "up", "b:2": "up", "c:3": "up" };
    for (const t of [a, b, c]) await until(`${t.name} sees all three`, () => JSON.stringify(summary(t.m.view())) === JSON.stringify(all), 1000, () => summary(t.m.view()));
    const v = a.m.view();
    assert.equal(v.get("a:1")!.self, true);
    assert.equal(v.get("b:2")!.state.url, "http://b:2.test:8080");
    assert.deepEqual(Object.keys(v.get("c:3")!.state.catalog).sort(), ["only-c:3", "shared"]);

    b.setModel("shared", "loading");
    await until("a sees b loading", () => summary(a.m.view())["b:2"] === "up shared=loading", 1000, () => summary(a.m.view()));
    b.setModel("shared", "loaded");
    await until("c sees b loaded", () => summary(c.m.view())["b:2"] === "up shared=loaded", 1000, () => summary(c.m.view()));
    assert.deepEqual(a.changes.filter((ch) => ch.node === "b:2"), [
      { kind: "node", node: "b:2", status: "up", url: "http://b:2.test:8080" },
      { kind: "model", node: "b:2", model: "shared", status: "loading" },
      { kind: "model", node: "b:2", model: "shared", status: "loaded" },
    ]);
    assert.ok(!a.changes.some((ch) => ch.node === "a:1"), "a member's own changes are the router's to report");

    // the routing choice works on the live view
    const { route } = await import("../../src/cluster/routing.js");
    const d = route(c.m.view(), "c:3", "shared");
    assert.equal(d.action === "serve" ? `${d.why} ${d.node}` : d.action, "free-slot b:2");

    b.setModel("shared", undefined);
    await Promise.all([a, b, c].map((t) => t.m.close()));
  });

  test("a member that stops heartbeating shows down, then is gone once its key expires (TTL 2 s)", async () => {
    const [a, b] = [join("a"), join("b")];
    b.setModel("m", "loaded");
    await withTimeout(Promise.all([a.m.ready(), b.m.ready()]), 10_000, "registration");
    await until("a sees b with its model", () => summary(a.m.view())["b"] === "up m=loaded", 2000, () => summary(a.m.view()));
    const killed = Date.now();
    await b.m.close({ leave: false }); // as SIGKILL would: the key stays until it expires
    const downAfter = await until("b shows down", () => a.m.view().get("b")?.status === "down", 4000, () => summary(a.m.view()));
    assert.ok(Date.now() - killed >= 1900, `down only after the TTL (${Date.now() - killed} ms)`);
    const goneAfter = await until("b is gone", () => !a.m.view().has("b"), 5000, () => summary(a.m.view()));
    assert.ok(downAfter + goneAfter < 7000, `down after ${downAfter} ms, gone ${goneAfter} ms later`);
    assert.deepEqual(a.changes.filter((c) => c.node === "b").map((c) => (c.kind === "node" ? `node ${c.status}` : `${c.model} ${c.status}`)),
      ["node up", "m loaded", "node down", "m unloaded", "node gone"]);
    await a.m.close();
  });

  test("a member that leaves is gone at once; one started again under its name replaces its old entry", async () => {
    const [a, b] = [join("a"), join("b")];
    b.setModel("old", "loaded");
    await withTimeout(Promise.all([a.m.ready(), b.m.ready()]), 10_000, "registration");
    await until("a sees b", () => summary(a.m.view())["b"] === "up old=loaded", 2000, () => summary(a.m.view()));
    const firstStart = a.m.view().get("b")!.state.startId;

    // restarted after a crash: the new run's entry replaces the old one
    await b.m.close({ leave: false });
    const b2 = join("b");
    b2.setModel("new", "loading");
    await withTimeout(b2.m.ready(), 10_000, "b again");
    await until("a sees the new b", () => summary(a.m.view())["b"] === "up new=loading", 2000, () => summary(a.m.view()));
    assert.notEqual(a.m.view().get("b")!.state.startId, firstStart);
    assert.ok(!b2.log.some((l) => /another node registers/.test(l)), `the old entry is no other node: ${b2.log.join("\n")}`);
    assert.deepEqual(b2.m.view().get("a")?.status, "up");

    const left = Date.now();
    await b2.m.close();
    await until("b is gone after leaving", () => !a.m.view().has("b"), 1000, () => summary(a.m.view()));
    assert.ok(Date.now() - left < 1000);
    await a.m.close();
  });

  test("the entry point the router loads: startCluster registers, routes by the live view, and leaves", async () => {
    const { startCluster } = await import("../../src/cluster/cluster.js");
    const { resolveClusterConfig } = await import("../../src/cluster/config.js");
    const lines: string[] = [];
    const log = { info: (s: string) => lines.push(s), warn: (s: string) => lines.push(s), debug: () => {} };
    const start = (name: string, port: number, models: Record<string, "loaded">) => {
      const { config } = resolveClusterConfig({ cluster: [nats.url], nodeName: name, clusterTtl: 2, host: "127.0.0.1" }, { hostname: "h", port, readFile: () => "" });
      const slots = Object.fromEntries(Object.entries(models).map(([id, status]) => [id, { status, inFlight: 0, waiting: 0, slots: 2 }]));
      return startCluster(config!, { snapshot: () => ({ memory: {}, modelsMax: 0, catalog: { x: {}, y: {} }, models: slots }) }, log);
    };
    const one = start("one", 8001, {});
    const two = start("two", 8002, { y: "loaded" });
    try {
      await withTimeout(Promise.all([one.ready(), two.ready()]), 10_000, "registration");
      await until("one sees two", () => one.view().has("two"), 1000);
      const y = one.route("y");
      assert.deepEqual(y.action === "serve" ? [y.node, y.url, y.local, y.why] : y, ["two", "http://127.0.0.1:8002", false, "free-slot"]);
      const x = one.route("x");
      assert.deepEqual(x.action === "place" ? [x.node, x.local] : x, ["one", true], "placement ties go to this node");
      assert.equal(one.route("z").action, "not-found");
      assert.equal(one.isConnected(), true);
    } finally {
      await two.close();
      await until("two is gone", () => !one.view().has("two"), 1000).finally(() => one.close());
    }
  });

  test("a member with another TTL than the bucket's: a warning naming both", async () => {
    const odd = member(nats.url, "odd", { ttlMs: 3000 });
    members.push(odd);
    await withTimeout(odd.m.ready(), 10_000, "registration");
    assert.ok(odd.log.includes("W cluster: the corral-nodes bucket keeps entries 4 s, made by a node with another --cluster-ttl; this node's TTL is 3 s"), odd.log.join("\n"));
    await odd.m.close();
  });

  test("two live members under one name: a warning", async () => {
    const [a, a2] = [join("same"), join("same")];
    await withTimeout(Promise.all([a.m.ready(), a2.m.ready()]), 10_000, "registration");
    await until("a warning", () => [...a.log, ...a2.log].some((l) => /^W cluster: another node registers under this node's name same/.test(l)), 3000);
    await Promise.all([a.m.close(), a2.m.close()]);
  });
});
