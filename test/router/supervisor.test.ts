// The supervisor against fake model processes: tiny scripts that speak each readiness protocol (the node engine's
// IPC messages, llama.cpp's state lines on stdout, a health path) and misbehave on request, so that readiness,
// progress, stopping, timeouts and exit reasons are checked in milliseconds, with no model and no engine binary.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { EXIT_COMMAND, stateLineReadiness } from "../../src/engines/llama-server/state-lines.js";
import { ipcReadiness, SPARE_ENV } from "../../src/engines/node/protocol.js";
import type { LaunchPlan, ReadyInfo } from "../../src/engines/types.js";
import { explainExit, Supervisor, type SupervisorOptions } from "../../src/router/supervisor.js";
import { freePort } from "../../src/util/free-port.js";
import { startFakeOpenAI } from "../fixtures/fake-openai-server.js";
import { emptyDir, isAlive, waitFor } from "../helpers/router.js";

const dir = emptyDir("corral-supervisor-");
function script(name: string, body: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, body);
  return file;
}

// A node-engine child: `listening`, progress, `ready` over IPC (or `failed`); as a spare it waits for `run`.
const IPC = script("ipc.cjs", `
const go = (argv) => {
  const mode = argv[0] || "ok";
  console.log("ipc child " + process.pid + " runs " + argv.join(" "));
  if (mode === "fail") {
    console.log("error: a line that is not the child's own account");
    process.send({ type: "failed", error: "cannot load model: bad magic" });
    setTimeout(() => process.exit(1), 20);
    return;
  }
  process.send(mode === "socket"
    ? { type: "listening", port: 0, host: "", socketPath: "/tmp/corral-test.sock" }
    : { type: "listening", port: 4321, host: "127.0.0.1" });
  process.send({ type: "progress", value: 0.25 });
  process.send({ type: "bogus" });
  process.send({ type: "progress", value: "half" });
  process.send({ type: "progress", value: 0.75 });
  if (mode !== "hang") process.send({ type: "ready", info: { n_ctx: 512, n_params: 42 } });
};
process.on("SIGTERM", () => { console.log("ipc child: SIGTERM"); process.exit(0); });
if (process.env.CORRAL_SPARE) {
  console.log("spare " + process.pid + " waiting");
  process.on("message", (m) => { if (m && m.type === "run") go(m.argv); });
} else go(process.argv.slice(2));
setInterval(() => {}, 1e6);
`);

// A llama-server child: state lines on stdout, stops on the exit command or on stdin EOF.
const STATE = script("state.cjs", `
const mode = process.argv[2] || "ok";
const state = (s, p) => console.log("cmd_child_to_router:state:" + JSON.stringify({ state: s, payload: p }));
console.log("llama child starting");
state("loading", { stages: ["text_model"], current: "text_model", value: 0.5 });
state("loading", { stages: ["text_model", "mmproj"], current: "mmproj", value: 0.5 });
console.log("cmd_child_to_router:state:{not json");
if (mode !== "hang") state("ready", { id: "m", meta: { n_ctx: 512 } });
let buf = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d) => {
  buf += d;
  if (buf.includes(${JSON.stringify(EXIT_COMMAND + "\n")})) {
    console.log("got exit command");
    if (mode !== "stubborn") process.exit(0);
  }
});
process.stdin.on("end", () => { console.log("stdin closed"); process.exit(0); });
if (mode === "stubborn") process.on("SIGTERM", () => console.log("ignoring SIGTERM"));
setInterval(() => {}, 1e6);
`);

// A cmd child: an HTTP server whose /health answers 503 until its delay has passed; it starts a grandchild, so
// that a stop must reach the whole process group.
const HEALTH = script("health.cjs", `
const http = require("http");
const { spawn } = require("child_process");
const [port, delay, mode] = [Number(process.argv[2]), Number(process.argv[3] || 0), process.argv[4] || "ok"];
const started = Date.now();
const kid = spawn(process.execPath, ["-e", "setInterval(() => {}, 1e6)"], { stdio: "ignore" });
if (mode === "ignore-term") process.on("SIGTERM", () => console.log("ignoring SIGTERM"));
else process.on("SIGTERM", () => { console.log("got SIGTERM"); process.exit(0); });
// only after the handlers: a test that stops the process on seeing this line must find them installed
console.log("grandchild " + kid.pid);
http.createServer((req, res) => {
  const ok = mode !== "never" && Date.now() - started >= delay;
  res.writeHead(ok ? 200 : 503);
  res.end();
}).listen(port, "127.0.0.1");
`);

