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
