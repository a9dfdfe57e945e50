// --api-prefix: llama-server serves every route under the prefix (and nothing outside it). Both servers strip the
// prefix from the request's URL before routing, so routes, API-key rules and the router's forwarding all see the
// plain paths; a URL outside the prefix is a 404.

/** The URL without the prefix, or undefined when it lies outside the prefix. An empty prefix keeps every URL. */
export function stripApiPrefix(prefix: string | undefined, url: string): string | undefined {
  if (!prefix) return url;
  if (!url.startsWith(prefix)) return undefined;
  const rest = url.slice(prefix.length);
  if (rest === "") return "/";
  if (rest.startsWith("?")) return `/${rest}`;
  return rest.startsWith("/") ? rest : undefined;
}

/** A path no route has: where Fastify's URL rewriting sends requests outside the prefix, to get its 404. */
export const OUTSIDE_API_PREFIX = "/.corral/outside-api-prefix";
