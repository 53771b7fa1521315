/**
 * The full MLA attention layer in float64 (torch Linear convention: weight
 * [out, in], y = x W^T), following HF `modeling_deepseek.py`:
 *
 * 1. q: `q_proj(x)` (direct) or `q_b_proj(RMSNorm(q_a_proj(x)) * q_a_layernorm)`
 *    (low-rank); per head `[q_nope (nope) | q_pe (rope)]`.
 * 2. `kv_a_proj_with_mqa(x)` = `[c_raw (r) | k_pe (rope)]`, `c = RMSNorm(c_raw) *
 *    kv_a_layernorm`; k_pe is shared by all heads.
 * 3. The attention core (expanded or absorbed, see attention.ts) with `wKvB = kv_b_proj`.
 * 4. `o_proj` of the concatenated heads.
 *
 * With `storedAs` it holds what the GPU layer (kernels/layer.ts) stores, rounded as that
 * layer stores it: inputs, weights and every activation between its kernels. Parity of
 * the layer then measures the kernels' arithmetic, not the storage every layer of that
 * dtype shares.
 *
 * @module
 */
import type {
  AttentionInputs,
  AttentionPath,
  Dtype,
  LayerWeights,
  MlaSpec,
  NormalizedLayout,
  Tensor,
} from "../adapter/types.ts";
import { layerReasons } from "../adapter/resolve.ts";
import { attention, type AttentionResult } from "./attention.ts";
import {
  checkLayerSpec,
  checkNormalized,
  checkOptions,
  checkRowList,
  checkTensor,
  shown,
} from "./spec_check.ts";
import { stored, storeInPlace } from "./stored.ts";

/** Options of {@link linear}. */
export interface LinearOptions {
  /** Input features (the row width of `x` and of `weight`). */
  inFeatures: number;
  /** Only compute these rows of `x`; the other output rows are NaN (default: all). */
  rows?: readonly number[];
}

/** Options of {@link rmsNorm}. */
export interface RmsNormOptions {
  /** Epsilon added to the mean square. */
  eps: number;
  /** Only compute these rows; the other output rows are NaN (default: all). */
  rows?: readonly number[];
}

/** Options of {@link mlaLayer}. */
export interface MlaLayerOptions {
  /** The layer weights (q weights must match the spec's q path). */
  weights: LayerWeights;
  /** Hidden states [qRows, hiddenSize] in buffer rows. */
  hidden: Float64Array;
  /** Attention formulation (default "expanded"). */
  path?: AttentionPath;
  /** Logical query indices to compute (default all); the other rows are NaN. */
  rows?: readonly number[];
  /**
   * The storage dtype of the GPU layer under test (kernels/layer.ts): the reference then
   * holds what that layer stores as it stores it. The hidden states, the projection
   * weights and every activation the layer writes (q_a, the q latent, q, kv_a, the latent,
   * the attention output, the layer output) are rounded to the dtype, the RMSNorm weights
   * to f32 (the layer keeps them in f32), and the attention core gets the same `storedAs`
   * (it rounds q_pe and k_pe after RoPE). The arithmetic stays float64. Default: none.
   */
  storedAs?: Dtype;
}

/** Intermediate tensors of {@link mlaLayer}. */
export interface MlaLayerIntermediates {
  /** Low-rank path only: RMSNorm(q_a_proj(x)) * q_a_layernorm, [qRows, qLoraRank]. */
  readonly qLatent: Float64Array | null;
  /** Queries [qRows, h*(nope+rope)] (per head nope then rope, RoPE not applied; as stored). */
  readonly q: Float64Array;
  /** kv_a_proj_with_mqa output [kRows, r + rope] (before the norm). */
  readonly kvA: Float64Array;
  /** The attention-core inputs the layer built (feed these to a kernel to compare). */
  readonly attentionInputs: AttentionInputs;
  /** The attention-core outputs: out [totalQ, h, v], lse [totalQ, h]. */
  readonly attention: AttentionResult;
}

/** Result of {@link mlaLayer}. */
export interface MlaLayerResult {
  /** Layer output [totalQ, hiddenSize] in logical query order. */
  readonly out: Float64Array;
  /** Attention LSE [totalQ, h] in logical query order. */
  readonly lse: Float64Array;
  /** Everything computed on the way. */
  readonly intermediates: MlaLayerIntermediates;
}

