/**
 * The full MLA layer on the GPU (torch Linear convention: weight [out, in],
 * y = x W^T), hidden states to output, through either attention path:
 *
 * 1. queries: `q_proj(x)` (direct) or `q_b_proj(RMSNorm(q_a_proj(x)) * q_a_layernorm)`
 *    (low-rank): gemm.wgsl and rmsnorm.wgsl;
 * 2. `kv_a_proj_with_mqa(x)` = `[c_raw (r) | k_pe (rope)]`: gemm.wgsl; the latent
 *    `c = RMSNorm(c_raw) * kv_a_layernorm` (rmsnorm.wgsl on the first r columns) and
 *    `k_pe` (cache_append.wgsl copying the last rope columns) are split on the GPU;
 * 3. RoPE, absorption or expansion and attention: `runAttention` with the plan the
 *    caller resolved for the layout (the seam that knows rows and positions; nothing
 *    here resolves: runner/layer_plan.ts does, once per case);
 * 4. `o_proj` of the concatenated heads: gemm.wgsl.
 *
 * Storage is the plan's dtype (f32 or f16) for activations and projection weights;
 * every accumulation is f32; RMSNorm weights stay f32. `runAttention` takes host
 * arrays, so q, the latent and k_pe are read back between steps 2 and 3 and the
 * attention output is uploaded again for step 4.
 *
 * @module
 */
import { isSelfAttention } from "../adapter/layout.ts";
import type {
  AttentionInputs,
  Dtype,
  GpuPlan,
  LayerWeights,
  MlaSpec,
  Reason,
  Tensor,
} from "../adapter/types.ts";
import {
  createStorage,
  createUniform,
  readbackBytes,
  UniformWriter,
  uploadStorage,
} from "../gpu/buffers.ts";
import type { GpuContext } from "../gpu/device.ts";
import { bindBuffers, encodeDispatch, grid1d } from "../gpu/dispatch.ts";
import { withErrorScopes } from "../gpu/scopes.ts";
import { pipelineCacheOf, runAttention } from "./attention.ts";
import { loadKernel, type SourceMutation } from "./source.ts";

/** GEMM register tile (rows x output columns per invocation) and workgroup width, see gemm.wgsl. */
export const GEMM_TILE = Object.freeze({ rows: 4, cols: 4, workgroup: 16 });

/** The layer cannot run on this device (e.g. f16 without shader-f16): every reason. */
export class LayerUnsupportedError extends Error {
  /** Why, one entry per failed check. */
  readonly reasons: readonly Reason[];
  constructor(reasons: readonly Reason[]) {
    super(`the layer is unsupported here: ${reasons.map((r) => r.message).join("; ")}`);
    this.name = "LayerUnsupportedError";
    this.reasons = reasons;
  }
}

/** A projection weight on the GPU, split into row chunks that fit one binding. */
interface GpuLinear {
  readonly out: number;
  readonly inFeatures: number;
  /** Padded in-features / 4. */
  readonly k4: number;
  readonly chunks: readonly { buffer: GPUBuffer; row0: number; rows: number }[];
}

/** A layer's weights uploaded once (reused by every decode step). */
export interface GpuLayerWeights {
  /** The spec they were checked against. */
  readonly spec: MlaSpec;
  /** Storage dtype of the projections. */
  readonly dtype: Dtype;
  /** The host weights (kv_b_proj is handed to runAttention from here). */
  readonly host: LayerWeights;
  /** Release the buffers. */
  destroy(): void;
}

interface GpuLayerWeightsImpl extends GpuLayerWeights {
  readonly linears: {
    qProj?: GpuLinear;
    qAProj?: GpuLinear;
    qBProj?: GpuLinear;
    kvAProj: GpuLinear;
    oProj: GpuLinear;
  };
  readonly qANorm?: GPUBuffer;
  readonly kvANorm: GPUBuffer;
}

