/**
 * The repeat loop of `bench` and `run` (kernels/measure.ts): replays a case's recorded
 * passes (kernels/attention.ts hands them over in a session), one submission per
 * repetition, after untimed warm-up submissions.
 *
 * @module
 */
import { encodeDispatch } from "../gpu/dispatch.ts";
import { PassTimer, type Timing } from "../gpu/timing.ts";
import type { RecordedPass } from "./launch.ts";

/** Options of {@link replayPasses}. */
export interface ReplayOptions {
  /** Timed repetitions. */
  reps: number;
  /** Untimed submissions first (default 1). */
  warmup?: number;
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
  const limit = device.limits.maxComputeWorkgroupsPerDimension;
  const out: Timing[] = [];
  for (let i = 0; i < warmup + options.reps; i++) {
    const t = new PassTimer(device, Math.max(1, passes.length));
    try {
      const e = device.createCommandEncoder({ label: "replay" });
      for (const p of passes) {
        const [x, y = 1] = p.workgroups;
        encodeDispatch(e, p.pipeline, {
          group: p.group,
          workgroups: p.workgroups,
          label: p.name,
          limit,
          timestampWrites: x * y > 0 ? t.writes(p.name) : undefined,
        });
      }
      t.resolve(e);
      const w0 = performance.now();
      device.queue.submit([e.finish()]);
      const timed = await t.finish(w0);
      if (i >= warmup) out.push(timed);
    } finally {
      t.destroy();
    }
  }
  return out;
}
