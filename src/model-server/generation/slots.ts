// The slots of one model: each is a sequence of the shared context. Requests beyond the slot count wait in FIFO
// order; an idle slot whose cached tokens share the longest prefix with the new prompt is preferred, so a
// multi-turn chat finds its previous turn still in the KV cache. A request may ask for one slot (`id_slot`): it
// waits for that one while others pass it by.
import type { LlamaContext, LlamaContextSequence, Token } from "node-llama-cpp";
import { ApiError } from "../../http/errors.js";

export interface Slot {
  readonly id: number;
  readonly seq: LlamaContextSequence;
  busy: boolean;
  /** Tokens of the task running now (for /slots). */
  nPromptTokens: number;
  nDecoded: number;
}

interface Waiter {
  prompt: readonly Token[];
  /** The slot this request must run on, or undefined for any. */
  slotId: number | undefined;
  resolve: (slot: Slot) => void;
  reject: (err: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class SlotPool {
  readonly slots: Slot[] = [];
  private readonly queue: Waiter[] = [];
  /**
   * -sps: a request goes to the idle slot whose cache holds the largest share of its prompt when that share is
   * above this; otherwise to the least recently used idle slot (llama-server's default 0.1; 0 = always LRU).
   */
  promptSimilarity = 0.1;
  /** When each slot was last handed out, for the least-recently-used choice. */
  private readonly lastUsed = new Map<number, number>();
  private clock = 0;

  /** `sequenceOptions` gives each slot's sequence its draft predictor and context shift (sequence-options.ts). */
  constructor(context: LlamaContext, count: number, sequenceOptions: (id: number) => Parameters<LlamaContext["getSequence"]>[0] = () => undefined) {
    for (let id = 0; id < count; id++) {
      this.slots.push({ id, seq: context.getSequence(sequenceOptions(id)), busy: false, nPromptTokens: 0, nDecoded: 0 });
    }
  }

  get processing(): number {
    return this.slots.filter((s) => s.busy).length;
  }

  get deferred(): number {
    return this.queue.length;
  }

  /** `slotId` (0 to slots-1) pins the request to that slot; callers check the range. */
  acquire(prompt: readonly Token[], signal?: AbortSignal, slotId?: number): Promise<Slot> {
    if (signal?.aborted) return Promise.reject(new ApiError(499, "request cancelled"));
    const pinned = slotId !== undefined && slotId >= 0 ? slotId : undefined;
    const slot = pinned !== undefined ? this.idleAt(pinned) : this.bestIdle(prompt);
    if (slot) {
      slot.busy = true;
      this.lastUsed.set(slot.id, ++this.clock);
      return Promise.resolve(slot);
    }
    return new Promise<Slot>((resolve, reject) => {
      const waiter: Waiter = { prompt, slotId: pinned, resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.queue.indexOf(waiter);
          if (i >= 0) this.queue.splice(i, 1);
          reject(new ApiError(499, "request cancelled while waiting for a slot"));
        };
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.queue.push(waiter);
    });
  }

  /** Hands the slot to the first waiter that can take it (any slot, or this one), else marks it idle. */
  release(slot: Slot): void {
    const i = this.queue.findIndex((w) => w.slotId === undefined || w.slotId === slot.id);
    if (i < 0) {
      slot.busy = false;
      return;
    }
    const [next] = this.queue.splice(i, 1);
    if (next!.onAbort) next!.signal?.removeEventListener("abort", next!.onAbort);
    this.lastUsed.set(slot.id, ++this.clock);
    next!.resolve(slot);
  }

  private idleAt(id: number): Slot | undefined {
    const s = this.slots[id];
    return s && !s.busy ? s : undefined;
  }

  private bestIdle(prompt: readonly Token[]): Slot | undefined {
    let best: Slot | undefined;
    let bestShare = 0;
    if (this.promptSimilarity > 0 && prompt.length > 0) {
      for (const s of this.slots) {
        if (s.busy || s.seq.nextTokenIndex === 0) continue;
        const share = commonPrefix(s.seq.contextTokens, prompt) / prompt.length;
        if (share > bestShare && share > this.promptSimilarity) {
          best = s;
          bestShare = share;
        }
      }
    }
    if (best) return best;
    let lru: Slot | undefined;
    for (const s of this.slots) {
      if (!s.busy && (!lru || (this.lastUsed.get(s.id) ?? 0) < (this.lastUsed.get(lru.id) ?? 0))) lru = s;
    }
    return lru;
  }
}

export function commonPrefix(a: readonly Token[], b: readonly Token[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
