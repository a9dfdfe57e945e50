// GET /models entries for downloads that are not models yet (src/router/model-list.ts), without a server.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { downloadEntries, downloadEntry } from "../../src/router/model-list.js";

const progress = (done: number, total: number) => ({ file: "m-Q8_0.gguf", done, total, rate: 100 });

describe("download entries", () => {
  test("a download is listed as downloading, its progress a fraction as a load's is, its bytes in status.download", () => {
    const p = progress(25, 100);
    const entry = downloadEntry({ name: "org/m-GGUF:Q8_0", progress: p }, 1_700_000_000);
    assert.deepEqual(entry, {
      id: "org/m-GGUF:Q8_0", aliases: [], tags: [], object: "model", owned_by: "llamacpp", created: 1_700_000_000,
      status: { value: "downloading", progress: 0.25, download: p, args: [], preset: "" },
      path: null, size_bytes: 100, source: "cache", in_flight: 0, waiting: 0, last_used: null, pinned: false,
    });
    assert.notEqual(entry.status.download, p, "a copy: the download goes on changing its own");
  });

  test("before the hub has named the files, the size and the fraction are unknown", () => {
    const entry = downloadEntry({ name: "org/m-GGUF", progress: progress(0, 0) }, 0);
    assert.equal(entry.size_bytes, null);
    assert.equal("progress" in entry.status, false);
  });

  test("a preset's own download, and one whose model the catalog has found, are not listed apart", () => {
    const downloads = [
      { name: "org/a-GGUF", progress: progress(1, 2) },
      { name: "org/b-GGUF", forModel: "b", progress: progress(1, 2) },
      { name: "org/c-GGUF", progress: progress(2, 2) },
    ];
    const source = { downloads: { list: () => downloads }, resolve: (name: string) => (name === "org/c-GGUF" ? "c" : undefined) };
    assert.deepEqual(downloadEntries(source, 0).map((e) => e.id), ["org/a-GGUF"]);
  });
});
