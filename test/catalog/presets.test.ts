import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parsePresets, PresetError } from "../../src/catalog/presets.js";

const FILE = "/etc/corral/presets.ini";

describe("--models-preset INI", () => {
  test("sections, every key spelling, booleans, comments and preset-only keys", () => {
    const p = parsePresets(
      [
        "version = 1",
        "; a comment",
        "[*]",
        "c = 8192          ; inline comment",
        "LLAMA_ARG_N_GPU_LAYERS = 99",
        "top_p = 0.9",
        "",
        "[qwen-chat]",
        "model = models/qwen.gguf",
        "ctx-size = 4096",
        "no-jinja = true",
        "metrics = on",
        "alias = qwen, chat",
        "tags = fast,small",
        "ttl = 300",
        "pin = 1",
        "load-on-startup = true",
        "stop-timeout = 5",
        "env = CUDA_VISIBLE_DEVICES=1",
        "env = FOO=a=b",
        "chat-template-file = tpl/chatml.jinja",
        "chat-template = {% for m in messages %}#{{ m.content }}{% endfor %}",
        "[ggml-org/tinygemma3-GGUF:Q8_0]",
        "hf-repo = ggml-org/tinygemma3-GGUF:Q8_0",
      ].join("\n"),
      FILE,
    );
    assert.deepEqual(p.global!.options, { ctxSize: 8192, nGpuLayers: 99, topP: 0.9 });
    const q = p.models[0]!;
    assert.equal(q.name, "qwen-chat");
    assert.equal(q.extras.model, "/etc/corral/models/qwen.gguf", "relative paths resolve against the INI's folder");
    assert.equal(q.options.ctxSize, 4096);
    assert.equal(q.options.jinja, false, "a negated key stores the positive option as false");
    assert.equal(q.options.metrics, true);
    assert.equal(q.options.chatTemplateFile, "/etc/corral/tpl/chatml.jinja");
    assert.equal(q.options.chatTemplate, "{% for m in messages %}#{{ m.content }}{% endfor %}", "# inside a value is not a comment");
    assert.deepEqual(q.extras.aliases, ["qwen", "chat"]);
    assert.deepEqual(q.extras.tags, ["fast", "small"]);
    assert.equal(q.extras.ttlS, 300);
    assert.equal(q.extras.pin, true);
    assert.equal(q.extras.loadOnStartup, true);
    assert.equal(q.extras.stopTimeoutS, 5);
    assert.deepEqual(q.extras.env, { CUDA_VISIBLE_DEVICES: "1", FOO: "a=b" });
    assert.equal(p.models[1]!.name, "ggml-org/tinygemma3-GGUF:Q8_0");
    assert.equal(p.models[1]!.extras.hfRepo, "ggml-org/tinygemma3-GGUF:Q8_0");
  });

  test("mistakes stop with file:line and the key", () => {
    const bad = (text: string, re: RegExp) =>
      assert.throws(() => parsePresets(text, FILE), (e: unknown) => e instanceof PresetError && re.test(e.message), text);
    bad("[a]\nc = lots", /presets\.ini:2: 'c': expected an integer/);
    bad("[a]\nmetrics = maybe", /presets\.ini:2: 'metrics': expected a boolean/);
    bad("[a]\njust some words", /presets\.ini:2: expected 'key = value'/);
    bad("c = 1\n[a]", /presets\.ini:1: key 'c' is outside any \[section\]/);
    bad("[a]\n[a]", /presets\.ini:2: section \[a\] appears twice/);
    bad("[a]\nport = 9000", /presets\.ini:2: 'port' cannot be set in a preset/);
    bad("[a]\nenv = no-equals", /presets\.ini:2: 'env' must be KEY=VALUE/);
    bad("[a]\nttl = -1", /presets\.ini:2: 'ttl' must be a number of seconds/);
  });

  test("keys corral does not know are kept for llama-server children, with their arity where it is known", () => {
    const p = parsePresets("[a]\nmirostat = 2\nno-warmup = true\ncont-batching = false\nfrobnicate = 1\nspec-thing = on\nLLAMA_ARG_FOO_BAR = 7\n", FILE);
    const s = p.models[0]!;
    assert.deepEqual(s.passthrough.map((x) => x.args), [["--mirostat", "2"], ["--no-warmup"], ["--no-cont-batching"], ["--frobnicate", "1"], ["--spec-thing"]]);
    assert.deepEqual(s.passthrough.map((x) => x.known), [true, true, true, false, false]);
    assert.equal(s.passthrough[3]!.where, `${FILE}:5`);
    assert.deepEqual(s.argEnv, { LLAMA_ARG_FOO_BAR: "7" }, "unknown LLAMA_ARG_* keys reach the child as environment");
  });

  test("engine keys: engine, llama-server, cmd, proxy, health, stop-signal, api-key", () => {
    const p = parsePresets("[a]\nengine = node\nllama-server = bin/ls\ncmd = srv --port ${PORT}\nproxy = http://127.0.0.1:${PORT}\nhealth = /ready\nstop-signal = SIGINT\napi-key = k\n", FILE);
    const x = p.models[0]!.extras;
    assert.equal(x.engine, "node");
    assert.ok(x.llamaServer!.endsWith("/bin/ls") && x.llamaServer!.startsWith("/"), "a relative path is resolved against the INI's folder");
    assert.equal(x.cmd, "srv --port ${PORT}");
    assert.equal(x.proxy, "http://127.0.0.1:${PORT}");
    assert.equal(x.health, "/ready");
    assert.equal(x.stopSignal, "SIGINT");
    assert.equal(x.apiKey, "k");
    const bad = (text: string, re: RegExp) =>
      assert.throws(() => parsePresets(text, FILE), (e: unknown) => e instanceof PresetError && re.test(e.message), text);
    bad("[a]\nengine = vllm", /presets\.ini:2: 'engine' must be one of auto, node, llama-server/);
    bad("[a]\nproxy = ftp://x", /presets\.ini:2: 'proxy' must be an http/);
    bad("[a]\nstop-signal = TERM", /presets\.ini:2: 'stop-signal' must be a signal name/);
  });

  test("CRLF line endings", () => {
    const p = parsePresets("[a]\r\nc = 512\r\n", FILE);
    assert.equal(p.models[0]!.options.ctxSize, 512);
  });
});
