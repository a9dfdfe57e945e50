// tool_choice "required" or a named function: like llama-server, constrain generation with a grammar so that the
// answer is one or more calls in the model's own format, each naming an offered tool with arguments that fit
// its schema. (llama-server also uses a lazy grammar for "auto", switched on by the first marker; node-llama-cpp
// has no lazy grammars, so "auto" runs unconstrained and relies on parsing alone.)
//
// node-llama-cpp turns a JSON schema into GBNF; each tool's arguments get their own copy of that, its rules
// renamed apart, and the family's format wraps them. Its converter knows a subset of JSON schema, so schemas are
// first reduced to that subset: what it cannot express is loosened, never tightened.
import type { Llama, LlamaGrammar } from "node-llama-cpp";
import { importNllc } from "../engine/llama-loader.js";
import { prefixRules } from "./grammar-text.js";
import type { GrammarCall, ToolCallFormat, ToolSpec } from "./types.js";

export const TOOL_GRAMMAR_ROOT = "tc-root";
/** What node-llama-cpp appends to a JSON grammar's root (for its own chat wrappers, which trim it). */
const NLLC_ROOT_SUFFIX = ' "\\n\\n\\n\\n" [\\n]*';

type GbnfFromSchema = (schema: unknown, o: { allowNewLines?: boolean }) => string;
let fromSchema: GbnfFromSchema | undefined;

async function loadConverter(): Promise<GbnfFromSchema> {
  fromSchema ??= ((await importNllc("utils/gbnfJson/getGbnfGrammarForGbnfJsonSchema.js")) as { getGbnfGrammarForGbnfJsonSchema: GbnfFromSchema })
    .getGbnfGrammarForGbnfJsonSchema;
  return fromSchema;
}

/** GBNF text whose root rule (TOOL_GRAMMAR_ROOT) matches calls of `tools`; undefined if the format has none. */
export async function toolCallGrammarText(format: ToolCallFormat, tools: readonly ToolSpec[], parallel: boolean): Promise<string | undefined> {
  if (!format.grammar || tools.length === 0) return undefined;
  const convert = await loadConverter();
  const rules: string[] = [];
  const calls: GrammarCall[] = tools.map((t, i) => {
    const schema = toGbnfSchema(t.parameters);
    const gbnf = convert(schema, { allowNewLines: false });
    const [root, ...rest] = gbnf.split("\n");
    if (!root!.endsWith(NLLC_ROOT_SUFFIX)) throw new Error("unexpected JSON grammar from node-llama-cpp");
    rules.push(prefixRules([root!.slice(0, -NLLC_ROOT_SUFFIX.length), ...rest].join("\n"), `t${i}-`));
    return { name: t.name, argsRule: `t${i}-root`, schema };
  });
  return [format.grammar(calls, parallel), ...rules].join("\n");
}

export async function createToolCallGrammar(llama: Llama, text: string): Promise<LlamaGrammar> {
  return llama.createGrammar({ grammar: text, rootRuleName: TOOL_GRAMMAR_ROOT });
}

type Schema = Record<string, unknown>;
const ANY: Schema = { oneOf: [{ type: ["string", "number", "boolean", "null"] }, { type: "object", additionalProperties: true }, { type: "array" }] };
const MAX_DEPTH = 12;

/** A tool's parameters schema in the subset node-llama-cpp's converter understands. */
export function toGbnfSchema(schema: unknown): Schema {
  const root = isObject(schema) ? schema : {};
  const defs = { ...(isObject(root["definitions"]) ? root["definitions"] : {}), ...(isObject(root["$defs"]) ? root["$defs"] : {}) };
  const args = convert(root, defs, 0);
  // arguments are an object, whatever the schema forgot to say
  return args === ANY ? { type: "object", additionalProperties: true } : args;
}

function convert(s: unknown, defs: Schema, depth: number): Schema {
  if (!isObject(s) || depth > MAX_DEPTH) return ANY;
  const ref = s["$ref"];
  if (typeof ref === "string") {
    const m = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(ref);
    return m && m[1]! in defs ? convert(defs[m[1]!], defs, depth + 1) : ANY;
  }
  if ("const" in s && isPrimitive(s["const"])) return { const: s["const"] };
  if (Array.isArray(s["enum"]) && s["enum"].length > 0 && s["enum"].every(isPrimitive)) return { enum: s["enum"] };
  const alts = s["anyOf"] ?? s["oneOf"];
  if (Array.isArray(alts) && alts.length > 0) return { oneOf: alts.map((a) => convert(a, defs, depth + 1)) };
  if (Array.isArray(s["allOf"]) && s["allOf"].length === 1) return convert(s["allOf"][0], defs, depth + 1);
  const type = s["type"];
  if (Array.isArray(type)) return type.length === 0 ? ANY : { oneOf: type.map((t) => convert({ ...s, type: t }, defs, depth + 1)) };
  if (type === "object" || (type === undefined && isObject(s["properties"]))) return convertObject(s, defs, depth);
  if (type === "array") {
    const out: Schema = { type: "array" };
    if (isObject(s["items"])) out["items"] = convert(s["items"], defs, depth + 1);
    if (Array.isArray(s["prefixItems"])) out["prefixItems"] = s["prefixItems"].map((p) => convert(p, defs, depth + 1));
    for (const k of ["minItems", "maxItems"]) if (typeof s[k] === "number") out[k] = s[k];
    return out;
  }
  if (type === "string") {
    if (typeof s["format"] === "string" && ["date", "time", "date-time"].includes(s["format"])) return { type: "string", format: s["format"] };
    const out: Schema = { type: "string" };
    for (const k of ["minLength", "maxLength"]) if (typeof s[k] === "number") out[k] = s[k];
    return out;
  }
  if (type === "number" || type === "integer" || type === "boolean" || type === "null") return { type };
  return ANY;
}

/**
 * The converter makes every listed property required, in order. So required properties are listed, and optional
 * ones are left to `additionalProperties` (untyped): the model may still give them, and need not.
 */
function convertObject(s: Schema, defs: Schema, depth: number): Schema {
  const props = isObject(s["properties"]) ? s["properties"] : {};
  const required = Array.isArray(s["required"]) ? s["required"].filter((r): r is string => typeof r === "string" && r in props) : [];
  const properties: Schema = {};
  for (const name of required) properties[name] = convert(props[name], defs, depth + 1);
  const optional = Object.keys(props).length > required.length;
  const extra = s["additionalProperties"];
  const out: Schema = { type: "object", properties };
  if (optional || extra === true || (extra === undefined && Object.keys(props).length === 0)) out["additionalProperties"] = true;
  else if (isObject(extra)) out["additionalProperties"] = convert(extra, defs, depth + 1);
  return out;
}

function isObject(v: unknown): v is Schema {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isPrimitive(v: unknown): boolean {
  return v === null || ["string", "number", "boolean"].includes(typeof v);
}
