// The README's examples, run as a new user would: against a router started as `npm start` starts it (no arguments:
// the Hugging Face cache plus the demo model), with the user's files out of reach (a private HOME, cache and hub).
// Every sh, js and ini block of the README is either run here (marked `<!-- readme-test: run -->` or `preset` just
// before it) or listed in SKIPPED with the reason, so that a new example cannot rot unnoticed.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parsePresets } from "../../src/catalog/presets.js";
import { tempDirUntilExit } from "../../src/util/temp-dir.js";
import { REPO_ROOT, startServer, type RunningServer } from "../helpers/server.js";

interface Block {
  lang: string;
  code: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** What the `<!-- readme-test: … -->` comment before it says. */
  mark?: string;
}

/** Blocks not run, each found by a piece of its first line, with the reason. */
const SKIPPED: ReadonlyArray<{ first: string; reason: string }> = [
  { first: "npm install && npm start", reason: "installing is CI's `npm ci`; this test starts the router as `npm start` does" },
  { first: "bin/corral -m ~/models/", reason: "needs a model in ~/models" },
  { first: "bin/corral --models-dir ~/models", reason: "needs models in ~/models" },
  { first: "bin/corral pull ggml-org/", reason: "downloads from huggingface.co; test/hf/download/ covers pull against a fake hub" },
  { first: "curl -X POST http://127.0.0.1:8080/models", reason: "a placeholder repo, downloaded from the hub; test/router/downloads.test.ts covers it against a fake hub" },
  { first: "bin/corral engine build", reason: "compiles llama.cpp (about 15 minutes); test/cli/engine-command.test.ts covers it with fakes" },
  { first: "node dist/src/gguf/make-model-cli.js", reason: "writes a 200 MB model; test/gguf/ covers the generator" },
  { first: "npm run test:llamacpp", reason: "llama.cpp's own pytest suite, which CI runs after npm test" },
  { first: "nats-server -js", reason: "starts NATS and two more routers on fixed ports; test/cluster/nodes.test.ts runs the same steps with three nodes" },
];

const LANGS = new Set(["sh", "bash", "js", "mjs", "ini"]);
const README_URL = "http://127.0.0.1:8080";

