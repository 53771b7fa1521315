/**
 * How a run's reports say the GPU errors raised outside every case's error scope
 * (`RunReport.lateGpuErrors`): the console said them as they came, and the reports did not,
 * so a summary.md read green over errors no case's result includes.
 *
 * @module
 */
import type { LateGpuError } from "../results/types.ts";
import { plural } from "../util/plural.ts";

/** The errors listed one by one at most; the rest are counted (report.json lists them all). */
export const MAX_LATE_GPU_ERRORS_LISTED = 5;

/**
 * The sentence that says a run's late GPU errors, or null without any.
 *
 * @example
 * ```ts
 * import { lateGpuErrorsSentence } from "./late_gpu_errors_text.ts";
 * lateGpuErrorsSentence([{ afterCase: "c1", message: "Buffer destroyed" }]);
 * // "1 GPU error arrived outside every case's error scope ..."
 * lateGpuErrorsSentence([]); // null
 * ```
 */
export function lateGpuErrorsSentence(errors: readonly LateGpuError[] | undefined): string | null {
  if (errors === undefined || errors.length === 0) return null;
  return `${plural(errors.length, "GPU error")} arrived outside every case's error scope: no ` +
    "case's result includes " + (errors.length === 1 ? "it" : "them") + ", so the cases " +
    "around " + (errors.length === 1 ? "it" : "them") + " may have passed on work that " +
    "failed (most likely a pass a backend's launch() left floating, not awaited, that landed " +
    "once its case had ended: await every promise launch() starts). report.json lists each " +
    "under lateGpuErrors.";
}

/**
 * One late GPU error as a list item's text: the case that had last started, and the first
 * line of WebGPU's message.
 *
 * @example
 * ```ts
 * import { lateGpuErrorItem } from "./late_gpu_errors_text.ts";
 * lateGpuErrorItem({ afterCase: "c1", message: "Buffer destroyed\n  at x" });
 * // 'after case c1 had started: Buffer destroyed'
 * ```
 */
export function lateGpuErrorItem(e: LateGpuError): string {
  return `${e.afterCase === null ? "before any case" : `after case ${e.afterCase} had started`}: ${
    e.message.split("\n")[0]
  }`;
}
