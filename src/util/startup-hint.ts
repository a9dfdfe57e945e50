// What a person sees once a server is up: where to point a browser, and one request that works as printed.

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
