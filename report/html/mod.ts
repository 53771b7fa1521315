/**
 * Self-contained HTML reports with plots rendered to inline SVG when written (Vega-Lite
 * compiled to Vega, `toSVG()` without a DOM): runs, benchmarks, drift and history.
 *
 * @example
 * ```ts ignore
 * import { writeRunHtml } from "./mod.ts";
 * await writeRunHtml("out/smoke/report.html", report);
 * ```
 *
 * @module
 */
export * from "./chart.ts";
export * from "./page.ts";
export * from "./run_html.ts";
export * from "./bench_html.ts";
export * from "./drift_html.ts";
export * from "./history_html.ts";
