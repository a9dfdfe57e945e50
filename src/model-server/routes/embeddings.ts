import type { FastifyInstance } from "fastify";
import type { Token } from "node-llama-cpp";
import { ApiError } from "../../http/errors.js";
import { type Json, optString, requireObjectBody, typeName } from "../../http/validate.js";
import type { Engine } from "../engine.js";
import type { ServerState } from "../state.js";
import { requireReady } from "./ready.js";

export function registerEmbeddingRoutes(app: FastifyInstance, state: ServerState): void {
  for (const path of ["/v1/embeddings", "/embeddings", "/embedding"]) {
    app.post(path, async (req) => {
      const body = requireObjectBody(req.body);
      const { engine } = requireReady(state);
      if (!engine.embedding) {
        throw new ApiError(501, "This server does not support embeddings. Start it with `--embeddings`");
      }
      const inputs = readInputs(engine, body["input"] ?? body["content"], body["input"] !== undefined ? "input" : "content");
      const format = optString(body, "encoding_format") ?? "float";
      if (format !== "float" && format !== "base64") {
        throw new ApiError(400, `'encoding_format' must be float or base64, got '${format}'`);
      }
      const nCtx = engine.facts.nCtxSlot;
      let promptTokens = 0;
      const data = [];
      for (const [index, input] of inputs.entries()) {
        const tokens: Token[] = typeof input === "string" ? engine.tokenizePrompt(input) : input;
        if (tokens.length >= nCtx) {
          throw new ApiError(400, `input ${index} is too long (${tokens.length} tokens, context is ${nCtx})`, {
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
    });
  }
}

/** `input` is a string, a list of strings, a list of token ids, or a list of token-id lists. */
function readInputs(engine: Engine, raw: Json | undefined, field: string): Array<string | Token[]> {
  if (raw === undefined || raw === null) throw new ApiError(400, `'${field}' is required`);
  if (typeof raw === "string") return [raw];
  if (!Array.isArray(raw) || raw.length === 0) throw new ApiError(400, `'${field}' must be a string or a non-empty array, got ${typeName(raw)}`);
  if (raw.every((x) => typeof x === "number")) {
    if (!raw.every((t) => engine.isTokenId(t))) throw new ApiError(400, `'${field}' has an invalid token id`);
    return [raw as Token[]];
  }
  return raw.map((x, i) => {
    if (typeof x === "string") return x;
    if (Array.isArray(x) && x.every((t) => engine.isTokenId(t))) return x as Token[];
    throw new ApiError(400, `'${field}[${i}]' must be a string or an array of token ids`);
  });
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
