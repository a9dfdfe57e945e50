// `npm run bench`: speed of one model-server process, measured over real HTTP against real processes.
//   generation / prompt tokens/s on a ~100M-parameter F16 llama model (dim 768, 8 layers) at -t 1 and -t 2,
//   spawn-to-ready and spawn-to-first-answer on the tiny model, and idle RSS.
// `--quick` runs the same harness with tiny settings (npm test smoke-runs it so it never rots).
// With LLAMA_SERVER_BIN set to a llama.cpp llama-server binary, every scenario also runs against it.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { getTestModel } from "../test/helpers/models.js";
import { CORRAL_BIN, REPO_ROOT } from "../test/helpers/server.js";

interface Args {
  quick: boolean;
  out?: string;
  runs: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, runs: 3 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--quick") args.quick = true;
    else if (a === "--out") args.out = argv[++i];
    else if (a === "--runs") args.runs = Number(argv[++i]);
    else throw new Error(`unknown bench argument ${a} (use --quick, --out FILE, --runs N)`);
  }
  if (args.quick) args.runs = 1;
  return args;
}

interface Server {
  url: string;
  proc: ChildProcess;
  spawnToListeningMs: number;
  spawnToReadyMs: number;
  stop(): Promise<void>;
}

type Impl = { name: string; cmd: string; prefix: string[] };

// bin/corral is executed as users run it, so its shebang flags apply.
const IMPLS: Impl[] = [{ name: "corral", cmd: CORRAL_BIN, prefix: [] }];
if (process.env["LLAMA_SERVER_BIN"]) IMPLS.push({ name: "llama.cpp", cmd: process.env["LLAMA_SERVER_BIN"], prefix: [] });

async function freePort(): Promise<number> {
  const net = await import("node:net");
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function start(impl: Impl, args: string[]): Promise<Server> {
  const port = await freePort();
  const t0 = performance.now();
  const proc = spawn(impl.cmd, [...impl.prefix, ...args, "--host", "127.0.0.1", "--port", String(port)], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  let listening = 0;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${impl.name} exited: ${err}`);
    const res = await fetch(`${url}/health`).catch(() => undefined);
    if (res && !listening) listening = performance.now() - t0;
    if (res?.status === 200) break;
    await new Promise((r) => setTimeout(r, 2));
  }
  const ready = performance.now() - t0;
  return {
    url,
    proc,
    spawnToListeningMs: listening,
    spawnToReadyMs: ready,
    async stop() {
      proc.kill("SIGTERM");
      await new Promise((r) => proc.once("exit", r));
    },
  };
}

async function complete(url: string, body: Record<string, unknown>): Promise<{ timings: { prompt_n: number; prompt_per_second: number; predicted_n: number; predicted_per_second: number } }> {
  const res = await fetch(`${url}/completion`, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
  if (res.status !== 200) throw new Error(`completion failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as never;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

/** A prompt of about n tokens of ordinary words. */
function promptOf(n: number): string {
  const words = "the quick brown fox jumps over the lazy dog and then runs into the forest where it finds".split(" ");
  return Array.from({ length: n }, (_, i) => words[i % words.length]).join(" ");
}

interface Row {
  scenario: string;
  impl: string;
  value: number;
  unit: string;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const rows: Row[] = [];
  const add = (scenario: string, impl: string, value: number, unit: string) => {
    rows.push({ scenario, impl, value, unit });
    process.stderr.write(`  ${scenario} [${impl}]: ${value.toFixed(1)} ${unit}\n`);
  };
  const genModel = args.quick ? await getTestModel("tiny") : await getTestModel("bench");
  const tiny = await getTestModel("tiny");
  const genTokens = args.quick ? 8 : 128;
  const promptTokens = args.quick ? 32 : 512;
  // EOS and <|im_end|> are banned so every run generates exactly genTokens tokens (llama.cpp syntax).
  const noEos = [[2, false], [4, false]];

  for (const impl of IMPLS) {
    for (const threads of [1, 2]) {
      const s = await start(impl, ["-m", genModel, "-t", String(threads), "-c", "2048", "-np", "1"]);
      try {
        await complete(s.url, { prompt: "warm up", n_predict: 4, logit_bias: noEos });
        const gen: number[] = [];
        const pp: number[] = [];
        for (let r = 0; r < args.runs; r++) {
          // A fresh prompt each run (cache_prompt off) so prompt processing is measured, not the cache.
          const p = await complete(s.url, { prompt: `${r} ${promptOf(promptTokens)}`, n_predict: 1, cache_prompt: false });
          pp.push(p.timings.prompt_per_second);
          const g = await complete(s.url, { prompt: `run ${r}`, n_predict: genTokens, logit_bias: noEos, temperature: 0.8, seed: r });
          gen.push(g.timings.predicted_per_second);
        }
        add(`generation tokens/s, -t ${threads}`, impl.name, median(gen), "tok/s");
        add(`prompt tokens/s, -t ${threads}`, impl.name, median(pp), "tok/s");
      } finally {
        await s.stop();
      }
    }

    const ready: number[] = [];
    const firstAnswer: number[] = [];
    let rss = 0;
    for (let r = 0; r < (args.quick ? 1 : 5); r++) {
      const t0 = performance.now();
      const s = await start(impl, ["-m", tiny, "-t", "1", "-c", "512"]);
      await complete(s.url, { prompt: "hi", n_predict: 1 });
      firstAnswer.push(performance.now() - t0);
      ready.push(s.spawnToReadyMs);
      if (r === 0) {
        await new Promise((res) => setTimeout(res, 500));
        rss = rssMb(s.proc.pid!);
      }
      await s.stop();
    }
    add("spawn to ready (tiny model)", impl.name, median(ready), "ms");
    add("spawn to first answer (tiny model)", impl.name, median(firstAnswer), "ms");
    add("idle RSS (tiny model)", impl.name, rss, "MB");
  }

  const machine = `${os.cpus().length} x ${os.cpus()[0]?.model ?? "cpu"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}`;
  printTable(rows);
  const out = args.out ?? path.join(REPO_ROOT, "bench", "results", `${new Date().toISOString().slice(0, 10)}${args.quick ? "-quick" : ""}.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), machine, quick: args.quick, model: path.basename(genModel), rows }, null, 2) + "\n");
  process.stdout.write(`\nmachine: ${machine}\nwritten: ${out}\n`);
}

function printTable(rows: Row[]): void {
  const scenarios = [...new Set(rows.map((r) => r.scenario))];
  const impls = [...new Set(rows.map((r) => r.impl))];
  const header = ["scenario", ...impls, ...(impls.length > 1 ? ["corral / llama.cpp"] : [])];
  const lines = [header.join(" | "), header.map(() => "---").join(" | ")];
  for (const sc of scenarios) {
    const vals = impls.map((i) => rows.find((r) => r.scenario === sc && r.impl === i));
    const cells = vals.map((v) => (v ? `${v.value.toFixed(1)} ${v.unit}` : "-"));
    if (impls.length > 1 && vals[0] && vals[1]) cells.push((vals[0].value / vals[1].value).toFixed(2));
    lines.push([sc, ...cells].join(" | "));
  }
  process.stdout.write("\n" + lines.map((l) => `| ${l} |`).join("\n") + "\n");
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).message}\n`);
  process.exit(1);
});
