// The router's own Prometheus metrics (GET /metrics with --metrics; `?model=X` is still that model process's own).
// Names: corral_* for what the router does (requests, models, loads, unloads, memory), corral_router_* for the
// router process itself (prom-client's default metrics: CPU, memory, event loop, GC). Labels are bounded: model ids
// come from the catalog (never a name a client sent), status codes and endpoint groups are small fixed sets.
// Imported only with --metrics, so a router without it never loads prom-client.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { METRICS_GROUPS, metricsGroupOf } from "../http/endpoints.js";
import type { ModelEntry } from "./model-entry.js";
import type { ModelEvent, ModelEvents } from "./model-events.js";
import type { RequestObserver, RouterResponse } from "./request-log.js";

/** What the metrics read from the router: its events, and its model list (GET /models entries) at scrape time. */
export interface MetricsSource {
  readonly events: ModelEvents;
  list(): ModelEntry[];
}

export interface RouterMetrics extends RequestObserver {
  /** Where a layer above the router (the cluster) registers metrics of its own. */
  readonly registry: Registry;
  readonly contentType: string;
  render(): Promise<string>;
  close(): void;
}

const MODELS = METRICS_GROUPS.indexOf("models");
/** Each group's index into METRICS_GROUPS, as the counts key it. */
const GROUP_INDEX = new Map(METRICS_GROUPS.map((g, i) => [g, i]));

/** The endpoint group of a path, as an index into METRICS_GROUPS. */
function endpointOf(path: string): number {
  return GROUP_INDEX.get(metricsGroupOf(path))!;
}

/**
 * What the router counts of each request, per model ("" for requests routed to none). Kept in plain numbers and
 * handed to prom-client at scrape time: prom-client's inc() and observe() hash their label object and (observe)
 * turn every bucket bound into a string key on each call, about 3 µs a request on the proxy's hot path (measured
 * with --cpu-prof); these are a Map lookup and a few additions.
 */
interface ModelCounts {
  /** Requests by endpoint index * 1000 + status code. */
  requests: Map<number, number>;
  /** Routed requests' durations: per-bucket (not cumulative) counts, the last one past every bound. */
  buckets: number[];
  sum: number;
  count: number;
  promptTokens: number;
  completionTokens: number;
}

const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const LOAD_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600];

