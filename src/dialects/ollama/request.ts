// Ollama's native requests (/api/chat, /api/generate, /api/embed, /api/embeddings) as OpenAI chat-completions,
// completions or embeddings bodies. Pure functions, shared by `corral -m` and the router.
import { ApiError } from "../../http/errors.js";
import { type Json, type JsonObject, optArray, optBool, optNumber, optObject, optString, requireObjectBody, typeName } from "../../http/validate.js";
import { fail, isObject } from "../fields.js";

import type { KeepAlive } from "../../util/keep-alive.js";

export type { KeepAlive };

export interface OllamaTranslated {
  /** As the client named it (with any ":tag"); the caller resolves it. */
  model: string;
  stream: boolean;
  /** Milliseconds, "forever" (a negative keep_alive), or undefined (the server's default). */
  keepAlive: KeepAlive | undefined;
  path: "/v1/chat/completions" | "/v1/completions";
  openai: JsonObject;
  /** Ollama's load/unload idiom: a chat without messages, a generate without a prompt. Nothing is generated. */
  loadOnly: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// keep_alive

const DURATION_UNITS_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, "μs": 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
const GO_DURATION = /^[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;
const DURATION_PART = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;
const PLAIN_NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)$/;

/**
 * keep_alive in milliseconds: a number of seconds (also as a string), or a Go duration ("5m", "1h30m", "500ms").
 * Negative means keep the model loaded for good, 0 unload it now. A duration below a millisecond still counts as
 * one, so that it does not turn into an unload.
 */
export function parseKeepAlive(v: unknown): KeepAlive | undefined {
  if (v === undefined || v === null) return undefined;
  let ms: number | undefined;
  if (typeof v === "number" && Number.isFinite(v)) ms = v * 1000;
  else if (typeof v === "string") {
    const s = v.trim();
    if (PLAIN_NUMBER.test(s)) ms = Number(s) * 1000;
    else if (GO_DURATION.test(s)) {
      ms = 0;
      for (const [, n, unit] of s.matchAll(DURATION_PART)) ms += Number(n) * DURATION_UNITS_MS[unit!]!;
      if (s.startsWith("-")) ms = -ms;
    }
  }
  if (ms === undefined) {
    throw new ApiError(400, `'keep_alive' must be a number of seconds or a duration such as "5m", "1h30m", "10s" (negative keeps the model loaded), got ${typeName(v)}`);
  }
  if (ms < 0) return "forever";
  if (ms === 0) return 0;
  return Math.max(1, Math.round(ms));
}

// ---------------------------------------------------------------------------------------------------------------
// /api/chat and /api/generate

export function ollamaChatRequest(raw: unknown): OllamaTranslated {
  const body = requireObjectBody(raw);
  const common = readCommon(body, "chat");
  const list = body["messages"];
  if (list !== undefined && list !== null && !Array.isArray(list)) fail("messages", `must be an array, got ${typeName(list)}`);
  const messages = readMessages((list as Json[] | null | undefined) ?? []);
  const openai: JsonObject = { model: common.model, messages, ...common.fields };
  const tools = optArray(body, "tools");
  if (tools && tools.length > 0) openai["tools"] = tools.map((t, i) => readTool(t, `tools[${i}]`));
  Object.assign(openai, readFormat(body, "chat"), readThink(body));
  return { model: common.model, stream: common.stream, keepAlive: common.keepAlive, path: "/v1/chat/completions", openai, loadOnly: messages.length === 0 };
}

/**
 * /api/generate. A templated prompt becomes a chat (the system prompt and the user's prompt, with its images); a
 * `raw` one goes to the completions endpoint as it is. `template` (a per-request Go template) and a non-empty
 * `suffix` (fill-in-the-middle) have no OpenAI counterpart and are refused rather than quietly ignored; `context`
 * (the token ids of an earlier answer, deprecated by Ollama) cannot be honoured and is ignored: clients that send it
 * also send the conversation's text in the prompt.
 */
export function ollamaGenerateRequest(raw: unknown): OllamaTranslated {
  const body = requireObjectBody(raw);
  const rawMode = optBool(body, "raw") ?? false;
  const common = readCommon(body, rawMode ? "completion" : "chat");
  const prompt = optString(body, "prompt") ?? "";
  const system = optString(body, "system");
  const images = readImages(body["images"], "images");
  if (optString(body, "suffix")) fail("suffix", "is not supported (fill-in-the-middle needs the model's own FIM template)");
  if (optString(body, "template")) fail("template", "is not supported: the model's chat template applies (or send raw: true with a formatted prompt)");
  const loadOnly = prompt === "";
  let openai: JsonObject;
  if (rawMode) {
    if (images.length > 0) fail("images", "cannot be used with raw: true");
    openai = { model: common.model, prompt, ...common.fields, ...readFormat(body, "completion") };
  } else {
    const messages: JsonObject[] = [];
    if (system) messages.push({ role: "system", content: system });
    messages.push({ role: "user", content: withImages(prompt, images) });
    openai = { model: common.model, messages, ...common.fields, ...readFormat(body, "chat"), ...readThink(body) };
  }
  return { model: common.model, stream: common.stream, keepAlive: common.keepAlive, path: rawMode ? "/v1/completions" : "/v1/chat/completions", openai, loadOnly };
}

/** The fields /api/chat and /api/generate share: model, stream (on unless turned off), keep_alive, options, logprobs. */
function readCommon(body: JsonObject, kind: "chat" | "completion"): { model: string; stream: boolean; keepAlive: KeepAlive | undefined; fields: JsonObject } {
  const model = readModel(body);
  const stream = optBool(body, "stream") ?? true;
  const keepAlive = parseKeepAlive(body["keep_alive"]);
  const fields: JsonObject = { stream, ...readOptions(body["options"]) };
  // the dialects' last events need the counts, which OpenAI streams give only when asked
  if (stream) fields["stream_options"] = { include_usage: true };
  const top = optNumber(body, "top_logprobs", { int: true, min: 0, max: 20 });
  if (optBool(body, "logprobs")) {
    // Ollama's top_logprobs defaults to none (llama.cpp's chat to 20); completions count the sampled token in theirs
    if (kind === "chat") Object.assign(fields, { logprobs: true, top_logprobs: top ?? 0 });
    else fields["logprobs"] = Math.max(1, top ?? 0);
  }
  return { model, stream, keepAlive, fields };
}

function readModel(body: JsonObject): string {
  const model = body["model"];
  if (model === undefined || model === null || (typeof model === "string" && model.trim() === "")) throw new ApiError(400, "model is required");
  if (typeof model !== "string") return fail("model", `must be a string, got ${typeName(model)}`);
  return model;
}

// ---- options -----------------------------------------------------------------------------------------------------

type OptionKind = "number" | "int" | "bool" | "stop";

/**
 * Ollama's runtime options under their OpenAI or llama.cpp names. Options with no target are load-time settings
 * (context size, GPU layers, threads, batch, memory mapping): one loaded model has them fixed, the router's model
 * configuration (or `corral -m`'s flags) sets them, so a request's values are checked and ignored. tfs_z and
 * penalize_newline are samplers llama.cpp has removed. Unknown keys are ignored, as Ollama does.
 */
const OPTIONS: Record<string, [OptionKind, string?]> = {
  temperature: ["number", "temperature"],
  top_k: ["int", "top_k"],
  top_p: ["number", "top_p"],
  min_p: ["number", "min_p"],
  typical_p: ["number", "typical_p"],
  seed: ["int", "seed"],
  num_predict: ["int", "max_tokens"],
  stop: ["stop", "stop"],
  repeat_penalty: ["number", "repeat_penalty"],
  repeat_last_n: ["int", "repeat_last_n"],
  presence_penalty: ["number", "presence_penalty"],
  frequency_penalty: ["number", "frequency_penalty"],
  mirostat: ["int", "mirostat"],
  mirostat_tau: ["number", "mirostat_tau"],
  mirostat_eta: ["number", "mirostat_eta"],
  num_keep: ["int", "n_keep"],
  tfs_z: ["number"],
  penalize_newline: ["bool"],
  num_ctx: ["int"],
  num_batch: ["int"],
  num_gpu: ["int"],
  main_gpu: ["int"],
  num_thread: ["int"],
  numa: ["bool"],
  low_vram: ["bool"],
  f16_kv: ["bool"],
  logits_all: ["bool"],
  vocab_only: ["bool"],
  use_mmap: ["bool"],
  use_mlock: ["bool"],
  embedding_only: ["bool"],
};

export function readOptions(v: Json | undefined): JsonObject {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) return fail("options", `must be an object, got ${typeName(v)}`);
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(v)) {
    // own keys only: "constructor" or "toString" are unknown options, not the object's methods
    const spec = Object.hasOwn(OPTIONS, key) ? OPTIONS[key] : undefined;
    if (!spec || value === null) continue;
    const [kind, target] = spec;
    const where = `options.${key}`;
    let x: Json;
    if (kind === "stop") {
      if (typeof value === "string") x = [value];
      else if (Array.isArray(value) && value.every((s) => typeof s === "string")) x = value;
      else return fail(where, `must be a string or an array of strings, got ${typeName(value)}`);
    } else if (kind === "bool") {
      if (typeof value !== "boolean") return fail(where, `must be a boolean, got ${typeName(value)}`);
      x = value;
    } else {
      if (typeof value !== "number" || !Number.isFinite(value)) return fail(where, `must be a number, got ${typeName(value)}`);
      // JSON has no integers: Ollama truncates a fractional value for an integer option, so this does too
      x = kind === "int" ? Math.trunc(value) : value;
    }
    if (!target) continue;
    // -1 (no limit) and -2 (fill the context) are the engine's default anyway
    if (key === "num_predict" && (x as number) < 0) continue;
    out[target] = x;
  }
  return out;
}

