// The llama-server engine: llama.cpp's own server binary, one process per model, driven exactly as llama.cpp's
// router drives its children (src/engines/llama-server/state-lines.ts): LLAMA_SERVER_ROUTER_PORT in the
// environment, stdin held open, readiness and load progress from its state lines, `cmd_router_to_child:exit` to
// stop. Every llama-server flag reaches it: corral's known options rendered from the table, the rest verbatim.
import { unservedPaths } from "../../http/endpoints.js";
import { renderChildArgs } from "../../options/child-args.js";
import type { ModelSpec } from "../../catalog/catalog.js";
import { modelEnv, type EngineModule } from "../launch.js";
import { EXIT_COMMAND, stateLineReadiness } from "./state-lines.js";

/**
 * What the router's memory estimate (src/router/memory/estimate.ts) assumes, made explicit; they come before the
 * model's own options, so a user's --fit or --cache-ram still wins (llama.cpp: the last flag counts), as does one set
 * by an LLAMA_ARG_* variable, left alone here (a flag would beat it).
 * - `--fit off`: --fit (on by default) sizes the context and the GPU layers to whatever memory is free at start-up,
 *   so a child started beside others would silently shrink; and with separate slot caches and no -c it gives each
 *   slot the training context (slots × n_ctx_train in all). Off, -c unset is exactly the training context.
 * - `--cache-ram 0`: the host-memory prompt cache grows by each evicted prompt's KV state up to 8 GiB per process
 *   by default (measured: +35 MiB per distinct 1,500-token prompt on a 100M model); no budget can plan for that.
 * -c is not added: without --fit, llama-server's default (0, the training context) is already what runs, and an
 * explicit `-c 0` would also switch off --kv-unified-per-slot's pool sizing.
 */
export function placementDefaults(spec: ModelSpec, env: NodeJS.ProcessEnv = process.env): string[] {
  const set = (name: string) => spec.env[name] !== undefined || env[name] !== undefined;
  return [
    ...(set("LLAMA_ARG_FIT") ? [] : ["--fit", "off"]),
    ...(set("LLAMA_ARG_CACHE_RAM") ? [] : ["--cache-ram", "0"]),
  ];
}

export function llamaServerEngine(binaryOf: (spec: ModelSpec) => string): EngineModule {
  return {
    name: "llama-server",
    dialects: new Set(["openai", "anthropic", "responses"]),
    unservedPaths: unservedPaths("llama-server"),
    program: (spec) => binaryOf(spec),
    args(spec, socketPath, extra) {
      return [
        "--model", spec.path ?? "",
        ...(spec.mmproj ? ["--mmproj", spec.mmproj] : []),
        "--alias", spec.id,
        // a path ending in .sock makes llama-server listen on a Unix socket (cheaper than TCP for the proxy)
        "--host", socketPath ?? "127.0.0.1", "--port", "0",
        ...placementDefaults(spec),
        ...renderChildArgs(spec.options, "llama-server"),
        // the router's own command-line flags corral does not know, then the preset's: later ones win in llama.cpp
        ...extra,
        ...spec.passthrough.flatMap((p) => p.args),
      ];
    },
    async plan(input) {
      const { spec } = input;
      if (!input.socketPath) throw new Error("the llama-server engine needs a socket path");
      const target = { origin: "http://localhost", socketPath: input.socketPath };
      return {
        engine: "llama-server",
        spawn: { command: binaryOf(spec), args: input.args, env: modelEnv(input), stdinPipe: true },
        readiness: stateLineReadiness(target),
        target,
        stop: spec.stopSignal ? { kind: "signal", signal: spec.stopSignal } : { kind: "stdin", line: EXIT_COMMAND },
        stopTimeoutS: spec.stopTimeoutS,
      };
    },
  };
}
