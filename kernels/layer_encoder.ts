/**
 * The layer encoder: the small kernels of the MLA layer (gemm.wgsl, rmsnorm.wgsl,
 * cache_append.wgsl row copies) encoded on one device, with the buffers it creates
 * released together.
 *
 * @module
 */
import type { Dtype } from "../adapter/types.ts";
import {
  createStorage,
  createUniform,
  createUnwrittenStorage,
  readbackBytes,
  UniformWriter,
  uploadStorage,
} from "../gpu/buffers.ts";
import type { GpuContext } from "../gpu/device.ts";
import { bindBuffers, encodeDispatch, grid1d, LINEAR_WORKGROUP } from "../gpu/dispatch.ts";
import { pipelineCacheOf } from "./attention.ts";
import { bytesOf, type GpuLinear } from "./layer_weights.ts";
import { loadKernel, type SourceMutation } from "./source.ts";

/** GEMM register tile (rows x output columns per invocation) and workgroup width, see gemm.wgsl. */
export const GEMM_TILE: Readonly<{ rows: number; cols: number; workgroup: number }> = Object
  .freeze({ rows: 4, cols: 4, workgroup: 16 });

/**
 * A small encoder of the layer's kernels (gemm, rmsnorm, row copies): buffers it
 * creates are released by {@link LayerEncoder.release}. Used by runLayer and
 * decode.ts.
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { GpuContext } from "../gpu/device.ts";
 * import { LayerEncoder } from "./layer_encoder.ts";
 * const ctx = await GpuContext.create();
 * const enc = new LayerEncoder(ctx, "f32");
 * enc.release();
 * ```
 */
export class LayerEncoder {
  /** The device. */
  readonly device: GPUDevice;
  /** Storage dtype of activations. */
  readonly dtype: Dtype;
  /** Buffers released by {@link LayerEncoder.release}. */
  readonly owned: GPUBuffer[] = [];
  readonly #ctx: GpuContext;
  readonly #mutate?: SourceMutation;
  #enc: GPUCommandEncoder;
  /** Buffers {@link LayerEncoder.release} destroyed: a read of one names the release. */
  readonly #released = new WeakSet<GPUBuffer>();

  /** An encoder for `dtype` storage; `mutate` rewrites kernel sources (planted faults). */
  constructor(ctx: GpuContext, dtype: Dtype, mutate?: SourceMutation) {
    this.#ctx = ctx;
    this.device = ctx.device;
    this.dtype = dtype;
    this.#mutate = mutate;
    this.#enc = this.device.createCommandEncoder({ label: "layer" });
  }

  /** Own a buffer (destroyed by {@link LayerEncoder.release}). */
  keep<T extends GPUBuffer>(b: T): T {
    this.owned.push(b);
    return b;
  }

  /** A zero-filled storage buffer of `elements` storage-dtype elements. */
  storage(elements: number, label: string): GPUBuffer {
    return this.keep(createStorage(this.device, elements * bytesOf(this.dtype), label));
  }

  /**
   * A storage buffer of `elements` storage-dtype elements that reads NaN until written
   * (gpu/buffers.ts createUnwrittenStorage): for an output its kernel must write in full, so
   * that a row left unwritten shows as NaN, not as a finite 0.
   */
  unwritten(elements: number, label: string): GPUBuffer {
    return this.keep(createUnwrittenStorage(this.device, elements * bytesOf(this.dtype), label));
  }

  /** Upload data as a storage buffer (storage dtype unless `type` says otherwise). */
  upload(
    data: ArrayLike<number>,
    label: string,
    type: "f32" | "f16" | "u32" = this.dtype,
  ): GPUBuffer {
    return this.keep(uploadStorage(this.device, data, { type, label }));
  }

