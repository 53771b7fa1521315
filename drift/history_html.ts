/**
 * The HTML page of `history --html`: one chart per series (a metric of one case over the
 * stored runs, or the geometric mean of the matched cases), with the detected steps
 * marked, and a table of the steps.
 *
 * @module
 */
import {
  type HistoryStep,
  runList,
  type Series,
  type SeriesPoint,
  shortRevision,
  stepGroupKey,
  stepRunsNeeded,
  stepSearchRuns,
  type StepTest,
  tooShortForSteps,
} from "./history.ts";
import { DEFAULT_STEP_ALPHA, minSegmentOf } from "./step_detect.ts";
import { writeTextAtomic } from "../util/fs.ts";
import { chartFigure, escapeHtml } from "../report/html/chart.ts";
import { htmlPage, idHtml, section } from "../report/html/page.ts";
import { plural } from "../util/plural.ts";

/**
 * A history value (a median in ms, an error metric) as `history` prints it in the terminal:
 * four decimals from 0.01 to 10,000, else four significant digits in exponent form. The
 * page's steps table wrote an error metric's step "1.234e-7 → 1.567e-7" as "1.23e-7" and
 * "1.57e-7", and its hover the value unrounded.
 *
 * @example
 * ```ts
 * import { historyValue } from "./history_html.ts";
 * historyValue(0.5694589999999999); // "0.5695"
 * historyValue(1.2341e-7); // "1.234e-7"
 * ```
 */
export function historyValue(v: number): string {
  return Math.abs(v) >= 0.01 && Math.abs(v) < 1e4 ? v.toFixed(4) : v.toExponential(3);
}

/** A step's change as the terminal's STEP line gives it: signed percent, or "from 0". */
function stepChangeFigure(change: number): string {
  return Number.isFinite(change)
    ? `${change >= 0 ? "+" : ""}${(change * 100).toFixed(1)}%`
    : "from 0";
}

/**
 * Series drawn at most (those with a step first, then the rest in order, the geometric mean
 * first of each); the others are listed.
 */
export const MAX_HISTORY_CHARTS = 12;

/** Options of {@link historyReportHtml}. */
export interface HistoryHtmlOptions {
  /** Title (default "History: <metric>"). */
  readonly title?: string;
  /** The database, for the header. */
  readonly db?: string;
  /** The case filter used, for the header. */
  readonly filter?: string | null;
  /**
   * Fewest runs on each side of a step the series were searched with (`history
   * --min-segment`; default step_detect.ts `DEFAULT_MIN_SEGMENT`): a series of fewer runs than
   * history.ts `stepRunsNeeded` gives cannot show a step, and the page says so rather than
   * "no step".
   */
  readonly minSegment?: number;
  /**
   * The significance the steps were tested at (`history --alpha`, default 0.05): with
   * `minSegment`, how many runs a step needs (history.ts `stepRunsNeeded`).
   */
  readonly alpha?: number;
}

/** The Steps fact's part for series tested together (history --correction bh). */
function correctedText(t: StepTest): string {
  return `tested across ${t.searches} series at once (Benjamini-Hochberg, false-discovery rate ${t.alpha}): ${
    t.threshold > 0 ? `a step needs p <= ${t.threshold.toPrecision(2)}` : "none passed"
  }, a lone step p <= ${(t.alpha / t.searches).toPrecision(2)} (${
    t.loneStepRuns === null
      ? "no number of runs is enough"
      : `${plural(t.loneStepRuns, "run")} at least`
  })`;
}

/**
 * The order the history page draws its series in: those with a step first, so that every
 * flagged step up to {@link MAX_HISTORY_CHARTS} has its chart; then the rest; within each,
 * the geometric mean (`*`) first, then by case id.
 *
 * @example
 * ```ts
 * import { historyChartOrder } from "./history_html.ts";
 * const s = (caseId: string, stepped: boolean) => ({
 *   caseId,
 *   points: [],
 *   steps: stepped ? [{ index: 0, before: 1, after: 2, change: 1, p: 0.01 }] : [],
 * });
 * historyChartOrder([s("a", false), s("*", false), s("b", true)]).map((x) => x.caseId);
 * // ["b", "*", "a"]
 * ```
 */
