// Reads every source of models (the --models-dir folder, the Hugging Face cache, the presets file, the demo model)
// into one catalog. Used at start-up and again by GET /models?reload=1.
import { existsSync } from "node:fs";
import path from "node:path";
import type { ServerOptions } from "../../cli/options.js";
import type { EngineChoice } from "../../engines/types.js";
import { buildCatalog, type Catalog } from "./catalog.js";
import { hubCacheDir, scanHubCache, scanModelsDir, type DiscoveredModel } from "./discover.js";
import { readPresetFile } from "./presets.js";
import { DEMO_MODEL_ID } from "../../demo-model.js";

export interface CatalogSources {
  modelsDir?: string;
  presetFile?: string;
  /** The generated demo model, served when the user named no folder and no presets file. */
  demoModelPath?: string;
  env: NodeJS.ProcessEnv;
  /** Model options from the router's command line (they win over presets). */
  cliOptions: Partial<ServerOptions>;
  defaultTtlS?: number;
  /** --engine */
  engine?: EngineChoice;
}

export { DEMO_MODEL_ID };

/** Throws DiscoveryError or PresetError (both one clear line) on a bad folder or presets file. */
export function loadCatalog(src: CatalogSources): Catalog {
  const discovered: DiscoveredModel[] = [];
  const hub = hubCacheDir(src.env);
  if (existsSync(hub)) discovered.push(...scanHubCache(hub));
  if (src.modelsDir) discovered.push(...scanModelsDir(path.resolve(src.modelsDir)));
  if (src.demoModelPath && !discovered.some((d) => d.id === DEMO_MODEL_ID)) {
    discovered.push({ id: DEMO_MODEL_ID, path: src.demoModelPath, source: "builtin" });
  }
  const presets = src.presetFile ? readPresetFile(path.resolve(src.presetFile)) : undefined;
  const catalog = buildCatalog({
    discovered,
    ...(presets ? { presets } : {}),
    cliOptions: src.cliOptions,
    ...(src.defaultTtlS !== undefined ? { defaultTtlS: src.defaultTtlS } : {}),
    ...(src.engine ? { engine: src.engine } : {}),
  });
  // `hf-repo = owner/repo:TAG` in a preset is served from the cache, never downloaded
  const cached = new Map(discovered.filter((d) => d.source === "cache").map((d) => [d.id, d]));
  for (const m of catalog.models) {
    if (m.path || !m.hfRepo) continue;
    const hit = cached.get(m.hfRepo) ?? cached.get(withTagUpper(m.hfRepo)) ?? defaultQuant(cached, m.hfRepo);
    if (hit) {
      m.path = hit.path;
      if (hit.mmproj && !m.mmproj) m.mmproj = hit.mmproj;
    }
  }
  return catalog;
}

function withTagUpper(repo: string): string {
  const i = repo.lastIndexOf(":");
  return i < 0 ? repo : repo.slice(0, i + 1) + repo.slice(i + 1).toUpperCase();
}

/** `owner/repo` without a tag: Q4_K_M as llama.cpp's -hf picks, else the first cached quantisation by name. */
function defaultQuant(cached: ReadonlyMap<string, DiscoveredModel>, repo: string): DiscoveredModel | undefined {
  if (repo.includes(":")) return undefined;
  const tags = [...cached.keys()].filter((id) => id.startsWith(`${repo}:`)).sort();
  const pick = tags.find((id) => id.endsWith(":Q4_K_M")) ?? tags[0];
  return pick ? cached.get(pick) : undefined;
}
