// /models/sse: model events as a server-sent event stream (the router's own, and in a cluster every node's).
import type { ServerResponse } from "node:http";
import type { Listener } from "./model-events.js";

/**
 * Answers a GET with an event stream of model events: `subscribe` is given how to send one and returns how to stop.
 * A comment line now and then keeps proxies from closing a quiet stream.
 */
export function streamModelEvents(res: ServerResponse, subscribe: (send: Listener) => () => void): void {
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-accel-buffering": "no" });
  res.flushHeaders();
  const off = subscribe((ev) => {
    if (!res.destroyed) res.write(`data: ${JSON.stringify(ev)}\n\n`);
  });
  const keepAlive = setInterval(() => {
    if (!res.destroyed) res.write(": keep-alive\n\n");
  }, 15_000);
  res.on("close", () => {
    off();
    clearInterval(keepAlive);
  });
}
