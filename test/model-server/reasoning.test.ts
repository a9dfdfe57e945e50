// A thinking model's thought split out as reasoning_content (--reasoning-format), its budget (--reasoning-budget),
// and the special tokens its format's parsers must see (preserved tokens). Units first: the splitter, whole and
// streamed in random pieces, the budget tracker, the chat answer that puts reasoning and tool calls together. Then
// end to end against `corral -m` with generated models whose vocabularies hold the markers as control tokens, as
// real models do, and real thinking templates: grammars and logit biases make the random model write the markers.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import path from "node:path";
import fc from "fast-check";
import type { Token } from "node-llama-cpp";
import { ChatAnswer, chatPreservedTokens } from "../../src/model-server/answers/chat-answer.js";
import { ApiError } from "../../src/http/errors.js";
import type { JsonObject } from "../../src/http/validate.js";
import { ReasoningPlan, ReasoningSplitter, readReasoningFormat, splitReasoning, type SplitDelta, type SplitOptions } from "../../src/model-server/answers/reasoning.js";
import { defaultTemplateKwargs, effortKwargs } from "../../src/model-server/templates/thinking-kwargs.js";
import { ReasoningBudget, readReasoningBudget } from "../../src/model-server/generation/reasoning-budget.js";
import { planToolCalls, readToolRequest } from "../../src/model-server/tool-calls/index.js";
import { getTestModel } from "../helpers/models.js";
import { postJson, readSse, startServer, type RunningServer } from "../helpers/server.js";
import { loadTemplate, splitAt, TEMPLATE_DIR, WEATHER_TOOL } from "./tool-calls/helpers.js";

const THINK = { open: "<think>", close: "</think>" };
const MISTRAL_THINK = { open: "[THINK]", close: "[/THINK]" };

/** What a stream of split deltas adds up to, checking that none is empty. */
function collect(deltas: SplitDelta[], into = { reasoning: "", content: "" }) {
  for (const d of deltas) {
    const [key, text] = "reasoning" in d ? (["reasoning", d.reasoning] as const) : (["content", d.content] as const);
    assert.ok(text.length > 0, "no empty deltas");
    into[key] += text;
  }
  return into;
}

function streamSplit(pieces: string[], o: SplitOptions) {
  const s = new ReasoningSplitter(o);
  const got = { reasoning: "", content: "" };
  for (const p of pieces) collect(s.push(p), got);
  collect(s.finish(), got);
  assert.equal(s.reasoning, got.reasoning === "" ? undefined : got.reasoning, "the total is what was streamed");
  assert.equal(s.content, got.content);
  return got;
}

