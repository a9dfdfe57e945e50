// What a person sees once a server is up: where to point a browser, and one request that works as printed.
import type { Logger } from "./log.js";

/** The address to type for a listening host: a wildcard address is reached on loopback. */
export function reachableUrl(scheme: "http" | "https", host: string, port: number): string {
  const h = host === "0.0.0.0" || host === "" ? "127.0.0.1" : host === "::" || host === "[::]" ? "[::1]" : host;
  return `${scheme}://${h.includes(":") && !h.startsWith("[") ? `[${h}]` : h}:${port}`;
}

/** A curl command line for one short chat completion with `model`, quoted for sh. */
export function exampleCurl(baseUrl: string, model: string, needsKey: boolean): string {
  const body = JSON.stringify({ model, messages: [{ role: "user", content: "Hello!" }], max_tokens: 32 });
  const key = needsKey ? ` -H "Authorization: Bearer $API_KEY"` : "";
  return `curl ${baseUrl}/v1/chat/completions -H 'Content-Type: application/json'${key} -d '${body.replaceAll("'", "'\\''")}'`;
}

/**
 * The web UI's address and one request that works as printed, naming `preferred` (the demo model) where it is
 * served, else the first model. Printed by the router and by `corral -m` alike.
 */
export function logFirstSteps(log: Logger, url: string, ids: readonly string[], o: { preferred?: string; webui: boolean; needsKey: boolean }): void {
  if (o.webui) log.info(`web UI: ${url}/`);
  const model = o.preferred !== undefined && ids.includes(o.preferred) ? o.preferred : ids[0];
  if (model === undefined) {
    log.info("no models yet: start with --models-dir DIR, or download one with `corral pull owner/repo:QUANT`");
    return;
  }
  log.info(`try: ${exampleCurl(url, model, o.needsKey)}`);
}
