// Hermes style, `<tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>`, one block per call: Qwen 2.5 and
// Qwen 3, Hermes 2 Pro and 3, Granite 4, SmolLM3, MiMo, and corral's own default template.
import { type CallKeys, readCallArray, readCallObject } from "./call-object.js";
import type { ThinkingTags } from "./content.js";
import { jsonCallRule } from "./grammar-text.js";
import { skipWs } from "./json-scan.js";
import { blockFormat } from "./block-format.js";
import type { BodyRead } from "./sections.js";
import type { ParsedCall, ToolCallFormat } from "./types.js";

export const HERMES_KEYS: CallKeys = { name: ["name"], args: ["arguments", "parameters"], nested: ["function"] };
const OPEN = "<tool_call>";
const CLOSE = "</tool_call>";

/** A block usually holds one object, but some models put several (one per line) or a list in one block. */
function readBlock(s: string, i: number): BodyRead {
  const calls: ParsedCall[] = [];
  let j = skipWs(s, i);
  if (j >= s.length) return { state: "more", calls };
  if (s[j] === "[") return readCallArray(s, j, HERMES_KEYS);
  let end = j;
  for (;;) {
    if (s[j] !== "{") return calls.length === 0 ? { state: "invalid", calls, at: j } : { state: "done", calls, end };
    const r = readCallObject(s, j, HERMES_KEYS);
    if (r.call) calls.push(r.call);
    if (r.state === "more") return { state: "more", calls };
    // a later object that is no call at all is content, from its first brace
    if (r.state === "invalid") return !r.call && calls.length > 0 ? { state: "done", calls, end } : { state: "invalid", calls, at: r.at };
    end = r.end;
    const k = skipWs(s, r.end);
    if (k >= s.length) return { state: "more", calls };
    if (s[k] !== "{") return { state: "done", calls, end };
    j = k;
  }
}

export function hermesFormat(o: { thinking?: ThinkingTags } = {}): ToolCallFormat {
  return blockFormat({
    name: "hermes", open: OPEN, close: CLOSE, thinking: o.thinking, readBody: readBlock, body: "tc-call",
    rules: (calls) => [`tc-call ::= ${calls.map((c) => jsonCallRule(c, "name", "arguments")).join(" | ")}`],
  });
}
