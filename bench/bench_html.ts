/**
 * report.html of `bench`: the machine and its measured ceilings, the roofline (achieved
 * GFLOP/s against arithmetic intensity, under the memory and FMA ceilings), the crossover of
 * absorbed against dense (expanded) time over s_k for the sweeps, and the case table.
 *
 * @module
 */
import {
  type BenchInterruption,
  type BenchReport,
  measuredWhen,
  memoryLine,
  ownClassWords,
  referenceLine,
  shortfallWords,
  targetClassWords,
  targetNotRunWords,
  targetsNotBenched,
  variantLabel,
} from "./report.ts";
import { memoryRoof } from "./ceilings.ts";
import { benchFigure, benchFraction, benchGbps, benchMs, benchRate } from "./figure.ts";
import type { BenchRecord } from "./run_bench.ts";
import { crossovers, sweepOf } from "./crossover.ts";
import { writeTextAtomic } from "../util/fs.ts";
import { chartFigure, escapeHtml, logAxisTicks } from "../report/html/chart.ts";
import { htmlPage, idHtml, section } from "../report/html/page.ts";
import { decadeDomain, type LineLabel, placeLineLabels } from "../report/html/label_place.ts";
import { runtimeLabel } from "../report/runtime_label.ts";
import { passRole } from "../adapter/pass_roles.ts";
import { plural } from "../util/plural.ts";

/** A point of the roofline plot. */
export interface RooflinePoint {
  /** Case id. */
  readonly id: string;
  /** FLOP per byte. */
  readonly intensity: number;
  /** Achieved GFLOP/s. */
  readonly gflops: number;
  /** "dtype path". */
  readonly kind: string;
}

/**
 * The roofline points: every measured case with FLOP, bytes and GFLOP/s.
 *
 * @example
 * ```ts
 * import { rooflinePoints } from "./bench_html.ts";
 * rooflinePoints([]); // []
 * ```
 */
export function rooflinePoints(records: readonly BenchRecord[]): RooflinePoint[] {
  return records.filter((r) =>
    r.status === "ok" && r.flop && r.bytes && r.gflops !== undefined && r.gflops > 0
  ).map((r) => ({
    id: r.id,
    intensity: r.flop! / r.bytes!,
    gflops: r.gflops!,
    kind: `${r.case.dtype} ${r.case.path}`,
  }));
}

/** A point of the crossover plot. */
export interface CrossoverPoint {
  /** The sweep: every case field but path and s_k. */
  readonly sweep: string;
  /** Path (absorbed, or expanded = dense). */
  readonly path: string;
  /** Keys per sequence. */
  readonly sk: number;
  /** Median time, ms. */
  readonly ms: number;
}

/**
 * The crossover points: measured cases of sweeps that have both paths and at least two
 * s_k values for each (a sweep is every case field but path and s_k).
 *
 * @example
 * ```ts
 * import { crossoverPoints } from "./bench_html.ts";
 * crossoverPoints([]); // []
 * ```
 */
export function crossoverPoints(records: readonly BenchRecord[]): CrossoverPoint[] {
  const sweeps = new Map<string, CrossoverPoint[]>();
  for (const r of records) {
    if (r.status !== "ok" || r.ms === undefined) continue;
    const c = r.case;
    const sweep = sweepOf(c);
    const list = sweeps.get(sweep) ?? [];
    list.push({
      sweep,
      path: c.path === "expanded" ? "dense (expanded)" : c.path,
      sk: c.sk,
      ms: r.ms,
    });
    sweeps.set(sweep, list);
  }
  const out: CrossoverPoint[] = [];
  for (const list of sweeps.values()) {
    const paths = new Set(list.map((p) => p.path));
    const enough = [...paths].every((p) =>
      new Set(list.filter((x) => x.path === p).map((x) => x.sk)).size >= 2
    );
    if (paths.size >= 2 && enough) out.push(...list);
  }
  return out;
}

/** A segment of the passes plot: one pass of one case. */
export interface PassPoint {
  /**
   * The case, short: path, dtype, b, sq, s_k (after the preset and heads where the cases
   * differ in them; the caption names them otherwise).
   */
  readonly id: string;
  /** Pass name. */
  readonly pass: string;
  /** Its role (adapter/pass_roles.ts), "other" for a pass the harness does not know. */
  readonly role: string;
  /** Median time, ms. */
  readonly ms: number;
}

