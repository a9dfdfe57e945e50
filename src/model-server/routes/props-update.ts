// POST /props: llama-server accepts it only with --props, and (in the version corral follows) changes nothing yet
// but answers success; without --props it is 501, as in llama-server.
import type { FastifyInstance } from "fastify";
import { ApiError } from "../../http/errors.js";
import type { ServerState } from "../server/state.js";
import { ENDPOINTS } from "../../http/endpoints.js";
import { routeEndpoint } from "./endpoint-route.js";

export function registerPropsUpdateRoute(app: FastifyInstance, state: ServerState): void {
  routeEndpoint(app, ENDPOINTS.propsUpdate, async () => {
    if (!state.opts.props) {
      throw new ApiError(501, "This server does not support changing global properties. Start it with `--props`");
    }
    return { success: true };
  });
}
