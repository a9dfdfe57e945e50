import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { formatBytes, formatSize, nvidiaGpus, ramReserve, readMeminfo, resolveBudget } from "../../../src/router/memory/budget.js";

const GiB = 1024 ** 3;
const MEMINFO = "MemTotal:       24683520 kB\nMemFree:        20000000 kB\nMemAvailable:   23000000 kB\nBuffers:          1000 kB\n";

describe("resolveBudget", () => {
  const meminfo = () => readMeminfo(MEMINFO);

  test("a size is bytes, whatever the kind", () => {
    assert.equal(resolveBudget("ram", "12g", { meminfo }), 12 * GiB);
    assert.equal(resolveBudget("ram", "512m", { meminfo }), 512 * 1024 ** 2);
    assert.equal(resolveBudget("vram", "8GiB", { gpus: () => undefined }), 8 * GiB);
  });

  test("RAM: a percentage is of MemTotal; the default is MemAvailable less max(1 GiB, 10% of MemTotal)", () => {
    const total = 24683520 * 1024;
    assert.equal(resolveBudget("ram", "50%", { meminfo }), Math.floor(total / 2));
    assert.equal(resolveBudget("ram", undefined, { meminfo }), 23000000 * 1024 - Math.floor(total * 0.1));
    assert.equal(ramReserve(4 * GiB), GiB);
    assert.equal(ramReserve(100 * GiB), 10 * GiB);
    // a machine with less available than the reserve gets nothing, not a negative budget
    assert.equal(resolveBudget("ram", undefined, { meminfo: () => ({ total: 8 * GiB, available: GiB / 2 }) }), 0);
    // no /proc/meminfo: no default budget
    assert.equal(resolveBudget("ram", undefined, { meminfo: () => undefined }), undefined);
  });

  test("VRAM: no GPU known means no budget; else the smallest GPU's free memory, or a percentage of its total", () => {
    assert.equal(resolveBudget("vram", undefined, { gpus: () => undefined }), undefined);
    assert.equal(resolveBudget("vram", "90%", { gpus: () => undefined }), undefined);
    const gpus = () => [{ total: 24 * GiB, free: 20 * GiB }, { total: 16 * GiB, free: 15 * GiB }];
    assert.equal(resolveBudget("vram", undefined, { gpus }), 15 * GiB);
    assert.equal(resolveBudget("vram", "50%", { gpus }), 8 * GiB);
  });

  test("a malformed value throws parseBudget's message", () => {
    assert.throws(() => resolveBudget("ram", "lots"), /expected a size/);
    assert.throws(() => resolveBudget("ram", "150%"), /percentage/);
  });

  test("nvidia-smi's CSV, and no GPU when it fails or lists none", () => {
    assert.deepEqual(nvidiaGpus(() => "81559, 80000\n24576, 1024\n"), [
      { total: 81559 * 1024 ** 2, free: 80000 * 1024 ** 2 },
      { total: 24576 * 1024 ** 2, free: 1024 * 1024 ** 2 },
    ]);
    assert.equal(nvidiaGpus(() => { throw new Error("ENOENT"); }), undefined);
    assert.equal(nvidiaGpus(() => "No devices were found\n"), undefined);
  });
});

describe("formatting sizes", () => {
  test("formatBytes for people", () => {
    assert.equal(formatBytes(512), "512 B");
    assert.equal(formatBytes(40 * 1024 ** 2), "40.0 MiB");
    assert.equal(formatBytes(3.2 * GiB), "3.2 GiB");
  });

  test("formatSize reads back through parseBudget", () => {
    assert.equal(formatSize(12 * GiB), "12g");
    assert.equal(formatSize(1536 * 1024 ** 2), "1536m");
    assert.equal(formatSize(1000), "1000");
    for (const n of [12 * GiB, 1536 * 1024 ** 2, 64 * 1024, 1000]) assert.equal(resolveBudget("ram", formatSize(n)), n);
  });
});
