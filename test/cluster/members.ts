// Cluster members for the tests: real Membership objects in this process, each with its own NATS connection and a
// local state the test sets, and a log kept as lines.
import { Membership } from "../../src/cluster/membership.js";
import { parseNatsServers } from "../../src/cluster/nats-servers.js";
import type { LocalSnapshot, ModelStatus } from "../../src/cluster/node-state.js";
import type { ClusterChange, ClusterView } from "../../src/cluster/view.js";

export interface TestMember {
  m: Membership;
  name: string;
  /** Log lines, "I msg" / "W msg" / "D msg". */
  log: string[];
  /** Changes reported by onChange, flattened. */
  changes: ClusterChange[];
  local: LocalSnapshot;
  /** Sets a model's status here (undefined: no process) and publishes the change. */
  setModel(id: string, status: ModelStatus | undefined): void;
}

export function member(natsUrl: string, name: string, opts: { ttlMs?: number; retryMaxMs?: number } = {}): TestMember {
  const log: string[] = [];
  const changes: ClusterChange[] = [];
  const local: LocalSnapshot = { memory: { ram: { budget: 8 * 1024 ** 3, free: 8 * 1024 ** 3 } }, modelsMax: 0, catalog: { shared: { ram: 1024 }, [`only-${name}`]: { ram: 1024 } }, models: {} };
  const m = new Membership({
    config: { nats: parseNatsServers([natsUrl]), nodeName: name, advertise: `http://${name}.test:8080`, ttlMs: opts.ttlMs ?? 2000 },
    local: { snapshot: () => local },
    log: { info: (s) => log.push(`I ${s}`), warn: (s) => log.push(`W ${s}`), debug: (s) => log.push(`D ${s}`) },
    debounceMs: 20,
    retryMaxMs: opts.retryMaxMs ?? 500,
  });
  m.onChange((c) => changes.push(...c));
  m.start();
  return {
    m, name, log, changes, local,
    setModel(id, status) {
      if (status === undefined) delete local.models[id];
      else local.models[id] = { status, inFlight: 0, waiting: 0, slots: 1 };
      m.changed();
    },
  };
}

/** Polls `check` every 50 ms until it holds; fails after `ms` with `what` and the last view seen. */
export async function until(what: string, check: () => boolean, ms: number, show?: () => unknown): Promise<number> {
  const start = Date.now();
  for (let i = 0; Date.now() - start < ms && i < ms / 50 + 10; i++) {
    if (check()) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (check()) return Date.now() - start;
  throw new Error(`${what}: not within ${ms} ms${show ? `; last: ${JSON.stringify(show())}` : ""}`);
}

/** name → status (and the models with their status) of a view, for assertions and failure messages. */
export function summary(view: ClusterView): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, n] of [...view].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const models = Object.entries(n.state.models).map(([id, m]) => `${id}=${m.status}`).sort().join(",");
    out[name] = models ? `${n.status} ${models}` : n.status;
  }
  return out;
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
