import type { FastifyInstance } from "fastify";
import type { Token } from "node-llama-cpp";
import { ApiError } from "../../http/errors.js";
import { optArray, optBool, optString, requireObjectBody } from "../../http/validate.js";
import { renderChatPrompt } from "../templates/chat-prompt.js";
import type { ServerState } from "../server/state.js";
import { requireReady } from "./ready.js";
import type { Engine } from "../engine/engine.js";
import { tokenPieces } from "../generation/token-pieces.js";
import { ENDPOINTS } from "../../http/endpoints.js";
import { routeEndpoint } from "./endpoint-route.js";

const piecesOf = new WeakMap<Engine, (id: Token) => string | number[]>();

/**
 * A token's piece as llama-server's with_pieces gives it (special tokens rendered): a string when it is whole
 * UTF-8, else its bytes (one byte of a multi-byte character, say).
 */
function pieceOf(engine: Engine): (id: Token) => string | number[] {
  let f = piecesOf.get(engine);
  if (!f) {
    const pieces = tokenPieces(engine.model);
    const utf8 = new TextDecoder("utf-8", { fatal: true });
    f = (id) => {
      const a = engine.model.getTokenAttributes(id);
      const bytes = a.control || a.unknown ? Buffer.from(engine.model.detokenize([id], true), "utf8") : pieces.bytes(id);
      try {
        return utf8.decode(bytes);
      } catch {
        return [...bytes];
      }
    };
    piecesOf.set(engine, f);
  }
  return f;
}

export function registerTokenRoutes(app: FastifyInstance, state: ServerState): void {
  routeEndpoint(app, ENDPOINTS.tokenize, async (req) => {
    const body = requireObjectBody(req.body);
    const { engine } = requireReady(state);
    const content = optString(body, "content");
    if (content === undefined) throw new ApiError(400, "'content' is required and must be a string");
    const addSpecial = optBool(body, "add_special") ?? false;
    const parseSpecial = optBool(body, "parse_special") ?? true;
    const withPieces = optBool(body, "with_pieces") ?? false;
    const tokens = engine.model.tokenize(content, parseSpecial);
    const bos = engine.model.tokens.bos;
    if (addSpecial && engine.model.tokens.shouldPrependBosToken && bos != null && tokens[0] !== bos) tokens.unshift(bos);
    if (!withPieces) return { tokens };
    const piece = pieceOf(engine);
    return { tokens: tokens.map((id) => ({ id, piece: piece(id) })) };
  });

  routeEndpoint(app, ENDPOINTS.detokenize, async (req) => {
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

  // the prompt a chat request would get, as llama-server's: chat_template_kwargs, reasoning_effort, tool_choice
  // "none" and an assistant prefill all count
  routeEndpoint(app, ENDPOINTS.applyTemplate, async (req) => {
    const body = requireObjectBody(req.body);
    const { template } = requireReady(state);
    return { prompt: renderChatPrompt(template, body).text };
  });
}
