// The cmd and remote engines end to end: a real router with presets that start a fake OpenAI-compatible server
// (test/fixtures/fake-openai-server.ts) or another corral as a model's command line, or name a server the test runs
// itself as a remote. The fake's answers name the server that gave them, so each check knows who answered.
//
// Not covered here: a remote that stops answering while loaded is dropped after 3 missed health checks 5 s apart,
// too slow for this suite; test/router/supervisor.test.ts checks it with short intervals, and this file checks that
// requests to it meanwhile get a clean 502.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { startFakeOpenAI, type FakeOpenAI, type RecordedRequest } from "../fixtures/fake-openai-server.js";
import { getTestModel } from "../helpers/models.js";
import { chat, childPids, emptyDir, isAlive, listModels, modelStatus, startRouter, waitFor } from "../helpers/router.js";
import { CORRAL_BIN, postJson, readSse, REPO_ROOT, type RunningServer } from "../helpers/server.js";

const NODE = process.execPath;
const FAKE = path.join(REPO_ROOT, "dist", "test", "fixtures", "fake-openai-server.js");
/** One shell word, whatever the path holds (the preset's cmd is split like a shell's words). */
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const fakeCmd = (...args: string[]) => [q(NODE), q(FAKE), "--port", "${PORT}", ...args].join(" ");

function writePreset(sections: Record<string, string[]>): string {
  const file = path.join(emptyDir("corral-preset-"), "models.ini");
  writeFileSync(file, Object.entries(sections).map(([name, lines]) => [`[${name}]`, ...lines].join("\n")).join("\n\n") + "\n");
  return file;
}

async function unload(url: string, model: string, headers: Record<string, string> = {}): Promise<void> {
  const r = await postJson(`${url}/models/unload`, { model }, headers);
  assert.equal(r.status, 200, JSON.stringify(r.json));
}

