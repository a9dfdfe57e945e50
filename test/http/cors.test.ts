// The CORS policy both servers share (src/http/cors.ts), without a server.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { corsFor, corsOriginsFor, isLoopbackOrigin } from "../../src/http/cors.js";

const preflight = (origin?: string) => ({
  ...(origin ? { origin } : {}),
  "access-control-request-method": "POST",
  "access-control-request-headers": "Authorization",
});

describe("CORS policy", () => {
  test("loopback origins are localhost, 127.0.0.1 and [::1] on any port, and nothing that only looks like them", () => {
    for (const o of ["http://localhost", "http://localhost:8080", "https://127.0.0.1:3000", "http://[::1]", "http://[::1]:3000"]) {
      assert.ok(isLoopbackOrigin(o), o);
    }
    for (const o of ["http://localhost.evil.com", "http://notlocalhost", "http://127.0.0.2", "localhost", "null", ""]) {
      assert.ok(!isLoopbackOrigin(o), o);
    }
  });

  test("no origins: CORS is off, even for OPTIONS", () => {
    assert.equal(corsFor([], "OPTIONS", preflight("http://localhost")), undefined);
  });

  test("* echoes any origin with credentials, as llama-server's default", () => {
    const a = corsFor(["*"], "GET", { origin: "https://web.example" })!;
    assert.equal(a.preflight, false);
    assert.equal(a.headers["Access-Control-Allow-Origin"], "https://web.example");
    assert.equal(a.headers["Access-Control-Allow-Credentials"], "true");
    assert.equal(a.headers["Access-Control-Allow-Methods"], undefined, "only preflights list methods");
    const noOrigin = corsFor(["*"], "GET", {})!;
    assert.equal(noOrigin.headers["Access-Control-Allow-Origin"], undefined);
  });

  test("every OPTIONS request is a preflight answered with the allowed methods; only allowed origins are echoed", () => {
    const ok = corsFor(["localhost"], "OPTIONS", preflight("http://localhost:5173"))!;
    assert.equal(ok.preflight, true);
    assert.equal(ok.headers["Access-Control-Allow-Origin"], "http://localhost:5173");
    assert.equal(ok.headers["Access-Control-Allow-Methods"], "GET, POST, DELETE, OPTIONS");
    assert.equal(ok.headers["Access-Control-Allow-Headers"], "*");
    const refused = corsFor(["localhost"], "OPTIONS", preflight("http://evil.example"))!;
    assert.equal(refused.preflight, true);
    assert.equal(refused.headers["Access-Control-Allow-Origin"], undefined);
  });

  test("a list allows exactly its origins, and may mix in localhost", () => {
    const list = ["https://app.example", "localhost"];
    assert.equal(corsFor(list, "GET", { origin: "https://app.example" })!.headers["Access-Control-Allow-Origin"], "https://app.example");
    assert.equal(corsFor(list, "GET", { origin: "http://127.0.0.1:8080" })!.headers["Access-Control-Allow-Origin"], "http://127.0.0.1:8080");
    assert.equal(corsFor(list, "GET", { origin: "https://app.example.evil" })!.headers["Access-Control-Allow-Origin"], undefined);
  });

  test("origins: --cors-origins when given (even empty), else localhost with --tools, else the server's default", () => {
    assert.deepEqual(corsOriginsFor({}, ["*"]), ["*"]);
    assert.deepEqual(corsOriginsFor({}, []), []);
    assert.deepEqual(corsOriginsFor({ tools: ["all"] }, ["*"]), ["localhost"]);
    assert.deepEqual(corsOriginsFor({ tools: ["all"] }, []), ["localhost"]);
    assert.deepEqual(corsOriginsFor({ corsOrigins: ["https://a.example"], tools: ["all"] }, ["*"]), ["https://a.example"]);
    assert.deepEqual(corsOriginsFor({ corsOrigins: [] }, ["*"]), []);
  });
});
