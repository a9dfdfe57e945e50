// The benchmark is not part of npm test, but its harness is smoke-run with tiny settings so it never rots.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { findLlamaServerBin, type LlamaServerBin } from "../../bench/lib/servers.js";
import { REPO_ROOT } from "../helpers/server.js";
import { tempDirUntilExit } from "../../src/util/temp-dir.js";

interface Row { scenario: string; metric: string; impl: string; value: number }

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
    // added latencies may be negative within noise, retries are counts; everything else is a positive measurement
    if (row.metric.includes("added")) assert.ok(Number.isFinite(row.value), `${row.impl} ${row.metric} = ${row.value}`);
    else if (row.metric.includes("retried")) assert.ok(Number.isInteger(row.value) && row.value >= 0, `${row.impl} ${row.metric} = ${row.value}`);
    else assert.ok(Number.isFinite(row.value) && row.value > 0, `${row.impl} ${row.scenario}: ${row.metric} = ${row.value}`);
  }
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
