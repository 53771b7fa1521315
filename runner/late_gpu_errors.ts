/**
 * GPU errors WebGPU raises outside every case's error scope (a pass a user backend's
 * `launch()` left floating, not awaited, that landed once its case had ended): raised on the
 * device as "uncapturederror", which nothing listened to, so they were lost without a word.
 * `run` and `compare-runtimes` watch their Deno devices with {@link watchLateGpuErrors}, say
 * the first {@link LATE_ERRORS_SAID} with {@link lateGpuErrorLine} and count the rest with
 * {@link moreLateGpuErrorsLine}.
 *
 * @module
 */
import type { LateGpuError } from "../results/types.ts";
import { plural } from "../util/plural.ts";

/** The GPU errors outside every case's error scope said one by one on stderr. */
export const LATE_ERRORS_SAID = 5;

/** How long the end of a run waits for the GPU work its cases submitted to land, at most. */
export const LATE_SETTLE_MS = 10_000;

/**
 * Listen for "uncapturederror" on a device: `onError` gets each error's message. Returns the
 * function that stops listening (a caller's device goes on after the run).
 *
 * @example
 * ```ts ignore
 * const unwatch = watchLateGpuErrors(ctx.device, (message) => late.push(message));
 * unwatch();
 * ```
 */
export function watchLateGpuErrors(
  device: GPUDevice,
  onError: (message: string) => void,
): () => void {
  const listener = (e: Event) => onError((e as GPUUncapturedErrorEvent).error.message);
  device.addEventListener("uncapturederror", listener);
  return () => device.removeEventListener("uncapturederror", listener);
}

/**
 * The line a GPU error raised outside every case's error scope is said with on stderr.
 *
 * @example
 * ```ts
 * import { lateGpuErrorLine } from "./late_gpu_errors.ts";
 * lateGpuErrorLine({ afterCase: "c1", message: "Buffer has been destroyed" });
 * // 'warning: a GPU error arrived outside every case\'s error scope, after case "c1" ...'
 * ```
 */
export function lateGpuErrorLine(late: LateGpuError): string {
  return `warning: a GPU error arrived outside every case's error scope${
    late.afterCase === null ? "" : `, after case "${late.afterCase}" had started`
  } (most likely a pass a launch() left floating, not awaited, that landed once its case had ` +
    `ended: no case's result includes it; await every promise launch() starts): ` +
    late.message.split("\n")[0];
}

/**
 * The line that counts the errors past the first {@link LATE_ERRORS_SAID}, naming where each
 * is recorded; null when none went unsaid.
 *
 * @example
 * ```ts
 * import { moreLateGpuErrorsLine } from "./late_gpu_errors.ts";
 * moreLateGpuErrorsLine(7, "run.json"); // "warning: and 2 more GPU errors ... run.json ..."
 * moreLateGpuErrorsLine(5, "run.json"); // null
 * ```
 */
export function moreLateGpuErrorsLine(count: number, where: string): string | null {
  if (count <= LATE_ERRORS_SAID) return null;
  return `warning: and ${
    plural(count - LATE_ERRORS_SAID, "more GPU error")
  } outside every case's error scope, each in ${where} under "lateGpuErrors"`;
}
