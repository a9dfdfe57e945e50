// The `--models-preset` INI file. Keys are any spelling of an option without dashes, or its LLAMA_ARG_* name, with
// underscores accepted as dashes (llama.cpp rejects `top_p`; its users asked for it); values are
// converted and checked by the same options table as the command line. Mistakes stop start-up with file:line.
import { readFileSync } from "node:fs";
import { constants as osConstants } from "node:os";
import path from "node:path";
import { ACCEPTED_UNIMPLEMENTED, OPTIONS, type ModelOptions, type OptionSpec } from "../options/options.js";
import { convertValue, parseBool, CliError } from "../options/parse.js";
import { parseBudget, type Budget } from "../options/value-formats.js";

export class PresetError extends Error {}

const osSignals = osConstants.signals;

/** Keys that exist only in presets (never command-line flags of a model process). */
export interface PresetExtras {
  model?: string;
  mmproj?: string;
  hfRepo?: string;
  /** `hf-file`: an exact file inside hfRepo. */
  hfFile?: string;
  loadOnStartup?: boolean;
  stopTimeoutS?: number;
  aliases?: string[];
  tags?: string[];
  ttlS?: number;
  pin?: boolean;
  maxConcurrent?: number;
  /** In a cluster: copies of the model the nodes may run at once when every copy is busy. */
  replicas?: number;
  env?: Record<string, string>;
  /** auto | node | llama-server */
  engine?: string;
  /** The llama-server binary for this model. */
  llamaServer?: string;
  /** Any OpenAI-compatible server's command line, with ${PORT} ${HOST} ${MODEL} ${MODEL_ID} macros. */
  cmd?: string;
  /** Where requests go: a cmd's URL (default http://127.0.0.1:${PORT}), or a remote server when there is no cmd. */
  proxy?: string;
  /** Path polled until it answers 200 (cmd and remote; default /health). */
  health?: string;
  stopSignal?: NodeJS.Signals;
  /** The key a remote server wants (sent as a bearer token). */
  apiKey?: string;
  /** `memory`: the RAM the model takes, in bytes, where corral cannot estimate it (cmd, remote) or should not. */
  memoryBytes?: number;
}

/** A key corral's table does not know: handed verbatim to llama-server children, refused for node ones. */
export interface PassthroughKey {
  /** The flag as llama-server spells it, e.g. --cache-type-k or -ctk. */
  args: string[];
  /** True when llama-server is known to take it (corral's list of its flags). */
  known: boolean;
  where: string;
  key: string;
}

export interface PresetSection {
  name: string;
  line: number;
  options: Partial<ModelOptions>;
  extras: PresetExtras;
  passthrough: PassthroughKey[];
  /** LLAMA_ARG_* keys corral does not know: they reach the model's process as environment variables. */
  argEnv: Record<string, string>;
}

export interface PresetFile {
  file: string;
  global?: PresetSection;
  models: PresetSection[];
}

type ExtraKey = keyof PresetExtras;
const EXTRA_KEYS: Record<string, { key: ExtraKey; type: "path" | "string" | "bool" | "seconds" | "count" | "list" | "env" | "engine" | "url" | "signal" | "size" }> = {
  model: { key: "model", type: "path" },
  m: { key: "model", type: "path" },
  mmproj: { key: "mmproj", type: "path" },
  "hf-repo": { key: "hfRepo", type: "string" },
  hf: { key: "hfRepo", type: "string" },
  "hf-file": { key: "hfFile", type: "string" },
  hff: { key: "hfFile", type: "string" },
  "load-on-startup": { key: "loadOnStartup", type: "bool" },
  "stop-timeout": { key: "stopTimeoutS", type: "seconds" },
  alias: { key: "aliases", type: "list" },
  a: { key: "aliases", type: "list" },
  tags: { key: "tags", type: "list" },
  ttl: { key: "ttlS", type: "seconds" },
  pin: { key: "pin", type: "bool" },
  "max-concurrent": { key: "maxConcurrent", type: "count" },
  replicas: { key: "replicas", type: "count" },
  env: { key: "env", type: "env" },
  engine: { key: "engine", type: "engine" },
  "llama-server": { key: "llamaServer", type: "path" },
  cmd: { key: "cmd", type: "string" },
  proxy: { key: "proxy", type: "url" },
  health: { key: "health", type: "string" },
  "stop-signal": { key: "stopSignal", type: "signal" },
  "api-key": { key: "apiKey", type: "string" },
  memory: { key: "memoryBytes", type: "size" },
};

