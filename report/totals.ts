/**
 * Counting results: totals per status and the "skipped as expected" rule.
 *
 * @module
 */
import type { CaseResult, CaseStatus, RunReport } from "../results/types.ts";

/**
 * Every {@link CaseStatus}, in report order.
 *
 * @example
 * ```ts
 * import { CASE_STATUSES } from "./totals.ts";
 * CASE_STATUSES.includes("fail"); // true
 * ```
 */
export const CASE_STATUSES: readonly CaseStatus[] = ["pass", "fail", "unexpected", "error"];

/**
 * Counts results per status (every status present, zero when none).
 *
 * @example
 * ```ts
 * import { computeTotals } from "./totals.ts";
 * computeTotals([]); // { pass: 0, fail: 0, unexpected: 0, error: 0 }
 * ```
 */
export function computeTotals(results: readonly CaseResult[]): Record<CaseStatus, number> {
  const totals: Record<CaseStatus, number> = { pass: 0, fail: 0, unexpected: 0, error: 0 };
  for (const r of results) totals[r.status]++;
  return totals;
}

/**
 * Whether a result is a pass because the adapter refused the case as the case expected
 * (unsupported or invalid): reported as "skipped as expected".
 *
 * @example
 * ```ts
 * import { isExpectedSkip } from "./totals.ts";
 * import type { CaseResult } from "../results/types.ts";
 * declare const r: CaseResult;
 * if (isExpectedSkip(r)) console.log("skipped:", r.message);
 * ```
 */
export function isExpectedSkip(r: CaseResult): boolean {
  return r.status === "pass" && (r.decision === "unsupported" || r.decision === "invalid");
}

/**
 * The ids a report owns but has no result for, in `shardIds` order: the cases an
 * interrupted run never reached, and the cases missing from a merge (`RunReport.missing`,
 * whose report owns the whole matrix).
 *
 * @example
 * ```ts
 * import { notRunIds } from "./totals.ts";
 * import type { RunReport } from "../results/types.ts";
 * declare const report: RunReport;
 * if (notRunIds(report).length > 0) console.warn("the report lacks cases");
 * ```
 */
export function notRunIds(report: RunReport): string[] {
  const ran = new Set(report.results.map((r) => r.id));
  return report.shardIds.filter((id) => !ran.has(id));
}

/**
 * The cases of a merged report that no merged folder had a result for: the not-run ids
 * ({@link notRunIds}) that `report.missing` names. Empty for a run's own report.
 *
 * @example
 * ```ts
 * import { missingIds } from "./totals.ts";
 * import type { RunReport } from "../results/types.ts";
 * declare const report: RunReport;
 * const missing = missingIds(report);
 * if (missing.length) console.warn(`${missing.length} of ${report.matrixIds.length} missing`);
 * ```
 */
export function missingIds(report: RunReport): string[] {
  if (report.missing === undefined || report.missing.length === 0) return [];
  const missing = new Set(report.missing);
  return notRunIds(report).filter((id) => missing.has(id));
}

/** Counts shown in the totals line. */
export interface MarkdownTotals {
  /** Cases that ran (results). */
  readonly cases: number;
  /** Supported cases whose parity passed. */
  readonly pass: number;
  /** Parity failures. */
  readonly fail: number;
  /** Support decisions that differ from the expectation. */
  readonly unexpected: number;
  /** Exceptions, shader errors, lost devices. */
  readonly error: number;
  /** Passes by an expected unsupported/invalid decision. */
  readonly skippedAsExpected: number;
  /** Ids the run owned but never ran (interrupted, or missing from a merge). */
  readonly notRun: number;
}

/**
 * The counts of the totals line.
 *
 * @example
 * ```ts
 * import { summaryTotals } from "./totals.ts";
 * import type { RunReport } from "../results/types.ts";
 * declare const report: RunReport;
 * const t = summaryTotals(report);
 * t.pass + t.skippedAsExpected + t.fail + t.unexpected + t.error === t.cases; // true
 * ```
 */
