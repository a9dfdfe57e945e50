// Anthropic Messages requests as OpenAI chat-completions bodies. Pure functions with no server state, so that the
// model server and the router (translating for any OpenAI-compatible engine) share them.
import { type Json, type JsonObject, optBool, optNumber, optObject, optString, requireObjectBody, typeName } from "../../http/validate.js";
import { fail, isObject, readObjects, requireString } from "../fields.js";

/**
 * Translates a Messages request into a chat-completions body. Every field is checked, and a bad one is a 400 that
 * names it in Anthropic's terms (e.g. `messages[2].content[0].tool_use_id`), before any engine sees the request.
 * Like llama-server it is permissive where Anthropic is strict but the intent is clear: `max_tokens` may be left out
 * (the engine's default applies) and `messages` may be empty.
 */
export function anthropicToChat(raw: unknown): JsonObject {
  const body = requireObjectBody(raw);
  const out: JsonObject = {};

  const messages: JsonObject[] = [];
  const system = readSystem(body["system"]);
  if (system !== undefined) messages.push({ role: "system", content: system });
  const list = body["messages"];
  if (list === undefined || list === null) fail("messages", "is required");
  if (!Array.isArray(list)) return fail("messages", `must be an array, got ${typeName(list)}`);
  list.forEach((m, i) => messages.push(...convertMessage(m, `messages[${i}]`)));
  // OpenAI servers (corral among them) refuse an empty conversation; an empty user turn asks for an opening line.
  if (!messages.some((m) => m["role"] !== "system")) messages.push({ role: "user", content: "" });
  out["messages"] = messages;

  const maxTokens = optNumber(body, "max_tokens", { int: true, min: 1 });
  if (maxTokens !== undefined) out["max_tokens"] = maxTokens;
  for (const [field, limits] of [["temperature", { min: 0 }], ["top_p", { min: 0, max: 1 }], ["top_k", { int: true, min: 0 }]] as const) {
    const v = optNumber(body, field, limits);
    if (v !== undefined) out[field] = v;
  }
  const stop = readStopSequences(body["stop_sequences"]);
  if (stop.length > 0) out["stop"] = stop;
  const stream = optBool(body, "stream");
  if (stream !== undefined) out["stream"] = stream;

  const metadata = optObject(body, "metadata");
  const userId = metadata ? optString(metadata, "user_id", "metadata.") : undefined;
  if (userId) out["user"] = userId;

  const tools = readTools(body["tools"]);
  if (tools.length > 0) out["tools"] = tools;
  Object.assign(out, readToolChoice(body["tool_choice"]));

  // chat_template_kwargs is llama.cpp's own extension; the client's explicit kwargs win over what `thinking` implies.
  const kwargs = { ...readThinking(body["thinking"], out), ...(optObject(body, "chat_template_kwargs") ?? {}) };
  if (Object.keys(kwargs).length > 0) out["chat_template_kwargs"] = kwargs;
  return out;
}

/** `system` is a string or a list of text blocks; blocks are joined as separate paragraphs. */
function readSystem(v: Json | undefined): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return normalizeBillingHeader(v);
  if (!Array.isArray(v)) return fail("system", `must be a string or an array of text blocks, got ${typeName(v)}`);
  return v
    .map((block, i) => {
      if (!isObject(block) || block["type"] !== "text") return fail(`system[${i}]`, "must be a text block ({\"type\": \"text\", \"text\": ...})");
      return normalizeBillingHeader(requireString(block, "text", `system[${i}]`));
    })
    .join("\n\n");
}

/**
 * Claude Code opens its system prompt with `x-anthropic-billing-header: ...; cch=XXXXX;`, a stamp that changes on
 * every request: left as is it would defeat the engine's prompt cache from the first token on. The stamp means
 * nothing to a local model, so it is replaced by a constant.
 */
function normalizeBillingHeader(text: string): string {
  if (!text.startsWith("x-anthropic-billing-header:")) return text;
  return text.replace(/(\bcch=)[0-9a-zA-Z]+;/, "$1fffff;");
}

function readStopSequences(v: Json | undefined): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) return fail("stop_sequences", `must be an array of strings, got ${typeName(v)}`);
  return v.map((s, i) => (typeof s === "string" ? s : fail(`stop_sequences[${i}]`, `must be a string, got ${typeName(s)}`)));
}

