/**
 * report.html of a run (written by `run` and `merge`): the header, failures and
 * unexpected decisions first with their parity details, the headroom plot, then the
 * passing cases grouped by matrix group (collapsed, filterable by id keys).
 *
 * @module
 */
import { explainCommandsFor } from "../explain_command.ts";
import type {
  BackendBarrierFinding,
  CaseResult,
  EnvironmentDifference,
  LateGpuError,
  ParityRecord,
  RunReport,
  TimingRecord,
} from "../../results/types.ts";
import type { GroupLine } from "../markdown.ts";
import type { NotCoveredSummary } from "../not_covered.ts";
import { adapterIdentity } from "../adapter_info.ts";
import { writeTextAtomic } from "../../util/fs.ts";
import { maxOf } from "../../util/stats.ts";
import { skipMessage } from "../junit.ts";
import {
  casesOfText,
  CLOCK_FAULT_WORDS,
  clockFaultNote,
  constructionMsText,
  failuresHeading,
  groupCountsText,
  groupLines,
  headroomFigure,
  hostLoadText,
  kernelMsText,
  unmeasuredFailuresNote,
} from "../markdown.ts";
import { MAX_BARRIER_ROWS } from "../junit.ts";
import { summaryTotals } from "../totals.ts";
import { reportNotCovered, severalReasonsText } from "../not_covered.ts";
import { plantedFaultText, runVerdict, skippedCountsText } from "../verdict.ts";
import { finishCommands } from "../finish_commands.ts";
import { notRunGroups } from "../case_groups.ts";
import { runtimeLabel } from "../runtime_label.ts";
import { isExpectedSkip, missingIds, notRunIds } from "../totals.ts";
import { chartFigure, escapeHtml, logAxisTicks, textWidth } from "./chart.ts";
import { thinNote, thinPoints } from "./thin.ts";
import {
  DEFAULT_HTML_MAX_BYTES,
  filterBox,
  firstWithin,
  htmlPage,
  idHtml,
  num,
  section,
  sizeNote,
} from "./page.ts";
import { plural } from "../../util/plural.ts";
import { cutText } from "../md_text.ts";
import { errorFigure, gotWantFigures } from "../figures.ts";
import { fingerprintChangeText } from "../fingerprint_diff.ts";
import {
  lateGpuErrorItem,
  lateGpuErrorsSentence,
  MAX_LATE_GPU_ERRORS_LISTED,
} from "../late_gpu_errors_text.ts";

/** Options of {@link runReportHtml}. */
export interface RunHtmlOptions {
  /**
   * Size cap in bytes (default 5 MiB): past it, passing cases lose their detail rows, and
   * where that is not enough, failures past the first {@link CAPPED_FAILURE_CARDS} their cards.
   */
  readonly maxBytes?: number;
  /** Title (default "mla-harness: <matrix>"). */
  readonly title?: string;
  /** The comparison with a baseline after the run (`run --baseline`), shown at the top. */
  readonly drift?: RunDriftNote;
  /**
   * The matrix group of each case without a result (report/case_groups.ts `notRunGroups`):
   * each group's line counts its cases not run.
   */
  readonly notRunGroups?: ReadonlyMap<string, string>;
  /** The commands that run the cases not run (report/finish_commands.ts `finishCommands`). */
  readonly finish?: readonly string[];
}

/** The drift verdict of `run --baseline`, as report.html shows it. */
export interface RunDriftNote {
  /** What was compared, e.g. "Drift against baselines/x.json". */
  readonly title: string;
  /** The one-line summary (drift/render.ts compareSummaryLine). */
  readonly summary: string;
  /** Cases in a class that counts as a regression. */
  readonly regressions: number;
  /**
   * A side ran with a planted fault (`run --plant-fault --baseline`): the differences are the
   * fault's, and the verdict line says so rather than "N drift regressions".
   */
  readonly fault?: boolean;
  /** The compare page, relative to report.html (e.g. "compare.html"); none when not checked. */
  readonly page?: string;
  /**
   * Nothing was compared (no baseline for this device in the `--baseline` folder): `summary`
   * says so, in a warning's colour, and the verdict is a warning (it read green).
   */
  readonly notChecked?: boolean;
  /**
   * What the verdict says when `notChecked` (default "drift not checked"; a run with
   * `--history` and no `--baseline` stopped at once: "history not stored").
   */
  readonly notCheckedWords?: string;
}

const BAD_ORDER: Readonly<Record<CaseResult["status"], number>> = {
  fail: 0,
  unexpected: 1,
  error: 2,
  pass: 3,
};

/** Failure cards shown open at the top; the rest are folded under them. */
export const OPEN_FAILURES = 8;

/**
 * Failure cards a report keeps when it would pass its size cap with its passing rows left
 * out; the other failures are rows of their groups' tables, with their message.
 */
export const CAPPED_FAILURE_CARDS = 200;

/**
 * Failures with a row in their group's table when even {@link CAPPED_FAILURE_CARDS} leaves the
 * page past its cap (tens of thousands of failures): the first in the failures' order (parity
 * failures, unexpected decisions, errors; run order within each); each group still counts
 * them all.
 */
export const CAPPED_FAILURE_ROWS = 5000;

/**
 * Failures with a row on a page still past its cap with {@link CAPPED_FAILURE_ROWS} rows and
 * its groups without a row in one table: each row's group has a table of its own, header
 * included (about 1 kB a failing group), and 20,000 groups of one failing case each made a
 * page of 5.8 MiB against its 5 MiB cap (tools/html_scale.ts --groups 20000 20000).
 */
export const LAST_FAILURE_ROWS = 1000;

/**
 * Bytes the headroom plot writes a matrix group at least: its label (a `<text>` of about 130
 * bytes around the name) and one point (a `<path>` of about 230 bytes around its title); a plot
 * of groups named `g0`, `g1`, ... writes about 650 (tests/report_html_test.ts). A run of more
 * groups than the size cap holds at this rate gets the plot of {@link CAPPED_PLOT_GROUPS} only.
 */
export const PLOT_GROUP_MIN_BYTES = 300;

/** Headroom values below this are drawn at it (a log axis has no 0). */
export const HEADROOM_FLOOR = 1e-6;

/**
 * Matrix groups the headroom plot draws at most on a page still past its size cap with its
 * passing rows left out (one row a group: 8,000 groups made 8 MiB of plot, a page of 11 MiB
 * against its 5 MiB cap).
 */
export const CAPPED_PLOT_GROUPS = 300;

/**
 * Groups without a row on the page listed at most in the one table a page still past its cap
 * gives them (past it, counted): each had a folded block of its own, about 330 bytes, and
 * 20,000 groups made a page of 6.8 MB.
 */
export const CAPPED_BARE_GROUPS = 2000;

/** The groups {@link cappedPlotGroups} draws, and those it leaves out. */
export interface PlotGroups {
  /** The groups drawn. */
  readonly drawn: ReadonlySet<string>;
  /** Groups left out. */
  readonly left: number;
  /** Of those left out, the groups with a failed side (only when every drawn group has one). */
  readonly leftFailed: number;
}

