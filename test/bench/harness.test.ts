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
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, "dist", "bench", "run.js"), "--quick", "--out", out], { encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /generation tokens\/s, -t 1/);
  const json = JSON.parse(readFileSync(out, "utf8")) as { rows: Array<{ scenario: string; value: number }> };
  const scenarios = json.rows.map((x) => x.scenario);
  for (const s of ["generation tokens/s, -t 1", "generation tokens/s, -t 2", "prompt tokens/s, -t 1", "spawn to ready (tiny model)", "idle RSS (tiny model)"]) {
    assert.ok(scenarios.includes(s), `missing ${s}`);
  }
  for (const row of json.rows) assert.ok(Number.isFinite(row.value) && row.value > 0, `${row.scenario} = ${row.value}`);
});
