// Model output is shown as Markdown but can never become markup of its own: a `remote` model (the fake OpenAI
// server, whose answers carry the name it is given) answers with HTML, a script and a javascript: link, and the
// chat must show them as text while still rendering the Markdown around them.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { startFakeOpenAI, type FakeOpenAI } from "../fixtures/fake-openai-server.js";
import { browserSkip, launchBrowser } from "../helpers/browser.js";
import { emptyDir, startRouter } from "../helpers/router.js";
import type { RunningServer } from "../helpers/server.js";

const HOSTILE = '<img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script> **bold** [click](javascript:window.__pwned=3) `<b>code</b>`';

describe("web UI: model output cannot inject markup", { skip: browserSkip() }, () => {
  let fake: FakeOpenAI;
  let router: RunningServer;
  let browser: Browser;
  let page: Page;

  before(async () => {
    fake = await startFakeOpenAI({ model: HOSTILE });
    const ini = path.join(emptyDir("corral-preset-"), "models.ini");
    writeFileSync(ini, `[remote-x]\nproxy = ${fake.url}\n`);
    router = await startRouter(["--models-preset", ini]);
    browser = await launchBrowser();
    page = await browser.newPage();
    await page.goto(`${router.url}/`);
    await page.locator('[data-tab="chat"]').click();
  });
  after(async () => {
    await browser?.close();
    await router?.stop();
    await fake?.close();
  });

  test("HTML, scripts and javascript: links in an answer are shown as text; the Markdown around them renders", async () => {
    await page.locator('select[data-lane="0"]').selectOption("remote-x");
    await page.locator(".chat-input").fill("hello");
    await page.locator(".chat-input").press("Enter");
    const answer = page.locator('.chat-turn:last-child .chat-answer[data-lane="0"]');
    await answer.locator(".chat-answer-text", { hasText: "answers model remote-x" }).waitFor();
    await page.locator(".chat-answer.pending").waitFor({ state: "detached" });
    const text = answer.locator(".chat-answer-text");
    // the hostile parts are there, as text
    assert.match(await text.innerText(), /<img src=x onerror="window.__pwned=1">/);
    assert.match(await text.innerText(), /<script>window.__pwned=2<\/script>/);
    // and nothing of them became an element, ran, or links anywhere
    assert.equal(await text.locator("img, script").count(), 0);
    assert.equal(await text.locator('a[href^="javascript:"]').count(), 0);
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    // Markdown still works: bold, and inline code kept literal
    assert.equal(await text.locator("strong", { hasText: "bold" }).count(), 1);
    assert.equal(await text.locator("code", { hasText: "<b>code</b>" }).count(), 1);
    assert.equal(await text.locator("b").count(), 0);
  });
});