// Says a lot, then fails the way llama.cpp does: the real cause, then a few lines of context.
const FAILS = script("fails.cjs", `
for (let i = 0; i < 30; i++) console.log("loading tensor " + i);
console.error("llama_model_load: error loading model: failed to open model.gguf");
console.log("context line 1");
console.log("context line 2");
process.exitCode = 1;
`);

// The same after a burst of output, as llama.cpp prints hundreds of lines of loading info before failing.
const FAILS_LOUDLY = script("fails-loudly.cjs", `
for (let i = 0; i < 3000; i++) console.error("loading tensor " + i + " " + "x".repeat(80));
console.error("llama_model_load: error loading model: failed to open model.gguf");
process.exitCode = 1;
`);

// Scripts that print much end with exitCode, not process.exit(): a Node process that calls exit() with writes to a
// pipe still pending loses them, and the test would blame the supervisor.
const CHATTY = script("chatty.cjs", `
for (let i = 0; i < 2000; i++) console.log(String(i).padStart(5, "0") + " " + "x".repeat(94));
`);

interface Exit {
  code: number | null;
  reason: string;
}

function harness(opts: Partial<SupervisorOptions> = {}) {
  const progress: Array<[string, number]> = [];
  const ready = new Map<string, ReadyInfo>();
  const exits = new Map<string, Exit>();
  const output: Array<[string, string]> = [];
  const sup = new Supervisor({ loadTimeoutMs: 10_000, ...opts }, {
    progress: (id, v) => progress.push([id, v]),
    ready: (id, info) => ready.set(id, info),
    exit: (id, end) => exits.set(id, { code: end.code, reason: end.reason }),
    output: (id, line) => output.push([id, line]),
  });
  supervisors.push(sup);
  return {
    sup, progress, output,
    ready: (id: string) => waitFor(`${id} ready`, () => ready.get(id), 10_000),
    exit: (id: string) => waitFor(`${id} exit`, () => exits.get(id), 10_000),
    exited: (id: string) => exits.get(id),
  };
}

const supervisors: Supervisor[] = [];
// whatever a failed assertion left running
after(async () => {
  for (const s of supervisors) s.killAll();
});

const nodePlan = (args: string[] = []): LaunchPlan => ({
  engine: "node",
  spawn: { command: IPC, args, env: process.env, fork: { execArgv: [] } },
  readiness: ipcReadiness,
  stop: { kind: "signal", signal: "SIGTERM" },
  stopTimeoutS: 5,
});

const statePlan = (mode: string, stop: LaunchPlan["stop"] = { kind: "stdin", line: EXIT_COMMAND }, stopTimeoutS = 5): LaunchPlan => ({
  engine: "llama-server",
  spawn: { command: process.execPath, args: [STATE, mode], env: process.env, stdinPipe: true },
  readiness: stateLineReadiness({ origin: "http://127.0.0.1:5555" }),
  target: { origin: "http://127.0.0.1:5555" },
  stop,
  stopTimeoutS,
});

async function cmdPlan(delayMs: number, mode = "ok", stopTimeoutS = 5): Promise<LaunchPlan> {
  const port = await freePort();
  return {
    engine: "cmd",
    spawn: { command: process.execPath, args: [HEALTH, String(port), String(delayMs), mode], env: process.env, processGroup: true },
    readiness: { kind: "health", url: `http://127.0.0.1:${port}/health` },
    target: { origin: `http://127.0.0.1:${port}` },
    stop: { kind: "signal", signal: "SIGTERM" },
    stopTimeoutS,
    gracefulWhileLoading: true,
  };
}

const remotePlan = (url: string): LaunchPlan => ({
  engine: "remote",
  readiness: { kind: "health", url: `${url}/health` },
  target: { origin: url, apiKey: "k" },
  stop: { kind: "signal", signal: "SIGTERM" },
  stopTimeoutS: 0,
});

const lineOf = (lines: string[], prefix: string) => lines.find((l) => l.startsWith(prefix));