// ---- format and think ----------------------------------------------------------------------------------------------

/**
 * `format`: "json" or a JSON schema. Chat bodies take OpenAI's response_format; completions bodies take llama.cpp's
 * `json_schema`, which llama-server reads on /v1/completions where it ignores response_format.
 */
function readFormat(body: JsonObject, kind: "chat" | "completion"): JsonObject {
  const f = body["format"];
  if (f === undefined || f === null || f === "") return {};
  if (f === "json") return kind === "chat" ? { response_format: { type: "json_object" } } : { json_schema: { type: "object" } };
  if (!isObject(f)) return fail("format", `must be "json" or a JSON schema object, got ${typeName(f)}`);
  return kind === "chat" ? { response_format: { type: "json_schema", json_schema: { name: "schema", schema: f } } } : { json_schema: f };
}

/**
 * `think` switches a thinking model's reasoning on or off (or sets its effort, for gpt-oss): templates read
 * `enable_thinking` or `reasoning_effort`. The thought is asked for apart (reasoning_format deepseek), since
 * Ollama answers it in its own `thinking` field.
 */
function readThink(body: JsonObject): JsonObject {
  const t = body["think"];
  if (t === undefined || t === null) return {};
  if (t === true || t === false) return { chat_template_kwargs: { enable_thinking: t }, reasoning_format: "deepseek" };
  if (t === "low" || t === "medium" || t === "high") {
    return { chat_template_kwargs: { enable_thinking: true, reasoning_effort: t }, reasoning_effort: t, reasoning_format: "deepseek" };
  }
  return fail("think", `must be true, false, "low", "medium" or "high", got ${typeName(t)}`);
}