/**
 * y = x W^T for x [rows, in] and a torch Linear weight W [out, in]; y [rows, out].
 * With `rows`, only those rows are computed and the others are NaN.
 *
 * @example
 * ```ts
 * import { linear } from "./layer.ts";
 * const y = linear(new Float64Array([1, 2]), new Float64Array([1, 0, 0, 1, 1, 1]), {
 *   inFeatures: 2,
 * }); // [1, 2, 3]
 * ```
 */
export function linear(x: Tensor, weight: Tensor, options: LinearOptions): Float64Array {
  // missing options or tensors failed with "Cannot read properties of undefined"
  checkOptions(options, "linear", "{ inFeatures, rows? }");
  checkTensor(x, "linear", "x");
  checkTensor(weight, "linear", "weight");
  const n = options.inFeatures;
  if (
    typeof n !== "number" || !Number.isInteger(n) || n < 1 || x.length % n !== 0 ||
    weight.length % n !== 0
  ) {
    throw new RangeError(
      `linear: inFeatures ${
        shown(n)
      } must be a whole number >= 1 that divides x (${x.length} values) and weight (${weight.length} values)`,
    );
  }
  const rows = x.length / n;
  const outF = weight.length / n;
  const y = new Float64Array(rows * outF);
  const list = options.rows ?? Array.from({ length: rows }, (_, i) => i);
  if (options.rows !== undefined) {
    checkRowList(options.rows, "linear", "rows", { n: rows, what: "rows of x" });
    y.fill(NaN);
  }
  for (const r of list) {
    for (let o = 0; o < outF; o++) {
      let acc = 0;
      for (let i = 0; i < n; i++) acc += x[r * n + i] * weight[o * n + i];
      y[r * outF + o] = acc;
    }
  }
  return y;
}

/** Multiply every element by `factor` (NaN padding stays NaN). */
function scaleInPlace(x: Float64Array, factor: number): void {
  for (let i = 0; i < x.length; i++) x[i] *= factor;
}

/**
 * RMSNorm over the last dimension: `y = x / sqrt(mean(x^2) + eps) * weight`, with
 * x [rows, n] and weight [n].
 *
 * @example
 * ```ts
 * import { rmsNorm } from "./layer.ts";
 * rmsNorm(new Float64Array([3, 4]), new Float64Array([1, 2]), { eps: 0 });
 * // [3 / sqrt(12.5), 8 / sqrt(12.5)]
 * ```
 */
export function rmsNorm(x: Tensor, weight: Tensor, options: RmsNormOptions): Float64Array {
  checkOptions(options, "rmsNorm", "{ eps, rows? }");
  checkTensor(x, "rmsNorm", "x");
  checkTensor(weight, "rmsNorm", "weight");
  const n = weight.length;
  if (n < 1 || x.length % n !== 0) {
    throw new RangeError(`weight width ${n} must divide x (${x.length} values)`);
  }
  // a negative eps made rows of small mean square NaN (sqrt of a negative), NaN or a
  // missing eps every row: silently
  if (typeof options.eps !== "number" || !(options.eps >= 0) || options.eps === Infinity) {
    throw new RangeError(`eps must be a finite number >= 0, found ${options.eps}`);
  }
  const rows = x.length / n;
  const y = new Float64Array(x.length);
  const list = options.rows ?? Array.from({ length: rows }, (_, i) => i);
  if (options.rows !== undefined) {
    checkRowList(options.rows, "rmsNorm", "rows", { n: rows, what: "rows of x" });
    y.fill(NaN);
  }
  for (const r of list) {
    let ss = 0;
    for (let i = 0; i < n; i++) ss += x[r * n + i] * x[r * n + i];
    const inv = 1 / Math.sqrt(ss / n + options.eps);
    for (let i = 0; i < n; i++) y[r * n + i] = x[r * n + i] * inv * weight[i];
  }
  return y;
}

/**
 * The weights as the GPU layer holds them: projections in `dtype`, norms in f32. One
 * difference is kept on purpose: the GPU layer bakes LongCat-Flash's latent scales into
 * the norms' f32 weights (kernels/layer_weights.ts); the reference still scales the normed
 * latent, as the model's code does, so that parity checks the baked form against the
 * model's (they differ by at most an f32 rounding of each weight).
 */
