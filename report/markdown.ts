/**
 * The Markdown summary (summary.md, and the GitHub Actions step summary): counts, failures
 * first, one line per matrix group, the other cases folded, the slowest cases, the
 * environment.
 *
 * @module
 */
import { formatTuning } from "../adapter/plan_tuning.ts";
import type { CaseResult, RunReport, TimingRecord } from "../results/types.ts";
import { adapterIdentity, adapterTuning } from "./adapter_info.ts";
import { writeTextAtomic } from "../util/fs.ts";
import { failureMessage, MAX_BARRIER_ROWS, skipMessage } from "./junit.ts";
import { explainCommandsFor } from "./explain_command.ts";
import { mdCell, mdCode } from "./md_text.ts";
import { isExpectedSkip, missingIds, notCovered, notRunIds, summaryTotals } from "./totals.ts";
import { reportNotCovered, severalReasonsText } from "./not_covered.ts";
import { plantedFaultText, runVerdict, skippedCountsText } from "./verdict.ts";
import { plural } from "../util/plural.ts";
import type { HostLoad, LoadSample } from "../util/host_load.ts";
import { wallSeconds } from "./figures.ts";
import { lateGpuErrorsSentence, MAX_LATE_GPU_ERRORS_LISTED } from "./late_gpu_errors_text.ts";
import { fingerprintChangeText } from "./fingerprint_diff.ts";

/** Options of {@link toMarkdown}. */
export interface MarkdownOptions {
  /** How many of the slowest cases to list (default 10). */
  readonly slowest?: number;
  /**
   * At most this many rows in the case table (default 200); failures always come first,
   * so only passing rows are cut, with a line saying how many.
   */
  readonly maxRows?: number;
  /** Heading level of the title (default 2; sections are one level below). */
  readonly level?: number;
  /**
   * The matrix group of each case without a result (report/case_groups.ts `notRunGroups`),
   * so each group's line counts its cases not run; those it lacks count in
   * {@link NOT_RUN_GROUP}.
   */
  readonly notRunGroups?: ReadonlyMap<string, string>;
  /** The commands that run the cases not run (report/finish_commands.ts `finishCommands`). */
  readonly finish?: readonly string[];
  /**
   * The comparison with a baseline after the run (`run --baseline`): its regressions count
   * in the verdict line, as report.html's do, and the drift line follows it.
   */
  readonly drift?: MarkdownDriftNote;
}

/** The drift verdict of `run --baseline`, as summary.md says it (report.html's RunDriftNote). */
export interface MarkdownDriftNote {
  /** What was compared, e.g. "Drift against baselines/x.json". */
  readonly title: string;
  /** The one-line summary (drift/render.ts compareSummaryLine). */
  readonly summary: string;
  /** Cases in a class that counts as a regression. */
  readonly regressions: number;
  /** A side ran with a planted fault: the differences are the fault's, not drift. */
  readonly fault?: boolean;
  /**
   * Nothing was compared (no baseline for this device in the `--baseline` folder): `summary`
   * says so, the line reads as a warning, and so does the verdict (it read ✅).
   */
  readonly notChecked?: boolean;
  /**
   * What the verdict line says when `notChecked` (default "drift not checked"; a run with
   * `--history` and no `--baseline` stopped at once: "history not stored").
   */
  readonly notCheckedWords?: string;
}

const cell = mdCell;
/** A case id (or other string) in a table row, as it is. */
const code = (s: string) => mdCode(s, { table: true });

// Failures first: errors and unexpected decisions are as bad as parity failures.
const RANK: Readonly<Record<string, number>> = { fail: 0, unexpected: 1, error: 2 };

/**
 * The heading of summary.md's and report.html's section of failed cases: the kinds it holds,
 * with their number ("Errors (1)", "Failures and errors (2)", "Failures, unexpected
 * decisions and errors (5)"). "Failures (1)" stood over a run of one error, whose totals
 * line said "0 fail, 0 unexpected, 1 error".
 *
 * @example
 * ```ts
 * import { failuresHeading } from "./markdown.ts";
 * failuresHeading(["error"]); // "Errors (1)"
 * failuresHeading(["fail", "error", "fail"]); // "Failures and errors (3)"
 * ```
 */
export function failuresHeading(statuses: readonly string[]): string {
  const kinds = [
    statuses.includes("fail") ? "failures" : "",
    statuses.includes("unexpected") ? "unexpected decisions" : "",
    statuses.includes("error") ? "errors" : "",
  ].filter((k) => k !== "");
  const words = kinds.length === 0
    ? "failures"
    : kinds.length === 1
    ? kinds[0]
    : `${kinds.slice(0, -1).join(", ")} and ${kinds.at(-1)}`;
  return `${words.charAt(0).toUpperCase()}${words.slice(1)} (${statuses.length})`;
}

function rank(r: CaseResult): number {
  return RANK[r.status] ?? (isExpectedSkip(r) ? 4 : 3);
}

function label(r: CaseResult): string {
  if (isExpectedSkip(r)) return `skip (${r.decision})`;
  return r.status === "pass" ? "pass" : `**${r.status}**`;
}

