import { ACCEPTED_UNIMPLEMENTED, DEFAULTS, OPTIONS, type OptionSpec, type ServerOptions } from "./options.js";
import { closeMatches, editDistance } from "../util/suggest.js";

/** A command-line mistake: reported as one line on stderr, exit code 2. */
export class CliError extends Error {}

export interface ParseResult {
  options: ServerOptions;
  /** One line each, for flags accepted but not implemented. */
  warnings: string[];
  /** Keys given explicitly on the command line or in the environment. */
  explicit: Set<keyof ServerOptions>;
  /** Keys given on the command line (not by environment): a router passes these to its models over their presets. */
  fromArgv: Set<keyof ServerOptions>;
  /**
   * llama-server flags corral's table does not implement, as given (flag and values): a router hands them verbatim
   * to its llama-server children.
   */
  passthrough: string[];
}

const BY_NAME = new Map<string, { spec: OptionSpec; negated: boolean }>();
for (const spec of OPTIONS) {
  for (const n of spec.names) BY_NAME.set(n, { spec, negated: false });
  for (const n of spec.negNames ?? []) BY_NAME.set(n, { spec, negated: true });
}

const TRUE_WORDS = new Set(["1", "true", "on", "enabled", "yes"]);
const FALSE_WORDS = new Set(["0", "false", "off", "disabled", "no"]);

export function parseBool(raw: string, where: string): boolean {
  const v = raw.trim().toLowerCase();
  if (TRUE_WORDS.has(v)) return true;
  if (FALSE_WORDS.has(v)) return false;
  throw new CliError(`${where}: expected a boolean (true/false, on/off, 1/0), got '${raw}'`);
}

/** Converts one raw value for an option, checking type, range, choices and the option's own format. */
export function convertValue(spec: OptionSpec, raw: string, where: string): unknown {
  const value = convertType(spec, raw, where);
  if (spec.check) {
    for (const item of Array.isArray(value) ? (value as string[]) : [raw]) {
      try {
        spec.check(item);
      } catch (err) {
        throw new CliError(`${where}: ${(err as Error).message}`);
      }
    }
  }
  return value;
}

function convertType(spec: OptionSpec, raw: string, where: string): unknown {
  switch (spec.type) {
    case "bool":
      return parseBool(raw, where);
    case "int":
    case "float": {
      const s = raw.trim();
      const n = Number(s);
      if (s === "" || !Number.isFinite(n) || (spec.type === "int" && !Number.isInteger(n))) {
        throw new CliError(`${where}: expected ${spec.type === "int" ? "an integer" : "a number"}, got '${raw}'`);
      }
      if (spec.min !== undefined && n < spec.min) throw new CliError(`${where}: must be >= ${spec.min}, got ${n}`);
      if (spec.max !== undefined && n > spec.max) throw new CliError(`${where}: must be <= ${spec.max}, got ${n}`);
      return n;
    }
    case "size": {
      const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*$/i.exec(raw);
      if (!m) throw new CliError(`${where}: expected a size in bytes (e.g. 8m, 512k, 1048576), got '${raw}'`);
      const unit = (m[2] ?? "").toLowerCase();
      const n = Math.floor(Number(m[1]) * (unit === "k" ? 1024 : unit === "m" ? 1024 ** 2 : unit === "g" ? 1024 ** 3 : 1));
      if (spec.min !== undefined && n < spec.min) throw new CliError(`${where}: must be at least ${spec.min} bytes, got ${n}`);
      return n;
    }
    case "list":
      return raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
    case "strings":
      return [raw];
    case "string":
      if (spec.choices && !spec.choices.includes(raw)) {
        throw new CliError(`${where}: must be one of ${spec.choices.join(", ")}, got '${raw}'`);
      }
      return raw;
  }
}

/**
 * Parses argv (without node and script) and the environment. Precedence, as llama.cpp: command line > environment >
 * defaults. Unknown flags are an error; llama-server flags corral does not implement are a warning.
 */
export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParseResult {
  const values: Record<string, unknown> = { ...DEFAULTS };
  const explicit = new Set<keyof ServerOptions>();
  const fromArgv = new Set<keyof ServerOptions>();
  const warnings: string[] = [];
  const passthrough: string[] = [];

  for (const spec of OPTIONS) {
    const raw = spec.env ? env[spec.env] : undefined;
    if (raw === undefined || raw === "") continue;
    values[spec.key] = convertValue(spec, raw, `environment variable ${spec.env}`);
    explicit.add(spec.key);
    if (spec.deprecated) warnings.push(`${spec.env}: ${spec.deprecated}`);
  }

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    const found = BY_NAME.get(name);
    if (!found) {
      const arity = ACCEPTED_UNIMPLEMENTED[name];
      if (arity === undefined) {
        throw new CliError(arg.startsWith("-") ? `unknown argument: ${name}${didYouMean(name)}` : `unexpected argument: ${arg}`);
      }
      const skip = inline !== undefined ? 0 : arity;
      if (i + skip > argv.length - 1) throw new CliError(`${name}: expected a value`);
      passthrough.push(...argv.slice(i, i + skip + 1));
      i += skip;
      warnings.push(ignoredFlagWarning(name));
      continue;
    }
    const { spec, negated } = found;
    if (spec.type === "bool") {
      values[spec.key] = inline !== undefined ? parseBool(inline, name) !== negated : !negated;
    } else {
      let raw = inline;
      if (raw === undefined) {
        if (i + 1 >= argv.length) throw new CliError(`${name}: expected a value (${spec.valueName ?? "VALUE"})`);
        raw = argv[++i]!;
      }
      const next = argv[i + 1];
      if (spec.pairsWithNext?.(raw) && next !== undefined && next.trim() !== "" && Number.isFinite(Number(next))) raw = `${raw}:${argv[++i]!}`;
      const value = convertValue(spec, raw, name);
      // a repeatable flag adds to what earlier occurrences gave, but not to an environment variable's value
      const earlier = spec.repeat && fromArgv.has(spec.key) ? (values[spec.key] as unknown[]) : [];
      values[spec.key] = spec.repeat ? [...earlier, ...(value as unknown[])] : value;
    }
    explicit.add(spec.key);
    fromArgv.add(spec.key);
    if (spec.deprecated) warnings.push(`${name}: ${spec.deprecated}`);
  }
  return { options: values as unknown as ServerOptions, warnings, explicit, fromArgv, passthrough };
}

/** "; did you mean --models-dir?" for a mistyped flag, from every spelling corral accepts (empty when none is close). */
export function didYouMean(flag: string): string {
  // compared without the dashes, which would make every long flag look alike; short flags (-c, -np) are left out,
  // being within an edit or two of too many others
  const bare = (n: string) => n.replace(/^-+/, "");
  const names = [...BY_NAME.keys(), ...Object.keys(ACCEPTED_UNIMPLEMENTED)].filter((n) => n.startsWith("--"));
  const close = closeMatches(bare(flag), names.map(bare), 5);
  if (close.length === 0) return "";
  // only the closest: `--model-dir` is one edit from --models-dir, and merely contains --model
  const dist = close.map((n) => editDistance(bare(flag), n));
  const best = Math.min(...dist);
  const pick = close.filter((_, i) => dist[i] === best).slice(0, 2);
  return `; did you mean ${pick.map((n) => `--${n}`).join(" or ")}?`;
}

/** The one-line warning for a llama-server flag corral accepts but its built-in engine does not implement. */
export function ignoredFlagWarning(name: string): string {
  return `corral's built-in engine ignores ${name}; the llama-server engine (--engine llama-server) supports it ` +
    "(a router passes it to its llama-server models as given)";
}
