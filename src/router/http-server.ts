// The router's HTTP server, on node:http directly. The model server uses Fastify; the router does not, because the
// router sits in front of every request and every byte of its memory counts: importing Fastify costs about 17 MB of
// RSS (measured: bare Node 20 39.5 MB, with Fastify 57 MB), a third of the router's 60 MB budget, and its
// per-request work (routing, hooks, reply objects) showed in the proxy's CPU profile. The router's surface is a
// fixed table of about thirty routes, one body format and one error shape, which a Map and a few functions cover.
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import { keyRequired, makeKeyCheck } from "../http/auth.js";
import { answerClientError } from "../http/client-error.js";
import { corsFor, PREFLIGHT_STATUS } from "../http/cors.js";
import { ApiError, parseJsonBody, toApiError } from "../http/errors.js";
import { Refused } from "./refusal.js";
import { refusalError } from "./refusal-http.js";
import { errorBody, type ErrorDialect } from "../dialects/errors.js";
import { errorDialectOf, routeKeys, type Endpoint } from "../http/endpoints.js";
import { sendError, sendJson } from "../http/respond.js";
import type { Logger } from "../util/log.js";
import { stripApiPrefix } from "../util/api-prefix.js";
import type { TlsFiles } from "../util/tls.js";
import { staticFile } from "../util/static-files.js";
import { prefixSlashRedirect, webUiFile } from "../util/webui.js";
import { RouterResponse, type RequestLog } from "./request-log.js";

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  path: string;
  query: URLSearchParams;
  /** Parsed JSON body (undefined when empty). */
  body: unknown;
  /** The body as received, forwarded unchanged to model processes. */
  rawBody: Buffer | undefined;
  /** The error shape the client reads, from the path (src/http/endpoints.ts). */
  dialect: ErrorDialect;
}

/** What a handler returns: a value to send as JSON (200), or HANDLED when it wrote the response itself. */
export const HANDLED = Symbol("handled");
export type Handler = (ctx: RequestContext) => Promise<unknown> | unknown;

/** Sets `handler` for every spelling of the endpoint's path, keyed "METHOD /path" as the server looks routes up. */
export function addRoute(routes: Map<string, Handler>, e: Endpoint, handler: Handler): void {
  for (const key of routeKeys(e)) routes.set(key, handler);
}

export interface RouterServerOptions {
  routes: ReadonlyMap<string, Handler>;
  apiKeys: readonly string[];
  corsOrigins?: readonly string[];
  maxBody: number;
  timeoutS: number;
  log: Logger;
  /** --api-prefix: every route is served under it, nothing outside it. */
  apiPrefix?: string;
  /** --ssl-key-file / --ssl-cert-file: serve HTTPS. */
  tls?: TlsFiles;
  /** --path: static files served ahead of the routes. */
  staticDir?: string;
  /** The web UI's folder (dist/webui), served at / and /assets/; undefined with --no-webui. */
  webuiDir?: string;
  /** One line per request (and the metrics' count of it). */
  requestLog?: RequestLog;
  /** A request another node of the cluster sent, proven by the cluster key: no API key is asked of it. */
  isPeer?(req: IncomingMessage): boolean;
}


export interface RouterServer {
  server: http.Server;
  listen(host: string, port: number): Promise<number>;
  /** Stops accepting, answers 503 to requests on open connections, and resolves when those in flight are done. */
  close(): Promise<void>;
}

