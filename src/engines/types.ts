// The seam between the router and whatever answers a model's requests. An engine (one module per engine under
// src/engines/) turns a model's spec into a LaunchPlan: what to start, how to tell it is ready and how far its load
// is, how to stop it, and where its requests go. The supervisor runs any plan; the upstream forwards to any target.
// Adding an engine means adding one module that returns plans.

export type EngineName = "node" | "llama-server" | "cmd" | "remote";
/**
 * The request dialects an engine's process may answer itself. The router translates any other dialect to OpenAI
 * chat completions, which every engine serves (src/router/translated-serve.ts); Ollama's is always translated.
 */
export type Dialect = "openai" | "anthropic" | "responses";

/** Where a model's requests go. */
export interface UpstreamTarget {
  /** http(s)://host:port, plus an optional path prefix for a remote server. */
  origin: string;
  /** Connect over this Unix socket instead (origin is then only used for the Host header). */
  socketPath?: string;
  /** Prefixed to every forwarded path (a remote `proxy = http://host/prefix`). */
  basePath?: string;
  /** Bearer key the upstream itself wants (a remote server's `api-key`). */
  apiKey?: string;
}

export type Readiness =
  /** The node engine: `listening`, `progress`, `ready`, `failed` messages over the fork IPC channel. */
  | { kind: "ipc" }
  /** llama-server's router protocol: `cmd_child_to_router:state:{json}` lines on stdout. */
  | { kind: "state-lines" }
  /** Poll `url` until it answers 200 (cmd and remote engines). */
  | { kind: "health"; url: string; headers?: Record<string, string> };

export type StopMethod =
  /** Send a signal (to the whole process group when the plan has one). */
  | { kind: "signal"; signal: NodeJS.Signals }
  /** Write a line to the child's stdin (llama-server's `cmd_router_to_child:exit`). */
  | { kind: "stdin"; line: string };

export interface SpawnSpec {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Node engine: fork with an IPC channel and these V8 flags. */
  fork?: { execArgv: string[] };
  /**
   * Keep stdin as a pipe the router holds open: a llama-server child exits when it reads EOF, which is how it dies
   * with a SIGKILLed router.
   */
  stdinPipe?: boolean;
  /** Own process group, so that a stop reaches every process a command line started. */
  processGroup?: boolean;
}

export interface LaunchPlan {
  engine: EngineName;
  /** What to start; absent for a remote server (nothing is started, its health alone tells its state). */
  spawn?: SpawnSpec;
  readiness: Readiness;
  /** Where requests go; for the node engine it comes from the child's `listening` message instead. */
  target?: UpstreamTarget;
  stop: StopMethod;
  /** Seconds between a graceful stop and SIGKILL. */
  stopTimeoutS: number;
  /** How long it may take to become ready, where the engine knows better than --models-load-timeout. */
  loadTimeoutMs?: number;
  /** The warm spare (node engine) may serve this plan: same environment, CPU only. */
  spareOk?: boolean;
}

/** What the router shows of a running model and how it reaches it. */
export interface ReadyInfo {
  pid?: number;
  target: UpstreamTarget;
  /** The engine's own facts (n_ctx, n_params, …) from its ready report. */
  facts: Record<string, unknown>;
}
