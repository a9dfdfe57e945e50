// Shared by the tool-call tests: the real chat templates, what they render for an assistant turn, and the
// message a stream of deltas adds up to.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ChatTemplate, type ChatMessage } from "../../../src/model-server/templates/chat-template.js";
import type { Json } from "../../../src/http/validate.js";
import type { StreamDelta } from "../../../src/model-server/tool-calls/index.js";
import { REPO_ROOT } from "../../helpers/server.js";

export const TEMPLATE_DIR = path.join(REPO_ROOT, "test", "fixtures", "chat-templates");

export function loadTemplate(file: string): string {
  return readFileSync(path.join(TEMPLATE_DIR, file), "utf8");
}

export const WEATHER_TOOL = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather for a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string", description: "City name" }, days: { type: "integer", description: "How many days" } },
      required: ["city"],
    },
  },
};
export const TIME_TOOL = {
  type: "function",
  function: {
    name: "get_time",
    description: "Current time in a timezone",
    parameters: { type: "object", properties: { tz: { type: "string", description: "IANA timezone" } }, required: ["tz"] },
  },
};

export interface TemplateCall {
  id: string;
  name: string;
  arguments: Record<string, Json>;
}

// Every family's end-of-turn markers (and EOS): a rendered assistant turn ends at the first of them.
const TURN_ENDS = ["<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|end_of_text|>", "<｜end▁of▁sentence｜>", "<|END_OF_TURN_TOKEN|>", "</s>", "<end_of_turn>", "<|end|>"];

/**
 * What the model would generate for an assistant turn holding `calls` (and `content`), according to the template
 * itself: the conversation rendered with that turn, minus the same conversation rendered up to the generation
 * prompt (their common prefix), up to the end-of-turn marker. This is how the template shows past calls back to
 * the model, so it is the format the model was trained to write.
 */
export function renderAssistantTurn(source: string, calls: TemplateCall[], content = "", extra: Record<string, Json> = {}): string {
  const t = new ChatTemplate(source, "<s>", "</s>");
  const user: ChatMessage = { role: "user", content: "What is the weather in Paris?" };
  const assistant: ChatMessage = {
    role: "assistant",
    content,
    tool_calls: calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } })),
  };
  const tools = [WEATHER_TOOL, TIME_TOOL] as unknown as Json[];
  const prompt = t.render([user], { addGenerationPrompt: true, tools, extra });
  const full = t.render([user, assistant], { addGenerationPrompt: false, tools, extra });
  let k = 0;
  while (k < prompt.length && prompt[k] === full[k]) k++;
  // never split a marker that the two renderings happen to begin alike (`<think>` and `<｜tool▁calls▁begin｜>`)
  for (const [open, close] of [["<", ">"], ["[", "]"]] as const) {
    const o = prompt.lastIndexOf(open, k - 1);
    if (o > prompt.lastIndexOf(close, k - 1)) k = Math.min(k, o);
  }
  let turn = full.slice(k);
  let cut = turn.length;
  for (const end of TURN_ENDS) {
    const i = turn.indexOf(end);
    if (i >= 0) cut = Math.min(cut, i);
  }
  turn = turn.slice(0, cut);
  return turn;
}

export interface Collected {
  content: string;
  calls: Array<{ id: string; name: string; arguments: string }>;
}

/** Adds up a stream's deltas, checking OpenAI's shape: a call's first delta has index, id, type and name. */
export function collect(deltas: StreamDelta[], into: Collected = { content: "", calls: [] }): Collected {
  for (const d of deltas) {
    if ("content" in d) {
      assert.ok(d.content.length > 0, "no empty content deltas");
      into.content += d.content;
      continue;
    }
    const tc = d.toolCall;
    const known = into.calls[tc.index];
    if (!known) {
      assert.equal(tc.index, into.calls.length, "calls are numbered in order");
      assert.equal(typeof tc.id, "string");
      assert.equal(tc.type, "function");
      assert.equal(typeof tc.function.name, "string");
      into.calls.push({ id: tc.id!, name: tc.function.name!, arguments: tc.function.arguments ?? "" });
    } else {
      assert.equal(tc.id, undefined, "only the first delta of a call has its id");
      assert.equal(tc.function.name, undefined, "only the first delta of a call has its name");
      assert.ok((tc.function.arguments ?? "").length > 0, "no empty argument deltas");
      known.arguments += tc.function.arguments!;
    }
  }
  return into;
}

/** Splits `text` at the given cut points (any numbers; taken modulo the length, sorted). */
export function splitAt(text: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((c) => (text.length === 0 ? 0 : c % (text.length + 1))))].sort((a, b) => a - b);
  const pieces: string[] = [];
  let last = 0;
  for (const p of points) {
    pieces.push(text.slice(last, p));
    last = p;
  }
  pieces.push(text.slice(last));
  return pieces.filter((p) => p.length > 0);
}
