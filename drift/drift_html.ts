/**
 * The HTML page of a drift comparison (`compare --html`, `upgrade-check --html`): both
 * sides, what changed in the environment, counts per class, the drift plot (per case, the
 * current / baseline ratio of speed and of each error metric, the significant ones marked),
 * then the cases that moved first and the unchanged ones folded.
 *
 * @module
 */
import {
  type Baseline,
  type CaseComparison,
  type CompareReport,
  DRIFT_CLASSES,
  type DriftClass,
} from "./types.ts";
import { writeTextAtomic } from "../util/fs.ts";
import { chartFigure, escapeHtml, logAxisTicks } from "../report/html/chart.ts";
import { PLOT_POINT_CAP, thinNote, thinPoints } from "../report/html/thin.ts";
import {
  DEFAULT_HTML_MAX_BYTES,
  filterBox,
  firstWithin,
  htmlPage,
  idHtml,
  num,
  section,
  sizeNote,
} from "../report/html/page.ts";
import { runtimeLabel } from "../report/runtime_label.ts";
import { acrossDevicesText, notComparableText, untestedText } from "./render.ts";
import { incompleteSides, plantedFaultSides, selectionText } from "./compare.ts";
import { plural } from "../util/plural.ts";

/** The error metrics of a baseline case, in report order (see drift/types.ts). */
const METRICS = [
  "outMaxAbs",
  "outMaxRel",
  "outCosDiff",
  "outNormRel",
  "lseMaxAbs",
  "lseMaxRel",
] as const;

/** A point of the drift plot. */
export interface DriftPoint {
  /** Case id. */
  readonly id: string;
  /** "speed" or a metric name. */
  readonly metric: string;
  /** Current / baseline. */
  readonly ratio: number;
  /** Whether the comparison called it significant (a speed verdict, a drifted metric). */
  readonly significant: boolean;
  /** A significant speed improvement (faster beyond the thresholds); absent: not one. */
  readonly improvement?: boolean;
  /**
   * A speed ratio that was not tested: too few samples a side (thresholds' `minSamples`),
   * so no verdict, whatever the ratio; absent: tested (or not a speed point).
   */
  readonly untested?: boolean;
  /**
   * An error metric with no finite ratio, drawn at an edge of the plot: "from 0" (0 in the
   * baseline, not now: `ratio` Infinity from {@link driftPoints}, the top edge) or "to 0"
   * (fell to 0: `ratio` 0, the bottom edge); absent: a ratio the log axis can place.
   */
  readonly offScale?: "from 0" | "to 0";
}

/** The two runs compared, for the ratios of metrics that did not drift. */
export interface DriftSides {
  /** Baseline side. */
  readonly base?: Baseline;
  /** Current side. */
  readonly current?: Baseline;
}

/**
 * The drift plot's points: per compared case, the speed ratio (current / baseline median)
 * and, for each error metric, current / baseline (both 0 is 1; a 0 baseline with a
 * non-zero current is Infinity, a current of 0 is 0: {@link driftPlot} draws them at the
 * plot's edges). Without the sides, only the speed and the drifted metrics are known.
 *
 * @example
 * ```ts
 * import { driftPoints } from "./drift_html.ts";
 * driftPoints([], {}); // []
 * ```
 */
