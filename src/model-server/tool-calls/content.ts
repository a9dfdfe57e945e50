// Finds where plain content ends and a tool-call marker begins, in text that may still be growing.

/** A span where markers mean nothing: a model thinking aloud may well mention `<tool_call>` without calling. */
export interface ThinkingTags {
  open: string;
  close: string;
}

/** The prompt ends inside a thinking span (the template opened it, as DeepSeek R1's does), so the answer starts in one. */
export function opensThinking(promptText: string, tags: ThinkingTags | undefined): boolean {
  return tags !== undefined && promptText.trimEnd().endsWith(tags.open);
}

export interface ContentScan {
  /** Content from the start of the scan up to the marker, or up to what is safe to show so far. */
  text: string;
  /** The first marker outside thinking, when there is one. */
  marker?: { index: number; marker: string };
}

export interface ScanOptions {
  final: boolean;
  thinking?: ThinkingTags;
  /** The scan starts inside a thinking span (the prompt opened it, as DeepSeek R1's does). */
  inThinking?: boolean;
}

/**
 * Scans `s` from `from` for the first of `markers`. In a partial scan (more text to come), a tail that could be
 * the start of a marker is held back, so that `<tool_` never leaks out as content before `call>` arrives.
 */
export function scanContent(s: string, from: number, markers: readonly string[], o: ScanOptions): ContentScan {
  let pos = from;
  let thinking = o.inThinking === true && from === 0;
  for (;;) {
    if (thinking && o.thinking) {
      const close = s.indexOf(o.thinking.close, pos);
      if (close < 0) return { text: s.slice(from) };
      pos = close + o.thinking.close.length;
      thinking = false;
      continue;
    }
    const hit = firstOf(s, pos, markers);
    const open = o.thinking ? s.indexOf(o.thinking.open, pos) : -1;
    if (open >= 0 && (!hit || open < hit.index)) {
      thinking = true;
      pos = open + o.thinking!.open.length;
      continue;
    }
    if (hit) return { text: s.slice(from, hit.index), marker: hit };
    const end = o.final ? s.length : s.length - partialMarkerSuffix(s, Math.max(pos, from), markers);
    return { text: s.slice(from, end) };
  }
}

export function firstOf(s: string, from: number, markers: readonly string[]): { index: number; marker: string } | undefined {
  let best: { index: number; marker: string } | undefined;
  for (const m of markers) {
    const i = s.indexOf(m, from);
    if (i >= 0 && (!best || i < best.index || (i === best.index && m.length > best.marker.length))) best = { index: i, marker: m };
  }
  return best;
}

/** Length of the longest tail of `s` (starting at or after `from`) that is a proper prefix of some marker. */
export function partialMarkerSuffix(s: string, from: number, markers: readonly string[]): number {
  let best = 0;
  for (const m of markers) {
    for (let k = Math.min(m.length - 1, s.length - from); k > best; k--) {
      if (s.endsWith(m.slice(0, k))) {
        best = k;
        break;
      }
    }
  }
  return best;
}

/** True when `rest` could still grow into `word` (it is a prefix of it). */
export function mayBecome(rest: string, word: string): boolean {
  return rest.length < word.length && word.startsWith(rest);
}
