// The remote engine: a server that runs elsewhere (another machine's llama-server, vLLM, another corral), named by
// a preset's `proxy` URL with no `cmd`. Nothing is started: "loading" waits for its health path to answer 200,
// "unloading" only stops routing to it, and its own `api-key` is sent instead of the client's.
import type { EngineModule } from "../launch.js";

const REMOTE_READY_TIMEOUT_MS = 10_000;

export const remoteEngine: EngineModule = {
  name: "remote",
  dialects: new Set(["openai"]),
  // what it runs is not known: every routed path is forwarded
  unservedPaths: new Set(),
  program: () => undefined,
  args: (spec) => [spec.proxy ?? ""],
  async plan({ spec }) {
    const base = (spec.proxy ?? "").replace(/\/+$/, "");
    const url = new URL(base);
    return {
      engine: "remote",
      // its key goes with the health checks too: some servers guard every path
      readiness: {
        kind: "health", url: base + (spec.health ?? "/health"),
        ...(spec.upstreamApiKey ? { headers: { authorization: `Bearer ${spec.upstreamApiKey}` } } : {}),
      },
      target: {
        origin: url.origin,
        ...(url.pathname !== "/" ? { basePath: url.pathname } : {}),
        ...(spec.upstreamApiKey ? { apiKey: spec.upstreamApiKey } : {}),
      },
      stop: { kind: "signal", signal: "SIGTERM" },
      stopTimeoutS: 0,
      // nothing is starting up there: a server that does not answer soon is down, and waiting requests should hear it
      loadTimeoutMs: REMOTE_READY_TIMEOUT_MS,
    };
  },
};