const bytesOf = (dtype: Dtype) => (dtype === "f16" ? 2 : 4);
const pad4 = (n: number) => Math.ceil(n / 4) * 4;

/** Copy [rows, cols] into [rows, colsPadded] with zero columns on the right. */
function padCols(data: ArrayLike<number>, rows: number, cols: number): ArrayLike<number> {
  const cp = pad4(cols);
  if (cp === cols) return data;
  const out = new Float32Array(rows * cp);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[r * cp + c] = data[r * cols + c];
  }
  return out;
}

function uploadLinear(
  device: GPUDevice,
  data: Tensor,
  shape: { out: number; inFeatures: number; dtype: Dtype; label: string; maxRows?: number },
): GpuLinear {
  const { out, inFeatures, dtype } = shape;
  if (data.length !== out * inFeatures) {
    throw new RangeError(
      `weights.${shape.label} has ${data.length} values, expected [${out}, ${inFeatures}]`,
    );
  }
  const k4 = pad4(inFeatures) / 4;
  const rowBytes = k4 * 4 * bytesOf(dtype);
  const fit = Math.floor(device.limits.maxStorageBufferBindingSize / rowBytes);
  const maxRows = Math.max(1, Math.min(fit, shape.maxRows ?? fit));
  const chunks: { buffer: GPUBuffer; row0: number; rows: number }[] = [];
  for (let row0 = 0; row0 < out; row0 += maxRows) {
    const rows = Math.min(maxRows, out - row0);
    const part = data.subarray(row0 * inFeatures, (row0 + rows) * inFeatures);
    chunks.push({
      buffer: uploadStorage(device, padCols(part, rows, inFeatures), {
        type: dtype,
        label: `${shape.label}[${row0}:]`,
      }),
      row0,
      rows,
    });
  }
  return { out, inFeatures, k4, chunks };
}

function need(t: Tensor | undefined, name: string, spec: MlaSpec): Tensor {
  if (!t) throw new RangeError(`${spec.qPath} q path of ${spec.name} needs weights.${name}`);
  return t;
}

function checkNorm(t: Tensor, name: string, n: number): Tensor {
  if (t.length !== n) throw new RangeError(`weights.${name} has ${t.length} values, expected ${n}`);
  return t;
}

/**
 * Upload a layer's weights for a storage dtype (projections in `dtype`, norm
 * weights in f32). Shapes are checked against the spec (RangeError naming the
 * field). Weights larger than one storage binding are split into row chunks.
 *
 * @example
 * ```ts
 * // needs a WebGPU device: type-checked, not run
 * import { presetSpec } from "../adapter/presets.ts";
 * import { GpuContext } from "../gpu/device.ts";
 * import { makeLayerWeights } from "../reference/inputs.ts";
 * import { uploadLayerWeights } from "./layer.ts";
 * const ctx = await GpuContext.create();
 * const spec = presetSpec("tiny");
 * const w = uploadLayerWeights(ctx, { spec, weights: makeLayerWeights(spec, { seed: 1 }) });
 * w.destroy();
 * ```
 */
