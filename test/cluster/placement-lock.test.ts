// The per-model placement lock against a real nats-server: one winner in a burst, released by its holder, expired
// with a holder that died.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { natsServerPath, NO_NATS, startNats, type NatsServer } from "../helpers/nats.js";
import type { LockResult } from "../../src/cluster/placement-lock.js";
import { member, withTimeout, type TestMember } from "./members.js";

const skip = natsServerPath() ? false : NO_NATS;

describe("placement lock", { skip, timeout: 60_000 }, () => {
  let nats: NatsServer;
  let a: TestMember, b: TestMember, c: TestMember;
  const others: TestMember[] = [];

  before(async () => {
    nats = await startNats();
    [a, b, c] = [member(nats.url, "a"), member(nats.url, "b"), member(nats.url, "c")];
    await withTimeout(Promise.all([a, b, c].map((t) => t.m.ready())), 10_000, "registration");
  });
  after(async () => {
    await Promise.all([a, b, c, ...others].map((t) => t?.m.close({ leave: false })));
    await nats?.close();
  });

  test("10 concurrent tries from three members: exactly one wins; the others learn who holds it and where it goes", async () => {
    const tries: Array<Promise<[string, LockResult]>> = [];
    for (let i = 0; i < 10; i++) {
      const t = [a, b, c][i % 3]!;
      tries.push(t.m.tryLock("org/model:Q4_K_M", t.name).then((r) => [t.name, r]));
    }
    const results = await withTimeout(Promise.all(tries), 10_000, "tryLock");
    const won = results.filter(([, r]) => r.kind === "won");
    assert.equal(won.length, 1, JSON.stringify(results));
    const winner = won[0]![0];
    for (const [, r] of results) {
      if (r.kind === "won") continue;
      assert.equal(r.kind, "held");
      assert.ok(r.kind === "held" && r.by?.node === winner && r.by.target === winner, JSON.stringify(r));
    }
    // released by its holder: free again at once
    const holder = [a, b, c].find((t) => t.name === winner)!;
    await holder.m.unlock("org/model:Q4_K_M");
    const again = await b.m.tryLock("org/model:Q4_K_M", "c");
    assert.equal(again.kind, "won");
    if (again.kind === "won") await again.release();
    assert.equal((await c.m.tryLock("org/model:Q4_K_M", "c")).kind, "won");
    await c.m.unlock("org/model:Q4_K_M");
  });

  test("a release bound to its own lock leaves a later one alone; unlock without the lock does nothing", async () => {
    const first = await a.m.tryLock("m2", "a");
    assert.equal(first.kind, "won");
    await b.m.unlock("m2"); // b never held it
    assert.equal((await c.m.tryLock("m2", "c")).kind, "held");
    if (first.kind === "won") await first.release();
    await first.kind === "won" ? first.release() : undefined; // twice: no effect
    assert.equal((await c.m.tryLock("m2", "c")).kind, "won");
    await c.m.unlock("m2");
  });

  test("the lock of a holder that died expires with the bucket's TTL and can be taken again", async () => {
    const d = member(nats.url, "d");
    others.push(d);
    await withTimeout(d.m.ready(), 10_000, "d");
    assert.equal((await d.m.tryLock("m3", "d")).kind, "won");
    const died = Date.now();
    await d.m.close({ leave: false }); // no unlock, as after SIGKILL
    assert.equal((await a.m.tryLock("m3", "a")).kind, "held");
    let taken = false;
    for (let i = 0; i < 40 && !taken; i++) {
      await new Promise((r) => setTimeout(r, 200));
      taken = (await a.m.tryLock("m3", "a")).kind === "won";
    }
    const waited = Date.now() - died;
    assert.ok(taken, `not free ${waited} ms after its holder died`);
    assert.ok(waited >= 1500 && waited < 5000, `free after ${waited} ms (TTL 2 s)`);
    await a.m.unlock("m3");
  });
});
