import { readFileSync } from "node:fs";
import type { ServerOptions } from "../options/options.js";
import { StartupError } from "../util/startup-error.js";

/** Keys from --api-key and --api-key-file (one per line; blank lines and # comments skipped). */
export function readApiKeys(opts: Pick<ServerOptions, "apiKey" | "apiKeyFile">): string[] {
  const keys = [...(opts.apiKey ?? [])];
  if (opts.apiKeyFile) {
    let text: string;
    try {
      text = readFileSync(opts.apiKeyFile, "utf8");
    } catch (err) {
      throw new StartupError(`cannot read --api-key-file '${opts.apiKeyFile}': ${(err as NodeJS.ErrnoException).code}`);
    }
    for (const line of text.split(/\r?\n/)) if (line.trim() && !line.trim().startsWith("#")) keys.push(line.trim());
  }
  return keys;
}
