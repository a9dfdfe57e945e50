// The generating endpoints: OpenAI chat and text completions, and llama.cpp's native /completion. They share
// one path: read the prompt, read the sampling fields, generate on a slot, and shape the answer (JSON or SSE).
import { randomBytes } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Token } from "node-llama-cpp";
import { ApiError, toApiError } from "../../http/errors.js";
import { disconnectSignal, openSse } from "../../http/sse.js";
import { type Json, type JsonObject, optArray, optBool, optObject, optString, requireObjectBody, typeName } from "../../http/validate.js";
import { VERSION } from "../../cli/version.js";
import { readMessages } from "../chat-template.js";
import { generate, type GenerationResult } from "../generate.js";
import { readSamplingParams } from "../sampling-params.js";
import type { ServerState } from "../state.js";
import { requireReady } from "./ready.js";

export type Flavor = "chat" | "oai-completion" | "native";

export function registerGenerationRoutes(app: FastifyInstance, state: ServerState): void {
  const handler = (flavor: Flavor) => (req: FastifyRequest, reply: FastifyReply) => handle(flavor, state, req, reply);
  for (const p of ["/v1/chat/completions", "/chat/completions"]) app.post(p, handler("chat"));
  for (const p of ["/v1/completions", "/completions"]) app.post(p, handler("oai-completion"));
  app.post("/completion", handler("native"));
}

interface Prepared {
  prompt: Token[];
  promptText: string;
  tools: Json[] | undefined;
}

function prepare(flavor: Flavor, state: ServerState, body: JsonObject): Prepared {
  const { engine, template } = requireReady(state);
  if (flavor === "chat") {
    const messages = readMessages(body);
    const toolChoice = body["tool_choice"];
    const tools = toolChoice === "none" ? undefined : optArray(body, "tools");
    const kwargs = optObject(body, "chat_template_kwargs");
    const text = template.render(messages, { tools, extra: kwargs });
    return { prompt: engine.tokenizePrompt(text), promptText: text, tools };
  }
  const raw = body["prompt"];
  if (raw === undefined || raw === null) throw new ApiError(400, "'prompt' is required");
  return { ...readPrompt(state, raw), tools: undefined };
}

/** A prompt is a string, a list of token ids, or a list holding exactly one of those. */
function readPrompt(state: ServerState, raw: Json): { prompt: Token[]; promptText: string } {
  const { engine } = requireReady(state);
  if (typeof raw === "string") return { prompt: engine.tokenizePrompt(raw), promptText: raw };
  if (Array.isArray(raw)) {
    if (raw.length === 1 && (typeof raw[0] === "string" || Array.isArray(raw[0]))) return readPrompt(state, raw[0]!);
    if (raw.every((t) => typeof t === "number")) {
      for (const t of raw as number[]) {
        if (!engine.isTokenId(t)) {
          throw new ApiError(400, `'prompt' has an invalid token id ${t} (vocabulary has ${engine.facts.nVocab} tokens)`);
        }
      }
      const tokens = raw as Token[];
      return { prompt: tokens, promptText: engine.model.detokenize(tokens, true) };
    }
    throw new ApiError(400, "'prompt' must be a string or an array of token ids (one prompt per request)");
  }
  throw new ApiError(400, `'prompt' must be a string or an array of token ids, got ${typeName(raw)}`);
}

async function handle(flavor: Flavor, state: ServerState, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const body = requireObjectBody(req.body);
  const signal = disconnectSignal(reply);
  if (!(optBool(body, "stream") ?? false)) return runGeneration(flavor, state, body, { signal });
  // Errors found before the first byte (a full queue, a prompt too long) still get a proper status code.
  let sse: ReturnType<typeof openSse> | undefined;
  try {
    await runGeneration(flavor, state, body, { signal, onEvent: (e) => (sse ??= openSse(reply)).send(e) });
    (sse ??= openSse(reply)).end(flavor !== "native");
    return reply;
  } catch (err) {
    if (!sse) throw err;
    sse.send(toApiError(err).toJSON());
    sse.end(false);
    return reply;
  }
}

export interface RunOptions {
  signal: AbortSignal;
  /** With `stream: true`: every event of the stream, in order (OpenAI chunks, or /completion's native events). */
  onEvent?: (event: Record<string, unknown>) => void;
}

/**
 * One generation request, whatever dialect carries it: `body` is an OpenAI chat or completions request, or a native
 * /completion one. Without `stream` the answer is returned; with it, it goes to `onEvent` and undefined is returned.
 * Other dialects (Anthropic Messages, Responses) translate into this and back.
 */
