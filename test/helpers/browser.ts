// A headless browser for the web UI's tests: playwright-core driving Debian's Chromium (CHROMIUM_PATH, else
// /usr/bin/chromium). Where there is none, `browserSkip` says so in one line and the suites skip.
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

let noted = false;
/** false when a browser can run here, else the reason its tests skip (printed once). */
export function browserSkip(): string | false {
  if (existsSync(CHROMIUM)) return false;
  const why = `no Chromium at ${CHROMIUM}: install Debian's chromium package (or set CHROMIUM_PATH) to run the web UI tests`;
  if (!noted) {
    noted = true;
    process.stderr.write(`# skipping web UI tests: ${why}\n`);
  }
  return why;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
}

/**
 * Saves a screenshot for the README when CORRAL_SCREENSHOTS names a folder (`npm run screenshots` sets it), so the
 * pictures come from the same runs that test the UI; otherwise does nothing.
 */
export async function snap(page: Page, name: string): Promise<void> {
  const dir = process.env.CORRAL_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`) });
}