/**
 * The groups of a capped page's headroom plot: those with a failed side first, then those of
 * the worst headroom, `max` at most.
 *
 * @example
 * ```ts
 * import { cappedPlotGroups } from "./run_html.ts";
 * const p = (group: string, headroom: number, failed = false) => ({ group, headroom, failed });
 * const g = cappedPlotGroups([p("a", 0.1), p("b", 0.5), p("c", 0.2, true)], 2);
 * [...g.drawn]; // ["c", "b"]
 * g.left; // 1
 * ```
 */
export function cappedPlotGroups(
  points: readonly { group: string; headroom: number; failed: boolean }[],
  max: number,
): PlotGroups {
  const worst = new Map<string, { failed: boolean; headroom: number }>();
  for (const p of points) {
    const w = worst.get(p.group) ?? { failed: false, headroom: -Infinity };
    worst.set(p.group, {
      failed: w.failed || p.failed,
      headroom: Math.max(w.headroom, p.headroom),
    });
  }
  const ranked = [...worst].sort(([, a], [, b]) =>
    Number(b.failed) - Number(a.failed) || b.headroom - a.headroom
  );
  const drawn = ranked.slice(0, max);
  return {
    drawn: new Set(drawn.map(([g]) => g)),
    left: ranked.length - drawn.length,
    leftFailed: ranked.slice(max).filter(([, w]) => w.failed).length,
  };
}

/**
 * The group a result belongs to (its matrix group, or "(no group)" for older records).
 *
 * @example
 * ```ts
 * import { resultGroup } from "./run_html.ts";
 * import type { CaseResult } from "../../results/types.ts";
 * declare const r: CaseResult;
 * resultGroup(r); // e.g. "V2-Lite decode grid"
 * ```
 */
export function resultGroup(r: CaseResult): string {
  return r.group ?? "(no group)";
}

/**
 * Whether a result is bad (parity failure, unexpected decision, error).
 *
 * @example
 * ```ts
 * import { isBad } from "./run_html.ts";
 * import type { CaseResult } from "../../results/types.ts";
 * declare const r: CaseResult;
 * isBad(r); // true unless r.status is "pass"
 * ```
 */
export function isBad(r: CaseResult): boolean {
  return r.status !== "pass";
}

/**
 * The worst headroom of a result over out and LSE (undefined when neither side has one).
 *
 * @example
 * ```ts
 * import { worstHeadroom } from "./run_html.ts";
 * import type { CaseResult } from "../../results/types.ts";
 * declare const r: CaseResult;
 * worstHeadroom(r); // e.g. 0.31
 * ```
 */
export function worstHeadroom(r: CaseResult): number | undefined {
  const hs = [r.out?.headroom, r.lse?.headroom].filter((x): x is number => x !== undefined);
  return hs.length ? Math.max(...hs) : undefined;
}

/**
 * A headroom as summary.md writes it (headroomFigure), "–" without one: the page wrote four
 * decimals ("worst headroom 0.0380", "3.0000", "4.00e-5") where summary.md wrote "0.038",
 * "3.000" and "4.0e-5".
 */
function headroomCell(h: number | undefined): string {
  return h === undefined ? "–" : headroomFigure(h);
}

/**
 * A group's worst headroom in words: the largest of its cases' {@link worstHeadroom}, and,
 * where cases failed on a check the headroom does not measure (non-finite values, cos_diff)
 * with every finite error within tolerance, how many and on which checks: a group of
 * failures read "worst headroom 0.038", a figure that says within tolerance.
 *
 * @example
 * ```ts
 * import { worstHeadroomText } from "./run_html.ts";
 * worstHeadroomText([]); // "–" (no case measured)
 * // a group of 4 failed on NaN: "0.038 (4 failed on nonfinite-mismatch, which headroom does not measure)"
 * ```
 */
export function worstHeadroomText(results: readonly CaseResult[]): string {
  const hs = results.map(worstHeadroom).filter((x): x is number => x !== undefined);
  const worst = headroomCell(hs.length ? maxOf(hs) : undefined);
  // summary.md says it alike (markdown.ts)
  const note = unmeasuredFailuresNote(results);
  return note === null ? worst : `${worst} ${note}`;
}

/**
 * The points of the headroom plot: one per (case, side) with a recorded headroom.
 *
 * @example
 * ```ts
 * import { headroomPoints } from "./run_html.ts";
 * import type { CaseResult } from "../../results/types.ts";
 * declare const results: CaseResult[];
 * headroomPoints(results).length; // at most 2 per case
 * ```
 */
export function headroomPoints(
  results: readonly CaseResult[],
): {
  id: string;
  side: "out" | "lse";
  headroom: number;
  kind: string;
  group: string;
  failed: boolean;
  /** The headroom report.json records (null: no finite one); `headroom` is where it is drawn. */
  recorded: number | null;
}[] {
  const pts = [];
  for (const r of results) {
    for (const side of ["out", "lse"] as const) {
      const p = r[side];
      if (p === undefined) continue;
      // The headroom is the worst finite element's: a side that failed on non-finite values
      // (or on cos_diff) can sit far left of the rule. Such a side is marked failed, and one
      // with no finite headroom at all is drawn on the rule, so no failure leaves the plot.
      const failed = !p.pass;
      const h = p.headroom !== undefined && Number.isFinite(p.headroom)
        ? p.headroom
        : failed
        ? 1
        : undefined;
      if (h === undefined) continue;
      pts.push({
        id: r.id,
        side,
        headroom: Math.max(h, HEADROOM_FLOOR),
        kind: `${r.params.dtype} ${r.params.path}`,
        group: resultGroup(r),
        failed,
        recorded: p.headroom !== undefined && Number.isFinite(p.headroom) ? p.headroom : null,
      });
    }
  }
  return pts;
}

/**
 * The run as one self-contained HTML page.
 *
 * @example
 * ```ts ignore
 * import { runReportHtml } from "./run_html.ts";
 * const html = await runReportHtml(report);
 * ```
 */