/** Rows of the failure table at most; the rest are counted (report.html lists them all). */
export const MAX_FAILURE_ROWS = 200;

/**
 * Rows of the matrix groups' table at most: the groups with a failure, a case not run or
 * nothing verified first; the rest are counted (report.html lists every group).
 */
export const MAX_GROUP_ROWS = 500;

/** Missing cases of a merge listed at most; the rest are counted (report.json lists them all). */
export const MAX_MISSING_ROWS = 50;

function headroomText(r: CaseResult): string {
  const f = (h: number | undefined) => h === undefined ? "–" : headroomFigure(h);
  return r.out?.headroom === undefined && r.lse?.headroom === undefined
    ? "–"
    : `${f(r.out?.headroom)} / ${f(r.lse?.headroom)}`;
}

/**
 * A headroom as summary.md gives it (compare-runtimes.md too): 3 decimals from 0.01 to 1000,
 * else 2 significant digits ("0.000" was said of an f16 case's 4e-5, as if its error were
 * none); near 1 (the line between pass and fail) as many decimals as tell it from 1.
 *
 * @example
 * ```ts
 * import { headroomFigure } from "./markdown.ts";
 * headroomFigure(0.25); // "0.250"
 * headroomFigure(4e-5); // "4.0e-5"
 * headroomFigure(0.00996); // "0.010"
 * headroomFigure(1.0004); // "1.0004" (fails; not "1.000")
 * ```
 */
export function headroomFigure(h: number): string {
  if (h === 0) return "0";
  // the range by the figure as written: a headroom just under 0.01 (0.00996) rounds to
  // "1.0e-2", which read as another kind of figure beside "0.010"; it is "0.010" too
  const fixed = h.toFixed(3);
  // 1 is the line between pass and fail: a failing 1.0004 and a passing 0.99996 both read
  // "1.000"; near it, as many decimals as tell the figure from 1
  if (fixed === "1.000" && h !== 1) {
    for (let d = 4; d <= 20; d++) {
      const s = h.toFixed(d);
      if (Number(s) !== 1) return s;
    }
  }
  return Number(h.toExponential(1)) >= 0.01 && Number(fixed) < 1000 ? fixed : h.toExponential(1);
}

/**
 * The note beside a group's worst headroom where its cases failed on a check the headroom
 * does not measure (non-finite values, cos_diff) with every finite error within tolerance:
 * "(4 failed on nonfinite-mismatch, which headroom does not measure)" (a group of failures
 * read "worst headroom 0.0380", a figure that says within tolerance); null where none did.
 * summary.md and report.html say it alike.
 *
 * @example
 * ```ts
 * import { unmeasuredFailuresNote } from "./markdown.ts";
 * unmeasuredFailuresNote([]); // null
 * ```
 */
export function unmeasuredFailuresNote(results: readonly CaseResult[]): string | null {
  const checks = new Set<string>();
  let failed = 0;
  for (const r of results) {
    const sides = [r.out, r.lse].filter((p) =>
      p !== undefined && !p.pass && !(p.headroom !== undefined && p.headroom > 1)
    );
    if (sides.length === 0) continue;
    failed++;
    for (const p of sides) for (const c of p!.checks) checks.add(c);
  }
  if (failed === 0) return null;
  const on = checks.size > 0 ? ` on ${[...checks].join(", ")}` : "";
  return `(${failed} failed${on}, which headroom does not measure)`;
}

/**
 * One line per matrix group: its cases in the selection, how many passed, failed, were
 * skipped and never ran, and the worst headroom; groups in first-seen order, those of cases
 * not run only after them.
 */
export interface GroupLine {
  /** The group (its name, `groups[i]`, or "(no group)" for records without one). */
  readonly group: string;
  /** Cases of the group whose check passed (expected skips not included). */
  readonly passed: number;
  /** Cases of the group that failed parity or got an unexpected support decision. */
  readonly failed: number;
  /** Cases of the group that ended in an error (nothing checked; counted as failed before). */
  readonly errored: number;
  /** Cases of the group refused as expected or for want of a device feature (nothing run). */
  readonly skipped: number;
  /**
   * Of {@link skipped}, the cases the matrix expects to run (refused for want of a device
   * feature, or by `--backend`): nothing of them was verified, where an expected refusal was.
   */
  readonly notCovered: number;
  /** Cases of the group that never ran (an interrupted run, a merge's missing cases). */
  readonly notRun: number;
  /** Cases of the group in the selection: the sum of the five counts. */
  readonly total: number;
  /** Largest headroom over out and LSE of its cases (null: none recorded). */
  readonly worstHeadroom: number | null;
}

/** The group of cases not run whose group is not known (their matrix could not be read). */
export const NOT_RUN_GROUP = "(not run, group unknown)";

/** Options of {@link groupLines}. */
export interface GroupLinesOptions {
  /** Ids of the selection without a result (report/totals.ts `notRunIds`). */
  readonly notRun?: readonly string[];
  /** Their groups (report/case_groups.ts `notRunGroups`); one absent: {@link NOT_RUN_GROUP}. */
  readonly notRunGroups?: ReadonlyMap<string, string>;
}

