// Each family's real chat template: it selects the family's parser, and calls written the way the template
// renders a past assistant turn (the format the model was trained on) parse back, whole and streamed in pieces
// of any size.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { ChatTemplate } from "../../../src/model-server/templates/chat-template.js";
import type { Json } from "../../../src/http/validate.js";
import { planToolCalls, readToolRequest, selectToolCallFormat, type ToolCallPlan } from "../../../src/model-server/tool-calls/index.js";
import { collect, loadTemplate, renderAssistantTurn, splitAt, TIME_TOOL, WEATHER_TOOL, type TemplateCall } from "./helpers.js";

interface Family {
  file: string;
  format: string;
  /** The template refuses to render more than one call per turn. */
  singleCall?: boolean;
  /** The id the template writes for the i-th call, when it is not the call's own id. */
  writtenId?: (i: number) => string;
}

const FAMILIES: Family[] = [
  { file: "Qwen-Qwen2.5-7B-Instruct.jinja", format: "hermes" },
  { file: "Qwen-Qwen3-0.6B.jinja", format: "hermes" },
  { file: "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", format: "hermes" },
  { file: "ibm-granite-granite-4.0.jinja", format: "hermes" },
  { file: "meta-llama-Llama-3.1-8B-Instruct.jinja", format: "llama3", singleCall: true },
  { file: "meta-llama-Llama-3.2-3B-Instruct.jinja", format: "llama3", singleCall: true },
  { file: "mistralai-Mistral-Nemo-Instruct-2407.jinja", format: "mistral-nemo" },
  { file: "Mistral-Small-3.2-24B-Instruct-2506.jinja", format: "mistral" },
  { file: "unsloth-mistral-Devstral-Small-2507.jinja", format: "mistral" },
  { file: "mistralai-Ministral-3-14B-Reasoning-2512.jinja", format: "mistral" },
  { file: "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", format: "deepseek-r1" },
  { file: "deepseek-ai-DeepSeek-V3.1.jinja", format: "deepseek-v3.1" },
  { file: "meetkai-functionary-medium-v3.1.jinja", format: "functionary-v3.1" },
  { file: "CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja", format: "command-r7b", writtenId: (i) => String(i) },
  { file: "Qwen3-Coder.jinja", format: "qwen3-coder" },
  { file: "Qwen3.5-4B.jinja", format: "qwen3-coder" },
];

const ONE: TemplateCall[] = [{ id: "abc123def", name: "get_weather", arguments: { city: "Paris", days: 2 } }];
const TWO: TemplateCall[] = [
  { id: "abc123def", name: "get_weather", arguments: { city: "Saint-Étienne \"la verte\"", days: 3 } },
  { id: "xyz987uvw", name: "get_time", arguments: { tz: "Europe/Paris" } },
];

function plan(source: string): ToolCallPlan {
  const prompt = new ChatTemplate(source, "<s>", "</s>").render([{ role: "user", content: "What is the weather in Paris?" }], {
    tools: [WEATHER_TOOL, TIME_TOOL] as unknown as Json[],
  });
  return planToolCalls(readToolRequest({ tools: [WEATHER_TOOL, TIME_TOOL] } as never), source, prompt)!;
}

/** The answer's content without the thinking some templates render (corral leaves thinking in the content). */
function visibleContent(content: string | null): string {
  return (content ?? "").replace(/^[\s\S]*<\/think>/, "").trim();
}

function checkCalls(got: Array<{ id: string; function: { name: string; arguments: string } }>, want: TemplateCall[], turn: string, f: Family, idStyle: string): void {
  assert.equal(got.length, want.length, `calls in ${JSON.stringify(turn)}`);
  got.forEach((c, i) => {
    assert.equal(c.function.name, want[i]!.name);
    assert.deepEqual(JSON.parse(c.function.arguments), want[i]!.arguments);
    // the model's own id when the format carries it, else a fresh one in the shape the family's templates accept
    if (f.writtenId) assert.equal(c.id, f.writtenId(i));
    else if (turn.includes(want[i]!.id)) assert.equal(c.id, want[i]!.id);
    else assert.match(c.id, idStyle === "mistral" ? /^[A-Za-z0-9]{9}$/ : /^call_[A-Za-z0-9]{24}$/);
  });
}

describe("tool calls: each family's template", () => {
  for (const f of FAMILIES) {
    describe(f.file, () => {
      const source = loadTemplate(f.file);

      test(`selects the ${f.format} parser`, () => {
        assert.equal(selectToolCallFormat(source).name, f.format);
      });

      const cases: Array<[string, TemplateCall[], string]> = [["one call", ONE, ""]];
      if (!f.singleCall) cases.push(["two calls after some content", TWO, "Let me check both."]);
      for (const [label, calls, content] of cases) {
        test(`${label}, as the template renders it, parses back whole and streamed`, () => {
          const p = plan(source);
          const turn = renderAssistantTurn(source, calls, content);
          const whole = p.parse(turn);
          checkCalls(whole.toolCalls, calls, turn, f, p.format.idStyle);
          // some templates drop the content of a turn with calls; when it is there it must come back as content
          assert.equal(visibleContent(whole.content), turn.includes(content) ? content : "");

          fc.assert(
            fc.property(fc.array(fc.nat(), { maxLength: 40 }), (cuts) => {
              const s = p.stream({ strict: true });
              const got = collect([]);
              for (const piece of splitAt(turn, cuts)) collect(s.push(piece), got);
              collect(s.finish(), got);
              assert.equal(got.content, whole.content ?? "");
              assert.deepEqual(got.calls.map((c) => [c.name, c.arguments]), whole.toolCalls.map((c) => [c.function.name, c.function.arguments]));
              checkCalls(got.calls.map((c) => ({ id: c.id, function: c })), calls, turn, f, p.format.idStyle);
            }),
            { numRuns: 150 },
          );
        });
      }
    });
  }

  test("a template with no tool markers (Gemma 2) falls back to Hermes, and plain answers stay plain", () => {
    const source = loadTemplate("google-gemma-2-2b-it.jinja");
    assert.equal(selectToolCallFormat(source).name, "hermes");
    const r = plan(source).parse("Hello, world!\nWhat's up?");
    assert.deepEqual(r, { content: "Hello, world!\nWhat's up?", toolCalls: [] });
  });

  test("corral's default template (ChatML with Hermes tools) selects Hermes", async () => {
    const { DEFAULT_CHAT_TEMPLATE } = await import("../../../src/gguf/chat-template.js");
    assert.equal(selectToolCallFormat(DEFAULT_CHAT_TEMPLATE).name, "hermes");
  });
});
