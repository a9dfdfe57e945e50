// The web UI's chat view in a real browser against a real router with real model processes (node engine): a chat
// that loads its model on demand and streams its answer, a stop that keeps the partial text and ends the request on
// the server, compare mode streaming two models at once (side by side, stacked in a narrow window), a model that
// fails to load, and conversations that survive a reload.
// The models have random weights, so their text is random: the tests look at its presence, growth and shape. With
// temperature 0 these models run to max_tokens instead of sampling an early end, which gives a stream long enough
// to watch and to stop.
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { browserSkip, launchBrowser, snap } from "../helpers/browser.js";
import { getTestModel, QUIET_BYTES } from "../helpers/models.js";
import { makeModelsDir, modelStatus, startRouter, waitFor } from "../helpers/router.js";
import { startServer, type RunningServer } from "../helpers/server.js";

const LONG_PROMPT = "Write a long story";

describe("web UI: chat", { skip: browserSkip() }, () => {
  let dir: string | undefined;
  let router: RunningServer | undefined;
  let browser: Browser | undefined;
  let page: Page;

  before(async () => {
    dir = await makeModelsDir({ "a.gguf": 1, "b.gguf": 2 }, QUIET_BYTES);
    // not a GGUF at all: its load fails, and the chat must say why
    writeFileSync(path.join(dir, "broken.gguf"), Buffer.alloc(4096, 7));
    router = await startRouter(["--models-dir", dir]);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    await openChat(page, router.url);
  });

  after(async () => {
    await browser?.close();
    await router?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("a chat loads its model on demand and streams the answer in", async () => {
    assert.equal((await modelStatus(router!.url, "a"))?.status.value, "unloaded");
    await pickModel(page, 0, "a");
    await settings(page, { temperature: "0", maxTokens: "1500" });
    await page.locator('.chat-model-state[data-lane="0"].unloaded').waitFor();
    await watchClasses(page);

    await page.locator(".chat-input").fill(LONG_PROMPT);
    await page.locator(".chat-input").press("Enter");
    assert.equal(await page.locator(".chat-input").inputValue(), "", "Enter sends and empties the box");
    await page.locator(".chat-turn .chat-user", { hasText: LONG_PROMPT }).waitFor();

    // streamed: text shows while the answer is still pending, and grows
    const last = lastAnswer(page, 0);
    const early = await waitFor("text while streaming", async () => {
      const [pending, text] = await Promise.all([last.evaluate((el) => el.classList.contains("pending")), textOf(last)]);
      return pending && text.length > 0 ? text : undefined;
    }, 60_000);
    await page.locator(".chat-answer.pending").waitFor({ state: "detached", timeout: 60_000 });
    await snap(page, "chat");
    const final = await textOf(last);
    assert.ok(final.length > early.length, `the answer grew after its first text (${early.length} → ${final.length} chars)`);
    assert.ok(final.startsWith(early.slice(0, 20)), "the streamed text is the beginning of the answer");

    // the final usage chunk gives the stats
    const stats = await last.locator(".chat-stats").innerText();
    assert.match(stats, /1500 tokens/, stats);
    assert.match(stats, /[\d.]+ tok\/s/, stats);
    assert.match(stats, /hit max tokens/, stats);
    assert.equal(await last.locator(".chat-error").count(), 0);

    // the load was shown while it ran, and the model ends loaded, on the server and in the view
    assert.equal((await modelStatus(router!.url, "a"))?.status.value, "loaded");
    await page.locator('.chat-model-state[data-lane="0"].loaded').waitFor();
    const seen = await page.evaluate(() => (window as unknown as { seenClasses: string[] }).seenClasses);
    assert.ok(seen.includes("chat-model-state loading") || seen.includes("chat-waiting chat-loading"), `loading shown: ${seen.join(", ")}`);

    // the title comes from the first message
    await page.locator(".chat-list li.active", { hasText: LONG_PROMPT }).waitFor();
  });

  test("stop ends the stream, keeps the partial text and aborts the request on the server", async () => {
    await page.locator(".chat-new").click();
    await pickModel(page, 0, "a");
    await settings(page, { temperature: "0", maxTokens: "4000" });
    await send(page, LONG_PROMPT);
    const last = lastAnswer(page, 0);
    await waitFor("some text", async () => (await textOf(last)).length > 40, 60_000);
    assert.equal((await modelStatus(router!.url, "a"))?.in_flight, 1);
    await last.locator(".chat-stop").click();

    await last.locator(".chat-stats", { hasText: "stopped" }).waitFor();
    assert.equal(await last.locator(".chat-stop").count(), 0, "no stop button once stopped");
    const stopped = await textOf(last);
    assert.ok(stopped.length > 0, "the partial text is kept");
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await textOf(last), stopped, "the text no longer grows");
    // the router saw the client go: the model has nothing in flight (it had 4000 tokens to write, several seconds)
    await waitFor("in_flight back to 0", async () => (await modelStatus(router!.url, "a"))?.in_flight === 0, 5_000);
    assert.match(router!.output(), /model=a POST \/v1\/chat\/completions \d+ \S+ aborted/, "the router logged the request as cut off by the client");
    // the composer is usable again
    await page.locator(".chat-send").waitFor();
  });

  test("compare sends one prompt to two models, both streaming at once, each with its own stats", async () => {
    await page.locator(".chat-new").click();
    await page.locator(".chat-compare").check();
    await pickModel(page, 0, "a");
    await pickModel(page, 1, "b");
    await settings(page, { temperature: "0", maxTokens: "2500" });
    // the view samples both columns on every frame: both must be seen growing at the same moment
    await page.evaluate(() => {
      const w = window as unknown as { bothStreaming: number };
      w.bothStreaming = 0;
      const tick = () => {
        const cols = [...document.querySelectorAll(".chat-turn:last-child .chat-answer")];
        if (cols.length === 2 && cols.every((c) => c.classList.contains("pending") && (c.querySelector(".chat-answer-text")?.textContent ?? "") !== "")) w.bothStreaming++;
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    await send(page, LONG_PROMPT);
    const [colA, colB] = [lastAnswer(page, 0), lastAnswer(page, 1)];
    assert.equal(await colA.getAttribute("data-model"), "a");
    assert.equal(await colB.getAttribute("data-model"), "b");
    await waitFor("both columns streaming", () => page.evaluate(() => (window as unknown as { bothStreaming: number }).bothStreaming > 3), 60_000);
    await snap(page, "compare");

    // side by side in a wide window
    const [paneA, paneB] = [page.locator('.chat-transcript[data-pane="0"]'), page.locator('.chat-transcript[data-pane="1"]')];
    const [boxA, boxB] = [await paneA.boundingBox(), await paneB.boundingBox()];
    assert.ok(boxA && boxB && boxB.x > boxA.x + boxA.width - 1 && Math.abs(boxA.y - boxB.y) < 2, "columns side by side");

    await page.locator(".chat-answer.pending").first().waitFor({ state: "detached", timeout: 90_000 });
    await page.waitForFunction(() => document.querySelectorAll(".chat-answer.pending").length === 0, undefined, { timeout: 90_000 });
    for (const col of [colA, colB]) {
      assert.ok((await textOf(col)).length > 100, "each column filled");
      assert.match(await col.locator(".chat-stats").innerText(), /2500 tokens · [\d.]+ tok\/s/);
    }
    assert.notEqual(await textOf(colA), await textOf(colB), "two models, two answers");
    assert.equal((await modelStatus(router!.url, "b"))?.status.value, "loaded");

    // a narrow window stacks them, and the whole page still fits its width
    await page.setViewportSize({ width: 380, height: 720 });
    const [nA, nB] = [await paneA.boundingBox(), await paneB.boundingBox()];
    assert.ok(nA && nB && nB.y >= nA.y + nA.height - 1 && Math.abs(nA.x - nB.x) < 2, "columns stacked in a narrow window");
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), "no sideways scrolling at 380px");
    await page.setViewportSize({ width: 1200, height: 800 });
  });

  test("a model that cannot load shows the server's reason", async () => {
    await page.locator(".chat-new").click();
    await page.locator(".chat-compare").uncheck();
    await pickModel(page, 0, "broken");
    await send(page, "hello");
    const last = lastAnswer(page, 0);
    const error = await last.locator(".chat-error").innerText({ timeout: 60_000 });
    assert.match(error, /^503: model 'broken' failed to load: .*not a GGUF file/, error);
    await page.locator('.chat-model-state[data-lane="0"].failed').waitFor();
  });

  test("conversations survive a reload; new, switch and delete", async () => {
    const titlesBefore = await page.locator(".chat-list .chat-pick").allInnerTexts();
    assert.ok(titlesBefore.length >= 4, `conversations so far: ${titlesBefore.join(" | ")}`);
    // the compare conversation, with its two answers
    await page.locator(".chat-list li", { hasText: "A/B" }).locator(".chat-pick").click();
    const answersBefore = await page.locator(".chat-answer-text").allInnerTexts();
    assert.equal(answersBefore.length, 2);

    await page.reload();
    await openChat(page);
    assert.deepEqual(await page.locator(".chat-list .chat-pick").allInnerTexts(), titlesBefore);
    await page.locator(".chat-list li.active", { hasText: "A/B" }).waitFor();
    assert.deepEqual(await page.locator(".chat-answer-text").allInnerTexts(), answersBefore, "the open conversation and its answers are back");
    assert.equal(await page.locator(".chat-compare").isChecked(), true);
    assert.equal(await page.locator('select[data-lane="1"]').inputValue(), "b");
    await settings(page, {});
    assert.equal(await page.locator(".chat-temp").inputValue(), "0", "settings kept with the conversation");
    assert.equal(await page.locator(".chat-max").inputValue(), "2500");

    // switch to the first chat: its prompt and answer are there
    await page.locator(".chat-list li").last().locator(".chat-pick").click();
    await page.locator(".chat-user", { hasText: LONG_PROMPT }).waitFor();
    assert.equal(await page.locator(".chat-answer").count(), 1);

    // delete it: gone from the list, and still gone after a reload
    const count = await page.locator(".chat-list li").count();
    await page.locator(".chat-list li.active .chat-del").click();
    assert.equal(await page.locator(".chat-list li").count(), count - 1);
    await page.reload();
    await openChat(page);
    assert.equal(await page.locator(".chat-list li").count(), count - 1);
  });

  async function openChat(p: Page, url?: string): Promise<void> {
    if (url) await p.goto(url);
    await p.locator('[data-tab="chat"]').click();
    await p.locator(".chat").waitFor();
    // the models list arrives from the server after the page
    await p.locator('select[data-lane="0"] option[value="a"]').waitFor({ state: "attached" });
  }
});

// `corral -m`: the one model, already loaded, is the chat's model with nothing to pick; regenerate and edit-last.
describe("web UI: chat with `corral -m`", { skip: browserSkip() }, () => {
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  let page: Page;

  before(async () => {
    server = await startServer(["-m", await getTestModel("tiny", { ...QUIET_BYTES, seed: 3 }), "-t", "1"]);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    await page.goto(server.url);
    await page.locator('[data-tab="chat"]').click();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test("chat, regenerate and edit the last prompt", async () => {
    const id = await page.locator('select[data-lane="0"] option').first().getAttribute("value", { timeout: 15_000 });
    assert.ok(id, "the one model is picked");
    await page.locator('.chat-model-state[data-lane="0"].loaded').waitFor();
    await settings(page, { temperature: "0", maxTokens: "200" });
    await send(page, "first prompt");
    await page.waitForFunction(() => document.querySelectorAll(".chat-answer.pending").length === 0);
    const first = await textOf(lastAnswer(page, 0));
    assert.ok(first.length > 0);
    assert.match(await lastAnswer(page, 0).locator(".chat-stats").innerText(), /\d+ tokens · [\d.]+ tok\/s/);

    // regenerate asks again in place: still one turn, answered anew (greedy, so the same text comes back)
    await page.locator(".chat-after button", { hasText: "Regenerate" }).click();
    await page.waitForFunction(() => document.querySelectorAll(".chat-answer.pending").length === 0);
    assert.equal(await page.locator(".chat-turn").count(), 1);
    assert.equal(await textOf(lastAnswer(page, 0)), first);

    // edit-last takes the turn back into the composer; Shift+Enter adds a line, Enter sends the edit
    await page.locator(".chat-after button", { hasText: "Edit last" }).click();
    assert.equal(await page.locator(".chat-turn").count(), 0);
    assert.equal(await page.locator(".chat-input").inputValue(), "first prompt");
    await page.locator(".chat-input").press("End");
    await page.locator(".chat-input").press("Shift+Enter");
    await page.locator(".chat-input").pressSequentially("second line");
    assert.equal(await page.locator(".chat-input").inputValue(), "first prompt\nsecond line");
    await page.locator(".chat-input").press("Enter");
    await page.locator(".chat-user", { hasText: "second line" }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll(".chat-answer.pending").length === 0);
    assert.equal(await page.locator(".chat-turn").count(), 1);
    assert.ok((await textOf(lastAnswer(page, 0))).length > 0);
    assert.equal(await page.locator(".chat-list li.active .chat-pick").innerText(), "first prompt second line", "the title follows the edited prompt");
  });
});

function lastAnswer(page: Page, lane: number) {
  return page.locator(`.chat-turn:last-child .chat-answer[data-lane="${lane}"]`);
}

async function textOf(answer: ReturnType<typeof lastAnswer>): Promise<string> {
  const text = answer.locator(".chat-answer-text");
  return (await text.count()) === 0 ? "" : text.innerText();
}

async function pickModel(page: Page, lane: number, id: string): Promise<void> {
  await page.locator(`select[data-lane="${lane}"]`).selectOption(id);
}

async function settings(page: Page, s: { temperature?: string; maxTokens?: string }): Promise<void> {
  if ((await page.locator(".chat-settings").count()) === 0) await page.locator(".chat-settings-btn").click();
  if (s.temperature !== undefined) await page.locator(".chat-temp").fill(s.temperature);
  if (s.maxTokens !== undefined) await page.locator(".chat-max").fill(s.maxTokens);
  // folded again when something was set, to leave the transcript its room (and the screenshots their space)
  if (Object.keys(s).length > 0) await page.locator(".chat-settings-btn").click();
}

async function send(page: Page, text: string): Promise<void> {
  await page.locator(".chat-input").fill(text);
  await page.locator(".chat-send").click();
}

/** Records every class list that the model-status line and the waiting note take, however briefly. */
async function watchClasses(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { seenClasses: string[] };
    w.seenClasses = [];
    const note = () => {
      for (const el of document.querySelectorAll(".chat-model-state, .chat-waiting")) {
        if (!w.seenClasses.includes(el.className)) w.seenClasses.push(el.className);
      }
    };
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["class"] });
  });
}
