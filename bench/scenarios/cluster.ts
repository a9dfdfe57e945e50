// Cluster: two corral nodes, A and B, on one real nats-server (--cluster-ttl 3). B has the models in its
// --models-dir; A has only "m" (for the failover), so a request for "tiny" that enters A is forwarded to B.
//  - Forwarding cost: the proxy scenario's request (a 1-token completion on the tiny model, loaded on B) sent to B
//    directly against entering A and forwarded to B, at 1 and 8 closed-loop clients, alternating in short rounds
//    as the proxy scenario does (against drift); each figure is the median over the rounds.
//  - Failover: "m" loaded on B, B's router SIGKILLed (its model processes die with it), then requests for "m" sent
//    to A back to back (at most 30 s): the time from the kill to the first 200 (A loads "m" itself), and how many
//    requests failed before it. When A's GET /cluster first shows B down is reported beside it.
// One impl runs it: corral's router on llama-server where the binary exists (as the goals are judged), else on
// its Node engine; llama.cpp has no cluster. Without nats-server it is skipped with one line.
import { NO_NATS, natsServerPath, startNats } from "../../test/helpers/nats.js";
import { isAlive } from "../../test/helpers/router.js";
import type { BenchContext } from "../lib/context.js";
import { closedLoop } from "../lib/load.js";
import { descendants, median, postJson, sleep, startRouter, type Impl, type Server } from "../lib/servers.js";
import { modelsDir } from "../lib/temp-dirs.js";

const TTL_S = 3;
/** How long the failover loop may take before the scenario gives up. */
const FAILOVER_LIMIT_MS = 30_000;

interface ClusterList {
  data: Array<{ name: string; status: "up" | "down"; models: Array<{ id: string; status: string }> }>;
}

async function clusterNodes(s: Server): Promise<ClusterList["data"]> {
  return ((await (await fetch(`${s.url}/cluster`)).json()) as ClusterList).data;
}

/** Polls `s`'s GET /cluster until `check` holds on its nodes (20 s at most). */
async function untilCluster(s: Server, what: string, check: (nodes: ClusterList["data"]) => boolean): Promise<void> {
  let last: ClusterList["data"] = [];
  for (const end = Date.now() + 20_000; Date.now() < end; await sleep(20)) {
    last = await clusterNodes(s);
    if (check(last)) return;
  }
  throw new Error(`cluster: ${what}: not within 20 s; GET /cluster: ${JSON.stringify(last)}`);
}

const hasModel = (nodes: ClusterList["data"], node: string, model: string, status = "loaded") =>
  nodes.some((n) => n.name === node && n.status === "up" && n.models.some((m) => m.id === model && m.status === status));

const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

export async function cluster(impls: Impl[], ctx: BenchContext): Promise<void> {
  if (!natsServerPath()) {
    process.stderr.write(`cluster skipped: ${NO_NATS}\n`);
    return;
  }
  const impl = impls.find((i) => i.name === "corral+ls") ?? impls.find((i) => i.name === "corral")!;
  process.stderr.write(`cluster [${impl.name}]\n`);
  const nats = await startNats();
  const flags = ["-t", "1", "-c", "4096", "-np", "8", "--cluster", nats.url, "--cluster-ttl", String(TTL_S)];
  const servers: Server[] = [];
  try {
    const b = await startRouter(impl, ["--models-dir", modelsDir({ tiny: ctx.tiny, m: ctx.tiny }), "--node-name", "b", ...flags]);
    servers.push(b);
    const a = await startRouter(impl, ["--models-dir", modelsDir({ m: ctx.tiny }), "--node-name", "a", ...flags]);
    servers.push(a);
    await untilCluster(a, "A sees B", (nodes) => nodes.some((n) => n.name === "b" && n.status === "up"));
    await forwarding(impl, ctx, a, b);
    await failover(impl, ctx, a, b);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await nats.close();
  }
}

async function forwarding(impl: Impl, ctx: BenchContext, a: Server, b: Server): Promise<void> {
  const body = JSON.stringify({ model: "tiny", prompt: "hi", max_tokens: 1, temperature: 0 });
  await postJson(`${b.url}/v1/completions`, JSON.parse(body)); // loads the model on B, the only node that has it
  await untilCluster(a, "A sees tiny loaded on B", (nodes) => hasModel(nodes, "b", "tiny"));
  const rounds = ctx.quick ? 1 : 6;
  const roundMs = ctx.quick ? 300 : 1500;
  const sc = "cluster forwarding (A to B, tiny model)";
  for (const clients of [1, 8]) {
    await closedLoop(b.url, "/v1/completions", body, clients, ctx.quick ? 100 : 500);
    await closedLoop(a.url, "/v1/completions", body, clients, ctx.quick ? 100 : 500);
    const d = { rps: [] as number[], p50: [] as number[], p95: [] as number[] };
    const r = { rps: [] as number[], p50: [] as number[], p95: [] as number[], ratio: [] as number[] };
    let retried = 0;
    for (let i = 0; i < rounds; i++) {
      const x = await closedLoop(b.url, "/v1/completions", body, clients, roundMs);
      const y = await closedLoop(a.url, "/v1/completions", body, clients, roundMs);
      if (x.errors || y.errors) throw new Error(`${sc} [${impl.name}]: ${x.errors} direct and ${y.errors} routed errors (${x.firstError ?? y.firstError})`);
      retried += x.retried + y.retried;
      d.rps.push(x.rps);
      d.p50.push(median(x.latenciesMs));
      d.p95.push(pct(x.latenciesMs, 95));
      r.rps.push(y.rps);
      r.p50.push(median(y.latenciesMs));
      r.p95.push(pct(y.latenciesMs, 95));
      r.ratio.push(y.rps / x.rps);
    }
    const rec = (metric: string, value: number, unit: string, extra = {}) =>
      ctx.record({ scenario: sc, metric: `${metric}, ${clients} client(s)`, impl: impl.name, value, unit, ...extra });
    rec("direct to B rps", median(d.rps), "req/s");
    rec("via A rps", median(r.rps), "req/s");
    rec("rps ratio via A/direct", median(r.ratio), "x", clients === 8 ? { target: { op: ">=", bound: 0.85 } } : {});
    rec("direct to B p50", median(d.p50), "ms");
    rec("via A p50", median(r.p50), "ms");
    rec("direct to B p95", median(d.p95), "ms");
    rec("via A p95", median(r.p95), "ms");
    rec("p50 latency added by the hop", median(r.p50) - median(d.p50), "ms", clients === 1 ? { target: { op: "<=", bound: 1 } } : {});
    rec("requests retried after a closed connection", retried, "req");
  }
}

