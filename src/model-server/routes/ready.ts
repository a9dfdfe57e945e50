import { ApiError } from "../../http/errors.js";
import type { ServerState } from "../server/state.js";

/** The loaded model, or the 503 llama-server answers while loading. */
export function requireReady(state: ServerState): NonNullable<ServerState["ready"]> {
  if (state.ready) return state.ready;
  if (state.loadError) throw new ApiError(503, `model failed to load: ${state.loadError}`);
  throw new ApiError(503, "Loading model", { headers: { "retry-after": "1" } });
}
