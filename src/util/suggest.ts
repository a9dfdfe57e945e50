// "Did you mean …?" for a mistyped model name or flag: the candidates closest to what was typed.

/**
 * Edit distance counting an insertion, a deletion, a substitution or a swap of two neighbours as one edit (the
 * optimal string alignment distance): `alhpa` is one edit from `alpha`, as a person sees it.
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const prev = rows[i - 1]!;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      cur[j] = d;
    }
    rows.push(cur);
  }
  return rows[a.length]![b.length]!;
}

/**
 * The candidates that look like `typed`, closest first: within a few edits (about one in three characters, so that
 * short names do not match everything), or containing it / contained in it (`qwen` for `Qwen/Qwen2.5-GGUF:Q8_0`).
 * Case is ignored.
 */
export function closeMatches(typed: string, candidates: Iterable<string>, max = 5): string[] {
  const t = typed.toLowerCase();
  const limit = Math.max(1, Math.min(3, Math.floor(t.length / 3)));
  const scored: Array<{ name: string; score: number }> = [];
  for (const name of new Set(candidates)) {
    const n = name.toLowerCase();
    const d = editDistance(t, n);
    // a containment counts as close, after every real near-miss
    if (d <= limit) scored.push({ name, score: d });
    else if ((t.length >= 3 && n.includes(t)) || (n.length >= 3 && t.includes(n))) scored.push({ name, score: limit + 1 + Math.abs(n.length - t.length) / 1000 });
  }
  scored.sort((x, y) => x.score - y.score || x.name.localeCompare(y.name));
  return scored.slice(0, max).map((s) => s.name);
}
