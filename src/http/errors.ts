// OpenAI-shaped errors, with llama-server's `type` names, shared by the model server and the router.

export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "server_error"
  | "not_supported_error"
  | "unavailable_error"
  | "exceed_context_size_error";

const STATUS_TYPES: Record<number, ErrorType> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  500: "server_error",
  501: "not_supported_error",
  503: "unavailable_error",
};

export class ApiError extends Error {
  readonly status: number;
  readonly type: ErrorType;
  /** Extra top-level fields inside `error` (llama-server adds e.g. n_prompt_tokens/n_ctx). */
  readonly extra: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    message: string,
    opts: { type?: ErrorType; extra?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.status = status;
    this.type = opts.type ?? STATUS_TYPES[status] ?? (status >= 500 ? "server_error" : "invalid_request_error");
    this.extra = opts.extra ?? {};
    this.headers = opts.headers ?? {};
  }

  toJSON(): { error: Record<string, unknown> } {
    // `code` is always the HTTP status, as llama-server sends it: extra fields never replace it, so a client reads
    // one kind of value there whatever answered
    const { code: _ignored, ...extra } = this.extra;
    return { error: { code: this.status, message: this.message, type: this.type, ...extra } };
  }
}

/**
 * Embeddings asked of a model started without them. 400, not llama-server's 501: the OpenAI SDKs retry every 5xx
 * (three times, with back-off) and no retry can help. The message says how to turn them on, for `corral -m` and for
 * a router's model (`model` given).
 */
export function embeddingsDisabled(model?: string): ApiError {
  return new ApiError(400, model === undefined
    ? "This server does not support embeddings. Start it with `--embeddings` (a router's model: `embeddings = true` in its --models-preset section)"
    : `model '${model}' does not support embeddings: start the router with \`--embeddings\` (for every model), or set \`embeddings = true\` in the model's section of --models-preset`);
}

/** A request body as JSON: undefined when empty, 400 naming the problem when it does not parse. */
export function parseJsonBody(raw: Buffer): unknown {
  const text = raw.toString("utf8");
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError(400, `invalid JSON in request body: ${(err as Error).message}`);
  }
}

/** Turns anything thrown into an ApiError; unknown errors become 500 without leaking a stack. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as { statusCode?: number; message?: string; code?: string };
  // Fastify's own errors (body parsing, body too large, bad content type) carry a 4xx statusCode.
  if (typeof e?.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    return new ApiError(e.statusCode, fastifyMessage(e));
  }
  return new ApiError(500, e?.message ? String(e.message) : "internal error");
}

function fastifyMessage(e: { message?: string; code?: string }): string {
  switch (e.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return `invalid JSON in request body: ${e.message ?? ""}`.trim();
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return "request body is too large (see --max-body)";
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return "unsupported Content-Type: send application/json";
    default:
      return e.message ?? "bad request";
  }
}
