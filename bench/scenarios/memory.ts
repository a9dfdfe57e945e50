// Memory: the router's RSS when idle (no model, then with one loaded), and a model process's RSS minus the size of
// its model file, on the tiny model.
import { statSync } from "node:fs";
import { childPids } from "../../test/helpers/router.js";
import type { BenchContext } from "../lib/context.js";
import { modelsDir } from "../lib/temp-dirs.js";
import { postJson, rssMb, sleep, startRouter, type Impl } from "../lib/servers.js";

export async function memory(impl: Impl, ctx: BenchContext): Promise<void> {
  const s = await startRouter(impl, ["--models-dir", modelsDir({ tiny: ctx.tiny }), "-t", "1", "-c", "512"]);
  try {
    await sleep(ctx.quick ? 200 : 1000);
    const sc = "memory (tiny model)";
    ctx.record({ scenario: sc, metric: "router RSS, idle, no model loaded", impl: impl.name, value: rssMb(s.proc.pid!), unit: "MB", target: { op: "<=", bound: 60 } });
    await postJson(`${s.url}/v1/completions`, { model: "tiny", prompt: "hi", max_tokens: 1, temperature: 0 });
    await sleep(ctx.quick ? 200 : 1000);
    ctx.record({ scenario: sc, metric: "router RSS, idle, one model loaded", impl: impl.name, value: rssMb(s.proc.pid!), unit: "MB", target: { op: "<=", bound: 60 } });
    const pid = (await (await fetch(`${s.url}/models`)).json() as { data: Array<{ pid?: number }> }).data[0]?.pid;
    // llama.cpp's router does not report the pid: take its only child
    const modelPid = pid ?? childPids(s.proc.pid!)[0]!;
    const fileMb = statSync(ctx.tiny).size / 2 ** 20;
    ctx.record({ scenario: sc, metric: "model process RSS minus model file", impl: impl.name, value: rssMb(modelPid) - fileMb, unit: "MB", target: { op: "<=", bound: 100 } });
  } finally {
    await s.stop();
  }
}