export async function runGeneration(flavor: Flavor, state: ServerState, body: JsonObject, o: RunOptions): Promise<Record<string, unknown> | undefined> {
  const { engine, pool } = requireReady(state);
  const prepared = prepare(flavor, state, body);
  const params = await readSamplingParams(body, state.opts, engine);
  const stream = optBool(body, "stream") ?? false;
  const streamOptions = optObject(body, "stream_options");
  const includeUsage = streamOptions ? (optBool(streamOptions, "include_usage", "stream_options.") ?? false) : false;
  const requestedModel = optString(body, "model");
  const model = requestedModel && requestedModel.length > 0 ? requestedModel : state.modelId;
  const id = `${flavor === "chat" ? "chatcmpl" : "cmpl"}-${randomBytes(12).toString("hex")}`;
  const created = Math.floor(Date.now() / 1000);
  const { signal } = o;
  state.stats.requestsTotal++;

  if (!stream) {
    const result = await generate(engine, pool, prepared.prompt, params, { signal });
    record(state, result);
    return shapeFinal(flavor, { id, created, model, result, prepared }) as Record<string, unknown>;
  }

  const send = o.onEvent ?? (() => {});
  const chunk = (delta: Record<string, unknown>, finish: string | null): Record<string, unknown> =>
    flavor === "chat"
      ? { id, object: "chat.completion.chunk", created, model, system_fingerprint: FINGERPRINT, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] }
      : { id, object: "text_completion", created, model, system_fingerprint: FINGERPRINT, choices: [{ index: 0, text: delta["content"] ?? "", finish_reason: finish, logprobs: null }] };
  let predicted = 0;
  const result = await generate(engine, pool, prepared.prompt, params, {
    signal,
    onText: (text) => {
      if (flavor === "native") {
        predicted++;
        send({ index: 0, content: text, tokens: [], stop: false, id_slot: -1, tokens_predicted: predicted, tokens_evaluated: prepared.prompt.length });
      } else {
        if (flavor === "chat" && predicted++ === 0) send(chunk({ role: "assistant", content: null }, null));
        send(chunk({ content: text }, null));
      }
    },
  });
  record(state, result);
  if (flavor === "native") {
    send(nativeBody(false, { model, result, prepared }));
    return undefined;
  }
  if (flavor === "chat" && predicted === 0) send(chunk({ role: "assistant", content: null }, null));
  const final = chunk({}, result.finishReason);
  final["timings"] = result.timings;
  send(final);
  if (includeUsage) {
    send({ id, object: flavor === "chat" ? "chat.completion.chunk" : "text_completion", created, model, system_fingerprint: FINGERPRINT, choices: [], usage: usage(result) });
  }
  return undefined;
}

function record(state: ServerState, r: GenerationResult): void {
  const s = state.stats;
  s.promptTokensTotal += r.timings.prompt_n;
  s.promptSecondsTotal += r.timings.prompt_ms / 1000;
  s.predictedTokensTotal += r.completionTokens;
  s.predictedSecondsTotal += r.timings.predicted_ms / 1000;
}

function usage(r: GenerationResult) {
  return {
    prompt_tokens: r.promptTokens,
    completion_tokens: r.completionTokens,
    total_tokens: r.promptTokens + r.completionTokens,
    prompt_tokens_details: { cached_tokens: r.cachedTokens },
  };
}

const FINGERPRINT = `corral-${VERSION}`;

function shapeFinal(flavor: Flavor, a: { id: string; created: number; model: string; result: GenerationResult; prepared: Prepared }): unknown {
  const { id, created, model, result, prepared } = a;
  if (flavor === "native") return nativeBody(true, { model, result, prepared });
  if (flavor === "oai-completion") {
    return {
      id, object: "text_completion", created, model, system_fingerprint: FINGERPRINT,
      choices: [{ index: 0, text: result.text, finish_reason: result.finishReason, logprobs: null }],
      usage: usage(result), timings: result.timings,
    };
  }
  const toolCalls = prepared.tools ? parseToolCalls(result.text) : undefined;
  const message: Record<string, unknown> = toolCalls
    ? { role: "assistant", content: toolCalls.rest.length > 0 ? toolCalls.rest : null, tool_calls: toolCalls.calls }
    : { role: "assistant", content: result.text };
  return {
    id, object: "chat.completion", created, model, system_fingerprint: FINGERPRINT,
    choices: [{ index: 0, message, finish_reason: toolCalls ? "tool_calls" : result.finishReason, logprobs: null }],
    usage: usage(result), timings: result.timings,
  };
}

/** llama.cpp's /completion shape; a stream's last event repeats everything but the content already sent. */
function nativeBody(includeContent: boolean, a: { model: string; result: GenerationResult; prepared: Prepared }) {
  const { result } = a;
  return {
    index: 0,
    content: includeContent ? result.text : "",
    tokens: [],
    id_slot: result.slotId,
    stop: true,
    model: a.model,
    tokens_predicted: result.completionTokens,
    tokens_evaluated: result.promptTokens,
    tokens_cached: result.cachedTokens,
    prompt: a.prepared.promptText,
    has_new_line: result.text.includes("\n"),
    truncated: false,
    stop_type: result.stoppedWord !== undefined ? "word" : result.stoppedLimit ? "limit" : result.stoppedEos ? "eos" : "none",
    stopping_word: result.stoppedWord ?? "",
    timings: result.timings,
  };
}

/**
 * Tool calls in the Hermes style our default template asks for: `<tool_call>{"name":…,"arguments":…}</tool_call>`.
 * Anything that does not parse stays plain content.
 */
export function parseToolCalls(text: string): { calls: unknown[]; rest: string } | undefined {
  const re = /<tool_call>\s*([\s\S]*?)\s*<\/tool_call>/g;
  const calls: unknown[] = [];
  for (const m of text.matchAll(re)) {
    try {
      const parsed = JSON.parse(m[1]!) as { name?: unknown; arguments?: unknown };
      if (typeof parsed.name !== "string") continue;
      const args = typeof parsed.arguments === "string" ? parsed.arguments : JSON.stringify(parsed.arguments ?? {});
      calls.push({ id: `call_${randomBytes(8).toString("hex")}`, type: "function", function: { name: parsed.name, arguments: args } });
    } catch {
      // not a tool call after all
    }
  }
  if (calls.length === 0) return undefined;
  return { calls, rest: text.replace(re, "").trim() };
}
