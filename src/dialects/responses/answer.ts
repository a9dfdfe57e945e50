// OpenAI's chat.completion as a Response object, and the items and frame the streamed answer (stream.ts) builds
// the same Response from.
import { type ChatCompletion, type ChatToolCall, idSuffix, readUsage } from "../openai/chat.js";

export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export function toResponseUsage(u: ChatCompletion["usage"]): ResponseUsage {
  const { prompt, cached, completion } = readUsage(u);
  return {
    input_tokens: prompt,
    input_tokens_details: { cached_tokens: cached },
    output_tokens: completion,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: prompt + completion,
  };
}

/** The ids of a response and its items, all derived from the chat completion's id. */
export function responseIds(openAiId: string | undefined): { response: string; message: string; reasoning: string } {
  const s = idSuffix(openAiId);
  return { response: `resp_${s}`, message: `msg_${s}`, reasoning: `rs_${s}` };
}

export const messageItem = (id: string, text: string, status: "in_progress" | "completed") => ({
  id, type: "message", status, role: "assistant",
  content: status === "completed" ? [outputTextPart(text)] : [],
});

export const outputTextPart = (text: string) => ({ type: "output_text", text, annotations: [], logprobs: [] });

export const reasoningItem = (id: string, text: string, status: "in_progress" | "completed") => ({
  id, type: "reasoning", status, summary: [],
  content: status === "completed" ? [{ type: "reasoning_text", text }] : [],
});

export const functionCallItem = (call: ChatToolCall, status: "in_progress" | "completed", index: number) => ({
  id: `fc_${idSuffix(call.id)}${index > 0 ? `_${index}` : ""}`,
  type: "function_call",
  status,
  call_id: call.id ?? `call_${idSuffix(undefined)}`,
  name: call.function?.name ?? "",
  arguments: status === "completed" ? (call.function?.arguments ?? "") : "",
});

/**
 * The Response object's frame. A response cut short by max_output_tokens still says "completed", as llama-server
 * does: its streaming clients wait for response.completed, and the Responses API would send another event.
 */
export function responseFrame(ids: { response: string }, model: string, createdAt: number, status: "in_progress" | "completed") {
  return {
    id: ids.response,
    object: "response",
    created_at: createdAt,
    status,
    model,
    output: [] as unknown[],
    error: null,
    incomplete_details: null,
    usage: null as ResponseUsage | null,
  };
}

export function chatToResponse(c: ChatCompletion, now: number = Math.floor(Date.now() / 1000)) {
  const ids = responseIds(c.id);
  const msg = c.choices?.[0]?.message;
  const output: unknown[] = [];
  if (msg?.reasoning_content) output.push(reasoningItem(ids.reasoning, msg.reasoning_content, "completed"));
  const calls = msg?.tool_calls ?? [];
  // like the Anthropic answer: an empty answer still has its (empty) message, which clients read output_text from
  if (msg?.content || calls.length === 0) output.push(messageItem(ids.message, msg?.content ?? "", "completed"));
  calls.forEach((call, i) => output.push(functionCallItem(call, "completed", i)));
  return {
    ...responseFrame(ids, c.model ?? "", c.created ?? now, "completed"),
    completed_at: now,
    output,
    usage: toResponseUsage(c.usage),
  };
}