export function uploadLayerWeights(
  ctx: GpuContext,
  options: { spec: MlaSpec; weights: LayerWeights; dtype?: Dtype },
): GpuLayerWeights {
  const { spec, weights } = options;
  const dtype = options.dtype ?? "f32";
  const device = ctx.device;
  const hs = spec.hiddenSize;
  const h = spec.numHeads;
  const r = spec.kvLoraRank;
  const qOut = h * spec.kChannels;
  const owned: GPUBuffer[] = [];
  const lin = (t: Tensor, label: string, out: number, inFeatures: number) => {
    const l = uploadLinear(device, t, { out, inFeatures, dtype, label });
    owned.push(...l.chunks.map((c) => c.buffer));
    return l;
  };
  const norm = (t: Tensor, label: string) => {
    const b = uploadStorage(device, t, { type: "f32", label });
    owned.push(b);
    return b;
  };
  const kvb = checkNorm(weights.kvBProj, "kvBProj", h * (spec.qkNopeHeadDim + spec.vHeadDim) * r);
  const linears: GpuLayerWeightsImpl["linears"] = {
    kvAProj: lin(weights.kvAProj, "kvAProj", r + spec.qkRopeHeadDim, hs),
    oProj: lin(weights.oProj, "oProj", hs, h * spec.vHeadDim),
  };
  let qANorm: GPUBuffer | undefined;
  if (spec.qLoraRank === null) {
    linears.qProj = lin(need(weights.qProj, "qProj", spec), "qProj", qOut, hs);
  } else {
    const ql = spec.qLoraRank;
    linears.qAProj = lin(need(weights.qAProj, "qAProj", spec), "qAProj", ql, hs);
    linears.qBProj = lin(need(weights.qBProj, "qBProj", spec), "qBProj", qOut, ql);
    qANorm = norm(checkNorm(need(weights.qANorm, "qANorm", spec), "qANorm", ql), "qANorm");
  }
  const kvANorm = norm(checkNorm(weights.kvANorm, "kvANorm", r), "kvANorm");
  const impl: GpuLayerWeightsImpl = {
    spec,
    dtype,
    host: { ...weights, kvBProj: kvb },
    linears,
    qANorm,
    kvANorm,
    destroy: () => owned.forEach((b) => b.destroy()),
  };
  return impl;
}

function isGpuWeights(w: LayerWeights | GpuLayerWeights): w is GpuLayerWeights {
  return "host" in w && "destroy" in w;
}

