// Closed-loop load: N clients on keep-alive connections, each sending its next request as soon as the previous
// answer is complete. Hand-written over undici because the usual load tools (autocannon) cannot read SSE streams
// for time-to-first-token, and one small loop serves both.
import { Pool } from "undici";

export interface LoadResult {
  requests: number;
  errors: number;
  /** What the first failed request said, for the error message. */
  firstError?: string;
  /** Requests sent again because the server closed the connection before answering (llama.cpp's router does, now
   * and then); their latency includes the failed try. */
  retried: number;
  seconds: number;
  rps: number;
  latenciesMs: number[];
}

export async function closedLoop(url: string, path: string, body: string, clients: number, durationMs: number): Promise<LoadResult> {
  const pool = new Pool(url, { connections: clients, pipelining: 1, keepAliveTimeout: 30_000 });
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let retried = 0;
  const t0 = performance.now();
  const end = t0 + durationMs;
  const client = async () => {
    while (performance.now() < end) {
      const s = performance.now();
      try {
        const send = () => pool.request({ path, method: "POST", body, headers: { "content-type": "application/json" } });
        const res = await send().catch((err: { code?: string }) => {
          if (err.code !== "UND_ERR_SOCKET") throw err;
          retried++;
          return send();
        });
        const text = await res.body.text();
        if (res.statusCode !== 200) {
          errors++;
          firstError ??= `${res.statusCode} ${text.slice(0, 300)}`;
        } else latencies.push(performance.now() - s);
      } catch (err) {
        errors++;
        firstError ??= String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  const seconds = (performance.now() - t0) / 1000;
  await pool.close();
  return { requests: latencies.length, errors, ...(firstError ? { firstError } : {}), retried, seconds, rps: latencies.length / seconds, latenciesMs: latencies };
}

export interface StreamResult {
  tokensPerSecond: number;
  ttftMs: number[];
}

/** `n` concurrent streaming completions: aggregate generated tokens per second (from each stream's usage chunk) and
 * each stream's time to its first chunk. */
export async function concurrentStreams(url: string, body: Record<string, unknown>, n: number): Promise<StreamResult> {
  const pool = new Pool(url, { connections: n, pipelining: 1 });
  const ttft: number[] = [];
  let tokens = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, async () => {
    const s = performance.now();
    const res = await pool.request({ path: "/v1/completions", method: "POST", body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }), headers: { "content-type": "application/json" } });
    if (res.statusCode !== 200) throw new Error(`stream failed: ${res.statusCode} ${await res.body.text()}`);
    let first = true;
    let buf = "";
    for await (const chunk of res.body) {
      buf += (chunk as Buffer).toString("utf8");
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const ev = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (!ev.startsWith("data: {")) continue;
        if (first) {
          ttft.push(performance.now() - s);
          first = false;
        }
        if (ev.includes('"usage":{')) tokens += (JSON.parse(ev.slice(6)) as { usage: { completion_tokens: number } }).usage.completion_tokens;
      }
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  await pool.close();
  return { tokensPerSecond: tokens / seconds, ttftMs: ttft };
}
