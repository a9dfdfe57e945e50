// The JSON-schema normalization in front of node-llama-cpp's grammar generator: what it infers, rewrites and refuses.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ApiError } from "../../../src/http/errors.js";
import type { Json } from "../../../src/http/validate.js";
import { toGbnfJsonSchema } from "../../../src/model-server/generation/json-schema.js";

const conv = (s: Json) => toGbnfJsonSchema(s, "schema") as unknown as Record<string, unknown>;

function refuses(s: Json, where: RegExp): void {
  assert.throws(() => conv(s), (e: unknown) => e instanceof ApiError && e.status === 400 && where.test(e.message));
}

describe("toGbnfJsonSchema", () => {
  test("a schema without a type gets the type its keywords imply", () => {
    assert.equal(conv({ properties: { a: { type: "string" } } })["type"], "object");
    assert.equal(conv({ minItems: 1 })["type"], "array");
    assert.equal(conv({ maxLength: 3 })["type"], "string");
    assert.equal(conv({ minimum: 0 })["type"], "number");
  });

  test("an empty schema (or true) is any JSON value, not null", () => {
    for (const s of [{}, true] as Json[]) {
      const any = conv(s);
      assert.ok(Array.isArray(any["oneOf"]), JSON.stringify(any));
      assert.ok((any["oneOf"] as Array<{ type: unknown }>).some((a) => a.type === "object"));
    }
  });

  test("draft-4 tuples become prefixItems; additionalItems false closes them", () => {
    const t = conv({ items: [{ type: "integer" }, { type: "string" }], additionalItems: false });
    assert.deepEqual(t, { type: "array", prefixItems: [{ type: "integer" }, { type: "string" }], maxItems: 2 });
    assert.deepEqual(conv({ type: "array", items: { type: "boolean" }, minItems: 1 }), { type: "array", items: { type: "boolean" }, minItems: 1 });
  });

  test("anyOf becomes oneOf; several types become alternatives", () => {
    assert.deepEqual(conv({ anyOf: [{ type: "null" }, { const: 1 }] }), { oneOf: [{ type: "null" }, { const: 1 }] });
    assert.deepEqual(conv({ type: ["string", "null"] }), { oneOf: [{ type: "string" }, { type: "null" }] });
  });

  test("constants and enums of objects and arrays are spelled out", () => {
    assert.deepEqual(conv({ const: { a: [1] } }), { type: "object", properties: { a: { type: "array", prefixItems: [{ const: 1 }], maxItems: 1 } } });
    assert.deepEqual(conv({ enum: ["x", 2, null] }), { enum: ["x", 2, null] });
    assert.deepEqual(conv({ enum: [[1]] }), { oneOf: [{ type: "array", prefixItems: [{ const: 1 }], maxItems: 1 }] });
  });

  test("allOf merges the properties of its members", () => {
    const m = conv({ allOf: [{ type: "object", properties: { a: { type: "string" } } }, { properties: { b: { type: "integer" } } }] });
    assert.deepEqual(m, { type: "object", properties: { a: { type: "string" }, b: { type: "integer" } } });
  });

  test("definitions: #/definitions refs become #/$defs refs, and the defs ride on the root", () => {
    const s = conv({ definitions: { n: { type: "integer" } }, type: "object", properties: { x: { $ref: "#/definitions/n" } } });
    assert.deepEqual(s["properties"], { x: { $ref: "#/$defs/n" } });
    assert.deepEqual(s["$defs"], { n: { type: "integer" } });
    // a root that cannot carry definitions is wrapped in a one-way choice that can
    const wrapped = conv({ $defs: { n: { type: "integer" } }, type: "string" });
    assert.deepEqual(wrapped, { oneOf: [{ type: "string" }], $defs: { n: { type: "integer" } } });
  });

  test("a bare object type is any object; listed properties close it unless additionalProperties says otherwise", () => {
    assert.deepEqual(conv({ type: "object" }), { type: "object", additionalProperties: true });
    assert.deepEqual(conv({ type: "object", properties: {} }), { type: "object", properties: {} });
    assert.deepEqual(conv({ type: "object", properties: {}, additionalProperties: { type: "number" } }), {
      type: "object", properties: {}, additionalProperties: { type: "number" },
    });
  });

  test("string formats the generator knows are kept, others are plain strings", () => {
    assert.deepEqual(conv({ type: "string", format: "date" }), { type: "string", format: "date" });
    assert.deepEqual(conv({ type: "string", format: "email", maxLength: 9 }), { type: "string", maxLength: 9 });
  });

  test("invalid schemas are 400s naming the place", () => {
    refuses({ type: "hiccup" }, /'schema\.type' must be one of/);
    refuses({ type: 123 }, /'schema\.type'/);
    refuses({ type: ["string", 1] }, /'schema\.type\[1\]'/);
    refuses(123, /'schema' must be a schema object/);
    refuses({ properties: { a: { type: "nope" } } }, /'schema\.properties\.a\.type'/);
    refuses({ items: { $ref: "#/$defs/missing" } }, /'schema\.items\.\$ref'/);
    refuses({ $ref: "http://example.com/s.json" }, /only local references/);
    refuses({ enum: [] }, /'schema\.enum'/);
    refuses({ type: "string", minLength: -1 }, /'schema\.minLength'/);
    refuses({ anyOf: "x" }, /'schema\.anyOf'/);
  });

  test("runaway nesting is refused rather than recursed into", () => {
    let s: Json = { type: "string" };
    for (let i = 0; i < 100; i++) s = { type: "array", items: s };
    refuses(s, /deeper than/);
  });
});
