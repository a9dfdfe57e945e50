// --cluster's NATS URLs as the client takes them. nats.js reads only host and port from a server URL, so the
// credentials NATS users put in it (nats://user:pass@host, nats://token@host) are taken out here and given to the
// client as options; they never reach a log line (`shown` has them masked).

export interface NatsServers {
  /** host:port of each server, credentials removed. */
  servers: string[];
  /** The URLs with their credentials masked, for log lines and errors. */
  shown: string[];
  user?: string;
  pass?: string;
  token?: string;
  /** tls:// was given: the client must use TLS. */
  tls: boolean;
}

const SCHEMES = new Set(["nats:", "tls:"]);

/** Throws an Error whose message names the bad URL (masked) and says what is wrong. */
export function parseNatsServers(urls: readonly string[]): NatsServers {
  if (urls.length === 0) throw new Error("expected at least one NATS URL (e.g. nats://127.0.0.1:4222)");
  const out: NatsServers = { servers: [], shown: [], tls: false };
  let auth: string | undefined;
  for (const raw of urls) {
    const withScheme = /^[a-z]+:\/\//i.test(raw) ? raw : `nats://${raw}`;
    let u: URL;
    try {
      u = new URL(withScheme);
    } catch {
      throw new Error(`'${mask(raw)}' is not a URL (expected nats://HOST:PORT)`);
    }
    if (!SCHEMES.has(u.protocol)) throw new Error(`'${mask(raw)}': expected a nats:// or tls:// URL, got ${u.protocol}//`);
    if (u.hostname === "") throw new Error(`'${mask(raw)}': the URL has no host`);
    if ((u.pathname !== "" && u.pathname !== "/") || u.search !== "" || u.hash !== "") {
      throw new Error(`'${mask(raw)}': a NATS URL is only [USER:PASS@]HOST[:PORT]`);
    }
    if (u.protocol === "tls:") out.tls = true;
    const user = decodeURIComponent(u.username);
    const pass = decodeURIComponent(u.password);
    // one connection, one set of credentials: servers of one cluster share them
    const thisAuth = JSON.stringify([user, pass]);
    if (auth !== undefined && thisAuth !== auth) throw new Error("every NATS URL must carry the same credentials (or none)");
    auth = thisAuth;
    if (user !== "" && u.password !== "") {
      out.user = user;
      out.pass = pass;
    } else if (user !== "") {
      out.token = user;
    }
    const port = u.port === "" ? "4222" : u.port;
    out.servers.push(`${u.hostname}:${port}`);
    out.shown.push(`${u.protocol}//${user !== "" ? "***@" : ""}${u.hostname}:${port}`);
  }
  return out;
}

/** The URL with anything before an @ masked, for a message about a URL that did not parse. */
function mask(raw: string): string {
  const at = raw.lastIndexOf("@");
  if (at < 0) return raw;
  const scheme = /^[a-z]+:\/\//i.exec(raw)?.[0] ?? "";
  return `${scheme}***${raw.slice(at)}`;
}