describe("reasoning splitter", () => {
  test("whole answers: the thought at the start, trimmed; content after it", () => {
    const cases: Array<[text: string, inThinking: boolean, reasoning: string | undefined, content: string]> = [
      ["<think>\nI should greet.\n</think>\n\nHello!", false, "I should greet.", "Hello!"],
      ["  \n<think>a b</think>c", false, "a b", "c"],
      ["<think>\n\n</think>\n\nHi", false, undefined, "Hi"],
      ["Hello <think>not a thought</think>", false, undefined, "Hello <think>not a thought</think>"],
      ["\nHello", false, undefined, "\nHello"],
      ["<think>cut off by max_tokens", false, "cut off by max_tokens", ""],
      ["<thi", false, undefined, "<thi"],
      ["", false, undefined, ""],
      // the prompt opened the thought (DeepSeek R1, QwQ, Qwen3.5)
      ["Let me see.\n</think>\n\nDone", true, "Let me see.", "Done"],
      ["<think>\nthe tag again</think>Done", true, "the tag again", "Done"],
      ["still thinking </thi", true, "still thinking </thi", ""],
      ["</think>Done", true, undefined, "Done"],
      ["a</think>b</think>c", true, "a", "b</think>c"],
    ];
    for (const [text, inThinking, reasoning, content] of cases) {
      assert.deepEqual(splitReasoning(text, { tags: THINK, inThinking }), { reasoning, content }, JSON.stringify(text));
    }
    assert.deepEqual(splitReasoning("[THINK]hmm[/THINK]ok", { tags: MISTRAL_THINK, inThinking: false }), { reasoning: "hmm", content: "ok" });
  });

  test("streamed: nothing is sent before it is known to be thought or content", () => {
    const s = new ReasoningSplitter({ tags: THINK, inThinking: false });
    assert.deepEqual(s.push("  "), []);
    assert.deepEqual(s.push("<th"), []);
    assert.deepEqual(s.push("ink>\nI "), [{ reasoning: "I" }]);
    assert.deepEqual(s.push("think \n"), [{ reasoning: " think" }]);
    assert.deepEqual(s.push("</thi"), []);
    assert.deepEqual(s.push("nk>\n\n"), []);
    assert.deepEqual(s.push("Hi"), [{ content: "Hi" }]);
    assert.deepEqual(s.finish(), []);
    assert.equal(s.reasoning, "I think");
  });

  test("deepseek-legacy streamed keeps the thought in the content, between its tags", () => {
    const inline = (text: string, inThinking: boolean) => streamSplit([...text], { tags: THINK, inThinking, inline: true });
    assert.deepEqual(inline("<think>\nhmm\n</think>\n\nHi", false), { reasoning: "", content: "<think>hmm</think>Hi" });
    assert.deepEqual(inline("hmm</think>Hi", true), { reasoning: "", content: "<think>hmm</think>Hi" });
    assert.deepEqual(inline("plain", false), { reasoning: "", content: "plain" });
  });

  test("any cut of any answer streams to what the whole answer splits to", () => {
    const FRAGMENTS = ["<think>", "</think>", "<thi", "</th", "<", ">", "/", " ", "\n", "\t", "\u00a0", "a", "think", "é", "😀", "[THINK]", "[/THINK]"];
    const answers = fc.array(fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 3 })), { maxLength: 16 }).map((p) => p.join(""));
    fc.assert(
      fc.property(answers, fc.array(fc.nat(), { maxLength: 12 }), fc.boolean(), fc.constantFrom(THINK, MISTRAL_THINK), (text, cuts, inThinking, tags) => {
        const whole = splitReasoning(text, { tags, inThinking });
        const streamed = streamSplit(splitAt(text, cuts), { tags, inThinking });
        assert.deepEqual({ reasoning: streamed.reasoning === "" ? undefined : streamed.reasoning, content: streamed.content }, whole);
        // and it is what a plain reading of the rules gives
        assert.deepEqual(whole, reference(text, inThinking, tags));
        // inline, the same cut gives the same content as the whole text split inline
        const inline = { tags, inThinking, inline: true };
        assert.equal(streamSplit(splitAt(text, cuts), inline).content, streamSplit([text], inline).content);
      }),
      { numRuns: 400 },
    );
  });

  test("a ReasoningPlan knows whether the prompt opened the thought; format none splits nothing", () => {
    assert.equal(new ReasoningPlan(THINK, "auto", "<|im_start|>assistant\n<think>\n").inThinking, true);
    assert.equal(new ReasoningPlan(THINK, "auto", "<|im_start|>assistant\n<think>\n\n</think>\n\n").inThinking, false);
    assert.equal(new ReasoningPlan(THINK, "none", "x").splitter(false), undefined);
    for (const f of ["auto", "deepseek", "deepseek-legacy"] as const) assert.ok(new ReasoningPlan(THINK, f, "x").splitter(false));
  });

  test("reasoning_format and reasoning_effort: bad values are 400s naming the field", () => {
    assert.equal(readReasoningFormat({}, "auto"), "auto");
    assert.equal(readReasoningFormat({ reasoning_format: "none" }, "auto"), "none");
    for (const v of ["think", 1, true]) {
      assert.throws(() => readReasoningFormat({ reasoning_format: v }, "auto"), (e: ApiError) => e.status === 400 && /'reasoning_format'/.test(e.message));
    }
    assert.deepEqual(effortKwargs({ reasoning_effort: "none" }), { enable_thinking: false });
    assert.deepEqual(effortKwargs({ reasoning_effort: "high" }), { reasoning_effort: "high" });
    assert.deepEqual(effortKwargs({}), {});
    assert.throws(() => effortKwargs({ reasoning_effort: 2 }), (e: ApiError) => e.status === 400 && /'reasoning_effort'/.test(e.message));
  });

  test("--reasoning sets the template's enable_thinking: auto under --chat-template-kwargs, on and off over it", () => {
    assert.deepEqual(defaultTemplateKwargs(undefined, {}), { enable_thinking: true });
    assert.deepEqual(defaultTemplateKwargs("auto", { enable_thinking: false, x: 1 }), { enable_thinking: false, x: 1 });
    assert.deepEqual(defaultTemplateKwargs("off", { enable_thinking: true }), { enable_thinking: false });
    assert.deepEqual(defaultTemplateKwargs("on", {}), { enable_thinking: true });
    assert.deepEqual(defaultTemplateKwargs("-1", {}), { enable_thinking: true });
  });
});

