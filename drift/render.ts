/**
 * The compare report as Markdown (for people, CI step summaries and the README) and as
 * JSON (for machines: the {@link CompareReport} itself).
 *
 * @module
 */
import type { CaseComparison, CompareReport, DriftClass } from "./types.ts";
import { DRIFT_CLASSES } from "./types.ts";
import { runtimeLabel } from "../report/runtime_label.ts";
import { mdCell, mdCode } from "../report/md_text.ts";
import { incompleteSides, plantedFaultSides, selectionText } from "./compare.ts";
import { plural } from "../util/plural.ts";
import { loadWarning } from "./speed_load.ts";

/** Rows compare.md lists per section at most, by default; the rest are counted. */
export const MARKDOWN_ROWS = 40;

/** Options of {@link compareToMarkdown}. */
export interface MarkdownOptions {
  /** Rows listed per section at most (default 40); the rest are counted. */
  maxRows?: number;
  /** Title (default "Drift report"). */
  title?: string;
  /**
   * Where the rows past `maxRows` are listed, said after their count (default "see the JSON
   * report"), e.g. "compare.json lists every one".
   */
  more?: string;
}

const CLASS_LABEL: Readonly<Record<DriftClass, string>> = {
  "support-drift": "support drift",
  "numeric-drift": "numeric drift",
  "speed-regression": "speed regression",
  "removed": "removed",
  "new": "new",
  "speed-improvement": "speed improvement",
  "bits-changed": "bits changed within tolerance",
  "unchanged": "unchanged",
};

const cell = (s: string) => mdCell(s, 1000);

function rows(
  list: readonly CaseComparison[],
  max: number,
  withCause: boolean,
  more: string,
): string[] {
  const out = withCause
    ? ["| case | class | what moved | attributed to |", "| --- | --- | --- | --- |"]
    : ["| case | what moved |", "| --- | --- |"];
  for (const c of list.slice(0, max)) {
    const what = cell(c.details.join("; ") || "-");
    const id = mdCode(c.id, { table: true });
    out.push(
      withCause
        ? `| ${id} | ${c.classes.join(", ")} | ${what} | ${cell(c.attributedTo.join("; "))} |`
        : `| ${id} | ${what} |`,
    );
  }
  if (list.length > max) out.push(`\n… and ${list.length - max} more (${more})`);
  return out;
}

/**
 * Render a compare report as Markdown: verdict, what changed in the environment, counts
 * per class, the speed summary with the thresholds, then the cases that moved (regressions
 * first, each with what moved and what it is attributed to).
 *
 * @example
 * ```ts ignore
 * import { compareToMarkdown } from "./render.ts";
 * console.log(compareToMarkdown(report));
 * ```
 */
