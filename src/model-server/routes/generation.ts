// The generating endpoints: OpenAI chat and text completions, and llama.cpp's native /completion. They share
// one path: read the prompt(s), read the sampling and output fields, generate on slots (one job per prompt and
// choice), and shape the answer (JSON or SSE).
import { randomBytes } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Token } from "node-llama-cpp";
import { ApiError, toApiError } from "../../http/errors.js";
import { disconnectSignal, openSse } from "../../http/sse.js";
import { type Json, type JsonObject, optString, requireObjectBody } from "../../http/validate.js";
import { VERSION } from "../../util/version.js";
import { renderChatPrompt } from "../templates/chat-prompt.js";
import { ChatAnswer, chatPreservedTokens } from "../answers/chat-answer.js";
import { ReasoningPlan, readReasoningFormat, type ReasoningFormat } from "../answers/reasoning.js";
import { readReasoningBudget } from "../generation/reasoning-budget.js";
import { hermesFormat } from "../tool-calls/hermes.js";
import { parseAnswer, planToolCalls, readToolRequest, templateThinking, type ToolCallPlan, toolFinishReason } from "../tool-calls/index.js";
import { checkPromptFits, generate, type GenerationResult, type TokenStep } from "../generation/generate.js";
import { type ProbEntry, probEntriesJson } from "../generation/logprobs.js";
import { nativeBody, type NativeContext, pickFields, probsOf, usageOf } from "../answers/native-answer.js";
import { readPrompts } from "../requests/prompt-input.js";
import { logPromptTokens } from "../generation/verbose-prompt.js";
import { type Flavor, readOutputOptions } from "../requests/request-options.js";
import { readSamplingParams } from "../requests/sampling-params.js";
import type { ServerState } from "../server/state.js";
import { piecesOf } from "../generation/token-pieces.js";
import { requireReady } from "./ready.js";
import { ENDPOINTS } from "../../http/endpoints.js";
import { routeEndpoint } from "./endpoint-route.js";

export type { Flavor } from "../requests/request-options.js";

export function registerGenerationRoutes(app: FastifyInstance, state: ServerState): void {
  const handler = (flavor: Flavor) => (req: FastifyRequest, reply: FastifyReply) => handle(flavor, state, req, reply);
  routeEndpoint(app, ENDPOINTS.chat, handler("chat"));
  routeEndpoint(app, ENDPOINTS.completions, handler("oai-completion"));
  routeEndpoint(app, ENDPOINTS.completion, handler("native"));
  routeEndpoint(app, ENDPOINTS.chatInputTokens, async (req) => ({
    input_tokens: chatPrompt(state, requireObjectBody(req.body)).tokens.length, object: "response.input_tokens",
  }));
}

