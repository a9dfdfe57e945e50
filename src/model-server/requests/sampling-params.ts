// Reads the sampling fields of a request (OpenAI and llama.cpp spellings) into SamplingParams, with the server's
// command-line values as defaults.
import { randomInt } from "node:crypto";
import type { Token } from "node-llama-cpp";
import type { ModelOptions } from "../../options/options.js";
import { ApiError } from "../../http/errors.js";
import { type JsonObject, optBool, optNumber, optStopList, typeName } from "../../http/validate.js";
import type { Engine } from "../engine/engine.js";
import type { SamplingParams } from "../generation/generate.js";
import { readOutputGrammar } from "../generation/response-format.js";
import { readExtraSamplers, serverDefaults } from "./server-defaults.js";

export async function readSamplingParams(body: JsonObject, opts: ModelOptions, engine: Engine): Promise<SamplingParams> {
  const maxTokens =
    optNumber(body, "n_predict", { int: true, min: -1 }) ??
    optNumber(body, "max_completion_tokens", { int: true, min: -1 }) ??
    optNumber(body, "max_tokens", { int: true, min: -1 }) ??
    opts.nPredict;
  const repeatLastN = optNumber(body, "repeat_last_n", { int: true, min: -1 }) ?? opts.repeatLastN;
  // -r, -l, --grammar/-j: the server's defaults, for requests that bring none of their own (as llama-server)
  const defaults = serverDefaults(engine);
  const stop = optStopList(body);
  const hasLogitBias = body["logit_bias"] !== undefined && body["logit_bias"] !== null;
  return {
    maxTokens,
    temperature: optNumber(body, "temperature", { min: 0 }) ?? opts.temp,
    topK: optNumber(body, "top_k", { int: true, min: 0 }) ?? opts.topK,
    topP: optNumber(body, "top_p", { min: 0, max: 1 }) ?? opts.topP,
    minP: optNumber(body, "min_p", { min: 0, max: 1 }) ?? opts.minP,
    seed: resolveSeed(optNumber(body, "seed", { int: true }) ?? opts.seed),
    repeatPenalty: optNumber(body, "repeat_penalty", { min: 0 }) ?? opts.repeatPenalty,
    repeatLastN: repeatLastN === -1 ? engine.facts.nCtxSlot : repeatLastN,
    presencePenalty: optNumber(body, "presence_penalty", { min: -2, max: 2 }) ?? opts.presencePenalty,
    frequencyPenalty: optNumber(body, "frequency_penalty", { min: -2, max: 2 }) ?? opts.frequencyPenalty,
    stop: stop.length > 0 ? stop : defaults.stop,
    logitBias: hasLogitBias ? readLogitBias(body, engine) : defaults.logitBias,
    grammar: (await readOutputGrammar(body, engine)) ?? defaults.grammar,
    ignoreEos: optBool(body, "ignore_eos") ?? opts.ignoreEos,
    cachePrompt: optBool(body, "cache_prompt") ?? true,
    ...readExtraSamplers(body, opts),
    contextShift: opts.contextShift,
    special: opts.special,
    cacheReuse: optNumber(body, "n_cache_reuse", { int: true, min: 0 }) ?? opts.cacheReuse,
  };
}

/**
 * -1 (or any negative seed) asks for a random one; it is drawn here so that generation_settings can report the
 * seed that was used, and a client can repeat a generation it liked.
 */
function resolveSeed(seed: number): number {
  if (seed < 0) return randomInt(0, 0xffffffff);
  if (seed > 0xffffffff) throw new ApiError(400, `'seed' must be < 2^32, got ${seed}`);
  return seed;
}

/**
 * OpenAI's `{"token_id": bias}` and llama.cpp's `[[token_or_string, bias_or_false], ...]`; a key that is not a
 * token id is text, whose tokens all get the bias. `false` bans the token.
 */
function readLogitBias(body: JsonObject, engine: Engine): Array<[Token, number]> {
  const raw = body["logit_bias"];
  if (raw === undefined || raw === null) return [];
  const out: Array<[Token, number]> = [];
  const add = (key: unknown, value: unknown, where: string): void => {
    const bias = value === false ? -Infinity : value;
    if (typeof bias !== "number" || Number.isNaN(bias)) {
      throw new ApiError(400, `'${where}' must be a number or false, got ${typeName(bias)}`);
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
      if (typeof pair[0] !== "string" && typeof pair[0] !== "number") {
        throw new ApiError(400, `'logit_bias[${i}][0]' must be a token id or a string, got ${typeName(pair[0])}`);
      }
      add(pair[0], pair[1], `logit_bias[${i}][1]`);
    });
  } else if (typeof raw === "object") {
    for (const [k, v] of Object.entries(raw)) add(k, v, `logit_bias.${k}`);
  } else {
    throw new ApiError(400, `'logit_bias' must be an object of token ids to biases, got ${typeName(raw)}`);
  }
  return out;
}