/**
 * A small encoder of the layer's kernels (gemm, rmsnorm, row copies): buffers it
 * creates are released by {@link LayerEncoder.release}. Used by runLayer and
 * decode.ts.
 *
 * @example
 * ```ts
 * // needs a WebGPU device: type-checked, not run
 * import { GpuContext } from "../gpu/device.ts";
 * import { LayerEncoder } from "./layer.ts";
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
  ): Promise<void> {
    const source = await loadKernel(file, { dtype: this.dtype, mutate: this.#mutate });
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
      ]);
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
    );
  }

  /** Submit what was encoded so far and start a new encoder. */
  submit(): void {
    this.device.queue.submit([this.#enc.finish()]);
    this.#enc = this.device.createCommandEncoder({ label: "layer" });
  }

  /** Read `count` elements of a storage-dtype buffer back as Float32Array. */
  async read(buffer: GPUBuffer, count: number): Promise<Float32Array> {
    this.submit();
    const raw = await readbackBytes(this.device, buffer, count * bytesOf(this.dtype));
    if (this.dtype === "f32") return new Float32Array(raw.buffer, raw.byteOffset, count);
    return Float32Array.from(new Float16Array(raw.buffer, raw.byteOffset, count));
  }

  /** Destroy every buffer this encoder created or was given to keep. */
  release(): void {
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
  }
}

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
 * // needs a WebGPU device: type-checked, not run
 * import { GpuContext } from "../gpu/device.ts";
 * import { runGemm } from "./layer.ts";
 * const ctx = await GpuContext.create();
 * const y = await runGemm(ctx, { x: [1, 2], weight: [1, 0, 0, 1, 1, 1], inFeatures: 2, outFeatures: 3 });
 * // Float32Array [1, 2, 3]
 * ```
 */
export async function runGemm(ctx: GpuContext, o: RunGemmOptions): Promise<Float32Array> {
  const dtype = o.dtype ?? "f32";
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

/** GPU buffers of the token projections (step 1-2), [rows, ...] in input rows. */
export interface ProjectedTokens {
  /** Queries [rows, h * (nope + rope)], per head nope then rope (RoPE not applied). */
  readonly q: GPUBuffer;
  /** kv_a_proj_with_mqa output [rows, r + rope] (k_pe in its last rope columns). */
  readonly kvA: GPUBuffer;
  /** Normalized latent [rows, r]. */
  readonly latent: GPUBuffer;
}

/**
 * Steps 1-2 of the layer on the GPU for `rows` hidden-state rows: queries (direct
 * or low-rank), kv_a, and the normalized latent. For the layer's internal use and
 * for decode.ts.
 */
export async function encodeProjections(
  enc: LayerEncoder,
  o: { weights: GpuLayerWeights; hidden: Tensor },
): Promise<ProjectedTokens & { rows: number }> {
  const { weights, hidden } = o;
  const w = weights as GpuLayerWeightsImpl;
  const spec = w.spec;
  const hs = spec.hiddenSize;
  const r = spec.kvLoraRank;
  const kvw = r + spec.qkRopeHeadDim;
  const qOut = spec.numHeads * spec.kChannels;
  if (hidden.length % hs !== 0) {
    throw new RangeError(`hidden has ${hidden.length} values, not a multiple of hidden ${hs}`);
  }
  const rows = hidden.length / hs;
  const x = enc.upload(padCols(hidden, rows, hs), "hidden");
  const q = enc.storage(rows * qOut, "q");
  if (spec.qLoraRank === null) {
    await enc.linear(w.linears.qProj!, { x, rows, y: q });
  } else {
    const ql = spec.qLoraRank;
    const qa = enc.storage(rows * ql, "q_a");
    await enc.linear(w.linears.qAProj!, { x, rows, y: qa });
    const qLat = enc.storage(rows * pad4(ql), "q_latent"); // zero pad columns for q_b's vec4 loads
    await enc.rmsNorm(qa, {
      weight: w.qANorm!,
      y: qLat,
      rows,
      width: ql,
      inStride: ql,
      inOffset: 0,
      outStride: pad4(ql),
      eps: spec.rmsNormEps,
    });
    await enc.linear(w.linears.qBProj!, { x: qLat, rows, y: q });
  }
  const kvA = enc.storage(rows * kvw, "kv_a");
  await enc.linear(w.linears.kvAProj, { x, rows, y: kvA });
  const latent = enc.storage(rows * r, "latent");
  await enc.rmsNorm(kvA, {
    weight: w.kvANorm,
    y: latent,
    rows,
    width: r,
    inStride: kvw,
    inOffset: 0,
    outStride: r,
    eps: spec.rmsNormEps,
  });
  return { q, kvA, latent, rows };
}

/** Split q [rows, h, nope + rope] into qNope [rows, h, nope] and qPe [rows, h, rope]. */
function splitQ(spec: MlaSpec, q: Float32Array, rows: number) {
  const h = spec.numHeads;
  const nope = spec.qkNopeHeadDim;
  const rope = spec.qkRopeHeadDim;
  const qw = nope + rope;
  const qNope = new Float32Array(rows * h * nope);
  const qPe = new Float32Array(rows * h * rope);
  for (let i = 0; i < rows * h; i++) {
    qNope.set(q.subarray(i * qw, i * qw + nope), i * nope);
    qPe.set(q.subarray(i * qw + nope, (i + 1) * qw), i * rope);
  }
  return { qNope, qPe };
}

/** Timing of a layer run (wall clock, milliseconds). */
export interface LayerTiming {
  /** Projections, norms and the kv split, including the readback. */
  readonly projectMs: number;
  /** runAttention. */
  readonly attentionMs: number;
  /** o_proj, including upload and readback. */
  readonly outputMs: number;
  /** Everything. */
  readonly totalMs: number;
}

/** Result of {@link runLayer} and of a decode step. */
export interface LayerRunResult {
  /** Output [totalQ, hiddenSize] in logical query order. */
  readonly out: Float32Array;
  /** Attention LSE [totalQ, numHeads] (natural log), logical query order. */
  readonly lse: Float32Array;
  /** The plan the attention ran. */
  readonly plan: GpuPlan;
  /** Wall-clock timing. */
  readonly timing: LayerTiming;
}

/** Options of {@link runLayer}. */
export interface RunLayerOptions {
  /** The layer spec. */
  spec: MlaSpec;
  /**
   * The attention plan of the case (resolved once by the caller, e.g. with
   * runner/layer_plan.ts `resolveLayerPlan`): its layout is self-attention (keys are
   * the query tokens) and its dtype is the storage dtype of the whole layer.
   */
  plan: GpuPlan;
  /** Weights on the host (uploaded for this call) or uploaded once. */
  weights: LayerWeights | GpuLayerWeights;
  /** Hidden states [qRows, hiddenSize] in the layout's buffer rows. */
  hidden: Tensor;
  /** Rewrite kernel sources before compilation (planted faults), layer and attention kernels. */
  mutate?: SourceMutation;
}

/**
 * The reason a device cannot run a layer plan it was given (f16 storage without
 * shader-f16), or null.
 *
 * @example
 * ```ts ignore
 * layerDeviceReason(ctx, plan); // null
 * ```
 */
export function layerDeviceReason(ctx: GpuContext, plan: GpuPlan): Reason | null {
  if (plan.variant.dtype === "f16" && !ctx.hasFeature("shader-f16")) {
    return {
      code: "dtype.f16-unavailable",
      message: "dtype f16 needs a device created with the shader-f16 feature; use dtype f32",
    };
  }
  return null;
}

/**
 * Run attention plus o_proj for projected tokens: reads q back, splits it per
 * head, runs `runAttention` on the plan with the given latent/k_pe (host arrays of
 * the plan's key rows), then o_proj on the GPU. Shared by runLayer and decode.
 */
export async function attendAndProject(
  ctx: GpuContext,
  o: {
    enc: LayerEncoder;
    weights: GpuLayerWeights;
    plan: GpuPlan;
    q: Float32Array;
    latent: Tensor;
    kPe: Tensor;
    mutate?: SourceMutation;
    t0: number;
    tProject: number;
  },
): Promise<LayerRunResult> {
  const w = o.weights as GpuLayerWeightsImpl;
  const spec = w.spec;
  const layout = o.plan.layout;
  const { qNope, qPe } = splitQ(spec, o.q, layout.qRows);
  const inputs: AttentionInputs = {
    qNope,
    qPe,
    latent: o.latent,
    kPe: o.kPe,
    wKvB: w.host.kvBProj,
  };
  const { outputs } = await runAttention(ctx, o.plan, {
    spec,
    inputs,
    mutate: o.mutate,
    timing: false,
  });
  const tAttention = performance.now();
  const totalQ = layout.totalQ;
  const hv = spec.numHeads * spec.vHeadDim;
  const hs = spec.hiddenSize;
  const x = o.enc.upload(padCols(outputs.out, totalQ, hv), "attn_out");
  const y = o.enc.storage(totalQ * hs, "out");
  await o.enc.linear(w.linears.oProj, { x, rows: totalQ, y });
  const out = Float32Array.from(await o.enc.read(y, totalQ * hs));
  const tEnd = performance.now();
  return {
    out,
    lse: Float32Array.from(outputs.lse),
    plan: o.plan,
    timing: {
      projectMs: o.tProject - o.t0,
      attentionMs: tAttention - o.tProject,
      outputMs: tEnd - tAttention,
      totalMs: tEnd - o.t0,
    },
  };
}

/**
 * The full MLA layer on the GPU: hidden states [qRows, hidden] (buffer rows of the
 * layout, padding rows never read) to output [totalQ, hidden] and LSE [totalQ, h]
 * in logical query order, through the absorbed or expanded attention path, in f32
 * or f16 storage. The layout is self-attention: every sequence's keys are its
 * query tokens (bshd/sbhd with seqQ = seqK and no kvLens, or thd with the same
 * key and query offsets); decode against a cache is kernels/decode.ts.
 * Throws {@link LayerUnsupportedError} when the device cannot run the plan,
 * ConfigError for a bad layout, RangeError for mis-shaped weights or inputs.
 *
 * @example
 * ```ts
 * // needs a WebGPU device: type-checked, not run
 * import { presetSpec } from "../adapter/presets.ts";
 * import { GpuContext } from "../gpu/device.ts";
 * import { makeHiddenStates, makeLayerWeights } from "../reference/inputs.ts";
 * import { resolveLayerPlan } from "../runner/layer_plan.ts";
 * import { runLayer } from "./layer.ts";
 * const ctx = await GpuContext.create({ optionalFeatures: ["shader-f16"] });
 * const spec = presetSpec("tiny");
 * const plan = resolveLayerPlan(ctx.caps, { spec, path: "absorbed", dtype: "f32",
 *   layout: { kind: "bshd", batch: 2, seqQ: 5, seqK: 5, causal: true } });
 * const { out, lse } = await runLayer(ctx, {
 *   spec,
 *   plan,
 *   weights: makeLayerWeights(spec, { seed: 1 }),
 *   hidden: makeHiddenStates(10, spec.hiddenSize, { seed: 1 }),
 * });
 * out.length; // 10 * 64
 * ```
 */
export async function runLayer(ctx: GpuContext, options: RunLayerOptions): Promise<LayerRunResult> {
  ctx.assertAlive();
  const t0 = performance.now();
  const { spec, plan } = options;
  const given = options.weights;
  const dtype: Dtype = plan.variant.dtype;
  if (isGpuWeights(given) && (given.dtype !== dtype || given.spec !== spec)) {
    throw new RangeError(
      `uploaded weights are ${given.dtype} for ${given.spec.name}; asked ${dtype} for ${spec.name}`,
    );
  }
  const unsupported = layerDeviceReason(ctx, plan);
  if (unsupported) throw new LayerUnsupportedError([unsupported]);
  const layout = plan.layout;
  if (!isSelfAttention(layout)) {
    throw new RangeError(
      "runLayer is self-attention: the layout's key rows must equal its query rows " +
        "(bshd/sbhd with seqQ = seqK and no kvLens, or thd with equal offsets); " +
        "use decodeStep for a cache",
    );
  }
  const hs = spec.hiddenSize;
  if (options.hidden.length !== layout.qRows * hs) {
    throw new RangeError(
      `hidden has ${options.hidden.length} values, expected qRows ${layout.qRows} * hidden ${hs}`,
    );
  }
  const weights = isGpuWeights(given)
    ? given
    : uploadLayerWeights(ctx, { spec, weights: given, dtype });
  const enc = new LayerEncoder(ctx, dtype, options.mutate);
  try {
    return await withErrorScopes(ctx.device, "runLayer", async () => {
      const p = await encodeProjections(enc, { weights, hidden: options.hidden });
      const rope = spec.qkRopeHeadDim;
      const r = spec.kvLoraRank;
      // The KV split: k_pe = the last rope columns of kv_a (self-attention: same rows).
      const kPeBuf = enc.storage(p.rows * rope, "k_pe");
      await enc.copyRows(p.kvA, kPeBuf, {
        pairs: Array.from({ length: p.rows }, (_, i) => [i, i] as const),
        width: rope,
        srcStride: r + rope,
        srcOffset: r,
        dstStride: rope,
        dstOffset: 0,
      });
      const q = await enc.read(p.q, p.rows * spec.numHeads * spec.kChannels);
      const latent = await enc.read(p.latent, p.rows * r);
      const kPe = await enc.read(kPeBuf, p.rows * rope);
      return await attendAndProject(ctx, {
        enc,
        weights,
        plan,
        q,
        latent,
        kPe,
        mutate: options.mutate,
        t0,
        tProject: performance.now(),
      });
    });
  } finally {
    enc.release();
    if (!isGpuWeights(given)) weights.destroy();
  }
}
