// Picks a model's tool-call format from its chat template, as llama.cpp's common/chat.cpp does: each family's
// template spells out (or renders past calls with) markers that no other family uses. The most specific checks
// come first: Hermes 3 is a Llama 3.1 model, Qwen3-Coder and Functionary both write `<function=`.
import { deepseekFormat } from "./deepseek.js";
import { functionaryFormat } from "./functionary.js";
import { hermesFormat } from "./hermes.js";
import { aprielFormat, commandR7bFormat, fireFunctionFormat, graniteFormat } from "./json-list.js";
import { llama3Format } from "./llama3.js";
import { mistralFormat } from "./mistral.js";
import { qwen3CoderFormat } from "./qwen3-coder.js";
import type { ToolCallFormat } from "./types.js";

const THINK = { open: "<think>", close: "</think>" };

export function selectToolCallFormat(templateSource: string): ToolCallFormat {
  const has = (s: string) => templateSource.includes(s);
  const thinking = has("<think>") ? THINK : undefined;
  if (has("<tool_call>") && has("<function=") && has("<parameter=")) return qwen3CoderFormat({ thinking });
  if (has("[TOOL_CALLS]")) {
    return mistralFormat({ namedCalls: has("[ARGS]"), thinking: has("[THINK]") ? { open: "[THINK]", close: "[/THINK]" } : undefined });
  }
  if (has("tool▁calls▁begin")) return deepseekFormat({ r1Style: has("```json") });
  if (has("<|START_ACTION|>")) return commandR7bFormat();
  if (has("<function=") && has("<|start_header_id|>")) return functionaryFormat();
  if (has("<tool_calls>[")) return aprielFormat();
  if (has("<tool_call>")) return hermesFormat({ thinking });
  if (has("<|tool_call|>")) return graniteFormat();
  if (has("functools[")) return fireFunctionFormat();
  if (has("<|python_tag|>") || has("ipython<|end_header_id|>")) return llama3Format();
  // A template that mentions no known markers: Hermes is what corral's default template asks for, and the
  // format most fine-tunes were taught.
  return hermesFormat({ thinking });
}
