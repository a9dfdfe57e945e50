import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseArgs, CliError } from "../../src/options/parse.js";
import { helpText, markdownFlagTable } from "../../src/cli/help.js";
import { OPTIONS, ACCEPTED_UNIMPLEMENTED } from "../../src/options/options.js";
import { REPO_ROOT, runCorral } from "../helpers/server.js";

describe("command line", () => {
  test("short, long and --flag=value spellings", () => {
    const { options } = parseArgs(["-m", "a.gguf", "-c", "2048", "--parallel=3", "-ngl", "99", "--temp", "0.5", "-a", "x,y", "--no-jinja", "--api-key", "k1, k2"], {});
    assert.equal(options.model, "a.gguf");
    assert.equal(options.ctxSize, 2048);
    assert.equal(options.parallel, 3);
    assert.equal(options.nGpuLayers, 99);
    assert.equal(options.temp, 0.5);
    assert.deepEqual(options.alias, ["x", "y"]);
    assert.equal(options.jinja, false);
    assert.deepEqual(options.apiKey, ["k1", "k2"]);
  });

  test("defaults match llama-server's", () => {
    const { options } = parseArgs([], {});
    assert.equal(options.host, "127.0.0.1");
    assert.equal(options.port, 8080);
    assert.equal(options.parallel, 1);
    assert.equal(options.jinja, true);
    assert.equal(options.nGpuLayers, undefined, "CPU by default");
  });

  test("LLAMA_ARG_* environment variables, overridden by the command line", () => {
    const env = { LLAMA_ARG_CTX_SIZE: "1234", LLAMA_ARG_PORT: "9000", LLAMA_API_KEY: "secret", LLAMA_ARG_ENDPOINT_METRICS: "1" };
    const { options, explicit } = parseArgs(["--port", "9001"], env);
    assert.equal(options.ctxSize, 1234);
    assert.equal(options.port, 9001);
    assert.deepEqual(options.apiKey, ["secret"]);
    assert.equal(options.metrics, true);
    assert.ok(explicit.has("ctxSize"));
    assert.throws(() => parseArgs([], { LLAMA_ARG_THREADS: "many" }), /LLAMA_ARG_THREADS: expected an integer/);
  });

  test("unknown flags are errors; llama-server flags corral lacks are warnings", () => {
    assert.throws(() => parseArgs(["--bogus"], {}), (e: unknown) => e instanceof CliError && /unknown argument: --bogus/.test(e.message));
    assert.throws(() => parseArgs(["stray"], {}), /unexpected argument: stray/);
    const { warnings, options, passthrough } = parseArgs(["-cb", "--mirostat", "2", "-c", "512"], {});
    assert.equal(warnings.length, 2);
    assert.equal(warnings[1], "corral's built-in engine ignores --mirostat; the llama-server engine (--engine llama-server) supports it (a router passes it to its llama-server models as given)");
    assert.equal(options.ctxSize, 512, "the value of an ignored flag is consumed, not taken as the next flag");
    assert.deepEqual(passthrough, ["-cb", "--mirostat", "2"]);
  });

  test("values are checked: type, range, choices, missing", () => {
    assert.throws(() => parseArgs(["-c", "1.5"], {}), /-c: expected an integer/);
    assert.throws(() => parseArgs(["--top-p", "2"], {}), /--top-p: must be <= 1/);
    assert.throws(() => parseArgs(["--log-format", "xml"], {}), /must be one of text, json/);
    assert.throws(() => parseArgs(["--port"], {}), /--port: expected a value/);
    assert.throws(() => parseArgs(["--metrics=maybe"], {}), /expected a boolean/);
  });

  test("no spelling is claimed twice", () => {
    const seen = new Set<string>();
    for (const spec of OPTIONS) {
      for (const n of [...spec.names, ...(spec.negNames ?? [])]) {
        assert.ok(!seen.has(n), `${n} appears twice`);
        assert.ok(ACCEPTED_UNIMPLEMENTED[n] === undefined, `${n} is both implemented and listed as unimplemented`);
        seen.add(n);
      }
    }
  });

  test("--help lists every option, and the README's flag table is the generated one", () => {
    const help = helpText();
    for (const spec of OPTIONS) for (const n of spec.names) assert.ok(help.includes(n), `--help lacks ${n}`);
    const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
    assert.ok(readme.includes(markdownFlagTable()), "README flag table is out of date: run `npm run docs`");
  });

  test("bin/corral --help, --version and a bad flag", async () => {
    const help = await runCorral(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--n-gpu-layers/);
    const version = await runCorral(["--version"]);
    assert.match(version.stdout, /^corral \d+\.\d+\.\d+/);
    const bad = await runCorral(["--frobnicate"]);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.split("\n")[0], "corral: error: unknown argument: --frobnicate");
  });
});
