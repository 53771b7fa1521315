/**
 * Charts of the HTML report: a Vega-Lite spec compiled to Vega and rendered to an SVG
 * string when the report is written (no DOM, no canvas, no network), so the page shows its
 * plots without JavaScript.
 *
 * @module
 */
import type { TopLevelSpec } from "vega-lite";

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
  const [{ logger, None, parse, View }, { compile }] = await loadLibraries();
  // Vega-Lite's warnings (e.g. a scale option it drops) would print on every report write;
  // the charts are fixed specs checked by the tests, so the loggers are silenced.
  const quiet = logger(None);
  const vg = compile({
    config: CHART_CONFIG,
    ...spec,
  } as TopLevelSpec, { logger: quiet }).spec;
  const view = new View(parse(vg), { renderer: "none", logLevel: None });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
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
 * Escapes text for HTML content and attribute values.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./chart.ts";
 * escapeHtml('<a href="x">'); // "&lt;a href=&quot;x&quot;&gt;"
 * ```
 */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

// One look for every chart: readable text, no chart border; system fonts only (no web fonts).
const CHART_CONFIG = {
  font: "system-ui, sans-serif",
  view: { stroke: "#ddd" },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#eee" },
  legend: { labelFontSize: 11, titleFontSize: 12 },
};
