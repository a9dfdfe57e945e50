// The router's HTTP surface. Routed paths only find the model (the body's `model`, or `?model=` on GET), wait for
// the scheduler's grant and hand the request to the proxy; the router's own paths list, load and unload models.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ApiError } from "../http/errors.js";
import { openSse } from "../http/sse.js";
import { VERSION } from "../cli/version.js";
import { forward } from "./proxy.js";
import { notFound, type Router } from "./router.js";

/** POST paths whose body names the model (llama.cpp's list, and the OpenAI spellings). */
export const ROUTED_POST_PATHS: readonly string[] = [
  "/v1/chat/completions", "/chat/completions", "/v1/completions", "/completions", "/completion",
  "/v1/embeddings", "/embeddings", "/embedding", "/tokenize", "/detokenize", "/apply-template", "/infill",
  "/v1/rerank", "/rerank", "/v1/reranking", "/reranking", "/v1/responses", "/responses", "/v1/messages",
  "/v1/messages/count_tokens", "/props",
];

/** GET paths that name the model in `?model=`. */
export const ROUTED_GET_PATHS: readonly string[] = ["/metrics", "/slots"];

export interface ApiOptions {
  autoload: boolean;
  modelsMax: number;
}

export function registerRouterRoutes(app: FastifyInstance, router: Router, o: ApiOptions): void {
  const routed = async (req: FastifyRequest, reply: FastifyReply, name: unknown) => {
    const model = modelName(name);
    const id = router.resolve(model);
    if (id === undefined) throw notFound(model);
    const res = reply.raw;
    const lease = await router.acquire(id, autoloadOf(req, o.autoload), (cancel) => {
      const onClose = () => {
        if (!res.writableFinished) cancel();
      };
      res.on("close", onClose);
      return () => res.off("close", onClose);
    });
    if (res.destroyed) return lease.release();
    // headers set by hooks (CORS) live on the reply until Fastify sends it; the proxy writes the response itself
    for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) res.setHeader(name, value);
    reply.hijack();
    try {
      await forward(lease.pool, req.raw, reply.raw, req.url, req.rawBody, id);
    } finally {
      lease.release();
    }
  };

  for (const path of ROUTED_POST_PATHS) {
    app.post(path, async (req, reply) => {
      const body = req.body;
      if (body === undefined || body === null || typeof body !== "object" || Array.isArray(body)) {
        throw new ApiError(400, "the request body must be a JSON object with a \"model\" field");
      }
      return routed(req, reply, (body as Record<string, unknown>).model);
    });
  }
  for (const path of ROUTED_GET_PATHS) {
    app.get(path, async (req, reply) => routed(req, reply, queryOf(req).model));
  }

  app.get("/props", async (req, reply) => {
    const q = queryOf(req);
    if (q.model !== undefined) return routed(req, reply, q.model);
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

  app.get("/health", async () => ({ status: "ok" }));
  app.get("/v1/health", async () => ({ status: "ok" }));

  const list = async (req: FastifyRequest) => {
    const reload = queryOf(req).reload;
    if (typeof reload === "string" && reload !== "" && reload !== "0" && reload !== "false") router.reload();
    return { object: "list", data: router.list() };
  };
  app.get("/models", list);
  app.get("/v1/models", list);

  app.post("/models/load", async (req) => {
    const body = objectBody(req);
    const id = resolveOrThrow(router, body.model);
    const wait = body.wait;
    if (wait !== undefined && typeof wait !== "boolean") throw new ApiError(400, `'wait' must be a boolean, got ${typeof wait}`);
    await router.load(id, wait === true);
    return { success: true };
  });

  app.post("/models/unload", async (req) => {
    const body = objectBody(req);
    router.unload(resolveOrThrow(router, body.model));
    return { success: true };
  });

  app.get("/models/sse", async (_req, reply) => {
    const sse = openSse(reply);
    const off = router.events.subscribe((ev) => sse.send(ev));
    // a comment line now and then keeps proxies from closing a quiet stream
    const keepAlive = setInterval(() => {
      if (!reply.raw.destroyed) reply.raw.write(": keep-alive\n\n");
    }, 15_000);
    reply.raw.on("close", () => {
      off();
      clearInterval(keepAlive);
    });
  });

  app.get("/", async (_req, reply) => {
    const rows = router.list().map((m) => {
      const st = (m.status as { value: string }).value;
      return `<tr><td>${escapeHtml(String(m.id))}</td><td>${st}</td></tr>`;
    });
    reply.type("text/html; charset=utf-8");
    return `<!doctype html><meta charset="utf-8"><title>corral</title><h1>corral router</h1>` +
      `<table><tr><th>model</th><th>status</th></tr>${rows.join("")}</table><p>API: <code>/v1/models</code>, <code>/v1/chat/completions</code></p>`;
  });
}

function queryOf(req: FastifyRequest): Record<string, unknown> {
  return (req.query ?? {}) as Record<string, unknown>;
}

function modelName(name: unknown): string {
  if (name === undefined || name === null || name === "") {
    throw new ApiError(400, "model name is missing from the request: set \"model\" in the JSON body (or ?model= on GET)");
  }
  if (typeof name !== "string") throw new ApiError(400, `'model' must be a string, got ${Array.isArray(name) ? "array" : typeof name}`);
  return name;
}

function resolveOrThrow(router: Router, name: unknown): string {
  const model = modelName(name);
  const id = router.resolve(model);
  if (id === undefined) throw notFound(model);
  return id;
}

function objectBody(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  if (b === undefined || b === null || typeof b !== "object" || Array.isArray(b)) {
    throw new ApiError(400, "the request body must be a JSON object with a \"model\" field");
  }
  return b as Record<string, unknown>;
}

/** `?autoload=true|1` or `false|0` overrides --models-autoload for one request. */
function autoloadOf(req: FastifyRequest, dflt: boolean): boolean {
  const v = queryOf(req).autoload;
  if (typeof v !== "string") return dflt;
  return v === "true" || v === "1";
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
