// Streaming: 32 concurrent streams of 128 tokens on the tiny model; routed vs direct aggregate tokens/s and time to
// first token.
import type { BenchContext } from "../lib/context.js";
import { modelsDir } from "../lib/temp-dirs.js";
import { concurrentStreams } from "../lib/load.js";
import { median, GEN_BIAS, postJson, startDirect, startRouter, type Impl } from "../lib/servers.js";

export async function streaming(impl: Impl, ctx: BenchContext): Promise<void> {
  const n = ctx.quick ? 4 : 32;
  const tokens = ctx.quick ? 8 : 128;
  const flags = ["-t", "1", "-c", String(n * 256), "-np", String(n)];
  const direct = await startDirect(impl, ["-m", ctx.tiny, ...flags]);
  const router = await startRouter(impl, ["--models-dir", modelsDir({ tiny: ctx.tiny }), ...flags]);
  try {
    const body = { model: "tiny", prompt: "once upon a time", max_tokens: tokens, logit_bias: GEN_BIAS, temperature: 0.8 };
    await postJson(`${router.url}/v1/completions`, { ...body, max_tokens: 1 });
    const d = { tps: [] as number[], ttft: [] as number[] };
    const r = { tps: [] as number[], ttft: [] as number[] };
    for (let i = 0; i < ctx.runs; i++) {
      const a = await concurrentStreams(direct.url, body, n);
      const b = await concurrentStreams(router.url, body, n);
      d.tps.push(a.tokensPerSecond);
      d.ttft.push(median(a.ttftMs));
      r.tps.push(b.tokensPerSecond);
      r.ttft.push(median(b.ttftMs));
    }
    const sc = `streaming (${n} x ${tokens} tokens)`;
    ctx.record({ scenario: sc, metric: "direct tokens/s", impl: impl.name, value: median(d.tps), unit: "tok/s" });
    ctx.record({ scenario: sc, metric: "routed tokens/s", impl: impl.name, value: median(r.tps), unit: "tok/s" });
    ctx.record({ scenario: sc, metric: "tokens/s ratio routed/direct", impl: impl.name, value: median(r.tps) / median(d.tps), unit: "x", target: { op: ">=", bound: 0.98 } });
    ctx.record({ scenario: sc, metric: "TTFT added (median)", impl: impl.name, value: median(r.ttft) - median(d.ttft), unit: "ms", target: { op: "<=", bound: 1 } });
  } finally {
    await Promise.all([direct.stop(), router.stop()]);
  }
}
