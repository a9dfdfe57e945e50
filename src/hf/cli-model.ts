// `-hf owner/repo[:QUANT]` (and `--hf-file`) on the command line: the cached file it names becomes `-m`, and the
// repo name becomes the model's name, as llama-server does when no --alias is given.
import type { ServerOptions } from "../options/options.js";
import type { Logger } from "../util/log.js";
import { StartupError } from "../util/startup-error.js";
import { HfResolveError, hubCacheDir, parseHfRef, resolveCachedModel } from "./cache.js";
import { HubError } from "./download/hub-api.js";
import { pull } from "./download/pull.js";

export async function resolveHfOption(options: ServerOptions, log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<Pick<ServerOptions, "model" | "alias">> {
  const spec = options.hfRepo!;
  try {
    const ref = parseHfRef(spec, options.hfFile);
    const cacheDir = hubCacheDir(env);
    let hit;
    try {
      hit = resolveCachedModel(ref, cacheDir);
    } catch (err) {
      // not cached: downloaded now, as llama-server does, unless --offline
      if (!(err instanceof HfResolveError) || options.offline) throw err;
      await download(spec, options, log, env);
      hit = resolveCachedModel(ref, cacheDir);
    }
    log.info(`--hf-repo ${spec}${options.hfFile ? ` --hf-file ${options.hfFile}` : ""}: serving ${hit.path}${hit.shards.length > 1 ? ` (${hit.shards.length} shards)` : ""}`);
    // the built-in engine has no vision support yet; saying so beats silently dropping the projector
    if (hit.mmproj) log.info(`the repo's projector ${hit.mmproj} is not used (the built-in engine serves text only)`);
    return { model: hit.path, alias: options.alias && options.alias.length > 0 ? options.alias : [spec] };
  } catch (err) {
    if (err instanceof HfResolveError || err instanceof HubError) throw new StartupError(err.message);
    throw err;
  }
}

/** Pulls what -hf names into the hub cache, logging progress now and then (the CLI's `corral pull` draws a bar). */
async function download(spec: string, options: ServerOptions, log: Logger, env: NodeJS.ProcessEnv): Promise<void> {
  log.info(`'${spec}' is not in the Hugging Face cache: downloading it (--offline to never download)`);
  let last = 0;
  await pull(spec, {
    env,
    ...(options.hfFile ? { file: options.hfFile } : {}),
    onProgress: (p) => {
      const now = performance.now();
      if (now - last < 2000 && p.done < p.total) return;
      last = now;
      const pct = p.total > 0 ? Math.floor((p.done / p.total) * 100) : 0;
      log.info(`downloading ${p.file} [${p.index + 1}/${p.count}]: ${pct}%${p.etaS !== undefined ? `, ${Math.ceil(p.etaS)} s left` : ""}`);
    },
  });
}
