// The churn soak (test/soak/churn.ts), ~10 s here; `npm run test:soak` runs it for 40 s (CORRAL_SOAK_SECONDS).
import assert from "node:assert/strict";
import { test } from "node:test";
import { testEngines } from "../helpers/router.js";
import { runChurn } from "../soak/churn.js";

const seconds = Number(process.env["CORRAL_SOAK_SECONDS"] ?? 10);

for (const { engine, skip } of testEngines()) {
test(`churn [${engine}]: 4 models, --models-max 2, 8 clients, 10% aborts, a model process kill -9ed every few seconds, ${seconds} s`, { timeout: (seconds + 120) * 1000, skip }, async () => {
  const r = await runChurn({ seconds, killEveryMs: seconds >= 30 ? 5000 : 2500, clients: 8, seed: Number(process.env["CORRAL_SOAK_SEED"] ?? 7), engine });
  process.stdout.write(`# churn report: ${JSON.stringify({ ...r, unexcused: r.unexcused.length })}\n`);
  for (const u of r.unexcused.slice(0, 5)) process.stdout.write(`# unexcused failure (${u.model}): ${u.detail}\n`);
  assert.equal(r.hung, 0, "no request may hang past 30 s");
  assert.ok(r.kills >= 2, `kills happened (${r.kills})`);
  const judged = r.requests - r.aborted - r.excused;
  assert.ok(judged >= 15, `enough requests to judge (${judged})`);
  assert.ok(r.unexcused.length <= judged * 0.01, `${r.unexcused.length} of ${judged} requests failed without their model being killed`);
  assert.ok(r.allModelsAnswerAfter, "every model answers afterwards");
  assert.ok(r.rssEndMb - r.rssStartMb < 64, `router RSS grew by ${(r.rssEndMb - r.rssStartMb).toFixed(1)} MB`);
  assert.ok(r.fdEnd <= r.fdStart + 16, `router file descriptors: ${r.fdStart} -> ${r.fdEnd}`);
  assert.deepEqual(r.leaked, [], "no model process outlives the router");
});
}
