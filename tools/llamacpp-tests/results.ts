// What a run of llama.cpp's server tests means for CI: outcomes read from the plugin's report, the checked-in list
// of expected failures (grouped under their reason), and the verdict. Pure functions; run.ts does the I/O.

export type Outcome = "passed" | "failed" | "error" | "skipped";

export interface TestResult {
  id: string;
  outcome: Outcome;
  message: string;
}

/** The plugin's report: one JSON object per line. */
export function parseReport(text: string): TestResult[] {
  const out: TestResult[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as TestResult;
    out.push({ id: r.id, outcome: r.outcome, message: r.message ?? "" });
  }
  return out;
}

/**
 * The expected-failures file: `## reason` starts a group, every other non-blank line is a test id in it, `#` lines
 * are comments. Every id must have a reason, and no id may be listed twice.
 */
export function parseExpected(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let reason: string | undefined;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    if (line.startsWith("## ")) {
      reason = line.slice(3).trim();
      return;
    }
    if (line.startsWith("#")) return;
    if (!reason) throw new Error(`line ${i + 1}: '${line}' comes before any '## reason' line`);
    if (out.has(line)) throw new Error(`line ${i + 1}: '${line}' is listed twice`);
    out.set(line, reason);
  });
  return out;
}

/** A list of test ids, one per line, `#` comments allowed (the record of what llama-server passes). */
export function parseIdList(text: string): Set<string> {
  return new Set(text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#")));
}

export interface Verdict {
  passed: string[];
  /** Failed or errored, and listed: fine. */
  expectedFailures: string[];
  /** Failed or errored, not listed: CI fails. */
  unexpectedFailures: TestResult[];
  /** Listed but passed: CI fails until the entry is removed (the list only shrinks). */
  unexpectedPasses: string[];
  skipped: string[];
  /** Tests llama-server passes in this setup that failed here (each is also in one of the lists above). */
  behindLlamaServer: string[];
}

export function judge(results: readonly TestResult[], expected: ReadonlyMap<string, string>, llamaServerPasses?: ReadonlySet<string>): Verdict {
  const v: Verdict = { passed: [], expectedFailures: [], unexpectedFailures: [], unexpectedPasses: [], skipped: [], behindLlamaServer: [] };
  for (const r of results) {
    if (r.outcome === "skipped") {
      v.skipped.push(r.id);
      continue;
    }
    const failed = r.outcome === "failed" || r.outcome === "error";
    if (failed) {
      if (expected.has(r.id)) v.expectedFailures.push(r.id);
      else v.unexpectedFailures.push(r);
      if (llamaServerPasses?.has(r.id)) v.behindLlamaServer.push(r.id);
    } else {
      v.passed.push(r.id);
      if (expected.has(r.id)) v.unexpectedPasses.push(r.id);
    }
  }
  return v;
}

export const verdictOk = (v: Verdict) => v.unexpectedFailures.length === 0 && v.unexpectedPasses.length === 0;

/** The files a test id belongs to, e.g. `unit/test_basic.py`. */
export const fileOf = (id: string) => id.split("::", 1)[0]!;
