// What the other dialects read of an OpenAI-shaped error answer (the message), whatever an upstream sent.

/** The message of an OpenAI-shaped error body, or of whatever else an upstream answered. */
export function openAiErrorMessage(status: number, body: unknown): string {
  const e = (body as { error?: unknown } | null)?.error;
  if (typeof e === "string") return e;
  const m = (e as { message?: unknown } | undefined)?.message;
  if (typeof m === "string") return m;
  if (typeof body === "string" && body !== "") return body;
  return `upstream error ${status}`;
}