const errorOf = async (res: Response) => ((await res.json()) as { error: { message: string; code: number } }).error;
const contentOf = async (res: Response) => ((await res.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content;

/** The port a cmd model was given, from its command line (status.args shows ${PORT} unexpanded). */
function portOf(pid: number): number {
  const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  return Number(argv[argv.indexOf("--port") + 1]);
}

describe("cmd engine: a model that is any server's command line", () => {
  let server: RunningServer;
  before(async () => {
    const ini = writePreset({
      one: [`cmd = ${fakeCmd("--model", "one", "--health-delay-ms", "500")}`],
      // a shell that starts the server in the background: the stop must reach the whole group, not only the shell
      group: [`cmd = /bin/sh -c ${q(`${q(NODE)} ${q(FAKE)} --port \${PORT} --model group & wait`)}`],
      stubborn: [`cmd = ${fakeCmd("--model", "stubborn", "--ignore-sigterm")}`, "stop-timeout = 1"],
      gentle: [`cmd = ${fakeCmd("--model", "gentle", "--ignore-sigterm")}`, "stop-signal = SIGINT", "stop-timeout = 10"],
      exits: [`cmd = ${q(NODE)} -e "console.error('cannot bind: no such device'); process.exit(3)"`],
      deaf: [`cmd = ${fakeCmd("--model", "deaf", "--health-delay-ms", "600000")}`],
    });
    server = await startRouter(["--models-preset", ini, "--models-load-timeout", "2"]);
  });
  after(async () => {
    await server?.stop();
  });

  test("listed with engine cmd, its command line as status.args and its preset", async () => {
    const one = (await modelStatus(server.url, "one"))!;
    assert.equal((one as unknown as { engine: string }).engine, "cmd");
    assert.equal(one.status.value, "unloaded");
    assert.deepEqual(one.status.args, [NODE, FAKE, "--port", "${PORT}", "--model", "one", "--health-delay-ms", "500"]);
    assert.ok(one.status.preset.startsWith("[one]\n"));
    assert.ok(one.status.preset.includes(`\ncmd = ${fakeCmd("--model", "one", "--health-delay-ms", "500")}\n`), one.status.preset);
    assert.equal(one.path, null);
    assert.equal(one.pid, undefined);
  });

  test("the first request starts it, waits for its health, and gets its answer", async () => {
    const t0 = Date.now();
    const res = await chat(server.url, "one");
    const took = Date.now() - t0;
    assert.equal(res.status, 200);
    assert.equal(await contentOf(res), "server one answers model one");
    assert.ok(took >= 450, `answered after ${took} ms: the server is only healthy after 500 ms`);
    const one = (await modelStatus(server.url, "one"))!;
    assert.equal(one.status.value, "loaded");
    assert.ok(one.pid && isAlive(one.pid));
    // what the server itself saw: health polled until 200, then the request, with its path and body as sent
    const seen = (await (await fetch(`http://127.0.0.1:${portOf(one.pid)}/debug/requests`)).json()) as RecordedRequest[];
    assert.ok(seen.filter((r) => r.path === "/health").length >= 2, "health was polled");
    const forwarded = seen.filter((r) => r.path === "/v1/chat/completions");
    assert.equal(forwarded.length, 1);
    assert.equal(JSON.parse(forwarded[0]!.body).model, "one");
  });

  test("streams, and other OpenAI paths, pass through", async () => {
    const res = await chat(server.url, "one", { stream: true });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const events = await readSse(res);
    assert.equal(events.at(-1), "[DONE]");
    const text = events.slice(0, -1).map((e) => (e as { choices: Array<{ delta: { content?: string } }> }).choices[0]!.delta.content ?? "").join("");
    assert.equal(text, "server one answers model one");

    const c = await postJson(`${server.url}/v1/completions`, { model: "one", prompt: "hi" });
    assert.equal(c.status, 200);
    assert.equal(c.json.choices[0].text, "server one answers model one");
  });

  test("an unload stops the whole process group", async () => {
    assert.equal((await chat(server.url, "group")).status, 200);
    const shell = (await modelStatus(server.url, "group"))!.pid!;
    const [fake] = childPids(shell);
    assert.ok(fake && isAlive(fake), "the shell's child serves");
    await unload(server.url, "group");
    await waitFor("group unloaded", async () => (await modelStatus(server.url, "group"))!.status.value === "unloaded", 5000);
    await waitFor("shell and server gone", () => !isAlive(shell) && !isAlive(fake), 3000);
    assert.equal((await modelStatus(server.url, "group"))!.status.failed, undefined, "a stop is no failure");
  });

  test("a server that ignores SIGTERM is killed after its stop-timeout", async () => {
    assert.equal((await chat(server.url, "stubborn")).status, 200);
    const pid = (await modelStatus(server.url, "stubborn"))!.pid!;
    const t0 = Date.now();
    await unload(server.url, "stubborn");
    await waitFor("stubborn unloaded", async () => (await modelStatus(server.url, "stubborn"))!.status.value === "unloaded", 5000);
    const took = Date.now() - t0;
    assert.ok(took >= 900 && took < 4000, `stopped after ${took} ms (stop-timeout 1 s)`);
    assert.ok(!isAlive(pid));
    assert.match(await (await fetch(`${server.url}/models/logs?model=stubborn`)).text(), /got SIGTERM, ignoring it/);
    assert.equal((await modelStatus(server.url, "stubborn"))!.status.failed, undefined);
  });

  test("stop-signal picks the signal sent", async () => {
    assert.equal((await chat(server.url, "gentle")).status, 200);
    const pid = (await modelStatus(server.url, "gentle"))!.pid!;
    const t0 = Date.now();
    await unload(server.url, "gentle");
    await waitFor("gentle unloaded", async () => (await modelStatus(server.url, "gentle"))!.status.value === "unloaded", 5000);
    assert.ok(Date.now() - t0 < 3000, "SIGINT stopped it, well before its stop-timeout of 10 s");
    assert.ok(!isAlive(pid));
    const logs = await (await fetch(`${server.url}/models/logs?model=gentle`)).text();
    assert.match(logs, /got SIGINT, exiting/);
    assert.doesNotMatch(logs, /SIGTERM/);
  });

  test("a command that exits at once fails the load with its exit code and output", async () => {
    const res = await chat(server.url, "exits");
    assert.equal(res.status, 503);
    assert.match((await errorOf(res)).message, /model 'exits' failed to load: exited with code 3: cannot bind: no such device/);
    const st = (await modelStatus(server.url, "exits"))!;
    assert.equal(st.status.failed, true);
    assert.equal(st.status.exit_code, 3);
  });

  test("a server whose health never answers 200 fails after --models-load-timeout", async () => {
    const t0 = Date.now();
    const res = await chat(server.url, "deaf");
    assert.equal(res.status, 503);
    assert.match((await errorOf(res)).message, /model 'deaf' failed to load: not ready after 2 s/);
    assert.ok(Date.now() - t0 >= 1900);
    assert.equal((await modelStatus(server.url, "deaf"))!.status.failed, true);
    assert.equal((await chat(server.url, "one")).status, 200, "the others go on serving");
  });

  // last: it stops the router
  test("SIGTERM of the router stops a running cmd model", async () => {
    assert.equal((await chat(server.url, "one")).status, 200);
    const pid = (await modelStatus(server.url, "one"))!.pid!;
    assert.ok(isAlive(pid));
    assert.equal(await server.stop(), 0);
    await waitFor("the model's process gone", () => !isAlive(pid), 3000);
  });
});

describe("cmd engine: another corral as the command", () => {
  let server: RunningServer;
  before(async () => {
    const ini = writePreset({
      nested: [`model = ${await getTestModel("tiny", { seed: 11 })}`, `cmd = ${q(NODE)} ${q(CORRAL_BIN)} -m \${MODEL} --port \${PORT} -t 1 -c 512`],
    });
    server = await startRouter(["--models-preset", ini]);
  });
  after(async () => {
    await server?.stop();
  });

  test("a chat request is answered by the model process `corral -m` runs", async () => {
    const res = await chat(server.url, "nested");
    const body = (await res.json()) as { choices?: Array<{ message: { role: string } }>; usage?: { completion_tokens: number } };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.choices?.[0]?.message.role, "assistant");
    assert.ok((body.usage?.completion_tokens ?? 0) > 0);
    const st = (await modelStatus(server.url, "nested"))!;
    assert.equal((st as unknown as { engine: string }).engine, "cmd");
    assert.equal(st.status.value, "loaded");
    assert.ok(st.status.args.includes("${MODEL}"));
  });
});

describe("remote engine: a server that runs elsewhere", () => {
  let fake: FakeOpenAI;
  /** A second remote, for the test that takes it down. */
  let dying: FakeOpenAI;
  let server: RunningServer;
  const withKey = { authorization: "Bearer router-key" };
  before(async () => {
    fake = await startFakeOpenAI({ model: "far-server" });
    dying = await startFakeOpenAI({ model: "dying-server" });
    const ini = writePreset({ far: [`proxy = ${fake.url}`, "api-key = upstream-key"], gone: [`proxy = ${dying.url}`] });
    server = await startRouter(["--models-preset", ini, "--api-key", "router-key"]);
  });
  after(async () => {
    await server?.stop();
    await fake?.close();
    await dying?.close();
  });

  test("listed with engine remote; its key is not shown", async () => {
    const far = (await listModels(server.url)).find((m) => m.id === "far")!;
    assert.equal((far as unknown as { engine: string }).engine, "remote");
    assert.equal(far.status.value, "unloaded");
    assert.deepEqual(far.status.args, [fake.url]);
    assert.match(far.status.preset, /\napi-key = \*\*\*\n/);
    assert.doesNotMatch(far.status.preset, /upstream-key/);
  });

  test("requests go there with the remote's own key, never the client's", async () => {
    const denied = await postJson(`${server.url}/v1/chat/completions`, { model: "far", messages: [] });
    assert.equal(denied.status, 401);
    assert.equal(fake.requests.filter((r) => r.path.startsWith("/v1/")).length, 0, "a refused request goes nowhere");

    const res = await postJson(`${server.url}/v1/chat/completions`, { model: "far", messages: [{ role: "user", content: "hi" }] }, withKey);
    assert.equal(res.status, 200);
    assert.equal(res.json.choices[0].message.content, "server far-server answers model far");
    const viaXKey = await postJson(`${server.url}/v1/completions`, { model: "far", prompt: "hi" }, { "x-api-key": "router-key" });
    assert.equal(viaXKey.status, 200);

    const forwarded = fake.requests.filter((r) => r.path.startsWith("/v1/"));
    assert.deepEqual(forwarded.map((r) => r.path), ["/v1/chat/completions", "/v1/completions"]);
    for (const r of forwarded) {
      assert.equal(r.headers.authorization, "Bearer upstream-key");
      assert.equal(r.headers["x-api-key"], undefined);
    }
    for (const r of fake.requests) assert.doesNotMatch(JSON.stringify(r.headers), /router-key/);

    const far = (await modelStatus(server.url, "far"))!;
    assert.equal(far.status.value, "loaded");
    assert.equal(far.pid, undefined, "nothing runs here");
  });

  test("a remote that refuses connections gets a clean 502 JSON, and the router stays healthy", async () => {
    const first = await postJson(`${server.url}/v1/chat/completions`, { model: "gone", messages: [] }, withKey);
    assert.equal(first.status, 200);
    assert.equal(first.json.choices[0].message.content, "server dying-server answers model gone");
    assert.equal(dying.requests.find((r) => r.path === "/v1/chat/completions")?.headers.authorization, undefined, "no api-key, no Authorization");
    await dying.close();
    const res = await postJson(`${server.url}/v1/chat/completions`, { model: "gone", messages: [{ role: "user", content: "hi" }] }, withKey);
    assert.equal(res.status, 502);
    assert.equal(res.json.error.code, 502);
    assert.match(res.json.error.message, /model 'gone' did not answer/);
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
    assert.equal((await postJson(`${server.url}/v1/chat/completions`, { model: "far", messages: [] }, withKey)).status, 200, "the others go on serving");
  });

  test("an unload only stops routing there; the next request checks its health again", async () => {
    await unload(server.url, "far", withKey);
    await waitFor("far unloaded", async () => (await modelStatus(server.url, "far"))!.status.value === "unloaded", 3000);
    const healthChecks = fake.requests.filter((r) => r.path === "/health").length;
    const res = await postJson(`${server.url}/v1/chat/completions`, { model: "far", messages: [] }, withKey);
    assert.equal(res.status, 200);
    assert.ok(fake.requests.filter((r) => r.path === "/health").length > healthChecks, "loading again checked its health");
    assert.equal((await modelStatus(server.url, "far"))!.status.value, "loaded");
  });
});
