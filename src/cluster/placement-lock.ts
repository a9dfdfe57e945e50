// The per-model placement lock: a burst of first requests for a model, arriving at different nodes, loads it once.
// A lock is a key created only if absent (create fails when it exists), released by deleting that very revision;
// the bucket's max age expires the lock of a holder that died. It needs to be held only until the chosen node's
// state shows the model loading: from then on every node routes there (rule 2 of the routing).
import type { KV } from "@nats-io/kv";
import { keyToken } from "./node-state.js";

/** Who holds a model's lock, and where the model is going. */
export interface LockHolder {
  node: string;
  startId: string;
  /** The node the model is being placed on. */
  target: string;
  /** When it was taken (the holder's clock, ms). */
  at: number;
}

export type LockResult =
  /** This call took it: release it (or unlock(model)) once the model shows loading on the target, or failed. */
  | { kind: "won"; release(): Promise<void> }
  /** Another node (or this one, for another request) holds it; `by` when its value could be read. */
  | { kind: "held"; by?: LockHolder }
  /** NATS cannot be reached: no one can say; the caller decides (placing without the lock risks a second load). */
  | { kind: "unavailable"; error: string };

export class PlacementLocks {
  /** Revisions of the locks this node holds, by model. */
  private readonly held = new Map<string, number>();

  constructor(
    /** The lock bucket, or undefined while NATS cannot be reached. */
    private readonly bucket: () => KV | undefined,
    private readonly self: { node: string; startId: string },
  ) {}

  async tryLock(model: string, target: string): Promise<LockResult> {
    const kv = this.bucket();
    if (!kv) return { kind: "unavailable", error: "not connected to NATS" };
    const key = lockKey(model);
    const value: LockHolder = { node: this.self.node, startId: this.self.startId, target, at: Date.now() };
    try {
      const revision = await kv.create(key, JSON.stringify(value));
      this.held.set(model, revision);
      return { kind: "won", release: () => this.release(model, revision) };
    } catch (err) {
      if (!isWrongSequence(err)) return { kind: "unavailable", error: (err as Error).message };
    }
    const entry = await kv.get(key).catch(() => null);
    const by = entry && entry.operation === "PUT" ? parseHolder(entry.string()) : undefined;
    return by ? { kind: "held", by } : { kind: "held" };
  }

  /** Releases this node's lock on the model; one taken since by another node (after expiry) is left alone. */
  async unlock(model: string): Promise<void> {
    const revision = this.held.get(model);
    if (revision !== undefined) await this.release(model, revision);
  }

  private async release(model: string, revision: number): Promise<void> {
    if (this.held.get(model) !== revision) return;
    this.held.delete(model);
    const kv = this.bucket();
    if (!kv) return;
    // a lock that cannot be released now expires with the bucket's max age
    await kv.delete(lockKey(model), { previousSeq: revision }).catch(() => {});
  }

  /** Whether this node holds the model's lock (as far as it knows: it may have expired). */
  holds(model: string): boolean {
    return this.held.has(model);
  }

  async releaseAll(): Promise<void> {
    await Promise.all([...this.held.keys()].map((m) => this.unlock(m)));
  }
}

export function lockKey(model: string): string {
  return `place.${keyToken(model)}`;
}

function isWrongSequence(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return e?.code === 10071 || (typeof e?.message === "string" && /wrong last sequence/i.test(e.message));
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const o = JSON.parse(text) as Partial<LockHolder>;
    if (typeof o.node === "string" && typeof o.startId === "string" && typeof o.target === "string" && typeof o.at === "number") {
      return { node: o.node, startId: o.startId, target: o.target, at: o.at };
    }
  } catch {
    // not a lock this version wrote
  }
  return undefined;
}
