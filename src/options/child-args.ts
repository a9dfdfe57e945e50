// Renders options back into a model process's command line, from the same table that parsed them. The router uses
// it for every child it starts (and shows the result in /models as status.args), so a preset key, an environment
// variable and a flag all reach the child the same way.
import { OPTIONS, type ModelOptions, type ServerOptions } from "./options.js";

/** Long spelling of each option: the table lists it last. */
export function longName(names: readonly string[]): string {
  return names[names.length - 1]!;
}

/**
 * Command-line arguments for the model options that are set. Router-only options are skipped; a false boolean
 * becomes its negative spelling, or is left out when the flag has none (false is then its default).
 */
export function renderChildArgs(options: Partial<ModelOptions>, engine: "node" | "llama-server" = "node"): string[] {
  const args: string[] = [];
  for (const spec of OPTIONS) {
    if (spec.routerOnly || (spec.corralOnly && engine !== "node")) continue;
    const v = (options as Record<string, unknown>)[spec.key];
    if (v === undefined) continue;
    if (spec.type === "bool") {
      if (v) args.push(longName(spec.names));
      else if (spec.negNames) args.push(longName(spec.negNames));
      continue;
    }
    // one flag per value where a value may hold commas (-r ", "); a comma-joined list otherwise
    if (spec.type === "strings") for (const one of v as string[]) args.push(longName(spec.names), one);
    else args.push(longName(spec.names), Array.isArray(v) ? v.join(",") : String(v));
  }
  return args;
}

/**
 * The model options given on the router's command line: they go to every child over its preset, as in llama.cpp.
 * (Options set by LLAMA_ARG_* variables reach children through their inherited environment instead, below presets.)
 */
export function modelOptionsFrom(options: ServerOptions, explicit: ReadonlySet<keyof ServerOptions>): Partial<ModelOptions> {
  const out: Record<string, unknown> = {};
  for (const spec of OPTIONS) {
    if (spec.routerOnly || !explicit.has(spec.key)) continue;
    out[spec.key] = (options as unknown as Record<string, unknown>)[spec.key];
  }
  return out as Partial<ModelOptions>;
}

/** Environment variables of router-only options: a child must not see them (it would, e.g., demand the API key). */
export const ROUTER_ONLY_ENV: readonly string[] = OPTIONS.filter((o) => o.routerOnly && o.env).map((o) => o.env!);
