import { homedir } from "node:os";
import { join } from "node:path";

/** corral's cache folder: the demo model, start-up facts and built llama-server binaries. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env["XDG_CACHE_HOME"] || join(homedir(), ".cache");
  return join(base, "corral");
}