function storedWeights(w: LayerWeights, dtype: Dtype | undefined): LayerWeights {
  if (dtype === undefined) return w;
  const proj = (t: Tensor | undefined) => (t === undefined ? undefined : stored(t, dtype));
  const norm = (t: Tensor | undefined) => (t === undefined ? undefined : stored(t, "f32"));
  return {
    qProj: proj(w.qProj),
    qAProj: proj(w.qAProj),
    qANorm: norm(w.qANorm),
    qBProj: proj(w.qBProj),
    // a missing one stays missing, for checkWeight to name
    kvAProj: proj(w.kvAProj) as Tensor,
    kvANorm: norm(w.kvANorm) as Tensor,
    kvBProj: proj(w.kvBProj) as Tensor,
    oProj: proj(w.oProj) as Tensor,
  };
}

function need(t: Tensor | undefined, name: string, spec: MlaSpec): Tensor {
  if (!t) throw new RangeError(`${spec.qPath} q path of ${spec.name} needs weights.${name}`);
  return t;
}

function checkWeight(t: Tensor, name: string, expected: number): void {
  if (typeof t?.length !== "number") {
    throw new RangeError(`weights.${name} is missing, expected ${expected} values`);
  }
  if (t.length !== expected) {
    throw new RangeError(`weights.${name} has ${t.length} values, expected ${expected}`);
  }
}

/**
 * The full MLA layer in float64. This is self-attention: the keys are the same
 * tokens as the queries, so the layout must have `kRowOf` equal to `qRowOf` (e.g.
 * bshd/sbhd prefill with seqQ = seqK and no kvLens, or thd with the same key and
 * query offsets); otherwise it throws a RangeError. `hidden` is [qRows, hiddenSize]
 * in buffer rows; padding rows are never read. With `rows`, only those logical
 * queries (and the keys they see) are computed; the other output rows are NaN. A spec whose
 * layer this is not (adapter/resolve.ts `layerReasons`: an output gate, attention biases, no
 * latent norms) is a RangeError naming the reason's code.
 *
 * @example
 * ```ts
 * import { presetSpec } from "../adapter/presets.ts";
 * import { normalizeLayout } from "../adapter/layout.ts";
 * import { makeHiddenStates, makeLayerWeights } from "./inputs.ts";
 * import { mlaLayer } from "./layer.ts";
 * const spec = presetSpec("tiny-yarn");
 * const layout = normalizeLayout({ kind: "thd", cuSeqlensQ: [0, 2, 5], causal: true });
 * const weights = makeLayerWeights(spec, { seed: 1 });
 * const hidden = makeHiddenStates(layout.qRows, spec.hiddenSize, { seed: 1, layout });
 * const { out, lse } = mlaLayer(spec, layout, { weights, hidden, path: "absorbed" });
 * out.length; // 5 * 64
 * ```
 */
