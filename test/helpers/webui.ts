// Helpers for the web UI's browser tests (test/webui/): a page that records the browser's errors, and a record of
// every status a model's card showed, so that a status shown for an instant (loading) is seen too.
import type { Browser, BrowserContextOptions, Page } from "playwright-core";

export interface UiPage {
  page: Page;
  /** Uncaught errors and console errors of the page. */
  errors: string[];
  close(): Promise<void>;
}

/** A fresh browser context (its own storage) and page; `ignore` drops expected console errors (a 401). */
export async function openPage(browser: Browser, url: string, options: BrowserContextOptions = {}, ignore: RegExp[] = []): Promise<UiPage> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    // the browser logs every failed fetch (a 401, a 404) as a console error: those are the tests' own doing
    if (m.type() === "error" && !/Failed to load resource/.test(m.text()) && !ignore.some((r) => r.test(m.text()))) errors.push(`console: ${m.text()}`);
  });
  page.setDefaultTimeout(20_000);
  await page.goto(url);
  return { page, errors, close: () => context.close() };
}

/** The card of one model in the Models view; with `status`, only while it shows that status. */
export function card(page: Page, id: string, status?: string) {
  return page.locator(`li.model[data-model="${id}"]${status === undefined ? "" : `[data-status="${status}"]`}`);
}

/**
 * Starts recording each status the card of `id` shows (its data-status attribute, as React commits it); read the
 * record with `statusTrail`.
 */
export async function recordStatuses(page: Page, id: string): Promise<void> {
  await page.evaluate((model) => {
    const w = window as unknown as { __trail?: Record<string, string[]> };
    w.__trail ??= {};
    const trail: string[] = (w.__trail[model] = []);
    const note = () => {
      const s = document.querySelector(`li.model[data-model="${CSS.escape(model)}"]`)?.getAttribute("data-status");
      if (s && trail[trail.length - 1] !== s) trail.push(s);
    };
    note();
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-status"] });
  }, id);
}

export function statusTrail(page: Page, id: string): Promise<string[]> {
  return page.evaluate((model) => (window as unknown as { __trail?: Record<string, string[]> }).__trail?.[model] ?? [], id);
}
