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
  /** Headers sent with every request (another corral node's cluster key). */
  headers?: Record<string, string>;
}

/** What a process reports while it loads; an engine's readiness strategy calls these. */
export interface LoadReporter {
  /** Load progress, 0..1. */
  progress(fraction: number): void;
  /** Requests may go to `target` now; `facts` are the engine's own (n_ctx, n_params, …). */
  ready(target: UpstreamTarget, facts: Record<string, unknown>): void;
  /** The process's own account of a failed load (it exits next); it becomes the exit's reason. */
  failed(why: string): void;
}

/**
 * How one process tells its state, supplied by its engine so that the supervisor knows no engine's protocol. Made
 * afresh for each process: it may keep state (the node engine's `listening` comes before `ready`).
 */
export interface ProcessProtocol {
  /** A line of the process's output; true when it was a protocol line (kept out of the log). */
  line?(line: string, report: LoadReporter): boolean;
  /** A message over the fork IPC channel. */
  message?(raw: unknown, report: LoadReporter): void;
}

export type Readiness =
  /** The process reports its own progress and readiness (IPC messages, state lines). */
  | { kind: "reported"; protocol(): ProcessProtocol }
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
  /**
   * The warm spare (node engine) may serve this plan (same environment, CPU only): this message, sent over its IPC
   * channel, hands it the model.
   */
  spareRun?: unknown;
  /**
   * A loading process may be stopped gracefully (a command line may be a server that cleans up). Otherwise a
   * loading process is killed at once: llama.cpp and the built-in engine read no stop command until the load is over.
   */
  gracefulWhileLoading?: boolean;
}

/** What the router shows of a running model and how it reaches it. */
export interface ReadyInfo {
  pid?: number;
  target: UpstreamTarget;
  /** The engine's own facts (n_ctx, n_params, …) from its ready report. */
  facts: Record<string, unknown>;
}
