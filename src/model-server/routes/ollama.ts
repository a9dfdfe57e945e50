// Ollama's native API on the model server: /api/chat, /api/generate, /api/embed, /api/embeddings, and the model
// listings (/api/tags, /api/ps, /api/show, /api/version), so that Ollama clients can use `corral -m` as they would
// an Ollama server. Requests are translated to OpenAI bodies (src/dialects/ollama/) and run through the same
// pipelines as /v1/chat/completions, /v1/completions and /v1/embeddings; streams are Ollama's NDJSON, and every
// error is Ollama's `{"error": "..."}`.
//
// keep_alive is read (a bad one is a 400, as in Ollama) and otherwise ignored: this server has one model, which
// stays loaded for its whole life. A load-only request (no messages, no prompt) is answered as Ollama answers it,
// with done_reason "unload" for keep_alive 0, but nothing is unloaded.
import { stat } from "node:fs/promises";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ollama, type OllamaKind } from "../../dialects/ollama/index.js";
import { openai, type ChatCompletion } from "../../dialects/openai/index.js";
import { readGgufSummary, type GgufSummary } from "../../gguf/metadata.js";
import { ENDPOINTS } from "../../http/endpoints.js";
import { ApiError } from "../../http/errors.js";
import { disconnectSignal } from "../../http/sse.js";
import { type JsonObject, optString, requireObjectBody } from "../../http/validate.js";
import type { Logger } from "../../util/log.js";
import type { ServerState } from "../server/state.js";
import { runEmbeddings } from "./embeddings.js";
import { runGeneration } from "./generation.js";
import { requireReady } from "./ready.js";
import { dialectErrors, streamTranslated, timer } from "./translated.js";
import { routeEndpoint } from "./endpoint-route.js";

/**
 * Registers the routes. Call it before the route of `GET /`: Fastify makes a HEAD route for every GET route, and
 * Ollama's own HEAD / (which its clients probe to see whether a server is up) must be in place first.
 */
export function registerOllamaRoutes(app: FastifyInstance, state: ServerState): void {
  const errorHandler = dialectErrors(state.log, ollama);
  routeEndpoint(app, ENDPOINTS.ollamaProbe, async (_req, reply) => reply.code(200).send());
  routeEndpoint(app, ENDPOINTS.ollamaVersion, async () => ({ version: ollama.version }), { errorHandler });
  routeEndpoint(app, ENDPOINTS.ollamaTags, async () => ({ models: [ollama.tag(await describe(state))] }), { errorHandler });
  routeEndpoint(app, ENDPOINTS.ollamaPs, async () => {
    // asleep (--sleep-idle-seconds), the model is not in memory, and Ollama lists only models that are
    if (state.sleeping) return { models: [] };
    const d = await describe(state);
    const f = requireReady(state).engine.facts;
    return { models: [ollama.psEntry({ ...d, expiresAt: undefined, sizeVram: vramEstimate(f, d.summary), contextLength: f.nCtxSlot })] };
  }, { errorHandler });
  routeEndpoint(app, ENDPOINTS.ollamaShow, async (req) => {
    const body = requireObjectBody(req.body);
    // `name` is the field's name before Ollama 0.4; clients still send it
    checkModel(state, optString(body, "model") || optString(body, "name") || "");
    const d = await describe(state);
    const { template } = requireReady(state);
    const o = state.opts;
    return ollama.show({
      summary: d.summary,
      template: template.source,
      parameters: {
        num_ctx: requireReady(state).engine.facts.nCtxSlot,
        temperature: o.temp, top_k: o.topK, top_p: o.topP, min_p: o.minP, repeat_penalty: o.repeatPenalty, repeat_last_n: o.repeatLastN,
      },
      modifiedAt: d.modifiedAt,
      // this engine has no multimodal projector
      capabilities: ollama.capabilities({ template: template.source, embeddings: state.opts.embedding, vision: false }),
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
  return { name: state.modelId, path: f.path, sizeBytes: f.sizeBytes, modifiedAt: new Date(mtimeMs), digest: ollama.digest(f.path, f.sizeBytes, mtimeMs), summary };
}

/** The weights' share on the GPU: llama.cpp offloads the repeating layers and then the output layer (blocks + 1). */
function vramEstimate(f: { gpu: string | false; gpuLayers: number; sizeBytes: number }, summary: GgufSummary | undefined): number {
  if (f.gpu === false || f.gpuLayers <= 0) return 0;
  const layers = (summary?.blockCount ?? f.gpuLayers) + 1;
  return Math.round(f.sizeBytes * Math.min(1, f.gpuLayers / layers));
}

// ---- generation ------------------------------------------------------------------------------------------------------

async function generate(kind: OllamaKind, state: ServerState, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const timing = timer();
  const t = ollama.parseRequest(kind, req.body);
  checkModel(state, t.model);
  requireReady(state);
  if (t.loadOnly) return ollama.loadAnswer(t.model, kind, t.keepAlive === 0 ? "unload" : "load");
  rejectImages(t.openai);
  const flavor = t.path === "/v1/completions" ? "oai-completion" : "chat";
  const signal = disconnectSignal(reply);
  if (!t.stream) {
    const c = (await runGeneration(flavor, state, t.openai, { signal })) as ChatCompletion;
    return ollama.answerFrom(kind, c, { model: t.model, ...timing() });
  }
  const translator = ollama.stream({ kind, model: t.model });
  return streamTranslated(state, reply, { flavor, body: t.openai, signal, translator, format: ollama.streamFormat, timing });
}

/**
 * This engine has no multimodal projector. Ollama answers a model that cannot see with a 400, and so does this
 * (the OpenAI routes answer llama-server's 500 instead).
 */
function rejectImages(body: JsonObject): void {
  if (openai.hasImages(body)) throw new ApiError(400, "this model cannot take images: the server has no multimodal projector (mmproj) for it");
}

// ---- embeddings ------------------------------------------------------------------------------------------------------

async function embed(state: ServerState, raw: unknown, legacy: boolean): Promise<unknown> {
  const timing = timer();
  const t = ollama.parseEmbedRequest(raw, legacy);
  checkModel(state, t.model);
  requireReady(state);
  const resp = t.loadOnly ? { data: [] } : await runEmbeddings(state, t.openai, { openAiOnly: true });
  const o = { model: t.model, ...timing() };
  return ollama.embedAnswer(resp, t.dimensions !== undefined ? { ...o, dimensions: t.dimensions } : o, legacy);
}
