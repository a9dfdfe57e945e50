// The node's one connection to NATS. At start-up NATS may not be there yet (a cluster starting all at once, a
// pod before its NATS): the node serves its own models meanwhile and keeps trying, saying so once, not once per try.
// Once connected, the client reconnects by itself, for ever.
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "../util/log.js";
import type { NatsServers } from "./nats-servers.js";

export interface NatsConnectOptions {
  nats: NatsServers;
  /** The client's name, shown by the server's monitoring. */
  name: string;
  log: Pick<Logger, "info" | "warn">;
  /** Liveness of the link: a silent server is dropped after about two of these (ms). */
  pingMs: number;
  /** Longest wait between two start-up tries (ms); the first waits 250 ms, then it doubles. */
  retryMaxMs?: number;
  signal?: AbortSignal;
}

/** Connects, trying until it works; undefined when `signal` aborts first. */
export async function connectWithRetry(opts: NatsConnectOptions): Promise<NatsConnection | undefined> {
  const { nats, log } = opts;
  const where = nats.shown.join(",");
  const started = Date.now();
  let delay = 250;
  let failed = false;
  while (!opts.signal?.aborted) {
    try {
      const nc = await connect({
        servers: nats.servers,
        name: opts.name,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1000,
        timeout: 3000,
        pingInterval: opts.pingMs,
        maxPingOut: 2,
        ...(nats.user !== undefined ? { user: nats.user, pass: nats.pass ?? "" } : {}),
        ...(nats.token !== undefined ? { token: nats.token } : {}),
        ...(nats.tls ? { tls: {} } : {}),
      });
      if (opts.signal?.aborted) {
        await nc.close().catch(() => {});
        return undefined;
      }
      log.info(failed ? `cluster: connected to NATS at ${where} after ${Math.round((Date.now() - started) / 1000)} s` : `cluster: connected to NATS at ${where}`);
      return nc;
    } catch (err) {
      if (!failed) {
        failed = true;
        log.warn(`cluster: cannot reach NATS at ${where} (${describe(err)}); serving this node's own models and retrying in the background`);
      }
    }
    await sleep(delay, opts.signal);
    delay = Math.min(delay * 2, opts.retryMaxMs ?? 5000);
  }
  return undefined;
}

export function describe(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const msg = typeof e?.message === "string" ? e.message : String(err);
  return typeof e?.code === "string" && !msg.includes(e.code) ? `${e.code}: ${msg}` : msg;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
