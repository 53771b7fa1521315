/**
 * The verdict of a run's reports: whether it passed, and a plain sentence when it verified
 * nothing or only part of its selection (cases not covered on this device, errors, cases
 * that never ran), so a run that checked nothing never reads as fully passed.
 *
 * @module
 */
import type { PlantedFaultClean, RunReport } from "../results/types.ts";
import { plural } from "../util/plural.ts";
import { skipCounts, summaryTotals } from "./totals.ts";
import { reportNotCovered } from "./not_covered.ts";
import { unusedBackends } from "./unused_backends.ts";

/** What {@link runVerdict} says of a run. */
export interface RunVerdict {
  /**
   * `bad`: a failure, an unexpected decision, an error, a case not run, a drift regression,
   * or a `--backend` that ran none of the cases expected to run, not only for what the device
   * lacks (`run` exits 1: unused_backends.ts `backendRanNothing`);
   * `warn`: none of those, but some cases were not covered (refused for want of a device
   * feature, or by a `--backend` of the other path), so not everything was verified, or the
   * run had no case at all (a shard the hash gave none), or its drift was not checked
   * ({@link RunVerdictOptions} `driftNotChecked`);
   * `ok`: every case was verified, and there was one.
   */
  readonly level: "ok" | "warn" | "bad";
  /** Cases whose outcome was checked: parity ran (pass or fail), or a decision was checked. */
  readonly verified: number;
  /** Cases of the selection (results and cases never run). */
  readonly selected: number;
  /**
   * "No case was verified: …" or "Only 3 of 28 cases were verified: …", naming what the
   * others were, or "No case was run: shard 1/2 holds none …"; null when every case was
   * verified.
   */
  readonly headline: string | null;
}

/** Options of {@link runVerdict}. */
export interface RunVerdictOptions {
  /** Drift regressions against a baseline (`run --baseline`): any makes the run bad. */
  readonly regressions?: number;
  /**
   * `run --baseline` compared nothing (no baseline for this device in the folder): a run that
   * would read `ok` reads `warn` (a nightly that lost its baseline file read ✅).
   */
  readonly driftNotChecked?: boolean;
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
  // what the verified cases hold that makes a page red: a red page of 2 unexpected decisions
  // read "Only 10 of 18 cases were verified: 8 not covered", naming the amber reason only
  const within = [
    t.fail > 0 ? `${t.fail} failed` : "",
    t.unexpected > 0 ? plural(t.unexpected, "unexpected decision") : "",
  ].filter(Boolean).join(" and ");
  // a shard the hash gave none of the selection (run exits 0: a shard may be empty) read
  // "✅ 0 cases", green, as if it had verified its part
  const coverage = selected === 0
    ? (report.shard
      ? `No case was run: shard ${report.shard} holds none of the ${
        plural(report.matrixIds.length, "case")
      } of its matrix and filter (cases go to shards by a hash of their id).`
      : "No case was run: the selection is empty.")
    : verified === selected
    ? null
    : verified === 0
    ? `No case was verified: ${others}.`
    : `Only ${verified} of ${selected} cases were verified${
      within === "" ? "" : ` (${within} among them)`
    }: ${others}.`;
  const failed = ranNothing
    ? `The run fails: --backend ${b} ran none of the cases expected to run (each was refused ` +
      "or not reached, not only for what this device lacks)."
    : null;
  // a planted fault no case failed on: the run proves nothing about the checks, where a
  // green page read as the proof (`run --plant-fault`: "the run must turn red")
  const errored = faultUncaught(report) ? faultUncheckedBy(report).length : 0;
  const uncaught = !faultUncaught(report)
    ? null
    : errored > 0
    ? `The planted fault ${report.plantedFault} was not caught: no parity check failed ` +
      `(${errored} errored or decided other than expected, which is not a check catching it).`
    : `The planted fault ${report.plantedFault} was not caught: no case failed.`;
  // GPU errors no case's scope caught: the cases may have passed on work that failed; a
  // green "all pass" over them read as if none came
  const lateCount = report.lateGpuErrors?.length ?? 0;
  const late = lateCount > 0
    ? `${plural(lateCount, "GPU error")} arrived outside every case's error scope.`
    : null;
  const headline = [coverage, failed, uncaught, late].filter((x) => x !== null).join(" ") ||
    null;
  return {
    level: bad
      ? "bad"
      : verified < selected || selected === 0 || uncaught !== null || late !== null ||
          options.driftNotChecked
      ? "warn"
      : "ok",
    verified,
    selected,
    headline,
  };
}

