// Access to the web UI: with --api-key the page and its assets load without the key, the page asks for it when the
// API answers 401, keeps it in the browser, and lets the user forget it; `corral -m` serves the page for its one
// model (no load, unload or logs); --no-webui turns it off and --path still wins over it.
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser } from "playwright-core";
import { browserSkip, launchBrowser } from "../helpers/browser.js";
import { getTestModel, QUIET_BYTES } from "../helpers/models.js";
import { emptyDir, listModels, makeModelsDir, startRouter, waitFor } from "../helpers/router.js";
import { startServer, type RunningServer } from "../helpers/server.js";
import { WEBUI_DIR } from "../../src/util/webui.js";
import { card, openPage, type UiPage } from "../helpers/webui.js";

const KEY = "web-ui-key";

describe("web UI: API key", { skip: browserSkip() }, () => {
  let dir: string;
  let router: RunningServer;
  let browser: Browser;
  let ui: UiPage;

  before(async () => {
    dir = await makeModelsDir({ "alpha.gguf": 1 }, QUIET_BYTES);
    router = await startRouter(["--models-dir", dir, "-c", "512", "--api-key", KEY]);
    browser = await launchBrowser();
    ui = await openPage(browser, router.url, { viewport: { width: 900, height: 700 } });
  });
  after(async () => {
    await ui?.close();
    await browser?.close();
    await router?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const dialog = () => ui.page.getByRole("dialog", { name: "API key" });
  const stored = () => ui.page.evaluate(() => localStorage.getItem("corral.apiKey"));

  test("the page and its assets need no key; the API's 401 brings up the key prompt", async () => {
    const html = await fetch(`${router.url}/`);
    assert.equal(html.status, 200);
    const js = /src="\.\/(assets\/[^"]+\.js)"/.exec(await html.text())![1]!;
    assert.equal((await fetch(`${router.url}/${js}`)).status, 200);
    assert.equal((await fetch(`${router.url}/models/sse`)).status, 401, "the live stream is not public");
    await dialog().waitFor();
    assert.match(await dialog().innerText(), /needs an API key/);
    // GET /models is public: the list shows behind the prompt
    await card(ui.page, "alpha").waitFor();
  });

  test("a wrong key is refused and asked for again; the right one is kept and works", async () => {
    const { page } = ui;
    await dialog().getByLabel("API key").fill("wrong");
    await dialog().getByRole("button", { name: "Save" }).click();
    await waitFor("the prompt again, saying the key was refused", async () =>
      (await dialog().count()) === 1 && /refused the key/.test(await dialog().innerText()));
    await dialog().getByLabel("API key").fill(KEY);
    await dialog().getByRole("button", { name: "Save" }).click();
    await dialog().waitFor({ state: "detached" });
    assert.equal(await stored(), KEY);
    // the live stream connects with the key, and an action that needs the key works
    await page.locator(".conn.live").waitFor();
    await card(page, "alpha").getByRole("button", { name: "Load" }).click();
    await card(page, "alpha", "loaded").waitFor();
    assert.equal((await listModels(router.url)).find((m) => m.id === "alpha")!.status.value, "loaded");
    // the logs need the key too
    await page.getByRole("tab", { name: "Logs" }).click();
    await waitFor("logs", async () => /model loaded: alpha/.test((await page.getByTestId("log").textContent()) ?? ""));
  });

  test("the key outlives a reload of the page", async () => {
    const { page } = ui;
    await page.reload();
    await page.locator(".conn.live").waitFor();
    await card(page, "alpha").waitFor();
    assert.equal(await dialog().count(), 0);
  });

  test("Key → Forget removes it, and the server's next 401 asks again", async () => {
    const { page } = ui;
    await page.getByRole("button", { name: "Key" }).click();
    await dialog().getByRole("button", { name: "Forget" }).click();
    assert.equal(await stored(), null);
    // forgetting reconnects the live stream, which now gets 401
    await dialog().waitFor();
    assert.match(await dialog().innerText(), /needs an API key/);
    await dialog().getByRole("button", { name: "Cancel" }).click();
    await dialog().waitFor({ state: "detached" });
    // dismissed: the prompt does not come back by itself, the Key button says a key is needed
    await page.locator(".key-button.attention").waitFor();
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await dialog().count(), 0);
  });

  test("the page logged no errors", () => {
    assert.deepEqual(ui.errors, []);
  });
});

