/**
 * The layer's weights on the GPU: projections uploaded in the torch Linear layout
 * (weight [out, in]), split into row chunks that fit one storage binding, with their
 * in-features padded to vec4; norms in f32. Used by kernels/layer.ts and decode.ts.
 *
 * @module
 */
import type { Dtype, LayerWeights, MlaSpec, Tensor } from "../adapter/types.ts";
import { uploadStorage } from "../gpu/buffers.ts";
import type { GpuContext } from "../gpu/device.ts";

/** A projection weight on the GPU, split into row chunks that fit one binding. */
export interface GpuLinear {
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

export interface GpuLayerWeightsImpl extends GpuLayerWeights {
  /** The device the buffers were uploaded to. */
  readonly device: GPUDevice;
  /** Whether destroy() has run. */
  readonly destroyed: boolean;
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

/**
 * Bytes of one stored element.
 *
 * @example
 * ```ts
 * import { bytesOf } from "./layer_weights.ts";
 * bytesOf("f16"); // 2
 * ```
 */
export const bytesOf = (dtype: Dtype): number => (dtype === "f16" ? 2 : 4);

/**
 * A width rounded up to whole vec4s.
 *
 * @example
 * ```ts
 * import { pad4 } from "./layer_weights.ts";
 * pad4(6); // 8
 * ```
 */
export const pad4 = (n: number): number => Math.ceil(n / 4) * 4;

/**
 * Copy [rows, cols] into [rows, colsPadded] with zero columns on the right. The copy is
 * float64, so that an f16 upload rounds each value once, as the float64 reference's
 * `storedAs` does (a float32 copy would round it twice).
 *
 * @example
 * ```ts
 * import { padCols } from "./layer_weights.ts";
 * Array.from(padCols([1, 2, 3], 1, 3)); // [1, 2, 3, 0]
 * ```
 */
export function padCols(data: ArrayLike<number>, rows: number, cols: number): ArrayLike<number> {
  const cp = pad4(cols);
  if (cp === cols) return data;
  const out = new Float64Array(rows * cp);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[r * cp + c] = data[r * cols + c];
  }
  return out;
}

/**
 * Upload a torch Linear weight [out, inFeatures] as row chunks that each fit one
 * storage binding, in-features padded to vec4 (`maxRows` forces smaller chunks).
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { GpuContext } from "../gpu/device.ts";
 * import { uploadLinear } from "./layer_weights.ts";
 * const ctx = await GpuContext.create();
 * const lin = uploadLinear(ctx.device, new Float64Array(6), {
 *   out: 3, inFeatures: 2, dtype: "f32", label: "w",
 * });
 * lin.chunks.length; // 1
 * ```
 */
export function uploadLinear(
  device: GPUDevice,
  data: Tensor,
  shape: { out: number; inFeatures: number; dtype: Dtype; label: string; maxRows?: number },
): GpuLinear {
  const { out, inFeatures, dtype } = shape;
  if (typeof data?.length !== "number") {
    throw new RangeError(`weights.${shape.label} is missing: it must hold [${out}, ${inFeatures}]`);
  }
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
  if (typeof t?.length !== "number") {
    throw new RangeError(`weights.${name} is missing: it must hold ${n} values`);
  }
  if (t.length !== n) throw new RangeError(`weights.${name} has ${t.length} values, expected ${n}`);
  return t;
}

/**
 * A norm weight times LongCat-Flash's latent factor (mla_scale_q_lora / mla_scale_kv_lora):
 * RMSNorm(x) * w * f = RMSNorm(x) * (w * f), so the layer's norm pass applies it with no
 * kernel of its own (as SGLang bakes it in at load). The float64 reference scales the
 * normed latent instead, as the model's code does (with `storedAs` too): parity checks the
 * two agree (tests/adapter_model_variants_test.ts runs a latent-scaled layer).
 */
function scaled(t: Tensor, factor: number | undefined): Tensor {
  return factor === undefined ? t : Float64Array.from(t, (v) => v * factor);
}

/**
 * Upload a layer's weights for a storage dtype (projections in `dtype`, norm
 * weights in f32). Shapes are checked against the spec (RangeError naming the
 * field). Weights larger than one storage binding are split into row chunks.
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { presetSpec } from "../adapter/presets.ts";
 * import { GpuContext } from "../gpu/device.ts";
 * import { makeLayerWeights } from "../reference/inputs.ts";
 * import { uploadLayerWeights } from "./layer_weights.ts";
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
  if (dtype !== "f32" && dtype !== "f16") {
    throw new RangeError(
      `uploadLayerWeights: dtype must be "f32" or "f16", got ${JSON.stringify(dtype)}`,
    );
  }
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
  // A weight that is missing or mis-shaped throws after others were uploaded: those are
  // destroyed, so a caller that catches the error holds no buffer it cannot reach.
  try {
    return uploadChecked();
  } catch (e) {
    owned.forEach((b) => b.destroy());
    throw e;
  }

  function uploadChecked(): GpuLayerWeights {
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
      qANorm = norm(
        scaled(checkNorm(need(weights.qANorm, "qANorm", spec), "qANorm", ql), spec.qLatentScale),
        "qANorm",
      );
    }
    const kvANorm = norm(
      scaled(checkNorm(weights.kvANorm, "kvANorm", r), spec.kvLatentScale),
      "kvANorm",
    );
    let destroyed = false;
    const impl: GpuLayerWeightsImpl = {
      spec,
      dtype,
      host: { ...weights, kvBProj: kvb },
      linears,
      qANorm,
      kvANorm,
      device,
      get destroyed() {
        return destroyed;
      },
      destroy: () => {
        destroyed = true;
        owned.forEach((b) => b.destroy());
      },
    };
    return impl;
  }
}

/**
 * Why uploaded weights cannot run on `ctx`'s device, or null: destroyed, or uploaded to
 * another context's device (WebGPU's only word for either was a validation error naming a
 * buffer label such as "qProj[0:]").
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { presetSpec } from "../adapter/presets.ts";
 * import { GpuContext } from "../gpu/device.ts";
 * import { makeLayerWeights } from "../reference/inputs.ts";
 * import { uploadedWeightsProblem, uploadLayerWeights } from "./layer_weights.ts";
 * const ctx = await GpuContext.create();
 * const spec = presetSpec("tiny");
 * const w = uploadLayerWeights(ctx, { spec, weights: makeLayerWeights(spec, { seed: 1 }) });
 * uploadedWeightsProblem(w, ctx); // null
 * w.destroy();
 * ```
 */
export function uploadedWeightsProblem(weights: GpuLayerWeights, ctx: GpuContext): string | null {
  const w = weights as GpuLayerWeightsImpl;
  const which = `the uploaded weights (${w.spec.name}, ${w.dtype})`;
  if (w.destroyed === true) {
    return `${which} were destroyed (weights.destroy()): upload them again`;
  }
  if (w.device !== undefined && w.device !== ctx.device) {
    return `${which} were uploaded to another GpuContext's device: upload them with ` +
      "uploadLayerWeights(ctx, ...) of the context that runs them";
  }
  return null;
}

/**
 * Whether layer weights were already uploaded (else they are host tensors).
 *
 * @example
 * ```ts
 * import { isGpuWeights } from "./layer_weights.ts";
 * isGpuWeights({ kvAProj: [], kvANorm: [], kvBProj: [], oProj: [] } as never); // false
 * ```
 */
export function isGpuWeights(w: LayerWeights | GpuLayerWeights): w is GpuLayerWeights {
  return "host" in w && "destroy" in w;
}