export function historyChartOrder(series: readonly Series[]): Series[] {
  const rank = (s: Series) => (s.steps.length > 0 ? 0 : 2) + (s.caseId === "*" ? 0 : 1);
  return [...series].sort((a, b) =>
    rank(a) - rank(b) || (a.caseId < b.caseId ? -1 : a.caseId > b.caseId ? 1 : 0)
  );
}

/**
 * History series as one self-contained HTML page.
 *
 * @example
 * ```ts
 * import { historyReportHtml } from "./history_html.ts";
 * const html = await historyReportHtml([], "median_ms");
 * html.includes("no values"); // true
 * ```
 */
export async function historyReportHtml(
  series: readonly Series[],
  metric: string,
  options: HistoryHtmlOptions = {},
): Promise<string> {
  const minSegment = minSegmentOf(options.minSegment);
  const alpha = options.alpha ?? DEFAULT_STEP_ALPHA;
  const need = stepRunsNeeded({ minSegment, alpha });
  // what a series too short lacks, in words
  const needText = need === null
    ? `no number of runs can show a step at alpha ${alpha}`
    : `a step needs at least ${
      plural(need, "run")
    } (fewer cannot reach p < ${alpha} with min-segment ` +
      `${minSegment})`;
  const short = new Set(tooShortForSteps(series, { minSegment, alpha }));
  const ordered = historyChartOrder(series);
  const drawn = ordered.slice(0, MAX_HISTORY_CHARTS);
  // every run of the page in start order (the order the series and their steps are in), so
  // that a series' line breaks over the runs it is missing from
  const started = new Map(series.flatMap((s) => s.points).map((p) => [p.runId, p.startedAt]));
  const allRuns = [...started.keys()].sort((a, b) =>
    started.get(a)! < started.get(b)! ? -1 : started.get(a)! > started.get(b)! ? 1 : a - b
  );
  const charts: string[] = [];
  for (const s of drawn) {
    charts.push(
      await seriesChart(s, metric, {
        need: short.has(s) ? needText : null,
        allRuns,
        ...(s.caseId === "*" ? { meanNote: zeroMeanNote(s, series, metric) } : {}),
      }),
    );
  }
  const steps = ordered.flatMap((s) =>
    s.steps.map((st) => ({ s, st, p: s.points[st.index] })).filter((x) => x.p !== undefined)
  );
  const sections: string[] = [];
  // a database of several devices: each step's device (its row read as any device's)
  const mixed = new Set(series.flatMap((s) => s.points.map((p) => p.deviceKey))).size > 1;
  if (steps.length > 0) {
    sections.push(section(
      "steps",
      `Steps (${steps.length})`,
      `<table><tr><th>series</th><th>at run</th>${
        mixed ? "<th>device</th>" : ""
      }<th>started</th><th>Deno</th><th>revision</th>` +
        `<th>before</th><th>after</th><th>change</th><th>p</th>` +
        `<th>changed since the run before</th></tr>${
          steps.map(({ s, st, p }) =>
            `<tr><td class="id">${idHtml(label(s))}</td><td class="n">${p.runId}${
              p.label === undefined ? "" : ` (${escapeHtml(p.label)})`
            }</td>` +
            (mixed ? `<td>${escapeHtml(p.deviceKey)}</td>` : "") +
            `<td>${escapeHtml(p.startedAt)}</td><td>${escapeHtml(p.deno)}</td><td>${
              escapeHtml((p.harnessRevision ?? "–").slice(0, 12))
            }</td><td class="n">${historyValue(st.before)}</td><td class="n">${
              historyValue(st.after)
            }</td>` +
            `<td class="n">${stepChangeFigure(st.change)}</td><td class="n">${
              st.p.toPrecision(2)
            }</td><td>${escapeHtml(sinceCell(st))}</td></tr>`
          ).join("")
        }</table>`,
    ));
  }
  sections.push(section(
    "plots",
    "History",
    charts.length === 0
      ? `<p>no values of ${escapeHtml(metric)} in the database</p>`
      : charts.join("\n") +
        (ordered.length > drawn.length
          ? `<p class="note">${ordered.length - drawn.length} more series not drawn: ${
            escapeHtml(ordered.slice(drawn.length).map((s) => s.caseId).join(", "))
          }</p>`
          : ""),
  ));
  const runs = new Set(series.flatMap((s) => s.points.map((p) => p.runId)));
  // Every run's Deno and revision, with the runs of each (the header named the newest run's
  // alone, as if every run had it).
  const byRun = new Map(series.flatMap((s) => s.points).map((p) => [p.runId, p]));
  // the series were tested together (history --correction bh): "p < alpha" is not their level
  const corrected = series[0]?.stepTest?.correction === "benjamini-hochberg"
    ? series[0].stepTest
    : undefined;
  const orderedRuns = [...byRun.values()].sort((a, b) => a.runId - b.runId);
  return htmlPage({
    title: options.title ?? `History: ${metric}`,
    facts: [
      ["Database", options.db ?? "–"],
      ["Cases", options.filter ?? "all"],
      ["Metric", metric],
      ["Runs", String(runs.size)],
      [
        "Steps",
        `at least ${plural(minSegment, "run")} on each side, p < ${alpha} (${
          need === null ? "no number of runs is enough" : `${plural(need, "run")} a series at least`
        })${corrected === undefined ? "" : `; ${correctedText(corrected)}`}`,
      ],
      ["Deno", valuesByRuns(orderedRuns, (p) => p.deno)],
      [
        "Revision",
        valuesByRuns(
          orderedRuns,
          (p) => p.harnessRevision === null ? "–" : shortRevision(p.harnessRevision),
        ),
      ],
      // the runs' labels (history --add --label), where a run has one: the listing and
      // --json showed them, the page nowhere
      ...(orderedRuns.some((p) => p.label !== undefined)
        ? [["Labels", valuesByRuns(orderedRuns, (p) => p.label ?? "–")] as [string, string]]
        : []),
    ],
    verdict: historyVerdict(series.length, steps.length, short, needText),
    sections,
  });
}