export async function runReportHtml(
  report: RunReport,
  options: RunHtmlOptions = {},
): Promise<string> {
  const maxBytes = options.maxBytes ?? DEFAULT_HTML_MAX_BYTES;
  const pts = headroomPoints(report.results);
  // the groups the plot has no row for: none of their cases measured a headroom (all not
  // run, errored or refused); a group of errors or of an interrupted run's unrun cases was
  // missing from the plot unsaid, the plot reading as if every group were in it
  const plotted = new Set(pts.map((p) => p.group));
  const absent = groupLines(report.results, {
    notRun: notRunIds(report),
    notRunGroups: options.notRunGroups,
  }).filter((g) => !plotted.has(g.group));
  const capped = { detail: false, cappedAt: maxBytes };
  // Each cut keeps the ones before it, tried in order until the page fits.
  const cuts = [
    {},
    // Still too large: failures past CAPPED_FAILURE_CARDS keep only their group's row (id,
    // status, headroom, message): an all-failing run of 5,000 cases made 8.6 MiB of cards
    // (tools/html_scale.ts).
    { cards: CAPPED_FAILURE_CARDS },
    // Tens of thousands of failures: their rows too, past CAPPED_FAILURE_ROWS.
    { cards: CAPPED_FAILURE_CARDS, rows: CAPPED_FAILURE_ROWS },
    // Tens of thousands of groups: those without a row are lines of one table.
    { cards: CAPPED_FAILURE_CARDS, rows: CAPPED_FAILURE_ROWS, bareGroups: true },
    // Thousands of groups each with a failure: a table each, fewer of them.
    { cards: CAPPED_FAILURE_CARDS, rows: LAST_FAILURE_ROWS, bareGroups: true },
  ];
  const builds = (plots: string | null, plotLeft?: PlotGroups) =>
    cuts.map((cut) => () => build(report, options, plots, { ...capped, plotLeft, ...cut }));
  const pick = cappedPlotGroups(pts, CAPPED_PLOT_GROUPS);
  const bytes = (s: string) => new TextEncoder().encode(s).length;
  // A plot of every group that cannot fit the cap is not drawn: on 20,000 groups it took 7 s,
  // and the five pages built around it took 3 s more, all of them past the cap.
  const groups = new Set(pts.map((p) => p.group)).size;
  if (pick.left === 0 || groups * PLOT_GROUP_MIN_BYTES <= maxBytes) {
    // The plot is the same in every build: rendered once (on 5000 cases it takes seconds).
    const plots = pts.length > 0
      ? section("plots", "Headroom", await headroomChart(pts, { absent }))
      : null;
    if (plots === null || pick.left === 0 || bytes(plots) <= maxBytes) {
      const html = firstWithin(maxBytes, [
        () => build(report, options, plots, { detail: true }),
        ...builds(plots),
      ]);
      if (bytes(html) <= maxBytes || pick.left === 0) return html;
    }
  }
  // Thousands of groups: the plot alone (a row a group) passed the cap. It draws the groups
  // with a failure or the worst headroom, and says how many it leaves out.
  const few = section(
    "plots",
    "Headroom",
    await headroomChart(pts.filter((p) => pick.drawn.has(p.group)), { left: pick, absent }),
  );
  return firstWithin(maxBytes, builds(few, pick));
}

/** What a capped headroom plot says of the groups it leaves out (see {@link cappedPlotGroups}). */
function plotLeftText(left: PlotGroups): string {
  const total = left.drawn.size + left.left;
  return `the headroom plot draws ${left.drawn.size} of the ${total} matrix groups, those ` +
    `with a failure first, then those of the worst headroom; the other ${left.left} ` +
    (left.leftFailed > 0
      ? `(${left.leftFailed} of them with a failure) are`
      : `(none with a failure) are`) +
    " left out of it";
}

/**
 * Writes report.html of a run atomically. Without `options.finish` and
 * `options.notRunGroups`, the cases not run get them here (`run --resume` into the page's
 * folder; their groups from the matrix as the report names it).
 *
 * @example
 * ```ts ignore
 * import { writeRunHtml } from "./run_html.ts";
 * await writeRunHtml("out/smoke/report.html", report);
 * ```
 */
export async function writeRunHtml(
  path: string,
  report: RunReport,
  options: RunHtmlOptions = {},
): Promise<void> {
  // Cases not run keep their groups and the command that finishes the run when the page is
  // written again without them (drift/after_run.ts adds the drift verdict to it).
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
  await writeTextAtomic(
    path,
    await runReportHtml(report, {
      ...options,
      finish: options.finish ?? finishCommands(report, dir),
      notRunGroups: options.notRunGroups ?? await notRunGroups(report),
    }),
  );
}

/** "next 4800 are rows of their groups below, …", in the singular for 1 ("next 1 is a row …"). */
function rowsText(which: string, n: number): string {
  return n === 1
    ? `${which} 1 is a row of its group below, with its message`
    : `${which} ${n} are rows of their groups below, with their message`;
}

/** "the last 300 are only counted there", in the singular for 1. */
function countedText(n: number): string {
  return `the last ${n} ${n === 1 ? "is" : "are"} only counted there`;
}

