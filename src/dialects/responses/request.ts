// OpenAI Responses requests as chat-completions bodies. Pure functions, shared by the model server and the router.
// Nothing is stored, so `previous_response_id` cannot be honoured: clients send the whole conversation in `input`.
import { type Json, type JsonObject, optNumber, optObject, optString, requireObjectBody, typeName } from "../../http/validate.js";
import { fail, isObject, readObjects, requireString } from "../fields.js";

/**
 * Fields that only the Responses API has (translated below, or meaningless without stored responses). Every other
 * field passes through unchanged: sampling fields mean the same in both APIs, and llama.cpp's extensions
 * (timings_per_token, return_progress, top_k, ...) reach the engine as they would through chat completions.
 */
const RESPONSES_ONLY = new Set([
  "input", "instructions", "max_output_tokens", "text", "reasoning", "tools", "tool_choice", "store", "include",
  "truncation", "background", "metadata", "previous_response_id", "conversation", "prompt", "prompt_cache_key",
  "safety_identifier", "service_tier", "max_tool_calls", "top_logprobs", "stream_options",
]);

// ---------------------------------------------------------------------------------------------------------------
// Request: Responses → chat completions

export function responsesToChat(raw: unknown): JsonObject {
  const body = requireObjectBody(raw);
  for (const field of ["previous_response_id", "conversation"]) {
    if (body[field] !== undefined && body[field] !== null) {
      fail(field, "is not supported: this server stores no responses; send the whole conversation in 'input'");
    }
  }
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(body)) if (!RESPONSES_ONLY.has(k)) out[k] = v;

  const messages: JsonObject[] = [];
  const instructions = optString(body, "instructions");
  if (instructions !== undefined) messages.push({ role: "system", content: instructions });
  const input = body["input"];
  if (input === undefined || input === null) fail("input", "is required");
  if (typeof input === "string") messages.push({ role: "user", content: input });
  else if (Array.isArray(input)) input.forEach((item, i) => addItem(messages, item, `input[${i}]`));
  else fail("input", `must be a string or an array of input items, got ${typeName(input)}`);
  out["messages"] = messages;

  const maxTokens = optNumber(body, "max_output_tokens", { int: true, min: 1 });
  if (maxTokens !== undefined) out["max_tokens"] = maxTokens;
  const tools = readTools(body["tools"]);
  if (tools.length > 0) out["tools"] = tools;
  const toolChoice = readToolChoice(body["tool_choice"]);
  if (toolChoice !== undefined) out["tool_choice"] = toolChoice;
  const format = readTextFormat(body["text"]);
  if (format) out["response_format"] = format;
  const reasoning = optObject(body, "reasoning");
  const effort = reasoning ? optString(reasoning, "effort", "reasoning.") : undefined;
  if (effort) out["reasoning_effort"] = effort;
  return out;
}

const ROLES: Record<string, string> = { user: "user", assistant: "assistant", system: "system", developer: "system" };

/**
 * One input item into the chat messages. A model's earlier turn comes back as separate items (reasoning, message,
 * function calls) that together are one assistant message, so assistant items merge into an assistant message
 * that is still open.
 */
function addItem(messages: JsonObject[], item: Json, at: string): void {
  if (!isObject(item)) return fail(at, `must be an object, got ${typeName(item)}`);
  const type = item["type"];
  const last = messages.at(-1);
  const openAssistant = last?.["role"] === "assistant" ? last : undefined;

  if (type === "message" || (type === undefined && item["role"] !== undefined)) {
    const role = item["role"];
    if (typeof role !== "string" || !(role in ROLES)) return fail(`${at}.role`, `must be user, assistant, system or developer, got ${typeName(role ?? null)}`);
    const content = readContent(item["content"], `${at}.content`);
    // an assistant message continues an open turn that so far holds only reasoning
    if (role === "assistant" && openAssistant && openAssistant["content"] === "" && openAssistant["tool_calls"] === undefined) {
      openAssistant["content"] = content;
      return;
    }
    messages.push({ role: ROLES[role]!, content });
    return;
  }
  if (type === "function_call") {
    const call: JsonObject = {
      id: requireString(item, "call_id", at),
      type: "function",
      function: { name: requireString(item, "name", at), arguments: requireString(item, "arguments", at) },
    };
    if (openAssistant) openAssistant["tool_calls"] = [...((openAssistant["tool_calls"] as Json[] | undefined) ?? []), call];
    else messages.push({ role: "assistant", content: "", tool_calls: [call] });
    return;
  }
  if (type === "function_call_output") {
    const id = requireString(item, "call_id", at);
    const output = item["output"];
    if (typeof output === "string") messages.push({ role: "tool", tool_call_id: id, content: output });
    else if (Array.isArray(output)) messages.push({ role: "tool", tool_call_id: id, content: readContent(output, `${at}.output`) });
    else fail(`${at}.output`, `must be a string or an array of content parts, got ${typeName(output ?? null)}`);
    return;
  }
  if (type === "reasoning") {
    messages.push({ role: "assistant", content: "", reasoning_content: readReasoning(item, at) });
    return;
  }
  fail(`${at}.type`, `${typeName(type ?? null)} is not supported (message, function_call, function_call_output, reasoning)`);
}

