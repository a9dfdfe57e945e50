// Field validation for JSON request bodies: every failure is a 400 that names the field, never an exception
// that escapes as a 500.
import { ApiError } from "./errors.js";

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

const fail = (field: string, what: string): never => {
  throw new ApiError(400, `'${field}' ${what}`);
};

/** A body that must name a model: the router's routed and admin paths. */
export function requireModelBody(body: unknown): JsonObject {
  if (body === undefined || body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ApiError(400, "the request body must be a JSON object with a \"model\" field");
  }
  return body as JsonObject;
}

export function requireObjectBody(body: unknown): JsonObject {
  if (body === undefined || body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ApiError(400, "request body must be a JSON object");
  }
  return body as JsonObject;
}

export function optNumber(
  o: JsonObject,
  field: string,
  opts: { min?: number; max?: number; int?: boolean; prefix?: string } = {},
): number | undefined {
  const v = o[field];
  if (v === undefined || v === null) return undefined;
  const name = (opts.prefix ?? "") + field;
  if (typeof v !== "number" || !Number.isFinite(v)) return fail(name, `must be a number, got ${typeName(v)}`);
  if (opts.int && !Number.isInteger(v)) return fail(name, `must be an integer, got ${v}`);
  if (opts.min !== undefined && v < opts.min) return fail(name, `must be >= ${opts.min}, got ${v}`);
  if (opts.max !== undefined && v > opts.max) return fail(name, `must be <= ${opts.max}, got ${v}`);
  return v;
}

export function optBool(o: JsonObject, field: string, prefix = ""): boolean | undefined {
  const v = o[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") return fail(prefix + field, `must be a boolean, got ${typeName(v)}`);
  return v;
}

export function optString(o: JsonObject, field: string, prefix = ""): string | undefined {
  const v = o[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") return fail(prefix + field, `must be a string, got ${typeName(v)}`);
  return v;
}

export function optObject(o: JsonObject, field: string, prefix = ""): JsonObject | undefined {
  const v = o[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) return fail(prefix + field, `must be an object, got ${typeName(v)}`);
  return v;
}

export function optArray(o: JsonObject, field: string, prefix = ""): Json[] | undefined {
  const v = o[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) return fail(prefix + field, `must be an array, got ${typeName(v)}`);
  return v;
}

/** `stop`: a string or a list of strings (OpenAI allows up to 4; llama-server allows more). */
export function optStopList(o: JsonObject, field = "stop"): string[] {
  const v = o[field];
  if (v === undefined || v === null) return [];
  if (typeof v === "string") return v === "" ? [] : [v];
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) return fail(field, "must be a string or an array of strings");
  return (v as string[]).filter((s) => s !== "");
}

export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `${typeof v} ${JSON.stringify(v)?.slice(0, 40)}`;
}