export function createRouterServer(o: RouterServerOptions): RouterServer {
  const checkKey = o.apiKeys.length > 0 ? makeKeyCheck(o.apiKeys) : undefined;
  let closing = false;

  // every response is a RouterResponse, which carries what the request log needs (request-log.ts)
  const serverOptions = { keepAliveTimeout: 5000, requestTimeout: 0, headersTimeout: 60_000, ServerResponse: RouterResponse };
  const onRequest = (req: IncomingMessage, res: RouterResponse) => void handle(req, res);
  // an HTTPS server offers everything used here of an HTTP one
  const server = o.tls
    ? (https.createServer<typeof IncomingMessage, typeof RouterResponse>({ ...serverOptions, ...o.tls }, onRequest) as unknown as http.Server)
    : http.createServer<typeof IncomingMessage, typeof RouterResponse>(serverOptions, onRequest) as unknown as http.Server;
  // idle sockets (including a client that stalls half way through a request) are closed after --timeout
  if (o.timeoutS > 0) server.setTimeout(o.timeoutS * 1000, (socket: Socket) => socket.destroy());
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => answerClientError(err, socket));

  async function handle(req: IncomingMessage, res: RouterResponse): Promise<void> {
    const raw = req.url ?? "/";
    const inPrefix = stripApiPrefix(o.apiPrefix, raw);
    // routes, and the proxy to the models, see the plain path
    if (inPrefix !== undefined) req.url = inPrefix;
    const url = inPrefix ?? raw;
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    o.requestLog?.begin(req, res, path);
    try {
      if (closing) throw new ApiError(503, "the router is shutting down", { headers: { connection: "close" } });
      if (inPrefix === undefined) {
        req.resume();
        throw new ApiError(404, `File Not Found: ${req.method} ${path}`);
      }
      if (o.corsOrigins && cors(req, res)) return;
      if (checkKey && keyRequired(req.method, path) && !o.isPeer?.(req)) checkKey(req.headers);
      const file = o.staticDir && (req.method === "GET" || req.method === "HEAD") ? staticFile(o.staticDir, path) : undefined;
      if (file) {
        res.writeHead(200, { "content-type": file.type, "content-length": file.body.length });
        res.end(req.method === "HEAD" ? undefined : file.body);
        return;
      }
      // GET only: HEAD / stays the plain probe Ollama's clients send
      const ui = o.webuiDir !== undefined && req.method === "GET" ? webUiFile(path, o.webuiDir) : undefined;
      const slash = ui ? prefixSlashRedirect(o.apiPrefix, raw) : undefined;
      if (slash) {
        res.writeHead(308, { location: slash, "content-length": 0 });
        res.end();
        return;
      }
      if (ui) {
        res.writeHead(200, { "content-type": ui.type, "content-length": ui.body.length, "cache-control": ui.cacheControl });
        res.end(ui.body);
        return;
      }
      const route = o.routes.get(`${req.method} ${path}`);
      if (!route) {
        req.resume();
        throw new ApiError(404, `File Not Found: ${req.method} ${path}`);
      }
      const rawBody = req.method === "POST" || req.method === "DELETE" ? await readBody(req, o.maxBody) : undefined;
      const body = rawBody ? parseJsonBody(rawBody) : undefined;
      const query = new URLSearchParams(q < 0 ? "" : url.slice(q + 1));
      const result = await route({ req, res, path, query, body, rawBody, dialect: errorDialectOf(path) });
      if (result !== HANDLED) sendJson(res, 200, result);
    } catch (err) {
      // the router's core refuses with values; here they become the status and body of the client's dialect
      const e = err instanceof Refused ? refusalError(err.why) : toApiError(err);
      // 501 (an endpoint turned off, e.g. /metrics without --metrics) is polled by scrapers: not an error of ours
      if (e.status >= 500 && e.status !== 503 && e.status !== 501) o.log.error(`request failed: ${e.message}`);
      sendError(res, e, errorBody(errorDialectOf(path), e));
    }
  }

  /** Sets CORS headers for an allowed Origin; answers a preflight itself (returns true). */
  function cors(req: IncomingMessage, res: ServerResponse): boolean {
    const answer = corsFor(o.corsOrigins ?? [], req.method, req.headers);
    if (!answer) return false;
    for (const [k, v] of Object.entries(answer.headers)) res.setHeader(k, v);
    if (!answer.preflight) return false;
    res.writeHead(PREFLIGHT_STATUS);
    res.end();
    return true;
  }

  return {
    server,
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          const addr = server.address();
          resolve(typeof addr === "object" && addr ? addr.port : port);
        });
      });
    },
    close() {
      closing = true;
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    },
  };
}

/** Reads a request body, refusing (413) past `limit` bytes whether or not Content-Length announced it. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const tooLarge = () => new ApiError(413, `request body is too large (see --max-body, ${limit} bytes)`, { headers: { connection: "close" } });
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > limit) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(size === 0 ? undefined : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.on("error", () => reject(new ApiError(400, "the request body could not be read")));
  });
}
