// The model `npm start` serves on a fresh machine: a small random-weight llama model generated once into the
// user's cache folder (its output is random text; it exists so that everything works before any download).
import { existsSync, mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import type { RandomLlamaOptions } from "./gguf/random-llama.js";
import type { Logger } from "./util/log.js";
import { cacheDir } from "./util/cache-dir.js";

/** The demo model's id in a router's catalog, and its GGUF name. */
export const DEMO_MODEL_ID = "corral-demo";
// The non-ASCII byte tokens are muted: random text ending inside a UTF-8 sequence makes llama-server answer 500.
export const DEMO_MODEL_OPTIONS: RandomLlamaOptions = {
  seed: 42, dim: 128, layers: 2, vocabSize: 8192, fileType: "f16", name: DEMO_MODEL_ID, mutedTokens: [133, 261],
};
/** Bumped when DEMO_MODEL_OPTIONS change, so that an older demo model in the cache is not reused. */
const DEMO_REVISION = 2;

export async function ensureDemoModel(log: Logger): Promise<string> {
  const dir = cacheDir();
  // the generator is imported only when it is needed: every start of `corral` without arguments comes here
  const { RANDOM_LLAMA_GENERATOR_VERSION, writeRandomLlamaModel } = await import("./gguf/random-llama.js");
  const path = join(dir, `corral-demo-v${RANDOM_LLAMA_GENERATOR_VERSION}-r${DEMO_REVISION}.gguf`);
  if (existsSync(path)) return path;
  mkdirSync(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  log.info(`generating the demo model into ${path}`);
  await writeRandomLlamaModel(tmp, DEMO_MODEL_OPTIONS);
  renameSync(tmp, path);
  return path;
}