/**
 * The passes plot's segments: every pass of every measured case that has per-pass times,
 * with its role, so that the plot stacks a case's core and the rest of its step. Cache
 * construction (outside the submission; the expanded path's K/V expansion alone can be 100x
 * its core on lavapipe) is left out: summary.md's Passes table lists it.
 *
 * @example
 * ```ts
 * import { passPoints } from "./bench_html.ts";
 * passPoints([]); // []
 * ```
 */
export function passPoints(records: readonly BenchRecord[]): PassPoint[] {
  const shared = passesModel(records);
  return timedPasses(records).flatMap((r) => {
    const c = r.case;
    const id = passCaseLabel(r, shared);
    return Object.entries(r.passes!)
      .map(([pass, ms]) => ({ id, pass, role: passRole(c.path, pass) ?? "other", ms }))
      .filter((p) => p.role !== "construction");
  });
}

/** A case's measured core time on the passes plot. */
export interface PassTotal {
  /** The case, short, as its bar is labelled ({@link PassPoint}). */
  readonly id: string;
  /** `ms`: the median over the timed replays of the core's total time, ms. */
  readonly ms: number;
}

/**
 * The passes plot's marks of each case's `ms` (the median of the core's totals, what the
 * tables and targets report), drawn over its bar: the bar stacks each pass's median, and a
 * sum of medians need not equal the median of the sums.
 *
 * @example
 * ```ts
 * import { passTotals } from "./bench_html.ts";
 * passTotals([]); // []
 * ```
 */
export function passTotals(records: readonly BenchRecord[]): PassTotal[] {
  const shared = passesModel(records);
  return timedPasses(records).flatMap((r) =>
    r.ms === undefined ? [] : [{ id: passCaseLabel(r, shared), ms: r.ms }]
  );
}

/**
 * A case's label on the passes plot: path, dtype, b, sq, s_k; the model and heads first only
 * where the cases differ in them (`shared` null; long labels are cut short on the axis).
 */
function passCaseLabel(r: BenchRecord, shared: string | null): string {
  const c = r.case;
  return (shared === null ? `${c.preset} h=${c.heads} ` : "") +
    `${c.path} ${c.dtype} b=${c.b} sq=${c.sq} sk=${c.sk}` +
    (c.causal ? "" : " non-causal") + (c.page ? ` page=${c.page}` : "");
}

/** The measured records with per-pass times. */
function timedPasses(records: readonly BenchRecord[]): BenchRecord[] {
  return records.filter((r) => r.status === "ok" && r.passes !== undefined);
}

/** "preset h=heads" when every record with per-pass times shares it, else null. */
function passesModel(records: readonly BenchRecord[]): string | null {
  const models = new Set(timedPasses(records).map((r) => `${r.case.preset} h=${r.case.heads}`));
  return models.size === 1 ? [...models][0] : null;
}

/** Options of {@link benchReportHtml}. */
export interface BenchHtmlOptions {
  /** Title (default "Benchmark"). */
  readonly title?: string;
}

/**
 * The benchmark as one self-contained HTML page.
 *
 * @example
 * ```ts ignore
 * import { benchReportHtml } from "./bench_html.ts";
 * await Deno.writeTextFile("out/bench/report.html", await benchReportHtml(report));
 * ```
 */
