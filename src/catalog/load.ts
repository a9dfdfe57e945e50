// Reads every source of models (the --models-dir folder, the Hugging Face cache, the presets file, the demo model)
// into one catalog. Used at start-up and again by GET /models?reload=1.
import { existsSync } from "node:fs";
import path from "node:path";
import type { EngineChoice, ModelOptions } from "../options/options.js";
import { buildCatalog, type Catalog } from "./catalog.js";
import { hubCacheDir, scanHubCache, scanModelsDir, type DiscoveredModel } from "./discover.js";
import { HfResolveError, parseHfRef, resolveCachedModel } from "../hf/cache.js";
import { readPresetFile } from "./presets.js";
import { DEMO_MODEL_ID, type DemoModel } from "./demo-model.js";

export interface CatalogSources {
  modelsDir?: string;
  presetFile?: string;
  /** The generated demo model, served when the user named no folder and no presets file. */
  /** The generated demo models (`npm start` with no folder or presets). */
  demoModels?: readonly DemoModel[];
  env: NodeJS.ProcessEnv;
  /** Model options from the router's command line (they win over presets). */
  cliOptions: Partial<ModelOptions>;
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
  for (const demo of src.demoModels ?? []) {
    if (!discovered.some((d) => d.id === demo.id)) discovered.push({ id: demo.id, path: demo.path, source: "builtin" });
  }
  const presets = src.presetFile ? readPresetFile(path.resolve(src.presetFile)) : undefined;
  const catalog = buildCatalog({
    discovered,
    ...(presets ? { presets } : {}),
    cliOptions: src.cliOptions,
    ...(src.defaultTtlS !== undefined ? { defaultTtlS: src.defaultTtlS } : {}),
    ...(src.engine ? { engine: src.engine } : {}),
  });
  // `hf-repo = owner/repo:TAG` in a preset is served from the cache, picked as llama-server's -hf picks
  for (const m of catalog.models) {
    if (m.path || !m.hfRepo) continue;
    try {
      const hit = resolveCachedModel(parseHfRef(m.hfRepo, m.hfFile), hub);
      m.path = hit.path;
      if (hit.mmproj && !m.mmproj) m.mmproj = hit.mmproj;
    } catch (err) {
      if (!(err instanceof HfResolveError)) throw err;
      m.hfError = err.message;
    }
  }
  return catalog;
}
