// The folders a benchmark run makes for its servers (model folders of symlinks, an empty hub cache), removed at
// the end of the run.
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";

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