export async function benchReportHtml(
  report: BenchReport,
  options: BenchHtmlOptions = {},
): Promise<string> {
  const c = report.ceilings;
  const sections: string[] = [];
  const pts = rooflinePoints(report.records);
  if (pts.length > 0) {
    sections.push(section("roofline", "Roofline", await rooflineChart(pts, report)));
  }
  const cross = crossoverPoints(report.records);
  // Which path is faster where (bench/crossover.ts), in words: the report's own verdicts,
  // derived from its records for a report written without them. Every sweep where both paths
  // ran has one, a sweep of one s_k too (summary.md and the console say it): the plot, which
  // needs two s_k a path, is drawn where there is one.
  const verdicts = report.crossovers ?? crossovers(report.records);
  if (cross.length > 0 || verdicts.length > 0) {
    const plotted = new Set(cross.map((p) => p.sweep));
    const unplotted = verdicts.filter((x) => !plotted.has(x.sweep)).length;
    sections.push(section(
      "crossover",
      "Absorbed against dense",
      (cross.length > 0 ? await crossoverChart(cross) : "") +
        `<ul class="crossover-verdicts">${
          verdicts.map((x) =>
            `<li>${escapeHtml(x.sweep)}: ${escapeHtml(x.verdict)} (medians); ${
              escapeHtml(x.fastest.verdict)
            } (fastest repetitions)</li>`
          ).join("")
        }</ul>` +
        (unplotted > 0
          ? `<p class="note" id="crossover-unplotted">${
            plural(unplotted, "sweep")
          } not plotted: a ` +
            "plot needs two s_k or more on each path.</p>"
          : ""),
    ));
  }
  const passes = passPoints(report.records);
  if (passes.length > 0) {
    const chart = await passesChart(
      passes,
      passTotals(report.records),
      passesModel(report.records),
    );
    sections.push(section("passes", "Passes", chart));
  }
  if (report.targets.length > 0) {
    sections.push(section(
      "targets",
      `Targets of ${ownClassWords(report)}`,
      // whose targets, as the console and summary.md say it: where the kernels were planned
      // as another class set by hand, a note says so (the page said the class alone)
      (report.plannedClass === undefined
        ? ""
        : `<p class="note" id="targets-class">Targets of ${
          escapeHtml(targetClassWords(report))
        }.</p>`) +
        `<table><tr><th>target</th><th>case</th><th>want</th><th>got</th><th>met</th></tr>${
          report.targets.map((t) =>
            `<tr><td>${escapeHtml(t.target)}</td><td class="id">${idHtml(t.id)}</td>` +
            // the figures of the console and summary.md ("target 0.25", got "0.00021"; the page
            // wrote "0.250" and "2.10e-4")
            `<td class="n">${t.want}</td><td class="n">${
              t.got === null ? "–" : benchFraction(t.got)
            }${
              // the fastest repetition's figure beside the median's, as the console and
              // summary.md give it (never judged)
              t.fastest === undefined || t.implausible
                ? ""
                : `<br><small>fastest repetition ${benchFraction(t.fastest)}${
                  t.fastestImplausible ? " (above 1: faster than the measured ceilings allow)" : ""
                }</small>`}</td>` +
            `<td>${
              t.implausible
                ? "not judged: above 1, faster than the measured ceilings (see the warnings)"
                : t.notRun
                // a refused or failed case is no shortfall: its status, not a bold "no"
                ? `not judged: ${escapeHtml(targetNotRunWords(t))}`
                : t.met
                ? "yes"
                // how far from the goal, as the console and summary.md say it
                : `<b>no</b>${
                  t.shortfall === null ? "" : `, short by ${shortfallWords(t.shortfall)}`
                }`
            }</td></tr>`
          ).join("") +
          // the class's targets whose cases this bench did not run (as the table and summary.md)
          targetsNotBenched(report).map((name) =>
            `<tr><td>${escapeHtml(name)}</td><td class="id">–</td><td class="n">–</td>` +
            `<td class="n">–</td><td>not judged: its case was not benched</td></tr>`
          ).join("")
        }</table>`,
    ));
  }
  if (report.warnings?.length) {
    sections.push(section(
      "warnings",
      "Warnings",
      `<ul>${report.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join("")}</ul>`,
    ));
  }
  sections.push(section("cases", "Cases", casesTable(report.records)));
  const failed = report.records.filter((r) => r.status === "error").length;
  const measured = report.records.filter((r) => r.status === "ok").length;
  // every case refused (a --backend of the other path, a device that lacks f16): a bench
  // that measured nothing read green
  const nothing = measured === 0 && report.records.length > 0;
  return htmlPage({
    title: options.title ?? "Benchmark",
    facts: [
      ["Device", report.machine.adapter],
      ...(report.machine.deviceKey ? [["Device key", report.machine.deviceKey] as const] : []),
      ["Runtime", runtimeLabel({ deno: report.machine.deno, browser: report.machine.browser })],
      ["Deno", report.machine.deno],
      ["Host", `${report.machine.cpu}, ${report.machine.cores} cores`],
      ["Ceilings", ceilingsLine(report)],
      ["Clock", c.source],
    ],
    verdict: {
      ok: failed === 0,
      // An interrupted run is not all good: amber, its cases not run said first (the green
      // verdict counted only the cases that ran, the interruption a warning further down).
      warn: report.interrupted !== undefined || nothing,
      text:
        (report.interrupted === undefined ? "" : `${interruptedVerdict(report.interrupted)}; `) +
        (nothing && failed === 0 ? "nothing was measured; " : "") +
        `${plural(report.records.length, "case")}: ${measured} measured, ${
          report.records.filter((r) => r.status === "unsupported").length
        } ` +
        `unsupported, ${failed} error. Benchmarks report figures; they never fail on speed.`,
    },
    sections,
  });
}

