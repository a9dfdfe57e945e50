// Small GBNF text helpers for the tool-call grammars: literals, and renaming the rules of a generated grammar so
// that several can live in one file.
import type { GrammarCall } from "./types.js";

/** A GBNF string literal matching exactly `text`. */
export function grammarLiteral(text: string): string {
  let out = '"';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

/** `{"<nameKey>": "<name>", "<argsKey>": <args>}`, written the way the family's own template writes it. */
export function jsonCallRule(call: GrammarCall, nameKey: string, argsKey: string): string {
  return `${grammarLiteral(`{"${nameKey}": ${JSON.stringify(call.name)}, "${argsKey}": `)} ${call.argsRule} ${grammarLiteral("}")}`;
}

/**
 * Prefixes every rule name in `gbnf` (definitions and references), leaving literals, character classes,
 * repetition counts and comments alone.
 */
export function prefixRules(gbnf: string, prefix: string): string {
  let out = "";
  let i = 0;
  while (i < gbnf.length) {
    const c = gbnf[i]!;
    if (c === '"' || c === "[") {
      const close = c === '"' ? '"' : "]";
      let j = i + 1;
      while (j < gbnf.length && gbnf[j] !== close) j += gbnf[j] === "\\" ? 2 : 1;
      out += gbnf.slice(i, j + 1);
      i = j + 1;
    } else if (c === "{") {
      const j = gbnf.indexOf("}", i);
      out += gbnf.slice(i, j + 1);
      i = j + 1;
    } else if (c === "#") {
      const j = gbnf.indexOf("\n", i);
      const end = j < 0 ? gbnf.length : j;
      out += gbnf.slice(i, end);
      i = end;
    } else if (/[a-zA-Z0-9-]/.test(c)) {
      let j = i;
      while (j < gbnf.length && /[a-zA-Z0-9-]/.test(gbnf[j]!)) j++;
      out += prefix + gbnf.slice(i, j);
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
