import type { Duplex } from "node:stream";
import { ApiError } from "./errors.js";

const CLIENT_ERRORS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, "Request Header Fields Too Large"],
  ERR_HTTP_REQUEST_TIMEOUT: [408, "Request Timeout"],
};

/**
 * Answers malformed HTTP (bad method, oversized headers, garbage) in the same JSON shape as every other error,
 * instead of Node's bare status line, and closes the connection.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const code = err.code ?? "";
  if (code === "ECONNRESET" || code === "EPIPE" || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, text] = CLIENT_ERRORS[code] ?? [400, "Bad Request"];
  const body = JSON.stringify(new ApiError(status, `malformed HTTP request: ${code || err.message}`).toJSON());
  socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
