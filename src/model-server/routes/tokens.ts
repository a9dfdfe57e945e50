import type { FastifyInstance } from "fastify";
import type { Token } from "node-llama-cpp";
import { ApiError } from "../../http/errors.js";
import { optArray, optBool, optString, requireObjectBody } from "../../http/validate.js";
import { readMessages } from "../chat-template.js";
import type { ServerState } from "../state.js";
import { requireReady } from "./ready.js";

export function registerTokenRoutes(app: FastifyInstance, state: ServerState): void {
  app.post("/tokenize", async (req) => {
    const body = requireObjectBody(req.body);
    const { engine } = requireReady(state);
    const content = optString(body, "content");
    if (content === undefined) throw new ApiError(400, "'content' is required and must be a string");
    const addSpecial = optBool(body, "add_special") ?? false;
    const parseSpecial = optBool(body, "parse_special") ?? true;
    const withPieces = optBool(body, "with_pieces") ?? false;
    let tokens = engine.model.tokenize(content, parseSpecial);
    if (addSpecial) tokens = engine.tokenizePrompt(content, true);
    if (!withPieces) return { tokens };
    return { tokens: tokens.map((id) => ({ id, piece: engine.model.detokenize([id], true) })) };
  });

  app.post("/detokenize", async (req) => {
    const body = requireObjectBody(req.body);
    const { engine } = requireReady(state);
    const tokens = optArray(body, "tokens") ?? [];
    tokens.forEach((t, i) => {
      if (!engine.isTokenId(t)) {
        throw new ApiError(400, `'tokens[${i}]' is not a valid token id`);
      }
    });
    return { content: engine.model.detokenize(tokens as Token[], true) };
  });

  app.post("/apply-template", async (req) => {
    const body = requireObjectBody(req.body);
    const { template } = requireReady(state);
    const messages = readMessages(body);
    return { prompt: template.render(messages, { tools: optArray(body, "tools") }) };
  });
}