/** The splitting rules, read plainly over a whole answer. */
function reference(text: string, inThinking: boolean, tags: { open: string; close: string }): { reasoning: string | undefined; content: string } {
  const trim = (s: string) => s.replace(/^[ \n\r\t]+|[ \n\r\t]+$/g, "");
  const lead = text.replace(/^[ \n\r\t]+/, "");
  let rest: string;
  if (inThinking) rest = lead.startsWith(tags.open) ? lead.slice(tags.open.length) : text;
  else if (lead.startsWith(tags.open)) rest = lead.slice(tags.open.length);
  else return { reasoning: undefined, content: text };
  const end = rest.indexOf(tags.close);
  const thought = trim(end < 0 ? rest : rest.slice(0, end));
  const content = end < 0 ? "" : rest.slice(end + tags.close.length).replace(/^[ \n\r\t]+/, "");
  return { reasoning: thought === "" ? undefined : thought, content };
}

describe("reasoning budget tracker", () => {
  const spec = (tokens: number, inThinking: boolean) => ({ tokens, tags: THINK, inThinking, forced: [90, 91] as Token[] });

  test("counts the thought's tokens from the opening tag, then forces the end one token at a time", () => {
    const b = new ReasoningBudget(spec(2, false), () => false);
    const step = (t: number, text: string) => {
      const forced = b.forcedToken();
      b.observe(t as Token, text);
      return forced;
    };
    assert.equal(step(1, "Hi "), undefined);
    assert.equal(step(2, "<th"), undefined);
    assert.equal(step(3, "ink>"), undefined, "the tag itself is not counted");
    assert.equal(step(4, "one"), undefined);
    assert.equal(step(5, "two"), undefined);
    assert.equal(step(90, "…"), 90, "two tokens of thought: the end is forced");
    assert.equal(step(91, "</think>"), 91);
    assert.equal(b.forcedToken(), undefined, "done");
  });

  test("the prompt's open thought counts from the first token; budget 0 forces at once", () => {
    const b = new ReasoningBudget(spec(0, true), () => false);
    assert.equal(b.forcedToken(), 90);
  });

  test("a thought that closes in time is left alone", () => {
    const b = new ReasoningBudget(spec(3, true), () => false);
    b.observe(1 as Token, "ok </th");
    b.observe(2 as Token, "ink> answer");
    for (let i = 0; i < 5; i++) {
      assert.equal(b.forcedToken(), undefined);
      b.observe(3 as Token, "more");
    }
  });

  test("waits for a character to be complete, and gives up when a grammar picks another token", () => {
    let mid = true;
    const b = new ReasoningBudget(spec(0, true), () => mid);
    assert.equal(b.forcedToken(), undefined);
    mid = false;
    assert.equal(b.forcedToken(), 90);
    b.observe(7 as Token, "x");
    assert.equal(b.forcedToken(), undefined);
  });

  test("a request's budget: -1 is the server's; a thought needs tags; the message goes before the closing tag", () => {
    const thinking = { tags: THINK, inThinking: true };
    const tokenize = (t: string) => [...t].map((c) => c.charCodeAt(0) as Token);
    assert.equal(readReasoningBudget({}, { tokens: -1 }, thinking, tokenize), undefined);
    assert.equal(readReasoningBudget({ reasoning_budget_tokens: 4 }, { tokens: -1 }, undefined, tokenize), undefined);
    assert.equal(readReasoningBudget({ reasoning_budget_tokens: -1 }, { tokens: 7 }, thinking, tokenize)?.tokens, 7);
    assert.equal(readReasoningBudget({ thinking_budget_tokens: 3 }, { tokens: 7 }, thinking, tokenize)?.tokens, 3);
    const b = readReasoningBudget({ reasoning_budget_tokens: 0, reasoning_budget_message: "ok" }, { tokens: -1 }, thinking, tokenize)!;
    assert.deepEqual(b.forced, tokenize("ok</think>"));
    const bad: JsonObject[] = [{ reasoning_budget_tokens: -2 }, { reasoning_budget_tokens: 1.5 }, { thinking_budget_tokens: "9" }, { reasoning_budget_message: 1 }];
    for (const body of bad) {
      assert.throws(() => readReasoningBudget(body, { tokens: -1 }, thinking, tokenize), (e: ApiError) => e.status === 400 && new RegExp(Object.keys(body)[0]!).test(e.message));
    }
  });
});

