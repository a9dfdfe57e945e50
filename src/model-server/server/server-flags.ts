// Startup warnings about server-level flags whose effect a user should know about.
import type { ServerState } from "./state.js";

export function warnAboutServerFlags(state: ServerState, corsOrigins: readonly string[], underRouter: boolean): void {
  const { opts, log } = state;
  if (opts.tools && opts.tools.length > 0) {
    // accepted so that llama-server command lines start, but nothing pretends to run the tools
    log.warn(`--tools ${opts.tools.join(",")}: corral's built-in engine has no built-in agent tools; ignored ` +
      "(default CORS origins narrowed to localhost, as llama-server does)");
  }
  // a router's model listens on a socket only the router reaches, and the router decides CORS itself
  if (!underRouter && corsOrigins.includes("*") && state.apiKeys.length === 0) {
    log.warn("CORS allows every origin and no API key is set: any web page you visit can call this server " +
      "(as llama-server's default; narrow it with --cors-origins, e.g. localhost, or set --api-key)");
  }
  if (opts.uiMcpProxy && !underRouter) {
    log.warn("--ui-mcp-proxy: /cors-proxy fetches any http(s) URL for its callers (experimental; do not enable in untrusted environments)");
  }
}