// ---- messages -------------------------------------------------------------------------------------------------------

/**
 * Ollama's messages as OpenAI's. Ollama's tool calls carry no ids (newer clients may send one) and its tool results
 * name the tool rather than the call, while OpenAI templates pair them by id: calls without one get an id from
 * their position (so that the same history renders the same prompt every time, and the engine's prompt cache
 * holds), and each result takes the id of the earliest unanswered call of its tool (or of any tool).
 */
function readMessages(list: Json[]): JsonObject[] {
  const out: JsonObject[] = [];
  let pending: Array<{ id: string; name: string }> = [];
  list.forEach((m, i) => {
    const at = `messages[${i}]`;
    if (!isObject(m)) return fail(at, `must be an object, got ${typeName(m)}`);
    const role = m["role"];
    if (typeof role !== "string" || role === "") return fail(`${at}.role`, `must be a non-empty string, got ${typeName(role ?? null)}`);
    const content = m["content"] ?? "";
    if (typeof content !== "string") return fail(`${at}.content`, `must be a string, got ${typeName(content)}`);
    const images = readImages(m["images"], `${at}.images`);
    const msg: JsonObject = { role, content: withImages(content, images) };
    const thinking = optString(m, "thinking", `${at}.`);
    if (thinking) msg["reasoning_content"] = thinking;

    const calls = optArray(m, "tool_calls", `${at}.`);
    if (calls && calls.length > 0) {
      const converted = calls.map((c, j) => readToolCall(c, `${at}.tool_calls[${j}]`, `call_${i}_${j}`));
      msg["tool_calls"] = converted;
      pending = converted.map((c) => ({ id: c["id"] as string, name: (c["function"] as JsonObject)["name"] as string }));
    }
    if (role === "tool") {
      const name = optString(m, "tool_name", `${at}.`) ?? optString(m, "name", `${at}.`);
      const given = optString(m, "tool_call_id", `${at}.`);
      const k = given !== undefined ? pending.findIndex((p) => p.id === given) : Math.max(0, pending.findIndex((p) => p.name === name));
      const match = k >= 0 ? pending.splice(k, 1)[0] : undefined;
      msg["tool_call_id"] = given ?? match?.id ?? `call_${i}`;
      if (name) msg["name"] = name;
    }
    out.push(msg);
  });
  return out;
}

