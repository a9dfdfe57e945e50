// GET/POST /cors-proxy?url=URL (with --ui-mcp-proxy): fetches URL for a browser page that cannot reach it itself
// because of CORS (llama-server's web UI talks to MCP servers this way). Only headers the caller names explicitly,
// as x-llama-server-proxy-header-NAME, are sent on: the caller's own Authorization, API key and cookies are meant
// for this server and never leave it. Without the flag the route answers 403, as llama-server's does.
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ApiError } from "../../http/errors.js";

const HEADER_PREFIX = "x-llama-server-proxy-header-";

/** Answer headers that describe the hop rather than the content, or that are this server's business. */
function dropAnswerHeader(name: string): boolean {
  return (
    name === "connection" || name === "keep-alive" || name === "transfer-encoding" || name === "server" ||
    // fetch() has already decoded the body, so its length and encoding no longer hold
    name === "content-length" || name === "content-encoding" ||
    // cookies of another site must not land on this server's origin; CORS is this server's own
    name === "set-cookie" || name.startsWith("access-control-")
  );
}

export async function registerCorsProxy(app: FastifyInstance, enabled: boolean): Promise<void> {
  await app.register(async (scope) => {
    // the body is forwarded as the bytes received, whatever their type
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
    for (const method of ["GET", "POST"] as const) {
      scope.route({ method, url: "/cors-proxy", handler: enabled ? proxy : refuse });
    }
  });
}

async function refuse(_req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  return reply.code(403).send({ error: { code: 403, message: "this feature is disabled (start the server with --ui-mcp-proxy)", type: "feature_disabled" } });
}

async function proxy(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const target = targetUrl((req.query as Record<string, unknown>)["url"]);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (!name.startsWith(HEADER_PREFIX) || name.length === HEADER_PREFIX.length || value === undefined) continue;
    headers[name.slice(HEADER_PREFIX.length)] = Array.isArray(value) ? value.join(", ") : value;
  }
  const body = req.method === "POST" && Buffer.isBuffer(req.body) && req.body.length > 0 ? new Uint8Array(req.body) : undefined;
  const abort = new AbortController();
  reply.raw.once("close", () => abort.abort());
  let answer: Response;
  try {
    answer = await fetch(target, { method: req.method, headers, ...(body ? { body } : {}), redirect: "follow", signal: abort.signal });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new ApiError(502, `cannot fetch ${target.origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
  reply.code(answer.status);
  answer.headers.forEach((value, name) => {
    if (!dropAnswerHeader(name)) reply.header(name, value);
  });
  if (!answer.body) return reply.send("");
  return reply.send(Readable.fromWeb(answer.body as WebReadableStream<Uint8Array>));
}

/** The `url` query parameter: an absolute http(s) URL without credentials, else 400. */
function targetUrl(raw: unknown): URL {
  if (typeof raw !== "string" || raw === "") throw new ApiError(400, "'url' query parameter is required");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ApiError(400, `'url' is not an absolute URL: '${raw.slice(0, 200)}'`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ApiError(400, `'url' must be http or https, got '${url.protocol.slice(0, -1)}'`);
  }
  if (url.username || url.password) throw new ApiError(400, "'url' must not carry credentials (send them as x-llama-server-proxy-header-authorization)");
  return url;
}