/**
 * The per-group lines of the summary and report.html.
 *
 * @example
 * ```ts
 * import { groupLines } from "./markdown.ts";
 * groupLines([]); // []
 * groupLines([], { notRun: ["a"], notRunGroups: new Map([["a", "g"]]) })[0].notRun; // 1
 * ```
 */
export function groupLines(
  results: readonly CaseResult[],
  options: GroupLinesOptions = {},
): GroupLine[] {
  type Counts = {
    passed: number;
    failed: number;
    errored: number;
    skipped: number;
    notCovered: number;
    notRun: number;
  };
  const byGroup = new Map<string, Counts & { worst: number | null }>();
  const entry = (g: string) => {
    const e = byGroup.get(g) ??
      { passed: 0, failed: 0, errored: 0, skipped: 0, notCovered: 0, notRun: 0, worst: null };
    byGroup.set(g, e);
    return e;
  };
  const uncovered = new Set(notCovered(results));
  for (const r of results) {
    const e = entry(r.group ?? "(no group)");
    if (isExpectedSkip(r)) {
      e.skipped++;
      if (uncovered.has(r)) e.notCovered++;
    } else if (r.status === "pass") e.passed++;
    else if (r.status === "error") e.errored++;
    else e.failed++;
    for (const h of [r.out?.headroom, r.lse?.headroom]) {
      if (h !== undefined && (e.worst === null || h > e.worst)) e.worst = h;
    }
  }
  for (const id of options.notRun ?? []) {
    entry(options.notRunGroups?.get(id) ?? NOT_RUN_GROUP).notRun++;
  }
  return [...byGroup].map(([group, e]) => ({
    group,
    passed: e.passed,
    failed: e.failed,
    errored: e.errored,
    skipped: e.skipped,
    notCovered: e.notCovered,
    notRun: e.notRun,
    total: e.passed + e.failed + e.errored + e.skipped + e.notRun,
    worstHeadroom: e.worst,
  }));
}

/**
 * A group's counts in words: "3 cases: 2 passed, 1 skipped" (the counts that are not zero).
 *
 * @example
 * ```ts
 * import { groupCountsText } from "./markdown.ts";
 * groupCountsText({ passed: 0, failed: 0, errored: 0, skipped: 24, notRun: 0, total: 24 });
 * // "24 cases: 0 passed, 24 skipped"
 * ```
 */
export function groupCountsText(
  g: Pick<GroupLine, "passed" | "failed" | "errored" | "skipped" | "notRun" | "total">,
): string {
  const parts = [
    `${g.passed} passed`,
    g.failed > 0 ? `${g.failed} failed` : "",
    g.errored > 0 ? `${g.errored} errored` : "",
    g.skipped > 0 ? `${g.skipped} skipped` : "",
    g.notRun > 0 ? `${g.notRun} not run` : "",
  ].filter(Boolean);
  return `${plural(g.total, "case")}: ${parts.join(", ")}`;
}

/**
 * The run as Markdown, for people: the counts, the failures (errors and unexpected
 * decisions included) with their messages, for a merge that lacks cases a ⚠ line and the
 * missing ids, one line per matrix group (passed/total, worst
 * headroom), the other cases inside a collapsed `<details>`, the slowest cases, the
 * environment. Headroom is the worst error over its allowance (above 1 fails).
 *
 * @example
 * ```ts
 * import { toMarkdown } from "./markdown.ts";
 * import type { RunReport } from "../results/types.ts";
 * declare const report: RunReport;
 * await Deno.writeTextFile("out/summary.md", toMarkdown(report));
 * ```
 */
