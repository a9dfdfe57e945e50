// Which files of a hub listing `owner/repo[:QUANT]` names: the same rules src/hf/cache.ts applies to the cache, so
// that what is downloaded is exactly what -hf and the router later resolve from it.
import { ggufNameInfo, isModelFirstShard, pickModelFile, pickProjector, shardsOf } from "../cache.js";
import { HubError, type HubFile } from "./hub-api.js";

export interface ChosenFiles {
  /** The first shard (or the only file). */
  model: HubFile;
  /** Every shard in order; `[model]` for a single file. */
  shards: HubFile[];
  mmproj?: HubFile;
  /** The quant tag of the chosen file, upper case; empty when its name carries none. */
  tag: string;
}

/** The quant tags the repo's model files carry, sorted: what an unknown-quant error offers instead. */
function availableQuants(files: readonly HubFile[]): string[] {
  const tags = new Set<string>();
  for (const f of files) {
    const tag = isModelFirstShard(f.path) ? ggufNameInfo(f.path)!.tag : "";
    if (tag) tags.add(tag);
  }
  return [...tags].sort();
}

/** Chooses as llama-server does; throws HubError("not-found") with what the repo offers instead. */
export function chooseFiles(repo: string, files: readonly HubFile[], tag: string, file?: string, opts: { mmproj?: boolean } = {}): ChosenFiles {
  const entries = files.map((f) => ({ repoPath: f.path, f }));
  let primary: (typeof entries)[number] | undefined;
  if (file) {
    primary = entries.find((e) => e.repoPath === file);
    if (!primary) throw new HubError(`${repo} has no file '${file}'`, "not-found", 404);
  } else {
    primary = pickModelFile(entries, tag);
    if (!primary) {
      const quants = availableQuants(files);
      const offer = quants.length > 0 ? `; it has: ${quants.join(", ")}` : files.some((f) => /\.gguf$/i.test(f.path)) ? "" : "; it holds no GGUF files";
      throw new HubError(tag ? `${repo} has no GGUF file with quant '${tag}'${offer}` : `${repo} has no GGUF model file${offer}`, "not-found", 404);
    }
  }
  const shards = shardsOf(entries, primary);
  const info = ggufNameInfo(primary.repoPath);
  if (info && info.count > 1 && shards.length !== info.count) {
    throw new HubError(`${repo} lists ${shards.length} of the ${info.count} shards of '${primary.repoPath}'`, "failed");
  }
  const projector = opts.mmproj === false ? undefined : pickProjector(entries, primary.repoPath);
  return {
    model: primary.f,
    shards: shards.map((s) => s.f),
    ...(projector ? { mmproj: projector.f } : {}),
    tag: info?.tag ?? "",
  };
}
