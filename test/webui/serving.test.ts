// How the web UI's files are found and answered (src/util/webui.ts), without a browser: the built page, its assets,
// the page that says to build it, paths that try to leave the folder, and which UI paths need no API key.
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { keyRequired } from "../../src/http/auth.js";
import { prefixSlashRedirect, webUiFile } from "../../src/util/webui.js";
import { emptyDir } from "../helpers/router.js";

describe("web UI files", () => {
  const built = emptyDir("corral-webui-");
  mkdirSync(path.join(built, "assets"));
  writeFileSync(path.join(built, "index.html"), "<!doctype html><title>ui</title>");
  writeFileSync(path.join(built, "assets", "index-abc123.js"), "console.log(1)");
  const missing = emptyDir("corral-webui-missing-");
  after(() => {
    rmSync(built, { recursive: true, force: true });
    rmSync(missing, { recursive: true, force: true });
  });

  test("/ and /index.html are the page, revalidated on every visit; assets are cached for good", () => {
    for (const p of ["/", "/index.html"]) {
      const f = webUiFile(p, built)!;
      assert.equal(f.body.toString(), "<!doctype html><title>ui</title>");
      assert.equal(f.type, "text/html; charset=utf-8");
      assert.equal(f.cacheControl, "no-cache");
    }
    const js = webUiFile("/assets/index-abc123.js", built)!;
    assert.equal(js.type, "text/javascript; charset=utf-8");
    assert.match(js.cacheControl, /max-age=31536000, immutable/);
  });

  test("unknown assets, other paths and escapes are not UI files", () => {
    assert.equal(webUiFile("/assets/nope.js", built), undefined);
    assert.equal(webUiFile("/assets/", built), undefined);
    assert.equal(webUiFile("/v1/models", built), undefined);
    assert.equal(webUiFile("/assets/../../../etc/passwd", built), undefined);
    assert.equal(webUiFile("/assets/%2e%2e/%2e%2e/etc/passwd", built), undefined);
  });

  test("the bare --api-prefix is sent to its folder (the page's asset links are relative); nothing else is", () => {
    assert.equal(prefixSlashRedirect("/llm", "/llm"), "/llm/");
    assert.equal(prefixSlashRedirect("/llm", "/llm?x=1"), "/llm/?x=1");
    assert.equal(prefixSlashRedirect("/llm", "/llm/"), undefined);
    assert.equal(prefixSlashRedirect("/llm", "/llmx"), undefined);
    assert.equal(prefixSlashRedirect(undefined, "/"), undefined);
  });

  test("without a build, / says how to make one", () => {
    const f = webUiFile("/", missing)!;
    assert.match(f.body.toString(), /^<!doctype html>.*npm run build/s);
    assert.equal(f.cacheControl, "no-cache");
    assert.equal(webUiFile("/assets/index-abc123.js", missing), undefined);
  });

  test("with --api-key, the page and its assets are open (GET and HEAD); the API behind them is not", () => {
    for (const p of ["/", "/index.html", "/assets/index-abc123.js"]) {
      assert.equal(keyRequired("GET", p), false, p);
      assert.equal(keyRequired("HEAD", p), false, p);
      assert.equal(keyRequired("POST", p), true, p);
    }
    for (const p of ["/models/sse", "/models/logs", "/props", "/assetsx", "/v1/chat/completions"]) assert.equal(keyRequired("GET", p), true, p);
  });
});
