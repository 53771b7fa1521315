/**
 * Dispatch helpers: bind buffers to a pipeline's group 0 by binding index and
 * encode a compute pass.
 *
 * @module
 */

/**
 * A bind group for group 0 of `pipeline`, binding `buffers[i]` at binding i.
 *
 * @example
 * ```ts
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
 * Encode one compute pass dispatching `pipeline` with `group` at group 0.
 * Throws when a workgroup count exceeds the device's per-dimension limit.
 *
 * @example
 * ```ts
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
  const limit = options.limit ?? 65535;
  for (const n of [x, y, z]) {
    if (n > limit) {
      throw new Error(`${options.label ?? "dispatch"}: ${n} workgroups exceed the limit ${limit}`);
    }
  }
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
