// The shape most families share: plain content, then a marker that opens a section of calls, maybe a marker that
// closes it, maybe more content and more sections. Each family supplies its markers and a reader for what
// follows the opening marker.
import { type ThinkingTags, mayBecome, scanContent } from "./content.js";
import { skipWs } from "./json-scan.js";
import type { ParseContext, ParseResult, ParsedCall } from "./types.js";

export type BodyRead =
  | { state: "done"; calls: ParsedCall[]; end: number }
  | { state: "more"; calls: ParsedCall[] }
  /** With no calls the marker was not a call after all and stays content; with calls, content resumes at `at`. */
  | { state: "invalid"; calls: ParsedCall[]; at: number };

export interface SectionSpec {
  /** Markers that open a section. */
  open: readonly string[];
  /** A marker that closes a section, consumed when present (models often stop right before it). */
  close?: string;
  thinking?: ThinkingTags;
  /** Reads the calls of a section; `i` is just past the opening `marker`. */
  readBody(s: string, i: number, ctx: ParseContext, marker: string): BodyRead;
}

/** Parses `s` from `from` on, adding to `out` (a family may have read something else before `from`). */
export function parseSections(s: string, ctx: ParseContext, spec: SectionSpec, from = 0, out: ParseResult = { content: "", calls: [] }): ParseResult {
  let pos = from;
  while (pos <= s.length) {
    const scan = scanContent(s, pos, spec.open, { final: ctx.final, thinking: spec.thinking, inThinking: ctx.inThinking && pos === 0 });
    out.content += scan.text;
    if (!scan.marker) return out;
    const { index, marker } = scan.marker;
    const body = spec.readBody(s, index + marker.length, ctx, marker);
    out.calls.push(...body.calls);
    if (body.state === "more") {
      // an unfinished section that never named a function is just text after all
      if (ctx.final && body.calls.length === 0) out.content += s.slice(index);
      return out;
    }
    if (body.state === "invalid") {
      if (body.calls.length === 0) {
        out.content += marker;
        pos = index + marker.length;
      } else {
        pos = body.at;
      }
      continue;
    }
    pos = body.end;
    if (spec.close) {
      const k = skipWs(s, pos);
      if (s.startsWith(spec.close, k)) pos = k + spec.close.length;
      else if (!ctx.final && (k >= s.length || mayBecome(s.slice(k), spec.close))) return out;
    }
  }
  return out;
}
