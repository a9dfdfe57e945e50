// The fast GGUF array reader must read every model exactly as node-llama-cpp's own parser does.
import assert from "node:assert/strict";
import { test } from "node:test";
import { readGgufFileInfo } from "node-llama-cpp";
import { speedUpGgufArrays } from "../../../src/model-server/engine/gguf-fast-arrays.js";
import { getTestModel, sharedThirdPartyModel } from "../../helpers/models.js";

const serialize = (x: unknown) => JSON.stringify(x, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));

test("node-llama-cpp's GGUF metadata is read identically with the fast array reader", async () => {
  const files = [await getTestModel("tiny"), await getTestModel("small")];
  const shared = sharedThirdPartyModel();
  if (shared) files.push(shared); // a real third-party file, where ../shared exists
  const before: string[] = [];
  for (const f of files) before.push(serialize(await readGgufFileInfo(f, { sourceType: "filesystem" })));
  await speedUpGgufArrays();
  for (const [i, f] of files.entries()) {
    const after = serialize(await readGgufFileInfo(f, { sourceType: "filesystem" }));
    assert.ok(after.length > 10_000, "the vocabulary is in there");
    assert.equal(after, before[i], f);
  }
});
