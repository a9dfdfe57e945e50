// The Router as a thin layer, against a fake process runner and a fake engine: scheduler effects reach the model
// instances, process news reach the scheduler, every end of a load is reported once, and what the router refuses
// comes out as values (Refused) for the HTTP edge to word. End-to-end behaviour with real processes is in the other
// router tests.
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { buildCatalog, type Catalog } from "../../src/catalog/catalog.js";
import { parsePresets } from "../../src/catalog/presets.js";
import type { EngineModule } from "../../src/engines/launch.js";
import type { LaunchPlan, ReadyInfo } from "../../src/engines/types.js";
import type { ModelEvent } from "../../src/router/model-events.js";
import { Refused, type RouterError } from "../../src/router/refusal.js";
import { Router, type Processes, type RouterOptions } from "../../src/router/router.js";
import type { Lease } from "../../src/router/serve.js";
import type { ProcessEnd, SupervisorEvents } from "../../src/router/supervisor.js";
import { createLogger } from "../../src/util/log.js";

/** Records what the router asks of its processes; the test plays the processes' part through `events`. */
class FakeProcesses implements Processes {
  readonly calls: string[] = [];
  private readonly running = new Map<string, ReadyInfo | undefined>();
  constructor(readonly events: SupervisorEvents) {}
  start(id: string, plan: LaunchPlan): void {
    this.calls.push(`start ${id} ${plan.spawn?.args.join(" ") ?? ""}`.trim());
    this.running.set(id, undefined);
  }
  stop(id: string): void {
    this.calls.push(`stop ${id}`);
  }
  has(id: string): boolean {
    return this.running.has(id);
  }
  info(id: string): ReadyInfo | undefined {
    return this.running.get(id);
  }
  outputTail(): string[] {
    return [];
  }
  async stopAll(): Promise<void> {}
  killAll(): void {}
  enableSpare(): void {}
  ready(id: string): void {
    const info: ReadyInfo = { pid: 4242, target: { origin: "http://127.0.0.1:9" }, facts: { n_ctx: 64 } };
    this.running.set(id, info);
    this.events.ready(id, info);
  }
  exit(id: string, end: Partial<ProcessEnd> = {}): void {
    this.running.delete(id);
    this.events.exit(id, { code: 0, signal: null, stopped: true, reason: "", ...end });
  }
}

/** An engine whose plans are made when the test says so (a port being found, say). */
function fakeEngine() {
  const waiting: Array<{ id: string; args: string[]; resolve(plan: LaunchPlan): void; reject(err: Error): void }> = [];
  const engine: EngineModule = {
    name: "cmd",
    dialects: new Set(["openai"]),
    unservedPaths: new Set(),
    program: () => "fake-server",
    args: (spec) => ["--serve", ...(spec.cmd ?? "").split(" ").slice(1)],
    plan: ({ spec, args }) => new Promise((resolve, reject) => waiting.push({ id: spec.id, args, resolve, reject })),
  };
  const plan = (args: string[]): LaunchPlan => ({
    engine: "cmd", spawn: { command: "fake-server", args, env: {} }, readiness: { kind: "health", url: "http://127.0.0.1:9/health" },
    target: { origin: "http://127.0.0.1:9" }, stop: { kind: "signal", signal: "SIGTERM" }, stopTimeoutS: 1,
  });
  return {
    engine,
    /** Makes the oldest plan asked for (or fails it). */
    give(fail?: string): string {
      const w = waiting.shift();
      assert.ok(w, "a plan was asked for");
      if (fail) w.reject(new Error(fail));
      else w.resolve(plan(w.args));
      return w.id;
    },
    get asked(): number {
      return waiting.length;
    },
  };
}

const routers: Router[] = [];
afterEach(async () => {
  for (const r of routers.splice(0)) await r.stopAll();
});

function catalogOf(ini: string): Catalog {
  return buildCatalog({ discovered: [], presets: parsePresets(ini, "test.ini"), cliOptions: {} });
}

