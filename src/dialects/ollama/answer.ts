// OpenAI answers as Ollama's: a chat completion becomes an /api/chat or /api/generate answer, an embeddings list an
// /api/embed one. Ollama reports durations in nanoseconds; the prompt and generation times come from llama.cpp's
// `timings` where the engine sends them (llama-server and corral do), else they are 0.
import type { Json, JsonObject } from "../../http/validate.js";
import { type ChatCompletion, type ChatToolCall, type ChatUsage, type CompletionResponse, parseArguments } from "../openai/chat.js";

/** What the caller measured: the whole request, and the part of it spent loading the model. */
export interface AnswerTiming {
  /** The model name to report (the one the client asked for). */
  model: string;
  totalNs: number;
  loadNs: number;
}

export const nowRfc3339 = (): string => new Date().toISOString();

/** OpenAI's finish_reason as Ollama's done_reason: a tool call ends the turn, which Ollama calls a stop. */
export function doneReason(finish: string | null | undefined): "stop" | "length" {
  return finish === "length" ? "length" : "stop";
}

/** The counts and durations of Ollama's last object. */
export function ollamaStats(
  usage: ChatUsage | null | undefined,
  timings: Record<string, unknown> | undefined,
  fallback: { prompt?: number | undefined; completion?: number | undefined } = {},
): JsonObject {
  const num = (k: string): number | undefined => (typeof timings?.[k] === "number" ? (timings[k] as number) : undefined);
  const ns = (ms: number | undefined) => Math.round((ms ?? 0) * 1e6);
  return {
    prompt_eval_count: usage?.prompt_tokens ?? num("prompt_n") ?? fallback.prompt ?? 0,
    prompt_eval_duration: ns(num("prompt_ms")),
    eval_count: usage?.completion_tokens ?? num("predicted_n") ?? fallback.completion ?? 0,
    eval_duration: ns(num("predicted_ms")),
  };
}

export function timingFields(o: { totalNs: number; loadNs: number }): JsonObject {
  return { total_duration: Math.round(o.totalNs), load_duration: Math.round(o.loadNs) };
}

/** Tool calls as Ollama writes them: arguments as an object, the call's position as `function.index`. */
export function ollamaToolCalls(calls: ChatToolCall[]): JsonObject[] {
  return calls.map((call, index) => ({
    ...(call.id ? { id: call.id } : {}),
    function: { index, name: call.function?.name ?? "", arguments: parseArguments(call.function?.arguments) as JsonObject },
  }));
}

/** OpenAI's per-token log-probabilities (`logprobs.content`) in Ollama's shape, or undefined when there are none. */
export function ollamaLogprobs(logprobs: unknown): JsonObject[] | undefined {
  const content = (logprobs as { content?: unknown } | null | undefined)?.content;
  if (!Array.isArray(content) || content.length === 0) return undefined;
  const entry = (e: Record<string, unknown>): JsonObject => {
    const out: JsonObject = { token: String(e["token"] ?? ""), logprob: typeof e["logprob"] === "number" ? e["logprob"] : 0 };
    if (Array.isArray(e["bytes"])) out["bytes"] = e["bytes"] as Json[];
    return out;
  };
  return content.map((e: Record<string, unknown>) => {
    const out = entry(e);
    const top = e["top_logprobs"];
    if (Array.isArray(top) && top.length > 0) out["top_logprobs"] = top.map((t: Record<string, unknown>) => entry(t));
    return out;
  });
}

export function ollamaChatAnswer(c: ChatCompletion, o: AnswerTiming): JsonObject {
  const choice = c.choices?.[0];
  const m = choice?.message;
  const message: JsonObject = { role: "assistant", content: m?.content ?? "" };
  if (m?.reasoning_content) message["thinking"] = m.reasoning_content;
  if (m?.tool_calls && m.tool_calls.length > 0) message["tool_calls"] = ollamaToolCalls(m.tool_calls);
  return finalAnswer(o, { message }, choice?.finish_reason, c, (choice as { logprobs?: unknown } | undefined)?.logprobs);
}

/** /api/generate's answer, from a chat completion (a templated prompt) or a text completion (a raw one). */
export function ollamaGenerateAnswer(c: ChatCompletion | CompletionResponse, o: AnswerTiming): JsonObject {
  const choice = c.choices?.[0] as (NonNullable<ChatCompletion["choices"]>[number] & { text?: string; logprobs?: unknown }) | undefined;
  const fields: JsonObject = { response: choice?.message?.content ?? choice?.text ?? "" };
  if (choice?.message?.reasoning_content) fields["thinking"] = choice.message.reasoning_content;
  return finalAnswer(o, fields, choice?.finish_reason, c, choice?.logprobs);
}

function finalAnswer(o: AnswerTiming, fields: JsonObject, finish: string | null | undefined, c: ChatCompletion | CompletionResponse, logprobs: unknown): JsonObject {
  const out: JsonObject = {
    model: o.model,
    created_at: nowRfc3339(),
    ...fields,
    done: true,
    done_reason: doneReason(finish),
    ...timingFields(o),
    ...ollamaStats(c.usage, c.timings),
  };
  const lp = ollamaLogprobs(logprobs);
  if (lp) out["logprobs"] = lp;
  return out;
}

/**
 * An OpenAI embeddings list as /api/embed's answer (or the legacy /api/embeddings', one vector). With
 * `dimensions`, vectors the engine left longer are cut and renormalized, as Ollama does.
 */
export function ollamaEmbedAnswer(resp: unknown, o: AnswerTiming & { dimensions?: number }, legacy: boolean): JsonObject {
  const r = (resp ?? {}) as { data?: Array<{ index?: number; embedding?: unknown }>; usage?: ChatUsage | null };
  const data = [...(r.data ?? [])].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
  const embeddings = data.map((d) => cut(Array.isArray(d.embedding) ? (d.embedding as number[]) : [], o.dimensions));
  if (legacy) return { embedding: embeddings[0] ?? [] };
  return { model: o.model, embeddings, ...timingFields(o), prompt_eval_count: r.usage?.prompt_tokens ?? 0 };
}

function cut(v: number[], dimensions: number | undefined): number[] {
  if (dimensions === undefined || v.length <= dimensions) return v;
  const head = v.slice(0, dimensions);
  const norm = Math.sqrt(head.reduce((s, x) => s + x * x, 0));
  return norm > 0 ? head.map((x) => x / norm) : head;
}

export function ollamaError(message: string): { error: string } {
  return { error: message };
}

/** What Ollama answers a request that only loads (or, with keep_alive 0, unloads) a model. */
export function ollamaLoadAnswer(model: string, kind: "chat" | "generate", action: "load" | "unload"): JsonObject {
  const fields: JsonObject = kind === "chat" ? { message: { role: "assistant", content: "" } } : { response: "" };
  return { model, created_at: nowRfc3339(), ...fields, done: true, done_reason: action };
}