export function compareToMarkdown(report: CompareReport, options: MarkdownOptions = {}): string {
  const max = options.maxRows ?? MARKDOWN_ROWS;
  const more = options.more ?? "see the JSON report";
  const t = report.thresholds;
  const b = report.baseline, c = report.current;
  const lines: string[] = [];
  lines.push(`## ${options.title ?? "Drift report"}`, "");
  // A side run with a planted fault: said first, before a verdict that reads as drift.
  if (report.plantedFault !== undefined) lines.push(`> ⚠ **${report.plantedFault}**`, "");
  // --fail-on none: say so, not an empty list
  const counted = report.failOn.length > 0 ? report.failOn.join(", ") : "none";
  lines.push(
    report.regressions > 0
      ? `**${plural(report.regressions, "regression")}** ` +
        `(classes counted as regressions: ${counted})`
      : `**No regressions** (classes counted as regressions: ${counted})`,
    "",
  );
  lines.push(
    `Baseline: \`${b.deviceKey}\`${recordedMd(b)}, ${b.matrix}${selectionMd(b)}, ` +
      `${runtimeLabel(b, { inline: true })}, ${b.createdAt}, ` +
      `${plural(b.cases, "case")}.  `,
    `Current: \`${c.deviceKey}\`${recordedMd(c)}, ${c.matrix}${selectionMd(c)}, ` +
      `${runtimeLabel(c, { inline: true })}, ${c.createdAt}, ` +
      plural(c.cases, "case") +
      (report.outOfScope > 0
        ? `; ${plural(report.outOfScope, "baseline case")} outside its selection.`
        : "."),
    "",
  );
  // a baseline of one shard or filter: the current run's other cases are not compared
  if (report.newOutOfScope) {
    lines.push(
      `> ⚠ ${
        plural(report.newOutOfScope, "current case is", "current cases are")
      } outside the baseline's selection${
        selectionMd(b)
      }: counted as new, not compared. A baseline of the whole selection (a merged run's ` +
        "report) compares them.",
      "",
    );
  }
  if (b.deviceKey !== c.deviceKey) lines.push(`> ${acrossDevicesText(report)}`, "");
  // a side's run stopped early: its missing cases read as not run or new, not as drift
  for (const line of incompleteSides(report)) lines.push(`> ⚠ ${line}`, "");
  lines.push("### What changed in the environment", "");
  if (report.environment.summary.length === 0) {
    lines.push("Nothing: same Deno, adapter, driver, kernel sources, harness revision and host.");
  } else {
    for (const s of report.environment.summary) lines.push(`- ${s}`);
  }
  lines.push(
    "",
    "### Cases per class",
    "",
    "| class | cases (by their most severe class) | cases with it (any of their classes) |",
    "| --- | ---: | ---: |",
  );
  for (const k of DRIFT_CLASSES) {
    // reports written before classCounts existed have the first count only
    const any = report.classCounts?.[k] ?? report.counts[k];
    lines.push(`| ${CLASS_LABEL[k]} | ${report.counts[k]} | ${any} |`);
  }
  const s = report.speed;
  lines.push(
    "",
    `Speed: geometric-mean ratio ${
      s.geomeanRatio === null ? "n/a" : `**${s.geomeanRatio.toFixed(3)}**`
    } (current / baseline median, > 1 is slower) over ${plural(s.compared, "timed case")}; ` +
      `${plural(s.regressions, "significant regression")}, ${
        plural(s.improvements, "significant improvement")
      }.` +
      (s.untested > 0 ? ` ⚠ ${untestedText(report)}.` : "") +
      (notComparableCount(report) > 0 ? ` ⚠ ${notComparableText(report)}.` : ""),
    "",
    // a side timed on a busy host: its verdicts stand, and may be the load's
    // (said where timings were compared: a run of --repeats 0 has no verdict to doubt)
    ...(loadWarning(s.load) === null || s.compared === 0
      ? []
      : [`> ⚠ ${capitalized(loadWarning(s.load)!)}.`, ""]),
    // a side that could not read the load (run without --allow-sys=loadavg): said, or a
    // nightly whose command lacks it never learns that its load goes unjudged
    ...(s.compared === 0 ? [] : unreadLoad(s.load).map((l) => `> ${l}`).flatMap((l) => [l, ""])),
    `Thresholds: an error metric drifts when it grows more than ${t.metricFactor}x and exceeds ` +
      `${t.floorFraction} of its tolerance, or the case crosses its tolerance; a speed change ` +
      `needs Mann-Whitney U p < ${t.alpha} (two-sided, at least ${t.minSamples} samples a side) ` +
      `and a median ratio beyond ${t.speedRatio}x.`,
    "",
  );
  const moved = report.cases.filter((x) => x.class !== "unchanged" && x.class !== "bits-changed");
  if (moved.length > 0) {
    lines.push("### Cases that moved", "", ...rows(moved, max, true, more), "");
  }
  const bits = report.cases.filter((x) => x.class === "bits-changed");
  if (bits.length > 0) {
    lines.push(
      "### Output bits changed within tolerance (information, not failure)",
      "",
      ...rows(bits, Math.min(max, 10), false, more),
      "",
    );
  }
  return lines.join("\n");
}

/** " (recorded as `x` by an older harness's key rules)" after a side's key, or "". */
function recordedMd(s: CompareReport["baseline"]): string {
  return s.recordedKey === undefined
    ? ""
    : ` (recorded as \`${s.recordedKey}\`, by an older harness's key rules)`;
}

/** " (filter `x`, shard 1/2)" after a side's matrix, or "". */
function selectionMd(s: CompareReport["baseline"]): string {
  const parts = [
    ...(s.filter ? [`filter \`${s.filter}\``] : []),
    ...(s.shard ? [`shard ${s.shard}`] : []),
  ];
  return parts.length > 0 ? ` (${parts.join(", ")})` : "";
}

