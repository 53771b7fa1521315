/**
 * Repeated timing of one dispatch (the ceilings) with GPU timestamps when the
 * device has timestamp-query, wall clock (submit to onSubmittedWorkDone) otherwise;
 * every result says which clock.
 *
 * @module
 */
import type { TimingSource } from "../gpu/timing.ts";

/** Raw samples of a repeated measurement. */
export interface Samples {
  /** Which clock produced the samples. */
  readonly source: TimingSource;
  /** One duration per timed repetition, in milliseconds. */
  readonly ms: readonly number[];
}

/** Options of {@link timeDispatch}. */
export interface TimeDispatchOptions {
  /** Bind group 0 of the pipeline. */
  group: GPUBindGroup;
  /** Workgroup counts. */
  workgroups: readonly [number, number?, number?];
  /** Untimed repetitions first (lavapipe compiles a pipeline at its first dispatch). Default 2. */
  warmup?: number;
  /** Timed repetitions. Default 7. */
  reps?: number;
}

/**
 * Time one dispatch `reps` times, each in its own submission, after `warmup`
 * untimed ones.
 *
 * @example
 * ```ts ignore
 * import { timeDispatch } from "./timing.ts";
 * declare const device: GPUDevice, pipeline: GPUComputePipeline, group: GPUBindGroup;
 * const { source, ms } = await timeDispatch(device, pipeline, { group, workgroups: [64] });
 * ```
 */
export async function timeDispatch(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  options: TimeDispatchOptions,
): Promise<Samples> {
  const [x, y = 1, z = 1] = options.workgroups;
  const stamps = device.features.has("timestamp-query");
  const qs = stamps ? device.createQuerySet({ type: "timestamp", count: 2 }) : null;
  const resolveBuf = stamps
    ? device.createBuffer({
      size: 16,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    })
    : null;
  const staging = stamps
    ? device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST })
    : null;
  const ms: number[] = [];
  try {
    const total = (options.warmup ?? 2) + (options.reps ?? 7);
    for (let i = 0; i < total; i++) {
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass(
        qs
          ? {
            timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 },
          }
          : {},
      );
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, options.group);
      pass.dispatchWorkgroups(x, y, z);
      pass.end();
      if (qs && resolveBuf && staging) {
        enc.resolveQuerySet(qs, 0, 2, resolveBuf, 0);
        enc.copyBufferToBuffer(resolveBuf, 0, staging, 0, 16);
      }
      const t0 = performance.now();
      device.queue.submit([enc.finish()]);
      let d: number;
      if (staging) {
        await staging.mapAsync(GPUMapMode.READ);
        const s = new BigUint64Array(staging.getMappedRange().slice(0));
        staging.unmap();
        d = s[1] > s[0] ? Number(s[1] - s[0]) / 1e6 : 0;
      } else {
        await device.queue.onSubmittedWorkDone();
        d = performance.now() - t0;
      }
      if (i >= (options.warmup ?? 2)) ms.push(d);
    }
  } finally {
    qs?.destroy();
    resolveBuf?.destroy();
    staging?.destroy();
  }
  return { source: stamps ? "timestamp-query" : "wall-clock", ms };
}
