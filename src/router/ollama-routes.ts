// Ollama's API at the router, for every engine: the listings (/api/tags, /api/ps, /api/show) come from the catalog,
// the scheduler and each model's GGUF header; /api/chat, /api/generate and /api/embed are translated to OpenAI
// requests (src/dialects/ollama/) and served like any other (translated-serve.ts). keep_alive is the model's idle
// time from then on: 0 unloads it after the request, a negative value keeps it loaded.
import { statSync } from "node:fs";
import { ollama, type OllamaKind, type OllamaTranslated } from "../dialects/ollama/index.js";
import type { ChatCompletion } from "../dialects/openai/index.js";
import { readGgufSummary, type GgufSummary } from "../gguf/metadata.js";
import type { ModelSpec } from "../catalog/catalog.js";
import { ENDPOINTS } from "../http/endpoints.js";
import { ApiError } from "../http/errors.js";
import { requireObjectBody } from "../http/validate.js";
import { checkImages } from "./dialect-routes.js";
import { addRoute, HANDLED, type Handler, type RequestContext } from "./http-server.js";
import { Refused } from "./refusal.js";
import { refuseDisabledEmbeddings } from "./embeddings-check.js";
import type { Router } from "./router.js";
import { serveTranslated } from "./translated-serve.js";

export function ollamaRoutes(router: Router, autoload: (ctx: RequestContext) => boolean): Map<string, Handler> {
  const routes = new Map<string, Handler>();

  addRoute(routes, ENDPOINTS.ollamaVersion, () => ({ version: ollama.version }));

  addRoute(routes, ENDPOINTS.ollamaTags, async () => {
    return { models: await Promise.all(router.catalog.models.map(async (spec) => ollama.tag(await describe(spec)))) };
  });

  addRoute(routes, ENDPOINTS.ollamaPs, async () => {
    const models = [];
    for (const spec of router.catalog.models) {
      const m = router.inspect(spec.id);
      if (!m || m.view.state !== "loaded") continue;
      const nCtx = m.child?.facts["n_ctx"];
      models.push(ollama.psEntry({
        ...(await describe(spec)),
        // the idle clock starts when the last request ends
        expiresAt: m.view.ttlMs === undefined ? undefined : new Date((m.view.inFlight > 0 ? Date.now() : m.view.lastUsed) + m.view.ttlMs),
        // the router measures no device memory (GET /models shows measured.vram 0 too)
        sizeVram: 0,
        ...(typeof nCtx === "number" ? { contextLength: nCtx } : {}),
      }));
    }
    return { models };
  });

  addRoute(routes, ENDPOINTS.ollamaShow, async (ctx) => {
    const body = requireObjectBody(ctx.body);
    // older clients send `name`
    const id = resolveOllama(router, body["model"] ?? body["name"]);
    const m = router.inspect(id)!;
    const { summary, modifiedAt } = await describe(m.spec);
    return ollama.show({
      ...(summary ? { summary } : {}),
      modifiedAt,
      ...(m.spec.path ? { path: m.spec.path } : {}),
      parameters: showParameters(m.spec.options as Record<string, unknown>),
      capabilities: ollama.capabilities({
        template: summary?.chatTemplate ?? "",
        embeddings: m.args.includes("--embedding") || m.args.includes("--embeddings"),
        vision: router.takesImages(id) && (m.engine !== "cmd" && m.engine !== "remote"),
      }),
    });
  });

  const generation = (kind: OllamaKind) => async (ctx: RequestContext) => {
    const t = ollama.parseRequest(kind, ctx.body);
    const id = resolveOllama(router, t.model);
    if (t.loadOnly) return loadOnly(router, id, kind, t, autoload(ctx));
    if (kind === "chat") checkImages(router, id, t.openai);
    await serveTranslated(router, id, autoload(ctx), ctx.res, ctx.dialect, {
      path: t.path, body: t.openai,
      whole: (answer, timing) => ollama.answerFrom(kind, answer as ChatCompletion, { model: t.model, ...timing }),
      ...(t.stream ? { stream: { translator: () => ollama.stream({ kind, model: t.model }), format: ollama.streamFormat } } : {}),
      ...(t.keepAlive !== undefined ? { keepAlive: t.keepAlive } : {}),
    });
    return HANDLED;
  };
  addRoute(routes, ENDPOINTS.ollamaChat, generation("chat"));
  addRoute(routes, ENDPOINTS.ollamaGenerate, generation("generate"));

  const embed = (legacy: boolean) => async (ctx: RequestContext) => {
    const t = ollama.parseEmbedRequest(ctx.body, legacy);
    const id = resolveOllama(router, t.model);
    if (!t.loadOnly) refuseDisabledEmbeddings(router, id);
    if (t.loadOnly) {
      const t0 = performance.now();
      await loadOnly(router, id, "generate", t, autoload(ctx));
      const ns = Math.round((performance.now() - t0) * 1e6);
      return ollama.embedAnswer({ data: [] }, { model: t.model, totalNs: ns, loadNs: ns }, legacy);
    }
    await serveTranslated(router, id, autoload(ctx), ctx.res, ctx.dialect, {
      path: "/v1/embeddings", body: t.openai,
      whole: (answer, timing) => ollama.embedAnswer(answer, { model: t.model, ...timing, ...(t.dimensions !== undefined ? { dimensions: t.dimensions } : {}) }, legacy),
      ...(t.keepAlive !== undefined ? { keepAlive: t.keepAlive } : {}),
    });
    return HANDLED;
  };
  addRoute(routes, ENDPOINTS.ollamaEmbed, embed(false));
  addRoute(routes, ENDPOINTS.ollamaEmbeddings, embed(true));
  return routes;
}