/**
 * One-line summary for a terminal: counts per non-empty class, geomean speed ratio, and
 * the regression count.
 *
 * @example
 * ```ts ignore
 * import { compareSummaryLine } from "./render.ts";
 * compareSummaryLine(report); // "drift: 64 unchanged; speed x1.010 (geomean); 0 regressions"
 * ```
 */
export function compareSummaryLine(report: CompareReport): string {
  const parts = DRIFT_CLASSES.filter((k) => report.counts[k] > 0).map((k) =>
    `${report.counts[k]} ${k}`
  );
  // the current run's cases without a result (Ctrl-C, a merge missing shards): not compared,
  // said apart from the classes (they read "24 removed", as if the matrix had dropped them)
  const missing = report.current.missing ?? 0;
  if (missing > 0) {
    parts.push(
      `${missing} not run (${
        report.current.interrupted ? "the run was interrupted" : "no result"
      }: not compared)`,
    );
  }
  // so are the baseline's (its run was interrupted): the current results for them are not
  // compared (they read "new", and --fail-on new counted them as regressions)
  const baseMissing = report.baseline.missing ?? 0;
  if (baseMissing > 0) {
    parts.push(
      `${baseMissing} not run in the baseline (${
        report.baseline.interrupted ? "its run was interrupted" : "no result"
      }: not compared)`,
    );
  }
  const g = report.speed.geomeanRatio;
  const fault = plantedFaultSides(report.baseline, report.current).map((f) =>
    `${f.side} with planted fault ${f.id}`
  );
  // a baseline of another device (run --baseline of an H200's file on lavapipe): compare.md
  // says so; the run's report.html, whose drift note is this line, said only "22 regressions"
  const b = report.baseline.deviceKey, c = report.current.deviceKey;
  const uncounted = report.acrossDevices?.uncounted ?? [];
  const devices = b !== c
    ? ` (baseline of another device, ${b}: timings and bits are not expected to match${
      uncounted.length > 0 ? `; ${uncounted.join(" and ")} not counted as regressions` : ""
    })`
    : "";
  return `drift${devices}${
    fault.length > 0 ? ` (${fault.join(", ")}: the fault's differences, not drift)` : ""
  }: ${parts.join(", ") || "no cases"}; speed ${g === null ? "n/a" : `x${g.toFixed(3)} (geomean)`}${
    report.speed.untested > 0 ? ` (${untestedText(report)})` : ""
  }${notComparableCount(report) > 0 ? ` (${notComparableText(report)})` : ""}${
    loadedText(report) === null ? "" : ` (${loadedText(report)})`
  }${
    report.newOutOfScope
      ? ` (${plural(report.newOutOfScope, "case")} outside the baseline's selection, ${
        selectionText(report.baseline)
      }: not compared)`
      : ""
  }; ${plural(report.regressions, "regression")}${
    // the fault's differences, said so where the count is (it read as drift regressions)
    fault.length > 0 && report.regressions > 0 ? " by class, made by the planted fault" : ""}`;
}

/**
 * Why speed went untested where it did: "speed not tested in 22 cases: too few samples (3;
 * at least 5 a side): both sides need --repeats 5 or more" (the runs compared, the baseline
 * and the run checked against it, or an upgrade check's two sides: not "with a baseline
 * made so", which an upgrade check has none of); "the baseline's run needs" or "the current
 * run needs" where only that side was short.
 *
 * @example
 * ```ts ignore
 * import { untestedText } from "./render.ts";
 * if (report.speed.untested > 0) console.warn(untestedText(report));
 * ```
 */
export function untestedText(report: CompareReport): string {
  const s = report.speed;
  const min = report.thresholds.minSamples;
  // the side that is short (a baseline of --repeats 3 against a run of 10 told the run to
  // repeat more); both, or a report of an older harness that does not say
  const short = s.shortSides ?? ["baseline", "current"];
  const who = short.length === 1
    ? short[0] === "baseline" ? "the baseline's run needs" : "the current run needs"
    : "both sides need";
  // no parentheses of its own at the end: the drift summary puts this text in parentheses
  return `speed not tested in ${plural(s.untested, "case")}: too few ` +
    `samples (${s.fewestSamples ?? "?"}; at least ${min} a side): ${who} --repeats ` +
    `${min} or more`;
}

function notComparableCount(report: CompareReport): number {
  return (report.speed.notComparable ?? []).reduce((n, g) => n + g.cases, 0);
}

/**
 * Why speed was not compared where it was not (samples of another timing source, scope,
 * warm-up or timing rules, as against a baseline of an older harness): "speed not compared
 * in 4 cases: timing rules not recorded → 1 (...): 4"; empty when every timed case was.
 *
 * @example
 * ```ts ignore
 * import { notComparableText } from "./render.ts";
 * const why = notComparableText(report);
 * if (why) console.warn(why);
 * ```
 */
export function notComparableText(report: CompareReport): string {
  const n = notComparableCount(report);
  if (n === 0) return "";
  const why = (report.speed.notComparable ?? []).map((g) => `${g.note}: ${g.cases}`);
  return `speed not compared in ${plural(n, "case")}: ${why.join("; ")}`;
}

const capitalized = (s: string) => s[0].toUpperCase() + s.slice(1);

/**
 * The terminal summary's words for a compare whose sides were timed under load: "speed
 * timed under load (the current run: 6.0 a CPU, above 1.5): its verdicts may be the load's";
 * null when neither side was, or no case's timings were compared (no verdict to doubt).
 *
 * @example
 * ```ts ignore
 * import { loadedText } from "./render.ts";
 * loadedText(report); // null on a quiet host
 * ```
 */
export function loadedText(report: CompareReport): string | null {
  const load = report.speed.load;
  if (!load || load.loaded.length === 0 || report.speed.compared === 0) return null;
  const who = load.sides.filter((s) => load.loaded.includes(s.side)).map((s) =>
    `${s.side === "baseline" ? "the baseline's run" : "the current run"}: ${
      s.perCpu!.toFixed(1)
    } a CPU`
  );
  return `speed timed under load (${who.join(", ")}, above ${load.limitPerCpu}): its ` +
    "verdicts may be the load's";
}

/**
 * compare.md's lines for the sides whose run could not read the host's load (no sys
 * permission for loadavg, say): whether they were timed under load is unknown. None for a side
 * of an older harness, which records none (every compare against an old baseline would say
 * it).
 */
function unreadLoad(load: CompareReport["speed"]["load"]): string[] {
  return (load?.sides ?? []).flatMap((s) =>
    s.perCpu === null && s.unrecorded !== undefined && !s.unrecorded.startsWith("not recorded")
      ? [
        `${s.side === "baseline" ? "The baseline's run" : "The current run"} did not record ` +
        `the host's load (${s.unrecorded}): whether its timings were taken under load is unknown.`,
      ]
      : []
  );
}

