// `npm run bench`: what the router costs and how fast it switches models, measured over real HTTP against real
// processes. Every scenario is measured side by side in one run (routed against the same model served directly),
// because absolute times on shared machines drift. Scenarios: proxy overhead, streaming, cold load, swap,
// generation, memory, scale (see bench/scenarios/).
// `--quick` runs the same harness with tiny settings (npm test smoke-runs it so it never rots).
// With LLAMA_SERVER_BIN set to a llama.cpp llama-server binary, every scenario also runs against it.
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { getTestModel } from "../test/helpers/models.js";
import { REPO_ROOT } from "../test/helpers/server.js";
import type { BenchContext, Result } from "./lib/context.js";
import { impls, startServer, type Impl } from "./lib/servers.js";
import { generation } from "./scenarios/generation.js";
import { coldLoad, swap } from "./scenarios/loading.js";
import { memory } from "./scenarios/memory.js";
import { proxyOverhead } from "./scenarios/proxy.js";
import { scale } from "./scenarios/scale.js";
import { streaming } from "./scenarios/streaming.js";

type Scenario = (impl: Impl, ctx: BenchContext) => Promise<void>;

const SCENARIOS: Record<string, Scenario> = {
  proxy: proxyOverhead,
  streaming,
  "cold-load": coldLoad,
  swap,
  generation,
  memory,
  scale,
  spawn: spawnToReady,
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

/** One model served directly: spawn to /health 200 (the model loaded), on the tiny model. */
async function spawnToReady(impl: Impl, ctx: BenchContext): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < (ctx.quick ? 1 : 5); i++) {
    const s = await startServer(impl, ["-m", ctx.tiny, "-t", "1", "-c", "512"]);
    times.push(s.spawnToReadyMs);
    await s.stop();
  }
  times.sort((a, b) => a - b);
  ctx.record({ scenario: "model server (-m, tiny model)", metric: "spawn to ready", impl: impl.name, value: times[Math.floor(times.length / 2)]!, unit: "ms" });
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
  const names = args.only ?? Object.keys(SCENARIOS);
  for (const name of names) {
    for (const impl of impls()) {
      process.stderr.write(`${name} [${impl.name}]\n`);
      await SCENARIOS[name]!(impl, ctx);
    }
  }

  const machine = `${os.cpus().length} x ${os.cpus()[0]?.model ?? "cpu"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}`;
  process.stdout.write("\n" + table(results) + `\nmachine: ${machine}\n`);
  const out = args.out ?? path.join(REPO_ROOT, "bench", "results", `${new Date().toISOString().slice(0, 10)}${args.quick ? "-quick" : ""}.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), machine, quick: args.quick, results }, null, 2) + "\n");
  process.stdout.write(`written: ${out}\n`);
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** Markdown: one row per metric, corral beside llama.cpp when it ran, and the goal. */
export function table(results: Result[]): string {
  const withLlama = results.some((r) => r.impl === "llama.cpp");
  const header = ["scenario", "metric", "corral", ...(withLlama ? ["llama.cpp", "corral / llama.cpp"] : []), "goal"];
  const lines = [header, header.map(() => "---")];
  const keys = [...new Set(results.map((r) => `${r.scenario}\u0000${r.metric}`))];
  for (const key of keys) {
    const [scenario, metric] = key.split("\u0000") as [string, string];
    const c = results.find((r) => r.scenario === scenario && r.metric === metric && r.impl === "corral");
    const l = results.find((r) => r.scenario === scenario && r.metric === metric && r.impl === "llama.cpp");
    const cell = (r?: Result) => (r ? `${fmt(r.value)} ${r.unit}` : "-");
    lines.push([
      scenario, metric, cell(c),
      ...(withLlama ? [cell(l), c && l && l.value !== 0 ? fmt(c.value / l.value) : "-"] : []),
      c?.goal ?? l?.goal ?? "",
    ]);
  }
  return lines.map((l) => `| ${l.join(" | ")} |`).join("\n") + "\n";
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).message}\n`);
  process.exit(1);
});
