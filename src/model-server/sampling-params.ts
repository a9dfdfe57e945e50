// Reads the sampling fields of a request (OpenAI and llama.cpp spellings) into SamplingParams, with the server's
// command-line values as defaults.
import type { LlamaGrammar, Token } from "node-llama-cpp";
import type { ServerOptions } from "../cli/options.js";
import { ApiError } from "../http/errors.js";
import { type JsonObject, optBool, optNumber, optObject, optStopList, optString, typeName } from "../http/validate.js";
import type { Engine } from "./engine.js";
import type { SamplingParams } from "./generate.js";

export async function readSamplingParams(body: JsonObject, opts: ServerOptions, engine: Engine): Promise<SamplingParams> {
  const maxTokens =
    optNumber(body, "max_completion_tokens", { int: true, min: -1 }) ??
    optNumber(body, "max_tokens", { int: true, min: -1 }) ??
    optNumber(body, "n_predict", { int: true, min: -1 }) ??
    opts.nPredict;
  const n = optNumber(body, "n", { int: true, min: 1 });
  if (n !== undefined && n !== 1) throw new ApiError(400, "'n': only one completion choice is supported (n must be 1)");
  const repeatLastN = optNumber(body, "repeat_last_n", { int: true, min: -1 }) ?? opts.repeatLastN;
  return {
    maxTokens,
    temperature: optNumber(body, "temperature", { min: 0 }) ?? opts.temp,
    topK: optNumber(body, "top_k", { int: true, min: 0 }) ?? opts.topK,
    topP: optNumber(body, "top_p", { min: 0, max: 1 }) ?? opts.topP,
    minP: optNumber(body, "min_p", { min: 0, max: 1 }) ?? opts.minP,
    seed: optNumber(body, "seed", { int: true }) ?? opts.seed,
    repeatPenalty: optNumber(body, "repeat_penalty", { min: 0 }) ?? opts.repeatPenalty,
    repeatLastN: repeatLastN === -1 ? engine.facts.nCtxSlot : repeatLastN,
    presencePenalty: optNumber(body, "presence_penalty", { min: -2, max: 2 }) ?? opts.presencePenalty,
    frequencyPenalty: optNumber(body, "frequency_penalty", { min: -2, max: 2 }) ?? opts.frequencyPenalty,
    stop: optStopList(body),
    logitBias: readLogitBias(body, engine),
    grammar: await readGrammar(body, engine),
    ignoreEos: optBool(body, "ignore_eos") ?? false,
    cachePrompt: optBool(body, "cache_prompt") ?? true,
  };
}

/** OpenAI's `{"token_id": bias}` and llama.cpp's `[[token_or_string, bias_or_false], ...]`. */
function readLogitBias(body: JsonObject, engine: Engine): Array<[Token, number]> {
  const raw = body["logit_bias"];
  if (raw === undefined || raw === null) return [];
  const out: Array<[Token, number]> = [];
  const add = (key: unknown, value: unknown, where: string): void => {
    const bias = value === false ? -100 : value;
    if (typeof bias !== "number" || !Number.isFinite(bias)) {
      throw new ApiError(400, `'${where}' must be a number, got ${typeName(bias)}`);
    }
    if (typeof key === "string" && !/^\d+$/.test(key)) {
      for (const t of engine.model.tokenize(key, false)) out.push([t, bias]);
      return;
    }
    const id = Number(key);
    if (!engine.isTokenId(id)) {
      throw new ApiError(400, `'logit_bias': token id ${String(key)} is out of range (vocabulary has ${engine.facts.nVocab} tokens)`);
    }
    out.push([id, bias]);
  };
  if (Array.isArray(raw)) {
    raw.forEach((pair, i) => {
      if (!Array.isArray(pair) || pair.length !== 2) throw new ApiError(400, `'logit_bias[${i}]' must be a [token, bias] pair`);
      add(pair[0], pair[1], `logit_bias[${i}][1]`);
    });
  } else if (typeof raw === "object") {
    for (const [k, v] of Object.entries(raw)) add(k, v, `logit_bias.${k}`);
  } else {
    throw new ApiError(400, `'logit_bias' must be an object of token ids to biases, got ${typeName(raw)}`);
  }
  return out;
}

const grammarCache = new Map<string, LlamaGrammar>();
const GRAMMAR_CACHE_MAX = 32;

async function cachedGrammar(key: string, make: () => Promise<LlamaGrammar>): Promise<LlamaGrammar> {
  const hit = grammarCache.get(key);
  if (hit) return hit;
  const g = await make();
  if (grammarCache.size >= GRAMMAR_CACHE_MAX) grammarCache.delete(grammarCache.keys().next().value!);
  grammarCache.set(key, g);
  return g;
}

/** `response_format` (OpenAI), `json_schema` and `grammar` (llama.cpp) become a GBNF grammar. */
async function readGrammar(body: JsonObject, engine: Engine): Promise<LlamaGrammar | undefined> {
  const llama = engine.llama;
  const gbnf = optString(body, "grammar");
  if (gbnf) {
    return cachedGrammar(`gbnf:${gbnf}`, () =>
      llama.createGrammar({ grammar: gbnf }).catch((e: Error) => {
        throw new ApiError(400, `'grammar' is not a valid GBNF grammar: ${e.message}`);
      }),
    );
  }
  let schema: JsonObject | undefined = optObject(body, "json_schema");
  let field = "json_schema";
  const rf = optObject(body, "response_format");
  if (rf) {
    const type = optString(rf, "type", "response_format.");
    if (type === "json_object") {
      schema = optObject(rf, "schema", "response_format.");
      field = "response_format.schema";
      if (!schema) return cachedGrammar("json", () => llama.getGrammarFor("json"));
    } else if (type === "json_schema") {
      const js = optObject(rf, "json_schema", "response_format.");
      if (!js) throw new ApiError(400, "'response_format.json_schema' is required when type is json_schema");
      schema = optObject(js, "schema", "response_format.json_schema.");
      field = "response_format.json_schema.schema";
      if (!schema) return cachedGrammar("json", () => llama.getGrammarFor("json"));
    } else if (type !== undefined && type !== "text") {
      throw new ApiError(400, `'response_format.type' must be text, json_object or json_schema, got '${type}'`);
    }
  }
  if (!schema) return undefined;
  const key = JSON.stringify(schema);
  return cachedGrammar(`schema:${key}`, async () => {
    try {
      return await llama.createGrammarForJsonSchema(schema as never);
    } catch (e) {
      throw new ApiError(400, `'${field}' is not a supported JSON schema: ${(e as Error).message}`);
    }
  });
}
