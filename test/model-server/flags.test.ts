// End to end: each llama-server flag the built-in engine implements has an effect a client can see, against real
// `corral -m` processes (and a router) on generated models. Outputs are compared at temperature 0 (or a fixed
// seed), so a flag's effect shows as a difference from the same request without it.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { estimateRandomLlamaModel } from "../../src/gguf/random-llama.js";
import { freePort } from "../../src/util/free-port.js";
import { writeRandomLora } from "../helpers/lora.js";
import { getTestModel, TEST_MODEL_PRESETS } from "../helpers/models.js";
import { emptyDir, makeModelsDir, testEngines } from "../helpers/router.js";
import { CORRAL_BIN, postJson, runCorral, startServer, type RunningServer } from "../helpers/server.js";
import { tempDirUntilExit } from "../../src/util/temp-dir.js";

const PROMPT = "hello world";
/** Token ids of the generated models' vocabulary (src/gguf/vocab.ts): </s> and <|im_start|>. */
const EOS = 2;
const IM_START = 3;

type Completion = {
  content: string;
  tokens_predicted: number;
  stop_type: string;
  stopping_word: string;
  id_slot: number;
  truncated: boolean;
  timings: { cache_n: number; draft_n?: number; draft_n_accepted?: number };
};

async function complete(url: string, body: Record<string, unknown> = {}): Promise<Completion> {
  const r = await postJson(`${url}/completion`, { prompt: PROMPT, temperature: 0, n_predict: 16, ...body });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json as Completion;
}

async function withServer<T>(args: string[], run: (s: RunningServer) => Promise<T>): Promise<T> {
  const s = await startServer(args);
  try {
    return await run(s);
  } finally {
    await s.stop();
  }
}

