// A streamed answer in another dialect: OpenAI chat-completion chunks in, the dialect's events out, and how those
// events are written. The router (translating for an engine that does not speak the dialect) and the model server
// (which translates its own chat stream) drive the same translators through this one interface.
import type { ApiError } from "../http/errors.js";
import type { ChatCompletionChunk } from "./openai/chat.js";

/** Nanoseconds (Ollama reports durations so): the whole exchange, and the part of it spent waiting for a load. */
export interface Timing {
  totalNs: number;
  loadNs: number;
}

/** One event: a named server-sent event (Anthropic, Responses), or one object of an NDJSON stream (Ollama). */
export interface StreamEvent {
  event?: string;
  data: unknown;
}

export interface StreamTranslator {
  /** The events one chunk becomes (none for chunks that carry nothing the dialect has a place for). */
  push(chunk: ChatCompletionChunk): StreamEvent[];
  /** The closing events, once the OpenAI stream has ended (after its usage chunk, if any). */
  finish(timing: Timing): StreamEvent[];
  /** The event that ends a stream which failed after it started. */
  error(e: ApiError): StreamEvent;
}

/** How a dialect's stream is written. */
export interface StreamFormat {
  kind: "sse" | "ndjson";
  contentType: string;
  /** The bytes of one event. */
  frame(e: StreamEvent): string;
}

/** Server-sent events with names: `event: NAME` and `data: JSON`. */
export const SSE_EVENTS: StreamFormat = {
  kind: "sse",
  contentType: "text/event-stream; charset=utf-8",
  frame: (e) => `event: ${e.event ?? "message"}\ndata: ${JSON.stringify(e.data)}\n\n`,
};

/** One JSON object per line. */
export const NDJSON: StreamFormat = {
  kind: "ndjson",
  contentType: "application/x-ndjson",
  frame: (e) => `${JSON.stringify(e.data)}\n`,
};
