// OpenAI's chat.completion as Anthropic's Message: content blocks (thinking, text, tool calls), a stop reason, and
// usage with the cached prompt tokens apart. The streamed answer's counterpart is stream.ts.
import { type ChatCompletion, idSuffix, parseArguments, readUsage } from "../openai/chat.js";

export type AnthropicStopReason = "end_turn" | "max_tokens" | "stop_sequence" | "tool_use";

export type AnthropicContentBlock =
  | { type: "text"; text: string }
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> };

export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
}

export interface AnthropicMessage {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: AnthropicContentBlock[];
  stop_reason: AnthropicStopReason;
  stop_sequence: string | null;
  usage: AnthropicUsage;
}

/**
 * OpenAI's finish_reason says less than Anthropic's stop_reason: "stop" covers both the end of turn and a stop
 * sequence. Engines that name the stop string (vLLM's `stop_reason`) let a stop sequence be told apart.
 */
export function toStopReason(finish: string | null | undefined, matched: unknown, usedTools: boolean): { stop_reason: AnthropicStopReason; stop_sequence: string | null } {
  if (finish === "length") return { stop_reason: "max_tokens", stop_sequence: null };
  if (finish === "tool_calls" || finish === "function_call" || usedTools) return { stop_reason: "tool_use", stop_sequence: null };
  if (typeof matched === "string" && matched !== "") return { stop_reason: "stop_sequence", stop_sequence: matched };
  return { stop_reason: "end_turn", stop_sequence: null };
}

/** Anthropic counts cached prompt tokens apart from input_tokens, which are only the ones processed anew. */
export function toAnthropicUsage(u: ChatCompletion["usage"]): AnthropicUsage {
  const { prompt, cached, completion } = readUsage(u);
  return { input_tokens: prompt - cached, output_tokens: completion, cache_read_input_tokens: cached, cache_creation_input_tokens: 0 };
}

export function toAnthropicId(openAiId: string | undefined): string {
  return `msg_${idSuffix(openAiId)}`;
}

export function chatToAnthropic(c: ChatCompletion): AnthropicMessage {
  const choice = c.choices?.[0];
  const msg = choice?.message;
  const content: AnthropicContentBlock[] = [];
  if (msg?.reasoning_content) content.push({ type: "thinking", thinking: msg.reasoning_content, signature: "" });
  if (msg?.content) content.push({ type: "text", text: msg.content });
  for (const call of msg?.tool_calls ?? []) {
    content.push({ type: "tool_use", id: call.id ?? `toolu_${idSuffix(undefined)}`, name: call.function?.name ?? "", input: parseArguments(call.function?.arguments) });
  }
  // clients read content[0].text; an answer that is empty still has its (empty) text block
  if (content.length === 0) content.push({ type: "text", text: "" });
  const usedTools = content.some((b) => b.type === "tool_use");
  return {
    id: toAnthropicId(c.id),
    type: "message",
    role: "assistant",
    model: c.model ?? "",
    content,
    ...toStopReason(choice?.finish_reason, choice?.stop_reason, usedTools),
    usage: toAnthropicUsage(c.usage),
  };
}
