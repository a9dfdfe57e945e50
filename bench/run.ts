// `npm run bench`: what the router costs and how fast it switches models, measured over real HTTP against real
// processes. Every scenario is measured side by side in one run (routed against the same model served directly,
// or routers taking turns), because absolute times on shared machines drift. Scenarios: proxy overhead,
// streaming, cold load, swap, generation, memory, scale, cluster (see bench/scenarios/).
// With a llama.cpp llama-server binary (LLAMA_SERVER_BIN, else the one corral finds: `corral engine build`), every
// scenario but cluster runs for three impls: corral's router on its Node engine, corral's router on llama-server, and
// llama.cpp's own router (see bench/lib/servers.ts).
// cluster: two corral nodes, A and B, on one real nats-server (--cluster-ttl 3; skipped with one line where there is
// no nats-server). Forwarding cost: the proxy scenario's request for a model only B has, sent to B directly against
// entering A and forwarded to B, at 1 and 8 clients in alternating rounds (rps, ratio, p50/p95, p50 added by the hop).
// Failover: a model loaded on B and also in A's folder, B's router SIGKILLed, then requests to A back to back: the
// time from the kill to the first 200 and how many failed before it. It runs on one impl, corral+ls where llama-server
// exists, else corral (llama.cpp's router has no cluster).
// `--quick` runs the same harness with tiny settings (npm test smoke-runs it so it never rots).
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { getTestModel } from "../test/helpers/models.js";
import { REPO_ROOT } from "../test/helpers/server.js";
import type { BenchContext, Result } from "./lib/context.js";
import { removeTempDirs } from "./lib/temp-dirs.js";
import { findLlamaServerBin, impls as makeImpls, median, startDirect, type Impl, type ImplName } from "./lib/servers.js";
import { cluster } from "./scenarios/cluster.js";
import { generation } from "./scenarios/generation.js";
import { coldLoad, swap } from "./scenarios/loading.js";
import { memory } from "./scenarios/memory.js";
import { modelServer } from "./scenarios/model-server.js";
import { proxyOverhead } from "./scenarios/proxy.js";
import { scale } from "./scenarios/scale.js";
import { streaming } from "./scenarios/streaming.js";

type Scenario = (impls: Impl[], ctx: BenchContext) => Promise<void>;

/** A scenario that measures one impl at a time (its router against its own direct server, or alone). */
function eachImpl(name: string, fn: (impl: Impl, ctx: BenchContext) => Promise<void>): Scenario {
  return async (impls, ctx) => {
    for (const impl of impls) {
      process.stderr.write(`${name} [${impl.name}]\n`);
      await fn(impl, ctx);
    }
  };
}

const SCENARIOS: Record<string, Scenario> = {
  proxy: eachImpl("proxy", proxyOverhead),
  streaming: eachImpl("streaming", streaming),
  "cold-load": coldLoad,
  swap,
  generation: eachImpl("generation", generation),
  memory: eachImpl("memory", memory),
  scale: eachImpl("scale", scale),
  spawn: spawnToReady,
  "model-server": modelServer,
  cluster,
};

interface Args {
  quick: boolean;
  out?: string;
  runs: number;
  only?: string[];
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, runs: 3 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--quick") args.quick = true;
    else if (a === "--out") args.out = argv[++i];
    else if (a === "--runs") args.runs = Number(argv[++i]);
    else if (a === "--only") args.only = argv[++i]!.split(",");
    else throw new Error(`unknown bench argument ${a} (use --quick, --out FILE, --runs N, --only ${Object.keys(SCENARIOS).join(",")})`);
  }
  if (args.quick) args.runs = 1;
  for (const s of args.only ?? []) if (!SCENARIOS[s]) throw new Error(`unknown scenario '${s}' (${Object.keys(SCENARIOS).join(", ")})`);
  return args;
}

/** One model served directly: spawn to /health 200 (the model loaded), on the tiny model. corral+ls serves
 * directly with the very llama-server that llama.cpp's column measures, so it is not measured twice. */