describe("chat answer: reasoning, then tool calls in the content", () => {
  const QWEN3 = loadTemplate("Qwen-Qwen3-0.6B.jinja");
  const call = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>';
  const text = `<think>\nShould I write ${call}? Yes.\n</think>\n\n${call}`;
  const plan = () => planToolCalls(readToolRequest({ tools: [WEATHER_TOOL] }), QWEN3, "<|im_start|>assistant\n")!;

  function run(pieces: string[], splitter: ReasoningSplitter | undefined, contentOnly: boolean) {
    const a = new ChatAnswer(splitter, plan().stream({ contentOnly, strict: true }));
    const deltas = [...pieces.flatMap((p) => a.push(p)), ...a.finish()];
    return { deltas, message: a.message(), calls: a.toolCallCount };
  }

  test("the call inside the thought is reasoning; the one after it is the call, whole and in any pieces", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 10 }), (cuts) => {
        const r = run(splitAt(text, cuts), new ReasoningSplitter({ tags: THINK, inThinking: false }), true);
        assert.equal(r.calls, 1);
        const m = r.message as { content: unknown; reasoning_content: string; tool_calls: Array<{ function: { name: string; arguments: string } }> };
        assert.equal(m.content, null);
        assert.equal(m.reasoning_content, `Should I write ${call}? Yes.`);
        assert.equal(m.tool_calls[0]!.function.name, "get_weather");
        assert.deepEqual(JSON.parse(m.tool_calls[0]!.function.arguments), { city: "Paris" });
        assert.equal(r.deltas.map((d) => d["reasoning_content"] ?? "").join(""), m.reasoning_content);
        assert.ok(r.deltas.every((d) => d["content"] === undefined), "nothing leaks out as content");
      }),
      { numRuns: 100 },
    );
  });

  test("reasoning_format none: the thought stays in the content, and its call is still not a call", () => {
    const r = run([text], undefined, false);
    const m = r.message as { content: string; reasoning_content?: string };
    assert.equal(r.calls, 1);
    assert.equal(m.reasoning_content, undefined);
    assert.ok(m.content.startsWith("<think>") && m.content.includes("Yes."), m.content);
  });

  test("without tools the content is the text as generated", () => {
    const a = new ChatAnswer(new ReasoningSplitter({ tags: THINK, inThinking: false }), undefined);
    a.push("<think>x</think>\n\n Hello  ");
    a.finish();
    assert.deepEqual(a.message(), { role: "assistant", content: "Hello  ", reasoning_content: "x" });
  });

  test("preserved tokens: the format's markers and the thinking tags that are single tokens", () => {
    const ids: Record<string, number> = { "<tool_call>": 10, "</tool_call>": 11, "<think>": 12 };
    const tokenize = (t: string) => (ids[t] !== undefined ? [ids[t]! as Token] : [1, 2].map((x) => x as Token));
    assert.deepEqual([...chatPreservedTokens(tokenize, plan(), THINK)].sort(), [10, 11, 12]);
    assert.deepEqual([...chatPreservedTokens(tokenize, undefined, THINK)], [12]);
    assert.deepEqual([...chatPreservedTokens(tokenize, undefined, undefined)], []);
  });
});

// ---- end to end ---------------------------------------------------------------------------------------------------

/** Markers that real vocabularies hold as control tokens: hidden when detokenized unless preserved. */
const CONTROL_TOKENS = ["<think>", "</think>", "[TOOL_CALLS]", "[ARGS]", "[CALL_ID]", "[THINK]", "[/THINK]", "<tool_call>", "</tool_call>"];
const USER = [{ role: "user", content: "Hello?" }];

interface Chunk {
  choices: Array<{ delta: { role?: string; content?: string | null; reasoning_content?: string; tool_calls?: Array<{ index: number; id?: string; function: { name?: string; arguments?: string } }> }; finish_reason: string | null }>;
}

