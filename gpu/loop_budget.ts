/**
 * Measures a device's loop budget: how many loop iterations one shader invocation
 * may run in total before the device ends its loops (Mesa's llvmpipe/lavapipe:
 * 65535). The adapter keeps every kernel plan within it (adapter/loop_budget.ts).
 *
 * @module
 */
import { createStorage, createUniform, readbackBytes } from "./buffers.ts";
import { bindBuffers, encodeDispatch } from "./dispatch.ts";
import { readSourceText } from "./text_source.ts";

/** Trips the probe asks for; a device that runs them all has no budget below this. */
export const LOOP_PROBE_TRIPS = 1 << 20;

/**
 * Run gpu/loop_budget.wgsl once: the number of trips a loop of
 * {@link LOOP_PROBE_TRIPS} really ran when fewer (the budget), else null.
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { GpuContext } from "./device.ts";
 * import { measureLoopBudget } from "./loop_budget.ts";
 * const ctx = await GpuContext.create();
 * await measureLoopBudget(ctx.device); // 65535 on lavapipe, null on a GPU
 * ctx.destroy();
 * ```
 */
export async function measureLoopBudget(device: GPUDevice): Promise<number | null> {
  const code = await readSourceText(new URL("./loop_budget.wgsl", import.meta.url));
  const module = device.createShaderModule({ code, label: "loop_budget.wgsl" });
  const pipeline = await device.createComputePipelineAsync({
    layout: "auto",
    compute: { module, entryPoint: "probe" },
  });
  const params = createUniform(device, new Uint32Array([LOOP_PROBE_TRIPS, 0, 0, 0]).buffer);
  const out = createStorage(device, 16, "loop_budget");
  try {
    const enc = device.createCommandEncoder();
    encodeDispatch(enc, pipeline, {
      group: bindBuffers(device, pipeline, [params, out]),
      workgroups: [1],
      label: "loop_budget",
    });
    device.queue.submit([enc.finish()]);
    const trips = new Uint32Array((await readbackBytes(device, out, 4)).slice().buffer)[0];
    return trips < LOOP_PROBE_TRIPS ? trips : null;
  } finally {
    params.destroy();
    out.destroy();
  }
}
