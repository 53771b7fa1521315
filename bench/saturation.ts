/**
 * How many compute units a device has, measured (WebGPU does not say): the saturation
 * point of `devices --measure`. Each workgroup of the probe runs the 32-chain FMA kernel
 * of bench/ceilings.wgsl with 256 invocations: enough independent FMAs to keep one SM
 * (or one CPU thread) busy alone, and on an NVIDIA SM too many registers for a second
 * such workgroup to share it. So while the dispatch has no more workgroups than the
 * device has units, they all run at once and the time stays that of one workgroup;
 * one more, and a unit must run two in turn: the time steps up towards twice. The
 * largest count before that step is the estimate.
 *
 * The search doubles the count from 1 until the time passes {@link STEP_RATIO} times
 * the one-workgroup time, then bisects between the last two counts. MLA_HARNESS_SM_COUNT
 * (or a caps file's `smCount`) takes such a figure where the SM table
 * (adapter/device_class.ts) has none.
 *
 * @module
 */
import { bindBuffers } from "../gpu/dispatch.ts";
import { createStorage, createUniform, UniformWriter } from "../gpu/buffers.ts";
import type { GpuContext } from "../gpu/device.ts";
import { readSourceText } from "../gpu/text_source.ts";
import type { TimingSource } from "../gpu/timing.ts";
import { pipelineCacheOf } from "../kernels/attention.ts";
import { specializeSource } from "../kernels/source.ts";
import { fastestTimedMs } from "./ceilings.ts";
import { type Samples, timeDispatch } from "./timing.ts";
import { plural } from "../util/plural.ts";

/** Invocations per workgroup of the probe. */
export const SATURATION_WG = 256;
/** Time over the one-workgroup time that counts as a second wave (midway to 2x). */
export const STEP_RATIO = 1.5;
/** The most workgroups the search tries. */
export const SATURATION_MAX_WORKGROUPS = 16384;

/** One point of the sweep. */
export interface SaturationPoint {
  /** Workgroups dispatched. */
  readonly workgroups: number;
  /** Time of the dispatch, ms: the fastest of its repetitions. */
  readonly ms: number;
}

/** The measured saturation point. */
export interface Saturation {
  /** Invocations per workgroup of the probe. */
  readonly invocationsPerWorkgroup: number;
  /**
   * Workgroups that run at once: the largest count whose time stayed under
   * {@link STEP_RATIO} times the one-workgroup time (an estimate of the SM count on a
   * GPU, of the threads on a CPU implementation); null when even the largest count
   * tried did not step up.
   */
  readonly computeUnits: number | null;
  /** Clock of the times. */
  readonly source: TimingSource;
  /** Every count tried, in the order tried. */
  readonly sweep: readonly SaturationPoint[];
}

/**
 * The search over workgroup counts, given a way to time one count: doubling from 1
 * while the time stays under `STEP_RATIO` x the time of 1, then bisection between the
 * last count under and the first over; then the time of 1 again, and the search redone
 * against it when it is more than 10% faster (contention had slowed the first). Pure, so
 * it is tested on synthetic devices.
 *
 * @example
 * ```ts
 * import { findSaturation } from "./saturation.ts";
 * // a device of 132 units: one wave up to 132 workgroups, then two
 * const r = await findSaturation((n) => Promise.resolve(Math.ceil(n / 132)));
 * r.computeUnits; // 132
 * ```
 */
export async function findSaturation(
  timeOf: (workgroups: number) => Promise<number>,
  options: { max?: number } = {},
): Promise<{ computeUnits: number | null; sweep: SaturationPoint[] }> {
  const max = options.max ?? SATURATION_MAX_WORKGROUPS;
  const sweep: SaturationPoint[] = [];
  const time = async (n: number) => {
    const ms = await timeOf(n);
    sweep.push({ workgroups: n, ms });
    return ms;
  };
  const search = async (one: number): Promise<number | null> => {
    const stepped = (ms: number) => ms > STEP_RATIO * one;
    let lo = 1; // the largest count known not to step up
    let hi = 0; // the smallest count known to step up (0: none yet)
    for (let n = 2; n <= max; n *= 2) {
      if (stepped(await time(n))) {
        hi = n;
        break;
      }
      lo = n;
    }
    if (hi === 0) return null;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (stepped(await time(mid))) hi = mid;
      else lo = mid;
    }
    return lo;
  };
  const one = await time(1);
  const first = await search(one);
  // The one-workgroup time is the yardstick of every step: if contention slowed it, a
  // second wave can pass for the first (3 units on a 2-thread CPU). Timed again after the
  // search; when it is clearly faster, the search is redone against it.
  const again = await time(1);
  if (again >= 0.9 * one) return { computeUnits: first, sweep };
  return { computeUnits: await search(again), sweep };
}