export function driftPoints(cases: readonly CaseComparison[], sides: DriftSides): DriftPoint[] {
  const base = new Map(sides.base?.cases.map((c) => [c.id, c]) ?? []);
  const cur = new Map(sides.current?.cases.map((c) => [c.id, c]) ?? []);
  const pts: DriftPoint[] = [];
  for (const c of cases) {
    if (c.class === "new" || c.class === "removed") continue;
    const s = c.speed;
    if (s && s.ratio !== null && Number.isFinite(s.ratio) && s.ratio > 0) {
      pts.push({
        id: c.id,
        metric: "speed",
        ratio: s.ratio,
        significant: s.verdict === "regression" || s.verdict === "improvement",
        ...(s.verdict === "improvement" ? { improvement: true } : {}),
        ...(s.tooFewSamples ? { untested: true } : {}),
      });
    }
    const drifted = new Map(c.metrics.map((m) => [m.metric as string, m]));
    const b = base.get(c.id)?.metrics, k = cur.get(c.id)?.metrics;
    // A side that crossed its tolerance (pass → fail) is numeric drift whatever its ratios:
    // its metrics measure the finite elements only, so NaN or Inf values that failed it left
    // them near 1, drawn as within the thresholds beside a numeric-drift verdict.
    const bp = base.get(c.id)?.parity, kp = cur.get(c.id)?.parity;
    const crossed = (m: string) => {
      if (!bp || !kp) return false;
      return m.startsWith("out") ? bp.out && !kp.out : bp.lse && !kp.lse;
    };
    for (const m of METRICS) {
      const d = drifted.get(m);
      const from = b ? b[m] : d?.from ?? null;
      const to = k ? k[m] : d?.to ?? null;
      if (from === null || to === null) continue;
      // 0 in the baseline and not now (an exact f16 layer that drifted) has no finite ratio,
      // nor one that fell to 0: kept, and drawn at the plot's edge (left out, a regression
      // from an exact baseline had no point, and the plot showed none beside its verdict)
      const ratio = from === 0 ? (to === 0 ? 1 : Infinity) : to / from;
      if (Number.isNaN(ratio) || ratio < 0) continue;
      pts.push({
        id: c.id,
        metric: m,
        ratio,
        significant: d !== undefined || crossed(m),
        ...(ratio === Infinity ? { offScale: "from 0" as const } : {}),
        ...(ratio === 0 ? { offScale: "to 0" as const } : {}),
      });
    }
  }
  return pts;
}

/** Options of {@link compareReportHtml}. */
export interface DriftHtmlOptions extends DriftSides {
  /** Title (default "Drift report"). */
  readonly title?: string;
  /**
   * Size cap in bytes (default 5 MiB, as report.html's): past it, the unchanged cases lose
   * their rows, and where that is not enough, the moved cases that are not regressions past
   * the first {@link CAPPED_MOVED_ROWS}. Regressions always keep theirs.
   */
  readonly maxBytes?: number;
}

/** Rows of moved cases that are not regressions a capped compare page keeps. */
export const CAPPED_MOVED_ROWS = 500;

/**
 * A comparison as one self-contained HTML page.
 *
 * @example
 * ```ts ignore
 * import { compareReportHtml } from "./drift_html.ts";
 * await Deno.writeTextFile("drift.html", await compareReportHtml(report, { base, current }));
 * ```
 */
export async function compareReportHtml(
  report: CompareReport,
  options: DriftHtmlOptions = {},
): Promise<string> {
  const maxBytes = options.maxBytes ?? DEFAULT_HTML_MAX_BYTES;
  // The plot is the same in every build: rendered once.
  const pts = driftPoints(report.cases, options);
  const plot = pts.length > 0 ? section("plots", "Drift", await driftChart(pts)) : null;
  return firstWithin(maxBytes, [
    () => comparePage(report, options, plot, {}),
    () => comparePage(report, options, plot, { cappedAt: maxBytes }),
    () => comparePage(report, options, plot, { cappedAt: maxBytes, movedRows: CAPPED_MOVED_ROWS }),
  ]);
}

