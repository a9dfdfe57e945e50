// The llama-server engine: llama.cpp's own server binary, one process per model, driven exactly as llama.cpp's
// router drives its children (src/engines/llama-server/state-lines.ts): LLAMA_SERVER_ROUTER_PORT in the
// environment, stdin held open, readiness and load progress from its state lines, `cmd_router_to_child:exit` to
// stop. Every llama-server flag reaches it: corral's known options rendered from the table, the rest verbatim.
import { renderChildArgs } from "../../cli/child-args.js";
import type { ModelSpec } from "../../router/catalog/catalog.js";
import { modelEnv, type EngineModule } from "../launch.js";
import { EXIT_COMMAND } from "./state-lines.js";

export function llamaServerEngine(binaryOf: (spec: ModelSpec) => string): EngineModule {
  return {
    name: "llama-server",
    dialects: new Set(["openai", "anthropic", "responses"]),
    unservedPaths: new Set(),
    program: (spec) => binaryOf(spec),
    args(spec, socketPath, extra) {
      return [
        "--model", spec.path ?? "",
        ...(spec.mmproj ? ["--mmproj", spec.mmproj] : []),
        "--alias", spec.id,
        // a path ending in .sock makes llama-server listen on a Unix socket (cheaper than TCP for the proxy)
        "--host", socketPath ?? "127.0.0.1", "--port", "0",
        ...renderChildArgs(spec.options, "llama-server"),
        // the router's own command-line flags corral does not know, then the preset's: later ones win in llama.cpp
        ...extra,
        ...spec.passthrough.flatMap((p) => p.args),
      ];
    },
    async plan(input) {
      const { spec } = input;
      if (!input.socketPath) throw new Error("the llama-server engine needs a socket path");
      return {
        engine: "llama-server",
        spawn: { command: binaryOf(spec), args: input.args, env: modelEnv(input), stdinPipe: true },
        readiness: { kind: "state-lines" },
        target: { origin: "http://localhost", socketPath: input.socketPath },
        stop: spec.stopSignal ? { kind: "signal", signal: spec.stopSignal } : { kind: "stdin", line: EXIT_COMMAND },
        stopTimeoutS: spec.stopTimeoutS,
      };
    },
  };
}