/**
 * The skipped cases as the totals line of summary.md and report.html counts them: those
 * refused as the matrix expects, and apart from them those it expects to run that were
 * refused (not covered: for want of a device feature, or by `--backend`). Fourteen f16 cases
 * on a device without shader-f16 read "14 skipped as expected", where the matrix expects them
 * supported and nothing of them was checked. Counted and worded as the console's line gives
 * them (totals.ts `skipCounts`, `countsText`), where the GL fallback's tiny cases read "28 not
 * covered" and this line read "0 skipped as expected, 28 not covered"; with no skip at all,
 * this line alone keeps "0 skipped as expected" (its slot in the totals).
 *
 * @example
 * ```ts ignore
 * import { skippedCountsText } from "./verdict.ts";
 * skippedCountsText(report); // "14 not covered", "2 skipped as expected, 14 not covered"
 * ```
 */
export function skippedCountsText(report: Pick<RunReport, "results">): string {
  const { expected, notCovered } = skipCounts(report.results);
  return [
    expected > 0 || notCovered === 0 ? `${expected} skipped as expected` : "",
    notCovered > 0 ? `${notCovered} not covered` : "",
  ].filter(Boolean).join(", ");
}

/**
 * How many cases of a `run --plant-fault` run did not execute the fault, by reason (from
 * report.json `plantedFaultClean`, or a run's own list), in first-seen order.
 *
 * @example
 * ```ts
 * import { cleanReasonCounts } from "./verdict.ts";
 * cleanReasonCounts([{ id: "a", reason: "r" }, { id: "b", reason: "r" }]); // Map { "r" => 2 }
 * ```
 */
export function cleanReasonCounts(
  clean: readonly PlantedFaultClean[],
): Map<string, number> {
  const why = new Map<string, number>();
  for (const c of clean) why.set(c.reason, (why.get(c.reason) ?? 0) + 1);
  return why;
}

/**
 * What summary.md and report.html say of a run's planted fault after its id: which cases
 * ran with it and, from `plantedFaultClean`, how many could not show it and why (a
 * report written before that was recorded says only that such cases may exist). Plain text
 * (the caller escapes it); null without a planted fault.
 *
 * @example
 * ```ts ignore
 * import { plantedFaultText } from "./verdict.ts";
 * plantedFaultText(report); // "every case ran with it, so its failures show ..."
 * ```
 */
export function plantedFaultText(
  report: Pick<RunReport, "plantedFault" | "plantedFaultClean" | "shardIds"> & {
    readonly results: readonly Pick<RunReport["results"][number], "id" | "status">[];
  },
): string | null {
  if (report.plantedFault === undefined) return null;
  const errored = faultUncheckedBy(report).length;
  const caught = faultUncaught(report) && errored > 0
    ? `but no parity check failed (${plural(errored, "case")} errored or ` +
      "decided other than expected, which is not a check catching it), so this run does not " +
      "show the checks catching it."
    : faultUncaught(report)
    ? "but no case failed, so this run does not show the checks catching it: the cases that " +
      "compile its kernels may not reach the faulted code (run warned of it with what the " +
      "fault changes)."
    : "so its failures show the checks catching the fault; they are not a regression of the " +
      "kernels.";
  const clean = report.plantedFaultClean;
  if (clean === undefined) {
    return `every case ran with it whose kernels execute it, ${caught} The other cases ran ` +
      "the clean kernels (run warned of them when it started).";
  }
  if (clean.length === 0) return `every case ran with it, ${caught}`;
  const reasons = [...cleanReasonCounts(clean)].map(([reason, k]) => `${k} × ${reason}`);
  const total = report.shardIds.length;
  return `every case ran with it that can show it, ${caught} ${clean.length} of ` +
    `${plural(total, "case")} cannot show it (${reasons.join("; ")}): their passes say ` +
    "nothing about the checks.";
}