/**
 * Each value of a field over the runs, in run order, with the runs that had it: "2.9.6" when
 * all had one, "6f644d95 (runs 1-4), ebbc0b9c (runs 5-8)" otherwise; "–" without runs.
 */
function valuesByRuns(
  points: readonly SeriesPoint[],
  of: (p: SeriesPoint) => string,
): string {
  const runsOf = new Map<string, number[]>();
  for (const p of points) runsOf.set(of(p), [...(runsOf.get(of(p)) ?? []), p.runId]);
  if (runsOf.size === 0) return "–";
  if (runsOf.size === 1) return [...runsOf.keys()][0];
  return [...runsOf].map(([v, ids]) => `${v} (run${runList(ids)})`).join(", ");
}

/**
 * Writes the history page atomically.
 *
 * @example
 * ```ts ignore
 * import { writeHistoryHtml } from "./history_html.ts";
 * await writeHistoryHtml("out/history.html", series, "median_ms");
 * ```
 */
export async function writeHistoryHtml(
  path: string,
  series: readonly Series[],
  metric: string,
  options: HistoryHtmlOptions = {},
): Promise<void> {
  await writeTextAtomic(path, await historyReportHtml(series, metric, options));
}

/** A step's "changed since the run before" cell: what the runs record changed, or a word. */
function sinceCell(st: HistoryStep): string {
  if (st.since === undefined) return "–";
  return `run ${st.since.runId}: ${
    st.since.changes.length > 0 ? st.since.changes.join("; ") : "nothing recorded changed"
  }`;
}

/**
 * The page's verdict: steps found (red), none (green), or, where series have too few runs for
 * a step to be found at all, that in amber: not a green all-clear for a search never made,
 * and not a red failure either (a new history of one night is no regression).
 */
