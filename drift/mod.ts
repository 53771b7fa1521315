/**
 * Drift detection: baselines per device class, comparison of a run with a baseline
 * (numeric, support and speed drift, attributed to what changed in the environment),
 * statistics (Mann-Whitney U, step detection), the run history over `node:sqlite`, and the
 * upgrade check. Works on run reports; never runs a kernel.
 *
 * @example
 * ```ts ignore
 * import { baselineFromReport, compareBaselines, compareToMarkdown, readBaseline } from "./mod.ts";
 * const base = await readBaseline("baselines/llvmpipe-65541-vulkan.json");
 * const report = compareBaselines(base, await baselineFromReport(runReport));
 * console.log(compareToMarkdown(report));
 * ```
 *
 * @module
 */
export * from "./types.ts";
export * from "./errors.ts";
export * from "./device_key.ts";
export * from "./stats.ts";
export { median, quantile } from "../util/stats.ts";
export type { StopSignal } from "../util/stop_signals.ts";
export * from "./thresholds.ts";
export * from "./kernel_files.ts";
export * from "./baseline.ts";
export * from "./pool.ts";
export * from "./attribution.ts";
export * from "./compare.ts";
export * from "./speed_load.ts";
export * from "./render.ts";
export * from "./step_detect.ts";
export * from "./history.ts";
export * from "./upgrade_check.ts";
export * from "./after_run.ts";
export * from "./drift_html.ts";
export * from "./history_html.ts";