/**
 * What a compare of two device keys compares, and why its exit code is what it is: the
 * device-dependent classes not counted (default --fail-on), or --fail-on's classes counted.
 *
 * @example
 * ```ts ignore
 * import { acrossDevicesText } from "./render.ts";
 * acrossDevicesText(report);
 * // "Different devices (baseline `a`, current `b`): this compares two devices. ..."
 * ```
 */
export function acrossDevicesText(
  report: Pick<CompareReport, "baseline" | "current" | "acrossDevices" | "classCounts" | "failOn">,
): string {
  const b = report.baseline.deviceKey, c = report.current.deviceKey;
  const head = `Different devices (baseline \`${b}\`, current \`${c}\`): this compares two ` +
    "devices, so timings and output bits are not expected to match, and the adapter picks a " +
    "backend and plan per device (a change of them reads as support drift).";
  const uncounted = report.acrossDevices?.uncounted ?? [];
  if (uncounted.length === 0) {
    const counted = report.failOn.length > 0 ? report.failOn.join(", ") : "none";
    return `${head} --fail-on decides what counts as a regression here: ${counted}.`;
  }
  const shown = uncounted.map((k) => `${k} (${report.classCounts[k]})`).join(", ");
  return `${head} Not counted as regressions, so not in the exit code: ${shown}; their ` +
    "figures are below. Numeric drift still counts; --fail-on counts the others too.";
}