function comparePage(
  report: CompareReport,
  options: DriftHtmlOptions,
  plot: string | null,
  shape: {
    /** The size cap the page was cut for: the unchanged cases' rows are left out. */
    readonly cappedAt?: number;
    /** Rows of moved cases that are not regressions (default: every one). */
    readonly movedRows?: number;
  },
): string {
  const b = report.baseline, c = report.current;
  const sections: string[] = [];
  const isRegression = (x: CaseComparison) => x.classes.some((k) => report.failOn.includes(k));
  const movedAll = report.cases.filter((x) => x.class !== "unchanged");
  const keepRows = shape.movedRows ?? movedAll.length;
  let others = 0;
  const moved = movedAll.filter((x) => isRegression(x) || others++ < keepRows);
  const same = report.cases.filter((x) => x.class === "unchanged");
  if (shape.cappedAt !== undefined) {
    const cut = moved.length < movedAll.length
      ? `, and of the moved cases that are not regressions only the first ${keepRows} have a ` +
        `row (${movedAll.length - moved.length} left out)`
      : "";
    sections.push(sizeNote(shape.cappedAt, {
      page: "page",
      what: `the rows of the ${plural(same.length, "unchanged case")} were left out${cut}; every ` +
        "regression keeps its row",
      where: "the JSON report (<code>compare --json</code>, compare.json)",
    }));
  }
  // A side run with a planted fault: said first, before a verdict that reads as drift.
  if (report.plantedFault !== undefined) {
    sections.push(section(
      "planted-fault",
      "Planted fault",
      `<p class="note drift-bad">${escapeHtml(report.plantedFault)}</p>`,
    ));
  }
  // Runs of two devices (a baseline from another machine): compare.md says so before the
  // environment; without it the page read as 156 regressions of this device.
  if (b.deviceKey !== c.deviceKey) {
    sections.push(section(
      "device-keys",
      "Different devices",
      `<p class="note" id="device-keys-differ">${
        escapeHtml(acrossDevicesText(report).replaceAll("`", ""))
      }</p>`,
    ));
  }
  // a side's run stopped early: its missing cases read as not run or new, not as drift
  const incomplete = incompleteSides(report);
  if (incomplete.length > 0) {
    sections.push(section(
      "incomplete",
      "Incomplete runs",
      incomplete.map((l) => `<p class="note drift-bad">${escapeHtml(l)}</p>`).join("\n"),
    ));
  }
  const env = report.environment.summary;
  sections.push(section(
    "environment",
    "What changed in the environment",
    env.length === 0
      ? "<p>Nothing: same Deno, adapter, driver, kernel sources, harness revision and host.</p>"
      : `<ul>${env.map((s) => `<li>${escapeHtml(s)}</li>`).join("")}</ul>`,
  ));
  if (plot !== null) sections.push(plot);
  if (movedAll.length > 0) {
    sections.push(
      section("moved", `Cases that moved (${movedAll.length})`, casesTable(moved, report)),
    );
  }
  sections.push(section("classes", "Cases per class", classTable(report)));
  const sameRows = shape.cappedAt === undefined && same.length > 0;
  if (same.length > 0) {
    sections.push(section(
      "unchanged",
      `Unchanged (${same.length})`,
      sameRows
        ? filterBox() + `<details class="group" data-group="unchanged"><summary>${same.length} ` +
          `unchanged cases</summary>${casesTable(same, report)}</details>`
        : `<p>${
          plural(same.length, "unchanged case")
        } (their rows left out: see the note at the top).</p>`,
    ));
  }
  const side = (s: CompareReport["baseline"]) =>
    `${s.deviceKey}${
      s.recordedKey ? ` (recorded as ${s.recordedKey}, by an older harness's key rules)` : ""
    }, ${s.matrix}${s.filter || s.shard ? ` (${selectionText(s)})` : ""}, ` +
    `${runtimeLabel(s, { inline: true })}, ` +
    `revision ${s.harnessRevision ?? "unknown"}, ${s.createdAt}, ${plural(s.cases, "case")}` +
    (s.plantedFault ? `, planted fault ${s.plantedFault.id}` : "");
  const g = report.speed.geomeanRatio;
  return htmlPage({
    title: options.title ?? "Drift report",
    facts: [
      ["Device", c.deviceKey],
      // a run under another runtime (`run --runtime chromium`) names its browser
      ["Runtime", runtimeLabel({ deno: c.deno, browser: c.browser })],
      ["Deno", c.deno],
      ["Revision", c.harnessRevision ?? "unknown"],
      ["Matrix", `${c.matrix}${c.filter ? ` (filter ${c.filter})` : ""}`],
      ["Baseline", side(b)],
      ["Current", side(c) + outOfScopeText(report)],
      [
        "Speed",
        (g === null ? "n/a" : `geometric-mean ratio ${g.toFixed(3)} (> 1 is slower)`) +
        (report.speed.untested > 0 ? `; ${untestedText(report)}` : "") +
        (notComparableText(report) ? `; ${notComparableText(report)}` : ""),
      ],
    ],
    verdict: verdictOf(report),
    sections,
    filter: sameRows,
  });
}

/**
 * Writes the HTML page of a comparison atomically.
 *
 * @example
 * ```ts ignore
 * import { writeCompareHtml } from "./drift_html.ts";
 * await writeCompareHtml("out/drift.html", report, { base, current });
 * ```
 */
export async function writeCompareHtml(
  path: string,
  report: CompareReport,
  options: DriftHtmlOptions = {},
): Promise<void> {
  await writeTextAtomic(path, await compareReportHtml(report, options));
}

/**
 * The page's verdict: the regressions (or none), led, when a side ran with a planted fault,
 * by that fault, so that its differences do not read as drift.
 */
function verdictOf(report: CompareReport): { ok: boolean; text: string } {
  const counted = report.failOn.length > 0 ? report.failOn.join(", ") : "none";
  const text = report.regressions > 0
    ? `${plural(report.regressions, "regression")} (classes counted: ${counted})`
    : `No regressions (classes counted: ${counted})`;
  const faults = plantedFaultSides(report.baseline, report.current).map((f) =>
    `the ${f.side} ran with planted fault ${f.id}`
  );
  if (faults.length === 0) return { ok: report.regressions === 0, text };
  return {
    ok: report.regressions === 0,
    text: `Planted fault: ${faults.join(" and ")}, so its differences are the fault's, not ` +
      `drift. ${text}`,
  };
}

/** "; 3 baseline cases outside its selection" (baseline cases not compared), or "". */
function outOfScopeText(report: CompareReport): string {
  return report.outOfScope > 0
    ? `; ${plural(report.outOfScope, "baseline case")} outside its selection (not compared)`
    : "";
}

/**
 * Cases per class, as compare.md counts them: by each case's most severe class, and by every
 * class a case has (what --fail-on gates on).
 */
function classTable(report: CompareReport): string {
  const rows = DRIFT_CLASSES.flatMap((k) => {
    // reports written before classCounts existed have the first count only
    const any = report.classCounts?.[k] ?? report.counts[k];
    if (report.counts[k] === 0 && any === 0) return [];
    return [
      `<tr><td><span class="status ${badgeKind(k, report)}">${escapeHtml(k)}</span>` +
      `</td><td class="n">${report.counts[k]}</td><td class="n">${any}</td></tr>`,
    ];
  });
  const outside =
    (report.outOfScope > 0
      ? `<p>${
        plural(report.outOfScope, "baseline case")
      } outside the current run's selection (another ` +
        "matrix, its filter or shard): not compared.</p>"
      : "") +
    (report.newOutOfScope
      ? `<p>${plural(report.newOutOfScope, "current case")} outside the baseline's selection (${
        escapeHtml(selectionText(report.baseline))
      }): counted as new, not compared.</p>`
      : "");
  return `<table><tr><th>class</th><th>cases (by their most severe class)</th>` +
    `<th>cases with it (any of their classes)</th></tr>${rows.join("")}</table>${outside}`;
}

/**
 * A class's badge: red where it counts as a regression (--fail-on), green for a speed
 * improvement, grey for information (bits changed, new, removed or a drift not counted).
 */
function badgeKind(k: DriftClass, report: CompareReport): "regression" | "pass" | "info" {
  return report.failOn.includes(k) ? "regression" : k === "speed-improvement" ? "pass" : "info";
}

function casesTable(cases: readonly CaseComparison[], report: CompareReport): string {
  const rows = cases.map((c) => {
    // every class the case has, as compare.md lists them (the most severe first)
    const badges = (c.classes.length > 0 ? c.classes : [c.class]).map((k) =>
      `<span class="status ${badgeKind(k, report)}">${escapeHtml(k)}</span>`
    ).join(" ");
    return `<tr data-id="${escapeHtml(c.id)}"><td class="id">${idHtml(c.id)}</td>` +
      `<td>${badges}</td>` +
      // a p of too few samples is no test (the header counts the case as not tested)
      `<td class="n">${
        typeof c.speed?.ratio === "number" ? ratioFigure(c.speed.ratio) : "–"
      }</td><td class="n">${c.speed?.tooFewSamples ? "not tested" : num(c.speed?.p, 3)}</td>` +
      `<td>${escapeHtml(c.details.join("; "))}</td>` +
      `<td>${escapeHtml(c.attributedTo.join("; "))}</td></tr>`;
  }).join("\n");
  return `<table><tr><th>id</th><th>classes</th><th>speed ratio</th><th>p</th><th>details</th>` +
    `<th>attributed to</th></tr>\n${rows}</table>`;
}

// A fixed horizontal spread in [0.1, 0.9) per case id (FNV-1a), so points of one metric do
// not sit on one line and each case keeps its place across metrics.
function spread(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  // FNV-1a alone leaves ids that differ in one late character close in the high bits (two
  // layouts of a case landed 0.2 px apart); a final mix spreads them.
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return 0.1 + 0.8 * (h / 2 ** 32);
}

/** The mark of the points standing for every case whose ratio is exactly 1. */
const UNCHANGED_MARK = "unchanged (exactly 1)";

/**
 * The drift plot's marks, in drawing order (later ones over earlier ones), with their colours:
 * a regression (a slower speed verdict, or an error metric beyond the drift thresholds) red,
 * a significant speed improvement green, a speed ratio not tested (too few samples) amber.
 *
 * @example
 * ```ts
 * import { DRIFT_MARKS } from "./drift_html.ts";
 * DRIFT_MARKS.at(-1)?.mark; // "regression"
 * ```
 */
export const DRIFT_MARKS: readonly {
  readonly mark: string;
  readonly color: string;
  /** A shape of its own too: the colour is not the only way to tell them apart. */
  readonly shape: string;
}[] = [
  { mark: UNCHANGED_MARK, color: "#bbb", shape: "circle" },
  { mark: "within thresholds", color: "#8aa", shape: "circle" },
  { mark: "not tested (too few samples)", color: "#d98c00", shape: "diamond" },
  { mark: "improvement", color: "#1e8a3c", shape: "triangle-down" },
  { mark: "regression", color: "#c22", shape: "triangle-up" },
];

/** The mark of a moved point (see {@link DRIFT_MARKS}). */
function markOf(p: DriftPoint): string {
  if (p.significant) return p.improvement ? "improvement" : "regression";
  return p.untested ? "not tested (too few samples)" : "within thresholds";
}

const markRank = (mark: string) => DRIFT_MARKS.findIndex((m) => m.mark === mark);

/**
 * The drift plot's points: each case whose ratio moved, and per metric one point standing for
 * the cases whose ratio is exactly 1 (a bit-identical error metric, say), its id naming how
 * many. A nightly without drift has every error metric of every case at exactly 1: drawn one
 * by one, 5,000 cases made a 16 MiB page of points on one spot.
 *
 * @example
 * ```ts
 * import { driftPlotData } from "./drift_html.ts";
 * const pts = [
 *   { id: "a", metric: "outMaxAbs", ratio: 1, significant: false },
 *   { id: "b", metric: "outMaxAbs", ratio: 1, significant: false },
 *   { id: "c", metric: "outMaxAbs", ratio: 2, significant: true },
 * ];
 * driftPlotData(pts).map((p) => p.id); // ["2 cases", "c"]
 * ```
 */
export function driftPlotData(
  pts: readonly DriftPoint[],
): (DriftPoint & { mark: string; jitter: number })[] {
  return driftPlot(pts).data;
}

/**
 * A ratio (current / baseline) as the page writes it, in its table and its plot's hover:
 * three decimals (an exponent outside 0.01 to 10,000), and near 1 as many decimals as tell it
 * from 1 ("1.0001", which the table read "1.000" beside a case marked unchanged at exactly 1).
 *
 * @example
 * ```ts
 * import { ratioFigure } from "./drift_html.ts";
 * ratioFigure(1.681234); // "1.681"
 * ratioFigure(1.0000999017729666); // "1.0001"
 * ratioFigure(1); // "1.000"
 * ```
 */
export function ratioFigure(r: number): string {
  const fixed = num(r, 3);
  if (fixed === "1.000" && r !== 1) {
    for (let d = 4; d <= 20; d++) {
      const s = r.toFixed(d);
      if (Number(s) !== 1) return s;
    }
  }
  return r === 1 ? "1.000" : fixed;
}

/**
 * {@link driftPlotData} with the caption's sentence on how its moved points were thinned ("" when
 * none were): past
 * {@link PLOT_POINT_CAP} points, cases within thresholds whose ratios of one metric lie
 * within a small distance on the log axis are one point, the furthest from 1 of them, its
 * id naming how many (significant ones are each drawn). 5,000 cases whose every ratio moved
 * made a 14.7 MiB page.
 *
 * @example
 * ```ts
 * import { driftPlot } from "./drift_html.ts";
 * const pts = [1.001, 1.002, 1.003].map((ratio, i) => ({
 *   id: `c${i}`,
 *   metric: "speed",
 *   ratio,
 *   significant: false,
 * }));
 * driftPlot(pts, { cap: 1 }).data.map((p) => p.id); // ["c2 (the furthest of 3)"]
 * ```
 */
export function driftPlot(
  pts: readonly DriftPoint[],
  options: { readonly cap?: number } = {},
): { data: (DriftPoint & { mark: string; jitter: number; tip: string })[]; note: string } {
  // a ratio with no place on the log axis (from 0, to 0) a decade past the finite ones,
  // where the axis' label says "from 0" ("to 0"): no finite ratio is drawn there
  const [lo, hi] = driftDomain(pts.map((p) => p.ratio));
  const placed = pts.map((p) =>
    p.ratio === Infinity
      ? { ...p, ratio: hi * 10, offScale: "from 0" as const }
      : p.ratio === 0
      ? { ...p, ratio: lo / 10, offScale: "to 0" as const }
      : p
  );
  const exact = new Map<string, number>();
  const moved = [];
  for (const p of placed) {
    if (p.ratio === 1 && !p.significant && !p.untested) {
      exact.set(p.metric, (exact.get(p.metric) ?? 0) + 1);
    } else moved.push(p);
  }
  const unchanged = [...exact].map(([metric, n]) => ({
    id: plural(n, "case"),
    metric,
    ratio: 1,
    significant: false,
    mark: UNCHANGED_MARK,
    jitter: 0.5,
    tip: "1",
  }));
  const far = (p: DriftPoint) => Math.abs(Math.log(p.ratio));
  const thinned = thinPoints(moved, (p) => `${p.metric}\u0000${markOf(p)}`, {
    cap: Math.max(1, (options.cap ?? PLOT_POINT_CAP) - unchanged.length),
    value: (p) => p.ratio,
    worse: (a, b) => far(b) - far(a),
    keep: (p) => p.significant,
  });
  // Points are drawn in data order: the regressions last, then improvements and untested
  // ones before them, so that a case within the thresholds never covers a red one at the same
  // ratio and a near offset.
  const data = [
    ...unchanged,
    ...thinned.points.map(({ count, ...p }) => ({
      ...p,
      id: count > 1 ? `${p.id} (the furthest of ${count})` : p.id,
      mark: markOf(p),
      jitter: spread(p.id),
      tip: p.offScale === "from 0"
        ? "none: 0 in the baseline, not now (drawn at the top, from 0)"
        : p.offScale === "to 0"
        ? "0: fell to 0 (drawn at the bottom, to 0)"
        : ratioFigure(p.ratio),
    })).sort((a, b) => markRank(a.mark) - markRank(b.mark)),
  ].map((p) => ({
    ...p,
    // the hover: one line at the table's figures (Vega's own gave each channel unrounded,
    // the ratio twice and the plot's jitter offset: "current / baseline (log):
    // 1.00009990177; jitter: 0.413230050355; ...; ratio: 1.0000999017729666")
    description: `metric: ${p.metric}; id: ${p.id}; ${p.mark}; ratio: ${p.tip}`,
  }));
  const thin = thinNote(thinned, {
    what: "ratios within thresholds",
    axis: "ratio",
    pick: "the furthest from 1",
  });
  const edges = new Set(
    thinned.points.flatMap((p: DriftPoint) => p.offScale ? [p.offScale] : []),
  );
  // a ratio with no place on the axis, in words: where it is drawn, at the axis' label
  const from0 = "a metric that was 0 in the baseline and is not now has no ratio: drawn at " +
    'the top, at "from 0"';
  const edgeNote = edges.has("from 0") && edges.has("to 0")
    ? `${from0}; one that fell to 0 at the bottom, at "to 0"`
    : edges.has("from 0")
    ? from0
    : edges.has("to 0")
    ? 'a metric that fell to 0 has no ratio: drawn at the bottom, at "to 0"'
    : "";
  return {
    data,
    note: [thin, edgeNote === "" ? "" : `${edgeNote[0].toUpperCase()}${edgeNote.slice(1)}.`]
      .filter((x) => x !== "").join(" "),
  };
}

/**
 * The drift plot's log axis: whole decades around the finite, positive ratios, at least 0.1
 * to 10 (the rule at 1 never on an edge, where a comparison of identical runs drew every point
 * on the x axis).
 */
function driftDomain(ratios: readonly number[]): [number, number] {
  const rs = ratios.filter((r) => Number.isFinite(r) && r > 0);
  return [
    10 ** Math.floor(Math.log10(Math.min(0.1, ...rs))),
    10 ** Math.ceil(Math.log10(Math.max(10, ...rs))),
  ];
}

/** The drift plot's height, in pixels. */
const DRIFT_PLOT_PX = 300;

async function driftChart(pts: DriftPoint[]): Promise<string> {
  const { data, note } = driftPlot(pts);
  // Whole decades around the ratios and 1, the ticks chosen here: Vega's own thinning of a
  // plot from 0.1 to 1e6 dropped the label 1 and kept 0.8, beside the rule at 1.
  const [lo, hi] = driftDomain(data.map((p) => p.ratio));
  // the decade past the finite ratios where those from 0 (to 0) sit, its label in words
  const from0 = data.some((p) => p.offScale === "from 0");
  const to0 = data.some((p) => p.offScale === "to 0");
  const ticks = logAxisTicks([lo, hi], DRIFT_PLOT_PX, { vertical: true, gap: 4 })
    .filter((t) => !(from0 && t > hi / 10 && t < hi) && !(to0 && t < lo * 10 && t > lo));
  for (const [on, edge] of [[from0, hi], [to0, lo]] as const) {
    if (on && !ticks.includes(edge)) ticks.push(edge);
  }
  ticks.sort((a, b) => a - b);
  const words = (from0 ? `datum.value >= ${hi} ? 'from 0' : ` : "") +
    (to0 ? `datum.value <= ${lo} ? 'to 0' : ` : "");
  const legend = [...DRIFT_MARKS].reverse().filter((m) => data.some((p) => p.mark === m.mark));
  return await chartFigure({
    kind: "drift",
    marks: data.length,
    caption: "Per case, current / baseline for speed (median time; above 1 is slower) and for " +
      "each error metric (above 1 is larger). Red: a regression (significantly slower, a " +
      "metric beyond the drift thresholds, or every metric of a side that crossed its " +
      "tolerance, NaN or Inf values included, which the metrics do not measure; an upward " +
      "triangle); green: significantly faster (a downward triangle); amber: a speed not " +
      "tested (too few samples a side for the significance test), whatever its ratio (a " +
      "diamond). The " +
      "cases whose ratio is exactly 1 are one grey point per metric, its count in its title " +
      "(hover)." + (note === "" ? "" : ` ${note}`),
    spec: {
      width: { step: 80 },
      height: DRIFT_PLOT_PX,
      layer: [
        {
          data: { values: data },
          mark: { type: "point", filled: true, size: 45, opacity: 0.8 },
          encoding: {
            x: {
              field: "metric",
              type: "nominal",
              sort: ["speed", ...METRICS],
              title: null,
              axis: { labelAngle: 0 },
            },
            xOffset: { field: "jitter", type: "quantitative", scale: { domain: [0, 1] } },
            y: {
              field: "ratio",
              type: "quantitative",
              scale: { type: "log", domain: [lo, hi], nice: false },
              // one notation on every tick (vega's default wrote 1e+14 beside 10,000,000,000):
              // plain from 0.001 to 1000, powers of ten beyond
              axis: {
                values: ticks,
                labelExpr: words + "datum.value >= 1e4 || datum.value < 1e-3 " +
                  "? format(datum.value, '.0e') : format(datum.value, '~g')",
              },
              title: "current / baseline (log)",
            },
            color: {
              field: "mark",
              type: "nominal",
              // the marks drawn, worst first: a legend entry for each, none for one not drawn
              scale: { domain: legend.map((m) => m.mark), range: legend.map((m) => m.color) },
              title: null,
              // over the plot, not right of it: so the chart fits an 800 px wide page whole
              legend: { orient: "top" },
            },
            // the same marks by shape (one legend with the colours: same field and title)
            shape: {
              field: "mark",
              type: "nominal",
              scale: { domain: legend.map((m) => m.mark), range: legend.map((m) => m.shape) },
              title: null,
              legend: { orient: "top" },
            },
            description: { field: "description" },
          },
        },
        {
          // its hover says what the rule is (it read "y: 1")
          data: { values: [{ y: 1, tip: "ratio 1: as in the baseline" }] },
          mark: { type: "rule", color: "#444", strokeDash: [4, 3] },
          encoding: { y: { field: "y", type: "quantitative" }, description: { field: "tip" } },
        },
      ],
    },
  });
}
