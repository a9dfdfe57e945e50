// GET /lora-adapters: the adapters --lora and --lora-scaled applied, in llama-server's shape. node-llama-cpp applies
// adapters when it creates the context, so POST /lora-adapters (llama-server's way to change their scales while it
// runs) is answered with 501 rather than pretending.
import type { FastifyInstance } from "fastify";
import { ApiError } from "../../http/errors.js";
import { loraAdapters } from "../engine/engine-options.js";
import type { ServerState } from "../server/state.js";

export function registerLoraAdapterRoutes(app: FastifyInstance, state: ServerState): void {
  const adapters = loraAdapters(state.opts).map((a, id) => ({ id, path: a.filePath, scale: a.scale, task_name: "", prompt_prefix: "" }));
  app.get("/lora-adapters", async () => adapters);
  app.post("/lora-adapters", async () => {
    throw new ApiError(501, "corral's built-in engine applies LoRA adapters when the model loads; their scales cannot change while it runs (set them with --lora-scaled)");
  });
}
