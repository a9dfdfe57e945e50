// A spare model process: started by the router before any request needs it, it loads the runtime, the server's
// code and llama.cpp's CPU backend, then waits to be told which model to serve. A cold load then costs only the
// model's own load time (about half of a fresh process's start-up on the bench model, see README Performance).
import { preloadSamplingClasses } from "./generation/generate.js";
import { speedUpGgufArrays } from "./engine/gguf-fast-arrays.js";
import { prewarmLlama } from "./engine/llama-loader.js";
import { loadThreadpoolShim } from "./engine/threadpool-shim.js";
import { parseParentMessage, type ChildMessage } from "../engines/node/protocol.js";

export interface SpareAssignment {
  argv: string[];
}

/** Warms up, then resolves with the command line of the model to serve. Exits when the router goes away. */
export function waitAsSpare(): Promise<SpareAssignment> {
  process.on("disconnect", () => process.exit(0));
  const assigned = new Promise<SpareAssignment>((resolve) => {
    const onMessage = (m: unknown) => {
      const msg = parseParentMessage(m);
      if (!msg) return;
      process.off("message", onMessage);
      resolve({ argv: msg.argv });
    };
    process.on("message", onMessage);
  });
  const warm = async () => {
    loadThreadpoolShim(); // before the backend, as in a normal start
    // with GPU offload asked for in the environment, the model will want a GPU backend: do not load the CPU one
    const gpuFromEnv = (process.env["LLAMA_ARG_N_GPU_LAYERS"] ?? "0") !== "0";
    await Promise.all([gpuFromEnv ? undefined : prewarmLlama(), preloadSamplingClasses(), speedUpGgufArrays(), import("./main.js")]);
    const ready: ChildMessage = { type: "spare-ready" };
    process.send?.(ready);
  };
  // a failed warm-up is not fatal: the assignment then starts the ordinary way and reports any error itself
  void warm().catch(() => {});
  return assigned;
}
