// Cold load and swap on the ~200 MB model: the time from a request for an unloaded model until its answer, alone
// (cold load) and when another model must be unloaded first (--models-max 1, alternating two models).
// These goals compare routers with each other, not with a direct server, so the impls take turns round by round
// (against drift), each round on a fresh router; only one runs at a time, so that no router's background work (a
// spare, an unload) lands in another's measurement.
import type { BenchContext } from "../lib/context.js";
import { modelsDir } from "../lib/temp-dirs.js";
import { median, postJson, sleep, startRouter, type Impl, type Server } from "../lib/servers.js";

async function timedRequest(s: Server, model: string): Promise<number> {
  const t0 = performance.now();
  await postJson(`${s.url}/v1/completions`, { model, prompt: "hi", max_tokens: 1, temperature: 0 });
  return performance.now() - t0;
}

async function waitUnloaded(s: Server, model: string): Promise<void> {
  for (;;) {
    const list = (await (await fetch(`${s.url}/models`)).json()) as { data: Array<{ id: string; status: { value: string } }> };
    if (list.data.find((m) => m.id === model)?.status.value === "unloaded") return;
    await sleep(10);
  }
}

async function inRounds(impls: Impl[], ctx: BenchContext, label: string, round: (impl: Impl) => Promise<number[]>): Promise<Map<Impl, number[]>> {
  const times = new Map(impls.map((i) => [i, [] as number[]]));
  for (let r = 0; r < ctx.runs; r++) {
    for (const impl of impls) {
      process.stderr.write(`${label} [${impl.name}] round ${r + 1}/${ctx.runs}\n`);
      times.get(impl)!.push(...(await round(impl)));
    }
  }
  return times;
}

export async function coldLoad(impls: Impl[], ctx: BenchContext): Promise<void> {
  const dir = modelsDir({ big: ctx.big });
  const times = await inRounds(impls, ctx, "cold-load", async (impl) => {
    const s = await startRouter(impl, ["--models-dir", dir, "-t", "1", "-c", "2048"]);
    try {
      const t: number[] = [];
      for (let i = 0; i < (ctx.quick ? 2 : 3); i++) {
        // a user's next cold load comes seconds later, not microseconds: give background work (a spare) its time
        await sleep(ctx.quick ? 200 : 1500);
        const ms = await timedRequest(s, "big");
        if (i > 0) t.push(ms); // the first one also pays the router's own first-use costs
        await postJson(`${s.url}/models/unload`, { model: "big" });
        await waitUnloaded(s, "big");
      }
      return t;
    } finally {
      await s.stop();
    }
  });
  for (const [impl, t] of times) {
    ctx.record({ scenario: "cold load (~200 MB model)", metric: "request to answer, unloaded model", impl: impl.name, value: median(t), unit: "ms", target: { op: "<=", bound: 1, relativeTo: "llama.cpp" } });
  }
}

export async function swap(impls: Impl[], ctx: BenchContext): Promise<void> {
  const dir = modelsDir({ big: ctx.big, big2: ctx.big2 });
  const times = await inRounds(impls, ctx, "swap", async (impl) => {
    const s = await startRouter(impl, ["--models-dir", dir, "--models-max", "1", "-t", "1", "-c", "2048"]);
    try {
      await timedRequest(s, "big");
      const t: number[] = [];
      for (let i = 0; i < (ctx.quick ? 2 : 4); i++) t.push(await timedRequest(s, i % 2 === 0 ? "big2" : "big"));
      return t;
    } finally {
      await s.stop();
    }
  });
  for (const [impl, t] of times) {
    ctx.record({ scenario: "swap (--models-max 1, two ~200 MB models)", metric: "median request time", impl: impl.name, value: median(t), unit: "ms", target: { op: "<=", bound: 1, relativeTo: "llama.cpp" } });
  }
}