const ENGINES = ["auto", "node", "llama-server"];

/** Options a preset may not set: the router owns them for every model process. */
const RESERVED = new Set(OPTIONS.filter((o) => o.routerOnly).map((o) => o.key));

const OPTION_KEYS = new Map<string, OptionSpec>();
for (const spec of OPTIONS) {
  for (const n of [...spec.names, ...(spec.negNames ?? [])]) OPTION_KEYS.set(n.replace(/^-+/, ""), spec);
  if (spec.env) OPTION_KEYS.set(spec.env.toLowerCase().replace(/_/g, "-"), spec);
}

/** Every key a preset section takes by name (option spellings without dashes, and the router's own keys). */
export function presetKeyNames(): string[] {
  return [...OPTION_KEYS.keys(), ...Object.keys(EXTRA_KEYS)].filter((k) => !k.startsWith("llama-arg-"));
}

const normalizeKey = (k: string) => k.trim().toLowerCase().replace(/_/g, "-");

export function readPresetFile(file: string): PresetFile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new PresetError(`cannot read --models-preset '${file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parsePresets(text, file);
}

export function parsePresets(text: string, file: string): PresetFile {
  const dir = path.dirname(path.resolve(file));
  const result: PresetFile = { file, models: [] };
  let current: PresetSection | undefined;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const where = `${file}:${lineNo}`;
    const line = stripComment(raw).trim();
    if (line === "") return;
    const header = /^\[\s*([^\]]*?)\s*\]$/.exec(line);
    if (header) {
      const name = header[1]!;
      if (name === "") throw new PresetError(`${where}: empty section name`);
      const existing = name === "*" ? result.global : result.models.find((s) => s.name === name);
      if (existing) throw new PresetError(`${where}: section [${name}] appears twice (first at line ${existing.line})`);
      current = { name, line: lineNo, options: {}, extras: {}, passthrough: [], argEnv: {} };
      if (name === "*") result.global = current;
      else result.models.push(current);
      return;
    }
    const eq = line.indexOf("=");
    if (eq <= 0) throw new PresetError(`${where}: expected 'key = value' or '[section]', got '${line}'`);
    const rawKey = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (!current) {
      if (normalizeKey(rawKey) === "version") return; // llama.cpp's reserved header key
      throw new PresetError(`${where}: key '${rawKey}' is outside any [section]`);
    }
    applyKey(current, rawKey, value, where, dir);
  });
  return result;
}

/**
 * A key corral's options table does not know, as llama-server arguments. The arity comes from corral's list of
 * llama-server flags where the key is there; otherwise a true/false value makes it a switch.
 */
function passthroughKey(key: string, value: string, where: string): PassthroughKey {
  const flag = [`--${key}`, `-${key}`].find((f) => ACCEPTED_UNIMPLEMENTED[f] !== undefined);
  const arity = flag ? ACCEPTED_UNIMPLEMENTED[flag]! : undefined;
  const name = flag ?? (key.length > 3 ? `--${key}` : `-${key}`);
  const v = value.toLowerCase();
  // with the arity unknown, only words make a switch: `n-foo = 1` is more likely a number than a flag
  const bool = TRUTHY.has(v) && (arity === 0 || !/^\d+$/.test(v)) ? true : FALSY.has(v) && (arity === 0 || !/^\d+$/.test(v)) ? false : undefined;
  let args: string[];
  if (arity === 0 || (arity === undefined && bool !== undefined)) {
    if (bool === false) args = key.startsWith("no-") ? [`--${key.slice(3)}`] : [`--no-${key}`];
    else args = [name];
  } else if (arity === 2) args = [name, ...value.split(/\s+/)];
  else args = [name, value];
  return { args, known: flag !== undefined, where, key };
}

const TRUTHY = new Set(["1", "true", "on", "enabled", "yes"]);
const FALSY = new Set(["0", "false", "off", "disabled", "no"]);

/** `;` or `#` at the start of a line or after white space starts a comment, so values may still contain them. */
function stripComment(line: string): string {
  const m = /(^|\s)[;#]/.exec(line);
  return m ? line.slice(0, m.index) : line;
}

function applyKey(section: PresetSection, rawKey: string, value: string, where: string, dir: string): void {
  const key = normalizeKey(rawKey);
  const extra = EXTRA_KEYS[key];
  const e = section.extras as Record<string, unknown>;
  try {
    if (extra) {
      switch (extra.type) {
        case "path":
          e[extra.key] = path.resolve(dir, value);
          return;
        case "string":
          e[extra.key] = value;
          return;
        case "bool":
          e[extra.key] = parseBool(value, `'${rawKey}'`);
          return;
        case "seconds": {
          const n = Number(value);
          if (value === "" || !Number.isFinite(n) || n < 0) throw new CliError(`'${rawKey}' must be a number of seconds >= 0, got '${value}'`);
          e[extra.key] = n;
          return;
        }
        case "count": {
          const n = Number(value);
          if (!Number.isInteger(n) || n < 1) throw new CliError(`'${rawKey}' must be a whole number >= 1, got '${value}'`);
          e[extra.key] = n;
          return;
        }
        case "list":
          e[extra.key] = value.split(",").map((s) => s.trim()).filter(Boolean);
          return;
        case "env": {
          const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(value);
          if (!m) throw new CliError(`'env' must be KEY=VALUE, got '${value}'`);
          section.extras.env = { ...section.extras.env, [m[1]!]: m[2]! };
          return;
        }
        case "engine":
          if (!ENGINES.includes(value)) throw new CliError(`'${rawKey}' must be one of ${ENGINES.join(", ")}, got '${value}'`);
          e[extra.key] = value;
          return;
        case "url":
          try {
            const u = new URL(value.replace(/\$\{PORT\}/g, "1"));
            if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error();
          } catch {
            throw new CliError(`'${rawKey}' must be an http:// or https:// URL, got '${value}'`);
          }
          e[extra.key] = value;
          return;
        case "signal":
          if (!/^SIG[A-Z0-9]+$/.test(value) || !(value in osSignals)) throw new CliError(`'${rawKey}' must be a signal name such as SIGTERM or SIGINT, got '${value}'`);
          e[extra.key] = value;
          return;
        case "size": {
          let b: Budget;
          try {
            b = parseBudget(value);
          } catch {
            throw new CliError(`'${rawKey}' must be a size such as 512m or 12g, got '${value}'`);
          }
          // a percentage of what? A model's own memory is a size; percentages are for --models-memory
          if (!("bytes" in b)) throw new CliError(`'${rawKey}' must be a size such as 512m or 12g, not a percentage ('${value}')`);
          e[extra.key] = b.bytes;
          return;
        }
      }
    }
    const spec = OPTION_KEYS.get(key);
    if (!spec) {
      if (/^llama-arg-/.test(key)) {
        section.argEnv[rawKey.trim().toUpperCase().replace(/-/g, "_")] = value;
        return;
      }
      section.passthrough.push(passthroughKey(key, value, where));
      return;
    }
    if (RESERVED.has(spec.key)) throw new PresetError(`${where}: '${rawKey}' cannot be set in a preset (the router sets it for every model)`);
    const negated = spec.negNames?.some((n) => n.replace(/^-+/, "") === key) ?? false;
    let converted = convertValue(spec, value, `'${rawKey}'`);
    if (spec.type === "bool" && negated) converted = !converted;
    if ((spec.valueName === "FILE" || spec.valueName === "DIR") && typeof converted === "string") converted = path.resolve(dir, converted);
    else if (spec.resolvePaths) converted = spec.resolvePaths(converted, (p) => path.resolve(dir, p));
    (section.options as Record<string, unknown>)[spec.key] = converted;
  } catch (err) {
    if (err instanceof PresetError) throw err;
    throw new PresetError(`${where}: ${(err as Error).message}`);
  }
}