function historyVerdict(
  total: number,
  steps: number,
  short: ReadonlySet<Series>,
  need: string,
): { ok: boolean; warn?: boolean; text: string } {
  const most = Math.max(0, ...[...short].map(stepSearchRuns));
  const few = short.size === 0
    ? ""
    : `${
      short.size === total
        ? "every series has"
        : `${short.size} of them ${short.size === 1 ? "has" : "have"}`
    } too few runs ` +
      `to detect a step (at most ${most}; ${need})`;
  if (steps > 0) {
    return {
      ok: false,
      text: `${plural(steps, "step change")} in ${total} series` + (few ? `; ${few}` : ""),
    };
  }
  if (short.size === 0) return { ok: true, text: `No step change in ${total} series` };
  if (short.size === total) {
    return {
      ok: true,
      warn: true,
      text: `Too few runs to detect a step: at most ${plural(most, "run")} a ` +
        `series; ${need}`,
    };
  }
  return {
    ok: true,
    warn: true,
    text: `No step change in the ${total - short.size} series with enough runs; ${short.size} ` +
      `of ${total} ${
        short.size === 1 ? "has" : "have"
      } too few runs to detect a step (at most ${most}; ${need})`,
  };
}

/** The least half-span of a history chart's y axis, as a fraction of its middle. */
export const HISTORY_MIN_HALF_SPAN = 0.1;

/**
 * The y range of a history chart: the values', widened to at least ±10% about their middle
 * (never below 0 for values that are not), so that noise of a few percent fills a fifth of
 * the height, not all of it, and a step stands out from it; null without a finite value
 * other than 0 (Vega's own range then).
 *
 * @example
 * ```ts
 * import { historyYDomain } from "./history_html.ts";
 * historyYDomain([0.98, 1.02]); // about [0.9, 1.1]
 * historyYDomain([1, 3]); // [1, 3]
 * ```
 */
export function historyYDomain(values: readonly (number | null)[]): [number, number] | null {
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (finite.length === 0 || finite.every((v) => v === 0)) return null;
  const lo = Math.min(...finite), hi = Math.max(...finite);
  const mid = (lo + hi) / 2;
  const half = Math.max((hi - lo) / 2, Math.abs(mid) * HISTORY_MIN_HALF_SPAN);
  return [lo >= 0 ? Math.max(0, mid - half) : mid - half, mid + half];
}

/**
 * What the geometric mean leaves out, for its caption: a value of exactly 0 (an exact error
 * metric) has no geometric mean, so the runs where every case's value is 0 have no point
 * ({@link Series.noMean}), and where only some are 0 the mean is over the others: the title
 * "all matched cases" read as every case's mean. "" when nothing was left out.
 *
 * @example
 * ```ts
 * import { zeroMeanNote } from "./history_html.ts";
 * const pt = (runId: number, value: number) => ({
 *   runId, startedAt: `t${runId}`, deno: "2.9.6", harnessRevision: null, deviceKey: "d", value,
 * });
 * const a = { caseId: "a", points: [pt(1, 0), pt(2, 0)], steps: [] };
 * const b = { caseId: "b", points: [pt(1, 2e-7), pt(2, 0)], steps: [] };
 * const mean = { caseId: "*", points: [pt(1, 2e-7)], steps: [], noMean: [2] };
 * zeroMeanNote(mean, [a, b, mean], "out_max_abs");
 * // "values of exactly 0 have no geometric mean: in run 1 it is over 1 of the 2 cases with a
 * // value; run 2 has no point (every case's out_max_abs is 0)"
 * ```
 */
export function zeroMeanNote(mean: Series, series: readonly Series[], metric: string): string {
  const cases = series.filter((s) => s.caseId !== "*");
  const partial = new Map<string, number[]>();
  for (const p of mean.points) {
    const values = cases.flatMap((s) => s.points.filter((q) => q.runId === p.runId));
    const over = values.filter((q) => Number.isFinite(q.value) && q.value > 0).length;
    if (over === values.length) continue;
    const key = `${over} of the ${plural(values.length, "case")}`;
    partial.set(key, [...(partial.get(key) ?? []), p.runId]);
  }
  const parts = [...partial].map(([key, runs]) =>
    `in run${runList(runs)} it is over ${key} with a value`
  );
  const none = mean.noMean ?? [];
  const noneText = none.length === 0
    ? ""
    : `run${runList(none)} ${none.length === 1 ? "has" : "have"} no point (every case's ` +
      `${metric} is 0)`;
  if (parts.length === 0 && noneText === "") return "";
  return "values of exactly 0 have no geometric mean: " +
    [...parts, noneText].filter((x) => x !== "").join("; ");
}

