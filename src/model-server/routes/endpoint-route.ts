// The model server's routes come from the endpoint table (src/http/endpoints.ts), as the router's do, so that the
// two answer the same paths with the same methods.
import type { FastifyInstance, RouteHandlerMethod, RouteShorthandOptions } from "fastify";
import type { Endpoint } from "../../http/endpoints.js";

/** Registers `handler` for every spelling of the endpoint's path. */
export function routeEndpoint(app: FastifyInstance, e: Endpoint, handler: RouteHandlerMethod, options: RouteShorthandOptions = {}): void {
  for (const url of e.paths) app.route({ ...options, method: e.method, url, handler });
}
