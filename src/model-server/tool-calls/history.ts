// Past calls in the conversation, as the template should see them. OpenAI clients send a call's arguments back as
// a JSON string, but most templates write them with `| tojson`, which would show the model its own call
// double-encoded (`"arguments": "{\"city\": ...}"`). Like llama-server, arguments become objects for templates
// that render objects; templates that only handle strings keep strings.
import type { ChatMessage, ChatTemplate } from "../templates/chat-template.js";
import type { Json } from "../../http/validate.js";

const NEEDLE = "corral_argument_needle";
const objectArgs = new WeakMap<ChatTemplate, boolean>();

/** Whether the template writes a call's arguments when they are an object (llama.cpp's supports_object_arguments). */
export function rendersObjectArguments(template: ChatTemplate): boolean {
  let known = objectArgs.get(template);
  if (known === undefined) {
    try {
      const out = template.render(
        [
          { role: "user", content: "x" },
          { role: "assistant", content: "", tool_calls: [{ id: "call00001", type: "function", function: { name: "f", arguments: { [NEEDLE]: 1 } } }] },
        ],
        { addGenerationPrompt: false },
      );
      known = out.includes(NEEDLE);
    } catch {
      known = false;
    }
    objectArgs.set(template, known);
  }
  return known;
}

/** `messages` with string arguments of past calls parsed into objects, when the template renders objects. */
export function argumentsAsObjects(template: ChatTemplate, messages: ChatMessage[]): ChatMessage[] {
  if (!messages.some((m) => Array.isArray(m["tool_calls"])) || !rendersObjectArguments(template)) return messages;
  return messages.map((m) => {
    const calls = m["tool_calls"];
    if (!Array.isArray(calls)) return m;
    return { ...m, tool_calls: calls.map(parseArguments) };
  });
}

function parseArguments(call: Json): Json {
  if (call === null || typeof call !== "object" || Array.isArray(call)) return call;
  const fn = call["function"];
  if (fn === null || typeof fn !== "object" || Array.isArray(fn) || typeof fn["arguments"] !== "string") return call;
  try {
    const args = JSON.parse(fn["arguments"]) as Json;
    return { ...call, function: { ...fn, arguments: args } };
  } catch {
    // not JSON: the template gets the text as it came
    return call;
  }
}
