// Writing whole answers on a bare ServerResponse: the router writes its own, outside any framework.
import type { ServerResponse } from "node:http";
import type { ApiError } from "./errors.js";

export function sendText(res: ServerResponse, status: number, contentType: string, text: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...headers, "content-type": contentType, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  sendText(res, status, "application/json; charset=utf-8", JSON.stringify(value), headers);
}

/**
 * An error, in the OpenAI shape unless `body` gives the client's dialect's; 499 (the client went away) is never
 * really sent, but stays a 4xx if it is.
 */
export function sendError(res: ServerResponse, e: ApiError, body: unknown = e.toJSON()): void {
  sendJson(res, e.status === 499 ? 400 : e.status, body, e.headers);
}
