/**
 * The repeat loop of `bench` and `run` (kernels/measure.ts): replays a case's recorded
 * passes (kernels/attention.ts hands them over in a session), one submission per
 * repetition, after untimed warm-up submissions.
 *
 * Two ways to space the submissions ({@link ReplayMode}); {@link replayModeForClass} picks one
 * by device class for `run`, `bench` and tools/ab_kernels.ts. "queued" (the default here) submits
 * the replays back to back and reads their timestamps afterwards, so the device never
 * waits between them, as in a serving loop. "waited" reads each replay's timestamps back
 * before the next is submitted, so the device idles for one readback (11.6 ms on the
 * H200 of docs/gpu_machine/h200-2026-12-04) between replays: a GPU may lower its clocks
 * meanwhile. It was the only way until session 30. Without timestamp-query the wall
 * clock times each submission from submit to done, so replays are always waited.
 *
 * @module
 */
import { encodeDispatch } from "../gpu/dispatch.ts";
import { PassTimer, type ReplayMode, type Timing } from "../gpu/timing.ts";
import type { RecordedPass } from "./launch.ts";

export type { ReplayMode } from "../gpu/timing.ts";

/** The replay modes, the default first. */
export const REPLAY_MODES: readonly ReplayMode[] = ["queued", "waited"];

/**
 * The spacing `run`, `bench --replay auto` and tools/ab_kernels.ts use on a device of this
 * class: "queued" on a GPU, whose clocks drop while it waits; "waited" on a CPU
 * implementation (lavapipe, SwiftShader) or an unknown one, where the next submission's
 * work would compete with the running replay for the same cores.
 *
 * @example
 * ```ts
 * import { replayModeForClass } from "./replay.ts";
 * replayModeForClass("gpu"); // "queued"
 * replayModeForClass("cpu"); // "waited"
 * ```
 */
export function replayModeForClass(kind: "cpu" | "gpu" | undefined): ReplayMode {
  return kind === "gpu" ? "queued" : "waited";
}

/**
 * The untimed warm-up (`--warmup-ms auto`) `run`, `bench` and tools/ab_kernels.ts give each
 * case on a device of this class: {@link GPU_WARMUP_MS} on a GPU, none elsewhere (a CPU
 * implementation has no clocks to raise).
 *
 * @example
 * ```ts
 * import { warmupMsForClass } from "./replay.ts";
 * warmupMsForClass("gpu"); // 500
 * warmupMsForClass("cpu"); // 0
 * ```
 */
export function warmupMsForClass(kind: "cpu" | "gpu" | undefined): number {
  return kind === "gpu" ? GPU_WARMUP_MS : 0;
}

/**
 * Replays queued before their timestamps are read: bounds the query sets alive at once
 * (each holds two timestamps per pass) while keeping the device busy for many replays.
 */
export const QUEUE_DEPTH = 16;

/**
 * The untimed warm-up `bench --warmup-ms auto` and tools/ab_kernels.ts give each case on a
 * gpu-class device: on the H200 of docs/gpu_machine/h200-2026-12-04 the SM clock's median
 * over a bench run was 435-450 MHz without one and 1980 MHz (its maximum) with it.
 */
export const GPU_WARMUP_MS = 500;

/** Options of {@link replayPasses}. */
export interface ReplayOptions {
  /** Timed repetitions. */
  reps: number;
  /** Untimed submissions first (default 1). */
  warmup?: number;
  /** How the submissions are spaced (default "queued"; "waited" without timestamp-query). */
  mode?: ReplayMode;
  /**
   * Before the counted warm-ups, replay untimed (spaced as `mode` says) until this many
   * milliseconds of wall time have passed (default 0): a GPU that idled while the case
   * compiled raises its clocks only after some time busy.
   */
  warmupMs?: number;
}

/**
 * The mode replays actually run in on `device`: "waited" when it has no timestamp-query
 * (the wall clock can only time a submission it waits for), else the one asked for.
 *
 * @example
 * ```ts ignore
 * effectiveReplayMode(device, "queued"); // "waited" on a device without timestamps
 * ```
 */
export function effectiveReplayMode(device: GPUDevice, mode: ReplayMode = "queued"): ReplayMode {
  return device.features.has("timestamp-query") ? mode : "waited";
}

/**
 * Replay passes `warmup + reps` times and return the timings of the timed ones.
 *
 * @example
 * ```ts ignore
 * await runAttention(ctx, plan, { spec, inputs, session: async (s) => {
 *   timings = await replayPasses(s.device, s.passes, { reps: 7 });
 * } });
 * ```
 */
export async function replayPasses(
  device: GPUDevice,
  passes: readonly RecordedPass[],
  options: ReplayOptions,
): Promise<Timing[]> {
  const warmup = options.warmup ?? 1;
  const total = warmup + options.reps;
  const depth = effectiveReplayMode(device, options.mode) === "queued" ? QUEUE_DEPTH : 1;
  const out: Timing[] = [];
  const warmStart = performance.now();
  while (performance.now() - warmStart < (options.warmupMs ?? 0)) {
    for (let i = 0; i < depth; i++) submitReplay(device, passes, null);
    await device.queue.onSubmittedWorkDone();
  }
  for (let first = 0; first < total; first += depth) {
    const batch: { timer: PassTimer; wallStart: number }[] = [];
    try {
      for (let i = first; i < Math.min(total, first + depth); i++) {
        const b = { timer: new PassTimer(device, Math.max(1, passes.length)), wallStart: 0 };
        batch.push(b); // before the submit, so that a failing submit still frees the timer
        b.wallStart = submitReplay(device, passes, b.timer);
      }
      // Timestamps are read in submission order; the first wait covers the whole batch.
      for (const [k, b] of batch.entries()) {
        const timed = await b.timer.finish(b.wallStart);
        if (first + k >= warmup) out.push(timed);
      }
    } finally {
      for (const b of batch) b.timer.destroy();
    }
  }
  return out;
}

/**
 * Encode and submit one replay of `passes`, timed by `timer` (untimed when null); returns
 * the submit time.
 */
function submitReplay(
  device: GPUDevice,
  passes: readonly RecordedPass[],
  timer: PassTimer | null,
): number {
  const limit = device.limits.maxComputeWorkgroupsPerDimension;
  const e = device.createCommandEncoder({ label: "replay" });
  for (const p of passes) {
    const [x, y = 1] = p.workgroups;
    encodeDispatch(e, p.pipeline, {
      group: p.group,
      workgroups: p.workgroups,
      label: p.name,
      limit,
      timestampWrites: x * y > 0 ? timer?.writes(p.name) : undefined,
    });
  }
  timer?.resolve(e);
  const w0 = performance.now();
  device.queue.submit([e.finish({ label: "replay" })]);
  return w0;
}
