// Embeddings asked of a model whose process would refuse them. llama-server answers 501, which the OpenAI SDKs
// retry three times; the router knows each local model's arguments, so it answers 400 itself (naming the flag and
// the preset key) before anything is loaded or evicted for a request that cannot succeed.
import type { EngineName } from "../engines/types.js";
import { groupPaths } from "../http/endpoints.js";
import { embeddingsDisabled } from "../http/errors.js";

/** What the check needs to know of a model: whether its process serves embeddings (undefined: cannot tell). */
export interface EmbeddingsFacts {
  servesEmbeddings(id: string): boolean | undefined;
}

/** The OpenAI and llama.cpp embedding paths a router forwards. */
export const EMBEDDING_PATHS: ReadonlySet<string> = groupPaths("embeddings");

/**
 * Whether a model's process will serve embeddings, from its engine, arguments and environment: worked out once per
 * catalog (Router's facts), not per request. Undefined where corral cannot see (a command or a remote server has
 * arguments of its own).
 */
export function servesEmbeddings(engine: EngineName, args: readonly string[], env: Readonly<Record<string, string>>): boolean | undefined {
  if (engine !== "node" && engine !== "llama-server") return undefined;
  // reranking turns embeddings on in llama-server; an environment variable reaches the process without arguments
  if (["--embedding", "--embeddings", "--reranking", "--rerank"].some((a) => args.includes(a))) return true;
  return ["LLAMA_ARG_EMBEDDINGS", "LLAMA_ARG_RERANKING"].some((name) => Boolean(env[name] || process.env[name]));
}

/** Throws the 400 when `id` is a local model started without embeddings; anything it cannot be sure of goes through. */
export function refuseDisabledEmbeddings(facts: EmbeddingsFacts, id: string): void {
  if (facts.servesEmbeddings(id) === false) throw embeddingsDisabled(id);
}
