// One streamed chat completion: POST /v1/chat/completions with stream: true, read through apiFetch (so the API key
// goes with it and the server's own error message comes back), its SSE parsed as it arrives.
import { apiFetch, readSse } from "../api";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface StreamRequest {
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  max_tokens?: number;
}

/** What the final chunks said about the answer: the usage chunk and, where the engine sends them, llama.cpp's timings. */
export interface StreamStats {
  promptTokens?: number;
  completionTokens?: number;
  /** Tokens per second of generation: the server's own figure when it sent timings, else measured here. */
  tokensPerSecond?: number;
  /** Milliseconds from sending the request to the first token, which includes loading the model. */
  firstTokenMs?: number;
  totalMs?: number;
  finishReason?: string;
}

export interface StreamHandlers {
  onContent(text: string): void;
  onReasoning(text: string): void;
}

interface Chunk {
  choices?: Array<{ delta?: { content?: string | null; reasoning_content?: string | null }; finish_reason?: string | null }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  timings?: { predicted_n?: number; predicted_per_second?: number; prompt_n?: number };
  error?: { message?: string } | string;
}

/**
 * Streams one answer, calling the handlers with each delta; resolves with the stats once the server ends the stream.
 * An abort through `signal` rejects with the fetch's AbortError, after the handlers got everything that had arrived.
 */
export async function streamChat(req: StreamRequest, handlers: StreamHandlers, signal: AbortSignal): Promise<StreamStats> {
  const t0 = performance.now();
  let tFirst: number | undefined;
  const stats: StreamStats = {};
  let serverRate: number | undefined;
  let pieces = 0;
  let failure: string | undefined;

  const res = await apiFetch("/v1/chat/completions", {
    method: "POST",
    body: JSON.stringify({ ...req, stream: true, stream_options: { include_usage: true } }),
    signal,
  });

  const onData = (data: string) => {
    if (data === "[DONE]") return;
    let chunk: Chunk;
    try {
      chunk = JSON.parse(data) as Chunk;
    } catch {
      return; // a keep-alive or a line this page does not know: nothing to show
    }
    if (chunk.error !== undefined) {
      failure = typeof chunk.error === "string" ? chunk.error : chunk.error.message ?? "the stream failed";
      return;
    }
    for (const choice of chunk.choices ?? []) {
      const d = choice.delta;
      if (d?.reasoning_content) {
        tFirst ??= performance.now();
        handlers.onReasoning(d.reasoning_content);
        pieces++;
      }
      if (d?.content) {
        tFirst ??= performance.now();
        handlers.onContent(d.content);
        pieces++;
      }
      if (choice.finish_reason) stats.finishReason = choice.finish_reason;
    }
    if (chunk.usage) {
      stats.promptTokens = chunk.usage.prompt_tokens;
      stats.completionTokens = chunk.usage.completion_tokens;
    }
    if (chunk.timings?.predicted_per_second) serverRate = chunk.timings.predicted_per_second;
  };

  await readSse(res, onData);
  if (failure !== undefined) throw new Error(failure);

  const tEnd = performance.now();
  stats.totalMs = tEnd - t0;
  if (tFirst !== undefined) stats.firstTokenMs = tFirst - t0;
  // Without the server's figure, rate the tokens after the first one over the time they took: the first one waited
  // for the load and the prompt, which is not generation speed.
  const n = stats.completionTokens ?? pieces;
  if (serverRate !== undefined) stats.tokensPerSecond = serverRate;
  else if (tFirst !== undefined && n > 1 && tEnd > tFirst) stats.tokensPerSecond = ((n - 1) * 1000) / (tEnd - tFirst);
  return stats;
}
