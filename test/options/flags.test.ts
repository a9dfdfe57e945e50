// The llama-server flags corral implements beyond the basics: parsing, checking, environment variables, and how a
// router hands them to its model processes.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseArgs, CliError } from "../../src/options/parse.js";
import { checkCombinations } from "../../src/options/combinations.js";
import { modelOptionsFrom, renderChildArgs } from "../../src/options/child-args.js";
import { ACCEPTED_UNIMPLEMENTED, OPTIONS } from "../../src/options/options.js";
import { parsePresets } from "../../src/catalog/presets.js";

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseArgs(argv, env).options;
const rejects = (argv: string[], message: RegExp) =>
  assert.throws(() => parseArgs(argv, {}), (e: unknown) => e instanceof CliError && message.test(e.message), `${argv.join(" ")} should fail with ${message}`);

describe("implemented llama-server flags", () => {
  test("repeatable flags add up: -r keeps commas, --lora and --override-kv split them", () => {
    const o = parse(["-r", "User:", "--reverse-prompt", "a, b", "--lora", "a.gguf", "--lora", "b.gguf,c.gguf",
      "--override-kv", "x.y=int:3,z=bool:false", "--override-kv", "w=str:hi", "-l", "15+1", "-l", "16-inf"]);
    assert.deepEqual(o.reversePrompt, ["User:", "a, b"]);
    assert.deepEqual(o.lora, ["a.gguf", "b.gguf", "c.gguf"]);
    assert.deepEqual(o.overrideKv, ["x.y=int:3", "z=bool:false", "w=str:hi"]);
    assert.deepEqual(o.logitBias, ["15+1", "16-inf"]);
  });

  test("a repeatable flag on the command line replaces its environment variable's value, as any flag does", () => {
    const env = { LLAMA_ARG_SPEC_DRAFT_MODEL: "env-draft.gguf", LLAMA_ARG_CACHE_TYPE_K: "q4_0" };
    assert.equal(parse([], env).modelDraft, "env-draft.gguf");
    assert.equal(parse([], env).cacheTypeK, "q4_0");
    assert.equal(parse(["-md", "cli.gguf"], env).modelDraft, "cli.gguf");
  });

  test("--lora-scaled takes FILE:SCALE lists, and the older FILE SCALE pair", () => {
    assert.deepEqual(parse(["--lora-scaled", "a.gguf:0.5,b.gguf:2"]).loraScaled, ["a.gguf:0.5", "b.gguf:2"]);
    assert.deepEqual(parse(["--lora-scaled", "a.gguf", "0.25", "-c", "64"]).loraScaled, ["a.gguf:0.25"]);
    assert.deepEqual(parse(["--lora-scaled", "C:\\m\\a.gguf:0.5"]).loraScaled, ["C:\\m\\a.gguf:0.5"]);
    rejects(["--lora-scaled", "a.gguf"], /--lora-scaled: expected FILE:SCALE/);
    rejects(["--lora-scaled", "a.gguf", "--port", "1"], /--lora-scaled: expected FILE:SCALE/);
    rejects(["--lora-scaled", "a.gguf:big"], /expected FILE:SCALE/);
  });

  test("values are checked where llama.cpp would refuse them", () => {
    rejects(["-l", "15"], /-l: expected TOKEN_ID\+BIAS/);
    rejects(["--logit-bias", "word+1"], /expected TOKEN_ID/);
    rejects(["--override-kv", "a=float:x"], /'a': expected a number/);
    rejects(["--override-kv", "a=list:1"], /KEY=TYPE:VALUE/);
    rejects(["-j", "[1]"], /-j: expected a JSON object/);
    rejects(["--json-schema", "{bad"], /expected a JSON object/);
    rejects(["--chat-template-kwargs", "enable_thinking"], /--chat-template-kwargs: expected a JSON object/);
    rejects(["-ctk", "q9_0"], /-ctk: must be one of f32, f16, bf16, q8_0/);
    rejects(["--api-prefix", "api"], /--api-prefix: expected a path that starts with \//);
    rejects(["--api-prefix", "/api/"], /does not end with/);
    rejects(["--sleep-idle-seconds", "0"], /must be -1 \(never\) or at least 1/);
    rejects(["--sleep-idle-seconds", "-2"], /must be >= -1/);
    rejects(["--log-colors", "maybe"], /--log-colors: expected on, off or auto/);
    rejects(["-ngld", "many"], /-ngld: expected a number of layers, auto or all/);
    rejects(["--draft-max", "0"], /must be >= 1/);
    rejects(["--dry-base", "0.5"], /--dry-base: must be >= 1/);
    rejects(["--xtc-probability", "1.5"], /must be <= 1/);
    rejects(["-sps", "2"], /must be <= 1/);
    assert.throws(() => parseArgs([], { LLAMA_ARG_LOG_COLORS: "blue" }), /LLAMA_ARG_LOG_COLORS: expected on, off or auto/);
    const ok = parse(["-ngld", "all", "--log-colors", "1", "--api-prefix", "/v2/llm", "--sleep-idle-seconds", "-1", "-ctv", "q4_0"]);
    assert.equal(ok.gpuLayersDraft, "all");
    assert.equal(ok.apiPrefix, "/v2/llm");
  });

  test("old and new spellings of the draft flags reach the same options", () => {
    const a = parse(["--draft-max", "8", "--draft-min", "2", "--model-draft", "d.gguf", "--gpu-layers-draft", "3"]);
    const b = parse(["--spec-draft-n-max", "8", "--spec-draft-n-min", "2", "--spec-draft-model", "d.gguf", "--spec-draft-ngl", "3"]);
    assert.deepEqual([a.draftMax, a.draftMin, a.modelDraft, a.gpuLayersDraft], [8, 2, "d.gguf", "3"]);
    assert.deepEqual([b.draftMax, b.draftMin, b.modelDraft, b.gpuLayersDraft], [8, 2, "d.gguf", "3"]);
  });

  test("booleans with both spellings, and llama-server's defaults", () => {
    const d = parse([]);
    assert.deepEqual([d.contextShift, d.escape, d.special, d.logPrefix, d.swaFull, d.ignoreEos, d.props], [false, true, false, true, false, false, false]);
    assert.deepEqual([d.draftMax, d.dryPenaltyLastN, d.xtcThreshold, d.slotPromptSimilarity, d.sleepIdleSeconds, d.verbosity], [3, 64, 0.1, 0.1, -1, 3]);
    const o = parse(["--context-shift", "--no-escape", "-sp", "--no-log-prefix", "--log-timestamps", "--swa-full", "--ignore-eos", "--props"]);
    assert.deepEqual([o.contextShift, o.escape, o.special, o.logPrefix, o.logTimestamps, o.swaFull, o.ignoreEos, o.props], [true, false, true, false, true, true, true, true]);
    assert.equal(parse(["--no-context-shift"], { LLAMA_ARG_CONTEXT_SHIFT: "1" }).contextShift, false);
  });

  test("-dt is accepted with llama-server's deprecation warning, not the 'ignored' one", () => {
    const { warnings, options } = parseArgs(["-dt", "0.1"], {});
    assert.equal(options.defragThold, 0.1);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^-dt: deprecated and no longer necessary/);
  });

  test("combinations: both TLS files or neither; one default grammar", () => {
    const check = (argv: string[]) => () => checkCombinations(parse(argv));
    assert.throws(check(["--ssl-key-file", "k.pem"]), /--ssl-key-file needs --ssl-cert-file/);
    assert.throws(check(["--ssl-cert-file", "c.pem"]), /--ssl-cert-file needs --ssl-key-file/);
    assert.throws(check(["--grammar", "root ::= \"a\"", "-j", "{}"]), /--grammar and --json-schema: give only one default grammar/);
    checkCombinations(parse(["--ssl-key-file", "k.pem", "--ssl-cert-file", "c.pem", "--grammar-file", "g.gbnf"]));
  });

  test("a router hands model flags to its children and keeps its own (logging, prefix, TLS, static files)", () => {
    const argv = ["--log-file", "/tmp/x.log", "-lv", "2", "--api-prefix", "/api", "--ssl-key-file", "k", "--ssl-cert-file", "c", "--path", "ui",
      "-r", "a,b", "-r", "c", "--lora", "l1.gguf,l2.gguf", "--lora-scaled", "s.gguf", "0.5", "-md", "d.gguf", "-cd", "256",
      "--context-shift", "--no-escape", "-ctk", "q8_0", "--chat-template-kwargs", "{\"x\": 1}", "--sleep-idle-seconds", "30", "--verbose-prompt"];
    const { options, fromArgv } = parseArgs(argv, {});
    const child = modelOptionsFrom(options, fromArgv);
    for (const key of ["logFile", "verbosity", "apiPrefix", "sslKeyFile", "sslCertFile", "path"] as const) assert.ok(!(key in child), `${key} stays with the router`);
    const node = renderChildArgs(child, "node");
    const server = renderChildArgs(child, "llama-server");
    // every value survives the trip through a child's command line
    const reparsed = parseArgs(node, {}).options;
    for (const key of ["reversePrompt", "lora", "loraScaled", "modelDraft", "ctxSizeDraft", "contextShift", "escape", "cacheTypeK", "chatTemplateKwargs", "sleepIdleSeconds"] as const) {
      assert.deepEqual(reparsed[key], options[key], key);
    }
    assert.deepEqual(node.slice(node.indexOf("--reverse-prompt"), node.indexOf("--reverse-prompt") + 4), ["--reverse-prompt", "a,b", "--reverse-prompt", "c"]);
    assert.ok(server.includes("--spec-draft-model") && server.includes("--no-escape"), "llama-server children get the spellings llama-server reads");
    for (const own of ["--ctx-size-draft", "--verbose-prompt"]) assert.ok(node.includes(own) && !server.includes(own), `${own}: llama-server no longer has it`);
    assert.deepEqual(server.slice(server.indexOf("--lora-scaled"), server.indexOf("--lora-scaled") + 2), ["--lora-scaled", "s.gguf:0.5"]);
  });

  test("preset keys: the new options, with paths resolved against the INI's folder", () => {
    const p = parsePresets("[a]\nlora = ad.gguf\nlora-scaled = b.gguf:0.5\nslot-save-path = saves\nreverse-prompt = User:\n" +
      "model-draft = d.gguf\ncache-type-k = q8_0\ncontext-shift = on\nLLAMA_ARG_SPEC_DRAFT_N_MAX = 5\n", "/etc/corral/p.ini");
    assert.deepEqual(p.models[0]!.options, {
      lora: ["/etc/corral/ad.gguf"], loraScaled: ["/etc/corral/b.gguf:0.5"], slotSavePath: "/etc/corral/saves", reversePrompt: ["User:"],
      modelDraft: "/etc/corral/d.gguf", cacheTypeK: "q8_0", contextShift: true, draftMax: 5,
    });
    assert.throws(() => parsePresets("[a]\nlog-file = x.log\n", "p.ini"), /'log-file' cannot be set in a preset/);
  });

  test("no flag is both implemented and listed as ignored, and the list is less than half of what it was", () => {
    const spellings = new Set(OPTIONS.flatMap((o) => [...o.names, ...(o.negNames ?? [])]));
    for (const name of Object.keys(ACCEPTED_UNIMPLEMENTED)) assert.ok(!spellings.has(name), `${name} is both`);
    // the 95 llama-server flags (counting a flag once whatever its spellings) that corral accepted and ignored
    // before this work: each implemented one now has a spelling in the table
    const before = [["-tb"], ["-C"], ["-Cr"], ["--cpu-strict"], ["--prio"], ["--poll"], ["-ctk"], ["-ctv"], ["--rope-scaling"], ["--rope-scale"],
      ["--rope-freq-base"], ["--rope-freq-scale"], ["--yarn-orig-ctx"], ["--keep"], ["-dev"], ["-sm"], ["-ts"], ["-mg"], ["--override-kv"],
      ["--lora"], ["--lora-scaled"], ["--control-vector"], ["-md"], ["--draft-max"], ["--draft-min"], ["-ngld"], ["-cd"], ["--mmproj"],
      ["--mmproj-url"], ["-hft"], ["-mu"], ["--path"], ["--api-prefix"], ["--ssl-key-file"], ["--ssl-cert-file"], ["--threads-http"],
      ["--cache-reuse"], ["-sps"], ["--slot-save-path"], ["--reasoning-format"], ["--reasoning-budget"], ["--chat-template-kwargs"], ["-lv"],
      ["--log-file"], ["--grammar"], ["--grammar-file"], ["-j"], ["--samplers"], ["--sampling-seq"], ["--typical"], ["--dry-multiplier"],
      ["--dry-base"], ["--dry-allowed-length"], ["--dry-penalty-last-n"], ["--mirostat"], ["--mirostat-lr"], ["--mirostat-ent"], ["-l"],
      ["--xtc-probability"], ["--xtc-threshold"], ["--dynatemp-range"], ["--dynatemp-exp"], ["--top-nsigma"], ["--sleep-idle-seconds"],
      ["--media-path"], ["-cram"], ["--n-cpu-moe"], ["-ot"], ["--numa"], ["-dt"], ["--tags"], ["--webui-config"], ["--webui-config-file"],
      ["-r"], ["--log-colors"], ["-cb", "-nocb"], ["-nkvo"], ["--no-warmup"], ["--check-tensors"], ["--context-shift", "--no-context-shift"],
      ["--log-disable"], ["--log-prefix"], ["--log-timestamps"], ["--no-perf"], ["-sp"], ["--cpu-moe"], ["-kvu"], ["--props"],
      ["--no-op-offload"], ["--swa-full"], ["--ignore-eos"], ["-e", "--no-escape"], ["--verbose-prompt"], ["--rerank"], ["--no-prefill-assistant"]];
    assert.equal(before.length, 95);
    for (const s of before) assert.ok(s.some((n) => spellings.has(n) || ACCEPTED_UNIMPLEMENTED[n] !== undefined), `${s[0]} is no longer accepted at all`);
    const stillIgnored = before.filter((spellings) => spellings.some((n) => ACCEPTED_UNIMPLEMENTED[n] !== undefined));
    assert.ok(stillIgnored.length <= 47, `${stillIgnored.length} of 95 flags are still ignored: ${stillIgnored.map((s) => s[0]).join(" ")}`);
  });
});
