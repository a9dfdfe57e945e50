// The web UI's Models view in a real browser (Debian's Chromium through playwright-core) against a real router with
// real model processes: the page and its assets as served, the live list, load (loading → loaded) and unload, pin,
// search, a download from the fake hub with its progress, a narrow window, dark mode.
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser } from "playwright-core";
import { fakeGguf, startFakeHub, type FakeHub } from "../fixtures/fake-hub.js";
import { browserSkip, launchBrowser, snap } from "../helpers/browser.js";
import { getTestModel, QUIET_BYTES } from "../helpers/models.js";
import { listModels, makeModelsDir, startRouter, waitFor } from "../helpers/router.js";
import type { RunningServer } from "../helpers/server.js";
import { card, openPage, recordStatuses, statusTrail, type UiPage } from "../helpers/webui.js";

describe("web UI: models view", { skip: browserSkip() }, () => {
  let dir: string;
  let hub: FakeHub;
  let router: RunningServer;
  let browser: Browser;
  let ui: UiPage;

  before(async () => {
    dir = await makeModelsDir({ "alpha.gguf": 1, "beta.gguf": 2, "gamma/gamma.gguf": 3 }, QUIET_BYTES);
    // not a GGUF: its load fails, and the card says why
    writeFileSync(path.join(dir, "broken.gguf"), Buffer.alloc(4096, 7));
    const model = readFileSync(await getTestModel("tiny", { ...QUIET_BYTES, seed: 7 }));
    hub = await startFakeHub([
      { id: "org/tiny-GGUF", files: [{ path: "tiny-Q8_0.gguf", content: model }] },
      { id: "org/bad-GGUF", files: [{ path: "bad-Q8_0.gguf", content: fakeGguf("bad", 200_000) }] },
    ]);
    router = await startRouter(["--models-dir", dir, "--models-max", "2", "-c", "512"], { HF_ENDPOINT: hub.url, HF_TOKEN: "" });
    browser = await launchBrowser();
    ui = await openPage(browser, router.url, { viewport: { width: 1100, height: 800 } });
  });
  const pinned = async (id: string) => ((await listModels(router.url)).find((m) => m.id === id) as unknown as { pinned: boolean }).pinned;

  after(async () => {
    await ui?.close();
    await browser?.close();
    await router?.stop();
    await hub?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("/ serves the built page (revalidated), its hashed assets cached for good, and HEAD / stays Ollama's probe", async () => {
    const page = await fetch(`${router.url}/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("cache-control"), "no-cache");
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="\.\/(assets\/[^"]+)"/g)].map((m) => m[1]!);
    assert.ok(assets.some((a) => a.endsWith(".js")) && assets.some((a) => a.endsWith(".css")), html);
    for (const a of assets) {
      const r = await fetch(`${router.url}/${a}`);
      assert.equal(r.status, 200, a);
      assert.match(r.headers.get("cache-control") ?? "", /immutable/);
      assert.match(r.headers.get("content-type") ?? "", a.endsWith(".js") ? /javascript/ : /text\/css/);
      await r.arrayBuffer();
    }
    assert.equal((await fetch(`${router.url}/assets/nope.js`)).status, 404);
    assert.equal((await fetch(`${router.url}/`, { method: "HEAD" })).status, 200);
  });

  test("every model is listed, with its engine, size, source and memory estimate", async () => {
    const { page } = ui;
    await waitFor("four cards", async () => (await page.locator("li.model").count()) === 4);
    for (const id of ["alpha", "beta", "gamma"]) {
      const c = card(page, id);
      assert.equal(await c.getAttribute("data-status"), "unloaded");
      const text = await c.innerText();
      assert.match(text, /engine\s+node/);
      assert.match(text, /source\s+models_dir/);
      assert.match(text, /size\s+771 KB/);
    }
    // the estimate arrives once the router has read the GGUF header
    await waitFor("a memory estimate", async () => /memory\s+\d+(\.\d)? MB est\./.test(await card(page, "alpha").innerText()));
    assert.match(await page.locator(".summary").innerText(), /4 models, 0 loaded/);
  });

  test("Load: the status goes loading → loaded live, and the running process's facts appear", async () => {
    const { page } = ui;
    await recordStatuses(page, "alpha");
    await card(page, "alpha").getByRole("button", { name: "Load" }).click();
    await card(page, "alpha", "loaded").waitFor();
    const trail = await statusTrail(page, "alpha");
    assert.deepEqual(trail, ["unloaded", "loading", "loaded"], `statuses shown: ${trail.join(" → ")}`);
    const listed = (await listModels(router.url)).find((m) => m.id === "alpha")!;
    assert.equal(listed.status.value, "loaded");
    // pid and measured memory come from the list read the status change triggers
    await waitFor("pid shown", async () => new RegExp(`pid\\s+${listed.pid}\\b`).test(await card(page, "alpha").innerText()));
    assert.match(await card(page, "alpha").innerText(), /MB est\. \/ \d+(\.\d)? MB used/);
    assert.match(await card(page, "alpha").innerText(), /context\s+512/);
    await waitFor("summary", async () => /1 loaded/.test(await page.locator(".summary").innerText()));
    await snap(page, "models");
  });

  test("Pin and Unpin change the router's scheduling state, shown on the card", async () => {
    const { page } = ui;
    const c = card(page, "alpha");
    await c.getByRole("button", { name: "Pin" }).click();
    await c.locator(".chip", { hasText: "pinned" }).waitFor();
    assert.equal(await pinned("alpha"), true);
    await c.getByRole("button", { name: "Unpin" }).click();
    await c.locator(".chip", { hasText: "pinned" }).waitFor({ state: "detached" });
    assert.equal(await pinned("alpha"), false);
  });

  test("an eviction made by another client shows live (no reload of the page)", async () => {
    const { page } = ui;
    // --models-max 2: beta and gamma loaded from outside evict alpha, the least recently used
    for (const model of ["beta", "gamma"]) {
      const r = await fetch(`${router.url}/models/load`, { method: "POST", body: JSON.stringify({ model, wait: true }) });
      assert.equal(r.status, 200, await r.text());
    }
    await card(page, "alpha", "unloaded").waitFor();
    await card(page, "gamma", "loaded").waitFor();
  });

  test("Unload stops the model", async () => {
    const { page } = ui;
    await card(page, "beta").getByRole("button", { name: "Unload" }).click();
    await card(page, "beta", "unloaded").waitFor();
    assert.equal((await listModels(router.url)).find((m) => m.id === "beta")!.status.value, "unloaded");
    await card(page, "gamma").getByRole("button", { name: "Unload" }).click();
    await card(page, "gamma", "unloaded").waitFor();
  });

  test("a load that fails shows as failed, with the reason and the exit code", async () => {
    const { page } = ui;
    await card(page, "broken").getByRole("button", { name: "Load" }).click();
    const failure = card(page, "broken").getByTestId("failure");
    await failure.waitFor();
    const listed = (await listModels(router.url)).find((m) => m.id === "broken")!;
    assert.equal(listed.status.failed, true);
    assert.equal(await card(page, "broken").getByTestId("status").innerText(), "failed");
    const text = await failure.innerText();
    assert.ok(text.includes(listed.status.error!.split("\n")[0]!), `${text} vs ${listed.status.error}`);
    assert.equal(typeof listed.status.exit_code, "number");
    assert.match(text, new RegExp(`^exit code ${listed.status.exit_code}: `));
  });

  test("the search box filters by name", async () => {
    const { page } = ui;
    const search = page.getByRole("searchbox", { name: "Search models" });
    await search.fill("gam");
    await waitFor("one card", async () => (await page.locator("li.model").count()) === 1);
    assert.equal(await page.locator("li.model").getAttribute("data-model"), "gamma");
    await search.fill("nothing-like-it");
    await page.getByText("No model matches").waitFor();
    await search.fill("");
    await waitFor("all cards", async () => (await page.locator("li.model").count()) === 4);
  });

  test("Download: an unknown repo shows the hub's refusal; a known one shows progress, then the model is listed", async () => {
    const { page } = ui;
    const box = page.getByRole("textbox", { name: "Model to download" });
    await box.fill("org/missing-GGUF:Q8_0");
    await page.getByRole("button", { name: "Download" }).click();
    const refusal = page.locator(".download .error");
    await refusal.waitFor();
    assert.equal(await refusal.count(), 1, "the refusal is said once (not again as a failed download)");
    assert.match(await refusal.innerText(), /missing-GGUF/);

    // about 2 s for the 0.8 MB model: long enough to see the bar move
    hub.knobs.bytesPerSecond = 400_000;
    await box.fill("org/tiny-GGUF:Q8_0");
    await recordStatuses(page, "org/tiny-GGUF:Q8_0");
    await page.getByRole("button", { name: "Download" }).click();
    const bar = card(page, "org/tiny-GGUF:Q8_0").getByRole("progressbar", { name: "download progress" });
    await bar.waitFor();
    // the bar moves with the download_progress events (a third of the way, for the picture)
    await waitFor("progress past 30 %", async () => Number(await bar.getAttribute("aria-valuenow")) >= 30, 10_000);
    assert.match(await card(page, "org/tiny-GGUF:Q8_0").innerText(), /KB of 771 KB/);
    await snap(page, "download");
    await card(page, "org/tiny-GGUF:Q8_0", "unloaded").waitFor({ timeout: 30_000 });
    const trail = await statusTrail(page, "org/tiny-GGUF:Q8_0");
    assert.equal(trail[0], "downloading", trail.join(" → "));
    assert.match(await card(page, "org/tiny-GGUF:Q8_0").innerText(), /source\s+cache/);
    await page.locator(".download-msg", { hasText: "Downloading org/tiny-GGUF:Q8_0" }).waitFor();

    await box.fill("org/tiny-GGUF:Q8_0");
    await page.getByRole("button", { name: "Download" }).click();
    await page.locator(".download-msg", { hasText: "org/tiny-GGUF:Q8_0 is already downloaded." }).waitFor();

    // a download that fails once under way (the bytes do not match the hub's sha256) is reported under the box
    hub.knobs.wrongBytes = ["bad-Q8_0.gguf"];
    await box.fill("org/bad-GGUF:Q8_0");
    await page.getByRole("button", { name: "Download" }).click();
    const failed = page.locator(".download .error", { hasText: "Download of org/bad-GGUF:Q8_0 failed" });
    await failed.waitFor();
    assert.match(await failed.innerText(), /sha256|size|match/i);
    await card(page, "org/bad-GGUF:Q8_0").waitFor({ state: "detached" });
  });

  test("a narrow window (380 px) shows every card and button without sideways scrolling", async () => {
    const narrow = await openPage(browser, router.url, { viewport: { width: 380, height: 760 } });
    try {
      const { page } = narrow;
      await waitFor("cards", async () => (await page.locator("li.model").count()) === 5);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `the page is ${overflow} px wider than the window`);
      for (const b of await card(page, "alpha").getByRole("button").all()) {
        const box = (await b.boundingBox())!;
        assert.ok(box.x >= 0 && box.x + box.width <= 380, `button ${await b.innerText()} at ${box.x}+${box.width}`);
      }
      for (const t of ["Models", "Chat", "Logs"]) assert.ok(await page.getByRole("tab", { name: t }).isVisible(), t);
      await snap(page, "narrow");
      assert.deepEqual(narrow.errors, []);
    } finally {
      await narrow.close();
    }
  });

  test("dark mode follows the system's", async () => {
    const dark = await openPage(browser, router.url, { colorScheme: "dark" });
    const light = await openPage(browser, router.url, { colorScheme: "light" });
    try {
      const bg = (p: UiPage) => p.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      const lum = (rgb: string) => rgb.match(/\d+/g)!.slice(0, 3).map(Number).reduce((a, b) => a + b, 0);
      assert.ok(lum(await bg(dark)) < 150, await bg(dark));
      assert.ok(lum(await bg(light)) > 600, await bg(light));
    } finally {
      await dark.close();
      await light.close();
    }
  });

  test("the page logged no errors", () => {
    assert.deepEqual(ui.errors, []);
  });
});
