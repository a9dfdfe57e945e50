// Proxy overhead: 1-token completions on the tiny model from closed-loop keep-alive clients, 1 and 8 at once,
// routed vs the same model served directly, measured side by side.
import { modelsDir, emptyHub, type BenchContext } from "../lib/context.js";
import { closedLoop } from "../lib/load.js";
import { median, postJson, startServer, type Impl } from "../lib/servers.js";

export async function proxyOverhead(impl: Impl, ctx: BenchContext): Promise<void> {
  const flags = ["-t", "1", "-c", "4096", "-np", "8"];
  const direct = await startServer(impl, ["-m", ctx.tiny, ...flags]);
  const router = await startServer(impl, ["--models-dir", modelsDir({ tiny: ctx.tiny }), ...flags], emptyHub());
  try {
    const body = JSON.stringify({ model: "tiny", prompt: "hi", max_tokens: 1, temperature: 0 });
    await postJson(`${router.url}/v1/completions`, JSON.parse(body)); // loads the model
    const seconds = ctx.quick ? 300 : 5000;
    for (const clients of [1, 8]) {
      // warm both connections, then measure direct and routed back to back
      await closedLoop(direct.url, "/v1/completions", body, clients, ctx.quick ? 100 : 500);
      await closedLoop(router.url, "/v1/completions", body, clients, ctx.quick ? 100 : 500);
      const d = await closedLoop(direct.url, "/v1/completions", body, clients, seconds);
      const r = await closedLoop(router.url, "/v1/completions", body, clients, seconds);
      if (d.errors || r.errors) throw new Error(`proxy overhead: ${d.errors} direct and ${r.errors} routed errors`);
      const sc = "proxy overhead";
      ctx.record({ scenario: sc, metric: `direct rps, ${clients} client(s)`, impl: impl.name, value: d.rps, unit: "req/s" });
      ctx.record({ scenario: sc, metric: `routed rps, ${clients} client(s)`, impl: impl.name, value: r.rps, unit: "req/s" });
      ctx.record({
        scenario: sc, metric: `rps ratio routed/direct, ${clients} client(s)`, impl: impl.name, value: r.rps / d.rps, unit: "x",
        ...(clients === 8 ? { goal: ">= 0.90" } : {}),
      });
      ctx.record({
        scenario: sc, metric: `p50 latency added, ${clients} client(s)`, impl: impl.name,
        value: median(r.latenciesMs) - median(d.latenciesMs), unit: "ms", ...(clients === 1 ? { goal: "<= 0.25" } : {}),
      });
    }
  } finally {
    await Promise.all([direct.stop(), router.stop()]);
  }
}
