// Anthropic Messages and OpenAI Responses at the router. A model whose engine speaks the dialect (corral's own,
// llama-server) gets the request as is; any other (a command, a remote server) gets it translated to OpenAI chat
// completions by the dialect modules (src/dialects/), and its answer translated back (translated-serve.ts).
import { anthropicError, anthropicToChat, chatToAnthropic } from "../dialects/anthropic/request.js";
import { AnthropicStreamTranslator } from "../dialects/anthropic/stream.js";
import { hasImages, type ChatCompletion, type ChatCompletionChunk } from "../dialects/openai/chat.js";
import { chatToResponse, responsesToChat } from "../dialects/responses/request.js";
import { ResponsesStreamTranslator } from "../dialects/responses/stream.js";
import type { Dialect } from "../engines/types.js";
import { ENDPOINTS, type Endpoint } from "../http/endpoints.js";
import { ApiError } from "../http/errors.js";
import type { JsonObject } from "../http/validate.js";
import { addRoute, HANDLED, type Handler, type RequestContext } from "./http-server.js";
import type { Router } from "./router.js";
import { serve } from "./serve.js";
import { serveTranslated, sseFrames, type Translation } from "./translated-serve.js";

/** What a dialect route needs from api.ts: the model a request names, and whether ?autoload= allows a load. */
export interface RouteHelpers {
  resolve(name: unknown): string;
  autoload(ctx: RequestContext): boolean;
}

interface DialectRoute {
  dialect: Dialect;
  endpoint: Endpoint;
  /** The body as OpenAI chat completions (throws a 400 naming the field). */
  toChat(body: unknown): JsonObject;
  whole(c: ChatCompletion): unknown;
  frames(model: string): Translation["frames"] extends () => infer F ? F : never;
  /** The answer to a token count, from the usage of a one-token completion. */
  count(promptTokens: number): unknown;
  countEndpoint: Endpoint;
}

const ROUTES: DialectRoute[] = [
  {
    dialect: "anthropic",
    endpoint: ENDPOINTS.messages,
    countEndpoint: ENDPOINTS.messagesCountTokens,
    toChat: anthropicToChat,
    whole: chatToAnthropic,
    // the input size in message_start stays 0: only the answer's usage tells it, in message_delta
    frames: (model) => sseFrames(new AnthropicStreamTranslator({ model }), (e) => anthropicError(e.status, e.message)),
    count: (n) => ({ input_tokens: n }),
  },
  {
    dialect: "responses",
    endpoint: ENDPOINTS.responses,
    countEndpoint: ENDPOINTS.responsesInputTokens,
    toChat: responsesToChat,
    whole: (c) => chatToResponse(c),
    frames: (model) => sseFrames<ChatCompletionChunk>(new ResponsesStreamTranslator({ model }), (e) => ({ type: "error", code: e.type, message: e.message, param: null })),
    count: (n) => ({ object: "response.input_tokens", input_tokens: n }),
  },
];

export function dialectRoutes(router: Router, h: RouteHelpers): Map<string, Handler> {
  const routes = new Map<string, Handler>();
  for (const d of ROUTES) {
    const native = (ctx: RequestContext, id: string) =>
      serve(router, id, h.autoload(ctx), { req: ctx.req, res: ctx.res, path: ctx.req.url ?? ctx.path, body: ctx.rawBody, dialect: ctx.dialect }).then(() => HANDLED);
    // checked here whoever serves it: bad input and unseeable images are refused before anything loads
    const accept = (ctx: RequestContext) => {
      const id = h.resolve(modelOf(ctx.body));
      const chat = d.toChat(ctx.body);
      checkImages(router, id, chat);
      return { id, chat, native: router.engineOf(id).dialects.has(d.dialect) };
    };

    addRoute(routes, d.endpoint, async (ctx) => {
      const { id, chat, native: isNative } = accept(ctx);
      if (isNative) return native(ctx, id);
      const stream = chat["stream"] === true;
      if (stream) chat["stream_options"] = { include_usage: true };
      await serveTranslated(router, id, h.autoload(ctx), ctx.res, ctx.dialect, {
        path: "/v1/chat/completions", body: chat, stream, contentType: "text/event-stream; charset=utf-8",
        whole: (c) => d.whole(c as ChatCompletion),
        frames: () => d.frames(String(chat["model"] ?? id)),
      });
      return HANDLED;
    });
    addRoute(routes, d.countEndpoint, async (ctx) => {
      const { id, chat, native: isNative } = accept(ctx);
      if (isNative) return native(ctx, id);
      // An OpenAI-compatible server has no token-count endpoint, but every one reports the prompt's size in the
      // usage of a completion: one token of generation is the price of an exact count.
      Object.assign(chat, { stream: false, max_tokens: 1 });
      delete chat["stream_options"];
      await serveTranslated(router, id, h.autoload(ctx), ctx.res, ctx.dialect, {
        path: "/v1/chat/completions", body: chat, stream: false, contentType: "application/json",
        whole: (c) => d.count((c as ChatCompletion).usage?.prompt_tokens ?? 0),
        frames: () => {
          throw new Error("a token count is never streamed");
        },
      });
      return HANDLED;
    });
  }
  return routes;
}

function modelOf(body: unknown): unknown {
  return body !== null && typeof body === "object" && !Array.isArray(body) ? (body as { model?: unknown }).model : undefined;
}

/**
 * An image sent to a model that cannot see (no projector): a 400 at the router, before anything is loaded, rather
 * than whatever the engine would answer once loaded.
 */
export function checkImages(router: Router, id: string, chat: JsonObject): void {
  if (!router.takesImages(id) && hasImages(chat)) {
    throw new ApiError(400, `model '${id}' cannot take images: it has no multimodal projector (mmproj)`);
  }
}
