// One log line per request, and the per-request facts the router's metrics count. The facts ride on the response
// object itself: node:http builds one per request from the class given to createServer, so a subclass with a few
// fields costs no allocation, no WeakMap and no closure of its own on the proxy's hot path (see upstream.ts).
import { ServerResponse, type IncomingMessage, type OutgoingHttpHeader, type OutgoingHttpHeaders } from "node:http";
import type { Level, Logger } from "../util/log.js";

export const REQUEST_ID_HEADER = "x-request-id";

/** The router's response object, with what the request log and the metrics need to know about the request. */
export class RouterResponse extends ServerResponse {
  /** Echoed to the client as x-request-id; "" until the request log has seen the request. */
  requestId = "";
  /** performance.now() when the request arrived. */
  startedAt = 0;
  /** The path without the query or --api-prefix. */
  routePath = "";
  /** The model the request was routed to, once resolved (never an unknown name: metrics label it). */
  model: string | undefined = undefined;
  /** In a cluster: the node that served it (this one, or the peer it was forwarded to). */
  node: string | undefined = undefined;
  /** Token counts the answer reported, -1 while unknown. */
  promptTokens = -1;
  completionTokens = -1;

  // Every way of sending headers (writeHead, an implicit header on the first write, flushHeaders) ends here, so the
  // id reaches the client whoever answers. A raw header list (the proxy's) is appended to rather than mixed with
  // setHeader(), which would push node:http onto its slower header-merging path.
  override writeHead(
    statusCode: number,
    a?: string | OutgoingHttpHeaders | OutgoingHttpHeader[],
    b?: OutgoingHttpHeaders | OutgoingHttpHeader[],
  ): this {
    if (this.requestId !== "") {
      const headers = typeof a === "string" ? b : a;
      if (Array.isArray(headers)) headers.push(REQUEST_ID_HEADER, this.requestId);
      else if (!this.hasHeader(REQUEST_ID_HEADER)) this.setHeader(REQUEST_ID_HEADER, this.requestId);
    }
    return typeof a === "string" ? super.writeHead(statusCode, a, b) : super.writeHead(statusCode, a);
  }
}

/** The cluster node that served a request (the request log shows it). */
export function noteNode(res: ServerResponse, node: string): void {
  if (res instanceof RouterResponse) res.node = node;
}

/** The model a request was routed to (the request log and metrics show it). */
export function noteModel(res: ServerResponse, model: string): void {
  if (res instanceof RouterResponse) res.model = model;
}

/** Token counts from an answer's JSON: OpenAI's `usage`, else llama.cpp's `timings`. */
export function noteUsage(res: ServerResponse, answer: unknown): void {
  if (!(res instanceof RouterResponse) || answer === null || typeof answer !== "object") return;
  const a = answer as { usage?: Record<string, unknown>; timings?: Record<string, unknown> };
  const u = a.usage;
  if (u && typeof u === "object") {
    setTokens(res, u["prompt_tokens"] ?? u["input_tokens"], u["completion_tokens"] ?? u["output_tokens"]);
    return;
  }
  const t = a.timings;
  if (t && typeof t === "object") setTokens(res, t["prompt_n"], t["predicted_n"]);
}

function setTokens(res: RouterResponse, prompt: unknown, completion: unknown): void {
  if (typeof prompt === "number" && prompt >= 0) res.promptTokens = prompt;
  if (typeof completion === "number" && completion >= 0) res.completionTokens = completion;
}

/** How much of the end of a forwarded answer is searched for its token counts. */
const TAIL_BYTES = 8192;

/**
 * Token counts from the last bytes of a forwarded JSON answer or SSE stream (the caller keeps references to its
 * last few chunks, never a copy of the body). Usage comes last in every answer shape that has it: the final SSE
 * event, or the end of a JSON object. The keys, most specific first: OpenAI's usage, Anthropic's and Responses'
 * usage, llama.cpp's /completion, llama.cpp's timings. Searched in the bytes, without decoding them to a string.
 */
export function noteTokensFromTail(res: ServerResponse, chunks: ReadonlyArray<Buffer | undefined>): void {
  if (!(res instanceof RouterResponse)) return;
  let last = -1;
  let size = 0;
  let first = chunks.length;
  for (let i = chunks.length - 1; i >= 0 && size < TAIL_BYTES; i--) {
    const c = chunks[i];
    if (!c) continue;
    if (last < 0) last = i;
    first = i;
    size += c.length;
  }
  if (size === 0) return;
  // one chunk (a whole small answer) is searched as it is; a few are joined so that no key is split between two
  const buf = first === last ? chunks[last]! : Buffer.concat(chunks.slice(first, last + 1).filter((c): c is Buffer => c !== undefined), size);
  const from = Math.max(0, buf.length - TAIL_BYTES);
  for (const [p, c] of TOKEN_KEYS) {
    const prompt = numberAfter(buf, from, p);
    const completion = numberAfter(buf, from, c);
    if (prompt < 0 && completion < 0) continue;
    if (prompt >= 0) res.promptTokens = prompt;
    if (completion >= 0) res.completionTokens = completion;
    return;
  }
}