/** A streamed chat answer, added up. */
async function streamChat(url: string, body: object) {
  const res = await fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...body, stream: true }) });
  assert.equal(res.status, 200);
  const events = await readSse(res);
  assert.equal(events.at(-1), "[DONE]");
  const chunks = events.slice(0, -1) as Chunk[];
  let reasoning = "";
  let content = "";
  const calls: Array<{ name: string; arguments: string }> = [];
  for (const c of chunks) {
    const d = c.choices[0]?.delta;
    if (!d) continue;
    if (d.reasoning_content !== undefined) {
      assert.ok(d.reasoning_content.length > 0, "no empty reasoning deltas");
      reasoning += d.reasoning_content;
    }
    content += d.content ?? "";
    for (const tc of d.tool_calls ?? []) {
      if (!calls[tc.index]) calls[tc.index] = { name: tc.function.name!, arguments: "" };
      calls[tc.index]!.arguments += tc.function.arguments ?? "";
    }
  }
  return { reasoning, content, calls, finish: chunks.at(-1)!.choices[0]!.finish_reason };
}

async function tokenId(url: string, text: string): Promise<number> {
  const r = await postJson(`${url}/tokenize`, { content: text });
  assert.equal(r.json.tokens.length, 1, `${text} is one token`);
  return r.json.tokens[0] as number;
}

describe("reasoning end to end (Qwen3 template, markers as control tokens)", () => {
  let server: RunningServer;
  const grammar = 'root ::= "<think>\\nI should greet.\\n</think>\\n\\nHello"';
  let bias: Record<string, number>;
  before(async () => {
    const model = await getTestModel("tiny", { controlTokens: CONTROL_TOKENS });
    server = await startServer(["-m", model, "-t", "1", "-c", "2048", "-np", "1", "--chat-template-file", path.join(TEMPLATE_DIR, "Qwen-Qwen3-0.6B.jinja")]);
    // the grammar lets the tags be written as the control token or letter by letter: the bias picks the token
    bias = { [await tokenId(server.url, "<think>")]: 50, [await tokenId(server.url, "</think>")]: 50 };
  });
  after(async () => {
    await server?.stop();
  });

  test("the thought becomes reasoning_content, whole and streamed, though its tags are control tokens", async () => {
    const body = { messages: USER, grammar, logit_bias: bias, max_tokens: 60, logprobs: true, top_logprobs: 1 };
    const r = await postJson(`${server.url}/v1/chat/completions`, body);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const choice = r.json.choices[0];
    assert.deepEqual(choice.message, { role: "assistant", content: "Hello", reasoning_content: "I should greet." });
    const ids = (choice.logprobs.content as Array<{ id: number }>).map((e) => e.id);
    assert.equal(ids[0], await tokenId(server.url, "<think>"), "the model wrote the control token");
    assert.ok(ids.includes(await tokenId(server.url, "</think>")));

    const { logprobs: _l, top_logprobs: _t, ...plain } = body;
    const s = await streamChat(server.url, plain);
    assert.deepEqual([s.reasoning, s.content, s.finish], ["I should greet.", "Hello", "stop"]);
  });

  test("reasoning_format none keeps the tags in the content; deepseek-legacy streams them there", async () => {
    const none = await postJson(`${server.url}/v1/chat/completions`, { messages: USER, grammar, logit_bias: bias, max_tokens: 60, reasoning_format: "none" });
    assert.deepEqual(none.json.choices[0].message, { role: "assistant", content: "<think>\nI should greet.\n</think>\n\nHello" });
    const legacy = { messages: USER, grammar, logit_bias: bias, max_tokens: 60, reasoning_format: "deepseek-legacy" };
    assert.equal((await postJson(`${server.url}/v1/chat/completions`, legacy)).json.choices[0].message.reasoning_content, "I should greet.");
    const s = await streamChat(server.url, legacy);
    assert.deepEqual([s.reasoning, s.content], ["", "<think>I should greet.</think>Hello"]);
  });

  test("a bad reasoning_format is a 400 naming the field", async () => {
    const r = await postJson(`${server.url}/v1/chat/completions`, { messages: USER, max_tokens: 1, reasoning_format: "sometimes" });
    assert.equal(r.status, 400);
    assert.match(r.json.error.message, /reasoning_format/);
  });

  test("a forced tool call after a thought: tool_calls, with the thought as reasoning_content", async () => {
    const tool = { type: "function", function: { name: "get_time", parameters: { type: "object", properties: { tz: { const: "UTC" } }, required: ["tz"] } } };
    const callGrammar = 'root ::= "<think>\\nA tool.\\n</think>\\n\\n<tool_call>\\n{\\"name\\": \\"get_time\\", \\"arguments\\": {\\"tz\\": \\"UTC\\"}}\\n</tool_call>"';
    const callBias = { ...bias, [await tokenId(server.url, "<tool_call>")]: 50, [await tokenId(server.url, "</tool_call>")]: 50 };
    const body = { messages: USER, tools: [tool], grammar: callGrammar, logit_bias: callBias, max_tokens: 80 };
    const r = await postJson(`${server.url}/v1/chat/completions`, body);
    const choice = r.json.choices[0];
    assert.equal(choice.finish_reason, "tool_calls", JSON.stringify(r.json));
    assert.equal(choice.message.content, null);
    assert.equal(choice.message.reasoning_content, "A tool.");
    assert.deepEqual([choice.message.tool_calls[0].function.name, JSON.parse(choice.message.tool_calls[0].function.arguments)], ["get_time", { tz: "UTC" }]);
    const s = await streamChat(server.url, body);
    assert.deepEqual([s.reasoning, s.content, s.finish, s.calls.length, s.calls[0]?.name], ["A tool.", "", "tool_calls", 1, "get_time"]);
  });
});