async function failover(impl: Impl, ctx: BenchContext, a: Server, b: Server): Promise<void> {
  const sc = `cluster failover (B killed, --cluster-ttl ${TTL_S})`;
  const body = { model: "m", prompt: "hi", max_tokens: 1, temperature: 0 };
  // on B by name: a routed first request could place it on either node
  await postJson(`${b.url}/models/load`, { model: "m", node: "b" });
  await untilCluster(a, "A sees m loaded on B", (nodes) => hasModel(nodes, "b", "m"));
  await postJson(`${a.url}/v1/completions`, body); // A forwards it to B: the path the kill breaks is warm
  const children = descendants(b.proc.pid!);
  const t0 = performance.now();
  b.proc.kill("SIGKILL");
  const end = t0 + FAILOVER_LIMIT_MS;

  // A's own account of B, polled beside the requests (context for the failover time: the TTL at work or not)
  let downMs: number | undefined;
  let done = false;
  const watcher = (async () => {
    while (!done && performance.now() < end) {
      const nodes = await clusterNodes(a).catch(() => []);
      if (nodes.some((n) => n.name === "b" && n.status === "down") || (nodes.length > 0 && !nodes.some((n) => n.name === "b"))) {
        downMs = performance.now() - t0;
        return;
      }
      await sleep(20);
    }
  })();

  const failures = new Map<string, number>();
  let servedMs: number | undefined;
  let failed = 0;
  while (performance.now() < end) {
    try {
      const res = await fetch(`${a.url}/v1/completions`, {
        method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" },
        signal: AbortSignal.timeout(Math.max(1, Math.ceil(end - performance.now()))),
      });
      const text = await res.text();
      if (res.status === 200) {
        servedMs = performance.now() - t0;
        break;
      }
      failed++;
      const why = `${res.status} ${text.slice(0, 200)}`;
      failures.set(why, (failures.get(why) ?? 0) + 1);
    } catch (err) {
      failed++;
      const why = `${(err as Error).name}: ${(err as Error).message} (${String(((err as Error).cause as Error | undefined)?.message)})`;
      failures.set(why, (failures.get(why) ?? 0) + 1);
    }
  }
  // (not in --quick) give A's view its time to mark B down: a few TTLs
  if (servedMs !== undefined && !ctx.quick) await Promise.race([watcher, sleep(Math.max(0, t0 + 5 * TTL_S * 1000 - performance.now()))]);
  done = true;
  await watcher;
  const reasons = [...failures].sort((x, y) => y[1] - x[1]);
  for (const [why, n] of reasons.slice(0, 5)) process.stderr.write(`  failover: ${n} x ${why}\n`);
  if (reasons.length > 5) process.stderr.write(`  failover: ${reasons.length - 5} more kinds of failure\n`);
  // a SIGKILLed router's model processes notice and exit by themselves: give them what servers.ts's stop() gives
  for (let i = 0; i < 100 && children.some(isAlive); i++) await sleep(50);
  if (!children.some(isAlive)) process.stderr.write(`  failover: B's ${children.length} model process(es) gone ${((performance.now() - t0) / 1000).toFixed(1)} s after the kill, or sooner\n`);
  for (const k of children.filter(isAlive)) {
    process.stderr.write(`  failover: B's model process ${k} outlived its SIGKILLed router by 5 s; killed\n`);
    try { process.kill(k, "SIGKILL"); } catch { /* gone meanwhile */ }
  }
  if (servedMs === undefined) {
    throw new Error(`${sc} [${impl.name}]: no 200 from A within ${FAILOVER_LIMIT_MS / 1000} s of the kill; ${failed} requests failed (${[...failures.keys()][0] ?? "none answered"})`);
  }
  const nodes = await clusterNodes(a);
  if (!hasModel(nodes, "a", "m")) process.stderr.write(`  failover: A served m but its GET /cluster does not show m loaded on A: ${JSON.stringify(nodes)}\n`);
  ctx.record({ scenario: sc, metric: "kill to first 200 (via A)", impl: impl.name, value: servedMs, unit: "ms" });
  ctx.record({ scenario: sc, metric: "requests failed before it", impl: impl.name, value: failed, unit: "req" });
  if (downMs !== undefined) ctx.record({ scenario: sc, metric: "kill to B down in A's GET /cluster", impl: impl.name, value: downMs, unit: "ms" });
  else if (!ctx.quick) process.stderr.write(`  failover: A's GET /cluster still showed B up ${((performance.now() - t0) / 1000).toFixed(1)} s after the kill\n`);
}
