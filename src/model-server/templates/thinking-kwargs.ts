// Whether a thinking model thinks is up to its chat template, which reads `enable_thinking` (Qwen3, DeepSeek R1,
// Command R7B) or `reasoning_effort` (gpt-oss): these are the variables that switch it, from the server's flags and
// from a request's reasoning_effort, as llama-server sets them.
import { parseReasoningSwitch } from "../../options/value-formats.js";
import { ApiError } from "../../http/errors.js";
import { type JsonObject, typeName } from "../../http/validate.js";

/**
 * The chat template's variables from the server's flags: `enable_thinking`, which llama-server always gives a
 * template (templates that cannot think ignore it; DeepSeek R1's closes the thought at once without it), from
 * -rea/--reasoning, over or under --chat-template-kwargs: auto leaves an explicit enable_thinking there in place,
 * on and off override it, as llama-server's --reasoning does.
 */
export function defaultTemplateKwargs(reasoning: string | undefined, kwargs: JsonObject): JsonObject {
  const choice = reasoning === undefined ? "auto" : parseReasoningSwitch(reasoning);
  if (choice === "auto") return { enable_thinking: true, ...kwargs };
  return { ...kwargs, enable_thinking: choice === "on" };
}

/**
 * OpenAI's `reasoning_effort` as template variables, as llama-server passes it: "none" turns thinking off, any
 * other level reaches templates that read `reasoning_effort` (gpt-oss). A request's chat_template_kwargs go over it.
 */
export function effortKwargs(body: JsonObject): JsonObject {
  const v = body["reasoning_effort"];
  if (v === undefined || v === null || v === "") return {};
  if (typeof v !== "string") throw new ApiError(400, `'reasoning_effort' must be a string, got ${typeName(v)}`);
  return v === "none" ? { enable_thinking: false } : { reasoning_effort: v };
}
