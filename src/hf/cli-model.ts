// `-hf owner/repo[:QUANT]` (and `--hf-file`) on the command line: the cached file it names becomes `-m`, and the
// repo name becomes the model's name, as llama-server does when no --alias is given.
import type { ServerOptions } from "../cli/options.js";
import type { Logger } from "../util/log.js";
import { StartupError } from "../util/startup-error.js";
import { HfResolveError, hubCacheDir, parseHfRef, resolveCachedModel } from "./cache.js";

export function resolveHfOption(options: ServerOptions, log: Logger, env: NodeJS.ProcessEnv = process.env): Pick<ServerOptions, "model" | "alias"> {
  const spec = options.hfRepo!;
  try {
    const hit = resolveCachedModel(parseHfRef(spec, options.hfFile), hubCacheDir(env));
    log.info(`--hf-repo ${spec}${options.hfFile ? ` --hf-file ${options.hfFile}` : ""}: serving ${hit.path}${hit.shards.length > 1 ? ` (${hit.shards.length} shards)` : ""}`);
    // the built-in engine has no vision support yet; saying so beats silently dropping the projector
    if (hit.mmproj) log.info(`the repo's projector ${hit.mmproj} is not used (the built-in engine serves text only)`);
    return { model: hit.path, alias: options.alias && options.alias.length > 0 ? options.alias : [spec] };
  } catch (err) {
    if (err instanceof HfResolveError) throw new StartupError(err.message);
    throw err;
  }
}