describe("web UI: corral -m", { skip: browserSkip() }, () => {
  let server: RunningServer;
  let browser: Browser;
  let ui: UiPage;

  before(async () => {
    const model = await getTestModel("tiny", { ...QUIET_BYTES, seed: 4 });
    // under --api-prefix, the page finds the API beside itself
    server = await startServer(["-m", model, "-t", "1", "-c", "256", "--alias", "solo", "--api-prefix", "/llm"], { apiPrefix: "/llm" });
    browser = await launchBrowser();
    ui = await openPage(browser, `${server.url}/llm/`, { viewport: { width: 900, height: 600 } });
  });
  after(async () => {
    await ui?.close();
    await browser?.close();
    await server?.stop();
  });

  test("the page (under --api-prefix) shows the one model, loaded, without router actions or a Logs tab", async () => {
    const { page } = ui;
    await card(page, "solo", "loaded").waitFor();
    assert.equal(await page.locator("li.model").count(), 1);
    assert.match(await card(page, "solo").innerText(), /context\s+256/);
    assert.equal(await card(page, "solo").getByRole("button").count(), 0, "no load, unload, pin or logs");
    await page.getByText("This server runs one model").waitFor();
    assert.equal(await page.getByRole("tab", { name: "Logs" }).count(), 0);
    assert.ok(await page.getByRole("tab", { name: "Chat" }).isVisible());
    assert.equal(await page.getByRole("textbox", { name: "Model to download" }).count(), 0);
    const bare = await fetch(`${server.url}/llm`, { redirect: "manual" });
    assert.equal(bare.status, 308, "the bare prefix is sent to its folder, where the relative asset links work");
    assert.equal(bare.headers.get("location"), "/llm/");
    const asset = /src="\.\/(assets\/[^"]+\.js)"/.exec(await (await fetch(`${server.url}/llm/`)).text())![1]!;
    const r = await fetch(`${server.url}/llm/${asset}`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get("cache-control") ?? "", /immutable/);
    assert.deepEqual(ui.errors, []);
  });
});

describe("web UI: --no-webui and --path", () => {
  let dir: string;
  let staticDir: string;
  let off: RunningServer;
  let custom: RunningServer;
  let prefixed: RunningServer;

  before(async () => {
    dir = await makeModelsDir({ "alpha.gguf": 1 }, QUIET_BYTES);
    staticDir = emptyDir("corral-static-");
    mkdirSync(path.join(staticDir, "assets"));
    writeFileSync(path.join(staticDir, "index.html"), "<!doctype html><title>mine</title>my own page");
    off = await startRouter(["--models-dir", dir, "--no-webui"]);
    custom = await startRouter(["--models-dir", dir, "--path", staticDir]);
    prefixed = await startServer(["-t", "1", "--models-dir", dir, "--api-prefix", "/p"], { apiPrefix: "/p", env: { LLAMA_CACHE: emptyDir("corral-hub-") } });
  });
  after(async () => {
    await off?.stop();
    await custom?.stop();
    await prefixed?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (staticDir) rmSync(staticDir, { recursive: true, force: true });
  });

  test("--no-webui: / and the assets are 404, the API is unchanged", async () => {
    const asset = readdirSync(path.join(WEBUI_DIR, "assets")).find((f) => f.endsWith(".js"))!;
    assert.equal((await fetch(`${custom.url}/assets/${asset}`)).status, 200, "served where --path has no such file");
    assert.equal((await fetch(`${off.url}/`)).status, 404);
    assert.equal((await fetch(`${off.url}/assets/${asset}`)).status, 404);
    assert.equal((await fetch(`${off.url}/v1/models`)).status, 200);
  });

  test("--api-prefix: the router serves the page at /p/ with its assets, and sends the bare /p there", async () => {
    const bare = await fetch(`${prefixed.url}/p?x=1`, { redirect: "manual" });
    assert.equal(bare.status, 308);
    assert.equal(bare.headers.get("location"), "/p/?x=1");
    const page = await fetch(`${prefixed.url}/p/`);
    assert.equal(page.status, 200);
    const asset = /src="\.\/(assets\/[^"]+\.js)"/.exec(await page.text())![1]!;
    assert.equal((await fetch(`${prefixed.url}/p/${asset}`)).status, 200);
    assert.equal((await fetch(`${prefixed.url}/${asset}`)).status, 404, "nothing outside the prefix");
  });

  test("--path: its index.html wins over the web UI at /", async () => {
    const r = await fetch(`${custom.url}/`);
    assert.equal(r.status, 200);
    assert.match(await r.text(), /my own page/);
  });
});
