/**
 * The verdict of a run's reports: whether it passed, and a plain sentence when it verified
 * nothing or only part of its selection (cases not covered on this device, errors, cases
 * that never ran), so a run that checked nothing never reads as fully passed.
 *
 * @module
 */
import type { RunReport } from "../results/types.ts";
import { summaryTotals } from "./totals.ts";
import { reportNotCovered } from "./not_covered.ts";
import { unusedBackends } from "./unused_backends.ts";

/** What {@link runVerdict} says of a run. */
export interface RunVerdict {
  /**
   * `bad`: a failure, an unexpected decision, an error, a case not run, a drift regression,
   * or a `--backend` that ran none of the cases expected to run, not only for what the device
   * lacks (`run` exits 1: unused_backends.ts `backendRanNothing`);
   * `warn`: none of those, but some cases were not covered (refused for want of a device
   * feature, or by a `--backend` of the other path), so not everything was verified;
   * `ok`: every case was verified.
   */
  readonly level: "ok" | "warn" | "bad";
  /** Cases whose outcome was checked: parity ran (pass or fail), or a decision was checked. */
  readonly verified: number;
  /** Cases of the selection (results and cases never run). */
  readonly selected: number;
  /**
   * "No case was verified: …" or "Only 3 of 28 cases were verified: …", naming what the
   * others were; null when every case was verified.
   */
  readonly headline: string | null;
}

/** Options of {@link runVerdict}. */
export interface RunVerdictOptions {
  /** Drift regressions against a baseline (`run --baseline`): any makes the run bad. */
  readonly regressions?: number;
}

/**
 * The verdict of a run ({@link RunVerdict}).
 *
 * @example
 * ```ts
 * import { runVerdict } from "./verdict.ts";
 * import type { RunReport } from "../results/types.ts";
 * declare const report: RunReport;
 * const v = runVerdict(report);
 * if (v.headline !== null) console.log(v.headline); // e.g. "No case was verified: ..."
 * ```
 */
export function runVerdict(report: RunReport, options: RunVerdictOptions = {}): RunVerdict {
  const t = summaryTotals(report);
  const gap = reportNotCovered(report);
  const notCovered = gap?.ids.length ?? 0;
  // an expected refusal checked the adapter's decision; a refusal for want of a feature
  // checked nothing
  const verified = t.pass + t.fail + t.unexpected + t.skippedAsExpected - notCovered;
  const selected = t.cases + t.notRun;
  // `run --backend wgsl-absorbed` over expanded cases exits 1 ("ran none of the cases
  // expected to run"): the page said only "not covered in this run", in amber.
  const b = report.backend;
  const ranNothing = b !== undefined &&
    unusedBackends(report.results, { backend: b, modules: [] }).backendRanNothing;
  const bad = ranNothing ||
    t.fail + t.unexpected + t.error + t.notRun + (options.regressions ?? 0) > 0;
  const others = [
    notCovered > 0 ? `${notCovered} not covered ${gap!.where} (skipped)` : "",
    t.error > 0 ? `${t.error} errored` : "",
    t.notRun > 0 ? `${t.notRun} not run` : "",
  ].filter(Boolean).join(", ");
  const coverage = verified === selected
    ? null
    : verified === 0
    ? `No case was verified: ${others}.`
    : `Only ${verified} of ${selected} cases were verified: ${others}.`;
  const failed = ranNothing
    ? `The run fails: --backend ${b} ran none of the cases expected to run (each was refused ` +
      "or not reached, not only for what this device lacks)."
    : null;
  const headline = [coverage, failed].filter((x) => x !== null).join(" ") || null;
  return {
    level: bad ? "bad" : verified < selected ? "warn" : "ok",
    verified,
    selected,
    headline,
  };
}