/**
 * Writes report.html of a benchmark atomically.
 *
 * @example
 * ```ts ignore
 * import { writeBenchHtml } from "./bench_html.ts";
 * await writeBenchHtml("out/bench/report.html", report, { title: "decode" });
 * ```
 */
export async function writeBenchHtml(
  path: string,
  report: BenchReport,
  options: BenchHtmlOptions = {},
): Promise<void> {
  await writeTextAtomic(path, await benchReportHtml(report, options));
}

function interruptedVerdict(i: BenchInterruption): string {
  return `interrupted by ${i.signal}: ${i.selected - i.notRun.length} of ${
    plural(i.selected, "selected case")
  } ran, ${i.notRun.length} not run`;
}

function ceilingsLine(r: BenchReport): string {
  const c = r.ceilings;
  const reference = referenceLine(r);
  // two decimals, as memoryLine gives the best of them (one decimal here read "texture read
  // 16.5 GB/s, memory roofline 16.51 GB/s": one figure at two precisions)
  return `copy ${benchFigure(c.copyGBps)} GB/s, read ${benchFigure(c.readGBps)} GB/s, ` +
    (c.textureReadGBps === undefined
      ? ""
      : `texture read ${benchFigure(c.textureReadGBps)} GB/s, `) +
    `memory roofline ${memoryLine(c)}, FMA f32 ` +
    `${benchRate(c.fmaGflops)} GFLOP/s` +
    (c.fmaF16Gflops === null ? "" : `, FMA f16 ${benchRate(c.fmaF16Gflops)} GFLOP/s`) +
    measuredWhen(c) + (reference === null ? "" : `; joined with the ${reference}`);
}

/**
 * A GFLOP/s cell: one decimal from 10 up, three significant digits below (one decimal read a
 * lavapipe case's 0.087 and 0.150 GFLOP/s as "0.1" and "0.2", and two cases 25% apart both
 * as "0.2"); "–" without one.
 */
function rateCell(v: number | undefined): string {
  if (v === undefined) return "–";
  // the figure of summary.md and the console
  return benchRate(v);
}

/**
 * A case's spread cell: its fastest and slowest timed repetitions, as summary.md and the
 * console give them ("–" without them). The page gave the median alone: a case whose
 * repetitions ran 0.44 to 3.19 ms read as a steady 0.469.
 */
function spreadCell(r: BenchRecord): string {
  return r.ms_min === undefined || r.ms_max === undefined
    ? "–"
    : `${benchMs(r.ms_min)}–${benchMs(r.ms_max)}`;
}

/** A figure's cell as `fmt` writes it, "–" without one. */
function cell(v: number | undefined, fmt: (x: number) => string): string {
  return v === undefined ? "–" : fmt(v);
}

function casesTable(records: readonly BenchRecord[]): string {
  const rows = records.map((r) =>
    `<tr data-id="${escapeHtml(r.id)}"><td class="id">${idHtml(r.id)}</td><td>${
      r.status === "ok" ? "ok" : `<b>${escapeHtml(r.status)}</b>: ${escapeHtml(r.reason ?? "")}`
    }</td><td class="n">${cell(r.ms, benchMs)}</td><td class="n">${spreadCell(r)}</td>` +
    `<td class="n">${rateCell(r.gflops)}</td>` +
    // the figures of summary.md and the console: num read 0.0346 GB/s as "0.03", a 0.360 ms
    // case's time "0.360" where they wrote "0.36", a fraction 0.00021 as "2.10e-4"
    `<td class="n">${cell(r.gbps, benchGbps)}</td><td class="n">${
      cell(r.roofline_fraction, benchFraction)
    }</td>` +
    `<td>${escapeHtml(r.bound ?? "–")}</td><td>${escapeHtml(r.backend ?? "–")}</td>` +
    `<td class="variant">${
      escapeHtml(r.variant === undefined ? "–" : variantLabel(r.variant))
    }</td></tr>`
  ).join("\n");
  return `<table><tr><th>id</th><th>status</th><th>ms</th>` +
    `<th title="the fastest and slowest timed repetitions">spread (ms)</th>` +
    `<th>GFLOP/s</th><th>GB/s</th>` +
    `<th>roofline fraction</th><th>bound</th><th>backend</th><th>variant</th></tr>\n${rows}</table>`;
}

