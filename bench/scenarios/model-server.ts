// The model server alone, corral's built-in engine (`corral -m`) against llama-server (`llama-server -m`) on the tiny
// model, side by side: 1-token completions from 8 keep-alive clients, and 32 concurrent 128-token streams over 8
// slots. The two servers run at once and take turns in short rounds, because this VM's speed drifts within seconds.
import type { BenchContext } from "../lib/context.js";
import { closedLoop, concurrentStreams } from "../lib/load.js";
import { median, GEN_BIAS, postJson, startDirect, type Impl, type Server } from "../lib/servers.js";

const SC = "model server (-m, tiny model, -np 8)";

export async function modelServer(impls: Impl[], ctx: BenchContext): Promise<void> {
  // corral+ls serves -m with the very llama-server that the llama.cpp column measures
  const direct = impls.filter((i) => i.name !== "corral+ls");
  const flags = ["-m", ctx.tiny, "-t", "1", "-c", String(8 * 512), "-np", "8"];
  const servers: Array<[Impl, Server]> = [];
  try {
    for (const impl of direct) servers.push([impl, await startDirect(impl, flags)]);
    // the bias keeps random weights off partial UTF-8 pieces, which llama-server answers with a 500
    const oneToken = JSON.stringify({ prompt: "hi", max_tokens: 1, logit_bias: GEN_BIAS });
    const stream = { prompt: "once upon a time", max_tokens: ctx.quick ? 8 : 128, logit_bias: GEN_BIAS };
    const n = ctx.quick ? 4 : 32;
    const rps = new Map<Impl, number[]>();
    const tps = new Map<Impl, number[]>();
    const ttft = new Map<Impl, number[]>();
    for (const [impl, s] of servers) {
      await postJson(`${s.url}/v1/completions`, { prompt: "warm up", max_tokens: 4, logit_bias: GEN_BIAS });
      await closedLoop(s.url, "/v1/completions", oneToken, 8, ctx.quick ? 100 : 500);
      rps.set(impl, []);
      tps.set(impl, []);
      ttft.set(impl, []);
    }
    const rounds = ctx.quick ? 1 : Math.max(3, ctx.runs * 2);
    for (let r = 0; r < rounds; r++) {
      for (const [impl, s] of servers) {
        const a = await closedLoop(s.url, "/v1/completions", oneToken, 8, ctx.quick ? 300 : 1500);
        if (a.errors) throw new Error(`${SC} [${impl.name}]: ${a.errors} errors (${a.firstError})`);
        rps.get(impl)!.push(a.rps);
        const b = await concurrentStreams(s.url, stream, n);
        tps.get(impl)!.push(b.tokensPerSecond);
        ttft.get(impl)!.push(median(b.ttftMs));
      }
    }
    for (const [impl] of servers) {
      const isCorral = impl.name === "corral";
      ctx.record({
        scenario: SC, metric: "1-token completions, 8 clients", impl: impl.name, value: median(rps.get(impl)!), unit: "req/s",
        ...(isCorral ? { target: { op: ">=", bound: 0.6, relativeTo: "llama.cpp" } } : {}),
      });
      ctx.record({
        scenario: SC, metric: `${n} streams x ${stream.max_tokens} tokens: tokens/s`, impl: impl.name, value: median(tps.get(impl)!), unit: "tok/s",
        ...(isCorral ? { target: { op: ">=", bound: 0.9, relativeTo: "llama.cpp" } } : {}),
      });
      ctx.record({
        scenario: SC, metric: `${n} streams x ${stream.max_tokens} tokens: median TTFT`, impl: impl.name, value: median(ttft.get(impl)!), unit: "ms",
        ...(isCorral ? { target: { op: "<=", bound: 1.5, relativeTo: "llama.cpp" } } : {}),
      });
    }
  } finally {
    await Promise.all(servers.map(([, s]) => s.stop()));
  }
}
