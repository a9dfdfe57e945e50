// Server-sent events written straight to the socket: streamed tokens must leave as soon as they exist, so the
// reply is hijacked from Fastify and each event is one write.
import type { FastifyReply } from "fastify";

export interface SseStream {
  send(data: unknown): void;
  /** A named event (`event: NAME` before the data), as Anthropic's and the Responses API's streams have. */
  sendEvent(event: string, data: unknown): void;
  /** OpenAI streams end with `data: [DONE]`; llama.cpp's native /completion does not. */
  end(withDone: boolean): void;
  readonly closed: boolean;
}

export function openSse(reply: FastifyReply, extraHeaders: Record<string, string> = {}): SseStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    "x-accel-buffering": "no",
    ...extraHeaders,
  });
  res.flushHeaders();
  return {
    send(data: unknown) {
      if (!res.destroyed) res.write(`data: ${JSON.stringify(data)}\n\n`);
    },
    sendEvent(event: string, data: unknown) {
      if (!res.destroyed) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    end(withDone: boolean) {
      if (res.destroyed) return;
      res.end(withDone ? "data: [DONE]\n\n" : undefined);
    },
    get closed() {
      return res.destroyed || res.writableEnded;
    },
  };
}

/** An AbortSignal that fires when the client goes away before the response is complete. */
export function disconnectSignal(reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  reply.raw.on("close", () => {
    if (!reply.raw.writableFinished) ac.abort();
  });
  return ac.signal;
}
