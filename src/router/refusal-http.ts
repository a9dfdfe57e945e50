// The HTTP edge of scheduler refusals for the OpenAI / llama.cpp dialect: a status code, an error type and
// Retry-After. Other dialects (Anthropic, Ollama) map the same refusals to their own shapes.
import { ApiError } from "../http/errors.js";
import { describeRefusal, retryAfterOf, type RouterError } from "./refusal.js";

const STATUS: Record<RouterError["kind"], number> = {
  "unknown-model": 404,
  gone: 404,
  "not-loaded": 400,
  "load-failed": 503,
  "cooling-down": 503,
  busy: 429,
  "queue-full": 503,
  "pinned-full": 503,
  // the request can never succeed as the router is set up: a 4xx, which SDKs do not retry (they retry every 5xx)
  "too-big": 400,
  "pinned-memory": 503,
  "shutting-down": 503,
  // nginx's "client closed request": logged, never read by anyone
  "client-gone": 499,
  unreachable: 503,
  "already-running": 400,
  "not-running": 400,
  "load-ended": 503,
  "reload-failed": 400,
};

export function refusalError(r: RouterError): ApiError {
  const message = describeRefusal(r);
  const retry = retryAfterOf(r);
  return new ApiError(STATUS[r.kind], message, retry !== undefined ? { headers: { "retry-after": String(retry) } } : {});
}
