// The shapes shared by every tool-call family.
import type { ThinkingTags } from "./content.js";

/** A function the request offers (`tools[i].function`), as far as parsing and grammars need it. */
export interface ToolSpec {
  name: string;
  /** The JSON schema of the arguments; `{}` when the tool declares none. */
  parameters: Record<string, unknown>;
}

/**
 * One call as far as the text shows it. `args` is the arguments' JSON text as the model wrote it, and only ever
 * grows while the text does; `id` is the model's own id for the call, in families whose format carries one.
 */
export interface ParsedCall {
  name: string;
  args: string;
  id?: string;
}

/**
 * What a parse of a (maybe partial) answer found. Both fields only ever grow as text is appended: `content`
 * never includes text that may turn out to be part of a call, and a call appears only once its name is complete.
 */
export interface ParseResult {
  content: string;
  calls: ParsedCall[];
}

export interface ParseContext {
  /** `final`: the text is the whole answer; else more may follow and ambiguous tails are held back. */
  final: boolean;
  /** The prompt ends inside a thinking span (e.g. DeepSeek R1's `<think>\n`), so the answer starts in one. */
  inThinking: boolean;
  /** The request's tools, for families whose arguments are typed by the schema (Qwen3-Coder's XML). */
  tools: readonly ToolSpec[];
}

/** A family's format: how its calls look in text, and how to force a call with a grammar. */
export interface ToolCallFormat {
  /** A short name for logs and /props-style reporting, e.g. "hermes". */
  readonly name: string;
  parse(text: string, ctx: ParseContext): ParseResult;
  /**
   * Marker strings that are special tokens in the family's vocabulary. llama-server detokenizes these as text
   * (its "preserved tokens") so that the parser can see them; a decoder that drops special tokens loses them.
   */
  readonly preservedTokens: readonly string[];
  /** Mistral's templates refuse any tool call id that is not 9 alphanumerics. */
  readonly idStyle: "openai" | "mistral";
  readonly thinking?: ThinkingTags;
  /** GBNF for "the answer is one or more calls of these tools" (tool_choice required); see grammar.ts. */
  grammar?(calls: readonly GrammarCall[], parallel: boolean): string;
}

/**
 * A tool as a grammar sees it: its name, the GBNF rule that matches its arguments as JSON, and their schema (as
 * reduced for the converter) for formats that do not write arguments as JSON.
 */
export interface GrammarCall {
  name: string;
  argsRule: string;
  schema: Record<string, unknown>;
}