export function toMarkdown(report: RunReport, options: MarkdownOptions = {}): string {
  const slowest = options.slowest ?? 10;
  const maxRows = options.maxRows ?? 200;
  const h = "#".repeat(options.level ?? 2);
  const t = summaryTotals(report);
  const out: string[] = [];
  const scope = [
    report.filter && `filter ${mdCode(report.filter)}`,
    report.shard && `shard ${report.shard}`,
  ]
    .filter(Boolean).join(", ");
  // the matrix as a code span: a path is shown as it is, never read as Markdown or HTML
  out.push(`${h} mla-harness: ${mdCode(report.matrix)}${scope ? ` (${scope})` : ""}`, "");
  // a run that exits 1 on drift (run --baseline) does not read green here either
  const drift = options.drift;
  const verdict = runVerdict(report, {
    regressions: drift?.regressions,
    driftNotChecked: drift?.notChecked,
  });
  out.push(
    `${verdict.level === "ok" ? "✅" : verdict.level === "warn" ? "⚠️" : "❌"} **${
      casesOfText(t)
    }**: ${t.pass} pass, ${t.fail} fail, ` +
      `${t.unexpected} unexpected, ${t.error} error, ${skippedCountsText(report)}` +
      (t.notRun ? `, **${t.notRun} not run**` : "") +
      (report.interrupted ? " (interrupted)" : "") +
      (drift && drift.regressions > 0
        ? drift.fault
          ? `; ${
            plural(drift.regressions, "case")
          } differing from the baseline by the planted fault (the fault's differences, not drift)`
          : `; **${plural(drift.regressions, "drift regression")} against the baseline**`
        : "") +
      (drift?.notChecked ? `; **${drift.notCheckedWords ?? "drift not checked"}**` : ""),
    "",
  );
  if (drift?.notChecked) {
    out.push(`⚠️ **${mdCell(drift.summary, Infinity)}**`, "");
  } else if (drift !== undefined) {
    out.push(
      `**${mdCell(drift.title, Infinity)}**: ${mdCell(drift.summary, Infinity)}. ` +
        "Details: compare.md (and compare.html).",
      "",
    );
  }
  // nothing, or only part, verified: said in words, not left to the counts
  // (escaped: it names a user backend's id, `--backend my._fast_.x` rendered "fast" in italics)
  if (verdict.headline !== null) out.push(`**${mdCell(verdict.headline, Infinity)}**`, "");
  const differs = report.environmentDiffers ?? [];
  if (differs.length > 0) {
    out.push(
      `⚠ **The merged shards ran in environments that differ** (${
        plural(differs.length, "difference")
      }, listed under Environment; the environment shown is the first folder's).`,
      "",
    );
  }
  const faultText = plantedFaultText(report);
  if (faultText !== null) {
    out.push(
      `⚠ **Planted fault ${mdCode(report.plantedFault ?? "")}** (\`run --plant-fault\`): ` +
        mdCell(faultText, Infinity),
      "",
    );
  }
  const barriers = report.barrierFindings ?? [];
  if (barriers.length > 0) {
    out.push(
      `⚠ **The static barrier check found ${
        plural(barriers.length, "problem")
      } in the user backends' WGSL** (listed under Barrier check): a race or a divergent ` +
        "barrier that parity on a device running a workgroup in lock step (lavapipe) cannot " +
        "catch.",
      "",
    );
  }
  // GPU errors no case's scope caught: the console said them, summary.md did not
  const late = lateGpuErrorsSentence(report.lateGpuErrors);
  if (late !== null) {
    const errors = report.lateGpuErrors ?? [];
    const shown = errors.slice(0, MAX_LATE_GPU_ERRORS_LISTED);
    out.push(
      `⚠ **${mdCell(late.slice(0, late.indexOf(":")), Infinity)}**` +
        mdCell(late.slice(late.indexOf(":")), Infinity),
      "",
      ...shown.map((e) =>
        `- ${
          e.afterCase === null ? "before any case" : `after case ${mdCode(e.afterCase)} had started`
        }: ${mdCell(e.message.split("\n")[0], Infinity)}`
      ),
      ...(errors.length > shown.length
        ? [`- …and ${errors.length - shown.length} more (report.json's lateGpuErrors)`]
        : []),
      "",
    );
  }
  const missing = missingIds(report);
  if (missing.length > 0) {
    out.push(
      `⚠ **${missing.length} of ${plural(report.matrixIds.length, "case")} missing**: ` +
        // a killed run's reports rebuilt by `merge <dir> --out <dir>` are a merge of one
        // folder: "no merged shard" said shards of a run that had none
        `no folder merged has a result for ${
          missing.length === 1 ? "it" : "them"
        } (a shard not given, or a run that stopped before ${
          missing.length === 1 ? "it" : "them"
        }; listed ` +
        "under Missing cases; counted as not run).",
      "",
    );
  }

  const ordered = report.results.map((r, i) => ({ r, i }))
    .sort((a, b) => rank(a.r) - rank(b.r) || a.i - b.i).map((x) => x.r);
  const failing = ordered.filter((r) => rank(r) < 3);
  if (failing.length > 0) {
    out.push(
      `${h}# ${failuresHeading(failing.map((r) => r.status))}`,
      "",
      "| id | status | headroom out / LSE | message |",
      "|---|---|---|---|",
    );
    for (const r of failing.slice(0, MAX_FAILURE_ROWS)) {
      const msg = r.status === "fail" ? failureMessage(r) : r.message;
      out.push(`| ${code(r.id)} | ${label(r)} | ${headroomText(r)} | ${cell(msg)} |`);
    }
    if (failing.length > MAX_FAILURE_ROWS) {
      out.push(
        "",
        `…and ${failing.length - MAX_FAILURE_ROWS} more failures (all in junit.xml and ` +
          "results.jsonl; report.html lists them up to its size cap).",
      );
    }
    // a run in Chromium decided on its browser's adapter: its caps first, as report.html's
    // cards say (explain alone resolved the case on this process's adapter, lavapipe's)
    const { devices, explain } = explainCommandsFor("<id>", report);
    out.push(
      "",
      devices === undefined
        ? `Explain a case as the run resolved it: ${
          mdCode(explain)
        } (report.html gives each failure's).`
        : "Explain a case as the run resolved it, on the adapter of the Chromium it ran in: " +
          `${mdCode(devices)}, then ${mdCode(explain)} (report.html gives each failure's).`,
      "",
    );
  }

  const notRun = notRunIds(report);
  if (notRun.length > 0) {
    // a merge's missing cases, or the cases an interrupted run never reached
    const merged = missing.length > 0;
    const ids = merged ? missing : notRun;
    out.push(`${h}# ${merged ? "Missing cases" : "Not run"} (${ids.length})`, "");
    for (const id of ids.slice(0, MAX_MISSING_ROWS)) out.push(`- ${mdCode(id)}`);
    if (ids.length > MAX_MISSING_ROWS) {
      out.push(
        "",
        `…and ${ids.length - MAX_MISSING_ROWS} more (all in ${
          merged ? "report.json's `missing`, " : ""
        }junit.xml and report.html).`,
      );
    }
    out.push("", ...finishLines(options.finish ?? [], merged));
  }

  const gap = reportNotCovered(report);
  if (gap !== null) {
    out.push(`${h}# Not covered ${gap.where} (${gap.ids.length})`, "");
    const one = gap.ids.length === 1;
    out.push(
      one
        ? "A case the matrix expects to run that was refused (counted as skipped), so nothing " +
          "of it was verified:"
        : "Cases the matrix expects to run that were refused (counted as skipped), so nothing " +
          "of them was verified:",
      "",
    );
    for (const r of gap.reasons) out.push(`- ${r.count} × \`${r.code}\`: ${cell(r.message)}`);
    out.push("");
    // the counts add up to more than the cases where a case has two reasons: said so
    const several = severalReasonsText(gap);
    if (several !== "") out.push(`${several.charAt(0).toUpperCase()}${several.slice(1)}.`, "");
    if (gap.how.length > 0) {
      out.push(`To cover ${one ? "it" : "them"}, ${gap.how.map((x) => cell(x)).join("; ")}.`, "");
    }
  }

  if (barriers.length > 0) {
    out.push(`${h}# Barrier check (${barriers.length})`, "");
    for (const f of barriers.slice(0, MAX_BARRIER_ROWS)) {
      out.push(
        `- ${f.kind} ${mdCode(f.location)} of backend ${mdCode(f.backend)} (${
          cell(f.labels.join("; "))
        }): ${cell(f.message, 600)}`,
      );
    }
    if (barriers.length > MAX_BARRIER_ROWS) {
      out.push("", `…and ${barriers.length - MAX_BARRIER_ROWS} more (report.json lists them all).`);
    }
    out.push(
      "",
      "A static check of the modules' `files` and of what their launches compiled " +
        '(docs/backends.md, "Checking a kernel\'s barriers"); `deno task harness compile ' +
        "<file>` repeats it on a file. A line that is safe for a reason the check cannot see " +
        "is marked `// @no-race: <why>`.",
      "",
    );
  }

  const groups = groupLines(report.results, { notRun, notRunGroups: options.notRunGroups });
  if (groups.length > 0) {
    out.push(
      `${h}# Matrix groups`,
      "",
      "| group | cases | passed | failed | errored | skipped | not run | worst headroom |",
      "|---|---:|---:|---:|---:|---:|---:|---:|",
    );
    // ❌ a failure or a case not run; ⚠ nothing of the group verified: none passed, and
    // some were not covered (a group of refusals the matrix expects was verified: no mark)
    const markOf = (g: GroupLine) =>
      g.failed + g.errored + g.notRun > 0 ? "❌ " : g.passed === 0 && g.notCovered > 0 ? "⚠ " : "";
    // past MAX_GROUP_ROWS, the marked groups first, then the others, in their order: 8,000
    // groups made a summary.md of 1.3 MiB, past GitHub's step-summary limit
    const marked = groups.filter((g) => markOf(g) !== "");
    const keep = new Set(
      [...marked, ...groups.filter((g) => markOf(g) === "")].slice(0, MAX_GROUP_ROWS),
    );
    // a group's failures on values the headroom does not measure, said beside its figure
    const byGroup = Map.groupBy(report.results, (r) => r.group ?? "(no group)");
    for (const g of groups) {
      if (!keep.has(g)) continue;
      const mark = markOf(g);
      const note = unmeasuredFailuresNote(byGroup.get(g.group) ?? []);
      out.push(
        `| ${mark}${
          cell(g.group, 120)
        } | ${g.total} | ${g.passed} | ${g.failed} | ${g.errored} | ` +
          `${g.skipped} | ${g.notRun} | ${
            g.worstHeadroom === null ? "–" : headroomFigure(g.worstHeadroom)
          }${note === null ? "" : ` ${note}`} |`,
      );
    }
    const cut = groups.length - keep.size;
    if (cut > 0) {
      const cutMarked = marked.length - marked.filter((g) => keep.has(g)).length;
      out.push(
        "",
        `…and ${plural(cut, "more group")}${
          cutMarked > 0
            ? ` (${cutMarked} of them with a failure, a case not run or nothing verified)`
            : ", none with a failure or a case not run"
        } (report.html lists every group).`,
      );
    }
    out.push("");
  }

  const rest = ordered.filter((r) => rank(r) >= 3);
  if (rest.length > 0) {
    const shown = rest.slice(0, maxRows);
    out.push(
      "<details>",
      `<summary>${restText(rest)}</summary>`,
      "",
      "| id | status | headroom out / LSE | message |",
      "|---|---|---|---|",
    );
    for (const r of shown) {
      const msg = isExpectedSkip(r) ? skipMessage(r) : r.message;
      out.push(`| ${code(r.id)} | ${label(r)} | ${headroomText(r)} | ${cell(msg, 160)} |`);
    }
    if (shown.length < rest.length) {
      out.push("", `…and ${restText(rest.slice(shown.length), "more ")}.`);
    }
    out.push("", "</details>", "");
  }

  // Only the cases that ran (a support decision of "supported"): a refused or never reached
  // case ran no kernel, and was listed among the slowest at 0.00 s.
  const ran = report.results.filter((r) => r.decision === "supported");
  if (slowest > 0 && ran.length > 0) {
    const slow = [...ran].sort((a, b) => b.wallMs - a.wallMs).slice(0, slowest);
    out.push(
      `${h}# Slowest ${slow.length}`,
      "",
      "| id | wall (s) | kernel median (ms) | cache construction (ms) | status |",
      "|---|---:|---:|---:|---|",
    );
    for (const r of slow) {
      const left = r.timing ? clockFaultNote(r.timing) : null;
      const k = r.timing ? kernelMsText(r.timing.medianMs) + (left ? ` (${left})` : "") : "–";
      const x = constructionMsText(r.timing?.outsideCoreMs);
      out.push(`| ${code(r.id)} | ${wallSeconds(r.wallMs)} | ${k} | ${x} | ${label(r)} |`);
    }
    out.push(
      "",
      "Kernel median: every pass of the absorbed path but cache construction; the attention " +
        "core of the expanded path; a full-layer case (mode=layer): the whole layer, timed " +
        "wall-clock. Cache construction is timed once: the expanded path's K/V " +
        "expansion (with q packing and RoPE), the gemm absorbed path's copy of the latent " +
        "cache into a texture." +
        (slow.some((r) => r.timing?.clockFaults)
          ? ` "N of M left out": ${CLOCK_FAULT_WORDS}.`
          : ""),
      "",
    );
  }

  const fp = report.fingerprint;
  const a = adapterIdentity(fp.adapter);
  const adapter = a.description === null
    ? "none"
    : `${a.description}${a.vendor ? ` (${a.vendor})` : ""}${
      a.driver ? `, driver ${a.driver}` : ""
    }`;
  // The plan tuning the caps recorded (MLA_HARNESS_TUNING), as `explain` says it.
  const tuned = formatTuning(adapterTuning(fp.adapter));
  out.push(
    `${h}# Environment`,
    "",
    `- Deno ${fp.runtime.deno} (V8 ${fp.runtime.v8}, TypeScript ${fp.runtime.typescript})`,
    `- Host: ${fp.host.os}/${fp.host.arch}, ${fp.host.cpus} CPUs, ${cell(fp.host.cpuModel)}`,
    // the load the cases were timed under (report.json's hostLoad), where recorded
    ...(report.hostLoad === undefined
      ? []
      : [`- Host load: ${cell(hostLoadText(report.hostLoad))}`]),
    `- Adapter: ${cell(adapter)}`,
    ...(tuned === null ? [] : [`- Plans: ${cell(tuned)}`]),
    `- Revision: ${fp.harnessRevision ? mdCode(fp.harnessRevision) : "unknown"}`,
    `- Kernels: ${Object.keys(fp.kernelHashes).length} WGSL files`,
    `- Run: ${report.startedAt} → ${report.endedAt}`,
    "",
  );
  if (differs.length > 0) {
    out.push("Where the merged shards' environments differ from the first folder's:", "");
    for (const d of differs.slice(0, MAX_MISSING_ROWS)) {
      out.push(
        `- ${mdCode(d.dir)}: ${cell(fingerprintChangeText(d))}`,
      );
    }
    if (differs.length > MAX_MISSING_ROWS) {
      out.push(`- …and ${differs.length - MAX_MISSING_ROWS} more (report.json lists them all)`);
    }
    out.push("");
  }
  return out.join("\n");
}

