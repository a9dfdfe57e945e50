// What every engine module is given to plan a model's process, and what it returns.
import type { ModelSpec } from "../catalog/catalog.js";
import type { Dialect, EngineName, LaunchPlan } from "./types.js";

export interface LaunchInput {
  spec: ModelSpec;
  /** The process's arguments, as args() made them (also shown in /models as status.args). */
  args: string[];
  /** The router's environment for children (its own settings removed, LLAMA_SERVER_ROUTER_PORT set). */
  baseEnv: NodeJS.ProcessEnv;
  /** A Unix socket path for the model, where the engine listens on one. */
  socketPath?: string;
}

export interface EngineModule {
  name: EngineName;
  /** The program run (for status.args); undefined when nothing is started. */
  program(spec: ModelSpec): string | undefined;
  /** The command line after the program, from the model's spec. */
  args(spec: ModelSpec, socketPath: string | undefined, extra: readonly string[]): string[];
  /** Dialects its processes answer natively; the router translates the others (see Dialect). */
  dialects: ReadonlySet<Dialect>;
  /**
   * Routed paths its processes are known not to serve: the router answers 404 for them without loading the model
   * (an engine whose surface is unknown, a command or a remote server, lists none and gets everything forwarded).
   */
  unservedPaths: ReadonlySet<string>;
  /** Everything the supervisor needs to run the model. May allocate a port. */
  plan(input: LaunchInput): Promise<LaunchPlan>;
}

/** The environment of one model's process: the router's, the model's LLAMA_ARG_* keys and its `env` lines. */
export function modelEnv(input: LaunchInput): NodeJS.ProcessEnv {
  return { ...input.baseEnv, ...input.spec.env };
}