describe("Supervisor: node engine (IPC)", () => {
  test("ready with the target from `listening` and the facts from `ready`; progress values; a stop is clean", async () => {
    const h = harness();
    h.sup.start("a", nodePlan(["ok", "--flag"]));
    assert.throws(() => h.sup.start("a", nodePlan()), /model 'a' already has a process/);
    const info = await h.ready("a");
    assert.deepEqual(info.target, { origin: "http://127.0.0.1:4321" });
    assert.deepEqual(info.facts, { n_ctx: 512, n_params: 42 });
    assert.equal(info.pid, h.sup.pid("a"));
    assert.ok(info.pid && isAlive(info.pid));
    assert.deepEqual(h.sup.info("a"), info);
    assert.ok(h.sup.has("a"));
    assert.deepEqual(h.progress, [["a", 0.25], ["a", 0.75]], "malformed messages are ignored");
    assert.match(lineOf(h.sup.outputTail("a"), "ipc child") ?? "", /runs ok --flag$/);

    h.sup.stop("a");
    const exit = await h.exit("a");
    assert.deepEqual(exit, { code: 0, reason: "" }, "a stop asked for is no failure");
    assert.ok(!h.sup.has("a"));
    assert.equal(h.sup.info("a"), undefined);
    assert.ok(h.sup.outputTail("a").includes("ipc child: SIGTERM"), "the output of a process that is gone is kept");
  });

  test("`listening` on a Unix socket makes a socket target", async () => {
    const h = harness();
    h.sup.start("s", nodePlan(["socket"]));
    assert.deepEqual((await h.ready("s")).target, { origin: "http://localhost", socketPath: "/tmp/corral-test.sock" });
    await h.sup.stopAll();
  });

  test("a `failed` message is the exit reason, before any error line of the output", async () => {
    const h = harness();
    h.sup.start("f", nodePlan(["fail"]));
    assert.deepEqual(await h.exit("f"), { code: 1, reason: "cannot load model: bad magic" });
  });

  test("a child stopped while loading is killed at once (it would read no stop until its load is over)", async () => {
    const h = harness();
    h.sup.start("h", nodePlan(["hang"]));
    await waitFor("progress", () => h.progress.length === 2);
    const t0 = Date.now();
    h.sup.stop("h");
    assert.deepEqual(await h.exit("h"), { code: 137, reason: "" });
    assert.ok(Date.now() - t0 < 2000);
    assert.ok(!h.sup.outputTail("h").includes("ipc child: SIGTERM"), "SIGKILL, not the graceful signal");
  });

  test("a warm spare is given the model's arguments instead of a new process, and is replaced", async () => {
    const h = harness();
    const spare = nodePlan();
    h.sup.enableSpare({ ...spare, spawn: { ...spare.spawn!, env: { ...process.env, [SPARE_ENV]: "1" } } });
    const spareLine = await waitFor("spare up", () => h.output.find(([id, l]) => id === "spare" && l.startsWith("spare ")));
    const sparePid = Number(/spare (\d+) waiting/.exec(spareLine[1])![1]);
    h.sup.start("m", { ...nodePlan(["ok", "--model", "m.gguf"]), spareRun: { type: "run", argv: ["ok", "--model", "m.gguf"] } });
    const info = await h.ready("m");
    assert.equal(info.pid, sparePid, "the spare became the model's process");
    assert.match(lineOf(h.sup.outputTail("m"), "ipc child") ?? "", /runs ok --model m\.gguf$/);
    // the next spare starts once the model is ready
    await waitFor("a second spare", () => h.output.filter(([id, l]) => id === "spare" && l.startsWith("spare ")).length === 2);
    await h.sup.stopAll();
    assert.ok(!isAlive(sparePid));
  });
});

describe("Supervisor: llama-server engine (state lines)", () => {
  test("progress across stages, ready with the plan's target and the payload's meta; state lines stay out of the log", async () => {
    const h = harness();
    h.sup.start("l", statePlan("ok"));
    const info = await h.ready("l");
    assert.deepEqual(info.target, { origin: "http://127.0.0.1:5555" });
    assert.deepEqual(info.facts, { n_ctx: 512 });
    // 0.5 of the only stage; then 0.5 of the second of two stages = 0.75 overall
    assert.deepEqual(h.progress, [["l", 0.5], ["l", 0.75]]);
    const tail = h.sup.outputTail("l");
    assert.ok(tail.includes("llama child starting"));
    assert.ok(tail.includes("cmd_child_to_router:state:{not json"), "a malformed state line is output like any other");
    assert.equal(tail.filter((l) => l.includes('"state"')).length, 0);
    assert.deepEqual(h.output.filter(([id]) => id === "l").map(([, l]) => l), tail);
    await h.sup.stopAll();
  });

  test("a stdin stop writes the exit command, and the child's own exit is clean", async () => {
    const h = harness();
    h.sup.start("l", statePlan("ok"));
    await h.ready("l");
    h.sup.stop("l");
    assert.deepEqual(await h.exit("l"), { code: 0, reason: "" });
    assert.ok(h.sup.outputTail("l").includes("got exit command"));
    assert.ok(!h.sup.outputTail("l").includes("stdin closed"), "the command, not EOF, stopped it");
  });

  test("a signal stop sends that signal; the exit code is 128 + its number", async () => {
    const h = harness();
    h.sup.start("l", statePlan("ok", { kind: "signal", signal: "SIGTERM" }));
    await h.ready("l");
    h.sup.stop("l");
    assert.deepEqual(await h.exit("l"), { code: 143, reason: "" });
    assert.ok(!h.sup.outputTail("l").includes("got exit command"));
  });

  test("a child that ignores the exit command is SIGKILLed after its stop timeout", async () => {
    const h = harness();
    h.sup.start("l", statePlan("stubborn", { kind: "stdin", line: EXIT_COMMAND }, 0.4));
    const pid = (await h.ready("l")).pid!;
    const t0 = Date.now();
    h.sup.stop("l");
    h.sup.stop("l"); // a second stop changes nothing
    assert.deepEqual(await h.exit("l"), { code: 137, reason: "" });
    const took = Date.now() - t0;
    assert.ok(took >= 350 && took < 3000, `killed after ${took} ms (stop timeout 0.4 s)`);
    assert.ok(h.sup.outputTail("l").includes("got exit command"));
    assert.ok(!isAlive(pid));
  });

  test("a child not ready within the load timeout is killed, and says so", async () => {
    const h = harness({ loadTimeoutMs: 600 });
    const t0 = Date.now();
    h.sup.start("l", statePlan("hang"));
    const exit = await h.exit("l");
    assert.ok(Date.now() - t0 >= 550);
    assert.equal(exit.code, 137);
    assert.equal(exit.reason, "not ready after 1 s; the process was killed");
    assert.deepEqual(h.progress, [["l", 0.5], ["l", 0.75]]);
  });
});

