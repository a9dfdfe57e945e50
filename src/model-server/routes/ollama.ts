// Ollama's native API on the model server: /api/chat, /api/generate, /api/embed, /api/embeddings, and the model
// listings (/api/tags, /api/ps, /api/show, /api/version), so that Ollama clients can use `corral -m` as they would
// an Ollama server. Requests are translated to OpenAI bodies (src/dialects/ollama.ts) and run through the same
// pipelines as /v1/chat/completions, /v1/completions and /v1/embeddings; streams are Ollama's NDJSON, and every
// error is Ollama's `{"error": "..."}`.
//
// keep_alive is read (a bad one is a 400, as in Ollama) and otherwise ignored: this server has one model, which
// stays loaded for its whole life. A load-only request (no messages, no prompt) is answered as Ollama answers it,
// with done_reason "unload" for keep_alive 0, but nothing is unloaded.
import { stat } from "node:fs/promises";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  OLLAMA_VERSION,
  OllamaStreamTranslator,
  ollamaCapabilities,
  ollamaChatAnswer,
  ollamaChatRequest,
  ollamaDigest,
  ollamaEmbedAnswer,
  ollamaEmbedRequest,
  ollamaError,
  ollamaGenerateAnswer,
  ollamaGenerateRequest,
  ollamaLoadAnswer,
  ollamaPsEntry,
  ollamaShow,
  ollamaTag,
} from "../../dialects/ollama/request.js";
import { hasImages, type ChatCompletion, type ChatCompletionChunk } from "../../dialects/openai/chat.js";
import { readGgufSummary, type GgufSummary } from "../../gguf/metadata.js";
import { ApiError, toApiError } from "../../http/errors.js";
import { disconnectSignal } from "../../http/sse.js";
import { type JsonObject, optString, requireObjectBody } from "../../http/validate.js";
import type { Logger } from "../../util/log.js";
import type { ServerState } from "../state.js";
import { runEmbeddings } from "./embeddings.js";
import { runGeneration } from "./generation.js";
import { requireReady } from "./ready.js";
import { ENDPOINTS } from "../../http/endpoints.js";
import { routeEndpoint } from "./endpoint-route.js";

/**
 * Registers the routes. Call it before the route of `GET /`: Fastify makes a HEAD route for every GET route, and
 * Ollama's own HEAD / (which its clients probe to see whether a server is up) must be in place first.
 */
export function registerOllamaRoutes(app: FastifyInstance, state: ServerState): void {
  // A route-level handler also catches what fails before the handler runs (API key, body parsing).
  const errorHandler = ollamaErrors(state.log);
  routeEndpoint(app, ENDPOINTS.ollamaProbe, async (_req, reply) => reply.code(200).send());
  routeEndpoint(app, ENDPOINTS.ollamaVersion, async () => ({ version: OLLAMA_VERSION }), { errorHandler });
  routeEndpoint(app, ENDPOINTS.ollamaTags, async () => ({ models: [ollamaTag(await describe(state))] }), { errorHandler });
  routeEndpoint(app, ENDPOINTS.ollamaPs, async () => {
    // asleep (--sleep-idle-seconds), the model is not in memory, and Ollama lists only models that are
    if (state.sleeping) return { models: [] };
    const d = await describe(state);
    const f = requireReady(state).engine.facts;
    return { models: [ollamaPsEntry({ ...d, expiresAt: undefined, sizeVram: vramEstimate(f, d.summary), contextLength: f.nCtxSlot })] };
  }, { errorHandler });
  routeEndpoint(app, ENDPOINTS.ollamaShow, async (req) => {
    const body = requireObjectBody(req.body);
    // `name` is the field's name before Ollama 0.4; clients still send it
    checkModel(state, optString(body, "model") || optString(body, "name") || "");
    const d = await describe(state);
    const { template } = requireReady(state);
    const o = state.opts;
    return ollamaShow({
      summary: d.summary,
      template: template.source,
      parameters: {
        num_ctx: requireReady(state).engine.facts.nCtxSlot,
        temperature: o.temp, top_k: o.topK, top_p: o.topP, min_p: o.minP, repeat_penalty: o.repeatPenalty, repeat_last_n: o.repeatLastN,
      },
      modifiedAt: d.modifiedAt,
      // this engine has no multimodal projector
      capabilities: ollamaCapabilities({ template: template.source, embeddings: state.opts.embedding, vision: false }),
      path: d.path,
    });
  }, { errorHandler });
  routeEndpoint(app, ENDPOINTS.ollamaChat, (req, reply) => generate("chat", state, req, reply), { errorHandler });
  routeEndpoint(app, ENDPOINTS.ollamaGenerate, (req, reply) => generate("generate", state, req, reply), { errorHandler });
  routeEndpoint(app, ENDPOINTS.ollamaEmbed, (req) => embed(state, req.body, false), { errorHandler });
  routeEndpoint(app, ENDPOINTS.ollamaEmbeddings, (req) => embed(state, req.body, true), { errorHandler });
  // Ollama's model management (pull, push, create, copy, delete, blobs) has no counterpart: models are files
  app.all("/api/*", { errorHandler }, async (req) => {
    throw new ApiError(404, `${req.method} ${req.url.split("?", 1)[0]} is not supported by this server`);
  });
}

// ---- model names and descriptions ------------------------------------------------------------------------------

/**
 * The one model answers to its aliases (the first is what /api/tags lists), and to any of them with Ollama's default
 * tag ":latest", which clients add to a name without one.
 */
