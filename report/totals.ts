/**
 * Counting results: totals per status and the "skipped as expected" rule.
 *
 * @module
 */
import type { CaseResult, CaseStatus } from "../results/types.ts";

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
