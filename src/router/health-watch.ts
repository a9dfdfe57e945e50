// Wedged model processes: alive, but answering nothing. Each loaded local process has its health path probed now
// and then; one that does not answer within the health timeout is reported (the router kills it, and its status says
// why). A refused connection is not a wedge: the process is gone, and its exit is on its way.
//
// Only the health path is watched. A process whose HTTP side answers while its generation is stuck is not caught:
// a request with no byte for a while is no sign of that (a long prompt on a CPU, or a long answer that is not
// streamed, send nothing until done).

/** What one probe found: an HTTP status, or the error that came instead (a timeout is "timeout"). */
export type ProbeResult = number | "timeout" | string;

export interface HealthWatchOptions {
  /** Time between the end of one probe and the start of the next. */
  everyMs: number;
  /** A probe not answered within this long means the process is wedged. */
  timeoutMs: number;
  /** GETs the model's health path, giving up after timeoutMs. */
  probe(id: string, timeoutMs: number): Promise<ProbeResult>;
  onWedged(id: string, why: string): void;
  sleep?(ms: number): Promise<void>;
}

/** The verdict on one probe: only a probe that ran out of time is a wedge. */
export function verdictOf(result: ProbeResult): "alive" | "wedged" | "unreachable" {
  if (typeof result === "number") return "alive";
  return result === "timeout" ? "wedged" : "unreachable";
}

export class HealthWatch {
  /** Each watched model's current watch; a new one (a new process) replaces it. */
  private readonly watches = new Map<string, object>();

  constructor(private readonly o: HealthWatchOptions) {}

  watch(id: string): void {
    const token = {};
    this.watches.set(id, token);
    void this.loop(id, token);
  }

  unwatch(id: string): void {
    this.watches.delete(id);
  }

  private async loop(id: string, token: object): Promise<void> {
    const sleep = this.o.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms).unref()));
    for (;;) {
      await sleep(this.o.everyMs);
      if (this.watches.get(id) !== token) return;
      const result = await this.o.probe(id, this.o.timeoutMs);
      if (this.watches.get(id) !== token) return;
      if (verdictOf(result) === "wedged") {
        this.watches.delete(id);
        this.o.onWedged(id, `not answering: its health check got no answer within ${Math.round(this.o.timeoutMs / 1000)} s; the process was killed`);
        return;
      }
    }
  }
}
