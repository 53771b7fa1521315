/**
 * A standalone GEMM, y = x W^T with gemm.wgsl (tests and benchmarks; the layer
 * encodes its projections through the layer encoder).
 *
 * @module
 */
import type { Dtype } from "../adapter/types.ts";
import type { GpuContext } from "../gpu/device.ts";
import { withErrorScopes } from "../gpu/scopes.ts";
import { LayerEncoder } from "./layer_encoder.ts";
import { padCols, uploadLinear } from "./layer_weights.ts";

/** Options of {@link runGemm}. */
export interface RunGemmOptions {
  /** x [rows, inFeatures]. */
  x: ArrayLike<number>;
  /** Torch Linear weight [outFeatures, inFeatures]. */
  weight: ArrayLike<number>;
  /** Input features. */
  inFeatures: number;
  /** Output features. */
  outFeatures: number;
  /** Storage dtype (default f32). */
  dtype?: Dtype;
  /**
   * Split the weight into chunks of at most this many rows, as weights larger than
   * one storage binding are split (default: only when needed).
   */
  maxChunkRows?: number;
}

/**
 * y = x W^T on the GPU with gemm.wgsl (tests and benchmarks; the layer encodes
 * its projections itself). Returns y [rows, outFeatures] as Float32Array.
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { GpuContext } from "../gpu/device.ts";
 * import { runGemm } from "./gemm.ts";
 * const ctx = await GpuContext.create();
 * const y = await runGemm(ctx, { x: [1, 2], weight: [1, 0, 0, 1, 1, 1], inFeatures: 2, outFeatures: 3 });
 * // Float32Array [1, 2, 3]
 * ```
 */
export async function runGemm(ctx: GpuContext, o: RunGemmOptions): Promise<Float32Array> {
  const dtype = o.dtype ?? "f32";
  // A fractional width or chunk of rows ran and returned wrong numbers (chunks overlapped
  // or left rows out, rows were misaligned), and an unknown dtype uploaded what it liked.
  const counts = [["inFeatures", o.inFeatures], ["outFeatures", o.outFeatures]] as const;
  for (const [name, v] of [...counts, ["maxChunkRows", o.maxChunkRows ?? 1] as const]) {
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new RangeError(`runGemm: ${name} must be an integer >= 1, got ${v}`);
    }
  }
  if (dtype !== "f32" && dtype !== "f16") {
    throw new RangeError(`runGemm: dtype must be "f32" or "f16", got ${JSON.stringify(dtype)}`);
  }
  if (o.x.length % o.inFeatures !== 0) {
    throw new RangeError(`x has ${o.x.length} values, not a multiple of ${o.inFeatures}`);
  }
  const rows = o.x.length / o.inFeatures;
  const lin = uploadLinear(ctx.device, Float64Array.from(o.weight), {
    out: o.outFeatures,
    inFeatures: o.inFeatures,
    dtype,
    label: "weight",
    maxRows: o.maxChunkRows,
  });
  const enc = new LayerEncoder(ctx, dtype);
  try {
    return await withErrorScopes(ctx.device, "runGemm", async () => {
      const x = enc.upload(padCols(o.x, rows, o.inFeatures), "x");
      const y = enc.storage(rows * o.outFeatures, "y");
      await enc.linear(lin, { x, rows, y });
      return Float32Array.from(await enc.read(y, rows * o.outFeatures));
    });
  } finally {
    enc.release();
    lin.chunks.forEach((c) => c.buffer.destroy());
  }
}
