// Why the scheduler refused a request, in its own words: no HTTP here. Each API dialect turns a refusal into its
// own status code and error body at the edge (src/router/refusal-http.ts for the OpenAI / llama.cpp shape).
export type Refusal =
  | { kind: "unknown-model"; model: string }
  /** The model left the catalog (reload) while the request waited for it. */
  | { kind: "gone"; model: string }
  /** Autoload is off (flag or ?autoload=false) and the model is not running. */
  | { kind: "not-loaded"; model: string }
  /** The load this request waited for failed. */
  | { kind: "load-failed"; model: string; reason: string; retryAfterS: number }
  /** A recent load failed; it is not tried again before the cool-down ends. */
  | { kind: "cooling-down"; model: string; reason: string; retryAfterS: number }
  /** The model's max-concurrent requests are in flight. */
  | { kind: "busy"; model: string; limit: number; retryAfterS: number }
  | { kind: "queue-full"; max: number; retryAfterS: number }
  /** Every model slot is held by pinned models: room will never appear. */
  | { kind: "pinned-full"; model: string; modelsMax: number }
  | { kind: "shutting-down" };

/** One sentence for a person, the same in every dialect. */
export function describeRefusal(r: Refusal): string {
  switch (r.kind) {
    case "unknown-model":
      return `model '${r.model}' not found`;
    case "gone":
      return `model '${r.model}' is no longer available`;
    case "not-loaded":
      return "model is not loaded";
    case "load-failed":
    case "cooling-down":
      return `model '${r.model}' failed to load: ${r.reason}`;
    case "busy":
      return `model '${r.model}' is at its limit of ${r.limit} concurrent requests`;
    case "queue-full":
      return `too many requests waiting (${r.max})`;
    case "pinned-full":
      return `cannot load '${r.model}': all ${r.modelsMax} model slots are held by pinned models`;
    case "shutting-down":
      return "the router is shutting down";
  }
}

/** Seconds after which trying again makes sense, where the refusal says so. */
export function retryAfterOf(r: Refusal): number | undefined {
  return "retryAfterS" in r ? r.retryAfterS : undefined;
}
