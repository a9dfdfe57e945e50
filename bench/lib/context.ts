// What every scenario gets: the mode, the models, a way to make model folders, and a place to record results.
import { mkdtempSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Impl } from "./servers.js";

export interface Result {
  scenario: string;
  metric: string;
  impl: Impl["name"];
  value: number;
  unit: string;
  /** The goal for this metric, as text (shown in the table). */
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

/** A models folder whose entries are symlinks: `{ id: file }`. */
export function modelsDir(models: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "corral-bench-models-"));
  for (const [id, file] of Object.entries(models)) symlinkSync(file, path.join(dir, `${id}.gguf`));
  return dir;
}

/** An empty hub cache, so that the user's own Hugging Face cache is not scanned by the routers under test. */
export function emptyHub(): NodeJS.ProcessEnv {
  const dir = mkdtempSync(path.join(os.tmpdir(), "corral-bench-hub-"));
  return { LLAMA_CACHE: dir, HF_HUB_CACHE: dir };
}
