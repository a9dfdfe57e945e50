// Server-wide defaults for generation requests, from llama-server's flags: a default grammar (--grammar,
// --grammar-file, -j/--json-schema, -jf), default logit biases (-l), default stop strings (-r), default chat template
// variables (--chat-template-kwargs, and enable_thinking from -rea/--reasoning), and the DRY and XTC samplers. They are prepared once per loaded model (a
// grammar needs the backend, a logit bias the vocabulary), so a mistake is a start-up error, as in llama-server.
import { readFileSync } from "node:fs";
import type { LlamaContextSequenceDryRepeatPenalty, Token } from "node-llama-cpp";
import type { ModelOptions } from "../../options/options.js";
import { parseJsonObject, parseLogitBias, processEscapes } from "../../options/value-formats.js";
import { ApiError } from "../../http/errors.js";
import { type Json, type JsonObject, optArray, optNumber, typeName } from "../../http/validate.js";
import { StartupError } from "../../util/startup-error.js";
import type { Engine } from "../engine/engine.js";
import { defaultTemplateKwargs } from "../templates/thinking-kwargs.js";
import { type OutputGrammar, readOutputGrammar } from "../generation/response-format.js";

export interface ServerDefaults {
  /** Used when a request brings no grammar, json_schema or response_format of its own. */
  grammar?: OutputGrammar;
  /** Used when a request has no logit_bias (a request's own replaces them, as in llama-server). */
  logitBias: Array<[Token, number]>;
  /** Used when a request gives no stop strings. */
  stop: string[];
  /** The chat template's extra variables; a request's chat_template_kwargs go over them. */
  chatTemplateKwargs: JsonObject;
}

const EMPTY: ServerDefaults = { logitBias: [], stop: [], chatTemplateKwargs: {} };
const prepared = new WeakMap<Engine, ServerDefaults>();

/** The defaults of this engine's server (empty until prepared, e.g. in tests that build an engine alone). */
export function serverDefaults(engine: Engine): ServerDefaults {
  return prepared.get(engine) ?? EMPTY;
}

/** Reads files, builds the grammar and checks token ids; throws a StartupError naming the flag at fault. */
export async function prepareServerDefaults(opts: ModelOptions, engine: Engine): Promise<ServerDefaults> {
  const defaults: ServerDefaults = {
    logitBias: (opts.logitBias ?? []).map((raw) => {
      const { token, bias } = parseLogitBias(raw);
      if (!engine.isTokenId(token)) {
        throw new StartupError(`--logit-bias ${raw}: token id ${token} is out of range (the vocabulary has ${engine.facts.nVocab} tokens)`);
      }
      return [token as Token, bias] as [Token, number];
    }),
    stop: (opts.reversePrompt ?? []).map((s) => (opts.escape ? processEscapes(s) : s)).filter((s) => s.length > 0),
    chatTemplateKwargs: defaultTemplateKwargs(opts.reasoning, opts.chatTemplateKwargs ? (parseJsonObject(opts.chatTemplateKwargs) as JsonObject) : {}),
  };
  const grammar = await defaultGrammar(opts, engine);
  if (grammar) defaults.grammar = grammar;
  prepared.set(engine, defaults);
  return defaults;
}

async function defaultGrammar(opts: ModelOptions, engine: Engine): Promise<OutputGrammar | undefined> {
  let flag: string;
  let request: JsonObject;
  if (opts.grammar !== undefined || opts.grammarFile !== undefined) {
    flag = opts.grammar !== undefined ? "--grammar" : "--grammar-file";
    request = { grammar: opts.grammar ?? readFlagFile(opts.grammarFile!, flag) };
  } else if (opts.jsonSchema !== undefined || opts.jsonSchemaFile !== undefined) {
    flag = opts.jsonSchema !== undefined ? "--json-schema" : "--json-schema-file";
    const text = opts.jsonSchema ?? readFlagFile(opts.jsonSchemaFile!, flag);
    let schema: Json;
    try {
      schema = parseJsonObject(text) as Json;
    } catch (err) {
      throw new StartupError(`${flag}: ${(err as Error).message}`);
    }
    request = { json_schema: schema };
  } else {
    return undefined;
  }
  // the same conversion a request's grammar or json_schema gets, so both behave alike
  try {
    return await readOutputGrammar(request, engine);
  } catch (err) {
    throw new StartupError(`${flag}: ${(err as Error).message.replace(/^'[a-z_]+' /, "")}`);
  }
}

