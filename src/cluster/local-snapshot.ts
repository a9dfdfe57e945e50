// This node's part of the cluster's state, read from the local router: its catalog with each model's memory
// estimate, the models it runs with their in-flight and waiting counts, and its memory budgets with what the
// running models' estimates leave free. Asked for on every heartbeat and every routing choice, so it is kept for a
// moment and worked out again only when a model's status changed or that moment has passed.
import type { Router } from "../router/router.js";
import type { CatalogEntry, LocalSnapshot, MemoryPool, NodeModel } from "./node-state.js";

/** In-flight counts change with every request; a routing choice may see them this much late. */
const FRESH_MS = 100;

export function localSnapshot(router: Router): { get(): LocalSnapshot; invalidate(): void } {
  let cached: LocalSnapshot | undefined;
  let at = 0;
  return {
    get() {
      const now = performance.now();
      if (!cached || now - at > FRESH_MS) {
        cached = read(router);
        at = now;
      }
      return cached;
    },
    invalidate() {
      cached = undefined;
    },
  };
}

function read(router: Router): LocalSnapshot {
  const catalog: Record<string, CatalogEntry> = {};
  const models: Record<string, NodeModel> = {};
  let ram = 0;
  let vram = 0;
  for (const spec of router.catalog.models) {
    const m = router.inspect(spec.id);
    if (!m) continue;
    const estimate = router.memoryEstimate(spec.id);
    catalog[spec.id] = {
      ...(estimate ? { ram: estimate.ram, vram: estimate.vram } : {}),
      ...(spec.aliases.length > 0 ? { aliases: [...spec.aliases] } : {}),
      ...(spec.replicas !== undefined ? { replicas: spec.replicas } : {}),
      source: spec.source,
    };
    const state = m.view.state;
    if (state === "unloaded") continue;
    ram += estimate?.ram ?? 0;
    vram += estimate?.vram ?? 0;
    const slots = m.child?.facts["slots"];
    models[spec.id] = {
      status: state === "stopping" ? "unloading" : state,
      inFlight: m.view.inFlight,
      waiting: m.view.waiting,
      slots: typeof slots === "number" && slots >= 1 ? slots : Math.max(1, spec.options.parallel ?? 1),
    };
  }
  const { modelsMax, memoryBudget } = router.limits;
  const pool = (budget: number | undefined, used: number): MemoryPool | undefined => (budget !== undefined ? { budget, free: budget - used } : undefined);
  const ramPool = pool(memoryBudget?.ram, ram);
  const vramPool = pool(memoryBudget?.vram, vram);
  return { modelsMax, catalog, models, memory: { ...(ramPool ? { ram: ramPool } : {}), ...(vramPool ? { vram: vramPool } : {}) } };
}
