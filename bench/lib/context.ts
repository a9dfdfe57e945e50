// What every scenario gets: the mode, the models, a way to make model folders, and a place to record results.
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ImplName } from "./servers.js";

/** A goal the table can judge: `value op bound`, or `value op bound x (llama.cpp's value)` when relative. */
export interface Target {
  op: "<=" | ">=";
  bound: number;
  relativeTo?: "llama.cpp";
}

export interface Result {
  scenario: string;
  metric: string;
  impl: ImplName;
  value: number;
  unit: string;
  /** The goal for this metric, judged in the table against corral+ls (corral when llama-server is absent). */
  target?: Target;
  /** A goal the table shows but does not judge. */
  goal?: string;
}

export interface BenchContext {
  quick: boolean;
  runs: number;
  /** ~0.8 MB generated model. */
  tiny: string;
  /** ~200 MB generated model (dim 768, 8 layers, F16); the tiny one in --quick. */
  big: string;
  /** A second model of the same size, for swaps. */
  big2: string;
  record(r: Result): void;
}

const temps: string[] = [];

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

/** Removes the folders made by modelsDir and emptyHub (their entries are symlinks, never the models). */
export function removeTempDirs(): void {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A models folder whose entries are symlinks: `{ id: file }`. */
export function modelsDir(models: Record<string, string>): string {
  const dir = tempDir("corral-bench-models-");
  for (const [id, file] of Object.entries(models)) symlinkSync(file, path.join(dir, `${id}.gguf`));
  return dir;
}

/** An empty hub cache, so that the user's own Hugging Face cache is not scanned by the servers under test. */
export function emptyHub(): NodeJS.ProcessEnv {
  const dir = tempDir("corral-bench-hub-");
  return { LLAMA_CACHE: dir, HF_HUB_CACHE: dir };
}
