// The model `npm start` serves on a fresh machine: a small random-weight llama model generated once into the
// user's cache folder (its output is random text; it exists so that everything works before any download).
import { existsSync, mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import type { RandomLlamaOptions } from "../gguf/random-llama.js";
import type { Logger } from "../util/log.js";
import { cacheDir } from "../util/cache-dir.js";

/** The demo model's id in a router's catalog, and its GGUF name. */
export const DEMO_MODEL_ID = "corral-demo";
/**
 * A second demo model (other random weights), so that the web UI's compare mode, the A/B test the router exists
 * for, has two models to compare on a fresh machine.
 */
export const DEMO_MODEL_B_ID = "corral-demo-b";
// The non-ASCII byte tokens are muted: random text ending inside a UTF-8 sequence makes llama-server answer 500.
export const DEMO_MODEL_OPTIONS: RandomLlamaOptions = {
  seed: 42, dim: 128, layers: 2, vocabSize: 8192, fileType: "f16", name: DEMO_MODEL_ID, mutedTokens: [133, 261],
};
const DEMO_MODELS: ReadonlyArray<{ id: string; options: RandomLlamaOptions }> = [
  { id: DEMO_MODEL_ID, options: DEMO_MODEL_OPTIONS },
  { id: DEMO_MODEL_B_ID, options: { ...DEMO_MODEL_OPTIONS, seed: 7, name: DEMO_MODEL_B_ID } },
];
/** Bumped when DEMO_MODEL_OPTIONS change, so that an older demo model in the cache is not reused. */
const DEMO_REVISION = 2;

export interface DemoModel {
  id: string;
  path: string;
}

/** The demo models, generated into the cache folder the first time (about 5 MB each). */
export async function ensureDemoModels(log: Logger): Promise<DemoModel[]> {
  const dir = cacheDir();
  // the generator is imported only when it is needed: every start of `corral` without arguments comes here
  const { RANDOM_LLAMA_GENERATOR_VERSION, writeRandomLlamaModel } = await import("../gguf/random-llama.js");
  const out: DemoModel[] = [];
  for (const m of DEMO_MODELS) {
    // the first keeps its file name from before there were two
    const stem = m.id === DEMO_MODEL_ID ? "corral-demo" : m.id;
    const path = join(dir, `${stem}-v${RANDOM_LLAMA_GENERATOR_VERSION}-r${DEMO_REVISION}.gguf`);
    out.push({ id: m.id, path });
    if (existsSync(path)) continue;
    mkdirSync(dir, { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    log.info(`generating the demo model '${m.id}' into ${path}`);
    await writeRandomLlamaModel(tmp, m.options);
    renameSync(tmp, path);
  }
  return out;
}
