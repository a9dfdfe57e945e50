// --ui-config / --ui-config-file: web UI settings that llama-server hands to its web page through /props
// (ui_settings). Read once; a file that cannot be read or does not hold a JSON object is a start-up error.
import { readFileSync } from "node:fs";
import type { ModelOptions } from "../../options/options.js";
import { parseJsonObject } from "../../options/value-formats.js";
import type { JsonObject } from "../../http/validate.js";
import { StartupError } from "../../util/startup-error.js";

const read = new WeakMap<ModelOptions, JsonObject>();

export function uiSettings(opts: ModelOptions): JsonObject {
  const known = read.get(opts);
  if (known) return known;
  let text: string | undefined = opts.uiConfig;
  let flag = "--ui-config";
  if (opts.uiConfigFile !== undefined) {
    flag = "--ui-config-file";
    try {
      text = readFileSync(opts.uiConfigFile, "utf8");
    } catch (err) {
      throw new StartupError(`cannot read --ui-config-file '${opts.uiConfigFile}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  let settings: JsonObject = {};
  if (text !== undefined) {
    try {
      settings = parseJsonObject(text) as JsonObject;
    } catch (err) {
      throw new StartupError(`${flag}: ${(err as Error).message}`);
    }
  }
  read.set(opts, settings);
  return settings;
}