async function handle(flavor: Flavor, state: ServerState, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const body = requireObjectBody(req.body);
  const signal = disconnectSignal(reply);
  if (body["stream"] !== true) return runGeneration(flavor, state, body, { signal });
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

interface ChatPrompt {
  tokens: Token[];
  tools: Json[] | undefined;
  toolCalls: ToolCallPlan | undefined;
  /** How the answer's thought is split out; undefined for a template that shows no thinking. */
  reasoning: ReasoningPlan | undefined;
}

/** The chat prompt of a chat-completions body, tokenized. */
function chatPrompt(state: ServerState, body: JsonObject): ChatPrompt {
  const { engine, template } = requireReady(state);
  const toolRequest = readToolRequest(body);
  const format = readReasoningFormat(body, (state.opts.reasoningFormat ?? "auto") as ReasoningFormat);
  // llama-server refuses `grammar` with tools (it builds a tool-call grammar of its own); corral has none, so a
  // client's grammar is the one way to force a tool call, and is kept
  const { text, tools } = renderChatPrompt(template, body);
  const tags = templateThinking(template.source);
  return {
    tokens: engine.tokenizePrompt(text),
    tools,
    toolCalls: planToolCalls(toolRequest, template.source, text),
    reasoning: tags ? new ReasoningPlan(tags, format, text) : undefined,
  };
}

/** One generation of a request: a prompt and which choice of it (index = prompt * n + choice). */
interface Job {
  index: number;
  prompt: Token[];
  firstOfPrompt: boolean;
}

interface Ctx extends NativeContext {
  flavor: Flavor;
  id: string;
  created: number;
  tools: Json[] | undefined;
  /** How the model writes tool calls, when the request offers tools. */
  toolCalls: ToolCallPlan | undefined;
  /** How the model's thought is split from its content, when its template shows thinking. */
  reasoning: ReasoningPlan | undefined;
}

/**
 * One generation request, whatever dialect carries it: `body` is an OpenAI chat or completions request, or a native
 * /completion one. Without `stream` the answer is returned (a list for /completion with several prompts or
 * choices); with it, it goes to `onEvent` and undefined is returned. Other dialects (Anthropic Messages,
 * Responses) translate into this and back.
 */
export async function runGeneration(flavor: "chat" | "oai-completion", state: ServerState, body: JsonObject, o: RunOptions): Promise<Record<string, unknown> | undefined>;
export async function runGeneration(flavor: Flavor, state: ServerState, body: JsonObject, o: RunOptions): Promise<Record<string, unknown> | Record<string, unknown>[] | undefined>;
export async function runGeneration(flavor: Flavor, state: ServerState, body: JsonObject, o: RunOptions): Promise<Record<string, unknown> | Record<string, unknown>[] | undefined> {
  const { engine } = requireReady(state);
  if (flavor === "oai-completion") checkOaiCompletionFields(body);
  const out = readOutputOptions(flavor, body, state, engine.facts.nVocab);
  let prompts: Token[][];
  let tools: Json[] | undefined;
  let toolCalls: ToolCallPlan | undefined;
  let reasoning: ReasoningPlan | undefined;
  if (flavor === "chat") {
    const p = chatPrompt(state, body);
    prompts = [p.tokens];
    tools = p.tools;
    toolCalls = p.toolCalls;
    reasoning = p.reasoning;
  } else {
    prompts = readPrompts(engine, body["prompt"]);
  }
  for (const p of prompts) checkPromptFits(engine, p);
  if (state.opts.verbosePrompt) for (const p of prompts) logPromptTokens(state.log, engine, p);
  const params = await readSamplingParams(body, state.opts, engine);
  // tool_choice "required" or a named function: a grammar makes the answer a call
  if (toolCalls && !params.grammar) params.grammar = await toolCalls.grammar(engine.llama);
  if (flavor === "chat") {
    const tokenize = (t: string) => engine.model.tokenize(t, true);
    params.preservedTokens = chatPreservedTokens(tokenize, toolCalls, reasoning?.tags);
    const budgetDefaults = { tokens: state.opts.reasoningBudget ?? -1, message: state.opts.reasoningBudgetMessage };
    params.reasoningBudget = readReasoningBudget(body, budgetDefaults, reasoning, tokenize);
  }
  const requestedModel = optString(body, "model");
  const ctx: Ctx = {
    flavor,
    engine,
    pieces: piecesOf(engine.model),
    model: requestedModel && requestedModel.length > 0 ? requestedModel : state.modelId,
    params,
    out,
    id: `${flavor === "chat" ? "chatcmpl" : "cmpl"}-${randomBytes(12).toString("hex")}`,
    created: Math.floor(Date.now() / 1000),
    tools,
    toolCalls,
    reasoning,
  };
  const jobs: Job[] = prompts.flatMap((prompt, i) =>
    Array.from({ length: out.n }, (_, j) => ({ index: i * out.n + j, prompt, firstOfPrompt: j === 0 })),
  );
  state.stats.requestsTotal++;

  // one failed job ends the others: the request has failed
  const ac = new AbortController();
  const stopAll = () => ac.abort();
  o.signal.addEventListener("abort", stopAll, { once: true });
  if (o.signal.aborted) ac.abort();
  try {
    const run = (job: Job, hooks: Parameters<typeof generate>[4] = {}) =>
      generate(engine, requireReady(state).pool, job.prompt, params, { ...hooks, signal: ac.signal }, {
        ...(out.topProbs !== undefined ? { topProbs: out.topProbs } : {}),
        slotId: out.idSlot,
        progressBatch: state.opts.batchSize,
      }).then((result) => {
        record(state, result);
        return { job, result };
      });
    const all = <T>(ps: Promise<T>[]) => Promise.all(ps.map((p) => p.catch((e: unknown) => (ac.abort(), Promise.reject(e)))));

    if (!out.stream) {
      const done = await all(jobs.map((job) => run(job)));
      return shapeAnswer(ctx, done);
    }
    const send = o.onEvent ?? (() => {});
    const done = await all(jobs.map((job) => streamJob(ctx, job, send, run)));
    if (flavor !== "native" && out.includeUsage) {
      const last: Record<string, unknown> = { ...envelope(ctx), choices: [], usage: usageOf(done) };
      last["timings"] = done[0]!.result.timings;
      send(last);
    }
    return undefined;
  } finally {
    o.signal.removeEventListener("abort", stopAll);
  }
}

/** OpenAI completions fields llama-server refuses rather than ignores. */
function checkOaiCompletionFields(body: JsonObject): void {
  if (body["echo"] === true) throw new ApiError(400, "'echo': only echo=false is supported");
  for (const f of ["best_of", "suffix"]) {
    if (body[f] !== undefined && body[f] !== null) throw new ApiError(400, `'${f}' is not supported`);
  }
}

// ---- non-streamed answers ----------------------------------------------------------------------------------------

function shapeAnswer(ctx: Ctx, done: Array<{ job: Job; result: GenerationResult }>): Record<string, unknown> | Record<string, unknown>[] {
  if (ctx.flavor === "native") {
    const bodies = done.map(({ job, result }) => {
      const b = nativeBody(ctx, job.index, job.prompt, result, false);
      return ctx.out.responseFields.length > 0 ? pickFields(b, ctx.out.responseFields) : b;
    });
    return bodies.length === 1 ? bodies[0]! : bodies;
  }
  const first = done[0]!;
  const answer: Record<string, unknown> = {
    ...envelope(ctx),
    choices: done.map(({ job, result }) => (ctx.flavor === "chat" ? chatChoice(ctx, job, result) : completionChoice(ctx, job, result))),
    usage: usageOf(done),
    timings: first.result.timings,
  };
  if (ctx.out.verbose) answer["__verbose"] = nativeBody(ctx, first.job.index, first.job.prompt, first.result, false);
  return answer;
}

function envelope(ctx: Ctx): Record<string, unknown> {
  const object = ctx.flavor === "chat" ? (ctx.out.stream ? "chat.completion.chunk" : "chat.completion") : "text_completion";
  return { id: ctx.id, object, created: ctx.created, model: ctx.model, system_fingerprint: FINGERPRINT };
}

function logprobsJson(ctx: Ctx, entries: readonly ProbEntry[] | undefined): { content: Record<string, unknown>[] } | null {
  if (!entries) return null;
  return { content: probEntriesJson(entries, ctx.out.postSamplingProbs, ctx.pieces) };
}

function chatChoice(ctx: Ctx, job: Job, result: GenerationResult): Record<string, unknown> {
  const answer = chatAnswer(ctx);
  answer.push(result.text);
  answer.finish();
  const finish = toolFinishReason(result.finishReason, answer.toolCallCount);
  return { index: job.index, message: answer.message(), finish_reason: finish, logprobs: logprobsJson(ctx, probsOf(result)) };
}

/**
 * One choice's answer: the thought split out (unless reasoning_format is none), then tool calls parsed from the
 * content. With no split the tool-call parser gets the whole text and skips thinking spans itself.
 */
function chatAnswer(ctx: Ctx): ChatAnswer {
  const splitter = ctx.reasoning?.splitter(ctx.out.stream);
  return new ChatAnswer(splitter, ctx.toolCalls?.stream({ contentOnly: splitter !== undefined }));
}

function completionChoice(ctx: Ctx, job: Job, result: GenerationResult): Record<string, unknown> {
  return { index: job.index, text: result.text, finish_reason: result.finishReason, logprobs: logprobsJson(ctx, probsOf(result)) };
}

// ---- streams -----------------------------------------------------------------------------------------------------

type Run = (job: Job, hooks?: Parameters<typeof generate>[4]) => Promise<{ job: Job; result: GenerationResult }>;

/** One job's events: prompt progress, then text (OpenAI chunks) or every token (native events), then its end. */
async function streamJob(ctx: Ctx, job: Job, send: (e: Record<string, unknown>) => void, run: Run) {
  const { out } = ctx;
  const progress = out.returnProgress
    ? (p: object) => send(ctx.flavor === "native" ? { ...nativePartial(job, -1, 0), prompt_progress: p } : { ...chunk(ctx, job, { role: "assistant", content: null }, null), prompt_progress: p })
    : undefined;
  let done: { job: Job; result: GenerationResult };
  if (ctx.flavor === "native") {
    let last: TokenStep | undefined;
    done = await run(job, {
      onToken: (step) => send(nativeTokenEvent(ctx, job, (last = step))),
      // text released only at the end belongs to no token
      onText: (text, fromToken) => {
        if (!fromToken) send({ ...nativePartial(job, last?.slotId ?? -1, last?.timings.predicted_n ?? 0), content: text });
      },
      ...(progress ? { onPromptProgress: progress } : {}),
    });
    send(nativeBody(ctx, job.index, job.prompt, done.result, true));
    return done;
  }

  let sentRole = ctx.flavor !== "chat";
  let pending: ProbEntry[] = [];
  let lastTimings: TokenStep["timings"] | undefined;
  const role = () => {
    if (!sentRole) send(chunk(ctx, job, { role: "assistant", content: null }, null));
    sentRole = true;
  };
  // the thought becomes reasoning_content deltas; with tools, calls become tool_calls deltas, markers are held back
  const answer = ctx.flavor === "chat" ? chatAnswer(ctx) : undefined;
  const sendDeltas = (deltas: Record<string, unknown>[]) => {
    for (const delta of deltas) {
      const c = chunk(ctx, job, delta, null, out.topProbs !== undefined ? logprobsJson(ctx, pending) : null);
      pending = [];
      if (out.timingsPerToken && lastTimings) c["timings"] = lastTimings;
      send(c);
    }
  };
  done = await run(job, {
    onToken: (step) => {
      if (step.probs) pending.push(step.probs);
      lastTimings = step.timings;
    },
    onText: (text) => {
      role();
      sendDeltas(answer ? answer.push(text) : [{ content: text }]);
    },
    ...(progress ? { onPromptProgress: progress } : {}),
  });
  role();
  if (answer) sendDeltas(answer.finish());
  const final = chunk(ctx, job, {}, toolFinishReason(done.result.finishReason, answer?.toolCallCount ?? 0));
  if (!out.includeUsage) final["timings"] = done.result.timings;
  if (out.verbose) final["__verbose"] = nativeBody(ctx, job.index, job.prompt, done.result, true);
  send(final);
  return done;
}

function chunk(ctx: Ctx, job: Job, delta: Record<string, unknown>, finish: string | null, logprobs: unknown = null): Record<string, unknown> {
  const choice =
    ctx.flavor === "chat"
      ? { index: job.index, delta, finish_reason: finish, logprobs }
      : { index: job.index, text: delta["content"] ?? "", finish_reason: finish, logprobs };
  return { ...envelope(ctx), choices: [choice] };
}

function nativePartial(job: Job, slotId: number, predicted: number): Record<string, unknown> {
  return { index: job.index, content: "", tokens: [], stop: false, id_slot: slotId, tokens_predicted: predicted, tokens_evaluated: job.prompt.length };
}

function nativeTokenEvent(ctx: Ctx, job: Job, step: TokenStep): Record<string, unknown> {
  const e: Record<string, unknown> = { ...nativePartial(job, step.slotId, step.timings.predicted_n), content: step.text, tokens: [step.id] };
  if (ctx.out.timingsPerToken) e["timings"] = step.timings;
  if (step.probs) e["completion_probabilities"] = probEntriesJson([step.probs], ctx.out.postSamplingProbs, ctx.pieces);
  return e;
}

// ---- bookkeeping ---------------------------------------------------------------------------------------------------

function record(state: ServerState, r: GenerationResult): void {
  const s = state.stats;
  s.promptTokensTotal += r.timings.prompt_n;
  s.promptSecondsTotal += r.timings.prompt_ms / 1000;
  s.predictedTokensTotal += r.completionTokens;
  s.predictedSecondsTotal += r.timings.predicted_ms / 1000;
}

const FINGERPRINT = `corral-${VERSION}`;

/**
 * Tool calls in the Hermes style our default template asks for: `<tool_call>{"name":…,"arguments":…}</tool_call>`.
 * Anything that does not parse stays plain content. (The chat route picks the model's own format: tool-calls/.)
 */
export function parseToolCalls(text: string): { calls: unknown[]; rest: string } | undefined {
  const r = parseAnswer(hermesFormat(), text);
  return r.toolCalls.length > 0 ? { calls: r.toolCalls, rest: r.content ?? "" } : undefined;
}
