// llama.cpp's built-in chat formats, selected by name, and how ChatTemplate picks them.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { builtinFormat } from "../../../src/model-server/templates/builtin-templates.js";
import { ChatTemplate } from "../../../src/model-server/templates/chat-template.js";

const conversation = [
  { role: "system", content: "You are a test." },
  { role: "user", content: "Hi there" },
  { role: "assistant", content: " Hello " },
  { role: "user", content: "Bye" },
];

describe("built-in chat formats", () => {
  test("llama3 trims contents and ends with the assistant header", () => {
    assert.equal(
      builtinFormat("llama3")!(conversation.slice(0, 2), true),
      "<|start_header_id|>system<|end_header_id|>\n\nYou are a test.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
    );
  });

  test("command-r, as llama-server's suite expects it", () => {
    assert.equal(
      builtinFormat("command-r")!(conversation.slice(0, 2), true),
      "<|START_OF_TURN_TOKEN|><|SYSTEM_TOKEN|>You are a test.<|END_OF_TURN_TOKEN|><|START_OF_TURN_TOKEN|><|USER_TOKEN|>Hi there<|END_OF_TURN_TOKEN|><|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>",
    );
  });

  test("chatml keeps contents as they are; without the generation prompt it stops after the last turn", () => {
    assert.equal(
      builtinFormat("chatml")!(conversation, false),
      "<|im_start|>system\nYou are a test.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n Hello <|im_end|>\n<|im_start|>user\nBye<|im_end|>\n",
    );
  });

  test("llama2 with a system block, and a new [INST] after each answer", () => {
    assert.equal(
      builtinFormat("llama2-sys")!(conversation, true),
      "[INST] <<SYS>>\nYou are a test.\n<</SYS>>\n\nHi there [/INST] Hello </s>[INST] Bye [/INST]",
    );
  });

  test("gemma folds the system prompt into the first user turn and calls the assistant model", () => {
    assert.equal(
      builtinFormat("gemma")!(conversation.slice(0, 3), true),
      "<start_of_turn>user\nYou are a test.\n\nHi there<end_of_turn>\n<start_of_turn>model\nHello<end_of_turn>\n<start_of_turn>model\n",
    );
  });

  test("mistral-v7 marks system and user turns, and closes answers with </s>", () => {
    assert.equal(
      builtinFormat("mistral-v7")!(conversation, true),
      "[SYSTEM_PROMPT] You are a test.[/SYSTEM_PROMPT][INST] Hi there[/INST]  Hello </s>[INST] Bye[/INST]",
    );
  });

  test("unknown names are not formats; names that are Object keys are not either", () => {
    assert.equal(builtinFormat("not-a-format"), undefined);
    assert.equal(builtinFormat("toString"), undefined);
  });

  test("ChatTemplate takes a format name (spaces around it allowed) instead of Jinja text", () => {
    const t = new ChatTemplate(" llama3\n", "<s>", "</s>");
    assert.equal(t.supportsTools, false);
    assert.ok(t.render([{ role: "user", content: "x" }]).startsWith("<|start_header_id|>user"));
    const jinja = new ChatTemplate("{% for m in messages %}[{{ m.content }}]{% endfor %}", "", "");
    assert.equal(jinja.render([{ role: "user", content: "x" }]), "[x]");
  });
});