function readFlagFile(file: string, flag: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new StartupError(`cannot read ${flag} '${file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * The DRY and XTC samplers of a request: llama-server's fields (dry_multiplier, dry_base, dry_allowed_length,
 * dry_penalty_last_n, dry_sequence_breakers, xtc_probability, xtc_threshold), defaulting to the command line's.
 */
export function readExtraSamplers(body: JsonObject, opts: ModelOptions): { dry?: LlamaContextSequenceDryRepeatPenalty; xtc?: { probability: number; threshold: number } } {
  const breakers = optArray(body, "dry_sequence_breakers");
  breakers?.forEach((b, i) => {
    if (typeof b !== "string") throw new ApiError(400, `'dry_sequence_breakers[${i}]' must be a string, got ${typeName(b)}`);
  });
  const sequenceBreakers = breakers ? (breakers as string[]) : drySequenceBreakers(opts.drySequenceBreaker, opts.escape);
  const dry = dryPenalty({
    multiplier: optNumber(body, "dry_multiplier", { min: 0 }) ?? opts.dryMultiplier,
    base: optNumber(body, "dry_base", { min: 1 }) ?? opts.dryBase,
    allowedLength: optNumber(body, "dry_allowed_length", { int: true, min: 0 }) ?? opts.dryAllowedLength,
    lastN: optNumber(body, "dry_penalty_last_n", { int: true, min: -1 }) ?? opts.dryPenaltyLastN,
    ...(sequenceBreakers ? { sequenceBreakers } : {}),
  });
  const xtc = xtcSampler(
    optNumber(body, "xtc_probability", { min: 0, max: 1 }) ?? opts.xtcProbability,
    optNumber(body, "xtc_threshold", { min: 0, max: 1 }) ?? opts.xtcThreshold,
  );
  return { ...(dry ? { dry } : {}), ...(xtc ? { xtc } : {}) };
}

/** node-llama-cpp's DRY penalty for these settings, or undefined when it is off (multiplier 0 or no tokens to scan). */
export function dryPenalty(p: { multiplier: number; base: number; allowedLength: number; lastN: number; sequenceBreakers?: string[] }): LlamaContextSequenceDryRepeatPenalty | undefined {
  if (p.multiplier <= 0 || p.lastN === 0) return undefined;
  return {
    strength: p.multiplier,
    base: p.base,
    allowedLength: p.allowedLength,
    // llama.cpp: -1 scans the whole context, which node-llama-cpp spells null
    lastTokens: p.lastN < 0 ? null : p.lastN,
    ...(p.sequenceBreakers ? { sequenceBreakers: p.sequenceBreakers } : {}),
  };
}

/** --dry-sequence-breaker values as llama.cpp reads them: they replace the defaults, and "none" means none at all. */
export function drySequenceBreakers(values: readonly string[] | undefined, escape: boolean): string[] | undefined {
  if (!values || values.length === 0) return undefined;
  return values.includes("none") ? [] : values.map((v) => (escape ? processEscapes(v) : v));
}

/** node-llama-cpp's XTC settings, or undefined when XTC is off (llama.cpp: probability 0, or threshold above 0.5). */
export function xtcSampler(probability: number, threshold: number): { probability: number; threshold: number } | undefined {
  if (probability <= 0 || threshold > 0.5) return undefined;
  return { probability, threshold };
}
