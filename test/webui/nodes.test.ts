// The web UI of a cluster in a real browser: a real NATS and two real nodes, the page opened on node a. The Nodes tab
// (only where GET /cluster answers) shows both nodes; the Models view shows each model's node and its status there;
// a model of node b loaded from node a's page loads on b, and a model both nodes have loads where the card's node
// picker says. A plain router (no --cluster) shows no Nodes tab.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Browser } from "playwright-core";
import { browserSkip, launchBrowser, snap } from "../helpers/browser.js";
import { QUIET_BYTES } from "../helpers/models.js";
import { natsServerPath, NO_NATS, startNats, type NatsServer } from "../helpers/nats.js";
import { makeModelsDir, startRouter, waitFor } from "../helpers/router.js";
import type { RunningServer } from "../helpers/server.js";
import { card, openPage, type UiPage } from "../helpers/webui.js";

interface ClusterAnswer {
  node: string;
  data: Array<{ name: string; status: string; self: boolean; models: Array<{ id: string; status: string }> }>;
}

async function clusterOf(url: string): Promise<ClusterAnswer> {
  const res = await fetch(`${url}/cluster`);
  assert.equal(res.status, 200, `GET /cluster: ${res.status}`);
  return (await res.json()) as ClusterAnswer;
}

const skip = browserSkip() || (natsServerPath() ? false : NO_NATS);

