// The built-in engine: corral's own model server (node-llama-cpp) in a forked Node process. It works right after
// `npm install`, with no compiler, and is the only engine with a warm spare (Node's start-up is what it hides).
import { unservedPaths } from "../../http/endpoints.js";
import { renderChildArgs } from "../../options/child-args.js";
import type { ModelSpec } from "../../catalog/catalog.js";
import { presetKeyNames } from "../../catalog/presets.js";
import { closeMatches } from "../../util/suggest.js";
import { modelEnv, type EngineModule, type LaunchInput } from "../launch.js";
import type { LaunchPlan } from "../types.js";
import { ipcReadiness, SPARE_ENV, type ParentMessage } from "./protocol.js";

export interface NodeEngineConfig {
  /** JavaScript entry of bin/corral. */
  entry: string;
  /** bin/corral, shown as the program in status.args. */
  programName: string;
  execArgv: string[];
}

export function nodeEngine(cfg: NodeEngineConfig): EngineModule & { sparePlan(baseEnv: NodeJS.ProcessEnv): LaunchPlan } {
  const base = (env: NodeJS.ProcessEnv, args: string[]): LaunchPlan => ({
    engine: "node",
    spawn: { command: cfg.entry, args, env, fork: { execArgv: cfg.execArgv } },
    readiness: ipcReadiness,
    stop: { kind: "signal", signal: "SIGTERM" },
    stopTimeoutS: 10,
  });
  return {
    name: "node",
    dialects: new Set(["openai", "anthropic", "responses"]),
    unservedPaths: unservedPaths("node"),
    program: () => cfg.programName,
    args(spec, socketPath, extra) {
      return [
        "--model", spec.path ?? "", "--alias", spec.id, "--host", socketPath ?? "127.0.0.1", "--port", "0",
        ...renderChildArgs(spec.options, "node"),
        // llama-server flags corral does not implement: the model server warns about each and goes on
        ...extra,
      ];
    },
    async plan(input: LaunchInput) {
      const { spec } = input;
      return {
        ...base(modelEnv(input), input.args),
        stop: { kind: "signal", signal: spec.stopSignal ?? "SIGTERM" },
        stopTimeoutS: spec.stopTimeoutS,
        // the spare runs the CPU backend with the router's environment: a model with its own env, GPU offload or
        // native verbose logging needs a fresh process
        ...(Object.keys(spec.env).length === 0 && !spec.options.nGpuLayers && !spec.options.verbose ? { spareRun: spareRun(input.args) } : {}),
      };
    },
    // a spare waits for a `run` message instead of reading its command line
    sparePlan: (baseEnv) => base({ ...baseEnv, [SPARE_ENV]: "1" }, []),
  };
}

const spareRun = (argv: string[]): ParentMessage => ({ type: "run", argv });

/**
 * A preset key that is neither corral's option nor a llama-server flag corral knows is most likely a typo: refused
 * for node-engine models (llama-server models get it verbatim, and llama-server itself judges it).
 */
export function unknownNodeKey(spec: ModelSpec): string | undefined {
  const p = spec.passthrough.find((x) => !x.known);
  if (!p) return undefined;
  const close = closeMatches(p.key, presetKeyNames(), 3);
  const hint = close.length > 0 ? `; did you mean ${close.map((k) => `'${k}'`).join(" or ")}?` : "";
  return `${p.where}: unknown key '${p.key}' in [${spec.id}]: not a corral option nor a llama-server flag it knows (keys corral does not know are passed to llama-server models only)${hint}`;
}