function setup(ini: string, opts: Partial<RouterOptions> = {}) {
  let source = ini;
  let fakes!: FakeProcesses;
  const plans = fakeEngine();
  const router = new Router({
    modelsMax: 1, queueMax: 10, cooldownMs: 1000, loadTimeoutMs: 10_000, childEntry: "", childExecArgv: [],
    programName: "corral", passthrough: [], spare: false, healthTimeoutMs: 10_000,
    log: createLogger({ format: "text", verbose: false, disable: true }),
    readCatalog: () => catalogOf(source),
    ...opts,
  }, {
    processes: (events) => (fakes = new FakeProcesses(events)),
    engines: { cmd: plans.engine },
  });
  routers.push(router);
  const events: ModelEvent[] = [];
  router.events.subscribe((e) => events.push(e));
  router.start(0);
  return {
    router, fakes, plans, events,
    setCatalog(ini2: string) {
      source = ini2;
    },
    /** The status changes of one model, as /models/sse shows them. */
    statuses(model: string): string[] {
      return events.filter((e) => e.model === model).map((e) => e.data.status);
    },
  };
}

const TWO = "[a]\ncmd = fake-server a\n\n[b]\ncmd = fake-server b\n";
const tick = () => new Promise<void>((r) => setImmediate(r));
const never = () => () => {};

async function refusal(p: Promise<unknown> | (() => unknown)): Promise<RouterError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (err) {
    assert.ok(err instanceof Refused, `a Refused, not ${String(err)}`);
    return err.why;
  }
  assert.fail("expected a refusal");
}

function stateOf(router: Router, id: string): string | undefined {
  return router.inspect(id)?.view.state;
}

describe("Router: a request's lease", () => {
  test("the first request starts the model; it is granted once the process is ready, and released", async () => {
    const t = setup(TWO);
    const lease = t.router.acquire("a", true, never);
    await tick();
    assert.equal(t.plans.give(), "a");
    await tick();
    assert.deepEqual(t.fakes.calls, ["start a --serve a"]);
    assert.equal(stateOf(t.router, "a"), "loading");
    t.fakes.ready("a");
    const l: Lease = await lease;
    assert.equal(l.model, "a");
    assert.equal(t.router.inspect("a")!.view.inFlight, 1);
    l.release();
    l.release();
    assert.equal(t.router.inspect("a")!.view.inFlight, 0, "a release is counted once");
    assert.deepEqual(t.statuses("a"), ["loading", "loaded"]);
    const entry = t.router.list().find((e) => e.id === "a") as { status: { value: string }; pid?: number; n_ctx?: number };
    assert.equal(entry.status.value, "loaded");
    assert.equal(entry.pid, 4242);
    assert.equal(entry.n_ctx, 64);
  });

  test("a client that goes away while waiting is refused as gone, and counts no more as waiting", async () => {
    const t = setup(TWO);
    let cancel!: () => void;
    const lease = t.router.acquire("a", true, (c) => ((cancel = c), () => {}));
    await tick();
    assert.equal(t.router.inspect("a")!.view.waiting, 1);
    cancel();
    assert.deepEqual(await refusal(lease), { kind: "client-gone", model: "a" });
    assert.equal(t.router.inspect("a")!.view.waiting, 0);
  });

  test("autoload off: a model not running is refused with a reason, and nothing starts", async () => {
    const t = setup(TWO);
    assert.deepEqual(await refusal(t.router.acquire("a", false, never)), { kind: "not-loaded", model: "a" });
    assert.equal(t.plans.asked, 0);
  });
});

