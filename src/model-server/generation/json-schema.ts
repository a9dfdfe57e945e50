// Turns a JSON schema as clients send it (OpenAI response_format, llama.cpp json_schema) into the subset that
// node-llama-cpp's grammar generator understands, or a 400 naming the part that is wrong.
//
// node-llama-cpp reads a schema by its shape, and anything it does not recognize becomes `null`; so a schema
// without "type" ({"items": …}, {"properties": …}, {}) or draft-4 tuples would silently produce "null". Here the
// type is inferred, tuples become prefixItems, anyOf becomes oneOf, allOf is merged, "#/definitions/x" refs become
// "#/$defs/x", and an invalid type is refused. Constraints the generator cannot express (pattern, number ranges,
// optional properties: every listed property is generated) are relaxed, so the output still matches the schema
// except where a pattern or range would have narrowed it.
import type { GbnfJsonSchema } from "node-llama-cpp";
import { ApiError } from "../../http/errors.js";
import type { Json, JsonObject } from "../../http/validate.js";

const TYPES = ["string", "number", "integer", "boolean", "null", "object", "array"] as const;
type TypeName = (typeof TYPES)[number];
const STRING_FORMATS = new Set(["date-time", "time", "date"]);
const MAX_DEPTH = 64;

type Out = Record<string, unknown>;

/** Any JSON value: the primitives, an object of anything, a list of anything. */
const ANY: Out = {
  oneOf: [{ type: ["string", "number", "boolean", "null"] }, { type: "object", additionalProperties: true }, { type: "array" }],
};

export function toGbnfJsonSchema(schema: Json, where: string): GbnfJsonSchema {
  const defs: Record<string, Out> = {};
  const conv = new Converter(where, defs);
  if (isObject(schema)) {
    for (const key of ["$defs", "definitions"]) {
      const d = schema[key];
      if (d === undefined) continue;
      if (!isObject(d)) throw bad(`${where}.${key}`, "must be an object of schemas");
      for (const name of Object.keys(d)) defs[name] = {}; // refs to later definitions resolve
    }
    for (const key of ["$defs", "definitions"]) {
      const d = schema[key];
      if (isObject(d)) for (const [name, s] of Object.entries(d)) defs[name] = conv.convert(s, `${where}.${key}.${name}`, 1);
    }
  }
  const root = conv.convert(schema, where, 0);
  if (Object.keys(defs).length > 0) {
    // definitions are looked up from the schema that carries them, which only a structured root can
    const carrier = "oneOf" in root || "$ref" in root || root["type"] === "object" || root["type"] === "array" ? root : { oneOf: [root] };
    carrier["$defs"] = defs;
    return carrier as GbnfJsonSchema;
  }
  return root as GbnfJsonSchema;
}

class Converter {
  constructor(
    private readonly rootWhere: string,
    private readonly defs: Record<string, Out>,
  ) {}

  convert(s: Json | undefined, where: string, depth: number): Out {
    if (depth > MAX_DEPTH) throw bad(where, `nests deeper than ${MAX_DEPTH} levels`);
    if (s === true || s === undefined) return ANY;
    if (!isObject(s)) throw bad(where, `must be a schema object, got ${describe(s)}`);
    const next = depth + 1;

    if (s["$ref"] !== undefined) return this.ref(s["$ref"], `${where}.$ref`);
    if (s["const"] !== undefined) return constSchema(s["const"]);
    if (s["enum"] !== undefined) {
      const e = s["enum"];
      if (!Array.isArray(e) || e.length === 0) throw bad(`${where}.enum`, "must be a non-empty array");
      if (e.every(isPrimitive)) return { enum: e };
      return { oneOf: e.map(constSchema) };
    }
    for (const key of ["anyOf", "oneOf"]) {
      const alts = s[key];
      if (alts === undefined) continue;
      if (!Array.isArray(alts) || alts.length === 0) throw bad(`${where}.${key}`, "must be a non-empty array of schemas");
      return { oneOf: alts.map((a, i) => this.convert(a, `${where}.${key}[${i}]`, next)) };
    }
    if (s["allOf"] !== undefined) return this.convert(mergeAllOf(s, where), where, next);

    const type = s["type"];
    if (type === undefined) {
      const inferred = inferType(s);
      return inferred ? this.typed(s, inferred, where, next) : ANY;
    }
    if (typeof type === "string") return this.typed(s, checkType(type, `${where}.type`), where, next);
    if (Array.isArray(type)) {
      if (type.length === 0) throw bad(`${where}.type`, "must not be an empty array");
      const types = type.map((t, i) => {
        if (typeof t !== "string") throw bad(`${where}.type[${i}]`, `must be a type name, got ${describe(t)}`);
        return checkType(t, `${where}.type[${i}]`);
      });
      if (types.length === 1) return this.typed(s, types[0]!, where, next);
      return { oneOf: types.map((t) => this.typed(s, t, where, next)) };
    }
    throw bad(`${where}.type`, `must be a type name or a list of them, got ${describe(type)}`);
  }

  private typed(s: JsonObject, type: TypeName, where: string, depth: number): Out {
    switch (type) {
      case "object":
        return this.object(s, where, depth);
      case "array":
        return this.array(s, where, depth);
      case "string": {
        const format = s["format"];
        if (typeof format === "string" && STRING_FORMATS.has(format)) return { type: "string", format };
        const out: Out = { type: "string" };
        const min = optCount(s, "minLength", where);
        const max = optCount(s, "maxLength", where);
        if (min !== undefined) out["minLength"] = min;
        if (max !== undefined) out["maxLength"] = max;
        return out;
      }
      default:
        return { type };
    }
  }

