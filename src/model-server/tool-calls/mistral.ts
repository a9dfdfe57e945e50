// Mistral: calls follow the [TOOL_CALLS] control token. Older models (Nemo, Small 3.1 and before) write a JSON
// list, `[TOOL_CALLS][{"name": "f", "arguments": {...}, "id": "a1b2c3d4e"}]`; newer ones (Small 3.2, Devstral,
// Magistral, Ministral 3) write each call as `[TOOL_CALLS]f[CALL_ID]a1b2c3d4e[ARGS]{...}` or without the id.
// Both are accepted whichever the template shows, since fine-tunes mix them up.
import { type CallKeys, readCallArray } from "./call-object.js";
import type { ThinkingTags } from "./content.js";
import { grammarLiteral, jsonCallRule } from "./grammar-text.js";
import { INCOMPLETE, invalidAt, isInvalid, skipValue, skipWs } from "./json-scan.js";
import { type BodyRead, parseSections } from "./sections.js";
import type { GrammarCall, ParseContext, ParseResult, ToolCallFormat } from "./types.js";

const TOOL_CALLS = "[TOOL_CALLS]";
const CALL_ID = "[CALL_ID]";
const ARGS = "[ARGS]";
const KEYS: CallKeys = { name: ["name"], args: ["arguments", "parameters"], id: ["id"], nested: ["function"] };
const NAME = /[A-Za-z0-9_.:-]+/y;
const ID = /[A-Za-z0-9]*/y;

function readBody(s: string, i: number, ctx: ParseContext): BodyRead {
  const j = skipWs(s, i);
  if (j >= s.length) return { state: "more", calls: [] };
  if (s[j] === "[" || s[j] === "{") {
    const r = readCallArray(s, j, KEYS);
    // the id comes after the arguments: a call is held back until complete, so that it shows with its own id
    if (r.state === "more") return { state: "more", calls: r.calls.slice(0, -1) };
    return r;
  }
  return readNamed(s, j, ctx.final);
}

/** `name[CALL_ID]id[ARGS]{...}` or `name[ARGS]{...}`, from `i`. */
function readNamed(s: string, i: number, final: boolean): BodyRead {
  NAME.lastIndex = i;
  if (!NAME.exec(s)) return { state: "invalid", calls: [], at: i };
  const name = s.slice(i, NAME.lastIndex);
  let j = NAME.lastIndex;
  let id: string | undefined;
  const rest = () => s.slice(j, j + CALL_ID.length);
  if (s.startsWith(CALL_ID, j)) {
    ID.lastIndex = j + CALL_ID.length;
    ID.exec(s);
    id = s.slice(j + CALL_ID.length, ID.lastIndex);
    j = ID.lastIndex;
  }
  if (!s.startsWith(ARGS, j)) {
    const waiting = j >= s.length || (id === undefined && CALL_ID.startsWith(rest())) || ARGS.startsWith(rest());
    return waiting && !final ? { state: "more", calls: [] } : { state: "invalid", calls: [], at: j };
  }
  const v = skipWs(s, j + ARGS.length);
  const call = id ? { name, args: "", id } : { name, args: "" };
  if (v >= s.length) return { state: "more", calls: [call] };
  const end = skipValue(s, v);
  if (end === INCOMPLETE) return { state: "more", calls: [{ ...call, args: s.slice(v) }] };
  if (isInvalid(end)) return { state: "invalid", calls: [{ ...call, args: s.slice(v, invalidAt(end)) }], at: invalidAt(end) };
  return { state: "done", calls: [{ ...call, args: s.slice(v, end) }], end };
}

export function mistralFormat(o: { namedCalls: boolean; thinking?: ThinkingTags }): ToolCallFormat {
  return {
    name: o.namedCalls ? "mistral" : "mistral-nemo",
    preservedTokens: [TOOL_CALLS, CALL_ID, ARGS],
    idStyle: "mistral",
    thinking: o.thinking,
    parse: (text: string, ctx: ParseContext): ParseResult =>
      parseSections(text, ctx, { open: [TOOL_CALLS], thinking: o.thinking, readBody }),
    grammar: (calls: readonly GrammarCall[], parallel: boolean) => {
      if (o.namedCalls) {
        const one = `${grammarLiteral(TOOL_CALLS)} tc-call`;
        return [
          `tc-root ::= ${one}${parallel ? ` (${one})*` : ""}`,
          `tc-call ::= ${calls.map((c) => `${grammarLiteral(c.name + ARGS)} ${c.argsRule}`).join(" | ")}`,
        ].join("\n");
      }
      return [
        `tc-root ::= ${grammarLiteral(`${TOOL_CALLS}[`)} tc-call${parallel ? ` (${grammarLiteral(", ")} tc-call)*` : ""} ${grammarLiteral("]")}`,
        `tc-call ::= ${calls.map((c) => jsonCallRule(c, "name", "arguments")).join(" | ")}`,
      ].join("\n");
    },
  };
}