function build(
  report: RunReport,
  options: RunHtmlOptions,
  plots: string | null,
  shape: {
    /** Every case's row (else only the bad cases' rows). */
    readonly detail: boolean;
    /** The size cap the page was cut for (its note says so). */
    readonly cappedAt?: number;
    /** Failure cards drawn (default: every failure's). */
    readonly cards?: number;
    /** Failures with a row in their group's table (default: every one). */
    readonly rows?: number;
    /** The groups the headroom plot draws, where it leaves some out (the note says so). */
    readonly plotLeft?: PlotGroups;
    /** Groups without a row are lines of one table (see {@link CAPPED_BARE_GROUPS}). */
    readonly bareGroups?: boolean;
  },
): string {
  const { detail, cappedAt } = shape;
  const t = summaryTotals(report);
  // parity failures first, then unexpected decisions, then errors; run order within each
  const bad = report.results.filter(isBad).map((r, i) => ({ r, i }))
    .sort((a, b) => BAD_ORDER[a.r.status] - BAD_ORDER[b.r.status] || a.i - b.i).map((x) => x.r);
  const sections: string[] = [];
  // The failures with a card: all of them, unless the page was cut further (shape.cards).
  const carded = bad.slice(0, shape.cards ?? bad.length);
  // The failures with a row in their group's table (shape.rows): at least those with a card.
  const rowed = Math.max(carded.length, Math.min(shape.rows ?? bad.length, bad.length));
  if (cappedAt !== undefined) {
    const cut = carded.length < bad.length
      ? `, and only the first ${carded.length} of the ${
        plural(bad.length, "failure")
      } have a card (the ` +
        (rowed < bad.length
          ? `${rowsText("next", rowed - carded.length)}; ${countedText(bad.length - rowed)})`
          : bad.length - carded.length === 1
          ? "other is a row of its group below, with its message)"
          : "others are rows of their groups below, with their message)")
      : "";
    sections.push(sizeNote(cappedAt, {
      page: "report",
      what: `the per-case rows of passing cases were left out${cut}; ` +
        (shape.bareGroups
          ? "the groups without a row on the page are lines of one table after the others, " +
            `the first ${CAPPED_BARE_GROUPS} of them (those with a failure, an error or a ` +
            "case not run first) with their counts and worst headroom, the rest only counted"
          : "each group still shows its counts and worst headroom") +
        (shape.plotLeft ? `; ${escapeHtml(plotLeftText(shape.plotLeft))}` : ""),
      where: "results.jsonl and report.json",
    }));
  }
  const faultText = plantedFaultText(report);
  if (faultText !== null) {
    sections.push(
      `<p class="note" id="planted-fault">Planted fault <code>${
        escapeHtml(report.plantedFault ?? "")
      }</code> (<code>run --plant-fault</code>): ${escapeHtml(faultText)}</p>`,
    );
  }
  const barriers = report.barrierFindings ?? [];
  if (barriers.length > 0) sections.push(barrierSection(barriers));
  const late = lateGpuErrorsSentence(report.lateGpuErrors);
  if (late !== null) sections.push(lateGpuErrorsSection(late, report.lateGpuErrors ?? []));
  const drift = options.drift;
  if (drift !== undefined) {
    // not checked (no baseline for this device): a warning, with no compare page to link
    const page = drift.notChecked ? undefined : drift.page;
    sections.push(
      page === undefined
        ? `<p class="note" id="drift-note"><b>${escapeHtml(drift.summary)}</b></p>`
        : `<p class="note ${drift.regressions > 0 ? "drift-bad" : "drift-ok"}" id="drift-note">` +
          `<b>${escapeHtml(drift.title)}</b>: ${escapeHtml(drift.summary)}. Details: <a href="${
            escapeHtml(page)
          }">${escapeHtml(page)}</a> (and compare.md).</p>`,
    );
  }
  const missing = missingIds(report);
  const notRun = notRunIds(report);
  const finish = options.finish ?? [];
  if (missing.length > 0) {
    sections.push(missingSection(missing, report.matrixIds.length, finish));
  } else if (notRun.length > 0) {
    // Not run for another reason than a merge's missing shards: the run was interrupted.
    sections.push(notRunSection(notRun, report.shardIds.length, finish));
  }
  const differs = report.environmentDiffers ?? [];
  if (differs.length > 0) sections.push(differsSection(differs));
  if (bad.length > 0) {
    // Every failure keeps its card (but past shape.cards); past the first few they fold, so
    // the plots stay near.
    const card = (r: CaseResult) => failureCard(r, report);
    const rest = bad.length - carded.length;
    const cards = carded.slice(0, OPEN_FAILURES).map(card).join("\n") +
      (carded.length > OPEN_FAILURES
        ? `<details class="fold"><summary>${
          plural(carded.length - OPEN_FAILURES, "more failure", "more failures")
        }</summary>\n${carded.slice(OPEN_FAILURES).map(card).join("\n")}</details>`
        : "") +
      (rest > 0
        ? `<p class="note" id="uncarded">${
          plural(rest, "more failure", "more failures")
        } without a card (the page's ` +
          (rowed < bad.length
            ? `size cap): the ${rowsText("next", rowed - carded.length)}; ` +
              `${countedText(bad.length - rowed)}.</p>`
            : rest === 1
            ? "size cap): it is a row of its group below, with its message.</p>"
            : "size cap): each is a row of its group below, with its message.</p>")
        : "");
    sections.push(
      section("failures", failuresHeading(bad.map((r) => r.status)), cards),
    );
  }
  // After the failures: what was not covered turns a page amber, never red, and its reasons
  // and ids (open up to 20) pushed the failures that made it red screens down.
  const gap = reportNotCovered(report);
  if (gap !== null) sections.push(notCoveredSection(gap));
  if (plots !== null) sections.push(plots);
  const withCard = new Set(carded.map((r) => r.id));
  const withRow = new Set(bad.slice(0, rowed).map((r) => r.id));
  // A run of no case (an empty selection) had the heading and a filter box over nothing
  if (report.results.length > 0 || notRun.length > 0) {
    sections.push(
      section(
        "cases",
        "Cases by matrix group",
        groupsHtml(report.results, detail, {
          withCard,
          withRow,
          bare: shape.bareGroups ?? false,
          lines: groupLines(report.results, { notRun, notRunGroups: options.notRunGroups }),
        }),
      ),
    );
  }
  const fp = report.fingerprint;
  const a = adapterIdentity(fp.adapter);
  const verdict = runVerdict(report, {
    regressions: drift?.regressions,
    driftNotChecked: drift?.notChecked,
  });
  const scope = [
    report.filter && `filter ${report.filter}`,
    report.shard && `shard ${report.shard}`,
  ]
    .filter(Boolean).join(", ");
  return htmlPage({
    title: options.title ?? `mla-harness: ${report.matrix}`,
    facts: [
      ["Device", a.description ?? "none"],
      ["Runtime", runtimeLine(fp)],
      ["Deno", fp.runtime.deno],
      ["Revision", fp.harnessRevision ?? "unknown"],
      // the load the cases were timed under, where recorded
      ...(report.hostLoad === undefined
        ? []
        : [["Host load", hostLoadText(report.hostLoad)] as [string, string]]),
      ["Matrix", `${report.matrix}${scope ? ` (${scope})` : ""}`],
      [
        "Run",
        `${report.startedAt} → ${report.endedAt}${report.interrupted ? " (interrupted)" : ""}`,
      ],
    ],
    verdict: {
      ok: verdict.level !== "bad",
      warn: verdict.level === "warn",
      text: `${casesOfText(t)}: ${t.pass} pass, ${t.fail} fail, ${t.unexpected} unexpected, ` +
        `${t.error} error, ${skippedCountsText(report)}` +
        (t.notRun ? `, ${t.notRun} not run` : "") +
        (missing.length
          ? ` (${missing.length} of ${
            plural(report.matrixIds.length, "case")
          } missing from the folders merged)`
          : "") +
        (drift && drift.regressions > 0
          ? drift.fault
            ? `; ${
              plural(drift.regressions, "case")
            } differing from the baseline by the planted fault (the fault's differences, not drift)`
            : `; ${plural(drift.regressions, "drift regression")} against the baseline`
          : "") +
        (drift?.notChecked ? `; ${drift.notCheckedWords ?? "drift not checked"}` : "") +
        // nothing, or only part, verified: said in words, not left to the counts
        (verdict.headline === null ? "" : `. ${verdict.headline}`),
    },
    sections,
    filter: true,
  });
}

/** Missing ids of a merge listed at most in report.html; report.json lists them all. */
export const MAX_MISSING_HTML = 1000;

/** Missing ids shown unfolded up to this many. */
const OPEN_MISSING = 20;

function missingSection(
  missing: readonly string[],
  total: number,
  finish: readonly string[],
): string {
  return section(
    "missing",
    `Missing cases (${missing.length} of ${total})`,
    `<p class="note" id="missing-note">${missing.length} of ${plural(total, "case")} missing: ` +
      `no folder merged has a result for ${missing.length === 1 ? "it" : "them"} (a shard not ` +
      `given, or a run that stopped before ${missing.length === 1 ? "it" : "them"}), so this ` +
      `report is not a complete run of its matrix (${
        missing.length === 1 ? "it counts" : "they count"
      } as not run).</p>\n` +
      finishHtml(finish, "complete the merge") +
      idList(missing, ["missing case id", "missing case ids"], "all in report.json's missing"),
  );
}

function notRunSection(
  notRun: readonly string[],
  total: number,
  finish: readonly string[],
): string {
  return section(
    "not-run",
    `Not run (${notRun.length} of ${total})`,
    `<p class="note" id="not-run-note">${plural(notRun.length, "case")} of this run never ran ` +
      "(interrupted).</p>\n" + finishHtml(finish, "finish the run") +
      idList(notRun, ["case id not run", "case ids not run"], "all in junit.xml, as errors"),
  );
}

/** The commands that finish a report, or what to do when none is known. */
function finishHtml(finish: readonly string[], what: string): string {
  return finish.length === 0
    ? `<p>To ${what}, run the cases that lack a result (<code>run --resume</code>, or the ` +
      "missing shards' <code>run --shard i/n</code>) and merge again.</p>"
    : `<p>To ${what}:</p><pre class="commands" id="finish-commands"><code>${
      finish.map(escapeHtml).join("\n")
    }</code></pre>`;
}

