// The churn soak: 4 models behind --models-max 2, 8 clients mixing streamed and plain requests across them, 10% of
// requests aborted by their client, and one random model process kill -9ed every few seconds. Used by the short
// run in npm test (test/router/churn.test.ts) and the long one (npm run test:soak).
import { readdirSync, readFileSync } from "node:fs";
import { chat, childPids, isAlive, listModels, makeModelsDir, NO_PARTIAL_UTF8, startRouter, type TestEngine } from "../helpers/router.js";

export interface ChurnOptions {
  seconds: number;
  killEveryMs: number;
  clients: number;
  seed: number;
  engine?: TestEngine;
}

export interface ChurnReport {
  requests: number;
  ok: number;
  aborted: number;
  /** Failed cleanly (5xx JSON or SSE error event) because their own model process was killed under them. */
  excused: number;
  /** Failed for any other reason: must stay under 1% of the requests that were neither aborted nor excused. */
  unexcused: Array<{ model: string; detail: string }>;
  /** Took longer than 30 s. */
  hung: number;
  kills: number;
  rssStartMb: number;
  rssEndMb: number;
  fdStart: number;
  fdEnd: number;
  /** Model processes still alive after the router stopped. */
  leaked: number[];
  allModelsAnswerAfter: boolean;
}

const MODELS = ["m1", "m2", "m3", "m4"];

/** A small deterministic PRNG, so a failing run can be replayed with its seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
const fdCount = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

type Outcome = { kind: "ok" } | { kind: "aborted" } | { kind: "error"; detail: string } | { kind: "hung" };

async function oneRequest(url: string, model: string, stream: boolean, maxTokens: number, abortAfterMs: number | undefined): Promise<Outcome> {
  const ac = new AbortController();
  const hang = setTimeout(() => ac.abort(new Error("hung")), 30_000);
  const abort = abortAfterMs !== undefined ? setTimeout(() => ac.abort(new Error("client abort")), abortAfterMs) : undefined;
  try {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      signal: ac.signal,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model, stream, max_tokens: maxTokens, logit_bias: NO_PARTIAL_UTF8, messages: [{ role: "user", content: "tell me a story" }] }),
    });
    const text = await res.text();
    if (res.status !== 200) return { kind: "error", detail: `${res.status} ${text.slice(0, 200)}` };
    if (!stream) return text.includes('"choices"') ? { kind: "ok" } : { kind: "error", detail: `200 without choices: ${text.slice(0, 200)}` };
    if (text.includes('data: {"error"')) return { kind: "error", detail: `SSE error: ${text.slice(text.indexOf('data: {"error"'), text.indexOf('data: {"error"') + 200)}` };
    return text.trimEnd().endsWith("data: [DONE]") ? { kind: "ok" } : { kind: "error", detail: `stream ended without [DONE]: ${text.slice(-200)}` };
  } catch (err) {
    const reason = ac.signal.reason as Error | undefined;
    if (reason?.message === "hung") return { kind: "hung" };
    if (reason?.message === "client abort") return { kind: "aborted" };
    return { kind: "error", detail: `connection: ${(err as Error).message} ${(err as { cause?: Error }).cause?.message ?? ""}` };
  } finally {
    clearTimeout(hang);
    if (abort) clearTimeout(abort);
  }
}

export async function runChurn(o: ChurnOptions): Promise<ChurnReport> {
  const random = rng(o.seed);
  const dir = await makeModelsDir(Object.fromEntries(MODELS.map((m, i) => [`${m}.gguf`, i + 1])));
  const server = await startRouter(["--models-dir", dir, "--models-max", "2", "-c", "2048", "-np", "4"], {}, o.engine ?? "node");
  const routerPid = server.proc.pid!;
  const seenChildren = new Set<number>();
  const report: ChurnReport = {
    requests: 0, ok: 0, aborted: 0, excused: 0, unexcused: [], hung: 0, kills: 0,
    rssStartMb: 0, rssEndMb: 0, fdStart: 0, fdEnd: 0, leaked: [], allModelsAnswerAfter: false,
  };
  try {
    // warm up: every model once, so start-up allocations are not counted as growth
    for (const m of MODELS) await chat(server.url, m);
    report.rssStartMb = rssMb(routerPid);
    report.fdStart = fdCount(routerPid);

    const kills: Array<{ model: string; at: number }> = [];
    const deadline = Date.now() + o.seconds * 1000;
    const killer = (async () => {
      while (Date.now() + o.killEveryMs < deadline) {
        await new Promise((r) => setTimeout(r, o.killEveryMs));
        for (const p of childPids(routerPid)) seenChildren.add(p);
        // models come and go all the time here (4 models, room for 2): wait for a loaded one to kill
        for (let tries = 0; tries < 50 && Date.now() < deadline; tries++) {
          const loaded = (await listModels(server.url)).filter((m) => m.status.value === "loaded" && m.pid);
          const victim = loaded[Math.floor(random() * loaded.length)];
          if (victim) {
            try {
              process.kill(victim.pid!, "SIGKILL");
              kills.push({ model: victim.id, at: Date.now() });
              break;
            } catch {
              // it went away by itself (an eviction) between the listing and the kill
            }
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    })();
    const client = async () => {
      while (Date.now() < deadline) {
        const model = MODELS[Math.floor(random() * MODELS.length)]!;
        const stream = random() < 0.5;
        const maxTokens = 8 + Math.floor(random() * 56);
        const abortAfter = random() < 0.1 ? Math.floor(random() * 150) : undefined;
        const start = Date.now();
        const out = await oneRequest(server.url, model, stream, maxTokens, abortAfter);
        const end = Date.now();
        report.requests++;
        if (out.kind === "ok") report.ok++;
        else if (out.kind === "aborted") report.aborted++;
        else if (out.kind === "hung") report.hung++;
        else if (kills.some((k) => k.model === model && k.at >= start - 50 && k.at <= end)) report.excused++;
        else report.unexcused.push({ model, detail: out.detail });
      }
    };
    await Promise.all([killer, ...Array.from({ length: o.clients }, client)]);
    report.kills = kills.length;

    const after = await Promise.all(MODELS.map(async (m) => (await chat(server.url, m)).status));
    report.allModelsAnswerAfter = after.every((s) => s === 200);
    await new Promise((r) => setTimeout(r, 500));
    report.rssEndMb = rssMb(routerPid);
    report.fdEnd = fdCount(routerPid);
    for (const p of childPids(routerPid)) seenChildren.add(p);
  } finally {
    await server.stop();
  }
  await new Promise((r) => setTimeout(r, 2000));
  report.leaked = [...seenChildren].filter(isAlive);
  return report;
}