function readToolCall(c: Json, at: string, defaultId: string): JsonObject {
  if (!isObject(c)) return fail(at, `must be an object, got ${typeName(c)}`);
  const fn = optObject(c, "function", `${at}.`);
  if (!fn) return fail(`${at}.function`, "is required");
  const name = fn["name"];
  if (typeof name !== "string" || name === "") return fail(`${at}.function.name`, `must be a non-empty string, got ${typeName(name ?? null)}`);
  const args = fn["arguments"] ?? {};
  // Ollama's arguments are an object; a client that already serialized them is taken at its word
  if (!isObject(args) && typeof args !== "string") return fail(`${at}.function.arguments`, `must be an object, got ${typeName(args)}`);
  const id = optString(c, "id", `${at}.`) || defaultId;
  return { id, type: "function", function: { name, arguments: typeof args === "string" ? args : JSON.stringify(args) } };
}

/** Tools have OpenAI's shape in Ollama too; they are checked just enough to name a bad one. */
function readTool(t: Json, at: string): JsonObject {
  if (!isObject(t)) return fail(at, `must be an object, got ${typeName(t)}`);
  const fn = optObject(t, "function", `${at}.`);
  if (!fn) return fail(`${at}.function`, "is required");
  if (typeof fn["name"] !== "string" || fn["name"] === "") return fail(`${at}.function.name`, "must be a non-empty string");
  return { ...t, type: "function" };
}

// ---- images ---------------------------------------------------------------------------------------------------------

function readImages(v: Json | undefined, at: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) return fail(at, `must be an array of base64 strings, got ${typeName(v)}`);
  return v.map((img, k) => {
    if (typeof img !== "string" || img === "") return fail(`${at}[${k}]`, `must be a base64-encoded image, got ${typeName(img)}`);
    if (img.startsWith("data:")) return img;
    if (!/^[A-Za-z0-9+/=_\-\s]+$/.test(img)) return fail(`${at}[${k}]`, "is not valid base64");
    return `data:${sniffImageType(img)};base64,${img.replace(/\s+/g, "")}`;
  });
}

/** Ollama's images come without a media type; OpenAI's data URLs need one, read from the first bytes. */
export function sniffImageType(base64: string): string {
  const head = Buffer.from(base64.slice(0, 24), "base64");
  const ascii = (from: number, to: number) => head.subarray(from, to).toString("latin1");
  if (head[0] === 0x89 && ascii(1, 4) === "PNG") return "image/png";
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return "image/jpeg";
  if (ascii(0, 4) === "GIF8") return "image/gif";
  if (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "image/webp";
  return "image/jpeg";
}

/** Text with images: OpenAI content parts, the images first, where Ollama puts them in the prompt. */
function withImages(text: string, images: string[]): Json {
  if (images.length === 0) return text;
  const parts: JsonObject[] = images.map((url) => ({ type: "image_url", image_url: { url } }));
  if (text !== "") parts.push({ type: "text", text });
  return parts;
}

// ---------------------------------------------------------------------------------------------------------------
// /api/embed and /api/embeddings

export interface OllamaEmbedTranslated {
  model: string;
  keepAlive: KeepAlive | undefined;
  /** An OpenAI embeddings body (always `encoding_format: "float"`). */
  openai: JsonObject;
  /** No input at all: Ollama's way to load the model, answered with no embeddings. */
  loadOnly: boolean;
  /** Ollama cuts vectors to this length (and renormalizes); pass it on to ollamaEmbedAnswer. */
  dimensions?: number;
}

/**
 * /api/embed (`input`: a string or a list of them) or the legacy /api/embeddings (`prompt`: one string). Ollama's
 * `truncate` (default true) cuts an input to the context; OpenAI has no such switch and llama.cpp refuses an input
 * that does not fit, so truncation is not done: truncate false asks for exactly that refusal, and truncate true
 * gets it too, which the client sees as a 400 naming the input.
 */
export function ollamaEmbedRequest(raw: unknown, legacy: boolean): OllamaEmbedTranslated {
  const body = requireObjectBody(raw);
  const model = readModel(body);
  const keepAlive = parseKeepAlive(body["keep_alive"]);
  let input: Json;
  if (legacy) {
    input = optString(body, "prompt") ?? "";
  } else {
    const v = body["input"];
    if (v === undefined || v === null) input = [];
    else if (typeof v === "string") input = v;
    else if (Array.isArray(v) && v.every((s) => typeof s === "string")) input = v;
    else return fail("input", `must be a string or an array of strings, got ${typeName(v)}`);
    optBool(body, "truncate");
  }
  const openai: JsonObject = { model, input, encoding_format: "float" };
  const loadOnly = input === "" || (Array.isArray(input) && input.length === 0);
  const dimensions = optNumber(body, "dimensions", { int: true, min: 1 });
  if (dimensions === undefined) return { model, keepAlive, openai, loadOnly };
  // engines that know OpenAI's `dimensions` cut the vectors themselves; the answer cuts those that did not
  openai["dimensions"] = dimensions;
  return { model, keepAlive, openai, loadOnly, dimensions };
}