/** Case ids in a fold, open when few, at most {@link MAX_MISSING_HTML}, the rest counted. */
function idList(
  ids: readonly string[],
  what: readonly [string, string],
  where: string,
): string {
  const shown = ids.slice(0, MAX_MISSING_HTML);
  const more = ids.length - shown.length;
  return `<details class="fold"${ids.length <= OPEN_MISSING ? " open" : ""}><summary>` +
    `${plural(ids.length, what[0], what[1])}</summary>\n<ul class="missing">` +
    // idHtml: at 400 px an id ran 360 px past the page's edge; now it wraps between its keys
    shown.map((id) => `<li><code>${idHtml(id)}</code></li>`).join("") +
    `</ul>${more > 0 ? `<p>…and ${more} more (${where}).</p>` : ""}</details>`;
}

/** `t` with its first letter a capital: a sentence of words written to follow a semicolon. */
const upperFirst = (t: string) => t.charAt(0).toUpperCase() + t.slice(1);

function notCoveredSection(gap: NotCoveredSummary): string {
  const n = gap.ids.length;
  return section(
    "not-covered",
    `Not covered ${gap.where} (${n})`,
    `<p class="note" id="not-covered-note">${plural(n, "case")} the matrix expects to run ${
      n === 1 ? "was" : "were"
    } refused ` +
      `${
        gap.where === "on this device" ? "for want of a device feature" : "by this run's backend"
      }` +
      (n === 1
        ? ": it counts as skipped, and nothing of it was verified.</p>\n<ul>"
        : ": they count as skipped, and nothing of them was verified.</p>\n<ul>") +
      gap.reasons.map((r) =>
        `<li><b>${r.count} × <code>${escapeHtml(r.code)}</code></b>: ${escapeHtml(r.message)}</li>`
      ).join("") + "</ul>" +
      // the counts add up to more than the cases where a case has two reasons: said so
      (gap.several > 0
        ? `<p id="not-covered-several">${escapeHtml(upperFirst(severalReasonsText(gap)))}.</p>`
        : "") +
      (gap.how.length > 0
        ? `<p id="not-covered-fix">To cover ${n === 1 ? "it" : "them"}, ${
          escapeHtml(gap.how.join("; "))
        }.</p>`
        : "") +
      idList(
        gap.ids,
        ["case id not covered", "case ids not covered"],
        "every case is in results.jsonl",
      ),
  );
}

/** Environment differences listed at most; report.json keeps them all. */
const MAX_DIFFERS_HTML = 50;

function differsSection(differs: readonly EnvironmentDifference[]): string {
  const shown = differs.slice(0, MAX_DIFFERS_HTML);
  return section(
    "environment-differs",
    "Environments of the merged shards differ",
    `<p class="note" id="environment-note">The shards merged here ran in environments that ` +
      `differ (${
        plural(differs.length, "difference")
      }); the facts above are the first folder's.</p>` +
      `<ul>${
        shown.map((d) =>
          `<li><code>${escapeHtml(d.dir)}</code>: ${escapeHtml(fingerprintChangeText(d))}</li>`
        ).join("")
      }</ul>` +
      (differs.length > shown.length
        ? `<p>…and ${differs.length - shown.length} more (report.json's environmentDiffers).</p>`
        : ""),
  );
}

function runtimeLine(fp: RunReport["fingerprint"]): string {
  // A run under another runtime (`run --runtime chromium`) names its browser.
  return runtimeLabel({ deno: fp.runtime.deno, v8: fp.runtime.v8, browser: fp.browser });
}

function parityRows(name: string, p: ParityRecord): string {
  const w = p.worst;
  const nf = p.nonfinite;
  const cells = [
    name,
    p.pass ? "pass" : `fail: ${p.checks.join(", ")}`,
    headroomCell(p.headroom),
    w ? `[${w.at.join(",")}]` : "–",
    // got / want, max abs and cos_diff as the message above the table writes them (it read
    // "max abs err 3.8e-1 ... (got 0.0197, want -0.142)" over "0.3808" and "0.019676954")
    w ? gotWantFigures(w.got, w.want).join(" / ") : "–",
    p.atol === undefined ? "–" : `${num(p.atol)} / ${num(p.rtol)}`,
    errorFigure(p.maxAbs),
    p.maxAbsAt ? `[${p.maxAbsAt.join(",")}]` : "–",
    errorFigure(p.cosDiff),
    nf ? `${nf.count}, first at [${nf.firstAt.join(",")}]` : "0",
  ];
  return `<tr>${
    cells.map((c, i) => `<td${i >= 2 ? ' class="n"' : ""}>${escapeHtml(c)}</td>`).join("")
  }</tr>`;
}

const PARITY_HEAD = "<tr><th>side</th><th>result</th><th>headroom</th><th>worst at</th>" +
  "<th>got / want</th><th>atol / rtol</th><th>max abs</th><th>max abs at</th><th>cos_diff</th>" +
  "<th>non-finite</th></tr>";

function statusBadge(r: CaseResult): string {
  if (isExpectedSkip(r)) return `<span class="status skip">skip</span>`;
  return `<span class="status ${r.status}">${r.status}</span>`;
}

/**
 * A failure's message: a paragraph, or where it has several lines (a WGSL compile error's
 * source line and carets, a stack), a block that keeps its lines and their columns. In a
 * paragraph the lines ran into one and the carets pointed nowhere.
 */
function messageHtml(message: string): string {
  const text = message.replace(/^\s*\n|\s+$/g, "");
  return text.includes("\n")
    ? `<pre class="message">${escapeHtml(text)}</pre>`
    : `<p>${escapeHtml(message)}</p>`;
}

/**
 * The card's explain command. A run in Chromium decided on the adapter of its browser, not
 * on Deno's: its command alone resolved the case on this process's adapter (lavapipe: a loop
 * budget and shader-f16 that SwiftShader in Chromium lacks), so the card gives the `devices
 * --runtime chromium --json` that records the browser's caps and `explain --caps` on them.
 */
function explainHtml(
  id: string,
  run:
    & Pick<RunReport, "matrix" | "configRoot" | "backend" | "backendModules" | "fingerprint">
    & Partial<Pick<RunReport, "backendModulePaths">>,
): string {
  const { devices, explain } = explainCommandsFor(id, run);
  if (devices === undefined) {
    return `<p class="explain">explain it as run resolved it: <code>${
      escapeHtml(explain)
    }</code></p>`;
  }
  return `<p class="explain">explain it as run resolved it, on the adapter of the Chromium it ` +
    `ran in: <code>${escapeHtml(devices)}</code>, then <code>${escapeHtml(explain)}</code></p>`;
}

function failureCard(
  r: CaseResult,
  run:
    & Pick<RunReport, "matrix" | "configRoot" | "backend" | "backendModules" | "fingerprint">
    & Partial<Pick<RunReport, "backendModulePaths">>,
): string {
  const sides = (["out", "lse"] as const).filter((s) => r[s] !== undefined);
  // In a scroll box of its own: ten columns are wider than the card on a narrow screen.
  const table = sides.length
    ? `<div class="wide"><table class="parity">${PARITY_HEAD}${
      sides.map((s) => parityRows(s, r[s]!)).join("")
    }</table></div>`
    : "";
  const expect = r.status === "unexpected"
    ? `<p>expected ${escapeHtml(JSON.stringify(r.expect))}, decided ${escapeHtml(r.decision)}${
      r.reasons?.length ? `: ${escapeHtml(skipMessage(r))}` : ""
    }</p>`
    : "";
  return `<div class="failure" data-id="${escapeHtml(r.id)}">` +
    `<h3>${statusBadge(r)} ${idHtml(r.id)}</h3>` +
    // the backend that ran it: with --backend-module or --backend, not always the path's own
    `<p>group: ${escapeHtml(resultGroup(r))}${
      r.backend === undefined ? "" : `; backend <code>${escapeHtml(r.backend)}</code>`
    }</p>${expect}` +
    `${messageHtml(r.message)}${table}` +
    // A Chromium GPU process that died left only "OperationError: Instance dropped in
    // popErrorScope" here, read as the kernels' error; the terminal said what it was.
    (r.deviceLoss === true
      ? `<p class="note device-loss">Ended by a device loss or --case-timeout, not by its ` +
        `kernels: the run's command again with <code>--resume</code> (the same --out) runs it ` +
        `again, keeping the rest.</p>`
      : "") +
    explainHtml(r.id, run) + `</div>`;
}