  async #dispatch(
    file: string,
    entry: string,
    buffers: GPUBuffer[],
    workgroups: readonly [number, number?],
    params: Record<string, number> = {},
  ): Promise<void> {
    const source = await loadKernel(file, {
      dtype: this.dtype,
      params,
      mutate: this.#mutate,
      allParams: true,
    });
    const pipeline = await pipelineCacheOf(this.#ctx).get(source, { entryPoint: entry });
    encodeDispatch(this.#enc, pipeline, {
      group: bindBuffers(this.device, pipeline, buffers),
      workgroups,
      label: entry,
      limit: this.device.limits.maxComputeWorkgroupsPerDimension,
    });
  }

  /** y[:, :lin.out] = x W^T for x [rows, lin.k4 * 4] (zero-padded columns). */
  async linear(lin: GpuLinear, o: { x: GPUBuffer; rows: number; y: GPUBuffer }): Promise<void> {
    const { x, rows: m, y } = o;
    const perGroup = GEMM_TILE.cols * GEMM_TILE.workgroup;
    for (const c of lin.chunks) {
      const u = this.keep(createUniform(
        this.device,
        new UniformWriter().u32(m).u32(c.rows).u32(lin.k4).u32(lin.out).u32(c.row0).finish(),
      ));
      await this.#dispatch("gemm.wgsl", "gemm", [u, x, c.buffer, y], [
        Math.ceil(c.rows / perGroup),
        Math.ceil(m / GEMM_TILE.rows),
      ], { WG: GEMM_TILE.workgroup, TM: GEMM_TILE.rows, TN: GEMM_TILE.cols });
    }
  }

  /** RMSNorm of columns [inOffset, inOffset + width) of each row of x into y. */
  async rmsNorm(
    x: GPUBuffer,
    o: {
      weight: GPUBuffer;
      y: GPUBuffer;
      rows: number;
      width: number;
      inStride: number;
      inOffset: number;
      outStride: number;
      eps: number;
    },
  ): Promise<void> {
    const u = this.keep(createUniform(
      this.device,
      new UniformWriter().u32(o.rows).u32(o.width).u32(o.inStride).u32(o.inOffset)
        .u32(o.outStride).u32(0).f32(o.eps).finish(),
    ));
    await this.#dispatch("rmsnorm.wgsl", "rmsnorm", [u, x, o.weight, o.y], grid1d(o.rows, 1));
  }

  /** Copy columns of source rows to destination rows (pairs of [src, dst] rows). */
  async copyRows(
    src: GPUBuffer,
    dst: GPUBuffer,
    o: {
      pairs: readonly (readonly [number, number])[];
      width: number;
      srcStride: number;
      srcOffset: number;
      dstStride: number;
      dstOffset: number;
    },
  ): Promise<void> {
    if (o.pairs.length === 0) return;
    const flat = o.pairs.flatMap(([s, d]) => [s, d]);
    const pairs = this.upload(flat, "row_pairs", "u32");
    const u = this.keep(createUniform(
      this.device,
      new UniformWriter().u32(o.pairs.length).u32(o.width).u32(o.srcStride).u32(o.srcOffset)
        .u32(o.dstStride).u32(o.dstOffset).finish(),
    ));
    await this.#dispatch(
      "cache_append.wgsl",
      "cache_append",
      [u, src, pairs, dst],
      grid1d(o.pairs.length * o.width),
      { WG: LINEAR_WORKGROUP },
    );
  }

  /** Submit what was encoded so far and start a new encoder. */
  submit(): void {
    this.device.queue.submit([this.#enc.finish()]);
    this.#enc = this.device.createCommandEncoder({ label: "layer" });
  }

  /**
   * Read `count` elements of a storage-dtype buffer back as Float32Array. A buffer this
   * encoder released, or one destroyed otherwise, or `count` past the buffer's end, is an
   * error naming the buffer (gpu/buffers.ts readbackBytes): they read back zeros.
   */
  async read(buffer: GPUBuffer, count: number): Promise<Float32Array> {
    const name = buffer.label ? `buffer "${buffer.label}"` : "an unlabelled buffer";
    if (this.#released.has(buffer)) {
      throw new Error(
        `LayerEncoder.read: ${name} was destroyed by LayerEncoder.release(): read it before ` +
          "releasing the encoder",
      );
    }
    this.submit();
    let raw: Uint8Array;
    try {
      raw = await readbackBytes(this.device, buffer, count * bytesOf(this.dtype));
    } catch (e) {
      if (!(e instanceof Error)) throw e;
      const error = e instanceof RangeError
        ? new RangeError(
          `LayerEncoder.read: ${count} ${this.dtype} elements: ${e.message}`,
        )
        : new Error(`LayerEncoder.read: ${e.message}`);
      throw error;
    }
    if (this.dtype === "f32") return new Float32Array(raw.buffer, raw.byteOffset, count);
    return Float32Array.from(new Float16Array(raw.buffer, raw.byteOffset, count));
  }

  /** Destroy every buffer this encoder created or was given to keep. */
  release(): void {
    for (const b of this.owned) {
      b.destroy();
      this.#released.add(b);
    }
    this.owned.length = 0;
  }
}
