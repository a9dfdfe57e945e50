// End to end: real model processes on generated models, both engines, as the router starts them (the engine modules'
// own command lines); the estimate is checked against what the process really holds (measureMemory) once it has
// processed a prompt of a whole batch, which touches its compute buffers as the worst case does. The rows it prints
// are README's "Memory" table.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { fork, spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { findLlamaServer } from "../../../src/engines/llama-server/find.js";
import { llamaServerEngine } from "../../../src/engines/llama-server/backend.js";
import { nodeEngine } from "../../../src/engines/node/backend.js";
import type { ModelSpec } from "../../../src/catalog/catalog.js";
import { measureMemory } from "../../../src/router/memory/measure.js";
import { modelMemoryEstimate } from "../../../src/router/memory/model-memory.js";
import { getTestModel, QUIET_BYTES, type TestModelKind } from "../../helpers/models.js";
import { emptyDir, testEngines, type TestEngine } from "../../helpers/router.js";

const MiB = 1024 * 1024;
const ENTRY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../src/cli/main.js");
/** A prompt this long fills one node-engine batch (2048) and four llama-server ubatches (512). */
const PROMPT_TOKENS = 2040;

function spec(id: string, file: string): ModelSpec {
  return {
    id, source: "models_dir", path: file, aliases: [], tags: [], options: { threads: 1 }, loadOnStartup: false, stopTimeoutS: 10,
    pin: false, env: {}, engine: "auto", passthrough: [],
  };
}

function post(socketPath: string, route: string, body: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path: route, method: "POST", headers: { "content-type": "application/json" } }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

async function healthy(socketPath: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the model process exited: ${output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const req = http.get({ socketPath, path: "/health" }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the model process never became healthy: ${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Row { engine: TestEngine; kind: TestModelKind; estimate: number; loaded: number; used: number }

async function measureOne(engine: TestEngine, kind: TestModelKind, binary: string | undefined): Promise<Row> {
  const file = await getTestModel(kind, QUIET_BYTES);
  const s = spec(`${kind}-${engine}`, file);
  const socket = path.join(emptyDir("corral-cal-"), "m.sock");
  const mod = engine === "node"
    ? nodeEngine({ entry: ENTRY, programName: "corral", execArgv: ["--max-semi-space-size=1"] })
    : llamaServerEngine(() => binary!);
  const args = mod.args(s, socket, []);
  const estimate = await modelMemoryEstimate(s, args, engine);
  assert.ok(estimate, "an estimate for a readable model");
  let out = "";
  const child = engine === "node"
    ? fork(ENTRY, args, { execArgv: ["--max-semi-space-size=1"], stdio: ["ignore", "ignore", "pipe", "ipc"] })
    : spawn(binary!, args, { stdio: ["ignore", "ignore", "pipe"] });
  child.stderr!.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  try {
    await healthy(socket, child, () => out);
    const pid = child.pid!;
    let now = Date.now();
    const loaded = measureMemory(pid, (now += 1e6))!.ram;
    const prompt = Array.from({ length: PROMPT_TOKENS }, (_, i) => 300 + (i % 50));
    const r = await post(socket, "/completion", { prompt, n_predict: 4, cache_prompt: false });
    assert.equal(r.status, 200, r.text);
    const used = measureMemory(pid, (now += 1e6))!.ram;
    return { engine, kind, estimate: estimate.ram, loaded, used };
  } finally {
    child.kill("SIGKILL");
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.on("exit", r)));
  }
}

describe("memory estimates against real processes", () => {
  const binary = (() => {
    try {
      return findLlamaServer()?.path;
    } catch {
      return undefined;
    }
  })();
  for (const { engine, skip } of testEngines()) {
    for (const kind of ["tiny", "small", "bench"] as const) {
      test(`${engine}, ${kind} model: the estimate is within max(25%, 24 MiB) of what the process holds after a full batch`, { skip, timeout: 60_000 }, async (t) => {
        const row = await measureOne(engine, kind, binary);
        const f = (n: number) => (n / MiB).toFixed(1);
        const err = row.estimate - row.used;
        t.diagnostic(`| ${kind} | ${engine} | ${f(row.estimate)} | ${f(row.loaded)} | ${f(row.used)} | ${err >= 0 ? "+" : ""}${f(err)} (${((err / row.used) * 100).toFixed(0)}%) |`);
        // the estimate is the most it will take: never below what it holds right after loading
        assert.ok(row.estimate >= row.loaded, `estimate ${f(row.estimate)} MiB >= loaded ${f(row.loaded)} MiB`);
        assert.ok(Math.abs(err) <= Math.max(0.25 * row.used, 24 * MiB), `estimate ${f(row.estimate)} MiB vs measured ${f(row.used)} MiB`);
      });
    }
  }
});
