// Helpers for router tests: a models folder built from generated models, a router started on it with an empty
// Hugging Face cache (so the user's own cache never leaks into a test), and views of its model processes.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { findLlamaServer } from "../../src/engines/llama-server/find.js";
import type { RandomLlamaOptions } from "../../src/gguf/random-llama.js";
import { tempDirUntilExit } from "../../src/util/temp-dir.js";
import { getTestModel } from "./models.js";
import { startServer, type RunningServer } from "./server.js";

/**
 * Writes a models folder: each entry maps a relative path (e.g. "a.gguf", "b/b.gguf") to a tiny model seed;
 * `options` go to every model (e.g. QUIET_BYTES).
 */
export async function makeModelsDir(files: Record<string, number>, options: RandomLlamaOptions = {}): Promise<string> {
  const dir = tempDirUntilExit("corral-models-");
  for (const [rel, seed] of Object.entries(files)) {
    const src = await getTestModel("tiny", { ...options, seed });
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    copyFileSync(src, path.join(dir, rel));
  }
  return dir;
}

/** A new empty folder, removed when the test process exits (as every folder these helpers make). */
export function emptyDir(prefix = "corral-empty-"): string {
  return tempDirUntilExit(prefix);
}

export type TestEngine = "node" | "llama-server";

/**
 * Starts a router (corral without -m) with `-t 1`, the given engine for every model (node unless said) and an empty
 * hub cache unless `env` says otherwise.
 */
export function startRouter(args: string[], env: NodeJS.ProcessEnv = {}, engine: TestEngine | "auto" = "node"): Promise<RunningServer> {
  return startServer(["-t", "1", "--engine", engine, ...args], { env: { LLAMA_CACHE: emptyDir("corral-hub-"), ...env } });
}

let skipNoted = false;
/**
 * The engines the router's end-to-end suites run on, each with a skip reason where it cannot run: llama-server needs a
 * binary (the one `corral engine build` made, $LLAMA_SERVER_BIN, or one on PATH).
 */
export function testEngines(): Array<{ engine: TestEngine; skip: string | false }> {
  let found: string | undefined;
  try {
    found = findLlamaServer()?.path;
  } catch {
    found = undefined;
  }
  const skip = found ? false : "no llama-server binary: run `bin/corral engine build` (or set LLAMA_SERVER_BIN) to run the llama-server engine cases";
  if (skip && !skipNoted) {
    skipNoted = true;
    process.stderr.write(`# skipping llama-server engine tests: ${skip}\n`);
  }
  return [{ engine: "node", skip: false }, { engine: "llama-server", skip }];
}

export interface ListedModel {
  id: string;
  aliases: string[];
  tags: string[];
  source: string;
  engine: string;
  path: string | null;
  size_bytes: number | null;
  in_flight: number;
  pid?: number;
  n_ctx?: number;
  status: { value: string; args: string[]; preset: string; exit_code?: number | null; failed?: boolean; error?: string };
}

export async function listModels(url: string, query = ""): Promise<ListedModel[]> {
  const res = await fetch(`${url}/models${query}`);
  if (res.status !== 200) throw new Error(`GET /models: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { data: ListedModel[] }).data;
}

export async function modelStatus(url: string, id: string): Promise<ListedModel | undefined> {
  return (await listModels(url)).find((m) => m.id === id);
}

/** Polls until `check` returns a truthy value (or throws after `timeoutMs`). */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Process ids of the live children of `pid` (model processes of a router). */
export function childPids(pid: number): number[] {
  try {
    return execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" })
      .split("\n").map((s) => Number(s.trim())).filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

/** True while the process runs (a zombie, dead but not yet reaped by its new parent, counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/**
 * logit_bias that bans the generated vocabulary's non-ASCII byte tokens (ids 133..260): random weights would
 * otherwise end an answer inside a UTF-8 sequence now and then, which llama-server's chat parser answers with 500.
 */
export const NO_PARTIAL_UTF8: Record<string, number> = Object.fromEntries(
  Array.from({ length: 128 }, (_, i) => [String(5 + 128 + i), -100]),
);

export function chat(url: string, model: string, extra: Record<string, unknown> = {}): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 4, logit_bias: NO_PARTIAL_UTF8, ...extra }),
  });
}
