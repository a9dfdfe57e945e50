// Parsers for the option values that are more than a number or a word: llama-server's own small formats
// (TOKEN+BIAS, FILE:SCALE, KEY=TYPE:VALUE, JSON). The option table checks values with them at parse time, so a
// mistake is the CLI's one-line error; the model server parses the same strings again where it uses them.

import { parseOnOffAuto } from "../util/on-off-auto.js";

/** `15043+1`, `15043-1.5`: llama-server's -l/--logit-bias item (a token id, a sign, a bias). */
export function parseLogitBias(raw: string): { token: number; bias: number } {
  const m = /^\s*(\d+)\s*([+-])\s*(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|inf)\s*$/i.exec(raw);
  if (!m) throw new Error(`expected TOKEN_ID+BIAS or TOKEN_ID-BIAS (e.g. 15043+1), got '${raw}'`);
  const magnitude = m[3]!.toLowerCase() === "inf" ? Infinity : Number(m[3]);
  return { token: Number(m[1]), bias: m[2] === "-" ? -magnitude : magnitude };
}

/** `FILE:SCALE`: one --lora-scaled item. The scale follows the last colon, so Windows paths (C:\...) work. */
export function parseLoraScaled(raw: string): { file: string; scale: number } {
  const i = raw.lastIndexOf(":");
  const scale = i > 0 ? Number(raw.slice(i + 1).trim()) : NaN;
  if (i <= 0 || raw.slice(i + 1).trim() === "" || !Number.isFinite(scale)) {
    throw new Error(`expected FILE:SCALE (e.g. adapter.gguf:0.5), got '${raw}'`);
  }
  return { file: raw.slice(0, i), scale };
}

/** Whether `raw` is already in FILE:SCALE form, or is a bare file name (the old two-argument form). */
export function isLoraScaledItem(raw: string): boolean {
  try {
    parseLoraScaled(raw);
    return true;
  } catch {
    return false;
  }
}

export type KvOverrideValue = { type: "int"; value: bigint } | { type: "float"; value: number } | { type: "bool"; value: boolean } | { type: "str"; value: string };

/** `KEY=TYPE:VALUE` with TYPE int, float, bool or str: one --override-kv item, as llama.cpp reads it. */
export function parseKvOverride(raw: string): { key: string } & KvOverrideValue {
  const m = /^([^=]+)=(int|float|bool|str):(.*)$/s.exec(raw);
  if (!m) throw new Error(`expected KEY=TYPE:VALUE with TYPE int, float, bool or str, got '${raw}'`);
  const key = m[1]!;
  const v = m[3]!;
  // llama.cpp keeps keys and string values in 128-byte buffers
  if (key.length > 127) throw new Error(`key '${key.slice(0, 20)}...' is longer than 127 characters`);
  switch (m[2]) {
    case "int":
      if (!/^[+-]?\d+$/.test(v.trim())) throw new Error(`'${key}': expected an integer, got '${v}'`);
      return { key, type: "int", value: BigInt(v.trim()) };
    case "float": {
      const n = Number(v.trim());
      if (v.trim() === "" || !Number.isFinite(n)) throw new Error(`'${key}': expected a number, got '${v}'`);
      return { key, type: "float", value: n };
    }
    case "bool":
      if (v !== "true" && v !== "false") throw new Error(`'${key}': expected true or false, got '${v}'`);
      return { key, type: "bool", value: v === "true" };
    default:
      if (v.length > 127) throw new Error(`'${key}': string values are limited to 127 characters`);
      return { key, type: "str", value: v };
  }
}

/** A JSON object (for --chat-template-kwargs and -j/--json-schema). */
export function parseJsonObject(raw: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    throw new Error(`expected a JSON object: ${(err as Error).message}`);
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error(`expected a JSON object, got ${JSON.stringify(raw).slice(0, 60)}`);
  return v as Record<string, unknown>;
}

/** --api-prefix: a path such as /api or /v2/llm, without a trailing slash (llama-server appends every route). */
export function checkApiPrefix(raw: string): void {
  if (raw === "") return;
  if (!raw.startsWith("/") || raw.endsWith("/") || /[?#\s]/.test(raw)) {
    throw new Error(`expected a path that starts with / and does not end with / (e.g. /api), got '${raw}'`);
  }
}

/** -rea/--reasoning: on, off or auto, in llama.cpp's words for them (auto may also be -1). */
export function parseReasoningSwitch(raw: string): "on" | "off" | "auto" {
  const v = raw.trim().toLowerCase();
  if (v === "-1") return "auto";
  return parseOnOffAuto(v);
}

/** -ngld: a layer count, or llama.cpp's auto / all. */
export function parseGpuLayers(raw: string): number | "auto" | "all" {
  const v = raw.trim();
  if (v === "auto" || v === "all") return v;
  if (!/^-?\d+$/.test(v) || Number(v) < -1) throw new Error(`expected a number of layers, auto or all, got '${raw}'`);
  return Number(v);
}

/** llama.cpp's string_process_escapes: \n \r \t \' \" \\ and \xHH; any other backslash stays as written. */
export function processEscapes(s: string): string {
  return s.replace(/\\(x[0-9a-fA-F]{2}|[nrt'"\\])/g, (_m, e: string) => {
    switch (e[0]) {
      case "n": return "\n";
      case "r": return "\r";
      case "t": return "\t";
      case "x": return String.fromCharCode(parseInt(e.slice(1), 16));
      default: return e;
    }
  });
}

/** A memory budget: a size (12g, 512m, bytes) or a percentage of the total (75%). */
export type Budget = { bytes: number } | { percent: number };

export function parseBudget(raw: string): Budget {
  const pct = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(raw);
  if (pct) {
    const percent = Number(pct[1]);
    if (percent <= 0 || percent > 100) throw new Error(`a percentage must be in (0, 100], got '${raw}'`);
    return { percent };
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$/i.exec(raw);
  if (!m) throw new Error(`expected a size (e.g. 12g, 512m) or a percentage (e.g. 75%), got '${raw}'`);
  const unit = (m[2] ?? "").toLowerCase();
  const mult = unit === "k" ? 1024 : unit === "m" ? 1024 ** 2 : unit === "g" ? 1024 ** 3 : unit === "t" ? 1024 ** 4 : 1;
  return { bytes: Math.floor(Number(m[1]) * mult) };
}