  private object(s: JsonObject, where: string, depth: number): Out {
    const out: Out = { type: "object" };
    const props = s["properties"];
    if (props !== undefined) {
      if (!isObject(props)) throw bad(`${where}.properties`, "must be an object of schemas");
      out["properties"] = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, this.convert(v, `${where}.properties.${k}`, depth)]));
    }
    const extra = s["additionalProperties"];
    if (extra === true || extra === false) out["additionalProperties"] = extra;
    else if (extra !== undefined) out["additionalProperties"] = this.convert(extra, `${where}.additionalProperties`, depth);
    // a bare {"type": "object"} is any object
    else if (props === undefined) out["additionalProperties"] = true;
    const min = optCount(s, "minProperties", where);
    const max = optCount(s, "maxProperties", where);
    if (min !== undefined) out["minProperties"] = min;
    if (max !== undefined) out["maxProperties"] = max;
    return out;
  }

  private array(s: JsonObject, where: string, depth: number): Out {
    const out: Out = { type: "array" };
    const items = s["items"];
    let prefix = s["prefixItems"];
    // draft-4 tuples: "items" as a list, "additionalItems" for the rest
    let rest: Json | undefined = Array.isArray(items) ? s["additionalItems"] : items;
    if (Array.isArray(items)) prefix = items;
    if (prefix !== undefined) {
      if (!Array.isArray(prefix)) throw bad(`${where}.prefixItems`, "must be an array of schemas");
      out["prefixItems"] = prefix.map((p, i) => this.convert(p, `${where}.${Array.isArray(items) ? "items" : "prefixItems"}[${i}]`, depth));
    }
    if (rest === false) out["maxItems"] = Array.isArray(prefix) ? prefix.length : 0;
    else if (rest !== undefined && rest !== true) out["items"] = this.convert(rest, `${where}.items`, depth);
    const min = optCount(s, "minItems", where);
    const max = optCount(s, "maxItems", where);
    if (min !== undefined) out["minItems"] = min;
    if (max !== undefined) out["maxItems"] = Math.min(max, (out["maxItems"] as number | undefined) ?? max);
    return out;
  }

  private ref(ref: Json, where: string): Out {
    if (typeof ref !== "string") throw bad(where, "must be a string");
    const m = /^#\/(?:\$defs|definitions)\/([^/]+)$/.exec(ref);
    if (!m) throw bad(where, `only local references to #/$defs/NAME or #/definitions/NAME are supported, got '${ref}'`);
    const name = decodeURIComponent(m[1]!);
    if (!Object.hasOwn(this.defs, name)) throw bad(where, `'${ref}' does not name a definition of ${this.rootWhere}`);
    return { $ref: `#/$defs/${name}` };
  }
}

function constSchema(v: Json): Out {
  if (isPrimitive(v)) return { const: v };
  if (Array.isArray(v)) return { type: "array", prefixItems: v.map(constSchema), maxItems: v.length };
  return { type: "object", properties: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, constSchema(x)])) };
}

/** allOf's members are applied together: their object parts are merged into one schema. */
function mergeAllOf(s: JsonObject, where: string): JsonObject {
  const all = s["allOf"];
  if (!Array.isArray(all) || all.length === 0) throw bad(`${where}.allOf`, "must be a non-empty array of schemas");
  const merged: JsonObject = { ...s };
  delete merged["allOf"];
  const props: JsonObject = isObject(s["properties"]) ? { ...s["properties"] } : {};
  all.forEach((part, i) => {
    if (!isObject(part)) throw bad(`${where}.allOf[${i}]`, `must be a schema object, got ${describe(part)}`);
    if (part["$ref"] !== undefined || part["anyOf"] !== undefined || part["oneOf"] !== undefined) {
      throw bad(`${where}.allOf[${i}]`, "combining references or alternatives with allOf is not supported");
    }
    for (const [k, v] of Object.entries(part)) {
      if (k === "properties" && isObject(v)) Object.assign(props, v);
      else if (merged[k] === undefined) merged[k] = v;
    }
  });
  if (Object.keys(props).length > 0) merged["properties"] = props;
  return merged;
}

function inferType(s: JsonObject): TypeName | undefined {
  if (["properties", "additionalProperties", "required", "minProperties", "maxProperties"].some((k) => k in s)) return "object";
  if (["items", "prefixItems", "minItems", "maxItems", "additionalItems"].some((k) => k in s)) return "array";
  if (["minLength", "maxLength", "pattern", "format"].some((k) => k in s)) return "string";
  if (["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"].some((k) => k in s)) return "number";
  return undefined;
}

function checkType(t: string, where: string): TypeName {
  if ((TYPES as readonly string[]).includes(t)) return t as TypeName;
  throw bad(where, `must be one of ${TYPES.join(", ")}, got '${t}'`);
}

function optCount(s: JsonObject, key: string, where: string): number | undefined {
  const v = s[key];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw bad(`${where}.${key}`, `must be a non-negative integer, got ${describe(v)}`);
  return v;
}

const isObject = (v: Json | undefined): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);
const isPrimitive = (v: Json): v is string | number | boolean | null => v === null || typeof v !== "object";
const describe = (v: Json | undefined) => (v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "object" ? "an object" : JSON.stringify(v));
const bad = (where: string, what: string) => new ApiError(400, `'${where}' ${what}`);
