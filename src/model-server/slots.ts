// The slots of one model: each is a sequence of the shared context. Requests beyond the slot count wait in FIFO
// order; an idle slot whose cached tokens share the longest prefix with the new prompt is preferred, so a
// multi-turn chat finds its previous turn still in the KV cache.
import type { LlamaContext, LlamaContextSequence, Token } from "node-llama-cpp";
import { ApiError } from "../http/errors.js";

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
  resolve: (slot: Slot) => void;
  reject: (err: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class SlotPool {
  readonly slots: Slot[] = [];
  private readonly queue: Waiter[] = [];

  constructor(context: LlamaContext, count: number) {
    for (let id = 0; id < count; id++) {
      this.slots.push({ id, seq: context.getSequence(), busy: false, nPromptTokens: 0, nDecoded: 0 });
    }
  }

  get processing(): number {
    return this.slots.filter((s) => s.busy).length;
  }

  get deferred(): number {
    return this.queue.length;
  }

  acquire(prompt: readonly Token[], signal?: AbortSignal): Promise<Slot> {
    if (signal?.aborted) return Promise.reject(new ApiError(499, "request cancelled"));
    const slot = this.bestIdle(prompt);
    if (slot) {
      slot.busy = true;
      return Promise.resolve(slot);
    }
    return new Promise<Slot>((resolve, reject) => {
      const waiter: Waiter = { prompt, resolve, reject, signal };
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

  release(slot: Slot): void {
    const next = this.queue.shift();
    if (!next) {
      slot.busy = false;
      return;
    }
    if (next.onAbort) next.signal?.removeEventListener("abort", next.onAbort);
    next.resolve(slot);
  }

  private bestIdle(prompt: readonly Token[]): Slot | undefined {
    let best: Slot | undefined;
    let bestLen = -1;
    for (const s of this.slots) {
      if (s.busy) continue;
      const len = commonPrefix(s.seq.contextTokens, prompt);
      if (len > bestLen) {
        best = s;
        bestLen = len;
      }
    }
    return best;
  }
}

export function commonPrefix(a: readonly Token[], b: readonly Token[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
