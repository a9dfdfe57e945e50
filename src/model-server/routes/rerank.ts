// POST /rerank (also /reranking, /v1/rerank, /v1/reranking) with --reranking: scores documents against a query.
// Two request shapes, as llama-server: Jina's (`documents`; answers {model, object, usage, results[{index,
// relevance_score}]}) and Hugging Face TEI's (`texts`; answers a bare array of {index, score[, text]}). Results are
// sorted by score, best first, and cut to `top_n`.
import type { FastifyInstance } from "fastify";
import type { Token } from "node-llama-cpp";
import { ApiError } from "../../http/errors.js";
import { type Json, type JsonObject, optBool, optNumber, optString, requireObjectBody, typeName } from "../../http/validate.js";
import type { ServerState } from "../server/state.js";
import { requireReady } from "./ready.js";
import { ENDPOINTS } from "../../http/endpoints.js";
import { routeEndpoint } from "./endpoint-route.js";

interface Ranked {
  index: number;
  score: number;
}

export function registerRerankRoutes(app: FastifyInstance, state: ServerState): void {
  routeEndpoint(app, ENDPOINTS.rerank, async (req, reply) => {
    const body = requireObjectBody(req.body);
    const { engine } = requireReady(state);
    const ranker = engine.ranker;
    if (!ranker) throw new ApiError(501, "This server does not support reranking. Start it with `--reranking`");
    // a request naming `texts` is TEI's, whatever else it carries (as llama-server decides it)
    const tei = body["texts"] !== undefined;
    const query = optString(body, "query");
    if (query === undefined) throw new ApiError(400, "'query' is required and must be a string");
    const documents = readDocuments(body);
    const topN = optNumber(body, "top_n", { int: true, min: 0 }) ?? documents.length;
    const returnText = tei && (optBool(body, "return_text") ?? false);

    // every pair is checked before any is scored, so a 400 costs no evaluation
    const pairs = documents.map((doc, index) => checkedTokens(ranker.tokensFor(query, doc), index, ranker.contextSize));
    let gone = false;
    reply.raw.once("close", () => (gone = !reply.raw.writableFinished));
    const ranked: Ranked[] = [];
    let promptTokens = 0;
    for (const [index, tokens] of pairs.entries()) {
      if (gone) throw new ApiError(499, "request cancelled");
      ranked.push({ index, score: await ranker.score(tokens) });
      promptTokens += tokens.length;
    }
    // a stable sort: equal scores keep the documents' order
    const top = ranked.sort((a, b) => b.score - a.score).slice(0, topN);

    if (tei) return top.map((r) => ({ index: r.index, score: r.score, ...(returnText ? { text: documents[r.index] } : {}) }));
    return {
      model: optString(body, "model") || state.modelId,
      object: "list",
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
      results: top.map((r) => ({ index: r.index, relevance_score: r.score })),
    };
  });
}

/** `documents` (or TEI's `texts`): a non-empty array of strings. */
function readDocuments(body: JsonObject): string[] {
  const field = body["documents"] !== undefined && body["documents"] !== null ? "documents" : "texts";
  const raw: Json | undefined = body[field];
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new ApiError(400, `'documents' must be a non-empty array of strings, got ${raw === undefined ? "nothing" : typeName(raw)}`);
  }
  raw.forEach((d, i) => {
    if (typeof d !== "string") throw new ApiError(400, `'${field}[${i}]' must be a string, got ${typeName(d)}`);
  });
  return raw as string[];
}

function checkedTokens(tokens: Token[], index: number, nCtx: number): Token[] {
  if (tokens.length === 0) throw new ApiError(400, `document ${index}: the query and the document are both empty`);
  if (tokens.length > nCtx) {
    throw new ApiError(400, `document ${index} with the query is too large to process (${tokens.length} tokens, context is ${nCtx})`, {
      type: "exceed_context_size_error",
      extra: { n_prompt_tokens: tokens.length, n_ctx: nCtx },
    });
  }
  return tokens;
}
