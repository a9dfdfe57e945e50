// Three corral nodes on loopback, one real nats-server, real model processes: a request entering any node reaches
// the node with the model; a burst of first requests loads a model once in the whole cluster; placement follows free
// memory; a busy model gets a replica; a SIGKILLed node's models move; NATS going away stops nothing local; a hop
// header without the cluster key is a client's request; no process outlives its node.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { NO_NATS, natsServerPath, startNats, type NatsServer } from "../helpers/nats.js";
import { chat, childPids, isAlive, listModels, makeModelsDir, NO_PARTIAL_UTF8, startRouter, testEngines, waitFor } from "../helpers/router.js";
import type { RunningServer } from "../helpers/server.js";

const skip = natsServerPath() ? false : NO_NATS;
// llama-server starts in a fraction of the built-in engine's time; either engine serves the cluster alike
const engine = testEngines().find((e) => e.engine === "llama-server" && !e.skip)?.engine ?? "node";
const KEY = "s3cret-cluster-key";
const TTL_S = 3;
/** A long answer that never ends early (no end-of-text tokens, no partial UTF-8). */
const NO_EOS = { ...NO_PARTIAL_UTF8, "2": -100, "4": -100 };

interface Node {
  name: string;
  server: RunningServer;
}

interface ClusterNodeInfo {
  name: string;
  status: string;
  models: Array<{ id: string; status: string; in_flight: number; waiting: number }>;
}

async function clusterOf(url: string): Promise<ClusterNodeInfo[]> {
  const res = await fetch(`${url}/cluster`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { data: ClusterNodeInfo[] }).data;
}

/** The nodes whose state shows the model with a process (as node `url` sees the cluster). */
async function nodesRunning(url: string, model: string, status?: string): Promise<string[]> {
  return (await clusterOf(url)).filter((n) => n.models.some((m) => m.id === model && (status === undefined || m.status === status))).map((n) => n.name);
}

