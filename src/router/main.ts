// `corral` without -m: the router. It reads the catalog, listens at once (like llama-server's router, it is ready
// before any model is), and loads each model in its own process when a request first names it.
import { resolveBudget } from "./memory/budget.js";
import type { IncomingMessage } from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { modelOptionsFrom } from "../options/child-args.js";
import type { ServerOptions } from "../options/options.js";
import { readApiKeys } from "../http/api-keys.js";
import { corsOriginsFor } from "../http/cors.js";
import type { Logger } from "../util/log.js";
import { StartupError } from "../util/startup-error.js";
import { readTlsFiles } from "../util/tls.js";
import { tempDirUntilExit } from "../util/temp-dir.js";
import { logFirstSteps, reachableUrl } from "../util/startup-hint.js";
import { DEMO_MODEL_ID, type DemoModel } from "../catalog/demo-model.js";
import { checkStaticDir } from "../util/static-files.js";
import { WEBUI_DIR } from "../util/webui.js";
import { routerRoutes } from "./api.js";
import { createRouterServer, type Handler } from "./http-server.js";
import type { RouterMetrics } from "./metrics.js";
import { DiscoveryError } from "../catalog/discover.js";
import { loadCatalog } from "../catalog/load.js";
import { PresetError } from "../catalog/presets.js";
import { Router } from "./router.js";
import { RequestLog } from "./request-log.js";

const COOLDOWN_MS = 5000;
/** How long requests in flight may finish after SIGINT/SIGTERM before the models are stopped. */
const SHUTDOWN_GRACE_MS = 10_000;

/**
 * What a layer above the router adds to it (the cluster): routes of its own and wrapped ones, a check that lets its
 * peers in without an API key, and a life that starts once the router listens and ends before its models stop.
 */
export interface RouterExtension {
  attach(router: Router, routes: Map<string, Handler>, metrics: RouterMetrics | undefined): void;
  isPeer?(req: IncomingMessage): boolean;
  started(port: number): void;
  close(): Promise<void>;
}

export interface RouterStart {
  options: ServerOptions;
  fromArgv: ReadonlySet<keyof ServerOptions>;
  /** llama-server flags corral does not know, from the command line: every child gets them. */
  passthrough: string[];
  /** The generated demo model, served when no folder or presets file is given. */
  demoModels?: readonly DemoModel[];
  extension?: RouterExtension;
}

