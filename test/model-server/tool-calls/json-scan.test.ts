// The incremental JSON scanner: exact ends for complete values, "incomplete" for every cut-short prefix, and
// string decoding that only ever grows.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { decodeStringPrefix, encodeStringPrefix, INCOMPLETE, invalidAt, isInvalid, skipValue } from "../../../src/model-server/tool-calls/json-scan.js";

describe("tool calls: JSON scanning", () => {
  test("a complete value ends exactly where it does; every shorter prefix is incomplete", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (v, pretty) => {
        const text = JSON.stringify(v, null, pretty ? 2 : undefined);
        // a closing brace after it, as a marker would follow a call: a number is only over once a non-digit comes
        assert.equal(skipValue(`${text}}`, 0), text.length);
        for (let k = 0; k < text.length; k++) assert.equal(skipValue(text.slice(0, k), 0), INCOMPLETE, text.slice(0, k));
      }),
      { numRuns: 300 },
    );
  });

  test("text that is not JSON is invalid, at the first character that cannot continue it", () => {
    const cases: Array<[string, number]> = [["{a: 1}", 1], ['{"a" 1}', 5], ['{"a": tru }', 9], ["[1,,2]", 3], ['"\\x"', 2], ['"a\nb"', 2], ["-}", 0], ["01", -1]];
    for (const [text, at] of cases) {
      const r = skipValue(text, 0);
      if (at < 0) assert.equal(r, 1, `${text}: 0 ends the value, what follows is someone else's problem`);
      else {
        assert.ok(isInvalid(r), text);
        assert.equal(invalidAt(r), at, text);
      }
    }
  });

  test("deeply nested garbage is refused, not a stack overflow", () => {
    assert.ok(isInvalid(skipValue("[".repeat(100_000), 0)));
  });

  test("a JSON string decodes a prefix at a time, never taking back a character", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 12 }), (s) => {
        const encoded = JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
        let last = "";
        for (let k = 1; k < encoded.length; k++) {
          const d = decodeStringPrefix(encoded.slice(0, k), 0);
          assert.ok(d.startsWith(last), `${encoded.slice(0, k)}: ${JSON.stringify(last)} then ${JSON.stringify(d)}`);
          assert.ok(s.startsWith(d));
          last = d;
        }
        assert.equal(decodeStringPrefix(encoded, 0, encoded.length), s);
      }),
      { numRuns: 300 },
    );
  });

  test("an encoded prefix is a prefix of the longer string's encoding", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 12 }), fc.string({ unit: "binary", maxLength: 4 }), (a, b) => {
        assert.ok(JSON.stringify(a + b).startsWith(encodeStringPrefix(a)));
      }),
      { numRuns: 300 },
    );
  });
});
