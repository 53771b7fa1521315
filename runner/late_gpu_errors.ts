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
import { isRemoteDevice, type RunDevice } from "../gpu/runtime.ts";
import { raceTimeout } from "../util/timeout.ts";

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
 * A device in another runtime whose GPU errors outside every error scope come back to Deno
 * (browser/chromium_gpu.ts `ChromiumGpu`: the page listens, and hands each back with the next
 * case's reply). `beforeCase`: it arrived before the case under way started.
 */
export interface LateGpuErrorSource {
  /** Hear of each such error; returns the function that stops. */
  watchLateGpuErrors(
    onError: (late: { readonly message: string; readonly beforeCase: boolean }) => void,
  ): () => void;
  /** Wait for the submitted work to land and hand on what it raised. */
  settleLateGpuErrors(): Promise<void>;
}

/**
 * The device as a {@link LateGpuErrorSource}, or null when it is none (a Deno device is
 * watched with {@link watchLateGpuErrors}; a scripted one hands nothing back).
 *
 * @example
 * ```ts
 * import { lateGpuErrorSource } from "./late_gpu_errors.ts";
 * lateGpuErrorSource({}); // null
 * ```
 */
export function lateGpuErrorSource(device: object): LateGpuErrorSource | null {
  const d = device as Partial<LateGpuErrorSource>;
  return typeof d.watchLateGpuErrors === "function" &&
      typeof d.settleLateGpuErrors === "function"
    ? d as LateGpuErrorSource
    : null;
}

/**
 * Watch a run's device, of either runtime, once (`watched` holds what is watched: a device
 * re-acquired after a loss is watched anew): a Deno device's "uncapturederror", or what a
 * {@link LateGpuErrorSource} hands back (`beforeCase`: before the case under way started).
 * Returns the function that stops, or null when there was nothing (more) to watch.
 *
 * @example
 * ```ts ignore
 * const watched = new WeakSet<object>();
 * const stop = watchRunDevice(ctx, watched, (message, beforeCase) => late.push(message));
 * stop?.();
 * ```
 */
export function watchRunDevice(
  device: RunDevice,
  watched: WeakSet<object>,
  onError: (message: string, beforeCase: boolean) => void,
): (() => void) | null {
  if (!isRemoteDevice(device)) {
    if (watched.has(device.device)) return null;
    watched.add(device.device);
    return watchLateGpuErrors(device.device, (message) => onError(message, false));
  }
  const source = lateGpuErrorSource(device);
  if (source === null || watched.has(source)) return null;
  watched.add(source);
  return source.watchLateGpuErrors((e) => onError(e.message, e.beforeCase));
}

/**
 * Wait (at most {@link LATE_SETTLE_MS} for a Deno device) for the work a run's cases
 * submitted to land, so that an error of a floating pass is raised (or handed back) by then.
 * A lost device, or a page that cannot say (its browser gone), has nothing more to give.
 *
 * @example
 * ```ts ignore
 * await settleRunDevice(ctx);
 * ```
 */
export async function settleRunDevice(device: RunDevice): Promise<void> {
  if (device.lost) return;
  if (!isRemoteDevice(device)) {
    await raceTimeout([device.device.queue.onSubmittedWorkDone()], LATE_SETTLE_MS);
    return;
  }
  await lateGpuErrorSource(device)?.settleLateGpuErrors().catch(() => {});
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