function groupsHtml(
  results: readonly CaseResult[],
  detail: boolean,
  failures: {
    /** Failures whose card is on the page (their row points at it). */
    readonly withCard: ReadonlySet<string>;
    /** Failures with a row (without `detail`). */
    readonly withRow: ReadonlySet<string>;
    /** Each group's counts (markdown.ts `groupLines`), cases not run included. */
    readonly lines: readonly GroupLine[];
    /** Groups without a row are lines of one table, not a folded block each. */
    readonly bare?: boolean;
  },
): string {
  const { withCard, withRow } = failures;
  const groups = new Map<string, CaseResult[]>();
  for (const g of failures.lines) groups.set(g.group, []);
  for (const r of results) {
    const g = resultGroup(r);
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)!.push(r);
  }
  const counts = new Map(failures.lines.map((g) => [g.group, g]));
  const parts = [filterBox()];
  const bare: { name: string; text: string; worst: string; marked: boolean }[] = [];
  for (const [name, rs] of groups) {
    const worst = worstHeadroomText(rs);
    const line = counts.get(name);
    const rows = detail
      ? rs.map((r) =>
        `<tr data-id="${escapeHtml(r.id)}"><td class="id">${idHtml(r.id)}</td>` +
        `<td>${statusBadge(r)}</td><td class="n">${headroomCell(r.out?.headroom)}</td>` +
        `<td class="n">${headroomCell(r.lse?.headroom)}</td><td class="n">${
          r.timing ? kernelMsText(r.timing.medianMs) + clockFaultHtml(r.timing) : "–"
        }</td><td class="n">${constructionMsText(r.timing?.outsideCoreMs)}</td>` +
        `<td>${escapeHtml(isExpectedSkip(r) ? skipMessage(r) : r.message)}</td></tr>`
      ).join("\n")
      : rs.filter((r) => isBad(r) && withRow.has(r.id)).map((r) =>
        `<tr data-id="${escapeHtml(r.id)}"><td class="id">${idHtml(r.id)}</td>` +
        `<td>${statusBadge(r)}</td><td class="n">${headroomCell(r.out?.headroom)}</td>` +
        `<td class="n">${
          headroomCell(r.lse?.headroom)
        }</td><td class="n">–</td><td class="n">–</td>` +
        `<td${withCard.has(r.id) || !r.message.includes("\n") ? "" : ' class="message"'}>${
          withCard.has(r.id) ? "see failures above" : escapeHtml(r.message)
        }</td></tr>`
      ).join("\n");
    const text = line === undefined ? plural(rs.length, "case") : groupCountsText(line);
    if (failures.bare && rows === "") {
      const marked = line !== undefined && line.failed + line.errored + line.notRun > 0;
      bare.push({ name, text, worst, marked });
      continue;
    }
    parts.push(
      `<details class="group" data-group="${escapeHtml(name)}"><summary>` +
        `<b>${escapeHtml(name)}</b>: ${escapeHtml(text)}; worst headroom ${escapeHtml(worst)}` +
        `</summary>\n${rows === "" ? noRows(rs.length, detail) : caseTable(rows)}</details>`,
    );
  }
  if (bare.length > 0) parts.push(bareGroupsHtml(bare));
  return parts.join("\n");
}

/**
 * The groups without a row on a page cut for its size cap, one line each in one table: those
 * with a failure, an error or a case not run first, {@link CAPPED_BARE_GROUPS} at most, the
 * rest counted.
 */
function bareGroupsHtml(
  bare: readonly { name: string; text: string; worst: string; marked: boolean }[],
): string {
  const ordered = [...bare.filter((g) => g.marked), ...bare.filter((g) => !g.marked)];
  const shown = ordered.slice(0, CAPPED_BARE_GROUPS);
  const left = ordered.slice(shown.length);
  const leftMarked = left.filter((g) => g.marked).length;
  return `<div data-groups="${bare.length}"><p class="no-rows">${
    plural(bare.length, "group")
  } without a row on this page (their rows left out for its size cap, or none of their cases ` +
    `run; every result is in results.jsonl and report.json)${
      left.length > 0 ? `, the first ${shown.length} listed, those with a failure first` : ""
    }:</p>\n<table class="bare-groups"><tr><th>group</th><th>cases</th>` +
    `<th>worst headroom</th></tr>\n${
      shown.map((g) =>
        `<tr><td>${escapeHtml(g.name)}</td><td>${escapeHtml(g.text)}</td>` +
        `<td class="n">${escapeHtml(g.worst)}</td></tr>`
      ).join("\n")
    }</table>` +
    (left.length > 0
      ? `\n<p class="no-rows">…and ${plural(left.length, "more group")}${
        leftMarked > 0
          ? ` (${leftMarked} of them with a failure, an error or a case not run)`
          : ", none with a failure, an error or a case not run"
      }.</p>`
      : "") +
    "</div>";
}

/**
 * Beside a kernel median, the repetitions left out of it (markdown.ts `clockFaultNote`), its
 * title saying why; "" when none was.
 */
function clockFaultHtml(timing: TimingRecord): string {
  const note = clockFaultNote(timing);
  return note === null
    ? ""
    : ` <span class="clock" title="${escapeHtml(CLOCK_FAULT_WORDS)}">(${escapeHtml(note)})</span>`;
}

/** A group's table of cases: the header, then `rows`. */
function caseTable(rows: string): string {
  return `<table><tr><th>id</th><th>status</th><th>out headroom</th>` +
    `<th>LSE headroom</th><th title="every pass of the absorbed path but cache ` +
    `construction; the attention core of the expanded path; a full-layer case ` +
    `(mode=layer): the whole layer, wall-clock">kernel median (ms)</th>` +
    `<th title="cache construction, timed once: the expanded path's K/V expansion (with ` +
    `q packing and RoPE), the gemm absorbed path's copy of the latent cache into a ` +
    `texture">cache construction (ms)</th>` +
    `<th>message</th></tr>\n${rows}</table>`;
}

/**
 * What a group without a row shows instead of a table of headers alone: that none of its
 * cases ran, or that its rows were left out for the size cap (8,000 such tables made 7 MiB
 * of a capped page).
 */
function noRows(results: number, detail: boolean): string {
  return `<p class="no-rows">${
    results === 0 || detail
      ? "None of its cases has a result (not run)."
      : "Its rows were left out for the page's size cap (see the note at the top); every " +
        "case is in results.jsonl and report.json."
  }</p>`;
}

