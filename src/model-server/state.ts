import type { ServerOptions } from "../options/options.js";
import type { Logger } from "../util/log.js";
import type { ChatTemplate } from "./chat-template.js";
import type { Engine } from "./engine.js";
import type { SlotPool } from "./slots.js";

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
  opts: ServerOptions;
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
