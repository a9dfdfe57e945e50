// Errors in Anthropic's shape, `{"type":"error","error":{"type","message"}}`, with its error types for HTTP statuses.
import { openAiErrorMessage } from "../openai/errors.js";

export type AnthropicErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "request_too_large"
  | "rate_limit_error"
  | "api_error"
  | "overloaded_error";

export interface AnthropicErrorBody {
  type: "error";
  error: { type: AnthropicErrorType; message: string };
}

export function anthropicErrorType(status: number): AnthropicErrorType {
  switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 503: // a model still loading, or a busy router: try again later, as with Anthropic's own overload
    case 529: return "overloaded_error";
    default: return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

export function anthropicError(status: number, message: string): AnthropicErrorBody {
  return { type: "error", error: { type: anthropicErrorType(status), message } };
}

/** An OpenAI-shaped error answer (`{"error": {"message": ...}}`, or anything else) re-shaped for Anthropic clients. */
export function openAiErrorToAnthropic(status: number, body: unknown): AnthropicErrorBody {
  return anthropicError(status, openAiErrorMessage(status, body));
}
