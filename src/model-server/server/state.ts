import type { ModelOptions, RouterOnlyOptions } from "../../options/options.js";
import type { Logger } from "../../util/log.js";
import type { ChatTemplate } from "../templates/chat-template.js";
import type { Engine } from "../engine/engine.js";
import type { SlotPool } from "../generation/slots.js";

/**
 * What a model process reads: the model options, and the few router-only ones that make up its own server (address,
 * keys, TLS, CORS, web UI, API prefix, log). Under a router, the router chooses those for the child itself.
 */
export type ModelServerOptions = ModelOptions & Pick<RouterOnlyOptions,
  | "alias" | "host" | "port" | "apiKey" | "apiKeyFile" | "sslKeyFile" | "sslCertFile" | "corsOrigins" | "apiPrefix"
  | "webui" | "path" | "uiMcpProxy" | "logDisable" | "logFile" | "logColors" | "logPrefix" | "logTimestamps" | "verbosity">;

/** Counters behind /metrics; kept always (they are cheap), rendered only with --metrics. */
export interface Stats {
  promptTokensTotal: number;
  promptSecondsTotal: number;
  predictedTokensTotal: number;
  predictedSecondsTotal: number;
  requestsTotal: number;
}

/** Everything the routes need; `ready` is undefined while the model loads. */
export interface ServerState {
  opts: ModelServerOptions;
  log: Logger;
  /** The name /v1/models reports first, then the other aliases. */
  modelId: string;
  aliases: string[];
  apiKeys: string[];
  startedAt: number;
  stats: Stats;
  ready?: { engine: Engine; pool: SlotPool; template: ChatTemplate };
  /** --sleep-idle-seconds: the model is freed until the next request that needs it (ready keeps its facts). */
  sleeping?: boolean;
  loadError?: string;
}
