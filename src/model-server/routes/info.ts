import { escapeHtml } from "../../util/html.js";
import type { FastifyInstance } from "fastify";
import { ApiError } from "../../http/errors.js";
import { VERSION } from "../../cli/version.js";
import type { ServerState } from "../state.js";
import { requireReady } from "./ready.js";

export const BUILD_INFO = `corral-${VERSION} (node-llama-cpp 3.21.1)`;

export function registerInfoRoutes(app: FastifyInstance, state: ServerState): void {
  for (const path of ["/health", "/v1/health"]) {
    app.get(path, async () => {
      requireReady(state);
      return { status: "ok" };
    });
  }

  for (const path of ["/v1/models", "/models"]) {
    app.get(path, async () => ({ object: "list", data: [modelEntry(state)] }));
  }

  app.get("/props", async () => {
    const { engine, template } = requireReady(state);
    const f = engine.facts;
    const o = state.opts;
    return {
      default_generation_settings: {
        id: 0,
        n_ctx: f.nCtxSlot,
        params: {
          n_predict: o.nPredict, temperature: o.temp, top_k: o.topK, top_p: o.topP, min_p: o.minP, seed: o.seed,
          repeat_penalty: o.repeatPenalty, repeat_last_n: o.repeatLastN, presence_penalty: o.presencePenalty,
          frequency_penalty: o.frequencyPenalty,
        },
      },
      total_slots: f.slots,
      model_alias: state.modelId,
      model_path: f.path,
      chat_template: template.source,
      bos_token: f.bosToken,
      eos_token: f.eosToken,
      modalities: { vision: false, audio: false },
      build_info: BUILD_INFO,
      is_sleeping: false,
    };
  });

  app.get("/slots", async () => {
    if (!state.opts.slots) throw new ApiError(501, "This server does not support slots endpoint. Start it with `--slots`");
    const { engine, pool } = requireReady(state);
    return pool.slots.map((s) => ({
      id: s.id,
      n_ctx: engine.facts.nCtxSlot,
      is_processing: s.busy,
      n_prompt_tokens: s.nPromptTokens,
      n_decoded: s.nDecoded,
      n_cached_tokens: s.seq.nextTokenIndex,
    }));
  });

  app.get("/", async (_req, reply) => {
    if (!state.opts.webui) throw new ApiError(404, "File Not Found");
    reply.type("text/html; charset=utf-8");
    return `<!doctype html><meta charset="utf-8"><title>corral</title><h1>corral</h1><p>Serving <b>${escapeHtml(state.modelId)}</b>` +
      ` (${state.ready ? "ready" : "loading"}). OpenAI-compatible API at <code>/v1</code>.</p>`;
  });
}

function modelEntry(state: ServerState) {
  const f = state.ready?.engine.facts;
  return {
    id: state.modelId,
    aliases: state.aliases.slice(1),
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
