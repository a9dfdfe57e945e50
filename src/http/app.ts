// The Fastify instance both servers share: JSON bodies whatever their Content-Type (llama-server accepts
// `curl -d` without a header), OpenAI-shaped errors for everything, API-key checks, JSON 404s.
import Fastify, { type FastifyInstance } from "fastify";
import { keyRequired, makeKeyCheck } from "./auth.js";
import { answerClientError } from "./client-error.js";
import { corsFor, PREFLIGHT_STATUS } from "./cors.js";
import { ApiError, parseJsonBody, toApiError } from "./errors.js";
import type { Logger } from "../util/log.js";
import { OUTSIDE_API_PREFIX, stripApiPrefix } from "../util/api-prefix.js";
import type { TlsFiles } from "../util/tls.js";

export interface AppOptions {
  apiKeys: readonly string[];
  timeoutS: number;
  bodyLimit: number;
  log: Logger;
  verbose: boolean;
  /** Origins allowed to call the API from a browser (see cors.ts); CORS is off without them. */
  corsOrigins?: readonly string[];
  /** --api-prefix: every route is served under it, nothing outside it. */
  apiPrefix?: string;
  /** --ssl-key-file / --ssl-cert-file: serve HTTPS. */
  tls?: TlsFiles;
}

export function createApp(o: AppOptions): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: o.bodyLimit,
    connectionTimeout: o.timeoutS * 1000,
    keepAliveTimeout: 5000,
    return503OnClosing: true,
    forceCloseConnections: "idle",
    clientErrorHandler: (err, socket) => answerClientError(err as NodeJS.ErrnoException, socket),
    ...(o.apiPrefix ? { rewriteUrl: (req: { url?: string }) => stripApiPrefix(o.apiPrefix, req.url ?? "/") ?? OUTSIDE_API_PREFIX } : {}),
    // an HTTPS server is still a FastifyInstance for every route and hook here
    ...(o.tls ? { https: o.tls } : {}),
  }) as unknown as FastifyInstance;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  if (o.corsOrigins && o.corsOrigins.length > 0) {
    const origins = o.corsOrigins;
    // before the API-key check, so that a browser can read a 401 too, and preflights (which carry no key) pass
    app.addHook("onRequest", async (req, reply) => {
      const cors = corsFor(origins, req.method, req.headers);
      if (!cors) return;
      // on the raw response, which keeps the names' case (Fastify's own headers are lowercased); Node merges
      // them into whatever Fastify writes later, an error included
      for (const [name, value] of Object.entries(cors.headers)) reply.raw.setHeader(name, value);
      if (cors.preflight) return reply.code(PREFLIGHT_STATUS).type("text/plain; charset=utf-8").send("");
    });
  }

  if (o.apiKeys.length > 0) {
    const check = makeKeyCheck(o.apiKeys);
    app.addHook("onRequest", async (req) => {
      if (keyRequired(req.method, req.url.split("?", 1)[0]!)) check(req.headers);
    });
  }

  if (o.verbose) {
    app.addHook("onResponse", async (req, reply) => {
      o.log.debug(`${req.method} ${req.url} ${reply.statusCode} ${reply.elapsedTime.toFixed(1)}ms`);
    });
  }

  app.setErrorHandler((err, _req, reply) => {
    const e = toApiError(err);
    if (e.status >= 500) o.log.error(`request failed: ${e.message}`);
    if (reply.raw.headersSent) return;
    reply.code(e.status === 499 ? 400 : e.status).headers(e.headers).send(e.toJSON());
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(new ApiError(404, `File Not Found: ${req.method} ${req.originalUrl.split("?", 1)[0]}`).toJSON());
  });
  return app;
}
