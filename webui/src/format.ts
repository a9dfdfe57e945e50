// Numbers as people read them.

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 || u === 0 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}

/** "12 s", "5 min", "2 h", "3 d". */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

/** A Unix time (seconds) as "just now" (within `justNowS`), "3 s ago", "5 min ago". */
export function formatAgo(unixS: number | null | undefined, nowMs = Date.now(), justNowS = 10): string {
  if (!unixS) return "never";
  // another machine's clock may be a little ahead
  const s = Math.max(0, nowMs / 1000 - unixS);
  return s < justNowS ? "just now" : `${formatDuration(s)} ago`;
}

export function formatCount(n: number | undefined): string {
  if (n === undefined) return "–";
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}
