// Families that write a marker and then a JSON list of call objects: Granite 3 (`<|tool_call|>[...]`), Command
// R7B (`<|START_ACTION|>[...]<|END_ACTION|>`), FireFunction v2 (` functools[...]`), Apriel
// (`<tool_calls>[...]</tool_calls>`). They differ only in markers and key names.
import { type CallKeys, readCallArray } from "./call-object.js";
import type { ThinkingTags } from "./content.js";
import { grammarLiteral } from "./grammar-text.js";
import { skipWs } from "./json-scan.js";
import { type BodyRead, parseSections } from "./sections.js";
import type { GrammarCall, ParseContext, ParseResult, ToolCallFormat } from "./types.js";

interface ListSpec {
  name: string;
  open: string;
  close?: string;
  keys: CallKeys;
  thinking?: ThinkingTags;
  preservedTokens: readonly string[];
  /** The id comes after the arguments: each call is held back until complete, so that it shows with its id. */
  holdUntilComplete?: boolean;
  /** How one call object is written, for the grammar: the JSON text before the arguments. */
  grammarHead(call: GrammarCall): string;
}

function listFormat(spec: ListSpec): ToolCallFormat {
  const readBody = (s: string, i: number): BodyRead => {
    const j = skipWs(s, i);
    if (j >= s.length) return { state: "more", calls: [] };
    if (s[j] !== "[" && s[j] !== "{") return { state: "invalid", calls: [], at: j };
    const r = readCallArray(s, j, spec.keys);
    return r.state === "more" && spec.holdUntilComplete ? { state: "more", calls: r.calls.slice(0, -1) } : r;
  };
  return {
    name: spec.name,
    preservedTokens: spec.preservedTokens,
    idStyle: "openai",
    thinking: spec.thinking,
    parse: (text: string, ctx: ParseContext): ParseResult =>
      parseSections(text, ctx, { open: [spec.open], close: spec.close, thinking: spec.thinking, readBody }),
    grammar: (calls: readonly GrammarCall[], parallel: boolean) =>
      [
        `tc-root ::= ${grammarLiteral(`${spec.open}[`)} tc-call${parallel ? ` (${grammarLiteral(", ")} tc-call)*` : ""} ${grammarLiteral(`]${spec.close ?? ""}`)}`,
        `tc-call ::= ${calls.map((c) => `${spec.grammarHead(c)} ${c.argsRule} ${grammarLiteral("}")}`).join(" | ")}`,
      ].join("\n"),
  };
}

const nameArgs = (c: GrammarCall) => grammarLiteral(`{"name": ${JSON.stringify(c.name)}, "arguments": `);

export function graniteFormat(): ToolCallFormat {
  return listFormat({
    name: "granite",
    open: "<|tool_call|>",
    keys: { name: ["name"], args: ["arguments", "parameters"] },
    thinking: { open: "<think>", close: "</think>" },
    preservedTokens: ["<|tool_call|>"],
    grammarHead: nameArgs,
  });
}

export function commandR7bFormat(): ToolCallFormat {
  return listFormat({
    name: "command-r7b",
    open: "<|START_ACTION|>",
    close: "<|END_ACTION|>",
    keys: { name: ["tool_name"], args: ["parameters"], id: ["tool_call_id"] },
    thinking: { open: "<|START_THINKING|>", close: "<|END_THINKING|>" },
    preservedTokens: ["<|START_ACTION|>", "<|END_ACTION|>"],
    grammarHead: (c) => `${grammarLiteral('{"tool_call_id": "')} [0-9] [0-9]? ${grammarLiteral(`", "tool_name": ${JSON.stringify(c.name)}, "parameters": `)}`,
  });
}

export function fireFunctionFormat(): ToolCallFormat {
  return listFormat({
    name: "firefunction-v2",
    open: " functools",
    keys: { name: ["name"], args: ["arguments", "parameters"] },
    preservedTokens: [],
    grammarHead: nameArgs,
  });
}

export function aprielFormat(): ToolCallFormat {
  return listFormat({
    name: "apriel",
    open: "<tool_calls>",
    close: "</tool_calls>",
    keys: { name: ["name"], args: ["arguments", "parameters"], id: ["id"] },
    preservedTokens: ["<tool_calls>", "</tool_calls>"],
    holdUntilComplete: true,
    grammarHead: nameArgs,
  });
}
