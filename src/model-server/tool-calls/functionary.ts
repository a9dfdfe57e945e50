// Functionary v3.1 (Llama 3.1 based): `<function=name>{...}</function>`, one after another, and
// `<|python_tag|>code` for its code interpreter. (v3.2's `>>>name` format is not read: its template does not
// render under @huggingface/jinja, so a server could not have prompted for it.)
import { grammarLiteral } from "./grammar-text.js";
import { INCOMPLETE, invalidAt, isInvalid, skipValue, skipWs } from "./json-scan.js";
import { readPythonTag } from "./llama3.js";
import { type BodyRead, parseSections } from "./sections.js";
import type { GrammarCall, ParseContext, ParseResult, ToolCallFormat } from "./types.js";

const FUNCTION = "<function=";
const FUNCTION_END = "</function>";
const PYTHON_TAG = "<|python_tag|>";

function readFunction(s: string, i: number): BodyRead {
  const gt = s.indexOf(">", i);
  if (gt < 0) return /^[\w.-]*$/.test(s.slice(i)) ? { state: "more", calls: [] } : { state: "invalid", calls: [], at: i };
  const name = s.slice(i, gt);
  if (!/^[\w.-]+$/.test(name)) return { state: "invalid", calls: [], at: i };
  const v = skipWs(s, gt + 1);
  if (v >= s.length) return { state: "more", calls: [{ name, args: "" }] };
  const end = skipValue(s, v);
  if (end === INCOMPLETE) return { state: "more", calls: [{ name, args: s.slice(v) }] };
  if (isInvalid(end)) return { state: "invalid", calls: [{ name, args: s.slice(v, invalidAt(end)) }], at: invalidAt(end) };
  return { state: "done", calls: [{ name, args: s.slice(v, end) }], end };
}

function parse(text: string, ctx: ParseContext): ParseResult {
  return parseSections(text, ctx, {
    open: [FUNCTION, PYTHON_TAG],
    close: FUNCTION_END,
    readBody: (s, i, c, marker) => (marker === FUNCTION ? readFunction(s, i) : readPythonTag(s, i, c)),
  });
}

export function functionaryFormat(): ToolCallFormat {
  return {
    name: "functionary-v3.1",
    preservedTokens: [PYTHON_TAG],
    idStyle: "openai",
    parse,
    grammar: (calls: readonly GrammarCall[], parallel: boolean) =>
      [
        `tc-root ::= tc-call${parallel ? " (tc-call)*" : ""}`,
        `tc-call ::= ${calls.map((c) => `${grammarLiteral(`${FUNCTION}${c.name}>`)} ${c.argsRule} ${grammarLiteral(FUNCTION_END)}`).join(" | ")}`,
      ].join("\n"),
  };
}