/**
 * Ollama's preload and unload idiom, a request with nothing to generate: keep_alive 0 unloads the model (if it is
 * loaded), anything else loads it and waits for it, then applies the keep-alive.
 */
async function loadOnly(
  router: Router, id: string, kind: OllamaKind, t: Pick<OllamaTranslated, "keepAlive" | "model">, autoload: boolean,
): Promise<unknown> {
  if (t.keepAlive === 0) {
    if (router.inspect(id)?.view.state === "loaded" || router.inspect(id)?.view.state === "loading") router.unload(id);
    return ollama.loadAnswer(t.model, kind, "unload");
  }
  const state = router.inspect(id)?.view.state;
  // a preload is a request like any other: with autoload off, it does not load
  if (state !== "loaded" && !autoload) throw new Refused({ kind: "not-loaded", model: id });
  if (state !== "loaded") {
    try {
      await router.load(id, true);
    } catch (err) {
      // a load under way (started by another request) is waited for like any other
      if (!(err instanceof Refused && err.why.kind === "already-running")) throw err;
      await router.events.next(id, (e) => e.data.status === "loaded" || e.data.status === "unloaded");
    }
  }
  if (t.keepAlive !== undefined) router.keepAlive(id, t.keepAlive);
  return ollama.loadAnswer(t.model, kind, "load");
}

/** Ollama names carry a tag; a model listed without one is found under `name:latest` too, as Ollama's are. */
function resolveOllama(router: Router, name: unknown): string {
  if (typeof name !== "string" || name === "") throw new ApiError(400, "model is required");
  const id = router.resolve(name) ?? (name.endsWith(":latest") ? router.resolve(name.slice(0, -":latest".length)) : undefined);
  if (id === undefined) throw router.notFound(name);
  return id;
}

function fileOf(path: string | undefined): { size: number; mtimeMs: number } | undefined {
  if (!path) return undefined;
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/**
 * What Ollama's listings say of a model: its file's size, time and digest-like id, and its GGUF header's summary
 * (none for a model without a readable file: a command, a remote, a bad file).
 */
async function describe(spec: ModelSpec): Promise<{ name: string; sizeBytes: number; modifiedAt: Date; digest: string; summary?: GgufSummary }> {
  const file = fileOf(spec.path);
  const summary = spec.path ? await readGgufSummary(spec.path).catch(() => undefined) : undefined;
  return {
    name: spec.id, sizeBytes: file?.size ?? 0, modifiedAt: file ? new Date(file.mtimeMs) : new Date(0),
    digest: ollama.digest(spec.path ?? spec.id, file?.size ?? 0, file?.mtimeMs ?? 0), ...(summary ? { summary } : {}),
  };
}

/** A model's sampling settings as Ollama's parameter names, for /api/show. */
function showParameters(options: Record<string, unknown>): Record<string, unknown> {
  const names: Record<string, string> = {
    temperature: "temperature", topK: "top_k", topP: "top_p", minP: "min_p", seed: "seed", repeatPenalty: "repeat_penalty",
    repeatLastN: "repeat_last_n", presencePenalty: "presence_penalty", frequencyPenalty: "frequency_penalty",
    ctxSize: "num_ctx", nPredict: "num_predict",
  };
  const out: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(names)) if (options[key] !== undefined) out[name] = options[key];
  return out;
}