export async function runRouter(s: RouterStart, log: Logger): Promise<void> {
  const opts = s.options;
  const cliOptions = modelOptionsFrom(opts, s.fromArgv);
  const readCatalog = () => loadCatalog({
    ...(opts.modelsDir ? { modelsDir: opts.modelsDir } : {}),
    ...(opts.modelsPreset ? { presetFile: opts.modelsPreset } : {}),
    ...(s.demoModels ? { demoModels: s.demoModels } : {}),
    env: process.env,
    cliOptions,
    ...(opts.modelsTtl !== undefined ? { defaultTtlS: opts.modelsTtl } : {}),
    engine: opts.engine,
  });

  const here = path.dirname(fileURLToPath(import.meta.url));
  // removed on every exit, a failed start included (whose StartupError ends the process before shutdown exists)
  const socketDir = tempDirUntilExit("corral-");
  let router: Router;
  try {
    router = new Router({
      modelsMax: opts.modelsMax,
      queueMax: opts.modelsQueueMax,
      cooldownMs: COOLDOWN_MS,
      loadTimeoutMs: opts.modelsLoadTimeout * 1000,
      childEntry: path.join(here, "..", "cli", "main.js"),
      // a small young generation keeps each model process's idle memory low (see bin/corral)
      childExecArgv: ["--max-semi-space-size=1"],
      programName: path.resolve(here, "..", "..", "..", "bin", "corral"),
      ...(opts.llamaServer ? { llamaServer: opts.llamaServer } : {}),
      passthrough: s.passthrough,
      // Unix sockets cost less per request than loopback TCP (measured in npm run bench); not on Windows
      ...(process.platform !== "win32" ? { socketDir } : {}),
      spare: opts.modelsSpare,
      log,
      readCatalog,
      memoryBudget: memoryBudget(opts),
      healthTimeoutMs: opts.modelsHealthTimeout * 1000,
      offline: opts.offline,
    });
  } catch (err) {
    if (err instanceof PresetError || err instanceof DiscoveryError) throw new StartupError(err.message);
    throw err;
  }
  const models = router.catalog.models;
  const startup = models.filter((m) => m.loadOnStartup);
  if (opts.modelsMax > 0 && startup.length > opts.modelsMax) {
    throw new StartupError(`${startup.length} models have load-on-startup, more than --models-max ${opts.modelsMax}`);
  }

  const apiKeys = readApiKeys(opts);
  if (!isLoopback(opts.host) && apiKeys.length === 0 && !opts.allowPublic) {
    throw new StartupError(
      `refusing to listen on ${opts.host} without --api-key: anyone who can reach it could use, load and unload your models. ` +
      "Set --api-key (or --api-key-file), or pass --allow-public to do it anyway",
    );
  }
  const tls = readTlsFiles(opts);
  // prom-client is loaded only when asked for: it costs start-up time and memory
  const metrics = opts.metrics ? (await import("./metrics.js")).createRouterMetrics(router) : undefined;
  const routes = routerRoutes(router, { autoload: opts.modelsAutoload, modelsMax: opts.modelsMax, ...(metrics ? { metrics } : {}) });
  const ext = s.extension;
  ext?.attach(router, routes, metrics);
  const http = createRouterServer({
    routes,
    ...(ext?.isPeer ? { isPeer: (req: IncomingMessage) => ext.isPeer!(req) } : {}),
    requestLog: new RequestLog(log, opts.logFormat === "json", metrics),
    apiKeys, maxBody: opts.maxBody, timeoutS: opts.timeout, log,
    corsOrigins: corsOriginsFor(opts, []), // the router keeps CORS off unless asked (llama-server's default is *)
    ...(opts.apiPrefix ? { apiPrefix: opts.apiPrefix } : {}), ...(tls ? { tls } : {}),
    ...(opts.path ? { staticDir: checkStaticDir(opts.path) } : {}),
    ...(opts.webui ? { webuiDir: WEBUI_DIR } : {}),
  });
  let port: number;
  try {
    port = await http.listen(opts.host, opts.port);
  } catch (err) {
    throw new StartupError(`cannot listen on ${opts.host}:${opts.port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  log.info(`router: ${models.length} model(s) available: ${models.map((m) => m.id + (m.aliases.length ? ` (${m.aliases.join(", ")})` : "")).join(", ") || "none"}`);
  router.start(port);
  ext?.started(port);
  log.info(`server is listening on ${tls ? "https" : "http"}://${opts.host}:${port}`);
  if (!opts.host.endsWith(".sock")) {
    logFirstSteps(log, reachableUrl(tls ? "https" : "http", opts.host, port) + (opts.apiPrefix ?? ""), models.map((m) => m.id), {
      ...(s.demoModels ? { preferred: DEMO_MODEL_ID } : {}), webui: opts.webui, needsKey: apiKeys.length > 0,
    });
  }

  let signals = 0;
  const shutdown = async (sig: string) => {
    if (++signals > 1) {
      // a second signal: no more waiting
      router.killAll();
      process.exit(1);
    }
    log.info(`${sig}: stopping (requests in flight have ${SHUTDOWN_GRACE_MS / 1000} s to finish)`);
    const grace = new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref());
    await Promise.race([http.close(), grace]);
    await ext?.close();
    await router.stopAll();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  // whatever happens to the router, its children must not outlive it
  process.on("exit", () => router.killAll());
}

/** 127.0.0.0/8, ::1, localhost, or a Unix socket: nobody else can connect. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host) || host.endsWith(".sock");
}

/** --models-memory and --models-vram as bytes (their defaults: what is free now, less a reserve). */
function memoryBudget(opts: { modelsMemory?: string; modelsVram?: string }): { ram?: number; vram?: number } {
  const ram = resolveBudget("ram", opts.modelsMemory);
  const vram = resolveBudget("vram", opts.modelsVram);
  return { ...(ram !== undefined ? { ram } : {}), ...(vram !== undefined ? { vram } : {}) };
}
