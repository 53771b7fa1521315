/**
 * Charts of the HTML report: a Vega-Lite spec compiled to Vega and rendered to an SVG
 * string when the report is written (no DOM, no canvas, no network), so the page shows its
 * plots without JavaScript.
 *
 * @module
 */
import type { TopLevelSpec } from "vega-lite";
import { visibleControls } from "../md_text.ts";

// Vega and Vega-Lite are loaded on the first chart, not when this module is imported: every
// command imports the report writers, and loading the two libraries takes about half a second.
let libraries: Promise<[typeof import("vega"), typeof import("vega-lite")]> | null = null;
function loadLibraries() {
  libraries ??= Promise.all([import("vega"), import("vega-lite")]);
  return libraries;
}

/** A rendered chart. */
export interface Chart {
  /** Which chart (headroom, roofline, crossover, drift, history). */
  readonly kind: string;
  /** Inline SVG markup. */
  readonly svg: string;
  /** Data marks drawn (points or line vertices the reader can count). */
  readonly marks: number;
}

/**
 * Renders a Vega-Lite spec to an SVG string. Data must be inline (`data.values`): the
 * renderer is given no loader, so nothing is fetched.
 *
 * @example
 * ```ts
 * import { renderSvg } from "./chart.ts";
 * const svg = await renderSvg({
 *   data: { values: [{ x: 1, y: 2 }] },
 *   mark: "point",
 *   encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } },
 * });
 * svg.startsWith("<svg"); // true
 * ```
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, { compile }] = await loadLibraries();
  const { logger, None, parse, View } = vega;
  measureTextWith(vega);
  // Vega-Lite's warnings (e.g. a scale option it drops) would print on every report write;
  // the charts are fixed specs checked by the tests, so the loggers are silenced.
  const quiet = logger(None);
  const vg = compile({
    config: CHART_CONFIG,
    ...spec,
  } as TopLevelSpec, { logger: quiet }).spec;
  const view = new View(parse(vg), { renderer: "none", logLevel: None });
  try {
    return hoverTitles(await view.toSVG());
  } finally {
    view.finalize();
  }
}

/**
 * Each drawn item's description (the `aria-label` Vega gives it: its fields and values, the
 * case id among them) as the item's SVG `<title>` instead, which a browser shows on hover and
 * which is the item's accessible name as the label was: in a static SVG nothing else told a
 * reader which case a point is. Text marks keep their label (their text is on the page).
 *
 * @example
 * ```ts
 * import { hoverTitles } from "./chart.ts";
 * hoverTitles('<path aria-label="id: a" role="graphics-symbol" d="M0,0"/>');
 * // '<path role="graphics-symbol" d="M0,0"><title>id: a</title></path>'
 * ```
 */
export function hoverTitles(svg: string): string {
  return svg.replace(
    /<(path|line|rect|circle) aria-label="([^"]*)"( role="graphics-symbol"[^>]*?)\/>/g,
    (_, tag: string, label: string, rest: string) =>
      `<${tag}${rest}><title>${label}</title></${tag}>`,
  );
}

/**
 * Renders a chart and wraps it in a `<figure>` carrying its kind and mark count
 * (`data-chart`, `data-marks`), with a caption.
 *
 * @example
 * ```ts
 * import { chartFigure } from "./chart.ts";
 * const html = await chartFigure({ kind: "demo", caption: "a point", marks: 1, spec: {
 *   data: { values: [{ x: 1 }] }, mark: "point", encoding: { x: { field: "x", type: "quantitative" } },
 * } });
 * html.includes('data-chart="demo"'); // true
 * ```
 */
export async function chartFigure(
  c: { kind: string; caption: string; marks: number; spec: TopLevelSpec },
): Promise<string> {
  const svg = await renderSvg(c.spec);
  return `<figure class="chart" data-chart="${c.kind}" data-marks="${c.marks}">${svg}` +
    `<figcaption>${escapeHtml(c.caption)}</figcaption></figure>`;
}

/**
 * Escapes text for HTML content and attribute values. Control characters are written
 * visibly as `\uXXXX`, as junit.xml and summary.md write them (report/md_text.ts): a user
 * backend's error with an ANSI colour code showed a box and "[31m" on the page, and a NUL
 * went missing.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./chart.ts";
 * escapeHtml('<a href="x">'); // "&lt;a href=&quot;x&quot;&gt;"
 * escapeHtml("\x1b[31mred"); // "\\u001b[31mred"
 * ```
 */
