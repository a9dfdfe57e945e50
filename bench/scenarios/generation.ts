// Generation speed through the router on the ~200 MB model at -t 1 and -t 2, against the same model served
// directly. Measured by the client: tokens between the first and the last streamed chunk over that time.
import type { BenchContext } from "../lib/context.js";
import { modelsDir } from "../lib/temp-dirs.js";
import { median, GEN_BIAS, postRetry, startDirect, startRouter, type Impl, type Server } from "../lib/servers.js";

async function streamRate(s: Server, model: string, tokens: number, seed: number): Promise<number> {
  const res = await postRetry(`${s.url}/v1/completions`, { model, prompt: `run ${seed}`, max_tokens: tokens, logit_bias: GEN_BIAS, temperature: 0.8, seed, stream: true, stream_options: { include_usage: true } });
  if (res.status !== 200) throw new Error(`generation: ${res.status} ${await res.text()}`);
  let first = 0;
  let last = 0;
  let n = 0;
  const dec = new TextDecoder();
  let buf = "";
  for await (const chunk of res.body!) {
    buf += dec.decode(chunk as Uint8Array, { stream: true });
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const ev = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (ev.includes('"usage":{')) n = (JSON.parse(ev.slice(6)) as { usage: { completion_tokens: number } }).usage.completion_tokens;
      else if (ev.startsWith("data: {")) {
        const now = performance.now();
        if (!first) first = now;
        last = now;
      }
    }
  }
  return (n - 1) / ((last - first) / 1000);
}

export async function generation(impl: Impl, ctx: BenchContext): Promise<void> {
  const tokens = ctx.quick ? 8 : 128;
  for (const threads of [1, 2]) {
    const flags = ["-t", String(threads), "-c", "2048", "-np", "1"];
    const direct = await startDirect(impl, ["-m", ctx.big, ...flags]);
    const router = await startRouter(impl, ["--models-dir", modelsDir({ big: ctx.big }), ...flags]);
    try {
      await streamRate(direct, "big", 4, 0);
      await streamRate(router, "big", 4, 0);
      const d: number[] = [];
      const r: number[] = [];
      for (let i = 0; i < ctx.runs; i++) {
        d.push(await streamRate(direct, "big", tokens, i + 1));
        r.push(await streamRate(router, "big", tokens, i + 1));
      }
      const sc = `generation (~200 MB model, -t ${threads})`;
      ctx.record({ scenario: sc, metric: "direct tokens/s", impl: impl.name, value: median(d), unit: "tok/s" });
      ctx.record({ scenario: sc, metric: "routed tokens/s", impl: impl.name, value: median(r), unit: "tok/s" });
      ctx.record({ scenario: sc, metric: "ratio routed/direct", impl: impl.name, value: median(r) / median(d), unit: "x", target: { op: ">=", bound: 0.97 } });
    } finally {
      await Promise.all([direct.stop(), router.stop()]);
    }
  }
}
