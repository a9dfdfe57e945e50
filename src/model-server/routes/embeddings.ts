import type { FastifyInstance } from "fastify";
import type { Token } from "node-llama-cpp";
import { ApiError, embeddingsDisabled } from "../../http/errors.js";
import { type Json, type JsonObject, optString, requireObjectBody, typeName } from "../../http/validate.js";
import type { Engine } from "../engine/engine.js";
import type { ServerState } from "../server/state.js";
import { requireReady } from "./ready.js";
import { ENDPOINTS } from "../../http/endpoints.js";
import { routeEndpoint } from "./endpoint-route.js";

export function registerEmbeddingRoutes(app: FastifyInstance, state: ServerState): void {
  routeEndpoint(app, ENDPOINTS.embeddings, async (req) => runEmbeddings(state, requireObjectBody(req.body), { openAiOnly: true }));
  routeEndpoint(app, ENDPOINTS.embedding, async (req) => runEmbeddings(state, requireObjectBody(req.body), { openAiOnly: false }));
}

/**
 * An OpenAI embeddings body's answer (`{object: "list", data, model, usage}`). `openAiOnly`: the caller promises an
 * OpenAI answer, which one vector per token (pooling none) is not; llama-server refuses that on /v1/embeddings only,
 * and other dialects (Ollama's /api/embed) refuse it too.
 */
export async function runEmbeddings(state: ServerState, body: JsonObject, o: { openAiOnly: boolean }): Promise<Record<string, unknown>> {
  const { engine } = requireReady(state);
  if (!engine.embedding) {
    throw embeddingsDisabled();
  }
  if (o.openAiOnly && state.opts.pooling === "none") {
    throw new ApiError(400, "Pooling type 'none' is not OAI compatible. Please use a different pooling type");
  }
  const inputs = readInputs(engine, body["input"] ?? body["content"], body["input"] !== undefined ? "input" : "content");
  const format = optString(body, "encoding_format") ?? "float";
  if (format !== "float" && format !== "base64") {
    throw new ApiError(400, `'encoding_format' must be float or base64, got '${format}'`);
  }
  const nCtx = engine.facts.nCtxSlot;
  let promptTokens = 0;
  const data = [];
  for (const [index, tokens] of inputs.entries()) {
    if (tokens.length >= nCtx) {
      // "too large" is llama-server's wording, which clients match on
      throw new ApiError(400, `input ${index} is too large to process (${tokens.length} tokens, context is ${nCtx})`, {
        type: "exceed_context_size_error",
        extra: { n_prompt_tokens: tokens.length, n_ctx: nCtx },
      });
    }
    promptTokens += tokens.length;
    const { vector } = await engine.embedding.getEmbeddingFor(tokens);
    const normalized = l2normalize(vector);
    data.push({ object: "embedding", index, embedding: format === "base64" ? toBase64(normalized) : normalized });
  }
  const model = optString(body, "model") || state.modelId;
  return { object: "list", data, model, usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } };
}

/**
 * The prompts of `input`, tokenized. As llama-server: a string is one prompt; an array holding any number is one
 * prompt of token ids and strings mixed; any other array is a list of prompts, each a string or such a mix.
 */
function readInputs(engine: Engine, raw: Json | undefined, field: string): Token[][] {
  if (raw === undefined || raw === null) throw new ApiError(400, `'${field}' is required`);
  if (typeof raw === "string") return [engine.tokenizePrompt(raw)];
  if (!Array.isArray(raw) || raw.length === 0) throw new ApiError(400, `'${field}' must be a string or a non-empty array, got ${typeName(raw)}`);
  if (raw.some((x) => typeof x === "number")) return [mixedPrompt(engine, raw, field)];
  return raw.map((x, i) => {
    if (typeof x === "string") return engine.tokenizePrompt(x);
    if (Array.isArray(x) && x.length > 0) return mixedPrompt(engine, x, `${field}[${i}]`);
    throw new ApiError(400, `'${field}[${i}]' must be a string or a non-empty array of token ids and strings, got ${typeName(x)}`);
  });
}

/** Token ids and strings in one prompt; only a string in first place gets the BOS a prompt starts with. */
function mixedPrompt(engine: Engine, parts: Json[], field: string): Token[] {
  const out: Token[] = [];
  parts.forEach((p, i) => {
    if (typeof p === "string") out.push(...(i === 0 ? engine.tokenizePrompt(p) : engine.model.tokenize(p, true)));
    else if (engine.isTokenId(p)) out.push(p);
    else throw new ApiError(400, `'${field}[${i}]' must be a token id or a string, got ${typeName(p)}`);
  });
  return out;
}

function l2normalize(v: readonly number[]): number[] {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  return norm > 0 ? v.map((x) => x / norm) : [...v];
}

function toBase64(v: number[]): string {
  return Buffer.from(new Float32Array(v).buffer).toString("base64");
}