describe("Supervisor: cmd engine (health polled)", () => {
  test("ready once its health answers 200, not before; a stop reaches the whole process group", async () => {
    const h = harness();
    const plan = await cmdPlan(400);
    const t0 = Date.now();
    h.sup.start("c", plan);
    const info = await h.ready("c");
    assert.ok(Date.now() - t0 >= 350, "it waited for 200");
    assert.deepEqual(info.target, plan.target);
    assert.deepEqual(info.facts, {});
    const grandchild = Number(/grandchild (\d+)/.exec(lineOf(h.sup.outputTail("c"), "grandchild") ?? "")?.[1]);
    assert.ok(grandchild > 0 && isAlive(grandchild));
    h.sup.stop("c");
    assert.deepEqual(await h.exit("c"), { code: 0, reason: "" });
    assert.ok(h.sup.outputTail("c").includes("got SIGTERM"));
    await waitFor("grandchild gone", () => !isAlive(grandchild), 3000);
  });

  test("a loading cmd is stopped gracefully (it may be a server that cleans up), not killed", async () => {
    const h = harness();
    h.sup.start("c", await cmdPlan(0, "never"));
    await waitFor("started", () => lineOf(h.sup.outputTail("c"), "grandchild"));
    h.sup.stop("c");
    assert.deepEqual(await h.exit("c"), { code: 0, reason: "" });
    assert.ok(h.sup.outputTail("c").includes("got SIGTERM"));
  });

  test("a cmd that ignores its stop signal is SIGKILLed after the stop timeout", async () => {
    const h = harness();
    h.sup.start("c", await cmdPlan(0, "ignore-term", 0.4));
    await h.ready("c");
    const t0 = Date.now();
    h.sup.stop("c");
    assert.deepEqual(await h.exit("c"), { code: 137, reason: "" });
    assert.ok(Date.now() - t0 >= 350);
    assert.ok(h.sup.outputTail("c").includes("ignoring SIGTERM"));
  });

  test("exit reasons: the error line rather than the context after it", async () => {
    const h = harness();
    h.sup.start("x", { ...(await cmdPlan(0)), spawn: { command: process.execPath, args: [FAILS], env: process.env, processGroup: true } });
    const exit = await h.exit("x");
    assert.equal(exit.code, 1);
    assert.equal(exit.reason, "exited with code 1: llama_model_load: error loading model: failed to open model.gguf");
  });

  test("exit reasons: the error line is found after a burst of output too", async () => {
    const h = harness();
    h.sup.start("x", { ...(await cmdPlan(0)), spawn: { command: process.execPath, args: [FAILS_LOUDLY], env: process.env, processGroup: true } });
    const exit = await h.exit("x");
    assert.equal(exit.reason, "exited with code 1: llama_model_load: error loading model: failed to open model.gguf");
  });

  test("a program that cannot be started is an exit with the reason", async () => {
    const h = harness();
    const plan = await cmdPlan(0);
    h.sup.start("x", { ...plan, spawn: { ...plan.spawn!, command: "/nonexistent/corral-test-server" } });
    const exit = await h.exit("x");
    assert.equal(exit.code, null);
    assert.match(exit.reason, /cannot start '\/nonexistent\/corral-test-server'.*ENOENT/);
    assert.ok(!h.sup.has("x"));
  });

  test("the output ring keeps the last ~64 KB of a chatty process, and every line is an output event", async () => {
    const h = harness();
    const plan = await cmdPlan(0);
    h.sup.start("o", { ...plan, spawn: { command: process.execPath, args: [CHATTY], env: process.env, processGroup: true } });
    await h.exit("o");
    // Node may emit a child's 'exit' before its pipes are drained; the ring stays the same after it
    await waitFor("all output read", () => h.sup.outputTail("o").at(-1)?.startsWith("01999 "), 5000);
    const tail = h.sup.outputTail("o");
    const bytes = tail.reduce((n, l) => n + l.length + 1, 0);
    assert.ok(bytes <= 64 * 1024, `${bytes} bytes kept`);
    assert.ok(bytes > 60 * 1024, `${bytes} bytes kept`);
    assert.ok(tail.at(-1)!.startsWith("01999 "), "the newest line is kept");
    assert.ok(!tail.includes(`00000 ${"x".repeat(94)}`), "the oldest is dropped");
    assert.equal(h.output.filter(([id]) => id === "o").length, 2000);
    assert.deepEqual(h.sup.outputTail("never-started"), []);
  });
});

