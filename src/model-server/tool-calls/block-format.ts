// Formats whose calls are blocks between an opening and a closing tag, one block per call and several in a row when
// calls run in parallel (Hermes' JSON blocks, Qwen3-Coder's XML ones): they differ only in what a block holds.
import type { ThinkingTags } from "./content.js";
import { grammarLiteral } from "./grammar-text.js";
import { type BodyRead, parseSections } from "./sections.js";
import type { GrammarCall, ParseContext, ParseResult, ToolCallFormat } from "./types.js";

export interface BlockFormat {
  name: string;
  open: string;
  close: string;
  thinking: ThinkingTags | undefined;
  /** Reads what one block holds. */
  readBody(s: string, i: number, ctx: ParseContext): BodyRead;
  /** The grammar rule of one block's inside, and the rules it needs. */
  body: string;
  rules(calls: readonly GrammarCall[]): string[];
}

export function blockFormat(b: BlockFormat): ToolCallFormat {
  return {
    name: b.name,
    preservedTokens: [b.open, b.close],
    idStyle: "openai",
    thinking: b.thinking,
    parse: (text: string, ctx: ParseContext): ParseResult =>
      parseSections(text, ctx, { open: [b.open], close: b.close, thinking: b.thinking, readBody: b.readBody }),
    grammar: (calls: readonly GrammarCall[], parallel: boolean) => {
      const one = `${grammarLiteral(`${b.open}\n`)} ${b.body} ${grammarLiteral(`\n${b.close}`)}`;
      return [`tc-root ::= ${one}${parallel ? ` (${grammarLiteral("\n")} ${one})*` : ""}`, ...b.rules(calls)].join("\n");
    },
  };
}