function label(s: Series): string {
  return s.caseId === "*" ? "all matched cases (geometric mean per run)" : s.caseId;
}

/**
 * A plot title's lines: the text cut after a `;` so that no line passes `width` characters
 * (a case id is a `;`-separated list; one cut at the plot's width would hide the keys that
 * tell two series apart, such as a trailing `causal=`).
 *
 * @example
 * ```ts
 * import { titleLines } from "./history_html.ts";
 * titleLines("preset=tiny;b=2;causal=1", 16); // ["preset=tiny;b=2;", "causal=1"]
 * ```
 */
export function titleLines(text: string, width = 90): string[] {
  const lines: string[] = [];
  let line = "";
  for (const part of text.split(/(?<=;)/)) {
    if (line !== "" && line.length + part.length > width) {
      lines.push(line);
      line = "";
    }
    line += part;
  }
  if (line !== "") lines.push(line);
  return lines;
}

/**
 * The x axis' label of a place in start order: the id of the run there ("" off a place).
 */
function runIdLabels(runs: readonly number[]): string {
  return `[${["''", ...runs.map((r) => `'${r}'`)].join(",")}][datum.value] || ''`;
}

async function seriesChart(
  s: Series,
  metric: string,
  options: { need: string | null; allRuns: readonly number[]; meanNote?: string },
): Promise<string> {
  const need = options.need;
  // x is the run's id (the steps table's and the terminal's), gaps and all, where the ids
  // are in start order, the order of the series and its steps. Where they are not (runs
  // added out of order: two nightly jobs at once, an older night added later), x is the
  // run's place in start order, its axis labelled with the ids: drawn at its id each run
  // made a zig-zag of the series' levels, and a step's rule stood between two ids far from
  // its run.
  const inOrder = options.allRuns.every((id, i) => i === 0 || id > options.allRuns[i - 1]);
  const place = new Map(options.allRuns.map((id, i) => [id, inOrder ? id : i + 1]));
  const xOf = (runId: number) => place.get(runId) ?? 0;
  const at = (p: SeriesPoint) => xOf(p.runId);
  const values = s.points.map((p) => ({
    x: at(p),
    run: p.runId,
    value: p.value,
    deno: p.deno,
    started: p.startedAt,
    ...(p.cases !== undefined ? { cases: p.cases } : {}),
    // a point's hover title: its run by id (not by its place on the axis) and its value as
    // the terminal writes it (it read "median (ms): 0.569459; ...; value: 0.5694589999999999"
    // where `history` printed 0.5695)
    description:
      `run: ${p.runId}${p.label === undefined ? "" : ` (${p.label})`}; started: ${p.startedAt}; ` +
      `deno: ${p.deno}; value: ${historyValue(p.value)}` +
      (p.cases !== undefined ? `; cases: ${p.cases}` : ""),
  }));
  // A run of the page inside the series' span that lacks its case: a null value there breaks
  // the line (it was drawn straight across six runs a case was missing from).
  const have = new Set(values.map((v) => v.x));
  const first = values[0]?.x ?? 0, last = values.at(-1)?.x ?? 0;
  const gaps = options.allRuns.map((run) => ({ x: xOf(run), run })).filter(({ x }) =>
    x > first && x < last && !have.has(x)
  ).map(({ x, run }) => ({ x, run, value: null, deno: "", started: "" }));
  // Between two runs that are not compared (another device, timing rule or input, or, for
  // the geometric mean, another set of cases) the line breaks too: a case missing from six
  // runs lowered the mean there, drawn joined as if the speed had moved.
  const apart: typeof gaps = [];
  s.points.forEach((p, i) => {
    const q = s.points[i + 1];
    if (q !== undefined && stepGroupKey(p) !== stepGroupKey(q)) {
      apart.push({ x: (at(p) + at(q)) / 2, run: 0, value: null, deno: "", started: "" });
    }
  });
  const lineValues = [...values, ...gaps, ...apart].sort((a, b) => a.x - b.x);
  const stepsShown = s.steps.filter((st) => s.points[st.index] !== undefined);
  const steps = stepsShown.map((st) => ({
    // the rule sits between the last run of the old level and the first of the new one
    x: ((st.index > 0 ? at(s.points[st.index - 1]) : at(s.points[st.index]) - 1) +
      at(s.points[st.index])) / 2,
    side: st.change >= 0 ? "rise" : "fall",
    text: Number.isFinite(st.change)
      ? `${st.change >= 0 ? "+" : ""}${(st.change * 100).toFixed(1)}%`
      : "from 0",
  })).map((st, i) => ({
    ...st,
    tip: `step at run ${s.points[stepsShown[i].index].runId}: ${st.text}`,
  }));
  const yDomain = historyYDomain(values.map((v) => v.value));
  const yFigure = (v: number) =>
    v === 0 ? "0" : metric === "median_ms" ? String(Number(v.toPrecision(3))) : v.toExponential(2);
  return await chartFigure({
    kind: "history",
    marks: values.length,
    caption: `${label(s)}: ${metric} over ${plural(values.length, "run")}` +
      (steps.length
        ? `; ${
          steps.length === 1
            ? "a red rule marks the detected step"
            : `red rules mark the ${steps.length} detected steps`
        }`
        : need !== null
        ? `; too few runs to detect a step (${need})`
        : "; no step") +
      (apart.length > 0
        ? `; the line breaks between runs that are not compared (another device, timing, ` +
          `input${
            s.caseId === "*"
              ? " or set of cases: the mean's cases in each run are in its title"
              : ""
          })`
        : "") +
      (options.meanNote ? `; ${options.meanNote}` : "") +
      // the axis does not start at 0: said, with its range (±2% of noise filled the plot's
      // height, a cliff to the eye, and nothing said the axis was cut)
      (yDomain === null
        ? ""
        : `; y axis from ${yFigure(yDomain[0])} to ${yFigure(yDomain[1])}${
          metric === "median_ms" ? " ms" : ""
        }${yDomain[0] > 0 ? ", not from 0" : ""} (at least ±${
          HISTORY_MIN_HALF_SPAN * 100
        }% about the middle: noise of a few percent stays small)`),
    spec: {
      width: 560,
      height: 160,
      title: { text: titleLines(label(s)), fontSize: 11, anchor: "start" },
      layer: [
        {
          data: { values: lineValues },
          mark: { type: "line", point: { filled: true, size: 30 } },
          encoding: {
            // the run's id in the database, as the steps table and the terminal name it (a
            // case missing from some runs, or runs of another device, leave gaps)
            x: {
              field: "x",
              type: "quantitative",
              title: inOrder
                ? "run (id in the database)"
                : "run (id in the database), in start order",
              scale: { zero: false },
              axis: {
                tickMinStep: 1,
                format: "d",
                ...(inOrder ? {} : { labelExpr: runIdLabels(options.allRuns) }),
              },
            },
            // Error metrics are 1e-7-sized: the default format printed such a flat series'
            // one tick as "0.000000"; two significant digits in exponent form read at once.
            y: {
              field: "value",
              type: "quantitative",
              scale: yDomain === null ? { zero: false } : { domain: yDomain, nice: false },
              title: metric === "median_ms" ? "median (ms)" : metric,
              axis: { format: metric === "median_ms" ? "~r" : ".2~e" },
            },
            description: { field: "description" },
          },
        },
        ...(steps.length
          ? [{
            data: { values: steps },
            layer: [
              {
                mark: { type: "rule" as const, color: "#c22", strokeWidth: 2 },
                // its hover names the step (it read "x: 4.5", a run between two runs)
                encoding: {
                  x: { field: "x", type: "quantitative" as const },
                  description: { field: "tip" },
                },
              },
              // The label at the top, on the side of the rule where the old or new level is
              // low: left of a rise, right of a fall (right of a rise, it sat on the line).
              ...([["rise", "right", -3], ["fall", "left", 3]] as const).map((
                [side, align, dx],
              ) => ({
                transform: [{ filter: `datum.side === "${side}"` }],
                mark: { type: "text" as const, color: "#c22", align, dx, y: 8 },
                encoding: {
                  x: { field: "x", type: "quantitative" as const },
                  text: { field: "text" },
                },
              })),
            ],
          }]
          : []),
      ],
    },
  });
}
