// Constrained output: `grammar` (GBNF), `json_schema` (llama.cpp) and `response_format` (OpenAI: json_object, with
// or without a schema, and json_schema) become one node-llama-cpp grammar. Grammars are cached by their source, as
// parsing one is the slow part and clients repeat the same schema.
import type { LlamaGrammar } from "node-llama-cpp";
import { ApiError } from "../../http/errors.js";
import { type Json, type JsonObject, optObject, optString } from "../../http/validate.js";
import type { Engine } from "../engine/engine.js";
import { toGbnfJsonSchema } from "./json-schema.js";

export interface OutputGrammar {
  grammar: LlamaGrammar;
  /** Its GBNF text, for generation_settings. */
  gbnf: string;
  /**
   * Text that ends the output: node-llama-cpp's JSON grammars end in newlines that the model must produce instead
   * of stopping; the trigger is cut off and trailing whitespace trimmed, so the answer is the JSON alone.
   */
  stopTriggers: string[];
  trimWhitespaceSuffix: boolean;
}

const cache = new Map<string, Promise<OutputGrammar>>();
const CACHE_MAX = 32;

export async function readOutputGrammar(body: JsonObject, engine: Engine): Promise<OutputGrammar | undefined> {
  const llama = engine.llama;
  const gbnf = optString(body, "grammar");
  const schema = body["json_schema"];
  if (gbnf && schema !== undefined && schema !== null) throw new ApiError(400, "'grammar' and 'json_schema' cannot be used together");
  if (gbnf) {
    return cached(`gbnf:${gbnf}`, () =>
      llama.createGrammar({ grammar: gbnf }).catch((e: Error) => {
        throw new ApiError(400, `'grammar' is not a valid GBNF grammar: ${e.message}`);
      }),
    );
  }
  const fromFormat = readResponseFormat(body);
  if (fromFormat === "any-object") return cached("json", () => llama.getGrammarFor("json"));
  const [json, where] = fromFormat ?? (schema !== undefined && schema !== null ? [schema, "json_schema"] : [undefined, ""]);
  if (json === undefined) return undefined;
  const converted = toGbnfJsonSchema(json, where);
  return cached(`schema:${JSON.stringify(converted)}`, async () => {
    try {
      return await llama.createGrammarForJsonSchema(converted as never);
    } catch (e) {
      throw new ApiError(400, `'${where}' cannot be turned into a grammar: ${(e as Error).message}`);
    }
  });
}

/** OpenAI's response_format: the schema it carries (and where), "any-object" for plain json_object, or nothing. */
function readResponseFormat(body: JsonObject): [Json, string] | "any-object" | undefined {
  const rf = optObject(body, "response_format");
  if (!rf) return undefined;
  const type = optString(rf, "type", "response_format.");
  if (type === undefined || type === "text") return undefined;
  if (type === "json_object") {
    if (rf["schema"] === undefined || rf["schema"] === null) return "any-object";
    const schema = optObject(rf, "schema", "response_format.");
    return [schema!, "response_format.schema"];
  }
  if (type === "json_schema") {
    const js = optObject(rf, "json_schema", "response_format.");
    if (!js) throw new ApiError(400, "'response_format.json_schema' is required when type is json_schema");
    const schema = optObject(js, "schema", "response_format.json_schema.");
    // OpenAI lets the schema be left out; llama-server then asks for any JSON value
    return [schema ?? {}, "response_format.json_schema.schema"];
  }
  throw new ApiError(400, `'response_format.type' must be text, json_object or json_schema, got '${type}'`);
}

function cached(key: string, make: () => Promise<LlamaGrammar>): Promise<OutputGrammar> {
  const hit = cache.get(key);
  if (hit) return hit;
  const p = make().then(describeGrammar);
  p.catch(() => cache.delete(key)); // a refused grammar is not kept: the next request gets the same 400 afresh
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(key, p);
  return p;
}

function describeGrammar(grammar: LlamaGrammar): OutputGrammar {
  return {
    grammar,
    gbnf: grammar.grammar,
    stopTriggers: grammar.stopGenerationTriggers.map((t) => t.toString()).filter((t) => t.length > 0),
    trimWhitespaceSuffix: grammar.trimWhitespaceSuffix,
  };
}