/**
 * One colour per dtype and path in every report, so two pages read alike, and none of them
 * red: red marks failures there (the rule at 1 and the rings).
 */
const KIND_COLORS: readonly (readonly [string, string])[] = [
  ["f32 absorbed", "#4c78a8"],
  ["f32 expanded", "#f58518"],
  ["f16 absorbed", "#54a24b"],
  ["f16 expanded", "#b279a2"],
];

/**
 * The headroom plot's colour scale: the kinds present, in {@link KIND_COLORS}' order and
 * colours (a kind outside it, after them, in grey).
 *
 * @example
 * ```ts
 * import { kindColorScale } from "./run_html.ts";
 * kindColorScale(["f16 absorbed", "f32 absorbed"]);
 * // { domain: ["f32 absorbed", "f16 absorbed"], range: ["#4c78a8", "#54a24b"] }
 * ```
 */
export function kindColorScale(kinds: readonly string[]): { domain: string[]; range: string[] } {
  const present = new Set(kinds);
  const known = KIND_COLORS.filter(([k]) => present.has(k));
  const other = [...present].filter((k) => !KIND_COLORS.some(([c]) => c === k)).sort();
  return {
    domain: [...known.map(([k]) => k), ...other],
    range: [...known.map(([, c]) => c), ...other.map(() => "#888888")],
  };
}

/**
 * The widest axis label {@link shortGroupLabels} gives, in pixels at the axis' 11 px (before a
 * " #k" that tells two apart): with the 420 px axis, the headroom plot fits a page 800 px wide.
 */
const GROUP_LABEL_PX = 240;

/**
 * A short, distinct axis label per matrix group: the name before its first " (" (the
 * parenthesis explains the group; the case cards below the plot show it whole), cut with "…"
 * at a word's end to at most {@link GROUP_LABEL_PX} pixels (measured in the charts' font,
 * `textWidth`). Where two groups would read the same, each of them is cut from its whole name
 * instead, and a number is added where that still collides. Whole, the names ran to 230
 * characters, and the plot's label limit cut them mid-word.
 *
 * @example
 * ```ts
 * import { shortGroupLabels } from "./run_html.ts";
 * const labels = shortGroupLabels([
 *   "paged latent cache (shuffled pages)",
 *   "tiny: all paths, dtypes, layouts, masks; decode and MTP",
 * ]);
 * labels.get("paged latent cache (shuffled pages)"); // "paged latent cache"
 * labels.get("tiny: all paths, dtypes, layouts, masks; decode and MTP");
 * // "tiny: all paths, dtypes, layouts, masks…"
 * ```
 */
export function shortGroupLabels(groups: readonly string[]): Map<string, string> {
  const fits = (t: string) => textWidth(t, 11, false) <= GROUP_LABEL_PX;
  const cut = (s: string) => {
    if (fits(s)) return s;
    let end = s.length - 1;
    while (end > 1 && !fits(cutText(s, end).trimEnd() + "…")) end--;
    // back to the end of a word, unless that loses more than a third of what fits
    const hard = cutText(s, end);
    const space = hard.lastIndexOf(" ");
    const soft = space >= (2 * end) / 3 && /\S/.test(s[end] ?? "") ? hard.slice(0, space) : hard;
    return soft.replace(/[\s,;:]+$/, "") + "…";
  };
  const head = (g: string) => cut(g.includes(" (") ? g.slice(0, g.indexOf(" (")) : g);
  const count = (labels: string[]) => {
    const n = new Map<string, number>();
    for (const l of labels) n.set(l, (n.get(l) ?? 0) + 1);
    return n;
  };
  const unique = [...new Set(groups)];
  const heads = unique.map(head);
  const headCount = count(heads);
  const firstTry = unique.map((g, i) => (headCount.get(heads[i])! > 1 ? cut(g) : heads[i]));
  const tryCount = count(firstTry);
  const seen = new Map<string, number>();
  const out = new Map<string, string>();
  unique.forEach((g, i) => {
    const l = firstTry[i];
    const k = (seen.get(l) ?? 0) + 1;
    seen.set(l, k);
    out.set(g, tryCount.get(l)! === 1 ? l : `${l} #${k}`);
  });
  return out;
}

/** A side's recorded headroom as its point's hover title says it, with where it is drawn. */
function headroomTip(h: number | null): string {
  if (h === null) return "none finite (drawn on the rule at 1)";
  // the figure of the case's cells and summary.md: the hover read "66.36" and "1.10e+4"
  // beside the table's "66.356" and "1.1e+4"
  const text = headroomFigure(h);
  return h < HEADROOM_FLOOR ? `${text} (drawn at ${HEADROOM_FLOOR.toExponential(0)})` : text;
}

/**
 * Past this many matrix groups the headroom plot (about 55 px a group) is taller than a screen, and
 * its x axis is drawn above it as well as below.
 */
export const TOP_AXIS_GROUPS = 16;

/** The headroom plot's x axis, pixels: 70 a decade over the usual 1e-4 to 1e2. */
const HEADROOM_AXIS_PX = 420;

/** Groups without a row in the headroom plot that its caption names at most. */
const MAX_ABSENT_GROUPS_NAMED = 5;

/**
 * The headroom plot's words for the groups it has no row for (none of their cases measured
 * a headroom), with what their cases are: "" when every group has a row.
 *
 * @example
 * ```ts
 * import { absentGroupsText } from "./run_html.ts";
 * absentGroupsText([{
 *   group: "full layer", passed: 0, failed: 0, errored: 0, skipped: 0, notRun: 8, total: 8,
 * }]);
 * // "Not drawn: 1 group with no case that measured a headroom: full layer (8 cases: 0 passed,
 * // 8 not run)."
 * ```
 */
export function absentGroupsText(
  groups: readonly Pick<
    GroupLine,
    "group" | "passed" | "failed" | "errored" | "skipped" | "notRun" | "total"
  >[],
): string {
  if (groups.length === 0) return "";
  const named = groups.slice(0, MAX_ABSENT_GROUPS_NAMED)
    .map((g) => `${g.group} (${groupCountsText(g)})`);
  const more = groups.length - named.length;
  return `Not drawn: ${plural(groups.length, "group")} with no case that measured a ` +
    `headroom: ${named.join("; ")}${more > 0 ? `; and ${more} more` : ""}.`;
}

