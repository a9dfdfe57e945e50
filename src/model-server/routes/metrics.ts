// Prometheus text with llama-server's metric names. prom-client is imported only with --metrics, so servers
// without it do not pay for it at start-up.
import type { FastifyInstance } from "fastify";
import { ApiError } from "../../http/errors.js";
import type { ServerState } from "../server/state.js";
import { ENDPOINTS } from "../../http/endpoints.js";
import { routeEndpoint } from "./endpoint-route.js";

export async function registerMetricsRoute(app: FastifyInstance, state: ServerState): Promise<void> {
  if (!state.opts.metrics) {
    routeEndpoint(app, ENDPOINTS.metrics, async () => {
      throw new ApiError(501, "This server does not support metrics endpoint. Start it with `--metrics`");
    });
    return;
  }
  const prom = await import("prom-client");
  const registry = new prom.Registry();
  const s = state.stats;
  const gauge = (name: string, help: string, value: () => number) =>
    new prom.Gauge({ name, help, registers: [registry], collect() { this.set(value()); } });
  const counter = (name: string, help: string, value: () => number) =>
    new prom.Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(value()); } });
  counter("llamacpp:prompt_tokens_total", "Number of prompt tokens processed.", () => s.promptTokensTotal);
  counter("llamacpp:prompt_seconds_total", "Prompt process time", () => s.promptSecondsTotal);
  counter("llamacpp:tokens_predicted_total", "Number of generation tokens processed.", () => s.predictedTokensTotal);
  counter("llamacpp:tokens_predicted_seconds_total", "Predict process time", () => s.predictedSecondsTotal);
  counter("llamacpp:requests_total", "Number of generation requests received.", () => s.requestsTotal);
  gauge("llamacpp:prompt_tokens_seconds", "Average prompt throughput in tokens/s.", () =>
    s.promptSecondsTotal > 0 ? s.promptTokensTotal / s.promptSecondsTotal : 0);
  gauge("llamacpp:predicted_tokens_seconds", "Average generation throughput in tokens/s.", () =>
    s.predictedSecondsTotal > 0 ? s.predictedTokensTotal / s.predictedSecondsTotal : 0);
  gauge("llamacpp:requests_processing", "Number of requests processing.", () => state.ready?.pool.processing ?? 0);
  gauge("llamacpp:requests_deferred", "Number of requests deferred.", () => state.ready?.pool.deferred ?? 0);
  routeEndpoint(app, ENDPOINTS.metrics, async (_req, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
}
