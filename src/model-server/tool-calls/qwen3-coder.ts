// Qwen3-Coder's XML calls, also used by Qwen3.5, Nemotron 3 Nano and StepFun 3.5:
//   <tool_call>\n<function=f>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>
// Values are bare text; the tool's schema says which are strings and which are JSON (numbers, objects...).
import { mayBecome, partialMarkerSuffix, type ThinkingTags } from "./content.js";
import { grammarLiteral } from "./grammar-text.js";
import { encodeStringPrefix, skipWs } from "./json-scan.js";
import { blockFormat } from "./block-format.js";
import type { BodyRead } from "./sections.js";
import type { GrammarCall, ParseContext, ParsedCall, ToolCallFormat, ToolSpec } from "./types.js";

const OPEN = "<tool_call>";
const CLOSE = "</tool_call>";
const FUNCTION = "<function=";
const FUNCTION_END = "</function>";
const PARAM = "<parameter=";
const PARAM_END = "</parameter>";

function readBlock(s: string, i: number, ctx: ParseContext): BodyRead {
  const calls: ParsedCall[] = [];
  let j = skipWs(s, i);
  for (;;) {
    if (j >= s.length || (!ctx.final && mayBecome(s.slice(j), FUNCTION))) return { state: "more", calls };
    if (!s.startsWith(FUNCTION, j)) return calls.length === 0 ? { state: "invalid", calls, at: j } : { state: "done", calls, end: j };
    const r = readFunction(s, j + FUNCTION.length, ctx);
    if (r.call) calls.push(r.call);
    if (r.state === "more") return { state: "more", calls };
    if (r.state === "invalid") return { state: "invalid", calls, at: r.at };
    j = skipWs(s, r.end);
  }
}

type FunctionRead = { state: "done"; call: ParsedCall; end: number } | { state: "more"; call?: ParsedCall } | { state: "invalid"; call?: ParsedCall; at: number };

function readFunction(s: string, i: number, ctx: ParseContext): FunctionRead {
  const gt = s.indexOf(">", i);
  if (gt < 0) return /^[\w.:-]*$/.test(s.slice(i)) ? { state: "more" } : { state: "invalid", at: i };
  const name = s.slice(i, gt).trim();
  if (!/^[\w.:-]+$/.test(name)) return { state: "invalid", at: i };
  const schema = propertiesOf(ctx.tools.find((t) => t.name === name));
  const entries: string[] = [];
  const call = (partial?: string): ParsedCall => ({ name, args: `{${[...entries, ...(partial === undefined ? [] : [partial])].join(", ")}` });
  let j = gt + 1;
  for (;;) {
    j = skipWs(s, j);
    if (s.startsWith(FUNCTION_END, j)) return { state: "done", call: { name, args: `${call().args}}` }, end: j + FUNCTION_END.length };
    if (j >= s.length || (!ctx.final && (mayBecome(s.slice(j), FUNCTION_END) || mayBecome(s.slice(j), PARAM)))) return { state: "more", call: call() };
    // anything else ends the call, as a missing </function> would
    if (!s.startsWith(PARAM, j)) return { state: "done", call: { name, args: `${call().args}}` }, end: j };
    const keyEnd = s.indexOf(">", j + PARAM.length);
    if (keyEnd < 0) return { state: "more", call: call() };
    const key = s.slice(j + PARAM.length, keyEnd).trim();
    const valueStart = keyEnd + 1;
    const close = s.indexOf(PARAM_END, valueStart);
    const isString = isStringParam(schema, key);
    if (close < 0) {
      if (ctx.final) {
        entries.push(entry(key, trimValue(s.slice(valueStart)), isString));
        return { state: "more", call: call() };
      }
      if (!isString) return { state: "more", call: call() };
      // a string value streams as it comes, holding back what may be its closing tag or final newline
      let end = s.length - partialMarkerSuffix(s, valueStart, [`\n${PARAM_END}`, PARAM_END]);
      if (s[end - 1] === "\n") end--;
      const value = s.slice(valueStart, end).replace(/^\n/, "");
      return { state: "more", call: call(`${JSON.stringify(key)}: ${encodeStringPrefix(value)}`) };
    }
    entries.push(entry(key, trimValue(s.slice(valueStart, close)), isString));
    j = close + PARAM_END.length;
  }
}

/** The template writes `>\nvalue\n</parameter>`: one newline each side belongs to the markup. */
function trimValue(v: string): string {
  return v.replace(/^\n/, "").replace(/\n$/, "");
}

function entry(key: string, value: string, isString: boolean): string {
  if (!isString) {
    try {
      return `${JSON.stringify(key)}: ${JSON.stringify(JSON.parse(value))}`;
    } catch {
      // not JSON after all: pass it on as the text it is
    }
  }
  return `${JSON.stringify(key)}: ${JSON.stringify(value)}`;
}

function propertiesOf(tool: ToolSpec | undefined): Record<string, unknown> | undefined {
  const props = tool?.parameters["properties"];
  return props && typeof props === "object" && !Array.isArray(props) ? (props as Record<string, unknown>) : undefined;
}

/** Strings unless the schema says otherwise; a parameter the schema does not know is taken as text. */
function isStringParam(props: Record<string, unknown> | undefined, key: string): boolean {
  const p = props?.[key] as { type?: unknown } | undefined;
  if (!p || p.type === undefined) return true;
  const types = Array.isArray(p.type) ? p.type : [p.type];
  return types.includes("string");
}

function functionRule(c: GrammarCall): string {
  const props = (c.schema["properties"] ?? {}) as Record<string, Record<string, unknown>>;
  const params = Object.entries(props).map(
    ([key, p]) => `${grammarLiteral(`${PARAM}${key}>\n`)} ${valueRule(p)} ${grammarLiteral(`\n${PARAM_END}\n`)}`,
  );
  const extra = c.schema["additionalProperties"] === true ? " tc-param*" : "";
  return `(${grammarLiteral(`${FUNCTION}${c.name}>\n`)} ${params.join(" ")}${extra} ${grammarLiteral(FUNCTION_END)})`;
}

/** A parameter's bare value: the listed values for an enum, digits for a number, any text without `<` else. */
function valueRule(p: Record<string, unknown>): string {
  const options = "const" in p ? [p["const"]] : Array.isArray(p["enum"]) ? p["enum"] : undefined;
  if (options) return `(${options.map((o) => grammarLiteral(typeof o === "string" ? o : JSON.stringify(o))).join(" | ")})`;
  if (p["type"] === "integer") return `"-"? [0-9]+`;
  if (p["type"] === "number") return `"-"? [0-9]+ ("." [0-9]+)?`;
  if (p["type"] === "boolean") return `("true" | "false")`;
  return "[^<]*";
}

export function qwen3CoderFormat(o: { thinking?: ThinkingTags } = {}): ToolCallFormat {
  return blockFormat({
    name: "qwen3-coder", open: OPEN, close: CLOSE, thinking: o.thinking, readBody: readBlock, body: "tc-function",
    // arguments are not JSON here, so the grammar writes each required parameter itself, typed as far as text
    // allows; optional ones may follow, untyped
    rules: (calls) => [
      `tc-function ::= ${calls.map(functionRule).join(" | ")}`,
      `tc-param ::= ${grammarLiteral(PARAM)} [a-zA-Z0-9_]+ ${grammarLiteral(">\n")} [^<]* ${grammarLiteral(`\n${PARAM_END}\n`)}`,
    ],
  });
}
