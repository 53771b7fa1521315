/**
 * What the probe tools (tools/load_cost_probe.ts, tools/gemm_tile_probe.ts,
 * tools/texture_timestamp_probe.ts) share: a device with timestamp queries, the kernel time
 * of one dispatch by its pass timestamps (and the wall clock), and the texture probe's two
 * kernels (also timed by tests/gpu_texture_clears_test.ts).
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

/**
 * A storage-only kernel slow enough to time (a loop of 200000 loads per invocation of
 * `buf`, binding 0); with `texture`, the same kernel with a texture bound at binding 1
 * (its size read, so the binding stays). tools/texture_timestamp_probe.ts and
 * tests/gpu_texture_clears_test.ts time it.
 *
 * @example
 * ```ts
 * import { slowKernel } from "./probe_device.ts";
 * slowKernel(false).includes("200000u"); // true
 * ```
 */
export function slowKernel(texture: boolean): string {
  return `
@group(0) @binding(0) var<storage, read_write> buf: array<f32>;
${texture ? "@group(0) @binding(1) var tex: texture_2d<f32>;" : ""}
@compute @workgroup_size(8)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  var junk = ${texture ? "f32(textureDimensions(tex).x)" : "0.0"};
  for (var i = 0u; i < 200000u; i++) { junk += buf[(i * 7u + g.x) % 1024u] * 1.0001; }
  // never true for the zeroed buffer: the loop cannot be removed
  if (junk == 1.5e-38) { buf[0] = junk; }
}`;
}

/** A kernel that reads one texel of the texture at binding 1 into `buf` (binding 0). */
export const TEXEL_KERNEL = `
@group(0) @binding(0) var<storage, read_write> buf: array<f32>;
@group(0) @binding(1) var tex: texture_2d<f32>;
@compute @workgroup_size(8)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  buf[g.x + 2000u] = textureLoad(tex, vec2<u32>(g.x % 4u, 0u), 0).x;
}`;
