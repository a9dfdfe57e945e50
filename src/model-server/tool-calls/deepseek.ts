// DeepSeek: calls between <｜tool▁calls▁begin｜> and <｜tool▁calls▁end｜>, each in <｜tool▁call▁begin｜> …
// <｜tool▁call▁end｜>. R1 and V3 write `function<｜tool▁sep｜>name\n```json\n{...}\n```` inside; V3.1 writes
// `name<｜tool▁sep｜>{...}`. Both are read.
import { mayBecome } from "./content.js";
import { grammarLiteral } from "./grammar-text.js";
import { INCOMPLETE, invalidAt, isInvalid, skipValue, skipWs } from "./json-scan.js";
import { type BodyRead, parseSections } from "./sections.js";
import type { GrammarCall, ParseContext, ParseResult, ParsedCall, ToolCallFormat } from "./types.js";

const CALLS_BEGIN = "<｜tool▁calls▁begin｜>";
const CALLS_END = "<｜tool▁calls▁end｜>";
const CALL_BEGIN = "<｜tool▁call▁begin｜>";
const CALL_END = "<｜tool▁call▁end｜>";
const SEP = "<｜tool▁sep｜>";
const THINKING = { open: "<think>", close: "</think>" };

/** What `word` does at `j`: consumed (the index after it), absent (`j`), or maybe still arriving (`-1`). */
function optional(s: string, j: number, word: string, final: boolean): number {
  if (s.startsWith(word, j)) return j + word.length;
  const rest = s.slice(j);
  return !final && rest.length < word.length && word.startsWith(rest) ? -1 : j;
}

function readSection(s: string, i: number, ctx: ParseContext): BodyRead {
  const calls: ParsedCall[] = [];
  let j = i;
  for (;;) {
    j = skipWs(s, j);
    if (s.startsWith(CALLS_END, j)) return { state: "done", calls, end: j + CALLS_END.length };
    if (j >= s.length || (!ctx.final && (CALLS_END.startsWith(s.slice(j)) || CALL_BEGIN.startsWith(s.slice(j))))) {
      return { state: "more", calls };
    }
    if (!s.startsWith(CALL_BEGIN, j)) {
      return calls.length === 0 ? { state: "invalid", calls, at: j } : { state: "done", calls, end: j };
    }
    const r = readCall(s, j + CALL_BEGIN.length, ctx.final);
    if (r.call) calls.push(r.call);
    if (r.state === "more") return { state: "more", calls };
    if (r.state === "invalid") return { state: "invalid", calls, at: r.at };
    j = r.end;
  }
}

type CallRead = { state: "done"; call: ParsedCall; end: number } | { state: "more"; call?: ParsedCall } | { state: "invalid"; call?: ParsedCall; at: number };

function readCall(s: string, i: number, final: boolean): CallRead {
  // the first word is the name (V3.1), or the call type "function" with the name after the separator (R1)
  const first = readName(s, i);
  if (first === undefined) return final ? { state: "invalid", at: i } : { state: "more" };
  let { name, end: j } = first;
  if (!final && mayBecome(s.slice(j), SEP)) return { state: "more" };
  if (s.startsWith(SEP, j)) {
    j += SEP.length;
    const v = skipWs(s, j);
    if (v >= s.length) return final ? { state: "invalid", at: v } : { state: "more" };
    if (name === "function" && s[v] !== "{") {
      const second = readName(s, j);
      if (second === undefined) return final ? { state: "invalid", at: j } : { state: "more" };
      ({ name, end: j } = second);
    }
  }
  const call: ParsedCall = { name, args: "" };
  j = skipWs(s, j);
  for (const fence of ["```json", "```"]) {
    const k = optional(s, j, fence, final);
    if (k < 0) return { state: "more", call };
    if (k > j) {
      j = k;
      break;
    }
  }
  const v = skipWs(s, j);
  if (v >= s.length) return { state: "more", call };
  const end = skipValue(s, v);
  if (end === INCOMPLETE) return { state: "more", call: { name, args: s.slice(v) } };
  if (isInvalid(end)) return { state: "invalid", call: { name, args: s.slice(v, invalidAt(end)) }, at: invalidAt(end) };
  call.args = s.slice(v, end);
  j = skipWs(s, end);
  const afterFence = optional(s, j, "```", final);
  if (afterFence < 0) return { state: "more", call };
  j = skipWs(s, afterFence);
  const afterEnd = optional(s, j, CALL_END, final);
  if (afterEnd < 0 || (j >= s.length && !final)) return { state: "more", call };
  return { state: "done", call, end: afterEnd };
}

/** A name runs up to a newline, the separator or a fence; undefined while none of those has arrived. */
function readName(s: string, i: number): { name: string; end: number } | undefined {
  const m = /[\n`]|<｜/.exec(s.slice(i));
  if (!m) return undefined;
  const name = s.slice(i, i + m.index).trim();
  return name === "" ? undefined : { name, end: i + m.index };
}

function parse(text: string, ctx: ParseContext): ParseResult {
  return parseSections(text, ctx, { open: [CALLS_BEGIN], thinking: THINKING, readBody: readSection });
}

export function deepseekFormat(o: { r1Style: boolean }): ToolCallFormat {
  return {
    name: o.r1Style ? "deepseek-r1" : "deepseek-v3.1",
    preservedTokens: [CALLS_BEGIN, CALLS_END, CALL_BEGIN, CALL_END, SEP],
    idStyle: "openai",
    thinking: THINKING,
    parse,
    grammar: (calls: readonly GrammarCall[], parallel: boolean) => {
      const call = (c: GrammarCall) =>
        o.r1Style
          ? `${grammarLiteral(`${CALL_BEGIN}function${SEP}${c.name}\n\`\`\`json\n`)} ${c.argsRule} ${grammarLiteral(`\n\`\`\`${CALL_END}`)}`
          : `${grammarLiteral(`${CALL_BEGIN}${c.name}${SEP}`)} ${c.argsRule} ${grammarLiteral(CALL_END)}`;
      return [
        `tc-root ::= ${grammarLiteral(CALLS_BEGIN)} tc-call${parallel ? ` (${o.r1Style ? `${grammarLiteral("\n")} ` : ""}tc-call)*` : ""} ${grammarLiteral(CALLS_END)}`,
        `tc-call ::= ${calls.map(call).join(" | ")}`,
      ].join("\n");
    },
  };
}