describe("reasoning end to end (the template opens the thought: Qwen3.5)", () => {
  let server: RunningServer;
  let closeId: number;
  before(async () => {
    const model = await getTestModel("tiny", { controlTokens: CONTROL_TOKENS });
    server = await startServer(["-m", model, "-t", "1", "-c", "4096", "-np", "1", "--chat-template-file", path.join(TEMPLATE_DIR, "Qwen3.5-4B.jinja")]);
    closeId = await tokenId(server.url, "</think>");
  });
  after(async () => {
    await server?.stop();
  });

  test("the answer starts inside the thought; enable_thinking false closes it in the prompt", async () => {
    const grammar = 'root ::= "Thinking hard.\\n</think>\\n\\nDone"';
    const body = { messages: USER, grammar, logit_bias: { [closeId]: 50 }, max_tokens: 40 };
    const r = await postJson(`${server.url}/v1/chat/completions`, body);
    assert.deepEqual(r.json.choices[0].message, { role: "assistant", content: "Done", reasoning_content: "Thinking hard." });
    const s = await streamChat(server.url, body);
    assert.deepEqual([s.reasoning, s.content], ["Thinking hard.", "Done"]);

    const off = await postJson(`${server.url}/v1/chat/completions`, { messages: USER, grammar: 'root ::= "Done"', max_tokens: 10, chat_template_kwargs: { enable_thinking: false } });
    assert.deepEqual(off.json.choices[0].message, { role: "assistant", content: "Done" });
    const effort = await postJson(`${server.url}/apply-template`, { messages: USER, reasoning_effort: "none" });
    assert.ok(effort.json.prompt.endsWith("<think>\n\n</think>\n\n"), effort.json.prompt);
  });

  test("reasoning_budget_tokens: the thought ends after that many tokens, with the message, whole and streamed", async () => {
    const body = { messages: USER, max_tokens: 20, seed: 3, temperature: 0, ignore_eos: true, reasoning_budget_tokens: 4, logprobs: true, top_logprobs: 1 };
    const r = await postJson(`${server.url}/v1/chat/completions`, body);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const ids = (r.json.choices[0].logprobs.content as Array<{ id: number }>).map((e) => e.id);
    assert.equal(ids[4], closeId, `the 5th token is the forced </think>: ${ids.join(" ")}`);
    assert.ok(r.json.choices[0].message.content.length > 0, "the answer goes on after the thought");

    const withMessage = await postJson(`${server.url}/v1/chat/completions`, { ...body, reasoning_budget_message: " Enough." });
    assert.match(withMessage.json.choices[0].message.reasoning_content, /Enough\.$/);
    const { logprobs: _l, top_logprobs: _t, ...plain } = body;
    const s = await streamChat(server.url, { ...plain, reasoning_budget_message: " Enough." });
    assert.equal(s.reasoning, withMessage.json.choices[0].message.reasoning_content);
    assert.equal(s.content, withMessage.json.choices[0].message.content);

    const none = await postJson(`${server.url}/v1/chat/completions`, { ...body, reasoning_budget_tokens: 0 });
    assert.equal(none.json.choices[0].logprobs.content[0].id, closeId, "budget 0: the thought closes at once");
    assert.equal(none.json.choices[0].message.reasoning_content, undefined);
  });

  test("Anthropic and Responses clients get the thought as thinking blocks and reasoning items", async () => {
    const req = { model: "x", max_tokens: 16, temperature: 0, thinking: { type: "enabled", budget_tokens: 4 }, messages: USER };
    const m = await postJson(`${server.url}/v1/messages`, req);
    assert.equal(m.status, 200, JSON.stringify(m.json));
    const blocks = m.json.content as Array<{ type: string; thinking?: string; text?: string }>;
    assert.equal(blocks[0]!.type, "thinking");
    assert.ok(blocks[0]!.thinking!.length > 0);
    const res = await fetch(`${server.url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...req, stream: true }) });
    const text = await res.text();
    assert.match(text, /"content_block":\{"type":"thinking"/);
    const thinking = [...text.matchAll(/"thinking_delta","thinking":("(?:[^"\\]|\\.)*")/g)].map((x) => JSON.parse(x[1]!) as string).join("");
    assert.equal(thinking, blocks[0]!.thinking);

    const resp = await postJson(`${server.url}/v1/responses`, { model: "x", input: "Hello?", max_output_tokens: 16, temperature: 0, reasoning_budget_tokens: 4 });
    assert.equal(resp.status, 200, JSON.stringify(resp.json));
    const reasoningItem = (resp.json.output as Array<{ type: string; content?: Array<{ text: string }> }>).find((o) => o.type === "reasoning");
    assert.equal(reasoningItem?.content?.[0]?.text, blocks[0]!.thinking);
  });
});

describe("preserved tool-call markers end to end (Mistral Small 3.2: [TOOL_CALLS] and [ARGS] are control tokens)", () => {
  let server: RunningServer;
  before(async () => {
    const model = await getTestModel("tiny", { controlTokens: CONTROL_TOKENS });
    server = await startServer(["-m", model, "-t", "1", "-c", "4096", "-np", "1", "--chat-template-file", path.join(TEMPLATE_DIR, "Mistral-Small-3.2-24B-Instruct-2506.jinja")]);
  });
  after(async () => {
    await server?.stop();
  });

  test("a forced call written with the marker tokens comes out as tool_calls, whole and streamed", async () => {
    const tool = { type: "function", function: { name: "get_time", parameters: { type: "object", properties: { tz: { const: "UTC" } }, required: ["tz"] } } };
    const markers = [await tokenId(server.url, "[TOOL_CALLS]"), await tokenId(server.url, "[ARGS]")];
    const body = { messages: USER, tools: [tool], tool_choice: "required", parallel_tool_calls: false, max_tokens: 60, logit_bias: Object.fromEntries(markers.map((id) => [id, 50])) };
    const r = await postJson(`${server.url}/v1/chat/completions`, { ...body, logprobs: true, top_logprobs: 1 });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const choice = r.json.choices[0];
    const ids = (choice.logprobs.content as Array<{ id: number }>).map((e) => e.id);
    assert.ok(markers.every((id) => ids.includes(id)), `the model wrote both marker tokens: ${ids.join(" ")}`);
    assert.equal(choice.finish_reason, "tool_calls", JSON.stringify(choice));
    assert.equal(choice.message.content, null);
    assert.deepEqual([choice.message.tool_calls[0].function.name, JSON.parse(choice.message.tool_calls[0].function.arguments)], ["get_time", { tz: "UTC" }]);

    const s = await streamChat(server.url, body);
    assert.deepEqual([s.content, s.finish, s.calls.length, s.calls[0]?.name, s.calls[0] && JSON.parse(s.calls[0].arguments)], ["", "tool_calls", 1, "get_time", { tz: "UTC" }]);
  });

  test("other control tokens stay hidden: a marker outside the format is not text", async () => {
    // <think> is a control token this format does not use: the answer shows nothing of it
    const thinkId = await tokenId(server.url, "<think>");
    const r = await postJson(`${server.url}/v1/chat/completions`, { messages: USER, grammar: 'root ::= "<think>" "ok"', logit_bias: { [thinkId]: 50 }, max_tokens: 5, logprobs: true, top_logprobs: 1 });
    assert.equal(r.json.choices[0].logprobs.content[0].id, thinkId);
    assert.equal(r.json.choices[0].message.content, "ok");
  });
});