describe("a cluster of three nodes", { skip }, () => {
  let nats: NatsServer;
  const nodes = new Map<string, Node>();
  const url = (name: string) => nodes.get(name)!.server.url;

  async function startNode(name: string, dir: string, extra: string[] = []): Promise<Node> {
    const server = await startRouter([
      "--models-dir", dir, "--cluster", nats.url, "--node-name", name, "--cluster-ttl", String(TTL_S), "--cluster-key", KEY, "-c", "4096", "-np", "1", ...extra,
    ], {}, engine);
    const node = { name, server };
    nodes.set(name, node);
    return node;
  }

  before(async () => {
    nats = await startNats();
    // every node has `shared` and `mover`; each has a model of its own; budgets make b the roomiest
    const files = (own: string) => ({ [`${own}.gguf`]: own.length, "shared.gguf": 7, "mover.gguf": 8, "spread.gguf": 9 });
    const dirs = { a: await makeModelsDir(files("alpha")), b: await makeModelsDir(files("beta")), c: await makeModelsDir(files("gamma")) };
    // `spread` may run as two copies when one is busy
    for (const dir of Object.values(dirs)) writeFileSync(path.join(dir, "presets.ini"), "[spread]\nreplicas = 2\n");
    await Promise.all([
      startNode("a", dirs.a, ["--metrics", "--models-memory", "2G", "--models-preset", path.join(dirs.a, "presets.ini")]),
      startNode("b", dirs.b, ["--models-memory", "6G", "--models-preset", path.join(dirs.b, "presets.ini")]),
      startNode("c", dirs.c, ["--models-memory", "4G", "--models-preset", path.join(dirs.c, "presets.ini")]),
    ]);
    for (const n of ["a", "b", "c"]) {
      await waitFor(`${n} sees three nodes up`, async () => (await clusterOf(url(n))).filter((x) => x.status === "up").length === 3, 15_000);
    }
  });

  after(async () => {
    const pids = [...nodes.values()].flatMap((n) => (n.server.proc.pid ? [n.server.proc.pid, ...childPids(n.server.proc.pid)] : []));
    await Promise.all([...nodes.values()].map((n) => n.server.stop()));
    await nats?.close();
    await waitFor("no process outlives its node", () => pids.every((p) => !isAlive(p)), 10_000);
  });

  test("a request entering any node reaches the node whose catalog has the model", async () => {
    for (const [entry, model, owner] of [["a", "beta", "b"], ["c", "alpha", "a"], ["b", "gamma", "c"]] as const) {
      const res = await chat(url(entry), model, { max_tokens: 3 });
      assert.equal(res.status, 200, await res.text());
      // every node hears of the others' changes a moment later
      await waitFor(`${model} running on ${owner} only`, async () => {
        const on = await nodesRunning(url(entry), model, "loaded");
        return on.length === 1 && on[0] === owner;
      }, 5000);
    }
    const listed = await listModels(url("a"));
    const beta = listed.find((m) => m.id === "beta") as { status: { value: string }; nodes?: Array<{ name: string; status: string }> } | undefined;
    assert.deepEqual(beta?.nodes, [{ name: "b", status: "loaded" }]);
    assert.equal(beta?.status.value, "loaded");
    const shared = listed.find((m) => m.id === "shared") as { nodes?: Array<{ name: string }> } | undefined;
    assert.deepEqual(shared?.nodes?.map((n) => n.name), ["a", "b", "c"], "one entry for a model every node has");
    assert.match(nodes.get("a")!.server.output(), /model=beta node=b POST \/v1\/chat\/completions 200/, "the request log names the node");
    // an Ollama client at any node: tagged names, and listings of the whole cluster
    const ollamaChat = await fetch(`${url("a")}/api/chat`, {
      method: "POST", body: JSON.stringify({ model: "gamma:latest", messages: [{ role: "user", content: "hi" }], stream: false, options: { num_predict: 2 } }),
    });
    assert.equal(ollamaChat.status, 200, await ollamaChat.text());
    const tags = ((await (await fetch(`${url("a")}/api/tags`)).json()) as { models: Array<{ name: string }> }).models.map((m) => m.name);
    for (const m of ["alpha", "beta", "gamma", "shared"]) assert.equal(tags.filter((t) => t.startsWith(`${m}:`) || t === m).length, 1, `${m} once in ${tags.join(", ")}`);
    const ps = ((await (await fetch(`${url("a")}/api/ps`)).json()) as { models: Array<{ name: string }> }).models.map((m) => m.name.replace(/:latest$/, ""));
    assert.deepEqual(ps.sort(), ["alpha", "beta", "gamma"], "the models running on every node");
    const metrics = await (await fetch(`${url("a")}/metrics`)).text();
    assert.match(metrics, /^corral_cluster_nodes\{status="up"\} 3$/m);
    assert.match(metrics, /^corral_cluster_forwarded_requests_total\{peer="b"\} 1$/m);
  });

  test("a burst of first requests at all three nodes loads a model on one node, the roomiest", async () => {
    const burst = ["a", "b", "c", "a", "b", "c"].map((n) => chat(url(n), "shared", { max_tokens: 2 }));
    for (const res of await Promise.all(burst)) assert.equal(res.status, 200, await res.text());
    await waitFor("every node's view shows where it runs", async () => {
      const seen = await Promise.all(["a", "b", "c"].map((n) => nodesRunning(url(n), "shared")));
      return seen.every((s) => s.length === 1 && s[0] === "b");
    }, 10_000);
  });

  test("POST /models/load with a node loads there; /models/unload with it unloads there; /models/sse says so", async () => {
    const ac = new AbortController();
    const sse = await fetch(`${url("a")}/models/sse`, { signal: ac.signal });
    const events: Array<{ model: string; node?: string; data: { status: string } }> = [];
    void (async () => {
      const dec = new TextDecoder();
      let buf = "";
      try {
        for await (const chunk of sse.body!) {
          buf += dec.decode(chunk as Uint8Array, { stream: true });
          for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            if (block.startsWith("data: ")) events.push(JSON.parse(block.slice(6)));
          }
        }
      } catch {
        // aborted at the end
      }
    })();
    const load = await fetch(`${url("a")}/models/load`, { method: "POST", body: JSON.stringify({ model: "mover", node: "c", wait: true }) });
    assert.equal(load.status, 200, await load.text());
    await waitFor("mover loaded on c", async () => (await nodesRunning(url("a"), "mover", "loaded")).join() === "c", 5000);
    const logs = await fetch(`${url("a")}/models/logs?model=mover&node=c`);
    assert.equal(logs.status, 200);
    assert.ok((await logs.text()).trim().length > 0, "c's process output, read through a");
    const pin = await fetch(`${url("b")}/models/pin`, { method: "POST", body: JSON.stringify({ model: "mover", node: "c", pin: false }) });
    assert.equal(pin.status, 200, await pin.text());
    const unload = await fetch(`${url("b")}/models/unload`, { method: "POST", body: JSON.stringify({ model: "mover", node: "c" }) });
    assert.equal(unload.status, 200, await unload.text());
    await waitFor("mover unloaded on c", async () => (await nodesRunning(url("a"), "mover")).length === 0, 10_000);
    await waitFor("another node's events on this node's /models/sse", () =>
      events.some((e) => e.model === "mover" && e.node === "c" && e.data.status === "loaded") &&
      events.some((e) => e.model === "mover" && e.node === "c" && e.data.status === "unloaded"), 5000);
    ac.abort();
    const unknown = await fetch(`${url("a")}/models/load`, { method: "POST", body: JSON.stringify({ model: "mover", node: "zz" }) });
    assert.equal(unknown.status, 404);
    assert.match(await unknown.text(), /node 'zz' is not in the cluster/);
  });

  test("a busy model with replicas = 2 gets a second copy on another node", async () => {
    // one slot per copy (-np 1): a long stream, held open, keeps the first copy busy
    const ac = new AbortController();
    const long = await fetch(`${url("a")}/v1/completions`, {
      method: "POST", signal: ac.signal,
      body: JSON.stringify({ model: "spread", prompt: "once", max_tokens: 4000, stream: true, logit_bias: NO_EOS }),
    });
    assert.equal(long.status, 200);
    await long.body!.getReader().read();
    const [first] = await waitFor("spread in the view", async () => {
      const on = await nodesRunning(url("a"), "spread", "loaded");
      return on.length === 1 ? on : undefined;
    }, 5000);
    const queued = chat(url("c"), "spread", { max_tokens: 2 });
    // the router grants it and the process queues it behind the stream: two in flight for one slot
    await waitFor("a request waits for the busy copy", async () =>
      (await clusterOf(url("a"))).some((n) => n.models.some((m) => m.id === "spread" && m.in_flight + m.waiting >= 2)), 10_000);
    const replica = await chat(url("a"), "spread", { max_tokens: 2 });
    assert.equal(replica.status, 200, await replica.text());
    const copies = await waitFor("two copies in the view", async () => {
      const on = await nodesRunning(url("a"), "spread", "loaded");
      return on.length === 2 ? on : undefined;
    }, 5000);
    assert.ok(copies.includes(first!));
    ac.abort();
    assert.equal((await queued).status, 200, "the waiting request is served once the stream is gone");
  });

  test("a hop header without the cluster key is a client's request: API keys still apply", async () => {
    const keyed = await startNode("k", await makeModelsDir({ "kappa.gguf": 11 }), ["--api-key", "client-key"]);
    await waitFor("k joins", async () => (await clusterOf(url("a"))).some((n) => n.name === "k" && n.status === "up"), 10_000);
    const body = JSON.stringify({ model: "kappa", messages: [{ role: "user", content: "hi" }], max_tokens: 2 });
    const forged = await fetch(`${keyed.server.url}/v1/chat/completions`, { method: "POST", body, headers: { "x-corral-forwarded-by": "a" } });
    assert.equal(forged.status, 401, "claiming to be a hop proves nothing");
    const wrongKey = await fetch(`${keyed.server.url}/v1/chat/completions`, { method: "POST", body, headers: { "x-corral-forwarded-by": "a", "x-corral-cluster-key": "guess" } });
    assert.equal(wrongKey.status, 401);
    const viaPeer = await chat(url("a"), "kappa", { max_tokens: 2 });
    assert.equal(viaPeer.status, 200, "a node forwards with the key: no API key needed between nodes");
    const cluster = await (await fetch(`${url("a")}/cluster`)).text();
    assert.ok(!cluster.includes(KEY), "the key is never shown");
    assert.ok(!nodes.get("a")!.server.output().includes(KEY) && !keyed.server.output().includes(KEY), "nor logged");
    await keyed.server.stop();
    nodes.delete("k");
  });

  test("NATS stopped: every node keeps serving, forwarding by its last view; NATS back: the view comes back", async () => {
    await chat(url("a"), "gamma", { max_tokens: 2 });
    await nats.stop("SIGKILL");
    await waitFor("a knows NATS is gone", async () => !((await (await fetch(`${url("a")}/cluster`)).json()) as { connected: boolean }).connected, 10_000);
    const local = await chat(url("a"), "alpha", { max_tokens: 2 });
    assert.equal(local.status, 200, "its own models");
    const remote = await chat(url("a"), "gamma", { max_tokens: 2 });
    assert.equal(remote.status, 200, "a model on another node, by the last view");
    await nats.start();
    await waitFor("a is connected again", async () => ((await (await fetch(`${url("a")}/cluster`)).json()) as { connected: boolean }).connected, 20_000);
    // the view is the watch's again: every node has put its entry anew, with the model it runs
    await waitFor("a sees every node up, c with gamma loaded", async () => {
      const view = await clusterOf(url("a"));
      return view.filter((n) => n.status === "up").length === 3 && view.find((n) => n.name === "c")?.models.some((m) => m.id === "gamma");
    }, 20_000);
  });

  test("a node SIGKILLed mid-run: its models move, a stream elsewhere is untouched, and it leaves the view", async () => {
    const onB = await fetch(`${url("a")}/models/load`, { method: "POST", body: JSON.stringify({ model: "mover", node: "b", wait: true }) });
    assert.equal(onB.status, 200, await onB.text());
    const stream = chat(url("c"), "gamma", { max_tokens: 200, ignore_eos: true, stream: true });
    const b = nodes.get("b")!;
    const bPids = [b.server.proc.pid!, ...childPids(b.server.proc.pid!)];
    b.server.proc.kill("SIGKILL");
    nodes.delete("b");
    const moved = await chat(url("a"), "mover", { max_tokens: 2 });
    assert.equal(moved.status, 200, await moved.text());
    await waitFor("mover runs on one node that is not b", async () => {
      const where = await nodesRunning(url("a"), "mover", "loaded");
      return where.length === 1 && where[0] !== "b";
    }, 5000);
    const streamed = await stream;
    assert.equal(streamed.status, 200);
    assert.match(await streamed.text(), /data: \[DONE\]/, "the stream on c finished");
    await waitFor("b shown down, then gone", async () => !(await clusterOf(url("a"))).some((n) => n.name === "b"), (TTL_S * 3 + 5) * 1000);
    await waitFor("b's model processes die with it", () => bPids.every((p) => !isAlive(p)), 10_000);
  });
});

describe("a node that cannot reach NATS at start-up", { skip }, () => {
  test("serves its own models meanwhile, says so once, and joins when NATS starts", async () => {
    const nats = await startNats({ started: false });
    const dir = await makeModelsDir({ "solo.gguf": 12 });
    const node = await startRouter(["--models-dir", dir, "--cluster", nats.url, "--node-name", "solo", "--cluster-ttl", String(TTL_S)], {}, engine);
    try {
      const res = await chat(node.url, "solo", { max_tokens: 2 });
      assert.equal(res.status, 200, await res.text());
      await new Promise((r) => setTimeout(r, 1500));
      const said = node.output().split("\n").filter((l) => /cannot reach NATS/.test(l));
      assert.equal(said.length, 1, `one line, not one per retry: ${JSON.stringify(said)}`);
      await nats.start();
      await waitFor("solo registered", async () => ((await (await fetch(`${node.url}/cluster`)).json()) as { connected: boolean }).connected, 15_000);
      assert.deepEqual((await clusterOf(node.url)).map((n) => [n.name, n.status]), [["solo", "up"]]);
    } finally {
      await node.stop();
      await nats.close();
    }
  });
});
