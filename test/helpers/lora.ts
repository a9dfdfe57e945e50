// A random LoRA adapter for a generated test model, written with the project's GGUF writer in the layout
// llama.cpp's llama_adapter_lora_init reads: general.type "adapter", adapter.type "lora", adapter.lora.alpha, and
// for each adapted weight W a pair W.lora_a [n_in x rank] and W.lora_b [rank x n_out].
import path from "node:path";
import { GgufWriter, gguf } from "../../src/gguf/writer.js";
import { tempDirUntilExit } from "../../src/util/temp-dir.js";

export interface RandomLoraOptions {
  /** The base model's embedding size and vocabulary size (the adapter changes its output projection). */
  dim: number;
  vocabSize: number;
  rank?: number;
  seed?: number;
}

/** Writes the adapter into a new temporary folder and returns its path. */
export async function writeRandomLora(o: RandomLoraOptions): Promise<string> {
  const rank = o.rank ?? 4;
  let state = (o.seed ?? 7) >>> 0;
  // a small xorshift: deterministic values in [-1, 1], large enough to move the output's argmax
  const random = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) / 0xffffffff) * 2 - 1;
  };
  const fill = (n: number) => Float32Array.from({ length: n }, random);
  const writer = new GgufWriter()
    .set("general.architecture", gguf.str("llama"))
    .set("general.type", gguf.str("adapter"))
    .set("adapter.type", gguf.str("lora"))
    .set("adapter.lora.alpha", gguf.f32(rank));
  writer.addTensor({ name: "output.weight.lora_a", dims: [o.dim, rank], type: "f32", data: fill(o.dim * rank) });
  writer.addTensor({ name: "output.weight.lora_b", dims: [rank, o.vocabSize], type: "f32", data: fill(rank * o.vocabSize) });
  const file = path.join(tempDirUntilExit("corral-lora-"), "adapter.gguf");
  await writer.write(file);
  return file;
}