describe("Router: one exit path", () => {
  test("a crash is reported once, with the reason; the next request loads the model again", async () => {
    const t = setup(TWO);
    const first = t.router.acquire("a", true, never);
    await tick();
    t.plans.give();
    await tick();
    t.fakes.ready("a");
    (await first).release();
    t.fakes.exit("a", { code: 139, signal: "SIGSEGV", stopped: false, reason: "killed by SIGSEGV" });
    const unloaded = t.events.filter((e) => e.model === "a" && e.data.status === "unloaded");
    assert.equal(unloaded.length, 1);
    assert.deepEqual(unloaded[0]!.data, { status: "unloaded", error: "killed by SIGSEGV", exit_code: 139, crashed: true });
    assert.equal(stateOf(t.router, "a"), "unloaded");
    const again = t.router.acquire("a", true, never);
    await tick();
    t.plans.give();
    await tick();
    t.fakes.ready("a");
    (await again).release();
    assert.deepEqual(t.fakes.calls, ["start a --serve a", "start a --serve a"]);
  });

  test("an unload while the plan is being made ends the load at once; the late plan starts nothing", async () => {
    const t = setup(TWO);
    await t.router.load("a", false);
    assert.equal(t.plans.asked, 1);
    t.router.unload("a");
    await tick();
    assert.equal(stateOf(t.router, "a"), "unloaded");
    t.plans.give();
    await tick();
    assert.deepEqual(t.fakes.calls, [], "no process for a plan made after the unload");
    assert.deepEqual(t.statuses("a"), ["loading", "unloading", "unloaded"]);
  });

  test("a plan that cannot be made fails the load and its waiters, with the engine's reason", async () => {
    const t = setup(TWO);
    const lease = t.router.acquire("a", true, never);
    await tick();
    t.plans.give("no free port");
    const why = await refusal(lease);
    assert.equal(why.kind, "load-failed");
    assert.match((why as { reason: string }).reason, /cannot start: no free port/);
    assert.equal(t.statuses("a").filter((s) => s === "unloaded").length, 1);
  });

  test("a preset whose file is not cached fails its load (offline) without any process", async () => {
    const t = setup("[h]\nhf-repo = nobody/missing-GGUF\nengine = node\n", { offline: true });
    const why = await refusal(t.router.acquire("h", true, never));
    assert.equal(why.kind, "load-failed");
    assert.match((why as { reason: string }).reason, /--offline: not downloaded/);
    assert.deepEqual(t.fakes.calls, []);
  });

  test("a stopped process is no failure: no error, no cool-down", async () => {
    const t = setup(TWO);
    await t.router.load("a", false);
    t.plans.give();
    await tick();
    t.fakes.ready("a");
    t.router.unload("a");
    assert.deepEqual(t.fakes.calls, ["start a --serve a", "stop a"]);
    t.fakes.exit("a");
    assert.deepEqual(t.events.filter((e) => e.model === "a").at(-1)!.data, { status: "unloaded" });
    await t.router.load("a", false);
    assert.equal(stateOf(t.router, "a"), "loading", "loads again at once");
  });
});

describe("Router: refusals are values", () => {
  test("unknown names, loads of running models, unloads of idle ones", async () => {
    const t = setup(TWO);
    const unknown = await refusal(t.router.load("alpha", false));
    assert.equal(unknown.kind, "unknown-model");
    assert.match(new Refused(unknown).message, /model 'alpha' not found; available: 'a', 'b'/);
    assert.deepEqual(await refusal(() => t.router.unload("a")), { kind: "not-running", model: "a" });
    await t.router.load("a", false);
    assert.deepEqual(await refusal(t.router.load("a", false)), { kind: "already-running", model: "a" });
    assert.equal((await refusal(() => t.router.pin("zz", true))).kind, "unknown-model");
  });

  test("a load waited for that ends without the model loaded says why", async () => {
    const t = setup(TWO);
    const loading = t.router.load("a", true);
    await tick();
    t.plans.give();
    await tick();
    t.fakes.exit("a", { code: 1, stopped: false, reason: "error loading model: bad magic" });
    assert.deepEqual(await refusal(loading), { kind: "load-ended", model: "a", reason: "error loading model: bad magic" });
  });

  test("a reload that cannot read its sources keeps the previous models", async () => {
    const t = setup(TWO);
    t.setCatalog("[a]\nthis is not ini\n");
    const why = await refusal(() => t.router.reload());
    assert.equal(why.kind, "reload-failed");
    assert.deepEqual(t.router.catalog.models.map((m) => m.id), ["a", "b"]);
  });
});

describe("Router: reloads", () => {
  test("a changed model is restarted; a removed one is stopped and forgotten once its process is gone", async () => {
    const t = setup(TWO, { modelsMax: 2 });
    await t.router.load("a", false);
    await t.router.load("b", false);
    t.plans.give();
    t.plans.give();
    await tick();
    t.fakes.ready("a");
    t.fakes.ready("b");
    t.setCatalog("[a]\ncmd = fake-server a --changed\n");
    t.router.reload();
    assert.deepEqual(t.fakes.calls.slice(2).sort(), ["stop a", "stop b"]);
    assert.equal(t.router.resolve("b"), undefined);
    assert.ok(t.router.inspect("b"), "b is still known while its process runs");
    t.fakes.exit("b");
    assert.equal(t.router.inspect("b"), undefined, "forgotten once its process is gone");
    t.fakes.exit("a");
    assert.equal(stateOf(t.router, "a"), "unloaded");
    assert.deepEqual(t.router.inspect("a")!.args, ["--serve", "a", "--changed"], "the new arguments");
  });
});
