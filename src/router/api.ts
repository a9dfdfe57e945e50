// The router's HTTP surface. Routed paths (the endpoint table's, src/http/endpoints.ts) only find the model (the
// body's `model`, or `?model=`) and hand the request to serve() (src/router/serve.ts); the router's own paths list,
// load and unload models.
// Served by http-server.ts.
import type { ServerResponse } from "node:http";
import { ApiError } from "../http/errors.js";
import { requireModelBody } from "../http/validate.js";
import { VERSION } from "../util/version.js";
import { sendText } from "../http/respond.js";
import { addRoute, HANDLED, type Handler, type RequestContext } from "./http-server.js";
import { streamModelEvents } from "./model-events-stream.js";
import type { Router } from "./router.js";
import { noteModel } from "./request-log.js";
import { serve } from "./serve.js";
import { dialectRoutes } from "./dialect-routes.js";
import { ollamaRoutes } from "./ollama-routes.js";
import { downloadRoutes } from "./download-routes.js";
import { downloadEntries } from "./model-list.js";
import { EMBEDDING_PATHS, refuseDisabledEmbeddings } from "./embeddings-check.js";
import { ENDPOINT_LIST, ENDPOINTS, type Endpoint } from "../http/endpoints.js";

export interface ApiOptions {
  autoload: boolean;
  modelsMax: number;
  /** The router's own metrics (--metrics); without them GET /metrics answers as llama-server does without --metrics. */
  metrics?: { readonly contentType: string; render(): Promise<string> };
}

