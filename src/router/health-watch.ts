// The one health watcher for running models. A local process is probed for wedges: alive, but answering nothing
// (one that does not answer within the health timeout is reported, and killed). A server elsewhere (the remote
// engine) is probed for being gone: several failed answers in a row and it counts as stopped. A refused connection
// to a local process is no wedge: the process is gone, and its exit is on its way.
//
// Only the health path is watched. A process whose HTTP side answers while its generation is stuck is not caught:
// a request with no byte for a while is no sign of that (a long prompt on a CPU, or a long answer that is not
// streamed, send nothing until done).

/** What one probe found: an HTTP status, or the error that came instead (a timeout is "timeout"). */
export type ProbeResult = number | "timeout" | string;

export interface Watch {
  /** GETs the health path, giving up after timeoutMs. */
  probe(timeoutMs: number): Promise<ProbeResult>;
  /** Time between the end of one probe and the start of the next. */
  everyMs: number;
  /** A probe not answered within this long is a wedge (local) or a miss (remote). */
  timeoutMs: number;
  /**
   * Answers other than 200 in a row that mean the server is gone (a server elsewhere, whose exit nobody reports).
   * Undefined: a local process, where only a wedge counts.
   */
  misses?: number;
  /** Said once; the watch ends with it. */
  onFailed(why: string): void;
  /** Words for a remote's failure: `${describe(result)}`. */
  describe?(result: ProbeResult): string;
}

/** The verdict on one probe of a local process: only a probe that ran out of time is a wedge. */
export function verdictOf(result: ProbeResult): "alive" | "wedged" | "unreachable" {
  if (typeof result === "number") return "alive";
  return result === "timeout" ? "wedged" : "unreachable";
}

export class HealthWatch {
  /** Each watched model's current watch; a new one (a new process) replaces it. */
  private readonly watches = new Map<string, object>();

  constructor(private readonly o: { sleep?(ms: number): Promise<void> } = {}) {}

  watch(id: string, w: Watch): void {
    const token = {};
    this.watches.set(id, token);
    void this.loop(id, token, w);
  }

  unwatch(id: string): void {
    this.watches.delete(id);
  }

  private async loop(id: string, token: object, w: Watch): Promise<void> {
    const sleep = this.o.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms).unref()));
    let missed = 0;
    for (;;) {
      await sleep(w.everyMs);
      if (this.watches.get(id) !== token) return;
      const result = await w.probe(w.timeoutMs);
      if (this.watches.get(id) !== token) return;
      let failed: string | undefined;
      if (w.misses === undefined) failed = wedged(result, w.timeoutMs);
      else if (result === 200) missed = 0;
      else if (++missed >= w.misses) failed = w.describe?.(result) ?? String(result);
      if (failed !== undefined) {
        this.watches.delete(id);
        w.onFailed(failed);
        return;
      }
    }
  }
}

function wedged(result: ProbeResult, timeoutMs: number): string | undefined {
  if (verdictOf(result) !== "wedged") return undefined;
  return `not answering: its health check got no answer within ${Math.round(timeoutMs / 1000)} s; the process was killed`;
}