/** The roofline plot's size, in pixels. */
const ROOFLINE_WIDTH = 560;
const ROOFLINE_HEIGHT = 340;

async function rooflineChart(pts: RooflinePoint[], report: BenchReport): Promise<string> {
  const c = report.ceilings;
  // The x axis: whole decades around 4x the points' range, as a log scale rounds them. The
  // roofs span all of it: drawn over the 4x range alone they stopped short of the plot's
  // right end, and a ridge near there (SwiftShader's, 12.4 FLOP/byte) left no flat peak.
  const [lo, hi] = decadeDomain(
    Math.min(...pts.map((p) => p.intensity)) / 4,
    Math.max(...pts.map((p) => p.intensity)) * 4,
  );
  // The roofline of each compute ceiling: min(memory bandwidth x intensity, FMA peak), drawn
  // from its ridge point; a log x grid of 40 points is enough for straight log-log lines.
  // The memory slope is the best of the copy, read and texture-read ceilings, as the
  // fractions are judged (bench/ceilings.ts memoryRoof).
  const mem = memoryRoof(c);
  const memName = `${mem.ceiling} ${benchFigure(mem.gbps)} GB/s`;
  const roofs: { ceiling: string; intensity: number; gflops: number; tip: string }[] = [];
  const peaks: [string, number][] = [[`${memName}, FMA f32`, c.fmaGflops]];
  if (c.fmaF16Gflops !== null) peaks.push([`${mem.ceiling}, FMA f16`, c.fmaF16Gflops]);
  for (const [name, peak] of peaks) {
    const ridge = peak / mem.gbps;
    const xs = [lo, ...Array.from({ length: 39 }, (_, i) => lo * (hi / lo) ** ((i + 1) / 39))];
    if (ridge > lo && ridge < hi) xs.push(ridge);
    for (const x of xs.sort((a, b) => a - b)) {
      roofs.push({
        ceiling: name,
        intensity: x,
        gflops: Math.min(mem.gbps * x, peak),
        tip: `roof: ${name} ${benchRate(peak)} GFLOP/s`,
      });
    }
  }
  // The plot's domains, whole decades as a log scale rounds them, set on every layer: the
  // labels are placed in pixels (report/html/label_place.ts) and need the scales drawn.
  const gs = [...roofs.map((r) => r.gflops), ...pts.map((p) => p.gflops)];
  const frame = {
    width: ROOFLINE_WIDTH,
    height: ROOFLINE_HEIGHT,
    x: [lo, hi] as const,
    y: decadeDomain(Math.min(...gs), Math.max(...gs)),
  } as const;
  const xScale = { type: "log" as const, domain: [...frame.x], nice: false };
  const yScale = { type: "log" as const, domain: [...frame.y], nice: false };
  // The memory slope's label usually under its low end; each FMA peak's at the plot's right
  // end, over its flat line (at the ridge, the f16 label sat under the f32 roof's slope, which
  // rises through it). Where a point lies there, the label moves along its line to a spot
  // that covers none (a case on the roof at the lowest intensity sat under "texture read").
  const firstRidge = c.fmaGflops / mem.gbps;
  const slopeEnd = Math.min(hi, Math.max(lo, firstRidge));
  const flat = (peak: number) => {
    const from = Math.min(hi, Math.max(lo, peak / mem.gbps));
    return [{ x: hi, y: peak }, ...(from < hi ? [{ x: from, y: peak }] : [])];
  };
  const closePeak = (peak: number) => Math.abs(Math.log10(peak / c.fmaGflops)) <= 0.15;
  const closeF16 = c.fmaF16Gflops !== null && closePeak(c.fmaF16Gflops) ? c.fmaF16Gflops : null;
  const wanted: LineLabel[] = [
    {
      text: memName,
      along: [{ x: lo, y: mem.gbps * lo }, { x: slopeEnd, y: mem.gbps * slopeEnd }],
      usual: { align: "left", dx: 4, dy: 12 },
    },
    ...peaks.filter(([, peak], i) => i === 0 || !closePeak(peak))
      .map(([name, peak], i): LineLabel => ({
        // The header's figure (benchRate): a whole number read 5.46 as "5" against the
        // header's 5.5, and a peak under 0.5 GFLOP/s (a software adapter's f16) as "0".
        // An f16 peak too close to label apart is named in the f32 label: its line was
        // drawn unlabelled, a second flat roof no reader could name.
        text: `${name.replace(/^.*, /, "")} ${benchRate(peak)}` +
          (i === 0 && closeF16 !== null ? `, f16 ${benchRate(closeF16)}` : "") + " GFLOP/s",
        along: flat(peak),
        usual: { align: "right", dx: -4, dy: -7 },
      })),
  ];
  const roofLines = peaks.map(([name]) =>
    roofs.filter((r) => r.ceiling === name).map((r) => ({ x: r.intensity, y: r.gflops }))
  );
  const labels = placeLineLabels(
    frame,
    wanted,
    pts.map((p) => ({ x: p.intensity, y: p.gflops })),
    roofLines,
  );
  return await chartFigure({
    kind: "roofline",
    marks: pts.length,
    caption: "Achieved GFLOP/s against arithmetic intensity (FLOP per byte, FlashMLA's " +
      "formulas), under the ceilings measured in the same run: memory bandwidth (slope: the " +
      "best of the copy, read and texture-read ceilings) and the FMA peak (flat).",
    spec: {
      width: ROOFLINE_WIDTH,
      height: ROOFLINE_HEIGHT,
      layer: [
        {
          data: { values: roofs },
          mark: { type: "line", strokeDash: [6, 3], color: "#888" },
          encoding: {
            x: { field: "intensity", type: "quantitative", scale: xScale },
            y: { field: "gflops", type: "quantitative", scale: yScale },
            detail: { field: "ceiling", type: "nominal" },
            // the line's hover names its roof: Vega's own named one point of it, unrounded
            // ("intensity: 0.1; gflops: 1.43403256577")
            description: { field: "tip" },
          },
        },
        // one text layer a label: its anchor is where the text starts or ends, its middle
        ...labels.map((l) => ({
          data: { values: [{ intensity: l.x, gflops: l.y, text: l.text }] },
          mark: {
            type: "text" as const,
            align: l.align,
            baseline: "middle" as const,
            fontSize: 11,
            color: "#555",
          },
          encoding: {
            x: { field: "intensity", type: "quantitative" as const, scale: xScale },
            y: { field: "gflops", type: "quantitative" as const, scale: yScale },
            text: { field: "text" },
          },
        })),
        {
          // the hover at the tables' figures: Vega's own gave every channel unrounded and
          // GFLOP/s twice ("achieved GFLOP/s (log): 0.115447129011; ...; gflops:
          // 0.11544712901053818" where the tables say 0.115)
          data: {
            values: pts.map((p) => ({
              ...p,
              tip: `id: ${p.id}; dtype, path: ${p.kind}; ${benchRate(p.gflops)} GFLOP/s at ` +
                `${benchFigure(p.intensity)} FLOP/byte`,
            })),
          },
          mark: { type: "point", filled: true, size: 70 },
          encoding: {
            x: {
              field: "intensity",
              type: "quantitative",
              scale: xScale,
              title: "arithmetic intensity (FLOP/byte, log)",
            },
            y: {
              field: "gflops",
              type: "quantitative",
              scale: yScale,
              title: "achieved GFLOP/s (log)",
            },
            color: { field: "kind", type: "nominal", title: "dtype, path" },
            description: { field: "tip" },
          },
        },
      ],
    },
  });
}

