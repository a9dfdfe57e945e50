// The first minutes with corral, on the command line: a mistyped flag gets the closest one, `-m` checks its file
// before it listens, the start-up log shows a request that works as printed, no temporary folder outlives a run
// (failed or not), and stopping `npm start` stops the router and its model processes.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { after, describe, test } from "node:test";
import { didYouMean } from "../../src/options/parse.js";
import { tempDirUntilExit } from "../../src/util/temp-dir.js";
import { getTestModel } from "../helpers/models.js";
import { childPids, emptyDir, isAlive, makeModelsDir, waitFor } from "../helpers/router.js";
import { postJson, REPO_ROOT, runCorral, startServer } from "../helpers/server.js";

function sh(script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("bash", ["-c", script], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe("unknown flags", () => {
  test("name the closest known flag", async () => {
    const r = await runCorral(["--model-dir", "x"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^corral: error: unknown argument: --model-dir; did you mean --models-dir\?$/m);
    assert.equal(didYouMean("--ctx"), "; did you mean --ctx-size?");
    assert.equal(didYouMean("--embedings"), "; did you mean --embeddings?");
    assert.equal(didYouMean("--no-models-autolaod"), "; did you mean --no-models-autoload?");
    assert.equal(didYouMean("--no-such-flag"), "", "nothing close: no guess");
  });
});

describe("corral -m", () => {
  test("a missing or broken file: one line on stderr, non-zero, and never 'listening'", async () => {
    for (const file of ["/nonexistent/missing.gguf", REPO_ROOT]) {
      const r = await runCorral(["-m", file, "--port", "0"]);
      assert.equal(r.code, 1, r.stderr);
      assert.deepEqual(r.stderr.trimEnd().split("\n").filter((l) => !l.startsWith("W ")), [
        file === REPO_ROOT ? `corral: error: model path '${REPO_ROOT}' is not a file` : "corral: error: cannot open model file '/nonexistent/missing.gguf': ENOENT",
      ]);
      assert.doesNotMatch(r.stdout + r.stderr, /listening/);
    }
  });

  test("once loaded, the log shows a request that works as printed", async () => {
    const server = await startServer(["-m", await getTestModel("tiny"), "-c", "256", "-t", "1"]);
    try {
      const line = await waitFor("the try: line", () => /^I try: (curl .*)$/m.exec(server.output())?.[1]);
      assert.match(line, new RegExp(`^curl ${server.url}/v1/chat/completions .*"model":"tiny`));
      const r = await sh(`curl -sS --fail-with-body ${line.slice("curl ".length)}`);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.equal((JSON.parse(r.stdout) as { object: string }).object, "chat.completion");
    } finally {
      await server.stop();
    }
  });
});

describe("temporary folders", () => {
  // each run gets a temp dir of its own (os.tmpdir() follows TMPDIR), so that other processes' folders do not count
  const corralDirs = (tmp: string) => readdirSync(tmp).filter((n) => n.startsWith("corral-"));

  test("a failed start leaves none", async () => {
    const tmp = emptyDir("first-run-tmp-");
    const env = { TMPDIR: tmp, LLAMA_CACHE: emptyDir("corral-hub-") };
    const models = await makeModelsDir({ "a.gguf": 1 });
    const taken = createServer().listen(0, "127.0.0.1");
    await new Promise((resolve) => taken.once("listening", resolve));
    const port = String((taken.address() as AddressInfo).port);
    after(() => taken.close());
    for (const args of [
      ["--models-preset", "/nonexistent/models.ini"], // a preset error, after the folder is made
      ["--models-dir", models, "--host", "0.0.0.0"], // refused without --api-key
      ["--models-dir", models, "--port", port], // cannot listen: the port is taken
    ]) {
      const r = await runCorral(args, { env });
      assert.notEqual(r.code, 0, `${args.join(" ")} should fail`);
      assert.deepEqual(corralDirs(tmp), [], `after: corral ${args.join(" ")}`);
    }
  });

  test("a router stopped by SIGTERM or SIGINT leaves none", async () => {
    const models = await makeModelsDir({ "a.gguf": 1 });
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const tmp = emptyDir("first-run-tmp-");
      const server = await startServer(["--models-dir", models, "--engine", "node", "-t", "1"], { env: { TMPDIR: tmp, LLAMA_CACHE: emptyDir("corral-hub-") } });
      assert.equal((await postJson(`${server.url}/models/load`, { model: "a", wait: true })).status, 200);
      assert.equal(corralDirs(tmp).length, 1, "the router's socket folder exists while it runs");
      const exited = new Promise((resolve) => server.proc.once("exit", resolve));
      server.proc.kill(signal);
      await exited;
      assert.deepEqual(corralDirs(tmp), [], `after ${signal}`);
    }
  });

  test("test helpers' folders go when the test process exits", async () => {
    const tmp = emptyDir("first-run-tmp-");
    const script = `import { tempDirUntilExit } from ${JSON.stringify(new URL("../../src/util/temp-dir.js", import.meta.url).href)};
      tempDirUntilExit("corral-models-"); tempDirUntilExit("corral-hub-"); process.exit(3);`;
    const r = await new Promise<number | null>((resolve) => {
      const p = spawn(process.execPath, ["--input-type=module", "-e", script], { env: { ...process.env, TMPDIR: tmp }, stdio: "ignore" });
      p.on("exit", resolve);
    });
    assert.equal(r, 3);
    assert.deepEqual(corralDirs(tmp), []);
    assert.ok(tempDirUntilExit("corral-x-").startsWith("/"));
  });
});

describe("npm start", () => {
  let npm: ReturnType<typeof spawn> | undefined;
  after(() => {
    if (npm?.exitCode === null) npm.kill("SIGKILL");
  });

  test("is the router itself (exec), so that SIGTERM to npm stops the router and its models", async (t) => {
    const which = await sh("command -v npm");
    if (which.code !== 0) {
      t.skip("npm is not on PATH");
      return;
    }
    const models = await makeModelsDir({ "a.gguf": 1 });
    npm = spawn("npm", ["start", "--", "--port", "0", "--models-dir", models, "--engine", "node", "-t", "1"], {
      cwd: REPO_ROOT, env: { ...process.env, LLAMA_CACHE: emptyDir("corral-hub-") }, stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    npm.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    npm.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    const url = await waitFor("npm start listening", () => /listening on (http:\/\/[\d.]+:\d+)/.exec(out)?.[1], 60_000);
    assert.equal((await postJson(`${url}/models/load`, { model: "a", wait: true })).status, 200, out);
    // npm's only child is the router (sh replaced itself), and the router has its model process
    const [router, ...others] = childPids(npm.pid!);
    assert.ok(router !== undefined && others.length === 0, `npm's children: ${childPids(npm.pid!).join(", ")}`);
    const models_ = childPids(router);
    assert.ok(models_.length >= 1, "a model process runs");
    const exited = new Promise((resolve) => npm!.once("exit", resolve));
    npm.kill("SIGTERM");
    await exited;
    await waitFor("router and model processes gone", () => [router, ...models_].every((p) => !isAlive(p)), 15_000);
    assert.match(out, /SIGTERM: stopping/, "the router got the signal and stopped in order");
  });
});