/** The router's routes, keyed "METHOD /path". */
export function routerRoutes(router: Router, o: ApiOptions): Map<string, Handler> {
  const routes = new Map<string, Handler>();
  const on = (e: Endpoint, handler: Handler) => addRoute(routes, e, handler);

  const routed = async (ctx: RequestContext, name: unknown): Promise<typeof HANDLED> => {
    const id = resolveOrThrow(router, name);
    // answered here, so that a path the engine lacks never loads the model (nor evicts another) to answer 404
    if (router.engineOf(id).unservedPaths.has(ctx.path)) {
      throw new ApiError(404, `model '${id}' cannot serve ${ctx.path}: its engine (${router.engineOf(id).name}) does not implement it`, { type: "not_supported_error" });
    }
    if (EMBEDDING_PATHS.has(ctx.path)) refuseDisabledEmbeddings(router, id);
    await serve(router, id, autoloadOf(ctx.query, o.autoload), { req: ctx.req, res: ctx.res, path: ctx.req.url ?? ctx.path, body: ctx.rawBody, dialect: ctx.dialect });
    return HANDLED;
  };
  const helpers = { resolve: (name: unknown) => resolveOrThrow(router, name), autoload: (ctx: RequestContext) => autoloadOf(ctx.query, o.autoload) };
  for (const [key, handler] of dialectRoutes(router, helpers)) routes.set(key, handler);
  for (const [key, handler] of ollamaRoutes(router, helpers.autoload)) routes.set(key, handler);
  for (const [key, handler] of downloadRoutes(router)) routes.set(key, handler);

  for (const e of ENDPOINT_LIST) {
    if (e.route !== "model") continue;
    on(e, e.model === "body"
      ? (ctx) => routed(ctx, requireModelBody(ctx.body).model)
      : (ctx) => routed(ctx, ctx.query.get("model") ?? undefined));
  }

  // ?model=X is that model process's own metrics (and its own answer when it runs without --metrics)
  on(ENDPOINTS.metrics, async (ctx) => {
    const model = ctx.query.get("model");
    if (model !== null) return routed(ctx, model);
    if (!o.metrics) throw new ApiError(501, "This server does not support metrics endpoint. Start it with `--metrics`");
    sendText(ctx.res, 200, o.metrics.contentType, await o.metrics.render());
    return HANDLED;
  });

  on(ENDPOINTS.props, (ctx) => {
    const model = ctx.query.get("model");
    if (model !== null) return routed(ctx, model);
    return {
      role: "router",
      max_instances: o.modelsMax,
      models_autoload: o.autoload,
      model_alias: "corral",
      model_path: "none",
      default_generation_settings: { params: {}, n_ctx: 0 },
      webui_settings: {},
      build_info: `corral-${VERSION}`,
    };
  });

  const health = () => ({ status: "ok" });
  on(ENDPOINTS.health, health);

  const list = (ctx: RequestContext) => {
    const reload = ctx.query.get("reload");
    if (reload !== null && reload !== "" && reload !== "0" && reload !== "false") router.reload();
    return { object: "list", data: [...router.list(), ...downloadEntries(router, Math.floor(Date.now() / 1000))] };
  };
  on(ENDPOINTS.models, list);

  on(ENDPOINTS.modelsLoad, async (ctx) => {
    const body = requireModelBody(ctx.body);
    const id = resolveOrThrow(router, body.model, ctx.res);
    const wait = body.wait;
    if (wait !== undefined && typeof wait !== "boolean") throw new ApiError(400, `'wait' must be a boolean, got ${typeof wait}`);
    await router.load(id, wait === true);
    return { success: true };
  });

  on(ENDPOINTS.modelsUnload, (ctx) => {
    const name = requireModelBody(ctx.body).model;
    // a model still downloading (POST /models) is not in the catalog yet: its unload cancels the download
    if (typeof name === "string" && router.resolve(name) === undefined && router.cancelDownload(name)) return { success: true };
    router.unload(resolveOrThrow(router, name, ctx.res));
    return { success: true };
  });

  // at run time, as the preset's `pin = true` does at start-up (a pin set here lasts until the router stops)
  on(ENDPOINTS.modelsPin, (ctx) => {
    const body = requireModelBody(ctx.body);
    const id = resolveOrThrow(router, body.model, ctx.res);
    const pin = body.pin ?? true;
    if (typeof pin !== "boolean") throw new ApiError(400, `'pin' must be a boolean, got ${typeof pin}`);
    router.pin(id, pin);
    return { success: true, pinned: pin };
  });

  // the last ~64 KB of a model process's output (its current process, or its last one): why did it fail?
  on(ENDPOINTS.modelsLogs, ({ query, res }) => {
    const id = resolveOrThrow(router, query.get("model") ?? undefined, res);
    sendText(res, 200, "text/plain; charset=utf-8", router.logs(id).join("\n") + "\n");
    return HANDLED;
  });

  on(ENDPOINTS.modelsEvents, ({ res }) => {
    streamModelEvents(res, (send) => router.events.subscribe(send));
    return HANDLED;
  });

  // Ollama's clients probe for a server with HEAD / (GET / is the web UI, http-server.ts)
  on(ENDPOINTS.ollamaProbe, ({ res }) => {
    sendText(res, 200, "text/plain; charset=utf-8", "");
    return HANDLED;
  });

  return routes;
}

function modelName(name: unknown): string {
  if (name === undefined || name === null || name === "") {
    throw new ApiError(400, "model name is missing from the request: set \"model\" in the JSON body (or ?model= on GET)");
  }
  if (typeof name !== "string") throw new ApiError(400, `'model' must be a string, got ${Array.isArray(name) ? "array" : typeof name}`);
  return name;
}

function resolveOrThrow(router: Router, name: unknown, res?: ServerResponse): string {
  const model = modelName(name);
  const id = router.resolve(model);
  if (id === undefined) throw router.notFound(model);
  // the request log and metrics name the model (a resolved id, never a name a client made up)
  if (res) noteModel(res, id);
  return id;
}

/** `?autoload=true|1` or `false|0` overrides --models-autoload for one request. */
function autoloadOf(query: URLSearchParams, dflt: boolean): boolean {
  const v = query.get("autoload");
  if (v === null) return dflt;
  return v === "true" || v === "1";
}