/**
 * Stacked bars: a case's passes, coloured by role, on one time axis, each segment the pass's
 * median; over each bar a black tick at the case's `ms` (the median of the core's totals), so
 * that the bar's core part, a sum of medians, is not read as the figure the tables give.
 */
/** Width of the passes plot, in pixels. */
const PASSES_WIDTH = 380;

async function passesChart(
  pts: PassPoint[],
  totals: PassTotal[],
  model: string | null,
): Promise<string> {
  // The roles present, each in its own colour in every page; none red (red marks failures
  // in these pages) and "other" (a pass the harness does not know) grey.
  const colors: Record<string, string> = { core: "#4c78a8", step: "#f58518", other: "#9d9d9d" };
  const roles = Object.keys(colors).filter((r) => pts.some((p) => p.role === r));
  const y = {
    field: "id",
    type: "nominal" as const,
    title: null,
    sort: null,
    axis: { labelLimit: 400 },
  };
  return await chartFigure({
    kind: "passes",
    marks: pts.length,
    caption: `Each case's passes in a step (${model === null ? "" : `${model}; `}each segment ` +
      "a pass's median ms over the timed replays), stacked and coloured by role: the " +
      "core is what ms times and the targets judge; the step's other passes (query " +
      "absorption, up-projection, q's RoPE) are in the submission too. A bar is a sum of " +
      "medians, not a measured total: the black tick is the case's ms, the median of the " +
      "core's total time, which the core segments' sum need not equal. Cache construction " +
      "is outside the step (summary.md lists it).",
    spec: {
      width: PASSES_WIDTH,
      height: { step: 22 },
      layer: [
        {
          // each figure as the tables write it (benchMs): Vega's ".3f" gave a GPU's 0.004 ms
          // pass as "0.004" beside the table's "0.00400", and 123.456 as "123.456"
          data: {
            values: pts.map((p) => ({
              ...p,
              tip: `id: ${p.id}; role: ${p.role}; pass: ${p.pass}; median ms: ${benchMs(p.ms)}`,
            })),
          },
          mark: { type: "bar", stroke: "white", strokeWidth: 0.5 },
          encoding: {
            y,
            x: {
              field: "ms",
              type: "quantitative",
              stack: "zero",
              // Vega's default, a tick every 40 px, printed "0.000.05" and "0.450.50" on a
              // lavapipe step of 0.5 ms; one every 75 px or so keeps the labels apart.
              axis: { tickCount: Math.round(PASSES_WIDTH / 75) },
              title: "ms (each pass's median, stacked; tick: the case's ms)",
            },
            color: {
              field: "role",
              type: "nominal",
              scale: { domain: roles, range: roles.map((r) => colors[r]) },
              title: "role",
            },
            order: { field: "role", sort: "ascending" },
            description: { field: "tip" },
          },
        },
        {
          data: {
            values: totals.map((t) => ({
              ...t,
              tip: `case: ${t.id}; ms (median of the core's totals): ${benchMs(t.ms)}`,
            })),
          },
          mark: { type: "tick", color: "black", opacity: 1, thickness: 2, size: 18 },
          encoding: {
            y,
            x: { field: "ms", type: "quantitative" },
            description: { field: "tip" },
          },
        },
      ],
    },
  });
}

