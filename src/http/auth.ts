import { createHash, timingSafeEqual } from "node:crypto";
import { ApiError } from "./errors.js";
import { isWebUiPath } from "../util/webui.js";

/**
 * Paths llama-server leaves open even with --api-key, and Ollama's two probes (its version, and its model list,
 * which says no more than /models does).
 */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set(["/health", "/v1/health", "/models", "/v1/models", "/", "/api/version", "/api/tags"]);

/**
 * Whether a request must carry a key (when keys are set): all but preflights and GETs (or HEADs) of the public
 * paths and of the web UI's files (the page must load before it can ask for the key; it holds no data).
 */
export function keyRequired(method: string | undefined, path: string): boolean {
  return method !== "OPTIONS" && !((method === "GET" || method === "HEAD") && (PUBLIC_PATHS.has(path) || isWebUiPath(path)));
}

const digest = (s: string): Buffer => createHash("sha256").update(s).digest();

/**
 * Checks `Authorization: Bearer KEY` or `X-Api-Key: KEY` against the configured keys. Keys are compared as
 * SHA-256 digests with timingSafeEqual, so neither a key's content nor its length leaks through timing.
 */
export function makeKeyCheck(keys: readonly string[]): (headers: Record<string, string | string[] | undefined>) => void {
  const digests = keys.map(digest);
  return (headers) => {
    const auth = headers["authorization"];
    const xkey = headers["x-api-key"];
    let given: string | undefined;
    if (typeof auth === "string" && /^bearer\s+/i.test(auth)) given = auth.replace(/^bearer\s+/i, "").trim();
    else if (typeof xkey === "string") given = xkey.trim();
    if (given !== undefined) {
      const d = digest(given);
      let ok = false;
      for (const k of digests) ok = timingSafeEqual(d, k) || ok;
      if (ok) return;
    }
    throw new ApiError(401, "Invalid API Key", { type: "authentication_error" });
  };
}
