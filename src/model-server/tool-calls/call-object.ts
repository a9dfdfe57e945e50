// Reads a call written as a JSON object, `{"name": "f", "arguments": {...}}` and its many spellings, from text
// that may stop anywhere. The arguments are reported as they grow so that a stream can forward them.
import { decodeStringPrefix, INCOMPLETE, invalidAt, isInvalid, skipString, skipValue, skipWs } from "./json-scan.js";
import type { ParsedCall } from "./types.js";

/** Which keys carry what, in one family's call objects. */
export interface CallKeys {
  name: readonly string[];
  args: readonly string[];
  id?: readonly string[];
  /** Keys whose value is itself a call object, as in OpenAI's `{"type": "function", "function": {...}}`. */
  nested?: readonly string[];
  /** When set, the object is a call only if its first key is one of these (for formats with no marker). */
  firstKeys?: readonly string[];
}

export type Read =
  /** A complete call; `end` is just past its closing brace. */
  | { state: "done"; call: ParsedCall; end: number }
  /** The text ends inside the object; `call` is there once its name is known. */
  | { state: "more"; call?: ParsedCall }
  /**
   * Not JSON from `at` on. With no `call` the text was never a call; with one, the call had already started
   * (and may have been streamed), so it ends there, with the arguments it had.
   */
  | { state: "invalid"; call?: ParsedCall; at: number };

/** `i` is at the `{`. */
export function readCallObject(s: string, i: number, keys: CallKeys): Read {
  let name: string | undefined;
  let id: string | undefined;
  let args: string | undefined;
  const call = (): ParsedCall | undefined => (name === undefined ? undefined : withId({ name, args: args ?? "" }, id));
  const more = (): Read => ({ state: "more", call: call() });
  const bad = (r: number): Read => ({ state: "invalid", call: call(), at: invalidAt(r) });

  let j = skipWs(s, i + 1);
  let first = true;
  for (;;) {
    if (j >= s.length) return more();
    if (first && s[j] === "}") return { state: "invalid", at: j };
    if (s[j] !== '"') return { state: "invalid", call: call(), at: j };
    const keyEnd = skipString(s, j);
    if (keyEnd === INCOMPLETE) return more();
    if (isInvalid(keyEnd)) return bad(keyEnd);
    const key = JSON.parse(s.slice(j, keyEnd)) as string;
    if (first && keys.firstKeys && !keys.firstKeys.includes(key)) return { state: "invalid", at: j };
    first = false;
    j = skipWs(s, keyEnd);
    if (j >= s.length) return more();
    if (s[j] !== ":") return { state: "invalid", call: call(), at: j };
    const v = skipWs(s, j + 1);
    if (v >= s.length) return more();

    if (keys.nested?.includes(key) && s[v] === "{") {
      const inner = readCallObject(s, v, { ...keys, firstKeys: undefined });
      if (inner.call) {
        name ??= inner.call.name;
        args ??= inner.call.args;
        id ??= inner.call.id;
      }
      if (inner.state === "more") return more();
      if (inner.state === "invalid") return { state: "invalid", call: call(), at: inner.at };
      j = inner.end;
    } else {
      const end = skipValue(s, v);
      if (isInvalid(end)) {
        // arguments cut off by garbage keep what they had; the call ends there
        if (keys.args.includes(key) && name !== undefined && args === undefined) args = argsText(s, v, invalidAt(end), false);
        return bad(end);
      }
      const complete = end !== INCOMPLETE;
      if (keys.args.includes(key)) {
        args ??= argsText(s, v, complete ? end : s.length, complete);
      } else if (keys.name.includes(key) && complete) {
        if (s[v] !== '"') return { state: "invalid", call: call(), at: v };
        name ??= JSON.parse(s.slice(v, end)) as string;
      } else if (keys.id?.includes(key) && complete) {
        const value = JSON.parse(s.slice(v, end)) as unknown;
        if (typeof value === "string" || typeof value === "number") id ??= String(value);
      }
      if (!complete) return more();
      j = end;
    }
    j = skipWs(s, j);
    if (j >= s.length) return more();
    if (s[j] === "}") {
      const c = call();
      if (!c) return { state: "invalid", at: j };
      if (args === undefined) c.args = "{}";
      return { state: "done", call: c, end: j + 1 };
    }
    if (s[j] !== ",") return { state: "invalid", call: call(), at: j };
    j = skipWs(s, j + 1);
  }
}

/**
 * The arguments as text, from the value at `v` up to `end`. Objects are passed through as written; a string is
 * taken to hold the JSON (some models stringify it, as OpenAI's wire format does) and is decoded; `null` means
 * no arguments. Other scalars only show once complete, since `n` could become `null` or `nan`-ish garbage.
 */
function argsText(s: string, v: number, end: number, complete: boolean): string {
  const c = s[v];
  if (c === "{" || c === "[") return s.slice(v, end);
  if (c === '"') return decodeStringPrefix(complete ? s : s.slice(0, end), v, complete ? end : undefined);
  if (!complete) return "";
  const raw = s.slice(v, end);
  return raw === "null" ? "{}" : raw;
}

export function withId(call: ParsedCall, id: string | undefined): ParsedCall {
  if (id !== undefined && id !== "") call.id = id;
  return call;
}

/** Call objects in a JSON array, `[{...}, {...}]`, as Mistral Nemo, Granite and Command R7B write them. */
export type ArrayRead =
  | { state: "done"; calls: ParsedCall[]; end: number }
  | { state: "more"; calls: ParsedCall[] }
  | { state: "invalid"; calls: ParsedCall[]; at: number };

/** `i` is at the `[`; a bare object instead of an array is read as a list of one. */
export function readCallArray(s: string, i: number, keys: CallKeys): ArrayRead {
  const calls: ParsedCall[] = [];
  if (s[i] === "{") {
    const r = readCallObject(s, i, keys);
    if (r.call) calls.push(r.call);
    if (r.state === "done") return { state: "done", calls, end: r.end };
    return r.state === "more" ? { state: "more", calls } : { state: "invalid", calls, at: r.at };
  }
  let j = skipWs(s, i + 1);
  for (;;) {
    if (j >= s.length) return { state: "more", calls };
    if (s[j] === "]" && calls.length === 0) return { state: "invalid", calls, at: j };
    if (s[j] !== "{") return { state: "invalid", calls, at: j };
    const r = readCallObject(s, j, keys);
    if (r.call) calls.push(r.call);
    if (r.state === "more") return { state: "more", calls };
    if (r.state === "invalid") return { state: "invalid", calls, at: r.at };
    j = skipWs(s, r.end);
    if (j >= s.length) return { state: "more", calls };
    if (s[j] === "]") return { state: "done", calls, end: j + 1 };
    if (s[j] !== ",") return { state: "invalid", calls, at: j };
    j = skipWs(s, j + 1);
  }
}