/**
 * The cases a count line counts, out of the selection where some did not run: "10 of 11
 * cases" ("10 cases: ..., 1 not run" read as a run of 10 cases, its counts adding up to 11).
 *
 * @example
 * ```ts
 * import { casesOfText } from "./markdown.ts";
 * casesOfText({ cases: 10, notRun: 1 }); // "10 of 11 cases"
 * casesOfText({ cases: 1, notRun: 0 }); // "1 case"
 * ```
 */
export function casesOfText(t: { readonly cases: number; readonly notRun: number }): string {
  return t.notRun > 0
    ? `${t.cases} of ${plural(t.cases + t.notRun, "case")}`
    : plural(t.cases, "case");
}

/**
 * The passing and skipped cases, as the fold's summary names them: "12 passing cases", or with
 * skips "14 passing or skipped cases (0 passed, 14 skipped)": 14 cases of a device without
 * shader-f16, none passed, read "14 passing cases (expected skips included)".
 */
function restText(rest: readonly CaseResult[], more = ""): string {
  const skipped = rest.filter(isExpectedSkip).length;
  return skipped === 0
    ? plural(rest.length, `${more}passing case`)
    : `${plural(rest.length, `${more}passing or skipped case`)} (${
      rest.length - skipped
    } passed, ${skipped} skipped)`;
}

