// The Models view's live stream survives the router going away: while it is down the page says so, and once a
// router answers again on the same address the page reconnects by itself and shows what changed meanwhile.
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import type { Browser } from "playwright-core";
import { browserSkip, launchBrowser } from "../helpers/browser.js";
import { QUIET_BYTES } from "../helpers/models.js";
import { makeModelsDir, startRouter } from "../helpers/router.js";
import type { RunningServer } from "../helpers/server.js";
import { card, openPage, type UiPage } from "../helpers/webui.js";

/** A port free now (the second router must come back on the first one's address). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describe("web UI: the live model list reconnects", { skip: browserSkip() }, () => {
  const routers: RunningServer[] = [];
  let browser: Browser;
  let ui: UiPage;

  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await ui?.close();
    await browser?.close();
    for (const r of routers) await r.stop();
  });

  test("a router restart: the page shows it is not connected, then reconnects and lists the new models", async () => {
    const port = await freePort();
    const first = await startRouter(["--models-dir", await makeModelsDir({ "alpha.gguf": 1 }, QUIET_BYTES), "--port", String(port)]);
    routers.push(first);
    ui = await openPage(browser, `${first.url}/`);
    const { page } = ui;
    await card(page, "alpha").waitFor();
    await page.locator(".conn.live").waitFor();

    await first.stop();
    await page.locator('.conn:not(.live)[aria-label="not connected"]').waitFor();

    const second = await startRouter(["--models-dir", await makeModelsDir({ "alpha.gguf": 1, "beta.gguf": 2 }, QUIET_BYTES), "--port", String(port)]);
    routers.push(second);
    assert.equal(second.url, first.url, "the same address");
    await page.locator(".conn.live").waitFor({ timeout: 30_000 });
    // beta exists only on the new router: the page read the list again when it reconnected
    await card(page, "beta").waitFor();
    assert.equal(await page.locator("li.model").count(), 2);
  });
});
