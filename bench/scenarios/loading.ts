// Cold load and swap on the ~200 MB model: the time from a request for an unloaded model until its answer, alone
// (cold load) and when another model must be unloaded first (--models-max 1, alternating two models).
import { modelsDir, emptyHub, type BenchContext } from "../lib/context.js";
import { median, postJson, sleep, startServer, type Impl, type Server } from "../lib/servers.js";

async function timedRequest(s: Server, model: string): Promise<number> {
  const t0 = performance.now();
  await postJson(`${s.url}/v1/completions`, { model, prompt: "hi", max_tokens: 1 });
  return performance.now() - t0;
}

async function waitUnloaded(s: Server, model: string): Promise<void> {
  for (;;) {
    const list = (await (await fetch(`${s.url}/models`)).json()) as { data: Array<{ id: string; status: { value: string } }> };
    if (list.data.find((m) => m.id === model)?.status.value === "unloaded") return;
    await sleep(10);
  }
}

export async function coldLoad(impl: Impl, ctx: BenchContext): Promise<void> {
  const s = await startServer(impl, ["--models-dir", modelsDir({ big: ctx.big }), "-t", "1", "-c", "2048"], emptyHub());
  try {
    const times: number[] = [];
    for (let i = 0; i < ctx.runs + 1; i++) {
      // a user's next cold load comes seconds later, not microseconds: give background work (a spare) its time
      await sleep(ctx.quick ? 200 : 1500);
      const t = await timedRequest(s, "big");
      if (i > 0 || ctx.quick) times.push(t); // the first one also pays the router's own first-use costs
      await postJson(`${s.url}/models/unload`, { model: "big" });
      await waitUnloaded(s, "big");
    }
    ctx.record({ scenario: "cold load (~200 MB model)", metric: "request to answer, unloaded model", impl: impl.name, value: median(times), unit: "ms", goal: "<= llama.cpp (150 ms here)" });
  } finally {
    await s.stop();
  }
}

export async function swap(impl: Impl, ctx: BenchContext): Promise<void> {
  const s = await startServer(impl, ["--models-dir", modelsDir({ big: ctx.big, big2: ctx.big2 }), "--models-max", "1", "-t", "1", "-c", "2048"], emptyHub());
  try {
    await timedRequest(s, "big");
    const times: number[] = [];
    const n = ctx.quick ? 2 : 8;
    for (let i = 0; i < n; i++) times.push(await timedRequest(s, i % 2 === 0 ? "big2" : "big"));
    ctx.record({ scenario: "swap (--models-max 1, two ~200 MB models)", metric: "median request time", impl: impl.name, value: median(times), unit: "ms", goal: "<= llama.cpp (139 ms here)" });
  } finally {
    await s.stop();
  }
}
