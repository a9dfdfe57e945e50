// The small formats and policies behind the implemented llama-server flags, checked without a model: value
// parsers, escapes, KV overrides, context shift arithmetic, the API prefix, static files and the logger.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { parseKvOverride, parseLogitBias, parseLoraScaled, processEscapes } from "../../src/options/value-formats.js";
import { metadataOverrides } from "../../src/model-server/engine/engine-options.js";
import { contextShiftDiscard, contextShiftKeep } from "../../src/model-server/generation/sequence-options.js";
import { drySequenceBreakers, dryPenalty, xtcSampler } from "../../src/model-server/requests/server-defaults.js";
import { stripApiPrefix } from "../../src/util/api-prefix.js";
import { staticFile } from "../../src/util/static-files.js";
import { createLogger, formatElapsed } from "../../src/util/log.js";
import { tempDirUntilExit } from "../../src/util/temp-dir.js";

describe("flag value formats", () => {
  test("logit bias, LoRA scale and KV override items", () => {
    assert.deepEqual(parseLogitBias("15043+1"), { token: 15043, bias: 1 });
    assert.deepEqual(parseLogitBias("15043-0.5"), { token: 15043, bias: -0.5 });
    assert.deepEqual(parseLogitBias("2-inf"), { token: 2, bias: -Infinity });
    assert.deepEqual(parseLoraScaled("/m/a.gguf:0.75"), { file: "/m/a.gguf", scale: 0.75 });
    assert.deepEqual(parseKvOverride("tokenizer.ggml.add_bos_token=bool:false"), { key: "tokenizer.ggml.add_bos_token", type: "bool", value: false });
    assert.deepEqual(parseKvOverride("llama.context_length=int:512"), { key: "llama.context_length", type: "int", value: 512n });
    assert.deepEqual(parseKvOverride("general.name=str:a=b:c"), { key: "general.name", type: "str", value: "a=b:c" });
  });

  test("escapes as llama.cpp reads them; unknown ones stay", () => {
    assert.equal(processEscapes("a\\nb\\tc\\\\d\\\"e\\x41\\q"), "a\nb\tc\\d\"eA\\q");
  });

  test("KV overrides become node-llama-cpp's nested object, whole floats kept floats", () => {
    const o = metadataOverrides(["llama.context_length=int:512", "llama.rope.freq_base=float:10000", "general.name=str:x", "a.b=float:0.5"]) as any;
    assert.equal(o.llama.context_length, 512n);
    assert.equal(o.general.name, "x");
    assert.equal(o.a.b, 0.5);
    const base = o.llama.rope.freq_base as number;
    assert.ok(!Number.isInteger(base) && Math.fround(base) === 10000, `${base} must read back as the f32 10000 without being an integer`);
  });

  test("context shift keeps n_keep (+BOS, the whole prompt for -1) and halves the rest", () => {
    assert.equal(contextShiftKeep(0, 10, true, 64), 1);
    assert.equal(contextShiftKeep(4, 10, false, 64), 4);
    assert.equal(contextShiftKeep(-1, 10, true, 64), 11);
    assert.equal(contextShiftKeep(100, 10, false, 64), 60, "leaves 4 tokens of room");
    assert.equal(contextShiftDiscard(63, 1), 31);
    assert.equal(contextShiftDiscard(5, 4), 0, "never everything after n_keep");
  });

  test("DRY and XTC settings, and when they are off", () => {
    assert.equal(dryPenalty({ multiplier: 0, base: 1.75, allowedLength: 2, lastN: 64 }), undefined);
    assert.equal(dryPenalty({ multiplier: 0.8, base: 1.75, allowedLength: 2, lastN: 0 }), undefined);
    assert.deepEqual(dryPenalty({ multiplier: 0.8, base: 2, allowedLength: 3, lastN: -1 }), { strength: 0.8, base: 2, allowedLength: 3, lastTokens: null });
    assert.deepEqual(drySequenceBreakers(["\\n", "x"], true), ["\n", "x"]);
    assert.deepEqual(drySequenceBreakers(["\\n"], false), ["\\n"]);
    assert.deepEqual(drySequenceBreakers(["x", "none"], true), []);
    assert.equal(drySequenceBreakers(undefined, true), undefined);
    assert.equal(xtcSampler(0, 0.1), undefined);
    assert.equal(xtcSampler(0.5, 0.6), undefined, "a threshold above 0.5 turns XTC off");
    assert.deepEqual(xtcSampler(0.5, 0.1), { probability: 0.5, threshold: 0.1 });
  });

  test("API prefix: only URLs under it, stripped", () => {
    assert.equal(stripApiPrefix("/api", "/api/health"), "/health");
    assert.equal(stripApiPrefix("/api", "/api"), "/");
    assert.equal(stripApiPrefix("/api", "/api?x=1"), "/?x=1");
    assert.equal(stripApiPrefix("/api", "/apiary/health"), undefined);
    assert.equal(stripApiPrefix("/api", "/health"), undefined);
    assert.equal(stripApiPrefix(undefined, "/health"), "/health");
  });

  test("static files: index.html for directories, nothing outside the folder", () => {
    const dir = tempDirUntilExit("corral-static-");
    mkdirSync(path.join(dir, "sub"));
    writeFileSync(path.join(dir, "index.html"), "<p>home</p>");
    writeFileSync(path.join(dir, "sub", "app.js"), "1");
    writeFileSync(path.join(os.tmpdir(), "corral-secret.txt"), "secret");
    assert.equal(staticFile(dir, "/")?.body.toString(), "<p>home</p>");
    assert.equal(staticFile(dir, "/")?.type, "text/html; charset=utf-8");
    assert.equal(staticFile(dir, "/sub/app.js")?.type, "text/javascript; charset=utf-8");
    assert.equal(staticFile(dir, "/../corral-secret.txt"), undefined);
    assert.equal(staticFile(dir, "/%2e%2e/corral-secret.txt"), undefined);
    assert.equal(staticFile(dir, "/missing"), undefined);
  });
});

