// --cache-reuse N, as llama-server does it: beyond the prefix a new prompt shares with a slot's cache, chunks of at
// least N cached tokens that the prompt repeats further on (say, after an edit near the start of a long prompt)
// are kept and shifted into place in the KV cache instead of being evaluated again. Only the gaps between them
// are discarded.
import type { LlamaContextSequence, Token } from "node-llama-cpp";

/**
 * Moves reusable cached chunks into place after the first `keep` tokens, and returns how many of the prompt's
 * tokens the cache now holds (the new `keep`; the caller erases whatever cache follows it). One prompt token is
 * always left to evaluate: the logits of the next token come from it.
 */
export async function reuseCachedChunks(seq: LlamaContextSequence, prompt: readonly Token[], keep: number, minChunk: number): Promise<number> {
  if (minChunk <= 0) return keep;
  const last = prompt.length - 1;
  let headP = keep; // the next prompt position to fill, and its cache position once filled
  let headC = keep; // where the cached tokens not yet looked at begin
  while (headC < seq.nextTokenIndex && headP < last) {
    const cache = seq.contextTokens;
    let n = 0;
    while (headC + n < cache.length && headP + n < last && cache[headC + n] === prompt[headP + n]) n++;
    if (n >= minChunk) {
      // drop the gap before the chunk; node-llama-cpp shifts the chunk (and everything after it) down
      if (headC > headP) await seq.eraseContextTokenRanges([{ start: headP, end: headC }]);
      headP += n;
      headC = headP;
    } else {
      headC++;
    }
  }
  return headP;
}