/**
 * One Anthropic message can become several OpenAI ones: `tool_result` blocks become `tool` messages, which must
 * come right after the assistant's tool calls, so they go first and the user's other blocks follow in a user
 * message.
 */
function convertMessage(m: Json, where: string): JsonObject[] {
  if (!isObject(m)) return fail(where, `must be an object, got ${typeName(m)}`);
  const role = m["role"];
  if (role !== "user" && role !== "assistant") fail(`${where}.role`, `must be 'user' or 'assistant', got ${typeName(role ?? null)}`);
  const content = m["content"];
  if (typeof content === "string") return [{ role: role as string, content }];
  if (!Array.isArray(content)) return fail(`${where}.content`, `must be a string or an array of content blocks, got ${typeName(content ?? null)}`);

  const parts: JsonObject[] = [];
  const toolCalls: JsonObject[] = [];
  const toolResults: JsonObject[] = [];
  let reasoning = "";
  content.forEach((block, j) => {
    const at = `${where}.content[${j}]`;
    if (!isObject(block)) return fail(at, `must be a content block object, got ${typeName(block)}`);
    const type = block["type"];
    switch (type) {
      case "text":
        parts.push({ type: "text", text: requireString(block, "text", at) });
        return;
      case "image":
        parts.push(imagePart(block, at));
        return;
      case "document":
        parts.push(documentPart(block, at));
        return;
      case "thinking":
        if (role !== "assistant") fail(`${at}.type`, "'thinking' blocks belong to assistant messages");
        reasoning += requireString(block, "thinking", at);
        return;
      case "redacted_thinking":
        return; // encrypted by Anthropic for Anthropic's models: nothing another model can read
      case "tool_use":
        if (role !== "assistant") fail(`${at}.type`, "'tool_use' blocks belong to assistant messages");
        toolCalls.push(toolCall(block, at));
        return;
      case "tool_result":
        if (role !== "user") fail(`${at}.type`, "'tool_result' blocks belong to user messages");
        toolResults.push(toolResultMessage(block, at));
        return;
      default:
        fail(`${at}.type`, `${typeName(type ?? null)} is not supported (text, image, document, thinking, redacted_thinking, tool_use, tool_result)`);
    }
  });

  const out = toolResults;
  if (parts.length > 0 || toolCalls.length > 0 || reasoning !== "") {
    // an assistant turn that only calls tools has empty content: some templates cannot take a null there
    const msg: JsonObject = { role: role as string, content: parts.length > 0 ? parts : "" };
    if (toolCalls.length > 0) msg["tool_calls"] = toolCalls;
    if (reasoning !== "") msg["reasoning_content"] = reasoning;
    out.push(msg);
  }
  return out;
}

function imagePart(block: JsonObject, at: string): JsonObject {
  const source = block["source"];
  if (!isObject(source)) return fail(`${at}.source`, source === undefined ? "is required" : `must be an object, got ${typeName(source)}`);
  const kind = source["type"];
  if (kind === "base64") {
    const media = requireString(source, "media_type", `${at}.source`);
    const data = requireString(source, "data", `${at}.source`);
    return { type: "image_url", image_url: { url: `data:${media};base64,${data}` } };
  }
  if (kind === "url") return { type: "image_url", image_url: { url: requireString(source, "url", `${at}.source`) } };
  return fail(`${at}.source.type`, `${typeName(kind ?? null)} is not supported (base64 or url)`);
}

/** Plain-text documents are text to the model; PDFs and files would need Anthropic's own document processing. */
function documentPart(block: JsonObject, at: string): JsonObject {
  const source = block["source"];
  if (!isObject(source)) return fail(`${at}.source`, source === undefined ? "is required" : `must be an object, got ${typeName(source)}`);
  if (source["type"] !== "text") return fail(`${at}.source.type`, `${typeName(source["type"] ?? null)} is not supported (only text documents)`);
  const title = optString(block, "title", `${at}.`);
  const text = requireString(source, "data", `${at}.source`);
  return { type: "text", text: title ? `${title}\n\n${text}` : text };
}

