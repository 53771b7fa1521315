/**
 * The RoPE kernel on its own: rotate the rope slice of packed rows on the GPU
 * with a float64-built cos/sin table (used by tests and benchmarks; runAttention
 * dispatches rope.wgsl itself).
 *
 * @module
 */
import type { Dtype, MlaSpec } from "../adapter/types.ts";
import { createUniform, readbackBytes, UniformWriter, uploadStorage } from "../gpu/buffers.ts";
import type { GpuContext } from "../gpu/device.ts";
import { bindBuffers, encodeDispatch, grid1d, LINEAR_WORKGROUP } from "../gpu/dispatch.ts";
import { withErrorScopes } from "../gpu/scopes.ts";
import { pipelineCacheOf } from "./attention.ts";
import { loadKernel } from "./source.ts";
import { rowCosSin } from "./tables.ts";

/** Options of {@link runRope}. */
export interface RunRopeOptions {
  /** Rows [rows, heads, rope] (float64 or float32), rotated copy returned. */
  data: ArrayLike<number>;
  /** Heads per row (1 for k_pe). */
  heads: number;
  /** RoPE position of each row. */
  positions: readonly number[];
  /** Storage dtype. Default "f32". */
  dtype?: Dtype;
}

/**
 * Apply the spec's RoPE (pairing, inv_freq, cos/sin scale) to `data` on the GPU
 * and return the rotated values as Float32Array.
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { presetSpec } from "../adapter/presets.ts";
 * import { GpuContext } from "../gpu/device.ts";
 * import { runRope } from "./rope.ts";
 * const ctx = await GpuContext.create();
 * const spec = presetSpec("tiny");
 * const out = await runRope(ctx, spec, { data: new Float64Array(8).fill(1), heads: 1, positions: [20000] });
 * ```
 */
export async function runRope(
  ctx: GpuContext,
  spec: MlaSpec,
  options: RunRopeOptions,
): Promise<Float32Array> {
  const dtype = options.dtype ?? "f32";
  const rope = spec.qkRopeHeadDim;
  const rows = options.positions.length;
  if (options.data.length !== rows * options.heads * rope) {
    throw new RangeError(`data has ${options.data.length} values, expected rows*heads*rope`);
  }
  const device = ctx.device;
  const source = await loadKernel("rope.wgsl", {
    dtype,
    params: { WG: LINEAR_WORKGROUP },
    allParams: true,
  });
  const pipeline = await pipelineCacheOf(ctx).get(source, { entryPoint: "rope_inplace" });
  const cos = rowCosSin({ invFreq: spec.invFreq, cosSinScale: spec.ropeCosSinScale }, {
    rows,
    rowOf: options.positions.map((_, i) => i),
    positions: options.positions,
  });
  const dataBuf = uploadStorage(device, options.data, { type: dtype });
  const cosBuf = uploadStorage(device, cos, { type: "f32" });
  const u = createUniform(
    device,
    new UniformWriter().u32(rows).u32(options.heads).u32(rope).u32(0).u32(rope / 2)
      .u32(spec.ropePairing === "neox" ? 1 : 0).finish(),
  );
  try {
    return await withErrorScopes(device, "runRope", async () => {
      const enc = device.createCommandEncoder();
      const n = rows * options.heads * (rope / 2);
      encodeDispatch(enc, pipeline, {
        group: bindBuffers(device, pipeline, [u, dataBuf, cosBuf]),
        workgroups: grid1d(n),
      });
      device.queue.submit([enc.finish()]);
      const count = options.data.length;
      const raw = await readbackBytes(device, dataBuf, count * (dtype === "f16" ? 2 : 4));
      if (dtype === "f32") return new Float32Array(raw.buffer, raw.byteOffset, count);
      return Float32Array.from(new Float16Array(raw.buffer, raw.byteOffset, count));
    });
  } finally {
    dataBuf.destroy();
    cosBuf.destroy();
    u.destroy();
  }
}
