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
import type { GpuContext } from "../gpu/device.ts";
import { withErrorScopes } from "../gpu/scopes.ts";
import { notGpuPlan, runAttention } from "./attention.ts";
import { LayerEncoder } from "./layer_encoder.ts";
import {
  type GpuLayerWeights,
  type GpuLayerWeightsImpl,
  isGpuWeights,
  pad4,
  padCols,
  uploadedWeightsProblem,
  uploadLayerWeights,
} from "./layer_weights.ts";
import { planSpecDifference, specDifference } from "../adapter/spec.ts";
import type { SourceMutation } from "./source.ts";

/** The layer cannot run on this device (e.g. f16 without shader-f16): every reason. */
export class LayerUnsupportedError extends Error {
  /** Why, one entry per failed check. */
  readonly reasons: readonly Reason[];
  /** Build the error from every reason the layer cannot run (each check that failed). */
  constructor(reasons: readonly Reason[]) {
    // A reason every backend gave (e.g. one about the spec) is said once.
    super(
      `the layer is unsupported here: ${[...new Set(reasons.map((r) => r.message))].join("; ")}`,
    );
    this.name = "LayerUnsupportedError";
    this.reasons = reasons;
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
 *
 * @example
 * ```ts ignore
 * const p = await encodeProjections(enc, { weights, hidden });
 * p.rows; // the hidden-state rows projected
 * ```
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
  const q = enc.unwritten(rows * qOut, "q");
  if (spec.qLoraRank === null) {
    await enc.linear(w.linears.qProj!, { x, rows, y: q });
  } else {
    const ql = spec.qLoraRank;
    const qa = enc.unwritten(rows * ql, "q_a");
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
  const kvA = enc.unwritten(rows * kvw, "kv_a");
  await enc.linear(w.linears.kvAProj, { x, rows, y: kvA });
  const latent = enc.unwritten(rows * r, "latent");
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
 * The RangeError of a plan resolved for another spec (see {@link planSpecDifference}).
 *
 * @example
 * ```ts
 * import { presetSpec } from "../adapter/presets.ts";
 * import { planSpecError } from "./layer.ts";
 * planSpecError(presetSpec("tiny"), "softmaxScale"); // a RangeError naming the field
 * ```
 */
export function planSpecError(spec: MlaSpec, field: string): RangeError {
  return new RangeError(
    `the plan's attention differs from spec ${spec.name} in ${field} (a plan resolved for ` +
      `another spec: its kernels would run that spec's attention); resolve the plan for ${spec.name}`,
  );
}

/**
 * Run attention plus o_proj for projected tokens: reads q back, splits it per
 * head, runs `runAttention` on the plan with the given latent/k_pe (host arrays of
 * the plan's key rows), then o_proj on the GPU. Shared by runLayer and decode.
 *
 * @example
 * ```ts ignore
 * const r = await attendAndProject(ctx, { enc, weights, plan, q, latent, kPe, t0, tProject });
 * ```
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
  const y = o.enc.unwritten(totalQ * hs, "out");
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
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
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
  const notGpu = notGpuPlan(plan);
  if (notGpu !== null) throw new TypeError(`runLayer: ${notGpu}`);
  const given = options.weights;
  const dtype: Dtype = plan.variant.dtype;
  if (isGpuWeights(given)) {
    const problem = uploadedWeightsProblem(given, ctx);
    if (problem !== null) throw new Error(`runLayer: ${problem}`);
    const differs = specDifference(given.spec, spec);
    if (given.dtype !== dtype || differs !== null) {
      throw new RangeError(
        `uploaded weights are ${given.dtype} for ${given.spec.name}; asked ${dtype} for ` +
          `${spec.name}${differs === null ? "" : ` (the specs differ in ${differs})`}`,
      );
    }
  }
  const planDiffers = planSpecDifference(plan, spec);
  if (planDiffers !== null) throw planSpecError(spec, planDiffers);
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
      const kPeBuf = enc.unwritten(p.rows * rope, "k_pe");
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