const TOKEN_KEYS: ReadonlyArray<readonly [Buffer, Buffer]> = [
  ["prompt_tokens", "completion_tokens"],
  ["input_tokens", "output_tokens"],
  ["tokens_evaluated", "tokens_predicted"],
  ["prompt_n", "predicted_n"],
].map(([p, c]) => [Buffer.from(`"${p}"`), Buffer.from(`"${c}"`)] as const);

/**
 * The integer after the last `"key":` at or past `from` in `buf`, or -1. A key inside a string value is escaped
 * (\"), never matched.
 */
function numberAfter(buf: Buffer, from: number, key: Buffer): number {
  const at = buf.lastIndexOf(key);
  if (at < from) return -1;
  let i = at + key.length;
  while (buf[i] === 32) i++;
  if (buf[i] !== 58 /* : */) return -1;
  i++;
  while (buf[i] === 32) i++;
  let n = -1;
  for (let ch = buf[i]; ch !== undefined && ch >= 48 && ch <= 57; ch = buf[++i]) n = (n < 0 ? 0 : n * 10) + ch - 48;
  return n;
}

/** What the metrics take from each finished request. */
export interface RequestObserver {
  request(res: RouterResponse, status: number, durationMs: number): void;
}

/** Paths that monitoring polls: logged at debug level, so that they do not drown the requests that matter. */
const POLLED = new Set(["/health", "/v1/health", "/metrics"]);

/** A client's own id is echoed when it is printable ASCII without spaces (it goes into text log lines as is). */
const CLIENT_ID = /^[\x21-\x7e]{1,128}$/;

export class RequestLog {
  private seq: number;
  private readonly onClose: (this: RouterResponse) => void;

  constructor(private readonly log: Logger, private readonly json: boolean, private readonly observer?: RequestObserver) {
    // ids are short and unique within one run; a random start keeps two runs' logs from repeating each other
    this.seq = Math.floor(Math.random() * 0xefffff);
    const self = this;
    // one listener function for every response ('close' comes on success and on a client gone alike)
    this.onClose = function (this: RouterResponse) {
      self.finish(this);
    };
  }

  /** Called as a request arrives, before anything can answer it. */
  begin(req: IncomingMessage, res: RouterResponse, path: string): void {
    res.startedAt = performance.now();
    res.routePath = path;
    const given = req.headers[REQUEST_ID_HEADER];
    res.requestId = typeof given === "string" && CLIENT_ID.test(given) ? given : (++this.seq).toString(16).padStart(6, "0");
    res.on("close", this.onClose);
  }

  private finish(res: RouterResponse): void {
    const ms = performance.now() - res.startedAt;
    // a client gone before any answer is nginx's 499; one gone mid-answer keeps the status it was sent
    const status = res.headersSent ? res.statusCode : 499;
    const aborted = !res.writableFinished;
    this.observer?.request(res, status, ms);
    const level: Level = POLLED.has(res.routePath) ? "debug" : "info";
    if (this.log.enabled && !this.log.enabled(level)) return;
    const method = res.req.method ?? "GET";
    // under load many requests end in one turn of the event loop: their lines go out in one write
    this.log.cork?.();
    if (this.json) {
      this.log[level]("request", {
        id: res.requestId, method, path: res.routePath,
        ...(res.model !== undefined ? { model: res.model } : {}),
        ...(res.node !== undefined ? { node: res.node } : {}),
        status, duration_ms: Math.round(ms * 10) / 10,
        ...(res.promptTokens >= 0 ? { prompt_tokens: res.promptTokens } : {}),
        ...(res.completionTokens >= 0 ? { completion_tokens: res.completionTokens } : {}),
        ...(aborted ? { aborted: true } : {}),
      });
      return;
    }
    const model = (res.model !== undefined ? ` model=${res.model}` : "") + (res.node !== undefined ? ` node=${res.node}` : "");
    const tokens = res.promptTokens >= 0 || res.completionTokens >= 0
      ? ` tokens=${res.promptTokens >= 0 ? res.promptTokens : "?"}+${res.completionTokens >= 0 ? res.completionTokens : "?"}`
      : "";
    const dur = ms < 10 ? ms.toFixed(1) : Math.round(ms).toString();
    this.log[level](`req ${res.requestId}${model} ${method} ${res.routePath} ${status} ${dur}ms${tokens}${aborted ? " aborted" : ""}`);
  }
}
