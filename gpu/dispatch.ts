/**
 * Dispatch helpers: bind buffers to a pipeline's group 0 by binding index, encode a
 * compute pass, and the workgroup grid of a 1-D kernel.
 *
 * @module
 */

/**
 * A bind group for group 0 of `pipeline`, binding `buffers[i]` at binding i.
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { bindBuffers } from "./dispatch.ts";
 * declare const device: GPUDevice, pipeline: GPUComputePipeline, a: GPUBuffer, b: GPUBuffer;
 * const group = bindBuffers(device, pipeline, [a, b]);
 * ```
 */
export function bindBuffers(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  buffers: readonly GPUBuffer[],
): GPUBindGroup {
  return device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
}

/** Options of {@link encodeDispatch}. */
export interface DispatchOptions {
  /** Workgroup counts [x, y?, z?]. */
  workgroups: readonly [number, number?, number?];
  /** Pass label. */
  label?: string;
  /** Timestamp writes for this pass (from a PassTimer). */
  timestampWrites?: GPUComputePassTimestampWrites;
}

/**
 * Throw unless every workgroup count of a pass is an integer in [0, `limit`] (default
 * WebGPU's 65535): WebGPU truncates a fractional count (x 1.5 ran one workgroup, y 0.5 none,
 * and the pass left its output unwritten without a word), and its error for a negative one
 * names neither the pass nor the dimension.
 *
 * @example
 * ```ts
 * import { checkWorkgroups } from "./dispatch.ts";
 * checkWorkgroups("pass", [4, 2]); // fine
 * // checkWorkgroups("pass", [1.5]) throws: pass: workgroup count x 1.5 must be an integer >= 0
 * ```
 */
export function checkWorkgroups(
  label: string,
  workgroups: readonly [number, number?, number?],
  limit: number = MAX_WORKGROUPS_PER_DIMENSION,
): void {
  // a count given as a number (4, not [4]) failed as "workgroups is not iterable", naming no
  // pass, and a fourth count was dropped without a word
  if (!Array.isArray(workgroups) || workgroups.length < 1 || workgroups.length > 3) {
    const shown = Array.isArray(workgroups)
      ? `${workgroups.length} counts`
      : JSON.stringify(workgroups) ?? String(workgroups);
    throw new RangeError(
      `${label}: workgroups must be an array of 1 to 3 counts, [x, y?, z?], got ${shown}`,
    );
  }
  const [x, y = 1, z = 1] = workgroups;
  for (const [axis, n] of [["x", x], ["y", y], ["z", z]] as const) {
    if (!Number.isSafeInteger(n) || n < 0) {
      const shown = typeof n === "number" ? String(n) : JSON.stringify(n) ?? String(n);
      throw new RangeError(`${label}: workgroup count ${axis} ${shown} must be an integer >= 0`);
    }
    if (n > limit) {
      throw new Error(`${label}: ${n} workgroups exceed the limit ${limit}`);
    }
  }
}

/**
 * Encode one compute pass dispatching `pipeline` with `group` at group 0.
 * Throws when a workgroup count exceeds the device's per-dimension limit or is not an
 * integer >= 0 ({@link checkWorkgroups}).
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { encodeDispatch } from "./dispatch.ts";
 * declare const device: GPUDevice, encoder: GPUCommandEncoder;
 * declare const pipeline: GPUComputePipeline, group: GPUBindGroup;
 * encodeDispatch(encoder, pipeline, { group, workgroups: [4], limit: device.limits.maxComputeWorkgroupsPerDimension });
 * ```
 */
export function encodeDispatch(
  encoder: GPUCommandEncoder,
  pipeline: GPUComputePipeline,
  options: DispatchOptions & { group: GPUBindGroup; limit?: number },
): void {
  const [x, y = 1, z = 1] = options.workgroups;
  checkWorkgroups(options.label ?? "dispatch", options.workgroups, options.limit);
  if (x === 0 || y === 0 || z === 0) return;
  const pass = encoder.beginComputePass({
    label: options.label,
    timestampWrites: options.timestampWrites,
  });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, options.group);
  pass.dispatchWorkgroups(x, y, z);
  pass.end();
}

/** Most workgroups one dispatch dimension may hold (WebGPU's default and minimum limit). */
const MAX_WORKGROUPS_PER_DIMENSION = 65535;

/**
 * Invocations per workgroup of the harness's 1-D kernels (absorb_q, up_proj, rope, pack_q,
 * combine, cache_append, split_sum, cache_texture): their launchers pass it as the kernels'
 * `WG` // @param, which sizes `@workgroup_size` and folds the (x, y) grid back into one
 * index, and {@link grid1d} divides by it, so the three never disagree.
 */
export const LINEAR_WORKGROUP = 64;

/**
 * Workgroups of a 1-D kernel of `n` invocations at `per` invocations per workgroup
 * (default {@link LINEAR_WORKGROUP}), folded into y when x would pass the per-dimension limit
 * (default WebGPU's 65535; a launch kit passes its own, which a device profile may lower). The
 * kernel folds (x, y) back into one index through `num_workgroups` and skips indices past n
 * (the fold rounds up).
 *
 * @example
 * ```ts
 * import { grid1d } from "./dispatch.ts";
 * grid1d(100); // [2, 1]
 * grid1d(64 * 70000); // [65535, 2]
 * grid1d(10, 1); // [10, 1]
 * grid1d(10, 1, { limit: 4 }); // [4, 3]
 * ```
 */
export function grid1d(
  n: number,
  per: number = LINEAR_WORKGROUP,
  options: { limit?: number } = {},
): [number, number] {
  const limit = options.limit ?? MAX_WORKGROUPS_PER_DIMENSION;
  const groups = Math.max(1, Math.ceil(n / per));
  const x = Math.min(groups, limit);
  if (Math.ceil(groups / x) > limit) {
    throw new Error(
      `${n} invocations at ${per} a workgroup need ${groups} workgroups, more than a ` +
        `${limit} x ${limit} grid holds`,
    );
  }
  return [x, Math.ceil(groups / x)];
}
