import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { judge, parseExpected, parseIdList, parseReport, verdictOk } from "../../tools/llamacpp-tests/results.js";

describe("llama.cpp suite verdicts", () => {
  const expected = parseExpected([
    "# comment",
    "## asserts on the text of real weights",
    "unit/test_a.py::test_text[x y]",
    "",
    "## needs a vision model",
    "unit/test_b.py::test_image",
  ].join("\n"));

  test("the expected list groups ids under their reason and refuses ids without one or listed twice", () => {
    assert.equal(expected.get("unit/test_a.py::test_text[x y]"), "asserts on the text of real weights");
    assert.equal(expected.get("unit/test_b.py::test_image"), "needs a vision model");
    assert.throws(() => parseExpected("unit/x.py::t"), /before any '## reason'/);
    assert.throws(() => parseExpected("## r\nunit/x.py::t\nunit/x.py::t"), /listed twice/);
  });

  test("unlisted failures and listed passes fail the run; listed failures and skips do not", () => {
    const results = parseReport([
      { id: "unit/test_a.py::test_text[x y]", outcome: "failed", message: "assert" },
      { id: "unit/test_b.py::test_image", outcome: "passed", message: "" },
      { id: "unit/test_c.py::test_new", outcome: "error", message: "boom" },
      { id: "unit/test_c.py::test_skip", outcome: "skipped", message: "" },
      { id: "unit/test_c.py::test_ok", outcome: "passed", message: "" },
    ].map((r) => JSON.stringify(r)).join("\n"));
    const v = judge(results, expected, parseIdList("# llama-server passes\nunit/test_c.py::test_new\nunit/test_c.py::test_ok\n"));
    assert.deepEqual(v.expectedFailures, ["unit/test_a.py::test_text[x y]"]);
    assert.deepEqual(v.unexpectedFailures.map((r) => r.id), ["unit/test_c.py::test_new"]);
    assert.deepEqual(v.unexpectedPasses, ["unit/test_b.py::test_image"]);
    assert.deepEqual(v.behindLlamaServer, ["unit/test_c.py::test_new"]);
    assert.deepEqual(v.skipped, ["unit/test_c.py::test_skip"]);
    assert.equal(verdictOk(v), false);
    assert.equal(verdictOk(judge(results.filter((r) => r.id !== "unit/test_c.py::test_new" && r.id !== "unit/test_b.py::test_image"), expected)), true);
  });
});