/** The commands that finish a report lacking cases, as Markdown (none known: what to do). */
function finishLines(finish: readonly string[], merged: boolean): string[] {
  if (finish.length === 0) {
    return [
      merged
        ? "Run the shards that lack them (`run --shard i/n`, or `--resume` a stopped one) and " +
          "merge again."
        : "Run them with `run --resume` and the same matrix, filter and --out.",
      "",
    ];
  }
  return [
    `To ${merged ? "complete the merge" : "finish the run"}:`,
    "",
    "```sh",
    ...finish,
    "```",
    "",
  ];
}

/**
 * Writes summary.md atomically.
 *
 * @example
 * ```ts
 * import { writeMarkdown } from "./markdown.ts";
 * import type { RunReport } from "../results/types.ts";
 * declare const report: RunReport;
 * await writeMarkdown("out/summary.md", report);
 * ```
 */
export function writeMarkdown(
  path: string,
  report: RunReport,
  options: MarkdownOptions = {},
): Promise<void> {
  return writeTextAtomic(path, toMarkdown(report, options));
}

/** Options of {@link appendStepSummary}. */
export interface StepSummaryOptions {
  /** The file to append to (default: `$GITHUB_STEP_SUMMARY`). */
  readonly path?: string;
  /**
   * The most bytes the file may hold after the append (default
   * {@link STEP_SUMMARY_MAX_BYTES}).
   */
  readonly maxBytes?: number;
}