function checkModel(state: ServerState, name: string): void {
  if (name === "") throw new ApiError(400, "model is required");
  const bare = name.endsWith(":latest") ? name.slice(0, -":latest".length) : name;
  if (!state.aliases.includes(bare) && bare !== state.modelId) throw new ApiError(404, `model '${name}' not found`);
}

interface Description {
  name: string;
  path: string;
  sizeBytes: number;
  modifiedAt: Date;
  digest: string;
  summary: GgufSummary | undefined;
}

async function describe(state: ServerState): Promise<Description> {
  const f = requireReady(state).engine.facts;
  const st = await stat(f.path).catch(() => undefined);
  const mtimeMs = st?.mtimeMs ?? state.startedAt;
  // the model loaded, so its header reads; a summary missing anyway (the file replaced since) leaves details empty
  const summary = await readGgufSummary(f.path).catch(() => undefined);
  return { name: state.modelId, path: f.path, sizeBytes: f.sizeBytes, modifiedAt: new Date(mtimeMs), digest: ollamaDigest(f.path, f.sizeBytes, mtimeMs), summary };
}

/** The weights' share on the GPU: llama.cpp offloads the repeating layers and then the output layer (blocks + 1). */
function vramEstimate(f: { gpu: string | false; gpuLayers: number; sizeBytes: number }, summary: GgufSummary | undefined): number {
  if (f.gpu === false || f.gpuLayers <= 0) return 0;
  const layers = (summary?.blockCount ?? f.gpuLayers) + 1;
  return Math.round(f.sizeBytes * Math.min(1, f.gpuLayers / layers));
}

// ---- generation ------------------------------------------------------------------------------------------------------

async function generate(kind: "chat" | "generate", state: ServerState, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const started = process.hrtime.bigint();
  const t = kind === "chat" ? ollamaChatRequest(req.body) : ollamaGenerateRequest(req.body);
  checkModel(state, t.model);
  requireReady(state);
  if (t.loadOnly) return ollamaLoadAnswer(t.model, kind, t.keepAlive === 0 ? "unload" : "load");
  rejectImages(t.openai);
  const flavor = t.path === "/v1/completions" ? "oai-completion" : "chat";
  // the model is always loaded here: no load time to report
  const timing = () => ({ model: t.model, totalNs: Number(process.hrtime.bigint() - started), loadNs: 0 });
  const signal = disconnectSignal(reply);
  if (!t.stream) {
    const c = (await runGeneration(flavor, state, t.openai, { signal })) as ChatCompletion;
    return kind === "chat" ? ollamaChatAnswer(c, timing()) : ollamaGenerateAnswer(c, timing());
  }
  const translator = new OllamaStreamTranslator({ kind, model: t.model });
  // The stream opens with its first object, so that errors found before it (a full queue, a prompt too long)
  // still get their status code; after it, an error is the stream's last line.
  let out: NdjsonStream | undefined;
  const write = (objects: JsonObject[]) => {
    for (const o of objects) (out ??= openNdjson(reply)).send(o);
  };
  try {
    await runGeneration(flavor, state, t.openai, { signal, onEvent: (chunk) => write(translator.push(chunk as ChatCompletionChunk)) });
    write(translator.finish(timing()));
    out!.end();
  } catch (err) {
    if (!out) throw err;
    out.send(ollamaError(toApiError(err).message));
    out.end();
  }
  return reply;
}

/**
 * This engine has no multimodal projector. Ollama answers a model that cannot see with a 400, and so does this
 * (the OpenAI routes answer llama-server's 500 instead).
 */
function rejectImages(openai: JsonObject): void {
  if (hasImages(openai)) throw new ApiError(400, "this model cannot take images: the server has no multimodal projector (mmproj) for it");
}

// ---- embeddings ------------------------------------------------------------------------------------------------------

async function embed(state: ServerState, raw: unknown, legacy: boolean): Promise<unknown> {
  const started = process.hrtime.bigint();
  const t = ollamaEmbedRequest(raw, legacy);
  checkModel(state, t.model);
  requireReady(state);
  const resp = t.loadOnly ? { data: [] } : await runEmbeddings(state, t.openai, { openAiOnly: true });
  const timing = { model: t.model, totalNs: Number(process.hrtime.bigint() - started), loadNs: 0 };
  return ollamaEmbedAnswer(resp, t.dimensions !== undefined ? { ...timing, dimensions: t.dimensions } : timing, legacy);
}

// ---- NDJSON and errors ---------------------------------------------------------------------------------------------

interface NdjsonStream {
  send(o: unknown): void;
  end(): void;
}

/** Ollama streams one JSON object per line; each is written as soon as it exists (the reply is hijacked). */
function openNdjson(reply: FastifyReply): NdjsonStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-cache", "x-accel-buffering": "no" });
  res.flushHeaders();
  return {
    send(o) {
      if (!res.destroyed) res.write(`${JSON.stringify(o)}\n`);
    },
    end() {
      if (!res.destroyed) res.end();
    },
  };
}

function ollamaErrors(log: Logger) {
  return (err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void => {
    const e = toApiError(err);
    if (e.status >= 500) log.error(`request failed: ${e.message}`);
    if (reply.raw.headersSent) return;
    reply.code(e.status === 499 ? 400 : e.status).headers(e.headers).send(ollamaError(e.message));
  };
}
