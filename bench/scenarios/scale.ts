// Scale: 1000 model files in --models-dir. Start-up to ready, GET /models latency, and the routing cost of a
// request (1-token completion, one client) with 1000 models listed against one.
import type { BenchContext } from "../lib/context.js";
import { modelsDir } from "../lib/temp-dirs.js";
import { closedLoop } from "../lib/load.js";
import { median, postJson, startRouter, type Impl } from "../lib/servers.js";

export async function scale(impl: Impl, ctx: BenchContext): Promise<void> {
  const count = ctx.quick ? 50 : 1000;
  const many: Record<string, string> = {};
  for (let i = 0; i < count; i++) many[`m${String(i).padStart(4, "0")}`] = ctx.tiny;
  const sc = `scale (${count} models in --models-dir)`;
  const flags = ["-t", "1", "-c", "512"];
  const big = await startRouter(impl, ["--models-dir", modelsDir(many), ...flags]);
  const one = await startRouter(impl, ["--models-dir", modelsDir({ m0000: ctx.tiny }), ...flags]);
  try {
    ctx.record({ scenario: sc, metric: "start-up to ready", impl: impl.name, value: big.spawnToReadyMs, unit: "ms", target: { op: "<=", bound: 1000 } });
    const list: number[] = [];
    for (let i = 0; i < (ctx.quick ? 3 : 20); i++) {
      const t0 = performance.now();
      await (await fetch(`${big.url}/models`)).arrayBuffer();
      list.push(performance.now() - t0);
    }
    ctx.record({ scenario: sc, metric: "GET /models latency (median)", impl: impl.name, value: median(list), unit: "ms" });
    const body = JSON.stringify({ model: "m0000", prompt: "hi", max_tokens: 1, temperature: 0 });
    await postJson(`${big.url}/v1/completions`, JSON.parse(body));
    await postJson(`${one.url}/v1/completions`, JSON.parse(body));
    const ms = ctx.quick ? 300 : 3000;
    const a = await closedLoop(one.url, "/v1/completions", body, 1, ms);
    const b = await closedLoop(big.url, "/v1/completions", body, 1, ms);
    ctx.record({ scenario: sc, metric: `p50 request time, ${count} models / 1 model`, impl: impl.name, value: median(b.latenciesMs) / median(a.latenciesMs), unit: "x", goal: "flat (~1.0)" });
  } finally {
    await Promise.all([big.stop(), one.stop()]);
  }
}