/**
 * The time of one workgroup count of the saturation search: its fastest repetition that took
 * time. The fastest, not the median: on a shared machine contention only ever adds time, and
 * it moved the median of one count by up to 1.7x on a 2-core VM. One that took time: a 0 ms
 * repetition (timestamps that did not advance) as the one-workgroup time made every count
 * "step up", and `devices --measure` printed "about 1" compute unit and
 * MLA_HARNESS_SM_COUNT=1 to set; none that took time throws bench/ceilings.ts's
 * CeilingNotTimedError (`devices` says it in one line, exit 3).
 *
 * @example
 * ```ts
 * import { saturationMs } from "./saturation.ts";
 * saturationMs(4, { source: "timestamp-query", ms: [0, 1.3, 1.2] }); // 1.2
 * ```
 */
export function saturationMs(workgroups: number, samples: Samples): number {
  return fastestTimedMs(`FMA (saturation search, ${plural(workgroups, "workgroup")})`, samples);
}

/**
 * Measure the saturation point of the context's device (about a second on lavapipe;
 * about 17 counts of 7 dispatches each on a GPU with 132 SMs).
 *
 * @example
 * ```ts ignore
 * import { GpuContext } from "../gpu/device.ts";
 * import { measureSaturation } from "./saturation.ts";
 * const ctx = await GpuContext.create({ optionalFeatures: ["timestamp-query"] });
 * (await measureSaturation(ctx)).computeUnits; // 132 on an H100 SXM, if all goes well
 * ```
 */
export async function measureSaturation(
  ctx: GpuContext,
  options: { reps?: number } = {},
): Promise<Saturation> {
  const device = ctx.device;
  const raw = await readSourceText(new URL("./ceilings.wgsl", import.meta.url));
  // 32 chains x 1024 vec4 FMAs per invocation, 16.8 MFLOP per workgroup: about 1.3 ms on one
  // lavapipe thread, about 33 us on one H100 SM (128 FP32 lanes at ~2 GHz), well above the
  // timestamp resolution and a GPU's per-dispatch cost.
  const pipeline = await pipelineCacheOf(ctx).get({
    fileName: "bench/ceilings.wgsl",
    code: specializeSource(raw, {
      dtype: "f32",
      params: { WG: SATURATION_WG, RUN: 16, ITERS: 1024 },
    }),
  }, { entryPoint: "fma_32" });
  const n = SATURATION_MAX_WORKGROUPS * SATURATION_WG;
  const dst = createStorage(device, n * 16, "saturation.dst");
  const src = createStorage(device, 16, "saturation.src");
  const uniform = createUniform(
    device,
    new UniformWriter().u32(n).u32(0).f32(1.5).u32(0).finish(),
  );
  let source: TimingSource = "wall-clock";
  try {
    const group = bindBuffers(device, pipeline, [uniform, src, dst]);
    const r = await findSaturation(async (workgroups) => {
      const s = await timeDispatch(device, pipeline, {
        group,
        workgroups: [workgroups],
        reps: options.reps ?? 7,
      });
      source = s.source;
      return saturationMs(workgroups, s);
    });
    return { invocationsPerWorkgroup: SATURATION_WG, source, ...r };
  } finally {
    for (const b of [dst, src, uniform]) b.destroy();
  }
}

/**
 * Lines about a saturation point, next to what the adapter knows of the SM count.
 *
 * @example
 * ```ts
 * import { formatSaturation } from "./saturation.ts";
 * formatSaturation({ invocationsPerWorkgroup: 256, computeUnits: 114, source: "timestamp-query",
 *   sweep: [] }, { kind: "gpu", smCount: null, smCountSource: "unknown" });
 * // "compute units: about 114 (...)\n  the adapter knows no SM count for this device: ..."
 * ```
 */
export function formatSaturation(
  s: Saturation,
  known: { kind: "cpu" | "gpu" | null; smCount: number | null; smCountSource: string },
): string {
  const tried = s.sweep.map((p) => p.workgroups).join(", ");
  const what = s.computeUnits === null
    ? `no step up to ${SATURATION_MAX_WORKGROUPS} workgroups`
    : `about ${s.computeUnits}`;
  const head = `compute units: ${what} (measured: ${s.invocationsPerWorkgroup}-invocation FMA ` +
    `workgroups run at once up to that count; tried ${tried})`;
  if (s.computeUnits === null) return head;
  const adapter = known.kind !== "gpu"
    ? "a CPU-class device: its threads; the adapter's CPU kernels do not use an SM count"
    : known.smCount === null
    ? `the adapter knows no SM count for this device: MLA_HARNESS_SM_COUNT=${s.computeUnits} ` +
      `(or "smCount": ${s.computeUnits} in a caps file) gives it this one`
    : `the adapter uses ${known.smCount} SMs (${known.smCountSource})`;
  return `${head}\n  ${adapter}`;
}