function toolCall(block: JsonObject, at: string): JsonObject {
  const id = requireString(block, "id", at);
  const name = requireString(block, "name", at);
  const input = block["input"] ?? {};
  if (!isObject(input)) return fail(`${at}.input`, `must be an object, got ${typeName(input)}`);
  return { id, type: "function", function: { name, arguments: JSON.stringify(input) } };
}

/**
 * A tool's result is a string or a list of text and image blocks. Text-only results become one string (what
 * every template can render); with images they stay a list of OpenAI parts. OpenAI has no error flag, so a
 * failed tool says so in its text.
 */
function toolResultMessage(block: JsonObject, at: string): JsonObject {
  const id = requireString(block, "tool_use_id", at);
  const isError = optBool(block, "is_error", `${at}.`) ?? false;
  const prefix = isError ? "Error: " : "";
  const c = block["content"];
  const msg = (content: Json): JsonObject => ({ role: "tool", tool_call_id: id, content });
  if (c === undefined || c === null) return msg(prefix);
  if (typeof c === "string") return msg(prefix + c);
  if (!Array.isArray(c)) return fail(`${at}.content`, `must be a string or an array of text and image blocks, got ${typeName(c)}`);
  const parts = c.map((p, k): JsonObject => {
    const where = `${at}.content[${k}]`;
    if (!isObject(p)) return fail(where, `must be a content block object, got ${typeName(p)}`);
    if (p["type"] === "text") return { type: "text", text: requireString(p, "text", where) };
    if (p["type"] === "image") return imagePart(p, where);
    if (p["type"] === "document") return documentPart(p, where);
    return fail(`${where}.type`, `${typeName(p["type"] ?? null)} is not supported in a tool result (text, image, document)`);
  });
  if (parts.every((p) => p["type"] === "text")) return msg(prefix + parts.map((p) => p["text"] as string).join("\n"));
  return msg(isError ? [{ type: "text", text: "Error:" }, ...parts] : parts);
}

/**
 * Client tools become OpenAI functions. Anthropic's server tools (`type` such as "web_search_20250305") run on
 * Anthropic's side and have no OpenAI counterpart; clients like Claude Code offer them routinely, so they are
 * left out rather than refused.
 */
function readTools(v: Json | undefined): JsonObject[] {
  return readObjects(v, "tools", (t, at) => {
    const type = t["type"];
    if (type !== undefined && type !== null && type !== "custom") return undefined;
    const name = requireString(t, "name", at);
    if (name === "") fail(`${at}.name`, "must not be empty");
    const description = optString(t, "description", `${at}.`);
    const schema = optObject(t, "input_schema", `${at}.`) ?? { type: "object", properties: {} };
    return { type: "function", function: { name, ...(description !== undefined ? { description } : {}), parameters: schema } };
  });
}

function readToolChoice(v: Json | undefined): JsonObject {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) return fail("tool_choice", `must be an object, got ${typeName(v)}`);
  const out: JsonObject = {};
  const type = v["type"];
  if (type === "auto") out["tool_choice"] = "auto";
  else if (type === "any") out["tool_choice"] = "required";
  else if (type === "none") out["tool_choice"] = "none";
  else if (type === "tool") out["tool_choice"] = { type: "function", function: { name: requireString(v, "name", "tool_choice") } };
  else fail("tool_choice.type", `must be one of auto, any, tool, none, got ${typeName(type ?? null)}`);
  const noParallel = optBool(v, "disable_parallel_tool_use", "tool_choice.");
  if (noParallel !== undefined) out["parallel_tool_calls"] = !noParallel;
  return out;
}

/**
 * `thinking` switches a reasoning model's thinking on or off. Templates that can do both read `enable_thinking`
 * (Qwen3 and others; llama-server honours it too); the budget goes out under llama.cpp's name for it.
 */
function readThinking(v: Json | undefined, out: JsonObject): JsonObject {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) return fail("thinking", `must be an object, got ${typeName(v)}`);
  const type = v["type"];
  if (type === "disabled") return { enable_thinking: false };
  if (type !== "enabled" && type !== "adaptive") return fail("thinking.type", `must be enabled, adaptive or disabled, got ${typeName(type ?? null)}`);
  const budget = optNumber(v, "budget_tokens", { int: true, min: 0, prefix: "thinking." });
  if (budget !== undefined) out["thinking_budget_tokens"] = budget;
  return { enable_thinking: true };
}
