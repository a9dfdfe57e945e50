// The scheduler as a state machine with recorded effects: no processes, no timers.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Scheduler, type ExitKind, type ExitReport, type ModelConfig } from "../../src/router/scheduler.js";
import { pickVictim } from "../../src/router/eviction.js";
import { describeRefusal, retryAfterOf } from "../../src/router/refusal.js";
import { HealthWatch, verdictOf, type ProbeResult } from "../../src/router/health-watch.js";

/** A process exit as the router reports it; with no kind, an exit with a reason is an error, one without a stop. */
function exit(code: number | null, reason: string, kind: ExitKind = reason ? "error" : "stopped"): ExitReport {
  return { kind, code, signal: null, reason };
}

function setup(
  models: Array<string | ModelConfig>,
  opts: { modelsMax?: number; queueMax?: number; cooldownMs?: number; memoryBudget?: { ram?: number; vram?: number } } = {},
) {
  let now = 1000;
  const log: string[] = [];
  const failures = new Map<string, { kind: string; message: string; retryAfterS?: number | undefined }>();
  const s = new Scheduler(
    {
      modelsMax: opts.modelsMax ?? 2, queueMax: opts.queueMax ?? 100, cooldownMs: opts.cooldownMs ?? 5000, now: () => now,
      ...(opts.memoryBudget ? { memoryBudget: opts.memoryBudget } : {}),
    },
    {
      start: (m) => log.push(`start ${m}`),
      stop: (m, cause) => log.push(`stop ${m}${cause === "lru" || cause === "unload" || cause === "ttl" || cause === "reload" ? "" : ` (${cause})`}`),
      grant: (r, m) => log.push(`grant ${r} ${m}`),
      fail: (r, why) => {
        log.push(`fail ${r} ${why.kind}`);
        failures.set(r, { kind: why.kind, message: describeRefusal(why), retryAfterS: retryAfterOf(why) });
      },
    },
    models.map((m) => (typeof m === "string" ? { id: m } : m)),
  );
  return {
    s,
    log,
    failures,
    take: () => log.splice(0),
    advance: (ms: number) => (now += ms),
  };
}

/** Loads a model to "loaded" through one request and finishes that request. */
function warm(t: ReturnType<typeof setup>, model: string) {
  t.s.onRequest(`warm-${model}`, model);
  t.s.onReady(model);
  t.s.onServeDone(`warm-${model}`);
  t.take();
}

