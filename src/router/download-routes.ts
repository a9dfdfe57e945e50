// Getting and removing models over HTTP: POST /models and DELETE /models (llama.cpp's router API), and Ollama's
// /api/pull and /api/delete on the same machinery (downloads.ts, src/hf/download/). Both need the API key when one is
// set (only GET /models is open).
import { hfModelId, HfResolveError, parseHfRef } from "../hf/cache.js";
import { HubError } from "../hf/download/hub-api.js";
import { removeCached } from "../hf/download/pull.js";
import { ENDPOINTS } from "../http/endpoints.js";
import { ApiError } from "../http/errors.js";
import { sendJson } from "../http/respond.js";
import { requireModelBody } from "../http/validate.js";
import { addRoute, HANDLED, type Handler, type RequestContext } from "./http-server.js";
import type { Router } from "./router.js";

export function downloadRoutes(router: Router): Map<string, Handler> {
  const routes = new Map<string, Handler>();

  addRoute(routes, ENDPOINTS.modelsDownload, async (ctx) => {
    const name = normalName(bodyField(ctx, "model"));
    const cached = router.resolve(name);
    if (cached !== undefined) return { success: true, model: cached, status: "cached" };
    const d = router.downloads.start(name);
    // answered once the hub has named the files, so that an unknown repo or quant, or a missing token, is this
    // request's error rather than a later event
    await d.planned.catch((err: Error) => {
      throw pullError(err);
    });
    sendJson(ctx.res, 202, { success: true, model: d.name, status: "downloading" });
    return HANDLED;
  });

  addRoute(routes, ENDPOINTS.modelsRemove, async (ctx) => {
    const name = ctx.query.get("model") ?? bodyField(ctx, "model");
    await remove(router, name);
    return { success: true };
  });

  addRoute(routes, ENDPOINTS.ollamaPull, async (ctx) => {
    const body = requireModelBody(ctx.body);
    const raw = body["model"] ?? body["name"];
    if (typeof raw !== "string" || raw === "") throw new ApiError(400, "model is required");
    const name = normalName(raw);
    const stream = body["stream"] !== false;
    if (router.resolve(name) !== undefined) {
      if (!stream) return { status: "success" };
      return ndjson(ctx, [{ status: "pulling manifest" }, { status: "success" }]);
    }
    const d = router.downloads.start(name);
    if (!stream) {
      await d.done.catch((err: Error) => {
        throw pullError(err);
      });
      return { status: "success" };
    }
    // Ollama's stream: the manifest, each file's bytes as they come, then success (or an error line)
    const res = ctx.res;
    res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-cache" });
    res.write(JSON.stringify({ status: "pulling manifest" }) + "\n");
    const off = router.events.subscribe((ev) => {
      if (ev.model !== name || ev.event !== "download_progress" || !ev.data.download) return;
      const p = ev.data.download;
      res.write(JSON.stringify({ status: `pulling ${p.file}`, digest: p.file, total: p.total, completed: p.done }) + "\n");
    });
    res.on("close", off);
    try {
      await d.done;
      res.end(ndjsonText([{ status: "verifying sha256 digest" }, { status: "writing manifest" }, { status: "success" }]));
    } catch (err) {
      res.end(JSON.stringify({ error: pullError(err as Error).message }) + "\n");
    } finally {
      off();
    }
    return HANDLED;
  });

  addRoute(routes, ENDPOINTS.ollamaDelete, async (ctx) => {
    const body = requireModelBody(ctx.body);
    await remove(router, body["model"] ?? body["name"]);
    ctx.res.writeHead(200);
    ctx.res.end();
    return HANDLED;
  });

  return routes;
}

/** Unloads the model if it runs, then deletes its files from the hub cache and rescans. */
async function remove(router: Router, name: unknown): Promise<void> {
  if (typeof name !== "string" || name === "") throw new ApiError(400, "'model' is required (the body's, or ?model=)");
  const id = router.resolve(name) ?? router.resolve(safeNormal(name));
  // a download under way is deleted by cancelling it: nothing of it was placed where discovery looks
  if (id === undefined && (router.cancelDownload(name) || router.cancelDownload(safeNormal(name)))) return;
  if (id === undefined) throw router.notFound(name);
  const m = router.inspect(id)!;
  if (m.spec.source !== "cache") {
    throw new ApiError(400, `model '${id}' is not removable: only models in the Hugging Face cache can be deleted (it comes from ${m.spec.source})`);
  }
  if (m.view.state !== "unloaded") {
    const gone = router.events.next(id, (e) => e.event === "status_change" && e.data.status === "unloaded");
    if (m.view.state !== "stopping") router.unload(id);
    await gone;
  }
  try {
    removeCached(id);
  } catch (err) {
    throw pullError(err as Error);
  }
  router.reload();
  router.events.publish({ model: id, event: "model_remove", data: { status: "unloaded" } });
}

/** `owner/repo:q4_k_m` → `owner/repo:Q4_K_M`, the router's id for it; a 400 naming the field for anything else. */
function normalName(name: string): string {
  try {
    const ref = parseHfRef(name);
    return hfModelId(ref.repo, ref.tag.toUpperCase());
  } catch (err) {
    throw new ApiError(400, `'model': ${(err as Error).message}`);
  }
}

function safeNormal(name: string): string {
  try {
    return normalName(name);
  } catch {
    return name;
  }
}

/** A download's failure as the HTTP status its cause deserves. */
function pullError(err: Error): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof HfResolveError) return new ApiError(404, err.message);
  if (err instanceof HubError) {
    const status = { "not-found": 404, auth: 401, network: 502, cancelled: 409, verify: 500, failed: 500 }[err.kind];
    return new ApiError(status, err.message);
  }
  return new ApiError(500, err.message);
}

function bodyField(ctx: RequestContext, field: string): string {
  const v = requireModelBody(ctx.body)[field];
  if (typeof v !== "string" || v === "") throw new ApiError(400, `'${field}' is required and must be a string`);
  return v;
}

/** Ollama's stream format: one JSON object a line. */
const ndjsonText = (lines: unknown[]): string => lines.map((l) => JSON.stringify(l) + "\n").join("");

function ndjson(ctx: RequestContext, lines: unknown[]): typeof HANDLED {
  ctx.res.writeHead(200, { "content-type": "application/x-ndjson" });
  ctx.res.end(ndjsonText(lines));
  return HANDLED;
}
