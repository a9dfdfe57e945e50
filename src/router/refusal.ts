// Why the scheduler refused a request, in its own words: no HTTP here. Each API dialect turns a refusal into its
// own status code and error body at the edge (src/router/refusal-http.ts for the OpenAI / llama.cpp shape).
import { closeMatches } from "../util/suggest.js";

export type Refusal =
  /** `known`: the catalog's models, for a message that names the close matches. */
  | { kind: "unknown-model"; model: string; known?: ReadonlyArray<{ id: string; aliases: readonly string[] }> }
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
  /** Its memory estimate exceeds the budget even with every other model unloaded: it can never load here. */
  | { kind: "too-big"; model: string; need: { ram: number; vram: number }; budget: { ram?: number; vram?: number } }
  /** The memory it needs is held by pinned models (and what is left is not enough). */
  | { kind: "pinned-memory"; model: string; need: { ram: number; vram: number }; budget: { ram?: number; vram?: number } }
  | { kind: "shutting-down" };

/** Everything the router's core refuses with: the scheduler's refusals, and the router's own. */
export type RouterError =
  | Refusal
  /** The client went away while its request waited for the model. */
  | { kind: "client-gone"; model: string }
  /** Granted, but the model has no connection (its process ended in that instant). */
  | { kind: "unreachable"; model: string; retryAfterS: number }
  | { kind: "already-running"; model: string }
  | { kind: "not-running"; model: string }
  /** A load waited for (POST /models/load with wait) ended without the model loaded. */
  | { kind: "load-ended"; model: string; reason: string }
  /** A rescan of the models failed; the previous catalog is kept. */
  | { kind: "reload-failed"; reason: string };

/** How the router's core rejects: a value the HTTP edge turns into its dialect's status and shape. */
export class Refused extends Error {
  constructor(readonly why: RouterError) {
    super(describeRefusal(why));
  }
}

/** One sentence for a person, the same in every dialect. */
export function describeRefusal(r: RouterError): string {
  switch (r.kind) {
    case "unknown-model":
      return r.known ? unknownModelMessage(r.model, r.known) : `model '${r.model}' not found`;
    case "gone":
      return `model '${r.model}' is no longer available`;
    case "not-loaded":
      return `model '${r.model}' is not loaded, and autoload is off for this request (--no-models-autoload or ?autoload=false): ` +
        `load it first with POST /models/load {"model":"${r.model}"}`;
    case "load-failed":
    case "cooling-down":
      return `model '${r.model}' failed to load: ${r.reason}`;
    case "busy":
      return `model '${r.model}' is at its limit of ${r.limit} concurrent requests`;
    case "queue-full":
      return `too many requests waiting (${r.max})`;
    case "pinned-full":
      return `cannot load '${r.model}': all ${r.modelsMax} model slots are held by pinned models`;
    case "too-big":
      return `cannot load '${r.model}': its memory estimate (${memoryText(r.need)}) is larger than the models' budget (${budgetText(r.budget)}) even with every other model unloaded; raise --models-memory / --models-vram, or give it a smaller context (-c) or cache type`;
    case "pinned-memory":
      return `cannot load '${r.model}': it needs ${memoryText(r.need)} and pinned models hold too much of the budget (${budgetText(r.budget)})`;
    case "shutting-down":
      return "the router is shutting down";
    case "client-gone":
      return "the client went away while waiting for the model";
    case "unreachable":
      return `model '${r.model}' is not reachable`;
    case "already-running":
      return `model '${r.model}' is already running`;
    case "not-running":
      return `model '${r.model}' is not running`;
    case "load-ended":
      return `model '${r.model}' failed to load: ${r.reason || "the process was stopped"}`;
    case "reload-failed":
      return `reload failed, the previous models are kept: ${r.reason}`;
  }
}

/** Models the message lists in full when there are this many at most; past it only the close matches. */
const LIST_ALL_MAX = 10;

/**
 * "model 'alhpa' not found", with what the client may have meant: the close matches among ids and aliases, or every
 * id when there are few, so that a typo is fixed without a trip to GET /v1/models.
 */
export function unknownModelMessage(model: string, known: ReadonlyArray<{ id: string; aliases: readonly string[] }>): string {
  const head = `model '${model}' not found`;
  if (known.length === 0) return `${head}: no models are available`;
  const close = closeMatches(model, known.flatMap((m) => [m.id, ...m.aliases]));
  const quote = (names: readonly string[]) => names.map((n) => `'${n}'`).join(", ");
  if (known.length <= LIST_ALL_MAX) {
    const all = `available: ${quote(known.map((m) => m.id))}`;
    return close.length > 0 ? `${head}; did you mean ${quote(close)}? (${all})` : `${head}; ${all}`;
  }
  return close.length > 0
    ? `${head}; did you mean ${quote(close)}?`
    : `${head}, nor anything like it among ${known.length} models (GET /v1/models lists them)`;
}

/** Seconds after which trying again makes sense, where the refusal says so. */
export function retryAfterOf(r: RouterError): number | undefined {
  return "retryAfterS" in r ? r.retryAfterS : undefined;
}

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
/** Bytes for a person: "3.2 GiB", "512 MiB". */
export function bytesText(n: number): string {
  return n >= GIB ? `${(n / GIB).toFixed(1)} GiB` : `${Math.round(n / MIB)} MiB`;
}

function memoryText(m: { ram: number; vram: number }): string {
  return m.vram > 0 ? `${bytesText(m.ram)} RAM + ${bytesText(m.vram)} VRAM` : `${bytesText(m.ram)} RAM`;
}

function budgetText(b: { ram?: number; vram?: number }): string {
  const parts = [];
  if (b.ram !== undefined) parts.push(`${bytesText(b.ram)} RAM`);
  if (b.vram !== undefined) parts.push(`${bytesText(b.vram)} VRAM`);
  return parts.join(" + ") || "none";
}