describe("llama-server flags on the built-in engine", () => {
  let tiny: string;
  let baseline: RunningServer;
  /** The baseline's greedy output for PROMPT (end-of-generation ignored, so always 16 tokens). */
  let greedy: string;

  before(async () => {
    tiny = await getTestModel("tiny");
    baseline = await startServer(["-m", tiny, "-t", "1", "-np", "2", "-c", "128"]);
    greedy = (await complete(baseline.url, { ignore_eos: true })).content;
    assert.ok(greedy.includes("\n"), `the tests below expect a newline in the greedy output: ${JSON.stringify(greedy)}`);
  });
  after(async () => {
    await baseline?.stop();
  });

  test("-r (with -e escapes), --ignore-eos, DRY and XTC are defaults that a request's own fields replace", async () => {
    await withServer(["-m", tiny, "-t", "1", "-c", "64", "-r", "\\n", "--ignore-eos", "--dry-multiplier", "4", "--dry-allowed-length", "1",
      "--xtc-probability", "1", "--xtc-threshold", "0.001"], async (s) => {
      const plain = { dry_multiplier: 0, xtc_probability: 0 };
      const stopped = await complete(s.url, plain);
      assert.equal(stopped.content, greedy.split("\n")[0]);
      assert.deepEqual([stopped.stop_type, stopped.stopping_word], ["word", "\n"]);
      assert.equal((await complete(s.url, { ...plain, stop: ["zzz"] })).content, greedy, "a request's stop replaces -r");

      const eosForced = { ...plain, logit_bias: { [EOS]: 100 }, n_predict: 3, stop: ["zzz"] };
      assert.equal((await complete(s.url, eosForced)).tokens_predicted, 3, "--ignore-eos bans the end-of-generation token");
      assert.equal((await complete(s.url, { ...eosForced, ignore_eos: false })).tokens_predicted, 0);
      assert.equal((await complete(baseline.url, eosForced)).tokens_predicted, 0);

      const dry = await complete(s.url, { xtc_probability: 0, stop: ["zzz"] });
      assert.notEqual(dry.content, greedy, "--dry-multiplier changes the greedy output of a model that repeats itself");

      const seeded = { temperature: 1, seed: 5, dry_multiplier: 0, stop: ["zzz"] };
      const xtc = await complete(s.url, seeded);
      const noXtc = await complete(s.url, { ...seeded, xtc_probability: 0 });
      assert.notEqual(xtc.content, noXtc.content, "--xtc-probability removes the top choices");
    });
  });

  test("-e/--no-escape: without escapes, -r '\\n' is a backslash and an n", async () => {
    await withServer(["-m", tiny, "-t", "1", "-c", "64", "-r", "\\n", "--no-escape", "--ignore-eos"], async (s) => {
      assert.equal((await complete(s.url)).content, greedy);
    });
  });

  test("-l is a default logit bias, and -sp writes special tokens into the text", async () => {
    await withServer(["-m", tiny, "-t", "1", "-c", "64", "-l", `${IM_START}+100`, "-sp"], async (s) => {
      const forced = await complete(s.url, { n_predict: 2 });
      assert.equal(forced.content, "<|im_start|><|im_start|>");
      assert.equal((await complete(s.url, { logit_bias: {}, ignore_eos: true })).content, greedy, "a request's logit_bias replaces -l");
    });
    const without = await complete(baseline.url, { n_predict: 2, logit_bias: { [IM_START]: 100 } });
    assert.deepEqual([without.tokens_predicted, without.content], [2, ""], "without -sp the special token is generated but not written");
  });

  test("--grammar-file is the default grammar; a request's grammar replaces it", async () => {
    const dir = tempDirUntilExit("corral-grammar-");
    const file = path.join(dir, "answer.gbnf");
    writeFileSync(file, 'root ::= ("yes" | "no") " " ("yes" | "no")\n');
    await withServer(["-m", tiny, "-t", "1", "-c", "64", "--grammar-file", file], async (s) => {
      assert.match((await complete(s.url)).content, /^(yes|no) (yes|no)$/);
      assert.equal((await complete(s.url, { grammar: 'root ::= "maybe"' })).content, "maybe");
    });
  });

  test("-j is the default JSON schema; --chat-template-kwargs are the template's default variables", async () => {
    const schema = { type: "object", properties: { n: { type: "integer" } }, required: ["n"], additionalProperties: false };
    const template = "{{ greeting }}:{% for m in messages %} {{ m.content }}{% endfor %}";
    await withServer(["-m", tiny, "-t", "1", "-c", "256", "-j", JSON.stringify(schema), "--chat-template", template,
      "--chat-template-kwargs", '{"greeting": "Ahoy"}'], async (s) => {
      const r = await complete(s.url, { n_predict: 48 });
      assert.match(r.content, /^\s*\{\s*"n"\s*:\s*-?\d/, `output follows the schema: ${r.content}`);
      const applied = await postJson(`${s.url}/apply-template`, { messages: [{ role: "user", content: "hi" }] });
      assert.equal(applied.json.prompt, "Ahoy: hi");
    });
  });

  test("-ctk/-ctv q8_0 and --override-kv show in the model; --swa-full is accepted (no SWA in the generated models)", async () => {
    // quantized KV caches need a head size that their 32-value blocks divide (the tiny model's is 16)
    const kvModel = await getTestModel("tiny", { heads: 2 });
    await withServer(["-m", kvModel, "-t", "1", "-c", "0", "-ctk", "q8_0", "-ctv", "q8_0", "-fa", "on", "--swa-full",
      "--override-kv", "llama.context_length=int:333", "-v"], async (s) => {
      const models = await (await fetch(`${s.url}/v1/models`)).json() as { data: Array<{ meta: { n_ctx_train: number; n_ctx: number } }> };
      assert.deepEqual([models.data[0]!.meta.n_ctx_train, models.data[0]!.meta.n_ctx], [333, 333], "--override-kv changes the training context -c 0 uses");
      assert.equal((await complete(s.url, { n_predict: 4, ignore_eos: true })).tokens_predicted, 4);
      assert.match(s.output(), /K \(q8_0\)[^\n]*V \(q8_0\)/, "llama.cpp reports the KV cache types");
    });
  });

  test("--check-tensors refuses a model whose weights hold a NaN; without it the model loads", async () => {
    const corrupt = path.join(tempDirUntilExit("corral-nan-"), "nan.gguf");
    copyFileSync(tiny, corrupt);
    const norm = estimateRandomLlamaModel(TEST_MODEL_PRESETS.tiny).layout.tensors.find((t) => t.name === "output_norm.weight")!;
    const fd = openSync(corrupt, "r+");
    writeSync(fd, Buffer.from(new Float32Array([NaN]).buffer), 0, 4, norm.fileOffset);
    closeSync(fd);
    const r = await runCorral(["-m", corrupt, "-t", "1", "-c", "64", "--port", "0", "--check-tensors"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /found nan value[\s\S]*failed to load model/);
    await withServer(["-m", corrupt, "-t", "1", "-c", "64"], async (s) => {
      assert.equal((await fetch(`${s.url}/health`)).status, 200);
    });
  });

  test("--lora changes the output; --lora-scaled FILE 0 (the older two-argument form) leaves it as it was", async () => {
    const { dim, vocabSize } = TEST_MODEL_PRESETS.tiny as { dim: number; vocabSize: number };
    const adapter = await writeRandomLora({ dim, vocabSize });
    await withServer(["-m", tiny, "-t", "1", "-c", "64", "--lora", adapter], async (s) => {
      assert.notEqual((await complete(s.url, { ignore_eos: true })).content, greedy);
      assert.deepEqual(await (await fetch(`${s.url}/lora-adapters`)).json(), [{ id: 0, path: adapter, scale: 1, task_name: "", prompt_prefix: "" }]);
    });
    await withServer(["-m", tiny, "-t", "1", "-c", "64", "--lora-scaled", adapter, "0"], async (s) => {
      assert.equal((await complete(s.url, { ignore_eos: true })).content, greedy);
      assert.equal(((await (await fetch(`${s.url}/lora-adapters`)).json()) as Array<{ scale: number }>)[0]!.scale, 0);
    });
  });

  test("-md drafts tokens that the model checks: same output, draft counts in the timings", async () => {
    await withServer(["-m", tiny, "-t", "1", "-c", "64", "-md", tiny, "--draft-max", "4", "--draft-min", "2", "-cd", "64"], async (s) => {
      const r = await complete(s.url, { ignore_eos: true });
      assert.equal(r.content, greedy);
      assert.ok(r.timings.draft_n! > 0 && r.timings.draft_n_accepted! > 0, `drafts were made and kept: ${JSON.stringify(r.timings)}`);
    });
    assert.equal((await complete(baseline.url, { ignore_eos: true })).timings.draft_n, undefined);
  });

  test("--context-shift lets a generation outgrow the context; --keep decides what stays", async () => {
    const prompt = "one two three four five six seven eight nine ten";
    const limited = await complete(baseline.url, { prompt, n_predict: 80, ignore_eos: true, id_slot: 0 });
    assert.ok(limited.tokens_predicted < 64 && limited.truncated, "without it the 64-token slot ends the generation");
    // node-llama-cpp shifts when its context is full; it rounds sizes up to 256, so the slot here is that large
    const cachedAfterShift = async (args: string[]) =>
      withServer(["-m", tiny, "-t", "1", "-c", "256", "--context-shift", ...args], async (s) => {
        assert.equal((await complete(s.url, { prompt, n_predict: 300, ignore_eos: true })).tokens_predicted, 300);
        return (await complete(s.url, { prompt, n_predict: 1 })).timings.cache_n;
      });
    assert.equal(await cachedAfterShift(["--keep", "6"]), 7, "BOS and the first 6 prompt tokens survive the shifts");
    assert.equal(await cachedAfterShift([]), 1, "without --keep only BOS does");
  });

  test("--cache-reuse shifts cached chunks into place; -sps decides which slot a prompt goes to", async () => {
    // llama-server's cache reuse finds chunks of the cache further on than the prompt needs them: after a part of
    // the old prompt was dropped (here its first words), what followed is shifted into place
    const q = "alpha beta gamma delta epsilon zeta eta theta iota kappa";
    await withServer(["-m", tiny, "-t", "1", "-np", "2", "-c", "256", "--cache-reuse", "4", "-sps", "0.6"], async (s) => {
      await complete(s.url, { prompt: `zulu yankee ${q}`, n_predict: 1, id_slot: 0 });
      const edited = await complete(s.url, { prompt: q, n_predict: 1, id_slot: 0 });
      assert.ok(edited.timings.cache_n > 10, `the old prompt's tokens were reused after the edit: cache_n ${edited.timings.cache_n}`);

      const first = (await complete(s.url, { prompt: `${q} one`, n_predict: 1 })).id_slot;
      const partly = (await complete(s.url, { prompt: "alpha beta gamma delta and now something else entirely", n_predict: 1 })).id_slot;
      const again = (await complete(s.url, { prompt: `${q} one two`, n_predict: 1 })).id_slot;
      assert.notEqual(partly, first, "a prompt sharing less than 60% with every slot goes to the least recently used one");
      assert.equal(again, first, "one sharing more goes to the slot that holds it");
    });
    await complete(baseline.url, { prompt: `zulu yankee ${q}`, n_predict: 1, id_slot: 0 });
    assert.ok((await complete(baseline.url, { prompt: q, n_predict: 1, id_slot: 0 })).timings.cache_n <= 1, "without --cache-reuse only the common prefix counts");
    const a = (await complete(baseline.url, { prompt: `${q} two`, n_predict: 1 })).id_slot;
    const b = (await complete(baseline.url, { prompt: "alpha beta gamma delta and now something else entirely", n_predict: 1 })).id_slot;
    assert.equal(a, b, "with the default -sps 0.1 a prompt sharing 30% stays on its slot");
  });

  test("server flags: --api-prefix, HTTPS, --props, --path, --ui-config, --slot-save-path, --sleep-idle-seconds, --log-file", async () => {
    const dir = tempDirUntilExit("corral-server-flags-");
    const key = path.join(dir, "key.pem");
    const cert = path.join(dir, "cert.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
      "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
    const ui = path.join(dir, "ui");
    const saves = path.join(dir, "saves");
    mkdirSync(ui);
    mkdirSync(saves);
    writeFileSync(path.join(ui, "index.html"), "<p>my ui</p>");
    const log = path.join(dir, "server.log");
    const ca = readFileSync(cert);
    const port = await freePort();
    const base = `https://127.0.0.1:${port}`;
    const call = (method: string, p: string, body?: unknown) => httpsJson(method, `${base}${p}`, ca, body);
    const server = await startUntil(["-m", tiny, "-t", "1", "-c", "64", "--port", String(port), "--api-prefix", "/api", "--ssl-key-file", key,
      "--ssl-cert-file", cert, "--props", "--path", ui, "--ui-config", '{"theme":"dark"}', "--slot-save-path", saves,
      "--sleep-idle-seconds", "2", "--log-file", log, "--log-timestamps", "--no-log-prefix"], async () => (await call("GET", "/api/health").catch(() => undefined))?.status === 200);
    try {
      assert.equal((await call("GET", "/health")).status, 404, "nothing is served outside the prefix");
      assert.equal((await call("GET", "/api/")).text, "<p>my ui</p>", "--path serves its index.html at /");
      assert.deepEqual((await call("POST", "/api/props", {})).json, { success: true });
      assert.deepEqual((await call("GET", "/api/props")).json.ui_settings, { theme: "dark" });

      const q = { prompt: "the slot keeps this prompt", n_predict: 1, temperature: 0, id_slot: 0 };
      assert.equal((await call("POST", "/api/completion", q)).status, 200);
      const saved = (await call("POST", "/api/slots/0?action=save", { filename: "s.bin" })).json;
      assert.ok(saved.n_saved > 5 && existsSync(path.join(saves, "s.bin")), JSON.stringify(saved));
      assert.equal((await call("POST", "/api/slots/0?action=erase")).json.n_erased, saved.n_saved);
      assert.equal((await call("POST", "/api/slots/0?action=restore", { filename: "s.bin" })).json.n_restored, saved.n_saved);
      assert.ok((await call("POST", "/api/completion", q)).json.timings.cache_n >= saved.n_saved - 1, "the restored cache is used");
      assert.equal((await call("POST", "/api/slots/0?action=save", { filename: "../escape" })).status, 400);

      const sleeping = async () => (await call("GET", "/api/props")).json.is_sleeping === true;
      await waitUntil(sleeping, 8000);
      assert.equal((await call("POST", "/api/completion", q)).status, 200, "the next request wakes the model");
      assert.equal(await sleeping(), false);
      const lines = readFileSync(log, "utf8");
      assert.match(lines, /^\d+\.\d\d\.\d\d\d\.\d\d\d entering sleeping state/m, "--log-file gets the log, with timestamps and no level letter");
      assert.match(lines, /exiting sleeping state/);
    } finally {
      await stop(server);
    }
    assert.equal((await postJson(`${baseline.url}/props`, {})).status, 501, "without --props, POST /props is refused");
    assert.equal((await postJson(`${baseline.url}/slots/0?action=erase`, {})).status, 501, "without --slot-save-path, slot actions are refused");
  });

  test("--log-disable writes nothing; -lv 2 keeps warnings and drops information", async () => {
    const output = async (args: string[]) => {
      const port = await freePort();
      const p = await startUntil(["-m", tiny, "-t", "1", "-c", "64", "--port", String(port), ...args],
        async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.status === 200);
      await fetch(`http://127.0.0.1:${port}/completion`, { method: "POST", body: JSON.stringify({ prompt: "x", n_predict: 1 }) });
      await stop(p);
      return p.output;
    };
    assert.equal(await output(["--log-disable"]), "");
    const warnings = await output(["-lv", "2"]);
    assert.match(warnings, /^W CORS allows every origin/m);
    assert.doesNotMatch(warnings, /^I /m);
  });

  test("--verbose-prompt logs each prompt's tokens", async () => {
    await withServer(["-m", tiny, "-t", "1", "-c", "64", "--verbose-prompt"], async (s) => {
      const r = await complete(s.url, { n_predict: 1 });
      assert.ok(r.tokens_predicted <= 1);
      assert.match(s.output(), /prompt: number of tokens in prompt = \d+\n\s+1 -> '<s>'\n/);
    });
    assert.doesNotMatch(baseline.output(), /number of tokens in prompt/);
  });

  test("bad flag values are start-up errors that name the flag", async () => {
    const small = await getTestModel("small");
    const fail = async (args: string[], message: RegExp, code = 1) => {
      const r = await runCorral(["-m", tiny, "-t", "1", "-c", "64", "--port", "0", ...args]);
      assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
    };
    await fail(["--grammar", "root ::= ("], /--grammar: /);
    await fail(["--log-file", path.join(os.tmpdir(), "no-such-dir-corral", "x.log")], /cannot open --log-file/);
    await fail(["-md", small], /draft model .* vocabulary/);
    await fail(["-l", "99999+1"], /--logit-bias 99999\+1: token id 99999 is out of range/);
    await fail(["--path", "/no/such/dir"], /--path '\/no\/such\/dir': static assets path not found/);
    await fail(["--slot-save-path", "/no/such/dir"], /--slot-save-path '\/no\/such\/dir': not a directory/);
    await fail(["--ssl-key-file", "/no/key.pem", "--ssl-cert-file", "/no/cert.pem"], /cannot read --ssl-key-file/);
    await fail(["--ssl-key-file", "/no/key.pem"], /--ssl-key-file needs --ssl-cert-file/, 2);
    await fail(["-ctk", "q8_0"], /K cache type q8_0 with block size 32 does not divide n_embd_head_k=16/);
  });
});

describe("implemented flags through a router", () => {
  let modelsDir: string;
  let ui: string;
  before(async () => {
    modelsDir = await makeModelsDir({ "m.gguf": 1 });
    ui = tempDirUntilExit("corral-router-ui-");
    writeFileSync(path.join(ui, "index.html"), "<p>router ui</p>");
  });

  for (const { engine, skip } of testEngines()) {
    test(`${engine}: --api-prefix on the router, model flags (-r, --ignore-eos, DRY, --context-shift...) reach the model`, { skip }, async () => {
      const router = await startUntilRouter(["--models-dir", modelsDir, "--api-prefix", "/api", "--path", ui, "-r", "\\n", "--ignore-eos", "-c", "256",
        "--dry-multiplier", "0", "--context-shift", "--keep", "2", "--cache-reuse", "8", "-sps", "0.5", "-l", "5+0", "--xtc-probability", "0",
        "--chat-template-kwargs", "{}", "--swa-full", "--check-tensors"], engine);
      try {
        assert.equal((await fetch(`${router.base}/v1/models`)).status, 404);
        assert.equal((await fetch(`${router.base}/api/v1/models`)).status, 200);
        assert.equal(await (await fetch(`${router.base}/api/`)).text(), "<p>router ui</p>", "--path: the router serves the files");
        const r = await postJson(`${router.base}/api/completion`, { model: "m", prompt: PROMPT, temperature: 0, n_predict: 16 });
        assert.equal(r.status, 200, JSON.stringify(r.json));
        assert.equal(r.json.stop_type, "word", `the model process stopped at -r: ${JSON.stringify(r.json.content)}`);
        assert.equal(r.json.stopping_word, "\n");
      } finally {
        await router.stop();
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------

interface Started {
  proc: ChildProcess;
  output: string;
}

/** Starts bin/corral with `args` and waits until `ready()` (servers whose URL the standard helper cannot find). */
async function startUntil(args: string[], ready: () => Promise<boolean>, env: NodeJS.ProcessEnv = {}): Promise<Started> {
  const proc = spawn(process.execPath, [CORRAL_BIN, "--host", "127.0.0.1", ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  const started: Started = { proc, output: "" };
  proc.stdout!.on("data", (d: Buffer) => (started.output += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (started.output += d.toString()));
  try {
    await waitUntil(async () => {
      if (proc.exitCode !== null) throw new Error(`corral exited with ${proc.exitCode}: ${started.output}`);
      return ready();
    }, 30_000);
  } catch (err) {
    proc.kill("SIGKILL");
    throw err;
  }
  return started;
}

async function stop(s: Started): Promise<void> {
  if (s.proc.exitCode !== null) return;
  const exited = new Promise((resolve) => s.proc.once("exit", resolve));
  s.proc.kill("SIGTERM");
  const t = setTimeout(() => s.proc.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(t);
}

/** A router whose routes all lie under --api-prefix /api (so the standard helper's /health check cannot see it). */
async function startUntilRouter(args: string[], engine: "node" | "llama-server"): Promise<{ base: string; stop(): Promise<unknown> }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const started = await startUntil(["-t", "1", "--engine", engine, "--port", String(port), ...args],
    async () => (await fetch(`${base}/api/health`).catch(() => undefined))?.status === 200,
    { LLAMA_CACHE: emptyDir("corral-hub-") });
  return { base, stop: () => stop(started) };
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

function httpsJson(method: string, url: string, ca: Buffer, body?: unknown): Promise<{ status: number; text: string; json: any }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, ca, headers: { "content-type": "application/json" } }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, text, json });
      });
    });
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
