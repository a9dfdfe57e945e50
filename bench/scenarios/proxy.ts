// Proxy overhead: 1-token completions on the tiny model from closed-loop keep-alive clients, 1 and 8 at once,
// routed vs the same model served directly, measured side by side.
import type { BenchContext } from "../lib/context.js";
import { modelsDir } from "../lib/temp-dirs.js";
import { closedLoop } from "../lib/load.js";
import { median, postJson, startDirect, startRouter, type Impl } from "../lib/servers.js";

export async function proxyOverhead(impl: Impl, ctx: BenchContext): Promise<void> {
  const flags = ["-t", "1", "-c", "4096", "-np", "8"];
  const direct = await startDirect(impl, ["-m", ctx.tiny, ...flags]);
  const router = await startRouter(impl, ["--models-dir", modelsDir({ tiny: ctx.tiny }), ...flags]);
  try {
    const body = JSON.stringify({ model: "tiny", prompt: "hi", max_tokens: 1, temperature: 0 });
    await postJson(`${router.url}/v1/completions`, JSON.parse(body)); // loads the model
    // Direct and routed alternate in short rounds, and each figure is the median over the rounds: this VM's speed
    // drifts by several percent within seconds, which one long run of each would turn into a false ratio.
    const rounds = ctx.quick ? 1 : 6;
    const roundMs = ctx.quick ? 300 : 1500;
    for (const clients of [1, 8]) {
      await closedLoop(direct.url, "/v1/completions", body, clients, ctx.quick ? 100 : 500);
      await closedLoop(router.url, "/v1/completions", body, clients, ctx.quick ? 100 : 500);
      const d = { rps: [] as number[], p50: [] as number[] };
      const r = { rps: [] as number[], p50: [] as number[], ratio: [] as number[] };
      let retried = 0;
      for (let i = 0; i < rounds; i++) {
        const a = await closedLoop(direct.url, "/v1/completions", body, clients, roundMs);
        const b = await closedLoop(router.url, "/v1/completions", body, clients, roundMs);
        if (a.errors || b.errors) throw new Error(`proxy overhead [${impl.name}]: ${a.errors} direct and ${b.errors} routed errors (${a.firstError ?? b.firstError})`);
        retried += a.retried + b.retried;
        d.rps.push(a.rps);
        d.p50.push(median(a.latenciesMs));
        r.rps.push(b.rps);
        r.p50.push(median(b.latenciesMs));
        r.ratio.push(b.rps / a.rps);
      }
      const sc = "proxy overhead";
      ctx.record({ scenario: sc, metric: `direct rps, ${clients} client(s)`, impl: impl.name, value: median(d.rps), unit: "req/s" });
      ctx.record({ scenario: sc, metric: `routed rps, ${clients} client(s)`, impl: impl.name, value: median(r.rps), unit: "req/s" });
      ctx.record({
        scenario: sc, metric: `rps ratio routed/direct, ${clients} client(s)`, impl: impl.name, value: median(r.ratio), unit: "x",
        ...(clients === 8 ? { target: { op: ">=", bound: 0.9 } } : {}),
      });
      ctx.record({
        scenario: sc, metric: `p50 latency added, ${clients} client(s)`, impl: impl.name,
        value: median(r.p50) - median(d.p50), unit: "ms", ...(clients === 1 ? { target: { op: "<=", bound: 0.25 } } : {}),
      });
      ctx.record({ scenario: sc, metric: `requests retried after a closed connection, ${clients} client(s)`, impl: impl.name, value: retried, unit: "req" });
    }
  } finally {
    await Promise.all([direct.stop(), router.stop()]);
  }
}
