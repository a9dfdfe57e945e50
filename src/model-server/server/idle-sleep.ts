// --sleep-idle-seconds, as llama-server's server_queue does it: after N seconds without a request that needs the
// model, the model is freed (the process, its HTTP server and the backend stay); the next such request loads it
// again and waits for it. Requests that only read state (health, props, models, slots, metrics: every GET) neither
// wake the model nor count as activity, so a health check or a metrics scraper does not keep it in memory.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Logger } from "../../util/log.js";
import type { ServerState } from "./state.js";

export interface SleepHooks {
  /** Frees the model. */
  sleep(): Promise<void>;
  /** Loads it again; a failure is fatal, as in llama-server (the caller decides what that means). */
  wake(): Promise<void>;
}

export class IdleSleeper {
  private inFlight = 0;
  private lastActivity = Date.now();
  private sleeping = false;
  /** A sleep or a wake in progress: a request waits for it before looking at the state. */
  private transition: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;

  constructor(
    private readonly idleMs: number,
    private readonly hooks: SleepHooks,
    private readonly log: Logger,
  ) {}

  /** Starts counting idle time (once the model has loaded). */
  start(): void {
    this.started = true;
    this.lastActivity = Date.now();
    this.schedule();
  }

  get isSleeping(): boolean {
    return this.sleeping;
  }

  /** Marks a request that needs the model: wakes the model first if it sleeps. Call the result when it ends. */
  async enter(): Promise<() => void> {
    this.inFlight++;
    this.lastActivity = Date.now();
    try {
      // a sleep that started just before this request is finished first; then whoever finds the model asleep
      // starts the wake, and everyone else waits for that same wake
      await this.transition;
      if (this.sleeping) {
        this.transition = this.transition.then(() => this.wakeNow());
        await this.transition;
      }
    } catch (err) {
      this.leave();
      throw err;
    }
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.leave();
    };
  }

  /** No more sleeping (the server is stopping). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private leave(): void {
    this.inFlight--;
    this.lastActivity = Date.now();
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped || !this.started) return;
    if (this.timer) clearTimeout(this.timer);
    const due = Math.max(0, this.lastActivity + this.idleMs - Date.now());
    this.timer = setTimeout(() => this.check(), due);
    this.timer.unref();
  }

  private check(): void {
    if (this.stopped || this.sleeping || this.inFlight > 0) return;
    if (Date.now() - this.lastActivity < this.idleMs) {
      this.schedule();
      return;
    }
    this.sleeping = true;
    this.log.info(`entering sleeping state: no request for ${Math.round(this.idleMs / 1000)} s, the model is freed until the next one`);
    this.transition = this.transition.then(() => this.hooks.sleep()).catch((err: unknown) => {
      this.log.error(`freeing the model failed: ${(err as Error).message}`);
    });
  }

  private async wakeNow(): Promise<void> {
    if (!this.sleeping) return;
    this.log.info("exiting sleeping state: loading the model again");
    await this.hooks.wake();
    this.sleeping = false;
  }
}

/** Requests that need the model: everything but reads of state, and POST /props (which changes no model state). */
export function needsModel(req: FastifyRequest): boolean {
  if (req.method === "GET" || req.method === "HEAD" || req.method === "OPTIONS") return false;
  return req.url.split("?", 1)[0] !== "/props";
}

/**
 * --sleep-idle-seconds for the model server: the hook goes in before the server listens; start() once the model is
 * ready. Sleeping frees the model and its contexts (the backend stays); waking loads them again with `reload`, and
 * a failure there ends the process, as llama-server aborts (a supervisor or the router then sees it exit).
 */
export function setUpIdleSleep(app: FastifyInstance, state: ServerState, reload: () => Promise<void>): IdleSleeper | undefined {
  const seconds = state.opts.sleepIdleSeconds;
  if (seconds <= 0) return undefined;
  const sleeper = new IdleSleeper(seconds * 1000, {
    async sleep() {
      state.sleeping = true;
      await state.ready?.engine.disposeModel();
    },
    async wake() {
      try {
        await reload();
        state.sleeping = false;
      } catch (err) {
        state.log.error(`failed to load the model again after sleeping: ${(err as Error).message}`);
        process.exit(1);
      }
    },
  }, state.log);
  app.addHook("onRequest", async (req, reply) => {
    if (!needsModel(req)) return;
    const done = await sleeper.enter();
    reply.raw.once("close", done);
  });
  return sleeper;
}
