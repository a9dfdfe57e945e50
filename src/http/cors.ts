import type { IncomingHttpHeaders } from "node:http";

export interface CorsAnswer {
  /** Headers to add to the response. */
  headers: Record<string, string>;
  /** A preflight request: answer 204 with the headers and nothing else. */
  preflight: boolean;
}

/** CORS for an allowed Origin ("*" in `origins` allows any); undefined when the request gets no CORS headers. */
export function corsFor(origins: readonly string[], method: string | undefined, h: IncomingHttpHeaders): CorsAnswer | undefined {
  const origin = h.origin;
  const any = origins.includes("*");
  if (!origin || (!any && !origins.includes(origin))) return undefined;
  const headers: Record<string, string> = { "access-control-allow-origin": any ? "*" : origin };
  if (!any) headers["vary"] = "Origin";
  const preflight = method === "OPTIONS" && h["access-control-request-method"] !== undefined;
  if (preflight) {
    headers["access-control-allow-methods"] = "GET, POST, DELETE, OPTIONS";
    headers["access-control-allow-headers"] = h["access-control-request-headers"] ?? "Authorization, Content-Type, X-Api-Key";
    headers["access-control-max-age"] = "600";
  }
  return { headers, preflight };
}
