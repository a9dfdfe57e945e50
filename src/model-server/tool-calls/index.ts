// Tool calls for the chat route: which format the model writes (from its template), the grammar that forces a
// call when tool_choice asks for one, and the parser that turns the answer, whole or streamed, into OpenAI's
// tool_calls.
import type { Llama } from "node-llama-cpp";
import { ApiError } from "../../http/errors.js";
import type { OutputGrammar } from "../generation/response-format.js";
import { createToolCallGrammar, TOOL_GRAMMAR_ROOT, toolCallGrammarText } from "./grammar.js";
import { opensThinking, type ThinkingTags } from "./content.js";
import { grammarLiteral } from "./grammar-text.js";
import { forcedTools, type ToolRequest } from "./request.js";
import { selectToolCallFormat } from "./select.js";
import { type OpenAiToolCall, parseAnswer, ToolCallStream } from "./stream.js";
import type { ToolCallFormat } from "./types.js";

export { readToolRequest, type ToolChoice, type ToolRequest } from "./request.js";
export { selectToolCallFormat } from "./select.js";
export { chunkDelta, parseAnswer, ToolCallStream, type OpenAiToolCall, type StreamDelta, type ToolCallDelta } from "./stream.js";
export type { ToolCallFormat, ToolSpec } from "./types.js";
export { opensThinking, type ThinkingTags } from "./content.js";

/** A chat request's tool calling, once its tools are known and its prompt rendered. */
export class ToolCallPlan {
  /** The prompt ends inside a thinking span, so the answer starts in one. */
  readonly inThinking: boolean;

  constructor(
    readonly format: ToolCallFormat,
    readonly request: ToolRequest,
    promptText: string,
  ) {
    this.inThinking = opensThinking(promptText, format.thinking);
  }

  /**
   * A parser for one streamed answer (`strict`: throw if the parser ever takes back what it sent; for tests).
   * `contentOnly`: the text is the answer's content, its reasoning already taken out (reasoning.ts), so it does not
   * start inside a thinking span even when the prompt opened one.
   */
  stream(o: { strict?: boolean; contentOnly?: boolean } = {}): ToolCallStream {
    return new ToolCallStream(this.format, { parallel: this.request.parallel, inThinking: this.inThinking && !o.contentOnly, tools: this.request.specs, strict: o.strict });
  }

  /**
   * The ids of the format's markers that are single tokens (in the vocabulary, special ones included): llama-server
   * detokenizes exactly these as text even when they are control tokens, so that Mistral's [TOOL_CALLS] or
   * Llama's <|python_tag|> reach the parser. `tokenize` must parse special tokens.
   */
  preservedTokenIds(tokenize: (text: string) => readonly number[]): Set<number> {
    const ids = new Set<number>();
    for (const marker of this.format.preservedTokens) {
      const t = tokenize(marker);
      if (t.length === 1) ids.add(t[0]!);
    }
    return ids;
  }

  /** A whole answer parsed (`contentOnly` as for stream()). */
  parse(text: string, o: { contentOnly?: boolean } = {}): { content: string | null; toolCalls: OpenAiToolCall[] } {
    return parseAnswer(this.format, text, { parallel: this.request.parallel, inThinking: this.inThinking && !o.contentOnly, tools: this.request.specs });
  }

  /** The grammar that forces a call (tool_choice "required" or a named function); undefined for "auto". */
  async grammar(llama: Llama): Promise<OutputGrammar | undefined> {
    const tools = forcedTools(this.request);
    if (!tools || tools.length === 0) return undefined;
    let text = await toolCallGrammarText(this.format, tools, this.request.parallel);
    if (text === undefined) return undefined;
    if (this.inThinking) text = afterThinking(text, this.format.thinking!.close);
    const hit = grammarCache.get(text);
    if (hit) return hit;
    const grammar = await createToolCallGrammar(llama, text).catch((e: Error) => {
      throw new ApiError(400, `cannot build a grammar for these tools: ${e.message}`);
    });
    // the grammar ends where the calls do: no stop text of its own
    const g: OutputGrammar = { grammar, gbnf: text, stopTriggers: [], trimWhitespaceSuffix: false };
    if (grammarCache.size >= GRAMMAR_CACHE_MAX) grammarCache.delete(grammarCache.keys().next().value!);
    grammarCache.set(text, g);
    return g;
  }
}

const grammarCache = new Map<string, OutputGrammar>();
const GRAMMAR_CACHE_MAX = 32;

/**
 * The prompt opened a thinking span, so the calls come after it closes. The thought is free text (without `<`,
 * which keeps the close tag unambiguous), as llama-server lets a model reason before a forced call.
 */
function afterThinking(gbnf: string, close: string): string {
  return `${TOOL_GRAMMAR_ROOT} ::= [^<]* ${grammarLiteral(close)} [\\n]* tc-calls\n${gbnf.replace(`${TOOL_GRAMMAR_ROOT} ::=`, "tc-calls ::=")}`;
}

/** The plan for a request with tools, or undefined when it has none (or tool_choice is "none"). */
export function planToolCalls(request: ToolRequest, templateSource: string, promptText: string): ToolCallPlan | undefined {
  if (!request.tools) return undefined;
  return new ToolCallPlan(selectToolCallFormatCached(templateSource), request, promptText);
}

/**
 * The thinking tags of the model's family (`<think>`, Mistral's [THINK], Command R7B's <|START_THINKING|>), from
 * its template, or undefined for a template that shows no thinking: the spans that reasoning.ts takes out.
 */
export function templateThinking(templateSource: string): ThinkingTags | undefined {
  return selectToolCallFormatCached(templateSource).thinking;
}

/** A server has one template, so the format is worked out once per template text. */
let lastFormat: { source: string; format: ToolCallFormat } | undefined;
function selectToolCallFormatCached(source: string): ToolCallFormat {
  if (lastFormat?.source !== source) lastFormat = { source, format: selectToolCallFormat(source) };
  return lastFormat.format;
}

/** OpenAI's finish_reason: an answer that stopped by itself after calling tools finished with "tool_calls". */
export function toolFinishReason<R extends string>(finish: R, calls: number): R | "tool_calls" {
  return calls > 0 && finish === "stop" ? "tool_calls" : finish;
}