describe("scheduler", () => {
  test("concurrent first requests share one load and are all granted when it is ready", () => {
    const t = setup(["a"]);
    for (let i = 0; i < 6; i++) t.s.onRequest(`r${i}`, "a");
    assert.deepEqual(t.take(), ["start a"]);
    t.s.onReady("a");
    assert.deepEqual(t.take(), ["grant r0 a", "grant r1 a", "grant r2 a", "grant r3 a", "grant r4 a", "grant r5 a"]);
    assert.equal(t.s.view("a")!.inFlight, 6);
  });

  test("a loaded model is granted at once; unknown models are 404", () => {
    const t = setup(["a"]);
    warm(t, "a");
    t.s.onRequest("r1", "a");
    t.s.onRequest("r2", "nope");
    assert.deepEqual(t.take(), ["grant r1 a", "fail r2 unknown-model"]);
  });

  test("LRU: with --models-max 2, a third model evicts the least recently used idle one", () => {
    const t = setup(["a", "b", "c"]);
    warm(t, "a");
    t.advance(10);
    warm(t, "b");
    t.advance(10);
    t.s.onRequest("r1", "c");
    assert.deepEqual(t.take(), ["stop a"]);
    t.s.onExit("a", exit(0, ""));
    assert.deepEqual(t.take(), ["start c"]);
    t.s.onReady("c");
    assert.deepEqual(t.take(), ["grant r1 c"]);
    assert.equal(t.s.view("a")!.state, "unloaded");
    assert.equal(t.s.view("a")!.failure, undefined, "an eviction is not a failure");
  });

  test("a busy model is never evicted: the request waits until a model goes idle", () => {
    const t = setup(["a", "b"], { modelsMax: 1 });
    t.s.onRequest("ra", "a");
    t.s.onReady("a");
    t.take();
    t.s.onRequest("rb", "b");
    assert.deepEqual(t.take(), [], "a is serving ra, so nothing is stopped");
    assert.equal(t.s.queued, 1);
    t.s.onServeDone("ra");
    assert.deepEqual(t.take(), ["stop a"]);
    t.s.onExit("a", exit(0, ""));
    t.s.onReady("b");
    assert.deepEqual(t.take(), ["start b", "grant rb b"]);
  });

  test("FIFO: requests waiting for room are served in arrival order", () => {
    const t = setup(["a", "b", "c"], { modelsMax: 1 });
    t.s.onRequest("ra", "a");
    t.s.onReady("a");
    t.s.onRequest("rb", "b");
    t.s.onRequest("rc", "c");
    t.s.onRequest("rb2", "b");
    t.take();
    t.s.onServeDone("ra");
    t.s.onExit("a", exit(0, ""));
    t.s.onReady("b");
    assert.deepEqual(t.take(), ["stop a", "start b", "grant rb b", "grant rb2 b"], "both b requests ride the same load, before c");
    t.s.onServeDone("rb");
    t.s.onServeDone("rb2");
    t.s.onExit("b", exit(0, ""));
    t.s.onReady("c");
    assert.deepEqual(t.take(), ["stop b", "start c", "grant rc c"]);
  });

  test("loads that need disjoint evictions run at once", () => {
    const t = setup(["a", "b", "c", "d"], { modelsMax: 2 });
    warm(t, "a");
    t.advance(1);
    warm(t, "b");
    t.s.onRequest("rc", "c");
    t.s.onRequest("rd", "d");
    assert.deepEqual(t.take(), ["stop a", "stop b"]);
    t.s.onExit("b", exit(0, ""));
    t.s.onExit("a", exit(0, ""));
    assert.deepEqual(t.take(), ["start c", "start d"]);
  });

  test("cancel while queued leaves the queue and is never granted", () => {
    const t = setup(["a", "b"], { modelsMax: 1 });
    t.s.onRequest("ra", "a");
    t.s.onReady("a");
    t.s.onRequest("rb", "b");
    t.s.onCancel("rb");
    assert.equal(t.s.queued, 0);
    t.s.onServeDone("ra");
    t.take();
    assert.deepEqual(t.log, [], "no eviction for a request that is gone");
    assert.equal(t.s.view("a")!.state, "loaded");
  });

  test("cancel while waiting for a load: the others are still granted", () => {
    const t = setup(["a"]);
    t.s.onRequest("r1", "a");
    t.s.onRequest("r2", "a");
    t.s.onCancel("r1");
    t.s.onReady("a");
    assert.deepEqual(t.take(), ["start a", "grant r2 a"]);
    assert.equal(t.s.view("a")!.inFlight, 1);
  });

  test("a failed load fails every waiter with the reason, then a cool-down answers 503 with Retry-After", () => {
    const t = setup(["a"], { cooldownMs: 5000 });
    t.s.onRequest("r1", "a");
    t.s.onRequest("r2", "a");
    t.s.onExit("a", exit(1, "error loading model: bad magic"));
    assert.deepEqual(t.take(), ["start a", "fail r1 load-failed", "fail r2 load-failed"]);
    assert.match(t.failures.get("r1")!.message, /bad magic/);
    t.s.onRequest("r3", "a");
    assert.deepEqual(t.take(), ["fail r3 cooling-down"], "no respawn during the cool-down");
    assert.ok(t.failures.get("r3")!.retryAfterS! >= 1);
    t.advance(5001);
    t.s.onRequest("r4", "a");
    assert.deepEqual(t.take(), ["start a"]);
  });

  test("a crash while serving marks the model failed and the next request loads it again", () => {
    const t = setup(["a"]);
    t.s.onRequest("r1", "a");
    t.s.onReady("a");
    t.s.onExit("a", exit(null, "killed by SIGKILL"));
    t.take();
    assert.equal(t.s.view("a")!.state, "unloaded");
    assert.equal(t.s.view("a")!.failure!.reason, "killed by SIGKILL");
    t.s.onServeDone("r1");
    t.s.onRequest("r2", "a");
    assert.deepEqual(t.take(), ["start a"]);
  });

  test("TTL unloads an idle model; the clock stops while requests are in flight", () => {
    const t = setup([{ id: "a", ttlMs: 1000 }]);
    t.s.onRequest("r1", "a");
    t.s.onReady("a");
    t.take();
    t.advance(5000);
    t.s.onTick();
    assert.deepEqual(t.take(), [], "serving: no TTL");
    t.s.onServeDone("r1");
    t.advance(999);
    t.s.onTick();
    assert.deepEqual(t.take(), []);
    t.advance(1);
    t.s.onTick();
    assert.deepEqual(t.take(), ["stop a"]);
    t.s.onExit("a", exit(0, ""));
    assert.equal(t.s.view("a")!.failure, undefined);
  });

  test("a client's keep-alive replaces the TTL until the process exits: 0 unloads once idle, for ever never", () => {
    const t = setup([{ id: "a", ttlMs: 1000 }, "b"]);
    t.s.onRequest("r1", "a");
    t.s.onRequest("r2", "a");
    t.s.onReady("a");
    t.take();
    t.s.onServeDone("r1", 0);
    assert.deepEqual(t.take(), [], "another request is in flight: no stop yet");
    assert.equal(t.s.view("a")!.ttlMs, 0);
    t.s.onServeDone("r2");
    t.s.onTick();
    assert.deepEqual(t.take(), ["stop a"], "idle with keep-alive 0: unloaded at the next tick");
    t.s.onExit("a", exit(0, ""));
    assert.equal(t.s.view("a")!.ttlMs, 1000, "a new process starts with the configured TTL");
    warm(t, "a");
    t.s.onKeepAlive("a", "forever");
    assert.equal(t.s.view("a")!.ttlMs, undefined);
    t.advance(60_000);
    t.s.onTick();
    assert.deepEqual(t.take(), []);
    t.s.onKeepAlive("a", 0);
    assert.deepEqual(t.take(), ["stop a"], "keep-alive 0 on an idle model unloads it at once");
    t.s.onKeepAlive("b", 0);
    assert.deepEqual(t.take(), [], "ignored for a model that is not loaded");
    assert.equal(t.s.view("b")!.ttlMs, undefined);
  });

  test("pinned models are never evicted, and pins that block a load fail it with a clear error", () => {
    const t = setup([{ id: "p", pinned: true }, "a", "b"], { modelsMax: 2 });
    warm(t, "p");
    warm(t, "a");
    t.s.onRequest("rb", "b");
    assert.deepEqual(t.take(), ["stop a"], "the unpinned model goes even though p is older");
    const t2 = setup([{ id: "p", pinned: true }, "b"], { modelsMax: 1 });
    warm(t2, "p");
    t2.s.onRequest("rb", "b");
    assert.deepEqual(t2.take(), ["fail rb pinned-full"]);
    assert.match(t2.failures.get("rb")!.message, /pinned/);
  });

  test("a pin set at run time protects a model from eviction; unpinning lets a waiting request evict it", () => {
    const t = setup(["a", "b", "c"], { modelsMax: 2 });
    warm(t, "a");
    t.advance(10);
    warm(t, "b");
    assert.equal(t.s.onPinRequest("a", true), "ok");
    assert.equal(t.s.view("a")!.pinned, true);
    assert.equal(t.s.onPinRequest("nope", true), "unknown-model");
    t.s.onRequest("r1", "c");
    assert.deepEqual(t.take(), ["stop b"], "a is the least recently used, but pinned: b goes");
    t.s.onExit("b", exit(0, ""));
    t.s.onReady("c");
    t.take();
    t.s.onPinRequest("c", true);
    t.s.onRequest("r2", "b");
    assert.deepEqual(t.take(), ["fail r2 pinned-full"], "every slot pinned: refused at once");
    t.s.onServeDone("r1");
    t.s.onPinRequest("c", false);
    t.s.onRequest("r3", "b");
    assert.deepEqual(t.take(), ["stop c"], "unpinned, c is evicted for b");
    // a run-time pin outlasts a reload that keeps the model, and overrides the config's pin
    t.s.onCatalogChange([{ id: "a" }, { id: "b" }, { id: "c", pinned: true }], new Set());
    assert.equal(t.s.view("a")!.pinned, true);
    assert.equal(t.s.view("c")!.pinned, false);
  });

  test("queue cap: beyond --models-queue-max, 503 with Retry-After", () => {
    const t = setup(["a", "b"], { modelsMax: 1, queueMax: 2 });
    t.s.onRequest("ra", "a");
    t.s.onReady("a");
    t.s.onRequest("q1", "b");
    t.s.onRequest("q2", "b");
    t.s.onRequest("q3", "b");
    assert.deepEqual(t.take(), ["start a", "grant ra a", "fail q3 queue-full"]);
    assert.equal(t.failures.get("q3")!.retryAfterS, 1);
  });

  test("per-model concurrency limit: 429 with Retry-After", () => {
    const t = setup([{ id: "a", maxConcurrent: 1 }]);
    warm(t, "a");
    t.s.onRequest("r1", "a");
    t.s.onRequest("r2", "a");
    assert.deepEqual(t.take(), ["grant r1 a", "fail r2 busy"]);
  });

  test("autoload off: 400 model is not loaded", () => {
    const t = setup(["a"]);
    t.s.onRequest("r1", "a", false);
    assert.deepEqual(t.take(), ["fail r1 not-loaded"]);
    assert.match(t.failures.get("r1")!.message, /^model 'a' is not loaded.*POST \/models\/load \{"model":"a"\}$/);
  });

  test("unload during a load: waiters go back to the queue and load it again after the exit", () => {
    const t = setup(["a"]);
    t.s.onRequest("r1", "a");
    assert.equal(t.s.onUnloadRequest("a"), "ok");
    assert.deepEqual(t.take(), ["start a", "stop a"]);
    t.s.onExit("a", exit(null, "stopped"));
    assert.deepEqual(t.take(), ["start a"]);
    t.s.onReady("a");
    assert.deepEqual(t.take(), ["grant r1 a"]);
  });

  test("admin load and unload answer like llama-server", () => {
    const t = setup(["a", "b"], { modelsMax: 1 });
    assert.equal(t.s.onLoadRequest("nope"), "unknown-model");
    assert.equal(t.s.onLoadRequest("a"), "ok");
    assert.equal(t.s.onLoadRequest("a"), "already-running", "already running");
    assert.equal(t.s.onUnloadRequest("b"), "not-running", "not running");
    t.s.onReady("a");
    assert.equal(t.s.onLoadRequest("b"), "ok");
    assert.deepEqual(t.take(), ["start a", "stop a"]);
    t.s.onExit("a", exit(0, ""));
    assert.deepEqual(t.take(), ["start b"]);
  });

  test("admin load with no room and a busy model waits its turn instead of failing", () => {
    const t = setup(["a", "b"], { modelsMax: 1 });
    warm(t, "a");
    t.s.onRequest("r1", "a");
    assert.equal(t.s.onLoadRequest("b"), "ok");
    assert.deepEqual(t.take(), ["grant r1 a"], "a is serving: nothing is stopped");
    t.s.onServeDone("r1");
    assert.deepEqual(t.take(), ["stop a"]);
    t.s.onExit("a", exit(0, ""));
    assert.deepEqual(t.take(), ["start b"]);
    t.s.onReady("b");
    assert.equal(t.s.view("b")!.inFlight, 0, "the placeholder is never in flight");
  });

  test("catalog change: new models appear, changed running ones restart, gone ones are stopped and forgotten", () => {
    const t = setup(["keep", "change", "gone", "idle-gone"], { modelsMax: 0 });
    warm(t, "keep");
    warm(t, "change");
    warm(t, "gone");
    t.s.onRequest("busy", "gone");
    t.take();
    t.s.onCatalogChange([{ id: "keep" }, { id: "change" }, { id: "new" }], new Set(["change"]));
    assert.deepEqual(t.take(), ["stop change", "stop gone"], "a gone model is stopped even while serving; keep is left alone");
    assert.equal(t.s.view("idle-gone"), undefined, "an unloaded model that is gone is forgotten at once");
    assert.equal(t.s.view("new")!.state, "unloaded");
    assert.equal(t.s.view("keep")!.state, "loaded");
    assert.equal(t.s.view("gone")!.state, "stopping");
    t.s.onExit("gone", exit(0, ""));
    assert.equal(t.s.view("gone"), undefined, "forgotten once its process is gone");
    t.s.onServeDone("busy"); // its response finished after all: nothing breaks
    t.s.onRequest("r1", "gone");
    assert.deepEqual(t.take(), ["fail r1 unknown-model"]);
    // a request for the restarting model waits for the old process, then starts the new one
    t.s.onRequest("r2", "change");
    assert.deepEqual(t.take(), []);
    t.s.onExit("change", exit(0, ""));
    assert.deepEqual(t.take(), ["start change"]);
  });

  test("catalog change: requests queued for a model that is gone fail as gone (404 at the edge)", () => {
    const t = setup(["a", "b"], { modelsMax: 1 });
    warm(t, "a");
    t.s.onRequest("busy", "a");
    t.s.onRequest("q1", "b");
    t.take();
    t.s.onCatalogChange([{ id: "a" }], new Set());
    assert.deepEqual(t.take(), ["fail q1 gone"]);
  });

  const GB = 1e9;
  const sized = (id: string, ram: number, extra: Partial<ModelConfig> = {}): ModelConfig => ({ id, memory: { ram: ram * GB, vram: 0 }, ...extra });

  test("memory: a model that fits is started beside the others", () => {
    const t = setup([sized("a", 4), sized("b", 4)], { modelsMax: 0, memoryBudget: { ram: 10 * GB } });
    warm(t, "a");
    t.s.onRequest("r1", "b");
    assert.deepEqual(t.take(), ["start b"]);
  });

  test("memory: idle models are evicted, least recently used first, until the estimate fits", () => {
    const t = setup([sized("a", 3), sized("b", 3), sized("c", 3), sized("big", 7)], { modelsMax: 0, memoryBudget: { ram: 10 * GB } });
    warm(t, "a");
    t.advance(10);
    warm(t, "b");
    t.advance(10);
    warm(t, "c");
    t.s.onRequest("r1", "big");
    assert.deepEqual(t.take(), ["stop a (memory)", "stop b (memory)"], "two must go: 9 GB used, 7 GB needed, 10 GB budget");
    t.s.onExit("a", exit(0, ""));
    assert.deepEqual(t.take(), [], "one stop is not enough room yet");
    t.s.onExit("b", exit(0, ""));
    assert.deepEqual(t.take(), ["start big"]);
    t.s.onReady("big");
    assert.deepEqual(t.take(), ["grant r1 big"]);
    assert.equal(t.s.view("c")!.state, "loaded", "c was not evicted: it was not needed");
  });

  test("memory: a model larger than the whole budget fails at once, and nothing is evicted for it", () => {
    const t = setup([sized("a", 3), sized("huge", 12)], { modelsMax: 0, memoryBudget: { ram: 10 * GB } });
    warm(t, "a");
    t.s.onRequest("r1", "huge");
    assert.deepEqual(t.take(), ["fail r1 too-big"]);
    assert.match(t.failures.get("r1")!.message, /memory estimate \(11\.2 GiB RAM\) is larger than the models' budget \(9\.3 GiB RAM\)/);
    assert.equal(t.s.onLoadRequest("huge") !== "ok", true);
    assert.deepEqual(t.take(), []);
  });

  test("memory: busy models are waited for, pinned ones block for good with a clear error", () => {
    const t = setup([sized("p", 6, { pinned: true }), sized("busy", 3), sized("x", 5), sized("y", 3)], { modelsMax: 0, memoryBudget: { ram: 10 * GB } });
    warm(t, "p");
    t.s.onRequest("b1", "busy");
    t.s.onReady("busy");
    t.take();
    t.s.onRequest("r1", "x");
    assert.deepEqual(t.take(), ["fail r1 pinned-memory"], "6 GB pinned + 5 GB needed > 10 GB: never");
    t.s.onRequest("r2", "y");
    assert.deepEqual(t.take(), [], "busy holds 3 GB until its request ends");
    t.s.onServeDone("b1");
    assert.deepEqual(t.take(), ["stop busy (memory)"]);
    t.s.onExit("busy", exit(0, ""));
    assert.deepEqual(t.take(), ["start y"]);
  });

  test("memory and --models-max both apply: a free slot is not enough without the memory, and the reverse", () => {
    const t = setup([sized("a", 2), sized("b", 4), sized("c", 5)], { modelsMax: 3, memoryBudget: { ram: 10 * GB } });
    warm(t, "a");
    t.advance(10);
    warm(t, "b");
    t.s.onRequest("r1", "c");
    assert.deepEqual(t.take(), ["stop a (memory)"], "a slot is free, 1 GB is missing: the LRU model goes for memory");
    t.s.onExit("a", exit(0, ""));
    assert.deepEqual(t.take(), ["start c"]);
    const u = setup([sized("a", 1), sized("b", 1), sized("c", 1)], { modelsMax: 2, memoryBudget: { ram: 10 * GB } });
    warm(u, "a");
    u.advance(10);
    warm(u, "b");
    u.s.onRequest("r1", "c");
    assert.deepEqual(u.take(), ["stop a"], "memory to spare, no slot: an LRU eviction");
  });

  test("a model with no estimate counts as nothing, and one given later counts from then on", () => {
    const t = setup([sized("a", 8), "b"], { modelsMax: 0, memoryBudget: { ram: 10 * GB } });
    warm(t, "a");
    t.s.onRequest("r1", "b");
    assert.deepEqual(t.take(), ["start b"]);
    t.s.onMemoryEstimate("b", { ram: 4 * GB, vram: 0 });
    t.s.onReady("b");
    t.take();
    t.s.onServeDone("r1");
    t.s.onUnloadRequest("a");
    t.s.onExit("a", exit(0, ""));
    t.take();
    t.s.onRequest("r2", "a");
    assert.deepEqual(t.take(), ["stop b (memory)"]);
  });

  test("back-off: failed loads in a row double the cool-down (5 s, 10 s, 20 s), up to 5 minutes; a load resets it", () => {
    const t = setup(["a"], { cooldownMs: 5000 });
    const coolFor: number[] = [];
    for (let i = 0; i < 8; i++) {
      t.s.onRequest(`r${i}`, "a");
      t.s.onExit("a", exit(1, "bad file", "error"));
      coolFor.push(t.s.coolingFor("a"));
      t.advance(t.s.coolingFor("a"));
    }
    assert.deepEqual(coolFor, [5000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
    t.s.onRequest("ok", "a");
    t.s.onReady("a");
    t.s.onServeDone("ok");
    t.s.onUnloadRequest("a");
    t.s.onExit("a", exit(0, ""));
    t.s.onRequest("again", "a");
    t.s.onExit("a", exit(1, "bad file", "error"));
    assert.equal(t.s.coolingFor("a"), 5000, "a successful load starts the back-off over");
  });

  test("healing: a load killed by a signal starts again at once, and its waiters wait for the new load", () => {
    const t = setup(["a"]);
    t.s.onRequest("r1", "a");
    t.s.onRequest("r2", "a");
    assert.deepEqual(t.take(), ["start a"]);
    t.s.onExit("a", exit(137, "killed by SIGKILL", "signal"));
    assert.deepEqual(t.take(), ["start a"], "no cool-down, no failed request");
    assert.equal(t.s.coolingFor("a"), 0);
    t.s.onReady("a");
    assert.deepEqual(t.take(), ["grant r1 a", "grant r2 a"]);
    t.s.onExit("a", exit(139, "killed by SIGSEGV", "signal"));
    t.s.onRequest("r3", "a");
    assert.deepEqual(t.take(), ["start a"], "a crash while serving: the next request loads it again");
  });

  test("healing: a crash loop (5 crashes in a minute) gets the back-off", () => {
    const t = setup(["a"], { cooldownMs: 5000 });
    for (let i = 0; i < 4; i++) {
      warm(t, "a");
      t.s.onExit("a", exit(139, "killed by SIGSEGV", "signal"));
      t.advance(1000);
    }
    assert.equal(t.s.coolingFor("a"), 0, "4 crashes: not yet a loop");
    warm(t, "a");
    t.s.onExit("a", exit(139, "killed by SIGSEGV", "signal"));
    assert.equal(t.s.coolingFor("a"), 5000);
    t.s.onRequest("r1", "a");
    assert.deepEqual(t.take(), ["fail r1 cooling-down"]);
    assert.match(t.failures.get("r1")!.message, /5 crashes in 60 s/);
    const k = setup(["a"], { cooldownMs: 5000 });
    for (let i = 0; i < 10; i++) {
      warm(k, "a");
      k.s.onExit("a", exit(137, "killed by SIGKILL", "killed"));
    }
    assert.equal(k.s.coolingFor("a"), 0, "kills from outside are never held against the model");
  });

  test("out of memory while loading: every idle model is unloaded, the load is tried once more, then it cools down", () => {
    const t = setup([sized("a", 2), sized("b", 2), sized("c", 4)], { modelsMax: 0, memoryBudget: { ram: 10 * GB } });
    warm(t, "a");
    warm(t, "b");
    t.s.onRequest("r1", "c");
    assert.deepEqual(t.take(), ["start c"]);
    t.s.onExit("c", exit(137, "killed by SIGKILL", "oom"));
    assert.deepEqual(t.take().sort(), ["stop a (memory)", "stop b (memory)"]);
    t.s.onExit("a", exit(0, ""));
    assert.deepEqual(t.take(), []);
    t.s.onExit("b", exit(0, ""));
    assert.deepEqual(t.take(), ["start c"], "retried once the others are gone; r1 still waits");
    t.s.onExit("c", exit(137, "killed by SIGKILL", "oom"));
    assert.deepEqual(t.take(), ["fail r1 load-failed"], "out of memory again: no second retry");
    assert.ok(t.s.coolingFor("c") > 0);
  });

  test("models-max 0 means unlimited", () => {
    const t = setup(["a", "b", "c"], { modelsMax: 0 });
    for (const m of ["a", "b", "c"]) t.s.onRequest(`r${m}`, m);
    assert.deepEqual(t.take(), ["start a", "start b", "start c"]);
  });
});

test("health probes: only a probe that got no answer in time is a wedge", async () => {
  assert.equal(verdictOf(200), "alive");
  assert.equal(verdictOf(503), "alive", "loading or asleep, but answering");
  assert.equal(verdictOf("ECONNREFUSED"), "unreachable", "gone: its exit is on its way");
  assert.equal(verdictOf("timeout"), "wedged");
  const answers: ProbeResult[] = [200, 503, "ECONNREFUSED", "timeout", 200];
  const wedged: string[] = [];
  let probes = 0;
  const w = new HealthWatch({ sleep: () => Promise.resolve() });
  w.watch("m", {
    everyMs: 1, timeoutMs: 30_000,
    probe: async () => answers[probes++]!,
    onFailed: (why) => wedged.push(`m: ${why}`),
  });
  for (let i = 0; i < 20 && wedged.length === 0; i++) await new Promise((done) => setImmediate(done));
  assert.deepEqual(wedged, ["m: not answering: its health check got no answer within 30 s; the process was killed"]);
  assert.equal(probes, 4, "the watch ends with the wedge");
  const quiet = new HealthWatch({ sleep: () => Promise.resolve() });
  quiet.watch("x", { everyMs: 1, timeoutMs: 1000, probe: async () => "timeout", onFailed: () => wedged.push("x") });
  quiet.unwatch("x");
  for (let i = 0; i < 5; i++) await new Promise((done) => setImmediate(done));
  assert.equal(wedged.length, 1, "an unwatched model (its process stopped) is not reported");
});

test("eviction policy: least recently used, ties by id", () => {
  assert.equal(pickVictim([]), undefined);
  assert.equal(pickVictim([{ id: "b", lastUsed: 5 }, { id: "a", lastUsed: 9 }]), "b");
  assert.equal(pickVictim([{ id: "b", lastUsed: 5 }, { id: "a", lastUsed: 5 }]), "a");
});

test("randomised: invariants hold and every request ends, over 20 seeded runs of 400 events", () => {
  for (let seed = 1; seed <= 20; seed++) {
    let x = seed * 2654435761;
    const rnd = (n: number) => {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      return x % n;
    };
    let now = 0;
    const models = ["a", "b", "c", "d"];
    const running = new Set<string>(); // processes, as the supervisor would see them
    const pending: Array<{ at: number; run: () => void }> = [];
    const outcome = new Map<string, string>();
    const granted = new Set<string>();
    let s!: Scheduler;
    s = new Scheduler(
      { modelsMax: 2, queueMax: 50, cooldownMs: 50, now: () => now },
      {
        start: (m) => {
          assert.ok(!running.has(m), `seed ${seed}: second process for ${m}`);
          running.add(m);
          const fails = rnd(10) === 0;
          pending.push({ at: now + 1 + rnd(5), run: () => (fails ? (running.delete(m), s.onExit(m, exit(1, "boom"))) : s.onReady(m)) });
        },
        stop: (m) => {
          assert.equal(s.view(m)!.inFlight, 0, `seed ${seed}: ${m} stopped while serving`);
          pending.push({ at: now + 1 + rnd(3), run: () => (running.delete(m), s.onExit(m, exit(0, ""))) });
        },
        grant: (r) => {
          assert.ok(!outcome.has(r), `seed ${seed}: ${r} ended twice`);
          outcome.set(r, "granted");
          granted.add(r);
          pending.push({ at: now + 1 + rnd(8), run: () => (granted.delete(r), s.onServeDone(r)) });
        },
        fail: (r, why) => {
          assert.ok(!outcome.has(r), `seed ${seed}: ${r} ended twice`);
          outcome.set(r, `failed ${why.kind}`);
        },
      },
      models.map((id) => ({ id })),
    );
    const issued: string[] = [];
    const check = () => {
      const active = models.filter((m) => s.view(m)!.state !== "unloaded").length;
      assert.ok(active <= 2, `seed ${seed}: ${active} models active`);
    };
    for (let step = 0; step < 400 || pending.length > 0; step++) {
      now++;
      if (step < 400 && rnd(3) === 0) {
        const id = `r${step}`;
        issued.push(id);
        s.onRequest(id, models[rnd(models.length)]!);
      }
      if (step < 400 && rnd(25) === 0 && issued.length > 0) s.onCancel(issued[rnd(issued.length)]!);
      for (const p of pending.filter((q) => q.at <= now)) {
        pending.splice(pending.indexOf(p), 1);
        p.run();
      }
      check();
      assert.ok(step < 5000, `seed ${seed}: did not drain`);
    }
    // Every request ended (granted, failed, or cancelled before a grant and never granted afterwards).
    assert.equal(s.queued, 0, `seed ${seed}: requests left in the queue`);
    for (const m of models) assert.equal(s.view(m)!.waiting, 0, `seed ${seed}: waiters left on ${m}`);
    assert.ok([...outcome.values()].filter((o) => o === "granted").length > 50, `seed ${seed}: too few grants to mean anything`);
  }
});
