// serve(): a routed request's life, with a scripted lease source and upstream, so that each retry rule is checked
// without model processes. A real node:http server supplies the req/res pair, since serve() watches res itself.
import assert from "node:assert/strict";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { ApiError } from "../../src/http/errors.js";
import { serve, type Lease, type LeaseSource } from "../../src/router/serve.js";
import type { Unreachable, Upstream } from "../../src/router/upstream.js";

/** What forward() does on each attempt, in order: an Unreachable, "ok" (answers 200), or "throw". */
type Step = Unreachable | "ok" | "throw";

interface Script {
  steps: Step[];
  acquired: number;
  /** Releases per lease, by attempt: each must be exactly 1. */
  releases: number[];
  forwarded: string[];
  /** acquire() waits for this before granting, when set. */
  hold?: Promise<void>;
  cancelled: number;
  refuseWith?: ApiError;
}

function fakeSource(script: Script): LeaseSource {
  return {
    async acquire(model, _autoload, onGone) {
      const attempt = script.acquired++;
      if (script.refuseWith) throw script.refuseWith;
      if (script.hold) {
        let cancel!: () => void;
        const cancelled = new Promise<never>((_, reject) => {
          cancel = () => {
            script.cancelled++;
            reject(new ApiError(499, "client went away"));
          };
        });
        const stopWatching = onGone(cancel);
        try {
          await Promise.race([script.hold, cancelled]);
        } finally {
          stopWatching();
        }
      }
      script.releases[attempt] = 0;
      const upstream = {
        async forward(_req: IncomingMessage, res: ServerResponse, path: string, _body: Buffer | undefined, id: string) {
          script.forwarded.push(path);
          const step = script.steps[attempt] ?? "ok";
          if (step === "throw") throw new Error("forward blew up");
          if (step !== "ok") return step;
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ answered: id, attempt }));
          return undefined;
        },
      } as unknown as Upstream;
      const lease: Lease = { model, upstream, release: () => void script.releases[attempt]!++ };
      return lease;
    },
  };
}

const newScript = (steps: Step[], extra: Partial<Script> = {}): Script => ({ steps, acquired: 0, releases: [], forwarded: [], cancelled: 0, ...extra });

describe("serve()", () => {
  let server: http.Server;
  let url: string;
  let script: Script;
  /** What serve() itself did: resolved, or rejected with this error. */
  let outcome: Promise<Error | undefined>;

  before(async () => {
    server = http.createServer((req, res) => {
      outcome = serve(fakeSource(script), "m", true, { req, res, path: req.url ?? "/", body: undefined, dialect: "openai" }).then(
        () => undefined,
        (err: Error) => {
          if (!res.headersSent && !res.destroyed) {
            res.writeHead(599);
            res.end(err.message);
          }
          return err;
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  test("an upstream that refuses is retried until it answers; one release per attempt", async () => {
    script = newScript(["refused", "refused", "ok"]);
    const res = await fetch(`${url}/v1/chat/completions?x=1`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { answered: "m", attempt: 2 });
    assert.equal(await outcome, undefined);
    assert.equal(script.acquired, 3, "a new lease for each attempt (the model may have reloaded)");
    assert.deepEqual(script.releases, [1, 1, 1]);
    assert.deepEqual(script.forwarded, ["/v1/chat/completions?x=1", "/v1/chat/completions?x=1", "/v1/chat/completions?x=1"]);
  });

  test("a reset is retried once; a second reset answers 502 JSON", async () => {
    script = newScript(["reset", "reset", "ok"]);
    const res = await fetch(`${url}/v1/completions`);
    assert.equal(res.status, 502);
    assert.match(res.headers.get("content-type") ?? "", /application\/json/);
    const body = (await res.json()) as { error: { code: number; type: string; message: string } };
    assert.equal(body.error.code, 502);
    assert.equal(body.error.type, "server_error");
    assert.match(body.error.message, /model 'm' did not answer: its process stopped \(connection reset\)/);
    assert.equal(script.acquired, 2, "no third attempt: the request itself may be what kills the process");
    assert.deepEqual(script.releases, [1, 1]);
  });

  test("a single reset, then refusals, still succeeds: only resets are limited to one retry", async () => {
    script = newScript(["reset", "refused", "refused", "ok"]);
    const res = await fetch(`${url}/x`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { answered: "m", attempt: 3 });
    assert.deepEqual(script.releases, [1, 1, 1, 1]);
  });

  test("an upstream that keeps refusing gets 502 after the retries run out", async () => {
    script = newScript(Array<Step>(100).fill("refused"));
    const res = await fetch(`${url}/x`);
    assert.equal(res.status, 502);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /its process stopped \(connection refused\)/);
    assert.equal(script.acquired, 21, "the first attempt and 20 retries");
    assert.ok(script.releases.every((n) => n === 1), `releases: ${script.releases.join(",")}`);
  });

  test("a refused acquire rejects serve() with the error to answer, and nothing is forwarded or released", async () => {
    script = newScript([], { refuseWith: new ApiError(503, "model 'm' failed to load: boom") });
    const res = await fetch(`${url}/x`);
    assert.equal(res.status, 599, "serve() left the answer to its caller");
    const err = await outcome;
    assert.ok(err instanceof ApiError);
    assert.equal(err.status, 503);
    assert.deepEqual(script.forwarded, []);
    assert.deepEqual(script.releases, []);
  });

  test("a forward that throws still releases its lease", async () => {
    script = newScript(["throw"]);
    const res = await fetch(`${url}/x`);
    assert.equal(res.status, 599);
    assert.match((await outcome)?.message ?? "", /forward blew up/);
    assert.deepEqual(script.releases, [1]);
  });

  test("a client that goes away while waiting for its lease cancels the wait", async () => {
    let grant!: () => void;
    script = newScript(["ok"], { hold: new Promise<void>((r) => (grant = r)) });
    const ac = new AbortController();
    const pending = fetch(`${url}/x`, { signal: ac.signal }).catch((e: Error) => e);
    // wait until the request is in acquire()
    for (let i = 0; i < 100 && script.acquired === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(script.acquired, 1);
    ac.abort();
    await pending;
    const err = await outcome;
    assert.equal(script.cancelled, 1);
    assert.ok(err instanceof ApiError && err.status === 499, `serve() rejected with ${String(err)}`);
    grant();
    assert.deepEqual(script.forwarded, [], "nothing is sent for a client that is gone");
  });
});
