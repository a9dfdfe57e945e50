// Model discovery for router mode: pure functions over the file system (no processes, no HTTP), as llama.cpp's
// router does in common/preset.cpp and common/hf-cache.cpp, with the choices its users asked for: a folder's main
// file is chosen deterministically (<folder>.gguf, else the first shard, else the first by name) and projectors are
// never taken for models.
import { readdirSync } from "node:fs";
import path from "node:path";
import { cachedRepoFiles, ggufNameInfo, hfModelId, hubCacheDir, repoFromFolderName } from "../hf/cache.js";
import { isDir, isFile } from "../util/fs-kind.js";

export { hubCacheDir };

export interface DiscoveredModel {
  id: string;
  path: string;
  mmproj?: string;
  source: "models_dir" | "cache" | "builtin";
}

export class DiscoveryError extends Error {}

const SPLIT_RE = /-(\d{5})-of-(\d{5})$/;
const isGguf = (name: string) => name.toLowerCase().endsWith(".gguf");
const isProjector = (name: string) => name.toLowerCase().includes("mmproj");
const stem = (name: string) => name.slice(0, -".gguf".length);

/** `--models-dir`: top-level GGUFs and one model per subfolder. Sorted by id. */
export function scanModelsDir(dir: string): DiscoveredModel[] {
  if (!isDir(dir)) throw new DiscoveryError(`--models-dir '${dir}' does not exist or is not a directory`);
  const out: DiscoveredModel[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (isFile(full)) {
      if (!isGguf(name) || isProjector(name)) continue;
      const m = SPLIT_RE.exec(stem(name));
      if (m && m[1] !== "00001") continue; // later shards belong to the first one
      out.push({ id: m ? stem(name).replace(SPLIT_RE, "") : stem(name), path: full, source: "models_dir" });
    } else if (isDir(full)) {
      const picked = pickFolderFiles(full, name);
      if (picked) out.push({ id: name, ...picked, source: "models_dir" });
    }
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The main GGUF and optional projector of a model folder; undefined when it holds no usable GGUF. */
export function pickFolderFiles(folder: string, folderName: string): { path: string; mmproj?: string } | undefined {
  const files = readdirSync(folder).filter((n) => isGguf(n) && isFile(path.join(folder, n))).sort();
  const projector = files.find(isProjector);
  const models = files.filter((n) => !isProjector(n));
  const firstShards = models.filter((n) => SPLIT_RE.exec(stem(n))?.[1] === "00001");
  const unsplit = models.filter((n) => !SPLIT_RE.test(stem(n)));
  const main =
    unsplit.find((n) => stem(n) === folderName) ?? firstShards.find((n) => stem(n).replace(SPLIT_RE, "") === folderName) ?? firstShards[0] ?? unsplit[0];
  if (!main) return undefined;
  return { path: path.join(folder, main), ...(projector ? { mmproj: path.join(folder, projector) } : {}) };
}

/**
 * The hub cache layout `models--{owner}--{repo}/refs/main` + `snapshots/<commit>/**.gguf`: one model per
 * (repo, quant tag), `owner/repo:TAG`, first shards only, no projectors. A missing cache is simply empty. File names
 * are read as -hf reads them (src/hf/cache.ts), so what is listed is what `-hf owner/repo:TAG` serves.
 */
export function scanHubCache(cacheDir: string): DiscoveredModel[] {
  if (!isDir(cacheDir)) return [];
  const out = new Map<string, DiscoveredModel>();
  for (const entry of readdirSync(cacheDir).sort()) {
    const repo = repoFromFolderName(entry);
    if (!repo) continue;
    for (const f of cachedRepoFiles(cacheDir, repo)) {
      const info = ggufNameInfo(f.repoPath);
      if (!info || !info.tag || isProjector(path.basename(f.repoPath)) || (info.count > 1 && info.index !== 1)) continue;
      const id = hfModelId(repo, info.tag);
      if (!out.has(id)) out.set(id, { id, path: f.localPath, source: "cache" });
    }
  }
  return [...out.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
