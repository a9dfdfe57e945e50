// The `prompt` of /completion and /v1/completions, in every form llama-server takes: a string; token ids; a mix of
// both in one list ([12, 34, "text", 56]); an object {"prompt_string": …}; or a list of any of those, one prompt each.
import type { Token } from "node-llama-cpp";
import { ApiError } from "../../http/errors.js";
import { type Json, typeName } from "../../http/validate.js";
import type { Engine } from "../engine/engine.js";

const PROMPT_STRING = "prompt_string";
const MULTIMODAL = "multimodal_data";

/** One token list per prompt; never empty. */
export function readPrompts(engine: Engine, raw: Json | undefined): Token[][] {
  if (raw === undefined || raw === null) throw new ApiError(400, "'prompt' is required");
  // a list holding any number is one prompt (tokens, or tokens mixed with text); any other list is many prompts
  if (Array.isArray(raw) && !raw.some((e) => typeof e === "number")) {
    if (raw.length === 0) throw new ApiError(400, "'prompt' must not be empty");
    return raw.map((p, i) => readOne(engine, p, `prompt[${i}]`));
  }
  return [readOne(engine, raw, "prompt")];
}

function readOne(engine: Engine, p: Json, where: string): Token[] {
  if (typeof p === "string") return engine.tokenizePrompt(p);
  if (Array.isArray(p)) return readMixed(engine, p, where);
  if (typeof p === "object" && p !== null) {
    if (p[MULTIMODAL] !== undefined) {
      throw new ApiError(400, `'${where}.${MULTIMODAL}': this model takes no multimodal input (it has no projector)`);
    }
    const inner = p[PROMPT_STRING];
    if (typeof inner === "string" || Array.isArray(inner)) return readOne(engine, inner, `${where}.${PROMPT_STRING}`);
    throw new ApiError(400, `'${where}' must have a '${PROMPT_STRING}' string`);
  }
  throw new ApiError(400, `'${where}' must be a string, a list of token ids (may mix in strings) or {"${PROMPT_STRING}": …}, got ${typeName(p)}`);
}

/** Token ids are taken as they are; text is tokenized, with BOS only when the list starts with text. */
function readMixed(engine: Engine, items: Json[], where: string): Token[] {
  const out: Token[] = [];
  items.forEach((item, i) => {
    if (typeof item === "string") {
      out.push(...(i === 0 ? engine.tokenizePrompt(item) : engine.tokenizePrompt(item, false)));
    } else if (typeof item === "number") {
      if (!engine.isTokenId(item)) {
        throw new ApiError(400, `'${where}[${i}]' is not a valid token id: ${item} (vocabulary has ${engine.facts.nVocab} tokens)`);
      }
      out.push(item);
    } else {
      throw new ApiError(400, `'${where}[${i}]' must be a token id or a string, got ${typeName(item)}`);
    }
  });
  return out;
}