function readmeBlocks(text: string): Block[] {
  const lines = text.split("\n");
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    let prev = start - 1;
    while (prev >= 0 && lines[prev]!.trim() === "") prev--;
    const mark = prev >= 0 ? /^<!-- readme-test: (\w+) -->$/.exec(lines[prev]!.trim())?.[1] : undefined;
    out.push({ lang: open[1]!, code: lines.slice(start + 1, end).join("\n"), line: start + 1, ...(mark ? { mark } : {}) });
    i = end;
  }
  return out;
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** A shell script run with curl failing on HTTP errors (the README's curl lines do not say -f, a test must). */
function runSh(script: string): ReturnType<typeof run> {
  const prelude = 'set -euo pipefail\ncurl() { command curl -sS --fail-with-body "$@"; }\n';
  return run("bash", ["-c", prelude + script], REPO_ROOT);
}

/** Every JSON document curl printed (one per line, or one in all) is an answer, not an error. */
function assertJsonAnswers(stdout: string, where: string): void {
  const docs = stdout.split("\n").filter((l) => l.trim().startsWith("{"));
  assert.ok(docs.length > 0, `${where}: no JSON answer in ${JSON.stringify(stdout.slice(0, 300))}`);
  for (const d of docs) {
    const o = JSON.parse(d) as Record<string, unknown>;
    assert.equal(o["error"], undefined, `${where}: ${d}`);
  }
}

const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
const blocks = readmeBlocks(readme).filter((b) => LANGS.has(b.lang));
const firstLine = (b: Block) => b.code.split("\n").find((l) => l.trim() !== "" && !l.trim().startsWith("//") && !l.trim().startsWith(";")) ?? "";
const skipOf = (b: Block) => SKIPPED.find((s) => b.code.split("\n").some((l) => l.startsWith(s.first)));

describe("README examples", () => {
  test("every sh, js and ini block is run here or skipped with a reason", (t) => {
    const loose = blocks.filter((b) => LANGS.has(b.lang) && b.mark === undefined && !skipOf(b));
    assert.deepEqual(loose.map((b) => `README.md:${b.line} ${firstLine(b)}`), [],
      "mark each with <!-- readme-test: run --> (or preset) before the fence, or add it to SKIPPED with the reason");
    for (const s of SKIPPED) assert.ok(blocks.some((b) => skipOf(b) === s), `SKIPPED names a block the README no longer has: ${s.first}`);
    for (const s of SKIPPED) t.diagnostic(`README example not run: ${s.first} (${s.reason})`);
    for (const b of blocks.filter((x) => x.mark === "run")) {
      assert.ok(b.code.includes(README_URL), `README.md:${b.line}: a run example must talk to ${README_URL}`);
    }
  });

  for (const b of blocks.filter((x) => x.mark === "preset")) {
    test(`README.md:${b.line}: the preset example parses (${firstLine(b)})`, () => {
      const parsed = parsePresets(b.code, "README.md");
      assert.ok(parsed.models.length > 0);
      // every key is one corral knows (an unknown one would only reach llama-server children, verbatim)
      for (const section of [parsed.global, ...parsed.models]) {
        if (!section) continue;
        assert.deepEqual(section.passthrough, [], `[${section.name}]`);
        assert.deepEqual(section.argEnv, {}, `[${section.name}]`);
      }
    });
  }

  describe("against `npm start`", () => {
    let server: RunningServer;
    // inside the repo, so that the examples' imports (openai, ollama, @anthropic-ai/sdk) resolve from node_modules
    const jsDir = path.join(REPO_ROOT, `.readme-examples-${process.pid}`);
    const removeJsDir = () => rmSync(jsDir, { recursive: true, force: true });
    before(async () => {
      const home = tempDirUntilExit("corral-readme-home-");
      // what `npm start` runs, with the user's home, corral cache (the demo model) and hub cache replaced
      server = await startServer([], {
        env: { HOME: home, XDG_CACHE_HOME: path.join(home, ".cache"), LLAMA_CACHE: tempDirUntilExit("corral-readme-hub-") },
        timeoutMs: 120_000,
      });
      mkdirSync(jsDir, { recursive: true });
      process.on("exit", removeJsDir);
    });
    after(async () => {
      removeJsDir();
      await server?.stop();
    });

    test("the start-up log shows the web UI's address and a request that works as printed", async () => {
      assert.ok(server.output().includes(`web UI: ${server.url}/`), server.output());
      const tryLine = /^I try: (curl .*)$/m.exec(server.output());
      assert.ok(tryLine, server.output());
      assert.match(tryLine[1]!, /"model":"corral-demo"/, "the demo model is the example's model");
      const r = await runSh(tryLine[1]!);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const answer = JSON.parse(r.stdout) as { choices: Array<{ message: { content: string } }> };
      assert.equal(typeof answer.choices[0]!.message.content, "string");
    });

    for (const b of blocks.filter((x) => x.mark === "run")) {
      test(`README.md:${b.line}: ${firstLine(b).slice(0, 80)}`, async () => {
        const code = b.code.replaceAll(README_URL, server.url);
        if (b.lang === "js" || b.lang === "mjs") {
          const file = path.join(jsDir, `line-${b.line}.mjs`);
          writeFileSync(file, code);
          const r = await run(process.execPath, [file], REPO_ROOT);
          assert.equal(r.code, 0, `README.md:${b.line} failed:\n${r.stderr}\n${r.stdout}`);
          assert.ok(r.stdout.trim().length > 0, `README.md:${b.line} printed nothing`);
        } else {
          const r = await runSh(code);
          assert.equal(r.code, 0, `README.md:${b.line} failed:\n${r.stderr}\n${r.stdout}`);
          assertJsonAnswers(r.stdout, `README.md:${b.line}`);
        }
      });
    }
  });
});