async function spawnToReady(impls: Impl[], ctx: BenchContext): Promise<void> {
  const direct = impls.filter((i) => i.name !== "corral+ls");
  const times = new Map(direct.map((i) => [i, [] as number[]]));
  for (let r = 0; r < (ctx.quick ? 1 : 5); r++) {
    for (const impl of direct) {
      const s = await startDirect(impl, ["-m", ctx.tiny, "-t", "1", "-c", "512"]);
      times.get(impl)!.push(s.spawnToReadyMs);
      await s.stop();
    }
  }
  for (const [impl, t] of times) {
    ctx.record({ scenario: "model server (-m, tiny model)", metric: "spawn to ready", impl: impl.name, value: median(t), unit: "ms" });
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const results: Result[] = [];
  const tiny = await getTestModel("tiny");
  const ctx: BenchContext = {
    quick: args.quick,
    runs: args.runs,
    tiny,
    big: args.quick ? tiny : await getTestModel("bench"),
    big2: args.quick ? await getTestModel("tiny", { seed: 2 }) : await getTestModel("bench", { seed: 2 }),
    record(r) {
      results.push(r);
      process.stderr.write(`  ${r.scenario}: ${r.metric} [${r.impl}] = ${fmt(r.value)} ${r.unit}\n`);
    },
  };
  const bin = findLlamaServerBin();
  const impls = makeImpls(bin);
  if (bin) process.stderr.write(`llama-server: ${bin.path} (${bin.source}); impls: ${impls.map((i) => i.name).join(", ")}\n`);
  else process.stderr.write("llama-server comparisons skipped: no llama-server binary found (build one with `bin/corral engine build`, or set LLAMA_SERVER_BIN=/path/to/llama-server)\n");
  const names = args.only ?? Object.keys(SCENARIOS);
  try {
    for (const name of names) await SCENARIOS[name]!(impls, ctx);
  } finally {
    removeTempDirs();
  }

  const machine = `${os.cpus().length} x ${os.cpus()[0]?.model ?? "cpu"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}`;
  process.stdout.write("\n" + table(results) + `\nmachine: ${machine}\n`);
  const out = args.out ?? path.join(REPO_ROOT, "bench", "results", `${new Date().toISOString().slice(0, 10)}${args.quick ? "-quick" : ""}.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  const judged = results.map((r) => (r.target ? { ...r, met: met(results, r) } : r));
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), machine, quick: args.quick, llamaServer: bin ?? null, impls, results: judged }, null, 2) + "\n");
  process.stdout.write(`written: ${out}\n`);
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}

const IMPLS: ImplName[] = ["corral", "corral+ls", "llama.cpp"];

function find(results: Result[], r: Pick<Result, "scenario" | "metric">, impl: ImplName): Result | undefined {
  return results.find((x) => x.scenario === r.scenario && x.metric === r.metric && x.impl === impl);
}

/** Whether `r` meets its target; undefined when the value it is relative to was not measured. */
function met(results: Result[], r: Result): boolean | undefined {
  const t = r.target!;
  let bound = t.bound;
  if (t.relativeTo) {
    const base = find(results, r, t.relativeTo);
    if (!base) return undefined;
    bound *= base.value;
  }
  return t.op === "<=" ? r.value <= bound : r.value >= bound;
}

function goalCell(results: Result[], key: Pick<Result, "scenario" | "metric">): string {
  // the goals are corral's: on llama-server where it ran, else on its Node engine
  const r = find(results, key, "corral+ls") ?? find(results, key, "corral");
  if (!r?.target) return r?.goal ?? "";
  const t = r.target;
  const text = `${t.op} ${t.bound}${t.relativeTo ? ` x ${t.relativeTo}` : ""}`;
  const ok = met(results, r);
  return ok === undefined ? text : `${text}: ${ok ? "met" : "NOT met"} (${r.impl})`;
}

/** Markdown: one row per metric, a column per impl that ran, corral+ls against llama.cpp, and the goal. */
export function table(results: Result[]): string {
  const cols = IMPLS.filter((i) => results.some((r) => r.impl === i));
  const both = cols.includes("corral+ls") && cols.includes("llama.cpp");
  const header = ["scenario", "metric", ...cols, ...(both ? ["corral+ls / llama.cpp"] : []), "goal"];
  const lines = [header, header.map(() => "---")];
  const keys = [...new Set(results.map((r) => `${r.scenario}\u0000${r.metric}`))];
  for (const k of keys) {
    const [scenario, metric] = k.split("\u0000") as [string, string];
    const key = { scenario, metric };
    const cell = (r?: Result) => (r ? `${Number.isInteger(r.value) ? r.value : fmt(r.value)} ${r.unit}` : "-");
    const ls = find(results, key, "corral+ls");
    const l = find(results, key, "llama.cpp");
    lines.push([
      scenario, metric, ...cols.map((c) => cell(find(results, key, c))),
      // counts (retries) are not rates: their ratio says nothing
      ...(both ? [ls && l && l.value !== 0 && ls.unit !== "req" ? fmt(ls.value / l.value) : "-"] : []),
      goalCell(results, key),
    ]);
  }
  return lines.map((l) => `| ${l.join(" | ")} |`).join("\n") + "\n";
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).message}\n`);
  process.exit(1);
});