async function headroomChart(
  points: ReturnType<typeof headroomPoints>,
  options: { readonly left?: PlotGroups; readonly absent?: readonly GroupLine[] } = {},
): Promise<string> {
  const groups = [...new Set(points.map((p) => p.group))];
  const labels = shortGroupLabels(groups);
  // Past PLOT_POINT_CAP points (2 a case), passing sides close together in one row are one
  // point: 10,000 cases drew 20,000 marks and passed the page's 5 MiB cap on the plot alone.
  const thinned = thinPoints(points, (p) => `${p.group}\u0000${p.side}\u0000${p.kind}`, {
    value: (p) => p.headroom,
    worse: (a, b) => b.headroom - a.headroom,
    keep: (p) => p.failed,
  });
  const pts = thinned.points.map(({ count, ...p }) => ({
    ...p,
    id: count > 1 ? `${p.id} (the worst of ${count})` : p.id,
    label: labels.get(p.group)!,
    // the hover title: the headroom the report records, not the floor or rule it is drawn at
    // (an exact case read "headroom: 0.000001" where report.json has 0)
    tip: `id: ${count > 1 ? `${p.id} (the worst of ${count})` : p.id}; group: ${p.group}; ` +
      `side: ${p.side}; ${p.kind}; headroom: ${headroomTip(p.recorded)}` +
      (p.failed ? "; failed" : ""),
  }));
  const order = groups.map((g) => labels.get(g)!);
  // Whole decades around the points and the rule at 1, as Vega's nice log scale made them;
  // the ticks are chosen here, measured, so that no two labels run into each other.
  const hs = pts.map((p) => p.headroom);
  const lo = 10 ** Math.floor(Math.log10(Math.min(1, ...hs)));
  const hi = Math.max(10 ** Math.ceil(Math.log10(Math.max(1, ...hs))), lo * 10);
  const xScale = { type: "log" as const, domain: [lo, hi], nice: false };
  const ticks = logAxisTicks([lo, hi], HEADROOM_AXIS_PX);
  const note = thinNote(thinned, { what: "passing sides", axis: "headroom", pick: "the worst" });
  // A plot of many groups is taller than a screen: its x axis is drawn above it too (the
  // failed rings' layer gives it), or on 150 groups the only scale was 7,000 px down.
  const top = groups.length > TOP_AXIS_GROUPS;
  const xAxis = { values: ticks, format: "~g" };
  return await chartFigure({
    kind: "headroom",
    marks: pts.length,
    caption:
      "Per case, the worst error over its allowance, |got − want| / max(atol, rtol·|want|), " +
      `for out (circles) and LSE (squares); above 1 (red rule) fails. A red ring marks every ` +
      `side that failed, wherever it sits: non-finite values and cos_diff fail a side whose ` +
      `finite elements are within tolerance (one with no finite error is drawn on the rule). ` +
      `Headrooms below ${HEADROOM_FLOOR.toExponential(0)}, exact results among them, are ` +
      `drawn at it; a point's title (hover) gives the headroom the report records.` +
      (note === "" ? "" : ` ${note}`) +
      (options.left
        ? ` For the page's size cap, ${plotLeftText(options.left)} (every case is in ` +
          "report.json; each group's row below gives its worst headroom)."
        : "") +
      (options.absent?.length ? ` ${absentGroupsText(options.absent)}` : ""),
    spec: {
      // 420 px of axis (70 px a decade over the usual 1e-4 to 1e2), the labels at most
      // GROUP_LABEL_PX wide and the legends above: the plot fits a page 800 px wide
      // whole, with the rule at 1 in sight (at 640 px and 60 characters it was 1075 px wide).
      width: HEADROOM_AXIS_PX,
      height: { step: 22 },
      data: { values: pts },
      layer: [
        {
          mark: { type: "point", filled: true, opacity: 0.75, size: 40 },
          encoding: {
            x: {
              field: "headroom",
              type: "quantitative",
              scale: xScale,
              axis: xAxis,
              title: "headroom (error / allowance, log)",
            },
            y: {
              field: "label",
              type: "nominal",
              // the order as the scale's domain, not as `sort`: Vega-Lite compiled a sort
              // array into one nested condition a group, and 1,400 groups overflowed the stack
              scale: { domain: order },
              title: null,
              // short already (shortGroupLabels); Vega's default limit is 180 px
              axis: { labelLimit: 480 },
            },
            yOffset: { field: "side", type: "nominal", scale: { domain: ["out", "lse"] } },
            color: {
              field: "kind",
              type: "nominal",
              title: "dtype, path",
              scale: kindColorScale(pts.map((p) => p.kind)),
              legend: { orient: "top" },
            },
            shape: {
              field: "side",
              type: "nominal",
              title: "tensor",
              scale: { domain: ["out", "lse"], range: ["circle", "square"] },
              legend: { orient: "top" },
            },
            description: { field: "tip" },
          },
        },
        {
          // a ring around each failed side (the class `failed_marks` in the SVG)
          name: "failed",
          transform: [{ filter: "datum.failed" }],
          mark: { type: "point", filled: false, size: 160, strokeWidth: 2, color: "#c22" },
          encoding: {
            x: {
              field: "headroom",
              type: "quantitative",
              scale: xScale,
              ...(top
                ? {
                  axis: { ...xAxis, orient: "top" as const },
                  title: "headroom (error / allowance, log)",
                }
                : {}),
            },
            y: { field: "label", type: "nominal", scale: { domain: order } },
            yOffset: { field: "side", type: "nominal", scale: { domain: ["out", "lse"] } },
            description: { field: "tip" },
          },
        },
        {
          // its hover says what the rule is (it read "x: 1")
          data: {
            values: [{ x: 1, tip: "headroom 1: the error at its allowance (above it fails)" }],
          },
          mark: { type: "rule", color: "#c22", strokeDash: [4, 3] },
          encoding: {
            x: { field: "x", type: "quantitative", ...(top ? { axis: null } : {}) },
            description: { field: "tip" },
          },
        },
      ],
      // the axes apart (one below, one above), the scale shared
      ...(top ? { resolve: { axis: { x: "independent" as const } } } : {}),
    },
  });
}

/** The GPU errors raised outside every case's error scope ({@link RunReport.lateGpuErrors}). */
function lateGpuErrorsSection(sentence: string, errors: readonly LateGpuError[]): string {
  const shown = errors.slice(0, MAX_LATE_GPU_ERRORS_LISTED);
  const more = errors.length > shown.length
    ? `<li>…and ${errors.length - shown.length} more (report.json's lateGpuErrors)</li>`
    : "";
  const at = sentence.indexOf(":");
  return `<section class="note" id="late-gpu-errors"><p><b>${
    escapeHtml(sentence.slice(0, at))
  }</b>${escapeHtml(sentence.slice(at))}</p>\n<ul>${
    shown.map((e) => `<li>${escapeHtml(lateGpuErrorItem(e))}</li>`).join("")
  }${more}</ul></section>`;
}

/** The static barrier check's findings in the run's user backends ({@link RunReport.barrierFindings}). */
function barrierSection(findings: readonly BackendBarrierFinding[]): string {
  const shown = findings.slice(0, MAX_BARRIER_ROWS);
  const items = shown.map((f) =>
    `<li>${escapeHtml(f.kind)} <code>${escapeHtml(f.location)}</code> of backend <code>${
      escapeHtml(f.backend)
    }</code> (${escapeHtml(f.labels.join("; "))}): ${escapeHtml(f.message)}</li>`
  ).join("\n");
  const more = findings.length > shown.length
    ? `<p>…and ${findings.length - shown.length} more (report.json's barrierFindings).</p>`
    : "";
  return `<section class="note" id="barrier-check"><p><b>The static barrier check found ${
    plural(findings.length, "problem")
  } in the user backends' WGSL</b> (their modules' files and what their launches compiled): ` +
    "a race or a divergent barrier that parity on a device running a workgroup in lock step " +
    '(lavapipe) cannot catch (docs/backends.md, "Checking a kernel\'s barriers"; ' +
    "<code>deno task harness compile &lt;file&gt;</code> repeats it on a file).</p>\n" +
    `<ul>\n${items}\n</ul>${more}</section>`;
}