export function createRouterMetrics(source: MetricsSource): RouterMetrics {
  const register = new Registry();
  collectDefaultMetrics({ register, prefix: "corral_router_" });
  const registers = [register];

  const counts = new Map<string, ModelCounts>();
  new Counter({
    name: "corral_requests_total", help: "Requests answered by the router, by model (empty when none was routed to), endpoint group and status code (499: the client went away first).",
    labelNames: ["model", "endpoint", "status"] as const, registers,
    collect() {
      this.reset();
      for (const [model, c] of counts) {
        for (const [key, n] of c.requests) {
          this.inc({ model, endpoint: METRICS_GROUPS[Math.floor(key / 1000)]!, status: String(key % 1000) }, n);
        }
      }
    },
  });
  new Counter({
    name: "corral_request_tokens_total", help: "Tokens that answers reported in their usage (prompt or completion), by model.",
    labelNames: ["model", "kind"] as const, registers,
    collect() {
      this.reset();
      for (const [model, c] of counts) {
        if (c.promptTokens > 0) this.inc({ model, kind: "prompt" }, c.promptTokens);
        if (c.completionTokens > 0) this.inc({ model, kind: "completion" }, c.completionTokens);
      }
    },
  });

  // read from the model list at scrape time: always the router's current view, and models gone after a reload drop out
  let snapshot: ModelEntry[] = [];
  const models = (): ModelEntry[] => snapshot;
  const perModel = (name: string, help: string, value: (m: ModelEntry) => number) =>
    new Gauge({
      name, help, labelNames: ["model"] as const, registers,
      collect() {
        this.reset();
        for (const m of models()) {
          this.set({ model: m.id }, value(m));
        }
      },
    });
  perModel("corral_model_in_flight", "Requests a model is answering now.", (m) => m.in_flight);
  perModel("corral_model_waiting", "Requests waiting for a model (its load, room to load it, or its max-concurrent).", (m) => m.waiting);
  new Gauge({
    name: "corral_model_status", help: "1 for each model's current status (unloaded, loading, loaded, unloading), 0 for the others.",
    labelNames: ["model", "status"] as const, registers,
    collect() {
      this.reset();
      for (const m of models()) {
        for (const s of ["unloaded", "loading", "loaded", "unloading"]) this.set({ model: m.id, status: s }, s === m.status.value ? 1 : 0);
      }
    },
  });
  const memoryGauge = (name: string, help: string, which: "estimate" | "measured") =>
    new Gauge({
      name, help, labelNames: ["model", "kind"] as const, registers,
      collect() {
        this.reset();
        for (const m of models()) {
          const part = m.memory?.[which];
          if (!part) continue;
          for (const kind of ["ram", "vram"] as const) this.set({ model: m.id, kind }, part[kind]);
        }
      },
    });
  memoryGauge("corral_model_memory_estimate_bytes", "Memory a model is estimated to take when loaded (kind: ram, vram), before it loads.", "estimate");
  memoryGauge("corral_model_memory_measured_bytes", "Memory a loaded model's process takes, as measured (kind: ram, vram).", "measured");

  const loads = new Counter({
    name: "corral_model_loads_total", help: "Model loads that ended, by outcome: loaded, failed (the process exited first), aborted (stopped while loading).",
    labelNames: ["model", "outcome"] as const, registers,
  });
  const loadDuration = new Histogram({
    name: "corral_model_load_duration_seconds", help: "Time from a model process's start to its readiness (or to the end of a load that did not finish), by model and outcome.",
    labelNames: ["model", "outcome"] as const, buckets: LOAD_BUCKETS, registers,
  });
  const unloads = new Counter({
    name: "corral_model_unloads_total", help: "Running models stopped by the router, by cause: lru, memory, ttl (evictions), unload (asked), reload, wedged, shutdown.",
    labelNames: ["model", "cause"] as const, registers,
  });
  const crashes = new Counter({
    name: "corral_model_crashes_total", help: "Model processes that died on their own (a crash, a signal, the OOM killer).",
    labelNames: ["model"] as const, registers,
  });
  const cooldowns = new Counter({
    name: "corral_model_cooldowns_total", help: "Failures after which a model refuses requests for a while (its back-off).",
    labelNames: ["model"] as const, registers,
  });

  // a load runs from its first "loading" event (later ones carry progress) to "loaded", or to "unloaded" if it failed
  const loadingSince = new Map<string, { t0: number; stopping: boolean }>();
  const onEvent = (ev: ModelEvent) => {
    const model = ev.model;
    const d = ev.data;
    switch (d.status) {
      case "loading":
        if (!loadingSince.has(model)) loadingSince.set(model, { t0: performance.now(), stopping: false });
        break;
      case "loaded": {
        const l = loadingSince.get(model);
        loadingSince.delete(model);
        if (l) endLoad(model, l.t0, "loaded");
        break;
      }
      case "unloading": {
        const l = loadingSince.get(model);
        if (l) l.stopping = true;
        unloads.inc({ model, cause: d.cause ?? "unknown" });
        break;
      }
      case "unloaded": {
        const l = loadingSince.get(model);
        loadingSince.delete(model);
        if (l) endLoad(model, l.t0, l.stopping ? "aborted" : "failed");
        if (d.crashed) crashes.inc({ model });
        if (d.cooldown_s !== undefined && d.cooldown_s > 0) cooldowns.inc({ model });
        break;
      }
    }
  };
  const endLoad = (model: string, t0: number, outcome: string) => {
    loads.inc({ model, outcome });
    loadDuration.observe({ model, outcome }, (performance.now() - t0) / 1000);
  };
  const off = source.events.subscribe(onEvent);

  const countsOf = (model: string): ModelCounts => {
    let c = counts.get(model);
    if (!c) {
      c = { requests: new Map(), buckets: new Array<number>(REQUEST_BUCKETS.length + 1).fill(0), sum: 0, count: 0, promptTokens: 0, completionTokens: 0 };
      counts.set(model, c);
    }
    return c;
  };

  return {
    registry: register,
    contentType: register.contentType,
    request(res: RouterResponse, status: number, durationMs: number) {
      const c = countsOf(res.model ?? "");
      const endpoint = endpointOf(res.routePath);
      const key = endpoint * 1000 + (status > 0 && status < 1000 ? status : 0);
      c.requests.set(key, (c.requests.get(key) ?? 0) + 1);
      // the router's own requests about a model (a load with wait, an unload) are not answers from it
      if (res.model === undefined || endpoint === MODELS) return;
      const seconds = durationMs / 1000;
      let i = 0;
      while (i < REQUEST_BUCKETS.length && seconds > REQUEST_BUCKETS[i]!) i++;
      c.buckets[i]!++;
      c.sum += seconds;
      c.count++;
      if (res.promptTokens > 0) c.promptTokens += res.promptTokens;
      if (res.completionTokens > 0) c.completionTokens += res.completionTokens;
    },
    async render() {
      snapshot = source.list();
      try {
        return (await register.metrics()) + "\n" + durationText(counts);
      } finally {
        snapshot = [];
      }
    },
    close() {
      off();
      register.clear();
    },
  };
}

const DURATION = "corral_request_duration_seconds";

/** The request duration histogram in the text format (prom-client's own histogram is what the hot path avoids). */
function durationText(counts: ReadonlyMap<string, ModelCounts>): string {
  const lines = [
    `# HELP ${DURATION} Time from a routed request's arrival to the end of its answer (waiting and loading included), by model.`,
    `# TYPE ${DURATION} histogram`,
  ];
  for (const [model, c] of counts) {
    if (model === "") continue;
    const m = `model="${escapeLabel(model)}"`;
    let acc = 0;
    REQUEST_BUCKETS.forEach((bound, i) => {
      acc += c.buckets[i]!;
      lines.push(`${DURATION}_bucket{le="${bound}",${m}} ${acc}`);
    });
    lines.push(`${DURATION}_bucket{le="+Inf",${m}} ${c.count}`, `${DURATION}_sum{${m}} ${c.sum}`, `${DURATION}_count{${m}} ${c.count}`);
  }
  return lines.join("\n") + "\n";
}

/** A label value in the text format: backslash, double quote and line feed escaped. */
function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
