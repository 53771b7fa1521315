/**
 * What the probe tools (tools/load_cost_probe.ts, tools/gemm_tile_probe.ts) share: a device
 * with timestamp queries, and the kernel time of one dispatch by its pass timestamps.
 *
 * @module
 */

/**
 * The first adapter's device with timestamp-query, or exit 3 with a message.
 *
 * @example
 * ```ts ignore
 * import { probeDevice } from "./probe_device.ts";
 * const { adapter, device } = await probeDevice();
 * ```
 */
export async function probeDevice(): Promise<{ adapter: GPUAdapter; device: GPUDevice }> {
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) {
    console.error("no WebGPU adapter");
    Deno.exit(3);
  }
  if (!adapter.features.has("timestamp-query")) {
    console.error(`${adapter.info.description}: no timestamp-query, which the probes time by`);
    Deno.exit(3);
  }
  const device = await adapter.requestDevice({
    requiredFeatures: ["timestamp-query"] as GPUFeatureName[],
  });
  return { adapter, device };
}

/**
 * A timer of single dispatches: `time(pipeline, group, workgroups)` submits one compute
 * pass and resolves to its kernel time in ms, by the pass's timestamps.
 *
 * @example
 * ```ts ignore
 * import { dispatchTimer, probeDevice } from "./probe_device.ts";
 * const { device } = await probeDevice();
 * const time = dispatchTimer(device);
 * const ms = await time(pipeline, group, [256]);
 * ```
 */
export function dispatchTimer(
  device: GPUDevice,
): (pipeline: GPUComputePipeline, group: GPUBindGroup, workgroups: [number, number?]) => Promise<
  number
> {
  const both = dispatchClocks(device);
  return async (pipeline, group, workgroups) => (await both(pipeline, group, workgroups)).stamps;
}

/**
 * Like {@link dispatchTimer}, with the wall clock too: `stamps` is the pass's kernel time
 * by its timestamps, `wall` the time from submit to the readback of the timestamps, in ms.
 *
 * @example
 * ```ts ignore
 * import { dispatchClocks, probeDevice } from "./probe_device.ts";
 * const { device } = await probeDevice();
 * const { stamps, wall } = await dispatchClocks(device)(pipeline, group, [8]);
 * ```
 */
export function dispatchClocks(
  device: GPUDevice,
): (
  pipeline: GPUComputePipeline,
  group: GPUBindGroup,
  workgroups: [number, number?],
) => Promise<{ stamps: number; wall: number }> {
  const qs = device.createQuerySet({ type: "timestamp", count: 2 });
  const resolved = device.createBuffer({
    size: 16,
    usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
  });
  const read = device.createBuffer({
    size: 16,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  return async (pipeline, group, [x, y = 1]) => {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass({
      timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 },
    });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(x, y);
    pass.end();
    enc.resolveQuerySet(qs, 0, 2, resolved, 0);
    enc.copyBufferToBuffer(resolved, 0, read, 0, 16);
    const w0 = performance.now();
    device.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const wall = performance.now() - w0;
    const t = new BigUint64Array(read.getMappedRange().slice(0));
    read.unmap();
    return { stamps: Number(t[1] - t[0]) / 1e6, wall };
  };
}
