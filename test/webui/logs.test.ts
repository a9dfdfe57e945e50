// The web UI's Logs view in a real browser against a real router: a model's output (GET /models/logs) shown and
// followed live (new request lines appear while the page is open), kept at its end unless the reader scrolled up.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import type { Browser } from "playwright-core";
import { browserSkip, launchBrowser, snap } from "../helpers/browser.js";
import { QUIET_BYTES } from "../helpers/models.js";
import { chat, makeModelsDir, startRouter, waitFor } from "../helpers/router.js";
import type { RunningServer } from "../helpers/server.js";
import { card, openPage, type UiPage } from "../helpers/webui.js";

describe("web UI: logs view", { skip: browserSkip() }, () => {
  let dir: string;
  let router: RunningServer;
  let browser: Browser;
  let ui: UiPage;

  before(async () => {
    dir = await makeModelsDir({ "alpha.gguf": 1, "beta.gguf": 2 }, QUIET_BYTES);
    // -v: model processes log each request, which gives the view lines that arrive while it is open
    router = await startRouter(["--models-dir", dir, "-c", "512", "-v"]);
    const r = await fetch(`${router.url}/models/load`, { method: "POST", body: JSON.stringify({ model: "alpha", wait: true }) });
    assert.equal(r.status, 200, await r.text());
    browser = await launchBrowser();
    ui = await openPage(browser, router.url, { viewport: { width: 1000, height: 700 } });
  });
  after(async () => {
    await ui?.close();
    await browser?.close();
    await router?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const log = () => ui.page.getByTestId("log");
  const requestLines = async () => ((await log().textContent()) ?? "").match(/POST \/v1\/chat\/completions 200/g)?.length ?? 0;
  const atEnd = () => ui.page.getByTestId("log").evaluate((el) => el.scrollTop + el.clientHeight >= el.scrollHeight - 2);

  test("a model's Logs button opens its output, scrolled to the end", async () => {
    const { page } = ui;
    await card(page, "alpha").getByRole("button", { name: "Logs" }).click();
    assert.equal(await page.getByRole("tab", { name: "Logs" }).getAttribute("aria-selected"), "true");
    assert.equal(await page.getByRole("combobox", { name: /Model whose logs/ }).inputValue(), "alpha");
    await waitFor("the load's lines", async () => /model loaded: alpha/.test((await log().textContent()) ?? ""));
    const scroll = await log().evaluate((el) => ({ top: el.scrollTop, height: el.scrollHeight, client: el.clientHeight }));
    assert.ok(scroll.height > scroll.client, `the log is long enough to scroll (${JSON.stringify(scroll)})`);
    assert.ok(await atEnd(), JSON.stringify(scroll));
  });

  test("new lines appear while the page is open, and the view follows them", async () => {
    const before = await requestLines();
    await (await chat(router.url, "alpha")).text();
    await waitFor("a new request line", async () => (await requestLines()) > before, 10_000);
    // one more render may be under way: the scroll follows it
    await waitFor("scrolled to the end", atEnd, 2000);
    await snap(ui.page, "logs");
  });

  test("scrolled up, the view stays where the reader is; Follow goes back to the end", async () => {
    const { page } = ui;
    await log().evaluate((el) => {
      el.scrollTop = 0;
      el.dispatchEvent(new Event("scroll"));
    });
    const follow = page.getByRole("button", { name: /Follow/ });
    await follow.waitFor();
    const before = await requestLines();
    await (await chat(router.url, "alpha")).text();
    await waitFor("a new request line", async () => (await requestLines()) > before, 10_000);
    assert.equal(await log().evaluate((el) => el.scrollTop), 0, "the reader's place is kept");
    await follow.click();
    await waitFor("scrolled to the end", atEnd, 2000);
    await follow.waitFor({ state: "detached" });
  });

  test("a model that never ran says so; picking another model shows its output", async () => {
    const { page } = ui;
    const pick = page.getByRole("combobox", { name: /Model whose logs/ });
    await pick.selectOption("beta");
    await page.getByText("No output yet").waitFor();
    assert.equal(await log().isVisible(), false);
    await pick.selectOption("alpha");
    await waitFor("alpha's lines", async () => /model loaded: alpha/.test((await log().textContent()) ?? ""));
  });

  test("the page logged no errors", () => {
    assert.deepEqual(ui.errors, []);
  });
});
