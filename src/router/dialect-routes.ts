// Anthropic Messages and OpenAI Responses at the router. A model whose engine speaks the dialect (corral's own,
// llama-server) gets the request as is; any other (a command, a remote server) gets it translated to OpenAI chat
// completions by the dialect modules (src/dialects/), and its answer translated back (translated-serve.ts).
import { anthropic } from "../dialects/anthropic/index.js";
import type { ChatDialect } from "../dialects/dialect.js";
import { openai, type ChatCompletion } from "../dialects/openai/index.js";
import { responses } from "../dialects/responses/index.js";
import { ApiError } from "../http/errors.js";
import type { JsonObject } from "../http/validate.js";
import { addRoute, HANDLED, type Handler, type RequestContext } from "./http-server.js";
import type { Router } from "./router.js";
import { serve } from "./serve.js";
import { serveTranslated } from "./translated-serve.js";

/** What a dialect route needs from api.ts: the model a request names, and whether ?autoload= allows a load. */
export interface RouteHelpers {
  resolve(name: unknown): string;
  autoload(ctx: RequestContext): boolean;
}

/** The dialects of chat completions that an engine may speak natively. */
const DIALECTS: readonly ChatDialect[] = [anthropic, responses];

export function dialectRoutes(router: Router, h: RouteHelpers): Map<string, Handler> {
  const routes = new Map<string, Handler>();
  for (const d of DIALECTS) {
    const native = (ctx: RequestContext, id: string) =>
      serve(router, id, h.autoload(ctx), { req: ctx.req, res: ctx.res, path: ctx.req.url ?? ctx.path, body: ctx.rawBody, dialect: ctx.dialect }).then(() => HANDLED);
    // checked here whoever serves it: bad input and unseeable images are refused before anything loads
    const accept = (ctx: RequestContext) => {
      const id = h.resolve(modelOf(ctx.body));
      const chat = d.parseRequest(ctx.body);
      checkImages(router, id, chat);
      return { id, chat, native: router.engineOf(id).dialects.has(d.name) };
    };

    addRoute(routes, d.endpoint, async (ctx) => {
      const { id, chat, native: isNative } = accept(ctx);
      if (isNative) return native(ctx, id);
      const stream = chat["stream"] === true;
      if (stream) chat["stream_options"] = { include_usage: true };
      await serveTranslated(router, id, h.autoload(ctx), ctx.res, ctx.dialect, {
        path: "/v1/chat/completions", body: chat,
        whole: (c) => d.answerFrom(c as ChatCompletion),
        // no inputTokens: only the answer's usage tells the prompt's size (Anthropic's message_start says 0)
        ...(stream ? { stream: { translator: () => d.stream({ model: String(chat["model"] ?? id) }), format: d.streamFormat } } : {}),
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
        path: "/v1/chat/completions", body: chat,
        whole: (c) => d.countAnswer((c as ChatCompletion).usage?.prompt_tokens ?? 0),
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
  if (!router.takesImages(id) && openai.hasImages(chat)) {
    throw new ApiError(400, `model '${id}' cannot take images: it has no multimodal projector (mmproj)`);
  }
}
