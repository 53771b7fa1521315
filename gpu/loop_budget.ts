/**
 * Measures a device's loop budget: how many loop iterations one shader invocation
 * may run in total before the device ends its loops (Mesa's llvmpipe/lavapipe:
 * 65535). The adapter keeps every kernel plan within it (adapter/loop_budget.ts).
 *
 * @module
 */

/** Trips the probe asks for; a device that runs them all has no budget below this. */
export const LOOP_PROBE_TRIPS = 1 << 20;

/**
 * Run gpu/loop_budget.wgsl once: the number of trips a loop of
 * {@link LOOP_PROBE_TRIPS} really ran when fewer (the budget), else null.
 *
 * @example
 * ```ts
 * import { GpuContext } from "./device.ts";
 * import { measureLoopBudget } from "./loop_budget.ts";
 * const ctx = await GpuContext.create();
 * await measureLoopBudget(ctx.device); // 65535 on lavapipe, null on a GPU
 * ctx.destroy();
 * ```
 */
export async function measureLoopBudget(device: GPUDevice): Promise<number | null> {
  const code = await Deno.readTextFile(new URL("./loop_budget.wgsl", import.meta.url));
  const module = device.createShaderModule({ code, label: "loop_budget.wgsl" });
  const pipeline = await device.createComputePipelineAsync({
    layout: "auto",
    compute: { module, entryPoint: "probe" },
  });
  const params = device.createBuffer({
    size: 16,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(params, 0, new Uint32Array([LOOP_PROBE_TRIPS, 0, 0, 0]));
  const out = device.createBuffer({
    size: 16,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
  });
  const read = device.createBuffer({
    size: 16,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  try {
    const bind = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: params } }, {
        binding: 1,
        resource: { buffer: out },
      }],
    });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(1);
    pass.end();
    enc.copyBufferToBuffer(out, 0, read, 0, 16);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const trips = new Uint32Array(read.getMappedRange().slice(0))[0];
    read.unmap();
    return trips < LOOP_PROBE_TRIPS ? trips : null;
  } finally {
    params.destroy();
    out.destroy();
    read.destroy();
  }
}
