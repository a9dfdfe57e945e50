// What a reload changes, from the launch keys before and after.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { diffCatalogs } from "../../src/catalog/diff.js";

const keys = (o: Record<string, string>) => new Map(Object.entries(o));

describe("diffCatalogs", () => {
  test("two empty catalogs: nothing changes", () => {
    assert.deepEqual(diffCatalogs(keys({}), keys({})), { added: [], removed: [], changed: [] });
  });

  test("from empty every model is added; to empty every model is removed", () => {
    assert.deepEqual(diffCatalogs(keys({}), keys({ a: "1", b: "2" })), { added: ["a", "b"], removed: [], changed: [] });
    assert.deepEqual(diffCatalogs(keys({ a: "1", b: "2" }), keys({})), { added: [], removed: ["a", "b"], changed: [] });
  });

  test("same ids with the same keys: unchanged, whatever the order", () => {
    assert.deepEqual(diffCatalogs(keys({ a: "1", b: "2" }), keys({ b: "2", a: "1" })), { added: [], removed: [], changed: [] });
  });

  test("a model whose key differs is changed, not removed and added", () => {
    assert.deepEqual(diffCatalogs(keys({ a: "1", b: "2" }), keys({ a: "1", b: "3" })), { added: [], removed: [], changed: ["b"] });
  });

  test("added, removed, changed and unchanged together, each listed once", () => {
    const d = diffCatalogs(keys({ keep: "k", gone: "g", edit: "e1" }), keys({ keep: "k", edit: "e2", fresh: "f" }));
    assert.deepEqual(d, { added: ["fresh"], removed: ["gone"], changed: ["edit"] });
  });

  test("an empty key is a key: '' → 'x' is a change", () => {
    assert.deepEqual(diffCatalogs(keys({ a: "" }), keys({ a: "x" })).changed, ["a"]);
  });

  test("a renamed model is one removed and one added", () => {
    assert.deepEqual(diffCatalogs(keys({ old: "k" }), keys({ new: "k" })), { added: ["new"], removed: ["old"], changed: [] });
  });
});
