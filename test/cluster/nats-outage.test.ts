// NATS going away and coming back, against a real nats-server: members keep their last view while it is away,
// register again by themselves when it is back (with its store, or without it), and a member started while it is
// down joins once it starts, having said so once.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { natsServerPath, NO_NATS, startNats, type NatsServer } from "../helpers/nats.js";
import { member, summary, until, withTimeout, type TestMember } from "./members.js";

const skip = natsServerPath() ? false : NO_NATS;

describe("NATS down and back", { skip, timeout: 90_000 }, () => {
  const servers: NatsServer[] = [];
  const members: TestMember[] = [];
  const join = (url: string, name: string) => {
    const t = member(url, name);
    members.push(t);
    return t;
  };
  after(async () => {
    await Promise.all(members.map((t) => t.m.close({ leave: false })));
    await Promise.all(servers.map((s) => s.close()));
  });

  for (const fresh of [false, true]) {
    test(fresh ? "NATS back without its store: buckets made again, members registered again" : "NATS stopped and started again mid-run: the view is kept, then comes back", async () => {
      const nats = await startNats();
      servers.push(nats);
      const [a, b] = [join(nats.url, "a"), join(nats.url, "b")];
      b.setModel("m", "loaded");
      await withTimeout(Promise.all([a.m.ready(), b.m.ready()]), 10_000, "registration");
      await until("a sees b", () => summary(a.m.view())["b"] === "up m=loaded", 2000, () => summary(a.m.view()));

      await nats.stop();
      await until("both notice", () => !a.m.isConnected() && !b.m.isConnected(), 3000);
      // longer than the TTL: the view stays as it was, nobody is down for NATS's silence
      await new Promise((r) => setTimeout(r, 2500));
      assert.deepEqual(summary(a.m.view()), { a: "up", b: "up m=loaded" });
      const tryWhileDown = await a.m.tryLock("m", "a");
      assert.equal(tryWhileDown.kind, "unavailable");
      b.setModel("m", "unloading"); // a change while NATS is away: published when it is back

      await nats.start({ fresh });
      await until("both reconnect", () => a.m.isConnected() && b.m.isConnected(), 8000);
      await until("a sees b's change", () => summary(a.m.view())["b"] === "up m=unloading", 6000, () => [summary(a.m.view()), a.log, b.log]);
      await until("b sees a", () => summary(b.m.view())["a"] === "up", 3000, () => summary(b.m.view()));
      // and it goes on working: a change after the return, a lock
      b.setModel("m", undefined);
      await until("a sees b's next change", () => summary(a.m.view())["b"] === "up", 2000, () => summary(a.m.view()));
      assert.equal((await a.m.tryLock("m", "a")).kind, "won");
      await a.m.unlock("m");
      // nobody flapped: b was never down in a's eyes
      assert.ok(!a.changes.some((c) => c.kind === "node" && c.node === "b" && c.status !== "up"), JSON.stringify(a.changes));
      for (const t of [a, b]) {
        assert.equal(t.log.filter((l) => /lost NATS/.test(l)).length, 1, t.log.join("\n"));
        assert.equal(t.log.filter((l) => /NATS is back/.test(l)).length, 1, t.log.join("\n"));
      }
      await Promise.all([a.m.close(), b.m.close()]);
      await nats.close();
    });
  }

  test("a member started while NATS is down joins once it starts, with one log line", async () => {
    const nats = await startNats({ started: false });
    servers.push(nats);
    const a = join(nats.url, "early");
    await new Promise((r) => setTimeout(r, 1500)); // several tries
    const said = a.log.filter((l) => l.startsWith("W "));
    assert.equal(said.length, 1, a.log.join("\n"));
    assert.match(said[0]!, /^W cluster: cannot reach NATS at nats:\/\/127\.0\.0\.1:\d+ \(.*\); serving this node's own models and retrying in the background$/);
    assert.deepEqual(summary(a.m.view()), { early: "up" }, "its own node is in its view meanwhile");

    await nats.start();
    const b = join(nats.url, "late");
    await withTimeout(Promise.all([a.m.ready(), b.m.ready()]), 8000, "registration once NATS is up");
    await until("late sees early", () => summary(b.m.view())["early"] === "up", 2000, () => summary(b.m.view()));
    assert.match(a.log.at(-1)!, /^I cluster: connected to NATS at nats:\/\/127\.0\.0\.1:\d+ after \d+ s$/);
    assert.equal(a.log.filter((l) => l.startsWith("W ")).length, 1, a.log.join("\n"));
  });

  test("credentials in the --cluster URL reach the server; wrong ones are said once, and retried", async () => {
    const nats = await startNats({ args: ["--user", "corral", "--pass", "s3cret"] });
    servers.push(nats);
    const ok = join(nats.url.replace("nats://", "nats://corral:s3cret@"), "good-creds");
    const wrong = join(nats.url.replace("nats://", "nats://corral:wrong@"), "bad-creds");
    await withTimeout(ok.m.ready(), 8000, "registration with the right password");
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(wrong.m.isConnected(), false);
    const said = wrong.log.filter((l) => l.startsWith("W "));
    assert.equal(said.length, 1, wrong.log.join("\n"));
    assert.match(said[0]!, /^W cluster: cannot reach NATS at nats:\/\/\*\*\*@127\.0\.0\.1:\d+ \(.*[Aa]uthorization.*\)/);
    assert.ok(!wrong.log.join("\n").includes("wrong") && !ok.log.join("\n").includes("s3cret"), "no password in the log");
  });
});
