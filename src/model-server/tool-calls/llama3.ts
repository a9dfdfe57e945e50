// Llama 3.1 / 3.2 / 3.3: a call is the whole answer, a bare JSON object `{"name": "f", "parameters": {...}}` (as
// the template asks and renders past calls), or follows `<|python_tag|>`: a JSON call, a built-in tool call
// `brave_search.call(query="...")`, or raw code for the code interpreter.
import { type CallKeys, readCallObject } from "./call-object.js";
import { jsonCallRule } from "./grammar-text.js";
import { encodeStringPrefix, skipWs } from "./json-scan.js";
import { type BodyRead, parseSections } from "./sections.js";
import type { GrammarCall, ParseContext, ParseResult, ParsedCall, ToolCallFormat } from "./types.js";

const PYTHON_TAG = "<|python_tag|>";
const KEYS: CallKeys = { name: ["name"], args: ["parameters", "arguments"], nested: ["function"] };
/** With no marker, only an object that starts like a call is one; `{"answer": 42}` is an answer. */
const BARE_KEYS: CallKeys = { ...KEYS, firstKeys: ["name", "type", "function"] };

/** Calls written back to back, `{...}; {...}` or one per line, from `i` (at a `{`). */
function readObjects(s: string, i: number, keys: CallKeys): BodyRead {
  const calls: ParsedCall[] = [];
  let j = i;
  let end = i;
  for (;;) {
    const r = readCallObject(s, j, keys);
    if (r.call) calls.push(r.call);
    if (r.state === "more") return { state: "more", calls };
    // a later object that is no call at all is content, from its first brace
    if (r.state === "invalid") return !r.call && calls.length > 0 ? { state: "done", calls, end } : { state: "invalid", calls, at: r.at };
    end = r.end;
    let k = skipWs(s, r.end);
    if (s[k] === ";") k = skipWs(s, k + 1);
    if (k >= s.length) return { state: "more", calls };
    if (s[k] !== "{") return { state: "done", calls, end: r.end };
    j = k;
  }
}

const BUILTIN = /^(\w+)\.call\(/;
const MAYBE_BUILTIN = /^\w*(\.(c(a(l(l)?)?)?)?)?$/;

export function readPythonTag(s: string, i: number, ctx: ParseContext): BodyRead {
  const j = skipWs(s, i);
  if (j >= s.length) return { state: "more", calls: [] };
  if (s[j] === "{") {
    const r = readObjects(s, j, KEYS);
    if (r.state !== "invalid" || r.calls.length > 0) return r;
  }
  const rest = s.slice(j);
  const builtin = BUILTIN.exec(rest);
  if (builtin) return readBuiltin(s, j + builtin[0].length, builtin[1]!);
  if (!ctx.final && MAYBE_BUILTIN.test(rest)) return { state: "more", calls: [] };
  // anything else is code for the code interpreter, up to the end of the answer
  const code = s.slice(i);
  const args = ctx.final ? `{"code": ${JSON.stringify(code)}}` : `{"code": ${encodeStringPrefix(code)}`;
  const call = { name: "python", args };
  return ctx.final ? { state: "done", calls: [call], end: s.length } : { state: "more", calls: [call] };
}

/** `name.call(key="value", other=2)`: the arguments only show once the closing parenthesis is there. */
function readBuiltin(s: string, i: number, name: string): BodyRead {
  const close = closingParen(s, i);
  if (close < 0) return { state: "more", calls: [{ name, args: "" }] };
  const args: Record<string, unknown> = {};
  for (const m of s.slice(i, close).matchAll(/(\w+)\s*=\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^,]*)/g)) {
    args[m[1]!] = pythonValue(m[2]!.trim());
  }
  return { state: "done", calls: [{ name, args: JSON.stringify(args) }], end: close + 1 };
}

/** Index of the `)` that closes a call whose arguments start at `i`, skipping quoted strings; -1 if not there yet. */
function closingParen(s: string, i: number): number {
  let quote = "";
  for (let j = i; j < s.length; j++) {
    const c = s[j]!;
    if (quote) {
      if (c === "\\") j++;
      else if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (c === ")") return j;
  }
  return -1;
}

function pythonValue(raw: string): unknown {
  if (raw.startsWith('"')) {
    try {
      return JSON.parse(raw);
    } catch {
      return raw.slice(1, -1);
    }
  }
  if (raw.startsWith("'")) return raw.slice(1, -1).replace(/\\'/g, "'");
  const n = Number(raw);
  return raw !== "" && Number.isFinite(n) ? n : raw;
}

function parse(s: string, ctx: ParseContext): ParseResult {
  const out: ParseResult = { content: "", calls: [] };
  const start = skipWs(s, 0);
  let from = 0;
  if (start < s.length && s[start] === "{") {
    const r = readObjects(s, start, BARE_KEYS);
    out.calls.push(...r.calls);
    if (r.state === "more") {
      if (ctx.final && r.calls.length === 0) out.content = s;
      return out;
    }
    if (r.state === "done") from = r.end;
    else if (r.calls.length > 0) from = r.at;
  }
  return parseSections(s, ctx, { open: [PYTHON_TAG], readBody: readPythonTag }, from, out);
}

export function llama3Format(): ToolCallFormat {
  return {
    name: "llama3",
    preservedTokens: [PYTHON_TAG],
    idStyle: "openai",
    parse,
    // the template renders one call per assistant turn and refuses more, so the grammar asks for one
    grammar: (calls: readonly GrammarCall[]) =>
      `tc-root ::= ${calls.map((c) => jsonCallRule(c, "name", "parameters")).join(" | ")}`,
  };
}
