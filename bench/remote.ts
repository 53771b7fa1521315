/**
 * A remote device (another runtime's WebGPU, gpu/runtime.ts) that can also run the
 * benchmark there: the measurement of a plan and the device ceilings, by the same
 * bench code bundled for the page.
 *
 * @module
 */
import type { GpuPlan } from "../adapter/types.ts";
import { isRemoteDevice, type RemoteDevice, type RunDevice } from "../gpu/runtime.ts";
import type { Ceilings, CeilingsOptions } from "./ceilings.ts";
import type { Measured, MeasureOptions } from "../kernels/measure.ts";

/** A remote device that benchmarks. */
export interface RemoteBenchDevice extends RemoteDevice {
  /** The benchmark's measurement there (kernels/measure.ts measureAttention). */
  measureAttention(plan: GpuPlan, o: MeasureOptions): Promise<Measured>;
  /** The device ceilings there (bench/ceilings.ts measureCeilings). */
  measureCeilings(o: CeilingsOptions): Promise<Ceilings>;
}

/**
 * Whether a run device is a remote device that benchmarks.
 *
 * @example
 * ```ts ignore
 * if (isRemoteBenchDevice(ctx)) await ctx.measureCeilings({ reps: 7 });
 * ```
 */
export function isRemoteBenchDevice(d: RunDevice): d is RemoteBenchDevice {
  return isRemoteDevice(d) && "measureAttention" in d && "measureCeilings" in d;
}

/**
 * The benchmarking side of a remote device, or an Error saying it has none.
 *
 * @example
 * ```ts ignore
 * const ceilings = await benchDeviceOf(remote).measureCeilings({ reps: 7 });
 * ```
 */
export function benchDeviceOf(d: RemoteDevice): RemoteBenchDevice {
  if (!isRemoteBenchDevice(d)) {
    throw new Error(`the ${d.runtime} runtime's device cannot run the benchmark`);
  }
  return d;
}
