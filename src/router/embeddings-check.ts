// Embeddings asked of a model whose process would refuse them. llama-server answers 501, which the OpenAI SDKs
// retry three times; the router knows each local model's arguments, so it answers 400 itself (naming the flag and
// the preset key) before anything is loaded or evicted for a request that cannot succeed.
import { embeddingsDisabled } from "../http/errors.js";
import type { Router } from "./router.js";

/** The OpenAI and llama.cpp embedding paths a router forwards. */
export const EMBEDDING_PATHS: ReadonlySet<string> = new Set(["/v1/embeddings", "/embeddings", "/embedding"]);

/** Throws the 400 when `id` is a local model started without embeddings; anything it cannot be sure of goes through. */
export function refuseDisabledEmbeddings(router: Router, id: string): void {
  const m = router.inspect(id);
  // a command or a remote server has arguments of its own that corral cannot see
  if (!m || (m.engine !== "node" && m.engine !== "llama-server")) return;
  // reranking turns embeddings on in llama-server; an environment variable reaches the process without arguments
  const on = (a: string) => m.args.includes(a);
  if (on("--embedding") || on("--embeddings") || on("--reranking") || on("--rerank")) return;
  for (const name of ["LLAMA_ARG_EMBEDDINGS", "LLAMA_ARG_RERANKING"]) {
    if (m.spec.env[name] || process.env[name]) return;
  }
  throw embeddingsDisabled(id);
}
