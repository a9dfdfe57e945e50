// CORS for both servers, with llama-server's semantics for --cors-origins: "*" allows any origin, and since
// llama-server allows credentials by default, an allowed origin is echoed back (a literal "*" would make browsers
// refuse credentialed requests); "localhost" allows any loopback origin; other entries are exact origins. Every
// OPTIONS request gets 200 with the allowed methods and headers, whatever its origin, so that a browser reads the
// refusal from the missing Access-Control-Allow-Origin rather than from an error status.
import type { IncomingHttpHeaders } from "node:http";

export interface CorsAnswer {
  /**
   * Headers to add to the response, spelled as llama-server spells them: names are case-insensitive in HTTP, but
   * some clients (llama.cpp's own test suite among them) read them from a case-sensitive map.
   */
  headers: Record<string, string>;
  /** An OPTIONS request: answer it at once with PREFLIGHT_STATUS, these headers and an empty body. */
  preflight: boolean;
}

export const PREFLIGHT_STATUS = 200;

/** The loopback hosts "localhost" stands for: a page served from the user's own machine. */
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

export function isLoopbackOrigin(origin: string): boolean {
  try {
    return LOOPBACK_HOSTS.has(new URL(origin).hostname);
  } catch {
    return false; // not a URL: "null", a bare host name
  }
}

/**
 * The origins to allow, from the options: --cors-origins when given ('' = none), else "localhost" when llama-server's
 * agent tools are asked for (as llama-server narrows its default then), else `fallback`.
 */
export function corsOriginsFor(o: { corsOrigins?: readonly string[]; tools?: readonly string[] }, fallback: readonly string[]): readonly string[] {
  if (o.corsOrigins) return o.corsOrigins;
  if (o.tools && o.tools.length > 0) return ["localhost"];
  return fallback;
}

function allowed(origins: readonly string[], origin: string): boolean {
  return origins.some((o) => o === "*" || o === origin || (o === "localhost" && isLoopbackOrigin(origin)));
}

/** CORS headers for a request; undefined when CORS is off (no origins), so an OPTIONS request is routed as usual. */
export function corsFor(origins: readonly string[], method: string | undefined, h: IncomingHttpHeaders): CorsAnswer | undefined {
  if (origins.length === 0) return undefined;
  const headers: Record<string, string> = {};
  const origin = h.origin;
  if (origin && allowed(origins, origin)) {
    headers["Access-Control-Allow-Origin"] = origin;
    headers["Access-Control-Allow-Credentials"] = "true";
    headers["Vary"] = "Origin";
  }
  const preflight = method === "OPTIONS";
  if (preflight) {
    headers["Access-Control-Allow-Credentials"] = "true";
    headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE, OPTIONS";
    headers["Access-Control-Allow-Headers"] = "*";
    headers["Access-Control-Max-Age"] = "600";
  }
  return { headers, preflight };
}