describe("web UI: a cluster's nodes", { skip }, () => {
  let nats: NatsServer;
  let a: RunningServer;
  let b: RunningServer;
  let plain: RunningServer;
  let browser: Browser;
  let ui: UiPage;

  before(async () => {
    nats = await startNats();
    // "shared" is on both nodes
    const node = async (name: string, model: string) => {
      const dir = await makeModelsDir({ [`${model}.gguf`]: name.charCodeAt(0), "shared.gguf": 5 }, QUIET_BYTES);
      return startRouter(["--models-dir", dir, "--cluster", nats.url, "--node-name", name, "--cluster-ttl", "3"]);
    };
    [a, b, plain, browser] = await Promise.all([
      node("a", "alpha"),
      node("b", "beta"),
      makeModelsDir({ "gamma.gguf": 3 }, QUIET_BYTES).then((dir) => startRouter(["--models-dir", dir])),
      launchBrowser(),
    ]);
    // each node lists the other once it has read its first state from NATS
    await waitFor("node a to see node b up", async () => (await clusterOf(a.url)).data.some((n) => n.name === "b" && n.status === "up"));
    ui = await openPage(browser, a.url, { viewport: { width: 1100, height: 800 } });
  });

  after(async () => {
    await ui?.close();
    await browser?.close();
    await Promise.all([a?.stop(), b?.stop(), plain?.stop()]);
    await nats?.close();
  });

  test("the Nodes tab appears, with both nodes up and node a marked as the one serving the page", async () => {
    const { page } = ui;
    await page.locator('[data-tab="nodes"]').click();
    const nodeA = page.locator('li.node-card[data-node="a"]');
    const nodeB = page.locator('li.node-card[data-node="b"]');
    await page.locator('li.node-card[data-node="a"][data-status="up"]').waitFor();
    await page.locator('li.node-card[data-node="b"][data-status="up"]').waitFor();
    assert.equal(await nodeB.locator('[data-testid="status"]').innerText(), "up");
    assert.equal(await page.locator("li.node-card").count(), 2);
    assert.equal(await nodeA.locator(".chip", { hasText: "this node" }).count(), 1);
    assert.equal(await nodeB.locator(".chip", { hasText: "this node" }).count(), 0);
    const textA = await nodeA.innerText();
    assert.match(textA, new RegExp(`url\\s+${a.url.replace(/[.]/g, "\\.")}`));
    assert.match(textA, /last seen\s+\d+ s ago/);
    assert.match(textA, /RAM\s+\d+(\.\d)? [KMGT]?B free of \d+(\.\d)? [KMGT]?B/);
    assert.match(await nodeB.innerText(), /No model loaded/);
  });

  test("the Models view lists node b's model with its node badge", async () => {
    const { page } = ui;
    await page.locator('[data-tab="models"]').click();
    const beta = card(page, "beta");
    await beta.waitFor();
    const badges = beta.locator(".node-badge");
    assert.equal(await badges.count(), 1);
    assert.equal(await badges.getAttribute("data-node"), "b");
    assert.equal(await badges.getAttribute("data-status"), "unloaded");
    assert.equal(await badges.innerText(), "b · unloaded");
    assert.equal(await card(page, "alpha").locator('.node-badge[data-node="a"]').count(), 1);
  });

  test("Load on node b's model from node a's page loads it on node b", async () => {
    const { page } = ui;
    const beta = card(page, "beta");
    await beta.getByRole("button", { name: "Load" }).click();
    await beta.locator('.node-badge[data-node="b"][data-status="loaded"]').waitFor();
    await card(page, "beta", "loaded").waitFor();
    // node a hears of b's state over NATS, which may come a moment after the page read b's list
    const nodes = await waitFor("node a to see beta loaded on b", async () => {
      const data = (await clusterOf(a.url)).data;
      return data.find((n) => n.name === "b")?.models.some((m) => m.id === "beta" && m.status === "loaded") && data;
    });
    assert.deepEqual(nodes.find((n) => n.name === "b")?.models.map((m) => [m.id, m.status]), [["beta", "loaded"]]);
    assert.deepEqual(nodes.find((n) => n.name === "a")?.models, []);

    // the Nodes view shows it on b, with its requests
    await page.locator('[data-tab="nodes"]').click();
    const row = page.locator('li.node-card[data-node="b"] tr[data-model="beta"][data-status="loaded"]');
    await row.waitFor();
    assert.deepEqual(await row.locator("td").allInnerTexts(), ["beta", "loaded", "0", "0", "1"]);
    await snap(page, "nodes");
  });

  test("a model on both nodes: its card picks the node Load and Unload act on", async () => {
    const { page } = ui;
    await page.locator('[data-tab="models"]').click();
    const shared = card(page, "shared");
    assert.deepEqual(await shared.locator(".node-badge").allInnerTexts(), ["a · unloaded", "b · unloaded"]);
    const picker = shared.getByRole("combobox", { name: "Node" });
    assert.deepEqual(await picker.locator("option").allInnerTexts(), ["a · unloaded", "b · unloaded"]);
    await picker.selectOption("b");
    await shared.getByRole("button", { name: "Load" }).click();
    await shared.locator('.node-badge[data-node="b"][data-status="loaded"]').waitFor();
    assert.equal(await shared.locator('.node-badge[data-node="a"]').getAttribute("data-status"), "unloaded");
    await waitFor("node a to see shared loaded on b", async () => {
      const data = (await clusterOf(a.url)).data;
      return data.find((n) => n.name === "b")?.models.some((m) => m.id === "shared") && data.find((n) => n.name === "a")?.models.length === 0;
    });

    // the picker still names b, where it now runs: Unload stops it there
    assert.equal(await picker.inputValue(), "b");
    await shared.getByRole("button", { name: "Unload" }).click();
    await shared.locator('.node-badge[data-node="b"][data-status="unloaded"]').waitFor();
    await card(page, "shared", "unloaded").waitFor();
    assert.deepEqual(ui.errors, []);
  });

  test("a plain router (no --cluster) has no Nodes tab and no node badges; one that comes back as a node has", async () => {
    const other = await openPage(browser, plain.url);
    try {
      const { page } = other;
      await card(page, "gamma").waitFor();
      // the page has asked GET /cluster, and been told no (404)
      await page.locator('.app[data-cluster="false"]').waitFor();
      assert.equal((await fetch(`${plain.url}/cluster`)).status, 404);
      assert.equal(await page.locator('[data-tab="logs"]').count(), 1);
      assert.equal(await page.locator('[data-tab="nodes"]').count(), 0);
      assert.equal(await page.locator(".node-badge, .model-nodes").count(), 0);

      // the same address answers again, now as node c of the cluster: the page asks again when it reconnects
      const port = new URL(plain.url).port;
      await plain.stop();
      const dir = await makeModelsDir({ "gamma.gguf": 3 }, QUIET_BYTES);
      plain = await startRouter(["--models-dir", dir, "--port", port, "--cluster", nats.url, "--node-name", "c", "--cluster-ttl", "3"]);
      await page.locator('[data-tab="nodes"]').waitFor({ timeout: 30_000 });
      await card(page, "gamma").locator('.node-badge[data-node="c"]').waitFor();
      assert.deepEqual(other.errors, []);
    } finally {
      await other.close();
    }
  });
});
