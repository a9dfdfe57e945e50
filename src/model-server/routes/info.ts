import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { prefixSlashRedirect, webUiFile } from "../../util/webui.js";
import { ApiError } from "../../http/errors.js";
import { VERSION } from "../../util/version.js";
import type { ServerState } from "../server/state.js";
import { requireReady } from "./ready.js";
import { uiSettings } from "../server/ui-settings.js";
import { ENDPOINTS } from "../../http/endpoints.js";
import { routeEndpoint } from "./endpoint-route.js";

export const BUILD_INFO = `corral-${VERSION} (node-llama-cpp 3.21.1)`;

export function registerInfoRoutes(app: FastifyInstance, state: ServerState): void {
  routeEndpoint(app, ENDPOINTS.health, async () => {
    requireReady(state);
    return { status: "ok" };
  });

  routeEndpoint(app, ENDPOINTS.models, async () => ({ object: "list", data: [modelEntry(state)] }));

  routeEndpoint(app, ENDPOINTS.props, async () => {
    const { engine, template } = requireReady(state);
    const f = engine.facts;
    const o = state.opts;
    return {
      default_generation_settings: { params: defaultParams(o), n_ctx: f.nCtxSlot },
      total_slots: f.slots,
      model_alias: state.modelId,
      model_path: f.path,
      modalities: { vision: false, video: false, audio: false },
      endpoint_slots: o.slots,
      endpoint_props: o.props,
      endpoint_metrics: o.metrics,
      ui: o.webui,
      ui_settings: uiSettings(o),
      chat_template: template.source,
      bos_token: f.bosToken,
      eos_token: f.eosToken,
      build_info: BUILD_INFO,
      is_sleeping: state.sleeping === true,
      cors_proxy_enabled: o.uiMcpProxy,
    };
  });

  routeEndpoint(app, ENDPOINTS.slots, async (req) => {
    if (!state.opts.slots) throw new ApiError(501, "This server does not support slots endpoint. Start it with `--slots`");
    const { engine, pool } = requireReady(state);
    const query = req.query as Record<string, unknown>;
    // as llama-server: any value asks for a 503 when every slot is busy
    if (query["fail_on_no_slot"] !== undefined && query["fail_on_no_slot"] !== "" && pool.slots.every((s) => s.busy)) {
      throw new ApiError(503, "no slot available");
    }
    // llama-server's fields where corral knows them; a slot that never ran a task has only the first four
    return pool.slots.map((s) => ({
      id: s.id,
      n_ctx: engine.facts.nCtxSlot,
      speculative: false,
      is_processing: s.busy,
      ...(s.busy || s.nPromptTokens > 0
        ? { n_prompt_tokens: s.nPromptTokens, n_decoded: s.nDecoded, n_cached_tokens: s.seq.nextTokenIndex }
        : {}),
    }));
  });

  // the web UI (src/util/webui.ts); --path's files, served from an earlier hook, win where they match
  const ui = (req: FastifyRequest, reply: FastifyReply) => {
    const file = state.opts.webui ? webUiFile(req.url.split("?", 1)[0]!) : undefined;
    if (!file) throw new ApiError(404, `File Not Found: ${req.method} ${req.url.split("?", 1)[0]}`);
    const slash = prefixSlashRedirect(state.opts.apiPrefix, req.originalUrl);
    if (slash) return reply.code(308).header("location", slash).send();
    return reply.type(file.type).header("cache-control", file.cacheControl).send(file.body);
  };
  app.get("/", ui);
  app.get("/index.html", ui);
  app.get("/assets/*", ui);
}

/** The server's sampling defaults, under llama-server's names for them. */
function defaultParams(o: ServerState["opts"]) {
  return {
    seed: o.seed, temperature: o.temp, top_k: o.topK, top_p: o.topP, min_p: o.minP, repeat_last_n: o.repeatLastN,
    repeat_penalty: o.repeatPenalty, presence_penalty: o.presencePenalty, frequency_penalty: o.frequencyPenalty,
    max_tokens: o.nPredict, n_predict: o.nPredict, ignore_eos: false, stream: false, n_probs: 0,
  };
}

function modelEntry(state: ServerState) {
  const f = state.ready?.engine.facts;
  return {
    id: state.modelId,
    // every name the model answers to, the id included, as llama-server lists them
    aliases: state.aliases,
    tags: [...new Set(state.opts.tags ?? [])].sort(),
    object: "model",
    owned_by: "llamacpp",
    created: Math.floor(state.startedAt / 1000),
    ...(f
      ? {
          meta: {
            vocab_type: 1, n_vocab: f.nVocab, n_ctx_train: f.nCtxTrain, n_ctx: f.nCtxSlot, n_embd: f.nEmbd,
            n_params: f.nParams, size: f.sizeBytes,
          },
        }
      : {}),
    status: { value: state.ready ? "loaded" : "loading" },
  };
}