/**
 * Whether a `run --plant-fault` run ended with no parity check failed (no case `fail`): the
 * fault went uncaught (the selected cases may not reach the faulted code, or they errored or
 * were decided other than expected, which is no check catching it). False without a planted
 * fault, or with no result.
 *
 * @example
 * ```ts
 * import { faultUncaught } from "./verdict.ts";
 * faultUncaught({ plantedFault: "lse-offset", results: [] }); // false: nothing ran
 * faultUncaught({ plantedFault: "lse-offset", results: [{ status: "error" }] }); // true
 * ```
 */
export function faultUncaught(
  report: Pick<RunReport, "plantedFault"> & {
    readonly results: readonly Pick<RunReport["results"][number], "status">[];
  },
): boolean {
  return report.plantedFault !== undefined && report.results.length > 0 &&
    report.results.every((r) => r.status !== "fail");
}

/**
 * The cases of a `run --plant-fault` run whose parity was never checked: they errored (a
 * timeout, a compile error, the fault's pattern gone) or were decided other than expected,
 * in the run's order. Empty without a planted fault.
 *
 * @example
 * ```ts
 * import { faultUncheckedBy } from "./verdict.ts";
 * faultUncheckedBy({
 *   plantedFault: "lse-offset",
 *   results: [{ id: "a", status: "pass" }, { id: "b", status: "error" }],
 * }); // ["b"]
 * ```
 */
export function faultUncheckedBy(
  report: Pick<RunReport, "plantedFault"> & {
    readonly results: readonly Pick<RunReport["results"][number], "id" | "status">[];
  },
): string[] {
  if (report.plantedFault === undefined) return [];
  return report.results.filter((r) => r.status === "error" || r.status === "unexpected")
    .map((r) => r.id);
}

/**
 * Whether a `run --plant-fault` run (or a merge of its shards) answers exit 4: no parity check
 * failed ({@link faultUncaught}) and some case ran with the fault and passed
 * ({@link faultMissedBy}) or was never checked ({@link faultUncheckedBy}). A run whose every
 * case ran the clean kernels is not one (a warning: nothing slipped through).
 *
 * @example
 * ```ts
 * import { faultSlipped } from "./verdict.ts";
 * faultSlipped({ plantedFault: "f", results: [{ id: "a", status: "error" }] }); // true
 * ```
 */
export function faultSlipped(
  report: Pick<RunReport, "plantedFault" | "plantedFaultClean"> & {
    readonly results: readonly Pick<RunReport["results"][number], "id" | "status">[];
  },
): boolean {
  return faultUncaught(report) &&
    (faultMissedBy(report).length > 0 || faultUncheckedBy(report).length > 0);
}

/**
 * The cases of a `run --plant-fault` run that ran with the fault (its kernels execute it,
 * from `plantedFaultClean`) and passed: those that did not catch it, in the run's order.
 * Empty without a planted fault.
 *
 * @example
 * ```ts
 * import { faultMissedBy } from "./verdict.ts";
 * faultMissedBy({
 *   plantedFault: "lse-offset",
 *   plantedFaultClean: [{ id: "b", reason: "r" }],
 *   results: [{ id: "a", status: "pass" }, { id: "b", status: "pass" }],
 * }); // ["a"]
 * ```
 */
export function faultMissedBy(
  report: Pick<RunReport, "plantedFault" | "plantedFaultClean"> & {
    readonly results: readonly Pick<RunReport["results"][number], "id" | "status">[];
  },
): string[] {
  if (report.plantedFault === undefined) return [];
  const clean = new Set((report.plantedFaultClean ?? []).map((c) => c.id));
  return report.results.filter((r) => r.status === "pass" && !clean.has(r.id)).map((r) => r.id);
}
