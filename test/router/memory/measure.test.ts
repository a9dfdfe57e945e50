import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { ggufMappedBytes, measureMemory, statusCounters } from "../../../src/router/memory/measure.js";

const MAPS = `55d0c0a00000-55d0c0b00000 r-xp 00000000 08:01 1234                       /usr/bin/node
7f0000000000-7f0010000000 r--s 00000000 08:01 5678                       /models/qwen-Q8_0.gguf
7f1000000000-7f1000100000 rw-p 00000000 00:00 0
7f2000000000-7f2000001000 r--p 00000000 08:01 5679                       /models/old.GGUF (deleted)
7f3000000000-7f3000100000 r-xp 00000000 08:01 999                        /usr/lib/libllama.so
7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]
`;

describe("measureMemory", () => {
  test("maps: the bytes of GGUF mappings, a replaced file's too; libraries and anonymous mappings are not", () => {
    assert.equal(ggufMappedBytes(MAPS), 0x10000000 + 0x1000);
  });

  test("status counters, and none for a zombie", () => {
    assert.deepEqual(statusCounters("Name:\tx\nRssAnon:\t    100 kB\nRssFile:\t  2000 kB\nRssShmem:\t      3 kB\n"), { anon: 102400, file: 2048000, shmem: 3072 });
    assert.equal(statusCounters("Name:\tx\nState:\tZ (zombie)\n"), undefined);
  });

  test("a live process: anonymous memory counted, libraries not; a cached answer within a second; undefined once gone", async () => {
    const child = spawn(process.execPath, ["-e", "globalThis.keep = Buffer.alloc(64 * 1024 * 1024, 1); setInterval(() => {}, 1000)"], { stdio: "ignore" });
    try {
      let m: ReturnType<typeof measureMemory>;
      for (let i = 0; i < 100; i++) {
        m = measureMemory(child.pid!, Date.now() + i * 2000);
        if (m && m.ram > 64 * 1024 * 1024) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const status = statusCounters(await import("node:fs").then((fs) => fs.readFileSync(`/proc/${child.pid}/status`, "latin1")))!;
      assert.ok(m!.ram > 64 * 1024 * 1024, `${m!.ram}`);
      // the node binary and its libraries are file pages the rule leaves out
      assert.ok(m!.ram < status.anon + status.file, `${m!.ram} < ${status.anon + status.file}`);
      const now = Date.now() + 1e9;
      const first = measureMemory(child.pid!, now);
      assert.equal(measureMemory(child.pid!, now + 500), first);
      // cheap: status, and maps every 30 s
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < 100; i++) measureMemory(child.pid!, now + 2000 * (i + 1));
      const perCallMs = Number(process.hrtime.bigint() - t0) / 100 / 1e6;
      assert.ok(perCallMs < 1, `${perCallMs} ms per call`);
    } finally {
      child.kill("SIGKILL");
      await new Promise((r) => child.on("exit", r));
    }
    assert.equal(measureMemory(child.pid!, Date.now() + 2e9), undefined);
  });
});