/**
 * GitHub's limit on one step's summary, in bytes: past it the step's summary is not shown at
 * all, only an error that it was too large.
 */
export const STEP_SUMMARY_MAX_BYTES = 1024 * 1024;

/**
 * Markdown cut to at most `room` UTF-8 bytes: whole lines, a `<details>` or code fence left
 * open closed, and a line that says it was cut and where the whole is. Within `room`, as it
 * is; with no room for the note, "".
 *
 * @example
 * ```ts
 * import { fitStepSummary } from "./markdown.ts";
 * fitStepSummary("# a\n", 100); // "# a\n"
 * fitStepSummary("x\n".repeat(1000), 400).endsWith("compare.md of a comparison).\n"); // true
 * ```
 */
export function fitStepSummary(markdown: string, room: number): string {
  const encoder = new TextEncoder();
  const bytes = encoder.encode(markdown);
  if (bytes.length <= room) return markdown;
  const note = (shown: number) =>
    `\n⚠ **This step summary was cut at GitHub's ${
      (STEP_SUMMARY_MAX_BYTES / 1024 / 1024).toFixed(0)
    } MiB limit** (${shown} of ${bytes.length} bytes shown): the whole is in the run's ` +
    "own Markdown file (summary.md, or compare.md of a comparison).\n";
  // the note and what closes an open block, at their largest
  const reserve = encoder.encode(note(bytes.length)).length + "\n```\n\n</details>\n".length;
  if (room <= reserve) return "";
  // whole lines (a cut inside a UTF-8 sequence decodes to U+FFFD, dropped with its line)
  const head = new TextDecoder().decode(bytes.subarray(0, room - reserve));
  let kept = head.slice(0, head.lastIndexOf("\n") + 1);
  if ((kept.match(/^```/gm) ?? []).length % 2 === 1) kept += "```\n";
  const open = (kept.match(/<details>/g) ?? []).length - (kept.match(/<\/details>/g) ?? []).length;
  if (open > 0) kept += "\n</details>\n".repeat(open);
  return kept + note(encoder.encode(kept).length);
}

/**
 * `$GITHUB_STEP_SUMMARY`, or undefined where this process may not read it (no env permission
 * for it: read as unset, as the device variables are, rather than a NotCapable error after a
 * whole run, which left its folder half-finished).
 */
function stepSummaryPath(): string | undefined {
  const status = Deno.permissions.querySync({ name: "env", variable: "GITHUB_STEP_SUMMARY" });
  return status.state === "granted" ? Deno.env.get("GITHUB_STEP_SUMMARY") : undefined;
}

/**
 * Appends Markdown to the GitHub Actions step summary (the file named by
 * `$GITHUB_STEP_SUMMARY`). Does nothing when the variable is unset, empty or not readable (no
 * env permission for it). What would take the file past GitHub's 1 MiB limit (where GitHub
 * shows none of the step's summary) is cut to fit, and says so ({@link fitStepSummary}). A file that cannot be written (a missing folder, a folder, no
 * permission) is a warning on stderr, not an error: the step summary is a courtesy to the CI
 * page, and the run's own files and exit code must not depend on it.
 *
 * @returns whether anything was written
 *
 * @example
 * ```ts
 * import { appendStepSummary, toMarkdown } from "./markdown.ts";
 * import type { RunReport } from "../results/types.ts";
 * declare const report: RunReport;
 * await appendStepSummary(toMarkdown(report));
 * ```
 */
export async function appendStepSummary(
  markdown: string,
  options: StepSummaryOptions = {},
): Promise<boolean> {
  const path = options.path ?? stepSummaryPath();
  if (!path) return false;
  // what the step wrote to it before (another command's summary) counts against the limit
  const held = (await Deno.stat(path).catch(() => null))?.size ?? 0;
  const whole = markdown.endsWith("\n") ? markdown : markdown + "\n";
  const text = fitStepSummary(whole, (options.maxBytes ?? STEP_SUMMARY_MAX_BYTES) - held);
  if (text !== whole) {
    console.error(
      `warning: the step summary ${path} ($GITHUB_STEP_SUMMARY) would pass GitHub's ` +
        `1 MiB limit (${held} bytes there, ${new TextEncoder().encode(whole).length} to add), ` +
        "where GitHub shows none of it: " +
        (text === "" ? "nothing was added" : "what is added was cut to fit, and says so"),
    );
    if (text === "") return false;
  }
  try {
    await Deno.writeTextFile(path, text, {
      append: true,
      create: true,
    });
  } catch (e) {
    console.error(
      `warning: the step summary ${path} ($GITHUB_STEP_SUMMARY) could not be written (${
        e instanceof Error ? e.message : String(e)
      }); the run's own files are written as usual`,
    );
    return false;
  }
  return true;
}

/**
 * A case's cache construction time (results/types.ts `outsideCoreMs`) for summary.md's and
 * report.html's "cache construction (ms)" cell: one decimal, but two significant digits below
 * 0.05 ms, where one decimal read "0.0" (the H200's absorbed cases in
 * docs/gpu_machine/h200-2026-12-04: a texture copy that takes time, shown as none); "–"
 * without one.
 *
 * @example
 * ```ts
 * import { constructionMsText } from "./markdown.ts";
 * constructionMsText(4.83); // "4.8"
 * constructionMsText(0.0316); // "0.032"
 * constructionMsText(0); // "0.0"
 * constructionMsText(undefined); // "–"
 * ```
 */
export function constructionMsText(ms: number | undefined): string {
  if (ms === undefined) return "–";
  return ms !== 0 && Number.isFinite(ms) && Math.abs(ms) < 0.05 ? ms.toPrecision(2) : ms.toFixed(1);
}

/**
 * A case's kernel median in ms as summary.md and report.html write it: three decimals, two
 * significant digits where those would read as 0 (a GPU's 0.0004 ms read "0.000" in
 * summary.md, and report.html wrote a 0.005 ms case "5.00e-3" where summary.md wrote "0.005").
 *
 * @example
 * ```ts
 * import { kernelMsText } from "./markdown.ts";
 * kernelMsText(0.469); // "0.469"
 * kernelMsText(0.005); // "0.005"
 * kernelMsText(0.00042); // "0.00042"
 * ```
 */
export function kernelMsText(ms: number): string {
  return ms !== 0 && Number.isFinite(ms) && Math.abs(ms) < 0.0005
    ? ms.toPrecision(2)
    : ms.toFixed(3);
}

/** What {@link clockFaultNote}'s "left out" means, as a sentence's end. */
export const CLOCK_FAULT_WORDS = "timed repetitions whose GPU timestamps went backwards or " +
  "did not advance (no time), not in the median";

/**
 * The timed repetitions of a case left out of its kernel median (results/types.ts
 * `clockFaults`: their GPU timestamps went backwards or did not advance) as the short words
 * summary.md's and report.html's time cell shows beside the median, or null when none was:
 * the median of the others alone read as every repetition's.
 *
 * @example
 * ```ts
 * import { clockFaultNote } from "./markdown.ts";
 * clockFaultNote({ source: "timestamp-query", samplesMs: [2, 3, 4], medianMs: 3, clockFaults: 1 });
 * // "1 of 4 left out"
 * ```
 */
export function clockFaultNote(timing: TimingRecord): string | null {
  const n = timing.clockFaults ?? 0;
  return n > 0 ? `${n} of ${timing.samplesMs.length + n} left out` : null;
}

/**
 * A run's {@link HostLoad} in words, for summary.md and report.html: the 1-minute load
 * average per CPU as its timed part started and ended, or why it was not recorded.
 *
 * @example
 * ```ts
 * import { hostLoadText } from "./markdown.ts";
 * const s = (load1: number) => ({ at: "", load1, load5: load1, cpus: 2 });
 * hostLoadText({ start: s(0.8), end: s(3.2) });
 * // "0.40 per CPU at the start, 1.60 at the end (1-minute load average over 2 CPUs)"
 * ```
 */
export function hostLoadText(load: HostLoad): string {
  if (load.start === null && load.end === null) {
    return `not recorded${load.unavailable ? ` (${load.unavailable})` : ""}`;
  }
  const per = (s: LoadSample | null) => s === null ? "not sampled" : (s.load1 / s.cpus).toFixed(2);
  const cpus = load.start?.cpus ?? load.end?.cpus;
  return `${per(load.start)}${load.start === null ? "" : " per CPU"} at the start, ${
    per(load.end)
  }${load.start === null && load.end !== null ? " per CPU" : ""} at the end ` +
    `(1-minute load average over ${plural(cpus ?? 0, "CPU")})`;
}
