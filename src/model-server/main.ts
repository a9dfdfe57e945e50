// `corral -m model.gguf`: one model behind an OpenAI-compatible API. The HTTP server listens first (answering
// 503 while loading, as llama-server does), then the model loads.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { createApp } from "../http/app.js";
import { readApiKeys } from "../http/api-keys.js";
import { corsOriginsFor } from "../http/cors.js";
import { createLogger, logOptionsFrom, type Logger } from "../util/log.js";
import { readTlsFiles } from "../util/tls.js";
import { logFirstSteps, reachableUrl } from "../util/startup-hint.js";
import { StartupError } from "../util/startup-error.js";
import { DEFAULT_CHAT_TEMPLATE } from "../gguf/chat-template.js";
import { ChatTemplate } from "./templates/chat-template.js";
import { checkModelFile, loadEngine, ModelLoadError } from "./engine/engine.js";
import { preloadSamplingClasses } from "./generation/generate.js";
import { connectParent } from "./server/parent-link.js";
import { registerEmbeddingRoutes } from "./routes/embeddings.js";
import { registerGenerationRoutes } from "./routes/generation.js";
import { registerInfoRoutes } from "./routes/info.js";
import { registerMetricsRoute } from "./routes/metrics.js";
import { registerMessagesRoutes } from "./routes/messages.js";
import { registerResponsesRoutes } from "./routes/responses.js";
import { registerOllamaRoutes } from "./routes/ollama.js";
import { registerTokenRoutes } from "./routes/tokens.js";
import { registerRerankRoutes } from "./routes/rerank.js";
import { registerCorsProxy } from "./routes/cors-proxy.js";
import { warnAboutServerFlags } from "./server/server-flags.js";
import { setUpIdleSleep } from "./server/idle-sleep.js";
import { registerPropsUpdateRoute } from "./routes/props-update.js";
import { registerSlotActionRoutes } from "./routes/slot-actions.js";
import { registerLoraAdapterRoutes } from "./routes/lora-adapters.js";
import { slotPoolFor } from "./generation/sequence-options.js";
import { prepareServerDefaults } from "./requests/server-defaults.js";
import { uiSettings } from "./server/ui-settings.js";
import { installStaticFiles } from "./server/static-route.js";
import type { ModelServerOptions, ServerState } from "./server/state.js";


