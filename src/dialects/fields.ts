// Request-field checks the dialect translators share: a bad field is a 400 that names it in the dialect's own
// terms (e.g. `messages[2].content[0].tool_use_id`), before any engine sees the request.
import { ApiError } from "../http/errors.js";
import { type Json, type JsonObject, typeName } from "../http/validate.js";

export const fail = (field: string, what: string): never => {
  throw new ApiError(400, `'${field}' ${what}`);
};

export const isObject = (v: Json | undefined): v is JsonObject => v !== null && typeof v === "object" && !Array.isArray(v);

export function requireString(o: JsonObject, field: string, where: string): string {
  const v = o[field];
  if (typeof v !== "string") return fail(`${where}.${field}`, v === undefined ? "is required" : `must be a string, got ${typeName(v)}`);
  return v;
}

/**
 * An optional array of objects (`field` absent or null: none), each given to `read` with its place (`tools[2]`);
 * what `read` returns undefined for is left out.
 */
export function readObjects<T>(v: Json | undefined, field: string, read: (o: JsonObject, at: string) => T | undefined): T[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) return fail(field, `must be an array, got ${typeName(v)}`);
  const out: T[] = [];
  v.forEach((item, i) => {
    const at = `${field}[${i}]`;
    if (!isObject(item)) return fail(at, `must be an object, got ${typeName(item)}`);
    const r = read(item, at);
    if (r !== undefined) out.push(r);
  });
  return out;
}
