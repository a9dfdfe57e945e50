// The endpoint table (src/http/endpoints.ts), without a server: one answer per path, and the routing, metrics
// groups, error shapes and engine gaps the router had before the table.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ENDPOINT_LIST, errorDialectOf, groupPaths, metricsGroupOf, routeKeys, unservedPaths,
} from "../../src/http/endpoints.js";

describe("endpoint table", () => {
  test("no method and path twice; a path has one metrics group and one error shape whatever its method", () => {
    const keys = ENDPOINT_LIST.flatMap(routeKeys);
    assert.equal(new Set(keys).size, keys.length, "a METHOD /path listed twice");
    const seen = new Map<string, string>();
    for (const e of ENDPOINT_LIST) {
      for (const p of e.paths) {
        const facts = `${e.group} ${e.errors}`;
        assert.equal(seen.get(p) ?? facts, facts, p);
        seen.set(p, facts);
      }
    }
  });

  test("the paths forwarded to a model as they are", () => {
    const keys = (body: "body" | "query") => ENDPOINT_LIST.filter((e) => e.route === "model" && e.model === body).flatMap(routeKeys).sort();
    assert.deepEqual(keys("body"), [
      "/v1/chat/completions", "/chat/completions", "/v1/completions", "/completions", "/completion",
      "/v1/embeddings", "/embeddings", "/embedding", "/tokenize", "/detokenize", "/apply-template", "/infill",
      "/v1/rerank", "/rerank", "/v1/reranking", "/reranking", "/props", "/v1/chat/completions/input_tokens",
      "/chat/completions/input_tokens",
    ].map((p) => `POST ${p}`).sort());
    assert.deepEqual(keys("query"), ["GET /metrics", "GET /props", "GET /slots"]);
  });

  test("metrics groups", () => {
    const groups: Record<string, string[]> = {
      chat: ["/v1/chat/completions", "/chat/completions"],
      completions: ["/v1/completions", "/completions", "/completion", "/infill"],
      embeddings: ["/v1/embeddings", "/embeddings", "/embedding"],
      rerank: ["/v1/rerank", "/rerank", "/v1/reranking", "/reranking"],
      tokenize: ["/tokenize", "/detokenize", "/apply-template", "/v1/chat/completions/input_tokens", "/chat/completions/input_tokens"],
      anthropic: ["/v1/messages", "/v1/messages/count_tokens"],
      responses: ["/v1/responses", "/responses", "/v1/responses/input_tokens", "/responses/input_tokens"],
      models: ["/models", "/v1/models", "/models/load", "/models/unload", "/models/logs", "/models/sse"],
      props: ["/props"],
      slots: ["/slots"],
      metrics: ["/metrics"],
      health: ["/health", "/v1/health"],
      ollama: ["/api/chat", "/api/tags", "/api/pull", "/api/anything"],
      other: ["/", "/models/pin", "/v1/messages/batches", "/nowhere"],
    };
    for (const [group, paths] of Object.entries(groups)) for (const p of paths) assert.equal(metricsGroupOf(p), group, p);
    assert.deepEqual([...groupPaths("embeddings")].sort(), ["/embedding", "/embeddings", "/v1/embeddings"]);
  });

  test("error shapes: Anthropic's under /v1/messages, Ollama's under /api/, OpenAI's elsewhere", () => {
    for (const p of ["/v1/messages", "/v1/messages/count_tokens", "/v1/messages/batches"]) assert.equal(errorDialectOf(p), "anthropic", p);
    for (const p of ["/api/chat", "/api/show", "/api/pull", "/api/unknown"]) assert.equal(errorDialectOf(p), "ollama", p);
    for (const p of ["/", "/v1/messagesx", "/v1/responses", "/v1/chat/completions", "/models", "/apix"]) assert.equal(errorDialectOf(p), "openai", p);
  });

  test("the built-in engine lacks fill-in-the-middle; llama-server serves every forwarded path", () => {
    assert.deepEqual([...unservedPaths("node")], ["/infill"]);
    assert.deepEqual([...unservedPaths("llama-server")], []);
  });
});