export function mlaLayer(
  spec: MlaSpec,
  layout: NormalizedLayout,
  options: MlaLayerOptions,
): MlaLayerResult {
  // Missing options failed with "Cannot read properties of undefined (reading 'path')".
  checkOptions(
    options,
    "mlaLayer",
    "{ weights, hidden, path?, rows?, storedAs? } (makeLayerWeights, makeHiddenStates)",
  );
  // A path or dtype of another spelling ("absorb", "bf16") from an untyped caller computed
  // silently: the attention core's absorbed branch never ran (scores from a zero q~), and
  // "bf16" rounded as f32.
  const path = options.path ?? "expanded";
  if (path !== "expanded" && path !== "absorbed") {
    throw new RangeError(
      `path must be "expanded" or "absorbed", found ${JSON.stringify(path)}`,
    );
  }
  if (options.storedAs !== undefined && options.storedAs !== "f32" && options.storedAs !== "f16") {
    throw new RangeError(
      `storedAs must be "f32", "f16" or absent (float64), found ${
        JSON.stringify(options.storedAs)
      }`,
    );
  }
  checkNormalized(layout, "mlaLayer");
  // A hand-built spec was read unchecked: qLoraRank undefined said "expected NaN" values, a
  // qLatentScale of NaN made every output NaN, silently; missing hidden states or weights
  // failed with "Cannot read properties of undefined".
  checkLayerSpec(spec, "mlaLayer");
  // kvLatentScale was read unchecked: NaN made every output NaN and "2" scaled by 2,
  // silently; a qLatentScale on a spec without a q latent was dropped without a word; a NaN
  // rmsNormEps said "eps must be ...", naming no spec field
  for (const field of ["qLatentScale", "kvLatentScale"] as const) {
    const v: unknown = spec[field];
    if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v))) {
      throw new RangeError(
        `mlaLayer: spec.${field} must be a finite number, found ${shown(v)}`,
      );
    }
  }
  if (spec.qLatentScale !== undefined && spec.qLoraRank === null) {
    throw new RangeError(
      `mlaLayer: spec.qLatentScale is ${spec.qLatentScale} but the spec has no q latent ` +
        "(qLoraRank null) for it to scale: leave it out (buildSpec does)",
    );
  }
  // A gated, biased or norm-less model's layer was computed as DeepSeek's, silently: not the
  // spec's model (the harness's GPU layer refuses these specs with the same reasons).
  const missing = layerReasons(spec);
  if (missing.length > 0) {
    throw new RangeError(
      `mlaLayer: ${missing.map((r) => `${r.message} (${r.code})`).join("; ")}`,
    );
  }
  const eps: unknown = spec.rmsNormEps;
  if (typeof eps !== "number" || !(eps >= 0) || eps === Infinity) {
    throw new RangeError(
      `mlaLayer: spec.rmsNormEps must be a finite number >= 0, found ${shown(eps)}`,
    );
  }
  if (typeof options.hidden?.length !== "number") {
    throw new RangeError(
      `mlaLayer: hidden is missing, expected qRows * hiddenSize = ${
        layout.qRows * spec.hiddenSize
      } values`,
    );
  }
  if (typeof options.weights !== "object" || options.weights === null) {
    throw new RangeError(`mlaLayer: weights must be LayerWeights, found ${options.weights}`);
  }
  const dtype = options.storedAs;
  // What the GPU layer reads: its uploads (projections and hidden states in the storage
  // dtype, the norms' weights in f32). Without storedAs every tensor is read as given.
  const weights = storedWeights(options.weights, dtype);
  const hidden = stored(options.hidden, dtype);
  const hs = spec.hiddenSize;
  const h = spec.numHeads;
  const nope = spec.qkNopeHeadDim;
  const rope = spec.qkRopeHeadDim;
  const r = spec.kvLoraRank;
  const qw = nope + rope;
  const same = layout.kRowOf.length === layout.qRowOf.length &&
    layout.kRowOf.every((row, j) => row === layout.qRowOf[j]) &&
    layout.seqs.every((s) => s.qLen === s.kLen);
  if (!same) {
    throw new RangeError(
      "mlaLayer is self-attention: the layout's key rows must equal its query rows " +
        "(use seqQ = seqK without kvLens, or thd with equal query and key offsets)",
    );
  }
  if (hidden.length !== layout.qRows * hs) {
    throw new RangeError(
      `hidden has ${hidden.length} values, expected qRows ${layout.qRows} * hidden ${hs}`,
    );
  }
  checkWeight(weights.kvAProj, "kvAProj", (r + rope) * hs);
  checkWeight(weights.kvANorm, "kvANorm", r);
  checkWeight(weights.kvBProj, "kvBProj", h * (nope + spec.vHeadDim) * r);
  checkWeight(weights.oProj, "oProj", hs * h * spec.vHeadDim);

  // Logical queries to compute, and the keys of their sequences.
  // a string "0,1" was read a character at a time ("query row , is outside [0, 2)")
  if (options.rows !== undefined) {
    checkRowList(options.rows, "mlaLayer", "rows", { n: layout.totalQ, what: "layout.totalQ" });
  }
  const qList = options.rows
    ? [...new Set(options.rows)].sort((a, b) => a - b)
    : Array.from({ length: layout.totalQ }, (_, i) => i);
  const seqIds = new Set(qList.map((q) => layout.qSeqId[q]));
  const qBufRows = qList.map((q) => layout.qRowOf[q]);
  const kBufRows: number[] = [];
  for (const sid of seqIds) {
    const s = layout.seqs[sid];
    for (let j = s.kStart; j < s.kStart + s.kLen; j++) kBufRows.push(layout.kRowOf[j]);
  }

  // 1. Queries.
  let qLatent: Float64Array | null = null;
  let q: Float64Array;
  if (spec.qLoraRank === null) {
    const qProj = need(weights.qProj, "qProj", spec);
    checkWeight(qProj, "qProj", h * qw * hs);
    q = linear(hidden, qProj, { inFeatures: hs, rows: qBufRows });
    storeInPlace(q, dtype);
  } else {
    const ql = spec.qLoraRank;
    const qAProj = need(weights.qAProj, "qAProj", spec);
    const qANorm = need(weights.qANorm, "qANorm", spec);
    const qBProj = need(weights.qBProj, "qBProj", spec);
    checkWeight(qAProj, "qAProj", ql * hs);
    checkWeight(qANorm, "qANorm", ql);
    checkWeight(qBProj, "qBProj", h * qw * ql);
    const qa = linear(hidden, qAProj, { inFeatures: hs, rows: qBufRows });
    storeInPlace(qa, dtype);
    qLatent = rmsNorm(qa, qANorm, { eps: spec.rmsNormEps, rows: qBufRows });
    // LongCat-Flash's mla_scale_q_lora, as its modeling code applies it: on the normed latent
    // (the GPU layer bakes it into q_a_layernorm's weight instead, as SGLang does).
    if (spec.qLatentScale !== undefined) scaleInPlace(qLatent, spec.qLatentScale);
    storeInPlace(qLatent, dtype);
    q = linear(qLatent, qBProj, { inFeatures: ql, rows: qBufRows });
    storeInPlace(q, dtype);
  }
  const qNope = new Float64Array(layout.qRows * h * nope).fill(NaN);
  const qPe = new Float64Array(layout.qRows * h * rope).fill(NaN);
  for (const row of qBufRows) {
    for (let hd = 0; hd < h; hd++) {
      const src = (row * h + hd) * qw;
      qNope.set(q.subarray(src, src + nope), (row * h + hd) * nope);
      qPe.set(q.subarray(src + nope, src + qw), (row * h + hd) * rope);
    }
  }

  // 2. Latent and shared rope key (hidden rows are the key rows: self-attention).
  const kvA = new Float64Array(layout.kRows * (r + rope)).fill(NaN);
  const kvAq = linear(hidden, weights.kvAProj, { inFeatures: hs, rows: kBufRows });
  storeInPlace(kvAq, dtype);
  const cRaw = new Float64Array(layout.kRows * r).fill(NaN);
  const kPe = new Float64Array(layout.kRows * rope).fill(NaN);
  for (const row of kBufRows) {
    const src = row * (r + rope);
    kvA.set(kvAq.subarray(src, src + r + rope), src);
    cRaw.set(kvAq.subarray(src, src + r), row * r);
    kPe.set(kvAq.subarray(src + r, src + r + rope), row * rope);
  }
  const latent = rmsNorm(cRaw, weights.kvANorm, { eps: spec.rmsNormEps, rows: kBufRows });
  // LongCat-Flash's mla_scale_kv_lora: on the normed latent, the cache's rows.
  if (spec.kvLatentScale !== undefined) scaleInPlace(latent, spec.kvLatentScale);
  storeInPlace(latent, dtype);

  // 3. Attention core.
  const attentionInputs: AttentionInputs = { qNope, qPe, latent, kPe, wKvB: weights.kvBProj };
  const att = attention(spec, layout, {
    inputs: attentionInputs,
    rows: qList,
    path,
    storedAs: dtype,
  });

  // 4. Output projection of the concatenated heads ([totalQ, h*v] is att.out as is; the
  // GPU layer uploads the core's f32 output again in the storage dtype).
  const attOut = stored(att.out, dtype);
  const out = linear(attOut, weights.oProj, { inFeatures: h * spec.vHeadDim, rows: qList });
  storeInPlace(out, dtype);
  return {
    out,
    lse: att.lse,
    intermediates: { qLatent, q, kvA, attentionInputs, attention: att },
  };
}
