// The cluster flags checked and completed at start-up, before anything connects: a mistake is one line naming the
// flag, at start rather than as a node the others cannot reach. Pure but for the key file, read through `ctx`.
// Loads no NATS code, so the router may import it statically.
import type { ServerOptions } from "../options/options.js";
import { StartupError } from "../util/startup-error.js";
import { parseNatsServers, type NatsServers } from "./nats-servers.js";

/** The options this module reads (a slice of the router's). */
export type ClusterFlags = Pick<ServerOptions, "cluster" | "nodeName" | "advertise" | "clusterKey" | "clusterKeyFile" | "clusterTtl" | "host" | "sslCertFile">;

export interface ClusterConfig {
  nats: NatsServers;
  nodeName: string;
  /** Base URL the other nodes send this node's requests to (no trailing slash). */
  advertise: string;
  /** The shared secret forwarded requests carry; undefined = none configured. */
  key?: string;
  ttlMs: number;
}

export interface ConfigContext {
  hostname: string;
  /** The port the router listens on (the real one, when --port was 0). */
  port: number;
  readFile(path: string): string;
}

/** A cluster flag that cannot work: one line, exit code 1, as any start-up failure. */
export class ClusterConfigError extends StartupError {}

const ANY_ADDRESS = new Set(["0.0.0.0", "::", "[::]"]);
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|\[::1\]|localhost)$/i;

/**
 * The cluster's configuration, or undefined without --cluster. `warnings` are one line each, for flags that do
 * nothing as given.
 */
export function resolveClusterConfig(flags: ClusterFlags, ctx: ConfigContext): { config?: ClusterConfig; warnings: string[] } {
  const warnings: string[] = [];
  if (flags.cluster === undefined || flags.cluster.length === 0) {
    const unused = (["nodeName", "advertise", "clusterKey", "clusterKeyFile"] as const).filter((k) => flags[k] !== undefined);
    const flag = { nodeName: "--node-name", advertise: "--advertise", clusterKey: "--cluster-key", clusterKeyFile: "--cluster-key-file" };
    if (unused.length > 0) warnings.push(`${unused.map((k) => flag[k]).join(", ")}: no effect without --cluster`);
    return { warnings };
  }
  let nats: NatsServers;
  try {
    nats = parseNatsServers(flags.cluster);
  } catch (err) {
    throw new ClusterConfigError(`--cluster: ${(err as Error).message}`);
  }
  const nodeName = flags.nodeName ?? `${ctx.hostname}:${ctx.port}`;
  checkNodeName(nodeName);
  const advertise = flags.advertise !== undefined ? checkAdvertise(flags.advertise) : defaultAdvertise(flags, ctx.port);
  const key = readKey(flags, ctx);
  if (key === undefined && !LOOPBACK.test(flags.host)) {
    warnings.push("--cluster without --cluster-key: any client that reaches this node can send it requests as another node would");
  }
  const config: ClusterConfig = { nats, nodeName, advertise, ttlMs: flags.clusterTtl * 1000, ...(key !== undefined ? { key } : {}) };
  return { config, warnings };
}

function checkNodeName(name: string): void {
  if (name.length === 0 || name.length > 128) throw new ClusterConfigError(`--node-name: expected 1 to 128 characters, got ${name.length}`);
  // the name is shown in logs and headers: no spaces or control characters
  if (!/^[\x21-\x7e]+$/.test(name)) throw new ClusterConfigError(`--node-name: only printable ASCII without spaces, got '${name}'`);
}

function checkAdvertise(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ClusterConfigError(`--advertise: '${raw}' is not a URL (expected http://HOST:PORT)`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new ClusterConfigError(`--advertise: expected an http:// or https:// URL, got '${raw}'`);
  if (ANY_ADDRESS.has(u.hostname)) throw new ClusterConfigError(`--advertise: ${u.hostname} is not an address other nodes can reach; give this node's own`);
  if (u.username !== "" || u.password !== "" || u.search !== "" || u.hash !== "") {
    throw new ClusterConfigError(`--advertise: expected http://HOST:PORT[/PATH] without credentials, query or fragment, got '${raw}'`);
  }
  return u.toString().replace(/\/+$/, "");
}

function defaultAdvertise(flags: ClusterFlags, port: number): string {
  if (ANY_ADDRESS.has(flags.host)) {
    throw new ClusterConfigError(`--advertise: required with --host ${flags.host} (the URL the other nodes reach this one at, e.g. http://10.0.0.5:${port})`);
  }
  const host = flags.host.includes(":") && !flags.host.startsWith("[") ? `[${flags.host}]` : flags.host;
  return `${flags.sslCertFile !== undefined ? "https" : "http"}://${host}:${port}`;
}

function readKey(flags: ClusterFlags, ctx: ConfigContext): string | undefined {
  if (flags.clusterKey !== undefined && flags.clusterKeyFile !== undefined) {
    throw new ClusterConfigError("--cluster-key and --cluster-key-file: give only one");
  }
  if (flags.clusterKey !== undefined) {
    if (flags.clusterKey.trim() === "") throw new ClusterConfigError("--cluster-key: the key is empty");
    return flags.clusterKey;
  }
  if (flags.clusterKeyFile === undefined) return undefined;
  let text: string;
  try {
    text = ctx.readFile(flags.clusterKeyFile);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ClusterConfigError(`--cluster-key-file: cannot read '${flags.clusterKeyFile}': ${code}`);
  }
  const key = text.split(/\r?\n/)[0]!.trim();
  if (key === "") throw new ClusterConfigError(`--cluster-key-file: '${flags.clusterKeyFile}' holds no key (its first line is empty)`);
  return key;
}
