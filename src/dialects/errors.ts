// Errors in the shape a client expects (the endpoint table says which, by the path it called): Anthropic clients
// parse `{"type":"error","error":{…}}`, Ollama clients `{"error":"…"}`, everyone else OpenAI's `{"error":{…}}`. The
// router answers its own errors (unknown model, a refused load, a bad key) and re-shapes a model's in that form.
import type { ApiError } from "../http/errors.js";
import { anthropicError, openAiErrorToAnthropic } from "./anthropic/request.js";
import type { ErrorDialect } from "../http/endpoints.js";

export type { ErrorDialect };

/** The body of `e` in the dialect's error shape. */
export function errorBody(dialect: ErrorDialect, e: ApiError): unknown {
  switch (dialect) {
    case "anthropic": return anthropicError(e.status, e.message);
    case "ollama": return { error: e.message };
    default: return e.toJSON();
  }
}

/** A model's OpenAI-shaped error answer, re-shaped for the dialect (its status is kept). */
export function upstreamErrorBody(dialect: ErrorDialect, status: number, body: unknown): unknown {
  switch (dialect) {
    case "anthropic": return openAiErrorToAnthropic(status, body);
    case "ollama": return { error: openAiErrorMessage(status, body) };
    default: return body;
  }
}

/** The message of an OpenAI-shaped error body, or of whatever else an upstream answered. */
export function openAiErrorMessage(status: number, body: unknown): string {
  const e = (body as { error?: unknown } | null)?.error;
  if (typeof e === "string") return e;
  const m = (e as { message?: unknown } | undefined)?.message;
  if (typeof m === "string") return m;
  if (typeof body === "string" && body !== "") return body;
  return `upstream error ${status}`;
}