describe("logger flags", () => {
  const capture = () => {
    const out = new PassThrough();
    let text = "";
    out.on("data", (d: Buffer) => (text += d.toString()));
    return { out, text: () => text };
  };

  test("verbosity: 1 errors, 2 warnings, 3 info, 5 debug; -v shows all", () => {
    for (const [verbosity, expected] of [[1, ["E"]], [2, ["W", "E"]], [3, ["I", "W", "E"]], [5, ["D", "I", "W", "E"]]] as const) {
      const c = capture();
      const log = createLogger({ format: "text", verbose: false, verbosity }, c.out);
      log.debug("d");
      log.info("i");
      log.warn("w");
      log.error("e");
      assert.deepEqual(c.text().trim().split("\n").map((l) => l[0]), expected, `verbosity ${verbosity}`);
    }
    const c = capture();
    createLogger({ format: "text", verbose: true, verbosity: 1 }, c.out).debug("d");
    assert.equal(c.text(), "D d\n");
  });

  test("--log-disable, --no-log-prefix, --log-timestamps, --log-colors on", () => {
    const off = capture();
    createLogger({ format: "text", verbose: true, disable: true }, off.out).error("nothing");
    assert.equal(off.text(), "");
    const bare = capture();
    createLogger({ format: "text", verbose: false, levelPrefix: false }, bare.out).info("hello");
    assert.equal(bare.text(), "hello\n");
    const timed = capture();
    createLogger({ format: "text", verbose: false, timestamps: true }, timed.out).warn("late");
    assert.match(timed.text(), /^\d+\.\d\d\.\d\d\d\.\d\d\d W late\n$/);
    const colored = capture();
    createLogger({ format: "text", verbose: false, colors: "on" }, colored.out).error("bad");
    assert.equal(colored.text(), "\x1b[31mE\x1b[0m \x1b[31mbad\x1b[0m\n");
    const auto = capture();
    createLogger({ format: "text", verbose: false, colors: "auto" }, auto.out).info("pipe");
    assert.equal(auto.text(), "I pipe\n", "auto: no colors on a pipe");
    assert.equal(formatElapsed(61_002_003), "1.01.002.003");
  });

  test("--log-file gets the same lines, without colors, and is emptied first", () => {
    const file = path.join(tempDirUntilExit("corral-log-"), "x.log");
    writeFileSync(file, "old content\n");
    const c = capture();
    const log = createLogger({ format: "text", verbose: false, colors: "on", file }, c.out);
    log.info("one");
    log.debug("hidden");
    log.warn("two");
    assert.equal(readFileSync(file, "utf8"), "I one\nW two\n");
    assert.throws(() => createLogger({ format: "text", verbose: false, file: path.join(file, "no", "such") }), /cannot open --log-file/);
  });
});
