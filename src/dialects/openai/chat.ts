// The parts of OpenAI's chat-completions answers that the other dialects translate from. Fields are optional
// where servers differ (llama.cpp adds reasoning_content, timings and prompt_progress; others leave them out),
// so that the translators work over any OpenAI-compatible engine, not only corral's own.

export interface ChatToolCall {
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string };
}

/** A streamed tool-call fragment: `index` says which call it extends; id and name come with its first fragment. */
export interface ChatToolCallDelta extends ChatToolCall {
  index?: number;
}

export interface ChatUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
}

/** What an answer and each chunk of a streamed one share: ids, the model, usage and llama.cpp's timings. */
interface ChatEnvelope<Choice> {
  id?: string;
  object?: string;
  created?: number;
  model?: string;
  choices?: Array<Choice & {
    index?: number;
    finish_reason?: string | null;
    /** vLLM's extension: the stop string that ended the answer, when one did. */
    stop_reason?: string | number | null;
  }>;
  usage?: ChatUsage | null;
  /** llama.cpp: per-token or final timings. */
  timings?: Record<string, unknown>;
}

export type ChatCompletion = ChatEnvelope<{
  message?: { role?: string; content?: string | null; reasoning_content?: string | null; tool_calls?: ChatToolCall[] | null };
}>;

export type ChatCompletionChunk = ChatEnvelope<{
  delta?: { role?: string; content?: string | null; reasoning_content?: string | null; tool_calls?: ChatToolCallDelta[] | null };
}> & {
  /** llama.cpp: prompt processing progress, with `return_progress`. */
  prompt_progress?: Record<string, unknown>;
};

/** The random part of an OpenAI id (`chatcmpl-abc` → `abc`), so that a translated id keeps its link to the original. */
export function idSuffix(id: string | undefined): string {
  if (!id) return Math.random().toString(36).slice(2, 14);
  const dash = id.lastIndexOf("-");
  return dash >= 0 ? id.slice(dash + 1) : id;
}

/** Token counts with the cached part split out (Anthropic and Responses both report it separately). */
export function readUsage(u: ChatUsage | null | undefined): { prompt: number; cached: number; completion: number } {
  const prompt = u?.prompt_tokens ?? 0;
  const cached = Math.min(u?.prompt_tokens_details?.cached_tokens ?? 0, prompt);
  return { prompt, cached, completion: u?.completion_tokens ?? 0 };
}

/** Tool-call arguments as an object: models sometimes produce invalid JSON, which must not fail the whole answer. */
export function parseArguments(args: string | undefined): Record<string, unknown> {
  if (!args) return {};
  try {
    const v: unknown = JSON.parse(args);
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : { value: v };
  } catch {
    return {};
  }
}

/** An OpenAI text completion (/v1/completions), for dialects that send raw prompts (Ollama's `raw` generate). */
export interface CompletionResponse {
  id?: string;
  object?: string;
  created?: number;
  model?: string;
  choices?: Array<{ index?: number; text?: string; finish_reason?: string | null; logprobs?: unknown }>;
  usage?: ChatUsage | null;
  timings?: Record<string, unknown>;
}

/**
 * A streamed text completion: OpenAI's chunk (choices[0].text), or llama.cpp's native /completion event, whose
 * text is `content` and whose last event says `stop` with the counts.
 */
export interface CompletionChunk extends CompletionResponse {
  content?: string;
  stop?: boolean;
  /** llama.cpp: why a native stream stopped ("eos", "word", "limit"). */
  stop_type?: string;
  tokens_predicted?: number;
  tokens_evaluated?: number;
}

/** Whether a chat-completions body carries an image part in any message (each engine decides what that means). */
export function hasImages(chat: Record<string, unknown>): boolean {
  const messages = chat["messages"];
  if (!Array.isArray(messages)) return false;
  return messages.some((m) => {
    const content = (m as { content?: unknown } | null)?.content;
    return Array.isArray(content) && content.some((p) => (p as { type?: unknown } | null)?.type === "image_url");
  });
}
