import { homedir } from "node:os";
import { join } from "node:path";

/** corral's cache folder: the demo model and start-up facts. */
export function cacheDir(): string {
  const base = process.env["XDG_CACHE_HOME"] || join(homedir(), ".cache");
  return join(base, "corral");
}
