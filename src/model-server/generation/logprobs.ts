// Token probabilities of a generation, in llama-server's shape: /completion's `completion_probabilities` and the
// OpenAI `logprobs.content` list are the same entries ({id, token, bytes, logprob, top_logprobs}), or with
// `post_sampling_probs` plain probabilities ({…, prob, top_probs}).
import type { Token } from "node-llama-cpp";
import type { TokenPieces } from "./token-pieces.js";

export interface TokenProb {
  id: Token;
  prob: number;
}

/** One generated token: what it added to the text, its probability and the most likely alternatives. */
export interface ProbEntry {
  id: Token;
  /** The text this token released into the answer ("" while held back, e.g. an incomplete character). */
  text: string;
  prob: number;
  top: TokenProb[];
}

/**
 * The sampled token's probability and the `n` most likely tokens, from node-llama-cpp's probability map (sorted,
 * most likely first). Zero probabilities (tokens the samplers cut) are not listed, as llama-server does.
 */
export function pickProbs(probabilities: ReadonlyMap<Token, number>, token: Token, n: number): { prob: number; top: TokenProb[] } {
  const top: TokenProb[] = [];
  for (const [id, prob] of probabilities) {
    if (top.length >= n || prob <= 0) break;
    top.push({ id, prob });
  }
  return { prob: probabilities.get(token) ?? 0, top };
}

/** llama-server's log: the JSON encoder turns -Infinity into null, so a zero probability is the lowest float. */
function logOf(p: number): number {
  return p > 0 ? Math.log(p) : -3.4028234663852886e38;
}

export function probEntriesJson(entries: readonly ProbEntry[], postSampling: boolean, pieces: TokenPieces): Record<string, unknown>[] {
  const valueKey = postSampling ? "prob" : "logprob";
  const value = (p: number) => (postSampling ? p : logOf(p));
  return entries.map((e) => ({
    id: e.id,
    token: e.text,
    bytes: Array.from(pieces.bytes(e.id)),
    [valueKey]: value(e.prob),
    [postSampling ? "top_probs" : "top_logprobs"]: e.top.map((t) => ({
      id: t.id,
      token: pieces.text(t.id),
      bytes: Array.from(pieces.bytes(t.id)),
      [valueKey]: value(t.prob),
    })),
  }));
}

/** Tokens of a stop string are not part of the answer, so their entries go too. */
export function dropHeldTail(entries: ProbEntry[]): ProbEntry[] {
  let end = entries.length;
  while (end > 0 && entries[end - 1]!.text === "") end--;
  return end === entries.length ? entries : entries.slice(0, end);
}
