// The benchmark is not part of npm test, but its harness is smoke-run with tiny settings so it never rots.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { REPO_ROOT } from "../helpers/server.js";

test("npm run bench -- --quick produces a table and a JSON file with every scenario", () => {
  const out = path.join(mkdtempSync(path.join(tmpdir(), "corral-bench-")), "r.json");
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, "dist", "bench", "run.js"), "--quick", "--out", out], { encoding: "utf8", timeout: 180_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\| proxy overhead \| rps ratio routed\/direct, 8 client\(s\) \|/);
  const json = JSON.parse(readFileSync(out, "utf8")) as { results: Array<{ scenario: string; metric: string; value: number }> };
  const scenarios = new Set(json.results.map((x) => x.scenario.replace(/ \(.*$/, "")));
  for (const s of ["proxy overhead", "streaming", "cold load", "swap", "generation", "memory", "scale", "model server"]) {
    assert.ok(scenarios.has(s), `missing scenario ${s}`);
  }
  for (const row of json.results) {
    // added latencies may be negative within noise; everything else is a positive measurement
    if (row.metric.includes("added")) assert.ok(Number.isFinite(row.value), `${row.metric} = ${row.value}`);
    else assert.ok(Number.isFinite(row.value) && row.value > 0, `${row.scenario}: ${row.metric} = ${row.value}`);
  }
});