describe("Supervisor: remote engine (nothing started)", () => {
  test("ready once the remote's health answers 200; no pid; a stop is immediate and clean", async () => {
    const fake = await startFakeOpenAI({ healthDelayMs: 300 });
    try {
      const h = harness();
      h.sup.start("r", remotePlan(fake.url));
      const info = await h.ready("r");
      assert.deepEqual(info, { target: { origin: fake.url, apiKey: "k" }, facts: {} });
      assert.equal(h.sup.pid("r"), undefined);
      assert.ok(fake.requests.filter((r) => r.path === "/health").length >= 2, "polled until 200");
      h.sup.stop("r");
      assert.deepEqual(await h.exit("r"), { code: 0, reason: "" });
    } finally {
      await fake.close();
    }
  });

  test("a remote that stops answering while in use is gone after the allowed misses", async () => {
    const fake = await startFakeOpenAI();
    const h = harness({ remoteHealthEveryMs: 50, remoteHealthMisses: 3 });
    h.sup.start("r", remotePlan(fake.url));
    await h.ready("r");
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(h.exited("r"), undefined, "still there while it answers");
    await fake.close();
    const t0 = Date.now();
    const exit = await h.exit("r");
    assert.ok(Date.now() - t0 >= 100, "not on the first miss");
    assert.equal(exit.code, null);
    assert.equal(exit.reason, `${fake.url}/health stopped answering (ECONNREFUSED)`);
  });

  test("a remote that never answers 200 fails its load with the last answer", async () => {
    const fake = await startFakeOpenAI({ healthDelayMs: 60_000 });
    try {
      const h = harness({ loadTimeoutMs: 600 });
      h.sup.start("r", remotePlan(fake.url));
      const exit = await h.exit("r");
      assert.equal(exit.reason, `${fake.url}/health did not answer 200 (HTTP 503) within 1 s`);
      assert.ok(h.sup.outputTail("r").includes(`health ${fake.url}/health: HTTP 503`), "each new answer is logged once");
      assert.equal(h.sup.outputTail("r").length, 1);
    } finally {
      await fake.close();
    }
  });
});

describe("explainExit", () => {
  test("prefers the last error lines (up to 3) of the last 20", () => {
    const lines = ["error: too early", ...Array.from({ length: 15 }, (_, i) => `info ${i}`), "Error: first", "load failed", "cannot open", "unable to map", "after"];
    assert.equal(explainExit(lines, 1, null), "exited with code 1: load failed\ncannot open\nunable to map");
  });

  test("with no error line, the last 5 lines", () => {
    const lines = Array.from({ length: 8 }, (_, i) => `line ${i}`);
    assert.equal(explainExit(lines, 2, null), "exited with code 2: line 3\nline 4\nline 5\nline 6\nline 7");
  });

  test("a signal, and no output at all", () => {
    assert.equal(explainExit([], null, "SIGSEGV"), "killed by SIGSEGV");
    assert.equal(explainExit(["", "  "], 3, null), "exited with code 3");
  });

  test("words only: 'errors' or 'terror' are no error lines", () => {
    assert.equal(explainExit(["no errors so far", "terror", "last"], 1, null), "exited with code 1: no errors so far\nterror\nlast");
  });
});
