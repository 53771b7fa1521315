/**
 * Self-contained HTML reports with plots rendered to inline SVG when written (Vega-Lite
 * compiled to Vega, `toSVG()` without a DOM): the run report, and the page and chart kit
 * that bench/bench_html.ts, drift/drift_html.ts and drift/history_html.ts build on.
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
export * from "./label_place.ts";
export * from "./page.ts";
export * from "./run_html.ts";
export * from "./thin.ts";
