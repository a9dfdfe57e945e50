// Errors in the shape a client expects (the endpoint table says which, by the path it called): Anthropic clients
// parse `{"type":"error","error":{…}}`, Ollama clients `{"error":"…"}`, everyone else OpenAI's `{"error":{…}}`. The
// router answers its own errors (unknown model, a refused load, a bad key) and re-shapes a model's in that form.
import type { ErrorDialect } from "../http/endpoints.js";
import type { ApiError } from "../http/errors.js";
import { anthropic } from "./anthropic/index.js";
import type { Dialect } from "./dialect.js";
import { ollama } from "./ollama/index.js";
import { openai } from "./openai/index.js";

export type { ErrorDialect };

const DIALECTS: Readonly<Record<ErrorDialect, Dialect>> = { openai, anthropic, ollama };

/** The body of `e` in the dialect's error shape. */
export function errorBody(dialect: ErrorDialect, e: ApiError): unknown {
  return DIALECTS[dialect].errorBody(e);
}

/** A model's OpenAI-shaped error answer, re-shaped for the dialect (its status is kept). */
export function upstreamErrorBody(dialect: ErrorDialect, status: number, body: unknown): unknown {
  return DIALECTS[dialect].upstreamErrorBody(status, body);
}