export function escapeHtml(s: string): string {
  return visibleControls(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** The 95 space-separated whole numbers of a width table as an array. */
function widths(list: string): number[] {
  const w = list.trim().split(/\s+/).map(Number);
  if (w.length !== 95 || !w.every(Number.isInteger)) throw new Error("a width table is malformed");
  return w;
}

/**
 * Advance widths of the printable ASCII characters (32 to 126) at 100 px, regular and bold, of
 * the charts' font (`system-ui`) as headless Chromium drew it on Debian (DejaVu Sans, through
 * canvas `measureText`; session 45). DejaVu Sans is wider than the system fonts of other
 * desktops, so text measured with it never runs into what stands beside it elsewhere.
 */
const TEXT_WIDTHS_100PX: { readonly normal: readonly number[]; readonly bold: readonly number[] } =
  {
    normal: widths(
      "32 40 46 84 64 95 78 27 39 39 50 84 32 36 32 34 64 64 64 64 64 64 64 64 64 64 34 34 84 84 84 53 " +
        "100 68 69 70 77 63 58 77 75 29 29 66 56 86 75 79 60 79 69 63 61 73 68 99 69 61 69 39 34 39 84 50 " +
        "50 61 63 55 63 62 35 63 63 28 28 58 28 97 63 61 63 63 41 52 39 63 59 82 59 59 52 64 34 64 84",
    ),
    bold: widths(
      "35 46 52 84 70 100 87 31 46 46 52 84 38 42 38 37 70 70 70 70 70 70 70 70 70 70 40 40 84 84 84 58 " +
        "100 77 76 73 83 68 68 82 84 37 37 77 64 100 84 85 73 85 77 72 68 81 77 110 77 72 73 46 37 46 84 50 " +
        "50 67 72 59 72 68 44 72 71 34 34 67 34 104 71 69 72 72 49 60 48 71 65 92 65 65 58 71 37 71 84",
    ),
  };

/** Width of a character outside the table, at 100 px (a digit's). */
const OTHER_CHAR_WIDTH_100PX = 64;

/**
 * The width in pixels of one line of text in the charts' font: the sum of its characters'
 * widths from {@link TEXT_WIDTHS_100PX}, scaled to `fontSize`.
 *
 * @example
 * ```ts
 * import { textWidth } from "./chart.ts";
 * textWidth("mi", 10, false); // 12.5
 * textWidth("mi", 10, true) > textWidth("mi", 10, false); // true
 * ```
 */
export function textWidth(text: string, fontSize: number, bold: boolean): number {
  const table = bold ? TEXT_WIDTHS_100PX.bold : TEXT_WIDTHS_100PX.normal;
  let w = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    w += code >= 32 && code <= 126 ? table[code - 32] : OTHER_CHAR_WIDTH_100PX;
  }
  return (w * fontSize) / 100;
}

/**
 * A log axis' tick label as the axes format it (d3-format `~g`: six significant digits,
 * insignificant zeros trimmed), so its width can be measured before the chart is drawn.
 *
 * @example
 * ```ts
 * import { logTickLabel } from "./chart.ts";
 * logTickLabel(0.02); // "0.02"
 * logTickLabel(1e-7); // "1e-7"
 * ```
 */
export function logTickLabel(v: number): string {
  const [mantissa, exponent] = v.toPrecision(6).split("e");
  const m = mantissa.includes(".") ? mantissa.replace(/\.?0+$/, "") : mantissa;
  return exponent === undefined ? m : `${m}e${exponent}`;
}

/** Options of {@link logAxisTicks}. */
export interface LogAxisTicksOptions {
  /** The labels' font size in pixels (default 11, the charts' axis labels). */
  readonly fontSize?: number;
  /** Pixels at least between two labels (default 6). */
  readonly gap?: number;
  /**
   * A vertical axis (`width` is its height): a label takes its line's height, centred on its
   * tick, whatever its text (default false).
   */
  readonly vertical?: boolean;
}

/**
 * The tick values of a log axis `width` pixels long over `domain` (whole decades, as the
 * headroom plot's) whose labels ({@link logTickLabel}, measured with {@link textWidth}, the
 * first flush left and the last flush right) never run into each other: every decade, or every
 * second, fifth, ... where even decades would; then 5, 2 and 3 times a decade, and the other
 * digits, where they fit. Vega's own thinning let labels touch ("0.020.03").
 *
 * @example
 * ```ts
 * import { logAxisTicks } from "./chart.ts";
 * logAxisTicks([0.001, 1], 420); // [0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1]
 * logAxisTicks([1e-6, 1e6], 120); // [0.00001, 1, 100000]: every fifth decade
 * logAxisTicks([130, 190], 300); // [130, 190]: its ends, no round value inside
 * logAxisTicks([0.1, 1e6], 300, { vertical: true }); // [0.1, 0.3, 1, 3, 10, ..., 1000000]
 * ```
 */
export function logAxisTicks(
  domain: readonly [number, number],
  width: number,
  options: LogAxisTicksOptions = {},
): number[] {
  const fontSize = options.fontSize ?? 11;
  const gap = options.gap ?? 6;
  const lo = Math.log10(domain[0]), hi = Math.log10(domain[1]);
  if (!(hi > lo) || !(width > 0)) return [domain[0]];
  const x = (v: number) => ((Math.log10(v) - lo) / (hi - lo)) * width;
  const box = (v: number): [number, number] => {
    const at = x(v);
    if (options.vertical) return [at - fontSize * 0.6, at + fontSize * 0.6];
    const w = textWidth(logTickLabel(v), fontSize, false);
    // the axis' end labels are flush with its ends (Vega-Lite's labelFlush on an x axis)
    return at <= 0.5 ? [0, w] : at >= width - 0.5 ? [width - w, width] : [at - w / 2, at + w / 2];
  };
  const kept: { v: number; b: [number, number] }[] = [];
  const fits = (b: [number, number]) =>
    kept.every((k) => b[1] + gap <= k.b[0] || k.b[1] + gap <= b[0]);
  const value = (m: number, e: number) => Number(`${m}e${e}`);
  const first = Math.ceil(lo - 1e-9), last = Math.floor(hi + 1e-9);
  // decades: every one, else every 2nd, 3rd, 5th, 10th, ... (aligned on 1) that fit
  for (const stride of [1, 2, 3, 5, 10, 20, 50, 100]) {
    const decades = [];
    for (let e = first; e <= last; e++) if (e % stride === 0) decades.push(value(1, e));
    const boxes = decades.map(box);
    const apart = boxes.every((b, i) => i === 0 || boxes[i - 1][1] + gap <= b[0]);
    if (apart || stride === 100) {
      decades.forEach((v, i) => kept.push({ v, b: boxes[i] }));
      if (stride > 1) return kept.map((k) => k.v);
      break;
    }
  }
  for (const m of [5, 2, 3, 4, 6, 7, 8, 9]) {
    for (let e = Math.floor(lo) - 1; e <= last; e++) {
      const v = value(m, e);
      const at = Math.log10(v);
      if (at < lo - 1e-9 || at > hi + 1e-9) continue;
      const b = box(v);
      if (fits(b)) kept.push({ v, b });
    }
  }
  // A domain inside one decade with no digit times a power of ten in it (130 to 190): its
  // ends, or the axis had no label at all.
  if (kept.length === 0) return [domain[0], domain[1]];
  return kept.map((k) => k.v).sort((a, b) => a - b);
}

/** The part of Vega's text measuring this module sets (`textMetrics`, not in its types). */
interface VegaTextMetrics {
  width: (
    item: { fontSize?: number; fontWeight?: string | number; limit?: number },
    text?: unknown,
  ) => number;
}

/**
 * Without a canvas Vega guesses a line's width as 0.8 x its length x the font size, about half
 * again wider than it is drawn: axis labels were cut at about 40 characters and the plots
 * pushed right of the space reserved for them. Its documented hook for such renderers
 * (`textMetrics.width`, as vl-convert sets it) measures with {@link textWidth} instead. A
 * label with a limit (`labelLimit`) measures at most the limit, which is also how Vega's
 * truncation asks whether a shortened label fits.
 */
function measureTextWith(vega: unknown): void {
  const metrics = (vega as { textMetrics?: VegaTextMetrics }).textMetrics;
  if (metrics === undefined) return;
  metrics.width = (item, text) => {
    const line = text == null ? "" : String(text).trim();
    const bold = item.fontWeight === "bold" || Number(item.fontWeight) >= 600;
    const w = textWidth(line, item.fontSize ?? 11, bold);
    return item.limit !== undefined && item.limit > 0 ? Math.min(w, item.limit) : w;
  };
}

// One look for every chart: readable text, no chart border; system fonts only (no web fonts).
const CHART_CONFIG = {
  font: "system-ui, sans-serif",
  view: { stroke: "#ddd" },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#eee" },
  legend: { labelFontSize: 11, titleFontSize: 12 },
};
