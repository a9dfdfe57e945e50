// The benchmark is not part of npm test, but its harness is smoke-run with tiny settings so it never rots.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { findLlamaServerBin, type LlamaServerBin } from "../../bench/lib/servers.js";
import { natsServerPath } from "../helpers/nats.js";
import { REPO_ROOT } from "../helpers/server.js";
import { tempDirUntilExit } from "../../src/util/temp-dir.js";

interface Row { scenario: string; metric: string; impl: string; value: number; unit: string }

let run: SpawnSyncReturns<string>;
let rows: Row[];
let bin: LlamaServerBin | undefined;

before(() => {
  bin = findLlamaServerBin();
  const out = path.join(tempDirUntilExit("corral-bench-"), "r.json");
  // three impls when a llama-server binary is found, hence the room
  run = spawnSync(process.execPath, [path.join(REPO_ROOT, "dist", "bench", "run.js"), "--quick", "--out", out], { encoding: "utf8", timeout: 400_000 });
  assert.equal(run.status, 0, run.stderr);
  rows = (JSON.parse(readFileSync(out, "utf8")) as { results: Row[] }).results;
});

test("npm run bench -- --quick produces a table and a JSON file with every scenario", () => {
  assert.match(run.stdout, /\| proxy overhead \| rps ratio routed\/direct, 8 client\(s\) \|/);
  const scenarios = new Set(rows.filter((x) => x.impl === "corral").map((x) => x.scenario.replace(/ \(.*$/, "")));
  for (const s of ["proxy overhead", "streaming", "cold load", "swap", "generation", "memory", "scale", "model server"]) {
    assert.ok(scenarios.has(s), `missing scenario ${s}`);
  }
  for (const row of rows) {
    // added latencies may be negative within noise; everything else is a positive measurement
    if (row.metric.includes("added")) assert.ok(Number.isFinite(row.value), `${row.impl} ${row.metric} = ${row.value}`);
    // counts of requests (retried, failed) may be 0
    else if (row.unit === "req") assert.ok(Number.isInteger(row.value) && row.value >= 0, `${row.impl} ${row.metric} = ${row.value}`);
    else assert.ok(Number.isFinite(row.value) && row.value > 0, `${row.impl} ${row.scenario}: ${row.metric} = ${row.value}`);
  }
});

test("the cluster scenario runs on one corral impl (corral+ls where llama-server is), or says in one line why not", (t) => {
  const skipped = run.stderr.split("\n").filter((l) => l.startsWith("cluster skipped"));
  if (!natsServerPath()) {
    assert.equal(skipped.length, 1, run.stderr);
    assert.match(skipped[0]!, /nats-server is not installed/);
    assert.ok(!rows.some((x) => x.scenario.startsWith("cluster")));
    return t.skip("no nats-server");
  }
  assert.deepEqual(skipped, []);
  const impl = bin ? "corral+ls" : "corral";
  const cluster = rows.filter((x) => x.scenario.startsWith("cluster"));
  assert.deepEqual([...new Set(cluster.map((x) => x.impl))], [impl]);
  for (const metric of ["rps ratio via A/direct, 8 client(s)", "p50 latency added by the hop, 1 client(s)"]) {
    assert.ok(cluster.some((x) => x.scenario.startsWith("cluster forwarding") && x.metric === metric), `missing cluster forwarding: ${metric}`);
  }
  for (const metric of ["kill to first 200 (via A)", "requests failed before it"]) {
    assert.ok(cluster.some((x) => x.scenario.startsWith("cluster failover") && x.metric === metric), `missing cluster failover: ${metric}`);
  }
  // its goals are judged in the table
  assert.match(run.stdout, /\| cluster forwarding \(.*\| rps ratio via A\/direct, 8 client\(s\) \|.*\| >= 0\.85: (met|NOT met) \(corral(\+ls)?\) \|$/m);
});

test("without a llama-server binary the bench says how to get the comparisons", (t) => {
  if (bin) return t.skip(`llama-server found (${bin.path})`);
  assert.match(run.stderr, /llama-server comparisons skipped.*corral engine build.*LLAMA_SERVER_BIN/);
  assert.doesNotMatch(run.stdout, /corral\+ls/);
});

test("with a llama-server binary every router scenario runs for corral, corral+ls and llama.cpp", (t) => {
  if (!bin) return t.skip("no llama-server binary (bin/corral engine build, or LLAMA_SERVER_BIN)");
  assert.match(run.stdout, /^\| scenario \| metric \| corral \| corral\+ls \| llama\.cpp \| corral\+ls \/ llama\.cpp \| goal \|$/m);
  for (const impl of ["corral", "corral+ls", "llama.cpp"]) {
    const scenarios = new Set(rows.filter((x) => x.impl === impl).map((x) => x.scenario.replace(/ \(.*$/, "")));
    for (const s of ["proxy overhead", "streaming", "cold load", "swap", "generation", "memory", "scale"]) {
      assert.ok(scenarios.has(s), `missing scenario ${s} for ${impl}`);
    }
  }
  // a judged goal relative to llama.cpp's router
  assert.match(run.stdout, /\| swap \(.*\| <= 1 x llama\.cpp: (met|NOT met) \(corral\+ls\) \|$/m);
});