export async function runModelServer(opts: ModelServerOptions, modelPath: string, log: Logger = createLogger(logOptionsFrom(opts))): Promise<void> {
  // as llama-server, the aliases are a sorted set and the first of them is the model's id
  const aliases = opts.alias && opts.alias.length > 0 ? [...new Set(opts.alias)].sort() : [basename(modelPath).replace(/\.gguf$/i, "")];
  const state: ServerState = {
    opts,
    log,
    modelId: aliases[0]!,
    aliases,
    apiKeys: readApiKeys(opts),
    startedAt: Date.now(),
    stats: { promptTokensTotal: 0, promptSecondsTotal: 0, predictedTokensTotal: 0, predictedSecondsTotal: 0, requestsTotal: 0 },
  };
  const templateOverride = readTemplateOverride(opts);
  const parent = connectParent(() => process.exit(0));
  // before listening: a server that says "listening" and then exits for a missing file misleads whoever reads it
  try {
    checkModelFile(modelPath);
  } catch (err) {
    const msg = err instanceof ModelLoadError ? err.message : String(err);
    parent.notify({ type: "failed", error: msg });
    throw new StartupError(msg);
  }
  // The model starts loading now, while the HTTP server is set up: most of a load is native work on other threads,
  // so the two overlap (this matters most to a router's cold loads).
  let lastStep = -1;
  const engineLoad = loadEngine(opts, modelPath, parent.attached ? (value) => {
    // progress is reported in steps of 10% at most, for the router's /models/sse
    const step = Math.floor(value * 10);
    if (step === lastStep) return;
    lastStep = step;
    parent.notify({ type: "progress", value: Math.round(value * 1000) / 1000 });
  } : undefined);
  engineLoad.catch(() => {}); // awaited (and reported) after listen

  const corsOrigins = corsOriginsFor(opts, ["*"]); // llama-server's default
  warnAboutServerFlags(state, corsOrigins, parent.attached);
  const tls = readTlsFiles(opts);
  uiSettings(opts); // read now: a bad --ui-config is a start-up error
  const app = createApp({
    apiKeys: state.apiKeys, timeoutS: opts.timeout, bodyLimit: opts.maxBody, corsOrigins, log, verbose: opts.verbose,
    ...(opts.apiPrefix ? { apiPrefix: opts.apiPrefix } : {}), ...(tls ? { tls } : {}),
  });
  const sleeper = setUpIdleSleep(app, state, async () => {
    const engine = await loadEngine(opts, modelPath, undefined, state.ready!.engine.llama);
    await prepareServerDefaults(opts, engine);
    state.ready = { ...state.ready!, engine, pool: slotPoolFor(engine, opts) };
  });
  installStaticFiles(app, opts.path);
  registerPropsUpdateRoute(app, state);
  registerSlotActionRoutes(app, state);
  registerLoraAdapterRoutes(app, state);
  // before the info routes: its HEAD / must be in place before GET / gets Fastify's automatic HEAD route
  registerOllamaRoutes(app, state);
  registerInfoRoutes(app, state);
  registerRerankRoutes(app, state);
  await registerCorsProxy(app, opts.uiMcpProxy);
  registerGenerationRoutes(app, state);
  registerEmbeddingRoutes(app, state);
  registerTokenRoutes(app, state);
  registerMessagesRoutes(app, state);
  registerResponsesRoutes(app, state);
  await registerMetricsRoute(app, state);

  // requests being answered, so that a stop with none can exit at once (a router's swap waits for this exit)
  let inFlight = 0;
  app.server.on("request", (_req, res) => {
    inFlight++;
    res.once("close", () => inFlight--);
  });
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping || inFlight === 0) process.exit(code); // a second signal, or nothing to finish
    stopping = true;
    // Standalone, a stop waits 3 s at most for requests to finish; under a router, the router's stop-timeout decides.
    if (!parent.attached) setTimeout(() => process.exit(code), 3000).unref();
    sleeper?.stop();
    await app.close().catch(() => {});
    await state.ready?.engine.dispose().catch(() => {});
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));

  // like llama-server, a --host ending in .sock is a Unix socket (the router talks to its models this way)
  const socketPath = opts.host.endsWith(".sock") ? opts.host : undefined;
  try {
    if (socketPath) await app.listen({ path: socketPath });
    else await app.listen({ host: opts.host, port: opts.port });
  } catch (err) {
    throw new StartupError(`cannot listen on ${socketPath ?? `${opts.host}:${opts.port}`}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const addr = app.server.address();
  const port = typeof addr === "object" && addr ? addr.port : socketPath ? 0 : opts.port;
  log.info(`server is listening on ${socketPath ? `unix:${socketPath}` : `${tls ? "https" : "http"}://${opts.host}:${port}`}`);
  parent.notify({ type: "listening", port, host: opts.host, ...(socketPath ? { socketPath } : {}) });

  try {
    const engine = await engineLoad;
    const template = new ChatTemplate(
      // models without a template get ChatML, llama-server's fallback, in the tool-aware form our test models carry
      templateOverride ?? (opts.jinja ? engine.facts.chatTemplate : undefined) ?? DEFAULT_CHAT_TEMPLATE,
      engine.facts.bosToken,
      engine.facts.eosToken,
    );
    const pool = slotPoolFor(engine, opts);
    const [, defaults] = await Promise.all([preloadSamplingClasses(), prepareServerDefaults(opts, engine)]);
    template.defaultKwargs = defaults.chatTemplateKwargs;
    const f = engine.facts;
    log.info(`model loaded: ${state.modelId} (${f.nParams} params, ${f.slots} slot(s) x ${f.nCtxSlot} tokens, ${f.gpu ? `GPU ${f.gpu}, ${f.gpuLayers} layers` : "CPU"}, threadpool shim ${f.threadpoolShim})`);
    state.ready = { engine, pool, template };
    // a router's model process keeps quiet: the router prints its own first steps
    if (!parent.attached && !socketPath) {
      const url = reachableUrl(tls ? "https" : "http", opts.host, port) + (opts.apiPrefix ?? "");
      logFirstSteps(log, url, [state.modelId], { webui: opts.webui, needsKey: state.apiKeys.length > 0 });
    }
    sleeper?.start();
    parent.notify({ type: "ready", info: { id: state.modelId, port, n_ctx: f.nCtxSlot, n_params: f.nParams, n_vocab: f.nVocab, size: f.sizeBytes, slots: f.slots, pid: process.pid } });
  } catch (err) {
    const msg = err instanceof ModelLoadError || err instanceof StartupError ? err.message : `failed to load model: ${(err as Error).message}`;
    state.loadError = msg;
    parent.notify({ type: "failed", error: msg });
    await app.close().catch(() => {});
    throw new StartupError(msg);
  }
}


function readTemplateOverride(opts: Pick<ModelServerOptions, "chatTemplate" | "chatTemplateFile">): string | undefined {
  let src = opts.chatTemplate;
  if (opts.chatTemplateFile) {
    try {
      src = readFileSync(opts.chatTemplateFile, "utf8");
    } catch (err) {
      throw new StartupError(`cannot read --chat-template-file '${opts.chatTemplateFile}': ${(err as NodeJS.ErrnoException).code}`);
    }
  }
  if (src === undefined) return undefined;
  try {
    new ChatTemplate(src, "", "");
  } catch (err) {
    throw new StartupError(`the chat template does not parse: ${(err as Error).message}`);
  }
  return src;
}
