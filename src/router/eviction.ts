// Eviction policy as a plain function, so it can change (memory-aware, per-group) without touching the scheduler.
export interface VictimCandidate {
  id: string;
  lastUsed: number;
}

/** The least recently used candidate (ties broken by id, so the choice is deterministic); undefined if none. */
export function pickVictim(candidates: readonly VictimCandidate[]): string | undefined {
  let best: VictimCandidate | undefined;
  for (const c of candidates) {
    if (!best || c.lastUsed < best.lastUsed || (c.lastUsed === best.lastUsed && c.id < best.id)) best = c;
  }
  return best?.id;
}
