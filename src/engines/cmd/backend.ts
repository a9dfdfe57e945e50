// The cmd engine: any OpenAI-compatible server started from a command line (vLLM, another corral, a llama-server
// with flags of its own, a script), as llama-swap does. It is ready when its health path answers 200, and it runs
// in its own process group so that a stop reaches everything the command started.
import { freePort } from "../../util/free-port.js";
import { modelEnv, type EngineModule } from "../launch.js";
import { expandMacros, splitCommandLine } from "./command-line.js";

const HOST = "127.0.0.1";

export const cmdEngine: EngineModule = {
  name: "cmd",
  // whatever the command runs, OpenAI chat completions are the one dialect every OpenAI-compatible server speaks
  dialects: new Set(["openai"]),
  // what it runs is not known: every routed path is forwarded
  unservedPaths: new Set(),
  program: (spec) => splitCommandLine(spec.cmd ?? "")[0],
  args: (spec) => splitCommandLine(spec.cmd ?? "").slice(1),
  async plan(input) {
    const { spec } = input;
    const port = String(await freePort());
    const macros = { PORT: port, HOST, MODEL: spec.path ?? "", MODEL_ID: spec.id };
    const [command, ...args] = splitCommandLine(spec.cmd ?? "").map((w) => expandMacros(w, macros));
    if (!command) throw new Error(`model '${spec.id}': 'cmd' is empty`);
    const origin = expandMacros(spec.proxy ?? `http://${HOST}:\${PORT}`, macros).replace(/\/+$/, "");
    const url = new URL(origin);
    return {
      engine: "cmd",
      spawn: { command, args, env: modelEnv(input), processGroup: true },
      readiness: { kind: "health", url: origin + expandMacros(spec.health ?? "/health", macros) },
      target: { origin: url.origin, ...(url.pathname !== "/" ? { basePath: url.pathname } : {}) },
      stop: { kind: "signal", signal: spec.stopSignal ?? "SIGTERM" },
      stopTimeoutS: spec.stopTimeoutS,
      gracefulWhileLoading: true,
    };
  },
};