export function summaryTotals(report: RunReport): MarkdownTotals {
  let pass = 0, fail = 0, unexpected = 0, error = 0, skippedAsExpected = 0;
  for (const r of report.results) {
    if (isExpectedSkip(r)) skippedAsExpected++;
    else if (r.status === "pass") pass++;
    else if (r.status === "fail") fail++;
    else if (r.status === "unexpected") unexpected++;
    else error++;
  }
  const notRun = notRunIds(report).length;
  return {
    cases: report.results.length,
    pass,
    fail,
    unexpected,
    error,
    skippedAsExpected,
    notRun,
  };
}

/**
 * The results the matrix expects to run that were refused (status pass, decision unsupported,
 * expected supported): not covered, for want of a device feature or by `--backend`
 * (not_covered.ts says why and how to cover them). Here, not in not_covered.ts, which reads the
 * adapter's reason codes: the count lines need only this, and results.jsonl's reader
 * (jsonl.ts, through validate.ts) then loads no adapter module (a script of its own in a
 * folder without deno.json failed on the adapter's bare "zod" import).
 *
 * @example
 * ```ts
 * import { notCovered } from "./totals.ts";
 * notCovered([]); // []
 * ```
 */
export function notCovered(results: readonly CaseResult[]): CaseResult[] {
  return results.filter(isNotCovered);
}

/**
 * Whether one case is not covered ({@link notCovered}): refused where the matrix expects it
 * to run.
 *
 * @example
 * ```ts
 * import { isNotCovered } from "./totals.ts";
 * import type { CaseResult } from "../results/types.ts";
 * const refused = { status: "pass", decision: "unsupported", expect: { support: "supported" } };
 * isNotCovered(refused as CaseResult); // true
 * ```
 */
export function isNotCovered(r: CaseResult): boolean {
  return r.status === "pass" && r.decision === "unsupported" && r.expect.support === "supported";
}

/**
 * The counts of a command's last line, as `run`, `merge` and `baseline update` give them:
 * "4 pass, 0 fail, 0 unexpected, 0 error, 14 skipped as expected" (a case refused as the
 * matrix expected is a pass in the totals, named apart here), and apart from those the cases
 * the matrix expects to run that were refused ("2 not covered": for want of a device feature,
 * or by `--backend`), as summary.md and report.html count them; each of the last two parts
 * only when there is one. Fourteen f16 cases on the GL fallback read "14 skipped as
 * expected", where nothing of them was checked.
 *
 * @example
 * ```ts
 * import { countsText } from "./totals.ts";
 * countsText([]); // "0 pass, 0 fail, 0 unexpected, 0 error"
 * ```
 */
export function countsText(results: readonly CaseResult[]): string {
  const t = computeTotals(results);
  const { expected, notCovered } = skipCounts(results);
  return `${
    t.pass - expected - notCovered
  } pass, ${t.fail} fail, ${t.unexpected} unexpected, ${t.error} error` +
    (expected ? `, ${expected} skipped as expected` : "") +
    (notCovered ? `, ${notCovered} not covered` : "");
}

/**
 * The skipped cases (status pass, refused) as every count line names them: `expected`, those
 * refused as the matrix expects, and apart from them `notCovered`, those it expects to run that
 * were refused (for want of a device feature, or by `--backend`: not_covered.ts
 * `notCovered`). The console's line ({@link countsText}) and summary.md's and report.html's
 * (verdict.ts `skippedCountsText`) both count from this.
 *
 * @example
 * ```ts
 * import { skipCounts } from "./totals.ts";
 * skipCounts([]); // { expected: 0, notCovered: 0 }
 * ```
 */
export function skipCounts(results: readonly CaseResult[]): {
  expected: number;
  notCovered: number;
} {
  const skipped = results.filter(isExpectedSkip).length;
  const missed = notCovered(results).length;
  return { expected: skipped - missed, notCovered: missed };
}
