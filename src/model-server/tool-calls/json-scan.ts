// Scans JSON inside text that is still being generated. A model's output arrives a few characters at a time, so
// every scan must tell "not JSON" apart from "JSON so far, but cut short", and say where a complete value ends
// without parsing past it (a tool call's JSON is usually followed by a closing marker, not by the end of text).

/** The text ends before the value does. */
export const INCOMPLETE = -1;
/** Not JSON (or nested deeper than anyone sane would) from index `at` on; see invalidAt(). */
export function invalid(at: number): number {
  return -2 - at;
}
export function isInvalid(r: number): boolean {
  return r <= -2;
}
export function invalidAt(r: number): number {
  return -2 - r;
}

/** Deeper nesting is refused rather than risking the stack on a degenerate `[[[[…` answer. */
const MAX_DEPTH = 256;

export function skipWs(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/**
 * Index just past the JSON value that starts at `i` (leading whitespace skipped), INCOMPLETE when the text ends
 * first, invalid(at) when it is not JSON. A number at the very end of the text counts as incomplete: more digits
 * may follow.
 */
export function skipValue(s: string, i: number, depth = 0): number {
  i = skipWs(s, i);
  if (i >= s.length) return INCOMPLETE;
  const c = s[i]!;
  if (c === '"') return skipString(s, i);
  if (c === "{" || c === "[") return depth >= MAX_DEPTH ? invalid(i) : skipContainer(s, i, depth);
  if (c === "t") return skipLiteral(s, i, "true");
  if (c === "f") return skipLiteral(s, i, "false");
  if (c === "n") return skipLiteral(s, i, "null");
  if (c === "-" || (c >= "0" && c <= "9")) return skipNumber(s, i);
  return invalid(i);
}

function skipContainer(s: string, i: number, depth: number): number {
  const close = s[i] === "{" ? "}" : "]";
  const isObject = close === "}";
  i = skipWs(s, i + 1);
  if (i >= s.length) return INCOMPLETE;
  if (s[i] === close) return i + 1;
  for (;;) {
    if (isObject) {
      if (s[i] !== '"') return invalid(i);
      i = skipString(s, i);
      if (i < 0) return i;
      i = skipWs(s, i);
      if (i >= s.length) return INCOMPLETE;
      if (s[i] !== ":") return invalid(i);
      i++;
    }
    i = skipValue(s, i, depth + 1);
    if (i < 0) return i;
    i = skipWs(s, i);
    if (i >= s.length) return INCOMPLETE;
    if (s[i] === close) return i + 1;
    if (s[i] !== ",") return invalid(i);
    i = skipWs(s, i + 1);
    if (i >= s.length) return INCOMPLETE;
  }
}

/** `i` is at the opening quote. Control characters must be escaped, as JSON.parse requires. */
export function skipString(s: string, i: number): number {
  i++;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c < 0x20) return invalid(i);
    if (c === 0x5c) {
      if (i + 1 >= s.length) return INCOMPLETE;
      const e = s[i + 1]!;
      if (e === "u") {
        for (let k = 2; k < 6; k++) {
          if (i + k >= s.length) return INCOMPLETE;
          if (!/[0-9a-fA-F]/.test(s[i + k]!)) return invalid(i + k);
        }
        i += 6;
        continue;
      }
      if (!'"\\/bfnrt'.includes(e)) return invalid(i + 1);
      i += 2;
      continue;
    }
    i++;
  }
  return INCOMPLETE;
}

function skipLiteral(s: string, i: number, word: string): number {
  for (let k = 0; k < word.length; k++) {
    if (i + k >= s.length) return INCOMPLETE;
    if (s[i + k] !== word[k]) return invalid(i + k);
  }
  return i + word.length;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const NUMBER_PREFIX = /-?(?:0|[1-9]\d*)?(?:\.\d*)?(?:[eE][+-]?\d*)?/y;

function skipNumber(s: string, i: number): number {
  NUMBER_PREFIX.lastIndex = i;
  NUMBER_PREFIX.exec(s);
  const prefixEnd = NUMBER_PREFIX.lastIndex;
  if (prefixEnd >= s.length) return INCOMPLETE;
  NUMBER.lastIndex = i;
  const m = NUMBER.exec(s);
  if (!m) return invalid(i);
  if (NUMBER.lastIndex !== prefixEnd) return invalid(NUMBER.lastIndex);
  return prefixEnd;
}

/**
 * The decoded text of a JSON string whose opening quote is at `start` and which may be cut short: only whole
 * escape sequences are decoded, so the result only ever grows as the text does. `end` is the index just past
 * the closing quote when the string is complete.
 */
export function decodeStringPrefix(s: string, start: number, end?: number): string {
  if (end !== undefined) return JSON.parse(s.slice(start, end)) as string;
  let j = s.length;
  // back off an escape sequence that is not finished yet
  const back = s.lastIndexOf("\\", j - 1);
  if (back > start) {
    let slashes = 0;
    for (let k = back; k > start && s[k] === "\\"; k--) slashes++;
    if (slashes % 2 === 1) {
      const need = s[back + 1] === "u" ? 6 : 2;
      if (j - back < need) j = back;
    }
  }
  let body = s.slice(start + 1, j);
  // a lone high surrogate would decode differently once its partner arrives
  if (/[\uD800-\uDBFF]$/.test(body)) body = body.slice(0, -1);
  if (/\\u[dD][89abAB][0-9a-fA-F]{2}$/.test(body)) body = body.slice(0, -6);
  return JSON.parse(`"${body}"`) as string;
}

/** JSON.stringify of a string, minus the closing quote: a prefix of the encoding of any longer string. */
export function encodeStringPrefix(text: string): string {
  if (/[\uD800-\uDBFF]$/.test(text)) text = text.slice(0, -1);
  return JSON.stringify(text).slice(0, -1);
}