/** Message content: a string, or parts (input_text, output_text, refusal, input_image) as chat-completions parts. */
function readContent(v: Json | undefined, at: string): Json {
  if (typeof v === "string") return v;
  if (!Array.isArray(v)) return fail(at, `must be a string or an array of content parts, got ${typeName(v ?? null)}`);
  return v.map((p, i): JsonObject => {
    const where = `${at}[${i}]`;
    if (!isObject(p)) return fail(where, `must be a content part object, got ${typeName(p)}`);
    switch (p["type"]) {
      case "input_text":
      case "output_text":
        return { type: "text", text: requireString(p, "text", where) };
      case "refusal":
        return { type: "text", text: requireString(p, "refusal", where) };
      case "input_image": {
        if (p["image_url"] === undefined && p["file_id"] !== undefined) return fail(`${where}.file_id`, "is not supported: send the image as 'image_url'");
        return { type: "image_url", image_url: { url: requireString(p, "image_url", where) } };
      }
      default:
        return fail(`${where}.type`, `${typeName(p["type"] ?? null)} is not supported (input_text, output_text, refusal, input_image)`);
    }
  });
}

/** A reasoning item's text: its full content when the client kept it, else its summary. */
function readReasoning(item: JsonObject, at: string): string {
  for (const field of ["content", "summary"]) {
    const parts = item[field];
    if (parts === undefined || parts === null) continue;
    if (!Array.isArray(parts)) return fail(`${at}.${field}`, `must be an array, got ${typeName(parts)}`);
    const texts = parts.map((p, i) => (isObject(p) ? requireString(p, "text", `${at}.${field}[${i}]`) : fail(`${at}.${field}[${i}]`, "must be an object")));
    if (texts.length > 0) return texts.join("\n");
  }
  return "";
}

/** Function tools become chat tools; built-in tools (web search, file search...) have no counterpart and are left out. */
function readTools(v: Json | undefined): JsonObject[] {
  return readObjects(v, "tools", (t, at) => {
    if (t["type"] !== "function") return undefined;
    const fn: JsonObject = { name: requireString(t, "name", at) };
    const description = optString(t, "description", `${at}.`);
    if (description !== undefined) fn["description"] = description;
    fn["parameters"] = optObject(t, "parameters", `${at}.`) ?? { type: "object", properties: {} };
    if (typeof t["strict"] === "boolean") fn["strict"] = t["strict"];
    return { type: "function", function: fn };
  });
}

function readToolChoice(v: Json | undefined): Json | undefined {
  if (v === undefined || v === null) return undefined;
  if (v === "auto" || v === "none" || v === "required") return v;
  if (isObject(v) && v["type"] === "function") return { type: "function", function: { name: requireString(v, "name", "tool_choice") } };
  return fail("tool_choice", "must be auto, none, required or {\"type\": \"function\", \"name\": ...}");
}

/** `text.format` is chat's response_format, with the json_schema fields one level up. */
function readTextFormat(v: Json | undefined): JsonObject | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) return fail("text", `must be an object, got ${typeName(v)}`);
  const format = optObject(v, "format", "text.");
  if (!format) return undefined;
  const type = format["type"];
  if (type === "text") return undefined;
  if (type === "json_object") return { type: "json_object" };
  if (type === "json_schema") {
    const schema = optObject(format, "schema", "text.format.");
    if (!schema) return fail("text.format.schema", "is required when type is json_schema");
    return { type: "json_schema", json_schema: { name: optString(format, "name", "text.format.") ?? "response", schema } };
  }
  return fail("text.format.type", `must be text, json_object or json_schema, got ${typeName(type ?? null)}`);
}
