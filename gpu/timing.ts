/**
 * Timing of compute passes: GPU timestamps (timestamp-query) when the device has
 * them, wall clock around submit + onSubmittedWorkDone otherwise. Every result
 * says which.
 *
 * @module
 */

/** How a duration was measured. */
export type TimingSource = "timestamp-query" | "wall-clock";

/**
 * How timed replays are spaced (kernels/replay.ts): "queued" back to back, their
 * timestamps read afterwards, or "waited", each submitted after the last one's readback.
 */
export type ReplayMode = "queued" | "waited";

/** One timed pass. */
export interface PassTiming {
  /** Pass label. */
  readonly name: string;
  /** Duration in milliseconds (null for wall-clock per-pass: only the total is known). */
  readonly ms: number | null;
  /**
   * Set when the pass's end timestamp was not after its beginning: the device's clock "stood
   * still" (equal) or "went backwards" (end before beginning). Its `ms` then reads 0 and is
   * no measurement. Absent for a pass that took time, and for the wall clock.
   */
  readonly clock?: ClockFault;
}

/** How a pass's timestamps failed to measure it ({@link PassTiming.clock}). */
export type ClockFault = "stood still" | "went backwards";

/** Timing of one submission. */
export interface Timing {
  /** Which clock. */
  readonly source: TimingSource;
  /** Sum of the passes (timestamps) or submit-to-done wall time. */
  readonly totalMs: number;
  /** Per pass. */
  readonly passes: readonly PassTiming[];
}

/**
 * One pass's timing from its two timestamps (ns). An end that is not after the beginning is
 * the device's clock failing, not a pass of 0 ms: it reads 0 with {@link PassTiming.clock}
 * saying how (a negative delta read 0 ms like any other, a measurement to every reader).
 *
 * @example
 * ```ts
 * import { passTimingOf } from "./timing.ts";
 * passTimingOf("scores", 1_000n, 251_000n); // { name: "scores", ms: 0.25 }
 * passTimingOf("scores", 9_000n, 5_000n); // { name: "scores", ms: 0, clock: "went backwards" }
 * ```
 */
export function passTimingOf(name: string, begin: bigint, end: bigint): PassTiming {
  const d = end - begin;
  if (d > 0n) return { name, ms: Number(d) / 1e6 };
  return { name, ms: 0, clock: d === 0n ? "stood still" : "went backwards" };
}

/** The most passes one {@link PassTimer} times: two timestamps each, 4096 per query set. */
export const MAX_TIMED_PASSES = 2048;

/**
 * Collects timestamp writes for up to `maxPasses` compute passes of one command
 * encoder, resolves them and reads them back. Without timestamp-query it hands
 * out no timestampWrites and {@link PassTimer.finish} reports wall-clock time.
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { GpuContext } from "./device.ts";
 * import { PassTimer } from "./timing.ts";
 * const ctx = await GpuContext.create({ optionalFeatures: ["timestamp-query"] });
 * const timer = new PassTimer(ctx.device, 8);
 * const enc = ctx.device.createCommandEncoder();
 * const pass = enc.beginComputePass({ timestampWrites: timer.writes("noop") });
 * pass.end();
 * timer.resolve(enc);
 * const t0 = performance.now();
 * ctx.device.queue.submit([enc.finish()]);
 * const timing = await timer.finish(t0);
 * ```
 */
export class PassTimer {
  readonly #device: GPUDevice;
  readonly #querySet: GPUQuerySet | null;
  readonly #resolveBuf: GPUBuffer | null;
  readonly #max: number;
  readonly #names: string[] = [];

  /**
   * Room for `maxPasses` timed passes on `device`, at most {@link MAX_TIMED_PASSES} (a
   * WebGPU query set holds 4096 timestamps; a bigger room made the case's first pass
   * fail validation, whatever its real number of passes).
   */
  constructor(device: GPUDevice, maxPasses: number) {
    this.#device = device;
    maxPasses = Math.min(maxPasses, MAX_TIMED_PASSES);
    this.#max = maxPasses;
    if (device.features.has("timestamp-query")) {
      this.#querySet = device.createQuerySet({ type: "timestamp", count: 2 * maxPasses });
      this.#resolveBuf = device.createBuffer({
        size: 16 * maxPasses,
        usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      });
    } else {
      this.#querySet = null;
      this.#resolveBuf = null;
    }
  }

  /** Which clock this timer uses. */
  get source(): TimingSource {
    return this.#querySet ? "timestamp-query" : "wall-clock";
  }

  /** timestampWrites for the next pass (undefined without timestamp-query). */
  writes(name: string): GPUComputePassTimestampWrites | undefined {
    this.#names.push(name);
    if (!this.#querySet) return undefined;
    const i = this.#names.length - 1;
    if (i >= this.#max) {
      throw new Error(
        `PassTimer: more than ${this.#max} passes in one submission` +
          (this.#max === MAX_TIMED_PASSES ? " (a WebGPU query set holds 4096 timestamps)" : ""),
      );
    }
    return {
      querySet: this.#querySet,
      beginningOfPassWriteIndex: 2 * i,
      endOfPassWriteIndex: 2 * i + 1,
    };
  }

  /** Encode the query resolve (call after the last pass, before finish()). */
  resolve(encoder: GPUCommandEncoder): void {
    if (!this.#querySet || !this.#resolveBuf || this.#names.length === 0) return;
    encoder.resolveQuerySet(this.#querySet, 0, 2 * this.#names.length, this.#resolveBuf, 0);
  }

  /**
   * Wait for the submitted work, then read the timestamps back. `wallStart` is the
   * performance.now() taken just before submit (the wall-clock fallback).
   */
  async finish(wallStart: number): Promise<Timing> {
    await this.#device.queue.onSubmittedWorkDone();
    const wallMs = performance.now() - wallStart;
    if (!this.#querySet || !this.#resolveBuf) {
      return {
        source: "wall-clock",
        totalMs: wallMs,
        passes: this.#names.map((name) => ({ name, ms: null })),
      };
    }
    const n = this.#names.length;
    const staging = this.#device.createBuffer({
      size: 16 * Math.max(1, n),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const enc = this.#device.createCommandEncoder();
    enc.copyBufferToBuffer(this.#resolveBuf, 0, staging, 0, 16 * Math.max(1, n));
    this.#device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const stamps = new BigUint64Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    const passes = this.#names.map((name, i) =>
      passTimingOf(name, stamps[2 * i], stamps[2 * i + 1])
    );
    return {
      source: "timestamp-query",
      totalMs: passes.reduce((s, p) => s + (p.ms ?? 0), 0),
      passes,
    };
  }

  /** Free the query set and resolve buffer. */
  destroy(): void {
    this.#querySet?.destroy();
    this.#resolveBuf?.destroy();
  }
}