/** Width of one crossover panel's plot, in pixels. */
const CROSSOVER_WIDTH = 300;

async function crossoverChart(pts: CrossoverPoint[]): Promise<string> {
  // The s_k axis over the data only, its ticks ones whose labels never touch (Vega's own log
  // ticks ran "30 4050" together, on an axis rounded out to 1,000 for data ending at 128).
  const sks = pts.map((p) => p.sk).filter((v) => v > 0);
  const domain: [number, number] = sks.length > 0 ? [Math.min(...sks), Math.max(...sks)] : [1, 10];
  const wide: [number, number] = domain[0] === domain[1] ? [domain[0] / 2, domain[1] * 2] : domain;
  return await chartFigure({
    kind: "crossover",
    marks: pts.length,
    caption: "Median kernel time over s_k per sweep: absorbed against dense (expanded). " +
      "Where the lines cross, the cheaper path changes.",
    spec: {
      // each point's hover at the tables' ms (Vega's own: "ms (log): 0.170554")
      data: {
        values: pts.map((p) => ({
          ...p,
          tip: `${p.sweep}; ${p.path}; s_k ${p.sk}: ${benchMs(p.ms)} ms`,
        })),
      },
      facet: { field: "sweep", type: "nominal", title: null },
      columns: 2,
      spec: {
        width: CROSSOVER_WIDTH,
        height: 200,
        mark: { type: "line", point: { filled: true, size: 50 } },
        encoding: {
          x: {
            field: "sk",
            type: "quantitative",
            scale: { type: "log", domain: wide, nice: false },
            axis: { values: logAxisTicks(wide, CROSSOVER_WIDTH), format: "~g" },
            title: "s_k (log)",
          },
          y: { field: "ms", type: "quantitative", scale: { type: "log" }, title: "ms (log)" },
          color: { field: "path", type: "nominal" },
          description: { field: "tip" },
        },
      },
    },
  });
}
