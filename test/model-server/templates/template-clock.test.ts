import { test } from "node:test";
import assert from "node:assert/strict";
import { ChatTemplate } from "../../../src/model-server/templates/chat-template.js";
import { clockContext, strftime } from "../../../src/model-server/templates/template-clock.js";

test("strftime: the directives chat templates use, as C formats them", () => {
  const d = new Date(2026, 10, 5, 9, 7, 3); // 5 Nov 2026, a Thursday, 09:07:03 local
  assert.equal(strftime("%d %b %Y", d), "05 Nov 2026");
  assert.equal(strftime("%b %d %Y", d), "Nov 05 2026");
  assert.equal(strftime("%A %B %e, %y %H:%M:%S %I%p %j %F %% %Q", d), "Thursday November  5, 26 09:07:03 09AM 309 2026-11-05 % %Q");
  assert.equal(clockContext(d)["date_string"], "05 Nov 2026");
  assert.equal(clockContext(d)["datetime"], "Nov 05 2026");
});

test("templates see date_string, datetime and strftime_now, and a request's own kwargs win", () => {
  const t = new ChatTemplate("{{ date_string }}|{{ datetime }}|{{ strftime_now('%Y') }}", "", "");
  const now = new Date();
  assert.equal(t.render([]), `${strftime("%d %b %Y", now)}|${strftime("%b %d %Y", now)}|${now.getFullYear()}`);
  assert.match(t.render([], { extra: { date_string: "26 Jul 2024" } }), /^26 Jul 2024\|/);
});
