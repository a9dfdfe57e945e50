// --verbose-prompt, as llama.cpp's tools print it before generating: the prompt's length in tokens, then each token
// id with its text. The bundled llama-server no longer takes the flag (a router gives it to node models only).
import type { Token } from "node-llama-cpp";
import type { Logger } from "../../util/log.js";
import type { Engine } from "../engine/engine.js";

export function logPromptTokens(log: Logger, engine: Engine, prompt: readonly Token[]): void {
  const lines = prompt.map((t) => `${String(t).padStart(6)} -> '${engine.model.detokenize([t], true)}'`);
  log.info(`prompt: number of tokens in prompt = ${prompt.length}\n${lines.join("\n")}`);
}
