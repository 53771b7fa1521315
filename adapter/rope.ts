/**
 * RoPE and YaRN math in float64: inverse-frequency tables and the YaRN attention
 * factor. Formulas follow ../shared/MLA_MATH.md.
 *
 * @module
 */

/**
 * The YaRN attention factor m = 0.1 * mscale * ln(factor) + 1, or 1 when
 * factor <= 1 or mscale is 0.
 *
 * @example
 * ```ts
 * import { yarnGetMscale } from "./rope.ts";
 * yarnGetMscale(40, 1); // 1.3688879...
 * ```
 */
export function yarnGetMscale(factor: number, mscale: number): number {
  if (factor <= 1 || mscale === 0) return 1;
  return 0.1 * mscale * Math.log(factor) + 1;
}

/**
 * Plain RoPE inverse frequencies theta^(-2i/d) for i in [0, d/2).
 *
 * @example
 * ```ts
 * import { plainInvFreq } from "./rope.ts";
 * plainInvFreq(8, 10000)[0]; // 1
 * ```
 */
export function plainInvFreq(dim: number, theta: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < dim / 2; i++) out.push(Math.pow(theta, (-2 * i) / dim));
  return out;
}

/** Options of {@link yarnInvFreq}. */
export interface YarnInvFreqOptions {
  /** YaRN scaling factor. */
  factor: number;
  /** Pre-extension context length. */
  originalMaxPositionEmbeddings: number;
  /** Fast boundary, in rotations. */
  betaFast: number;
  /** Slow boundary, in rotations. */
  betaSlow: number;
}

/** The dimension index at which a frequency completes `rotations` turns over `orig` positions. */
function correctionDim(dim: number, theta: number, orig: number, rotations: number): number {
  return (dim * Math.log(orig / (rotations * 2 * Math.PI))) / (2 * Math.log(theta));
}

/**
 * YaRN inverse frequencies: interpolated (divided by factor) below the slow
 * boundary, unchanged above the fast one, linearly ramped between. This is
 * DeepSeek-V3 `inference/model.py` (`find_correction_range`, `linear_ramp_factor`)
 * and `modeling_deepseek.py` (`yarn_find_correction_range`, `yarn_linear_ramp_mask`)
 * step for step, in float64:
 * - low = max(floor(corr(beta_fast)), 0), high = min(ceil(corr(beta_slow)), dim - 1);
 * - ramp_i = clamp((i - low) / (high - low), 0, 1), where high == low becomes
 *   high + 0.001 (Kimi-K2's beta_fast == beta_slow lands here whenever the
 *   correction dim is an integer, and always when both clamp to 0);
 * - high < low (beta_fast < beta_slow, or both clamped) is not an error there and
 *   not here: the slope is negative and the clamp decides.
 *
 * @example
 * ```ts
 * import { yarnInvFreq } from "./rope.ts";
 * const f = yarnInvFreq(64, 10000, {
 *   factor: 40, originalMaxPositionEmbeddings: 4096, betaFast: 32, betaSlow: 1,
 * });
 * f.length; // 32
 * ```
 */
export function yarnInvFreq(dim: number, theta: number, options: YarnInvFreqOptions): number[] {
  const { factor, originalMaxPositionEmbeddings: orig, betaFast, betaSlow } = options;
  const low = Math.max(Math.floor(correctionDim(dim, theta, orig, betaFast)), 0);
  const high = Math.min(Math.ceil(correctionDim(dim, theta, orig, betaSlow)), dim - 1);
  // linear_ramp_factor: `if min == max: max += 0.001`, then (i - min) / (max - min).
  const span = high === low ? 0.001 : high - low;
  const out: number[] = [];
  for (let i = 0; i < dim / 2; i++) {
    const extra = Math.pow(theta, (-2 * i) / dim);
    const inter = extra / factor;
    const ramp = Math.min(Math.max((i - low) / span, 0), 1);
    out.push(inter * ramp + extra * (1 - ramp));
  }
  return out;
}

/**
 * LongRoPE inverse frequencies (MiniCPM3; adapter/longrope.ts names the sources): theta^(-2i/d) / ext_i for i in [0, d/2), ext the chosen
 * factor list (one entry per rotated pair).
 *
 * @example
 * ```ts
 * import { longropeInvFreq } from "./rope.ts";
 * longropeInvFreq(4, 10000, [2, 4]); // [0.5, 0.0025]
 * ```
 */
export function longropeInvFreq(dim: number, theta: number, ext: readonly number[]): number[] {
  if (ext.length !== dim / 2) {
    throw new Error(`longropeInvFreq: ${ext.length} factors for rope width ${dim}`);
  }
  return ext.map((e, i) => 1 / (e * Math.pow(theta, (2 * i) / dim)));
}

/**
 * The cos/sin multiplier: sqrt(1 + ln(max / original) / ln(original)), 1 when max positions
 * do not exceed the original length.
 *
 * @example
 * ```ts
 * import { longropeCosSinScale } from "./rope.ts";
 * longropeCosSinScale(32768, 32768); // 1
 * longropeCosSinScale(131072, 4096); // sqrt(1 + ln(32) / ln(4096))
 * ```
 */
export function longropeCosSinScale(maxPositions: number, original: number): number {
  if (maxPositions <= original) return 1;
  return Math.sqrt(1 + Math.log(maxPositions / original) / Math.log(original));
}

/**
 * Per-position cos/sin table for the spec's RoPE, computed in float64 and
 * multiplied by the spec's cos/sin scale: row p holds cos(p * inv_freq_i) for i in
 * [0, rope/2), then sin for the same i. Kernels read this table instead of forming
 * `position * inv_freq` in float32 (which loses ~1e-4 rad by position 20000).
 *
 * @example
 * ```ts
 * import { ropeCosSin } from "./rope.ts";
 * const t = ropeCosSin([1, 0.5], 1, [0, 3]);
 * t.length; // 2 positions * 2 * 2 = 8
 * ```
 */
export function ropeCosSin(
  invFreq: readonly number[],
  cosSinScale: number,
  positions: readonly number[],
): Float64Array {
  const half = invFreq.length;
  const out = new Float64Array(positions.length * 2 * half);
  positions.forEach((p, r) => {
    for (let i = 0; i < half; i++) {
      const angle = p * invFreq[i];
      out[r * 2 * half + i] = Math.cos(angle) * cosSinScale;
      out[r * 2 * half + half + i] = Math.sin(angle) * cosSinScale;
    }
  });
  return out;
}

/**
 * The channel index pairs RoPE rotates, for a rope width `dim`: interleaved pairs
 * (2i, 2i+1) as DeepSeek's weights expect, or NeoX halves (i, i + dim/2). Pair i
 * uses inv_freq_i in both conventions.
 *
 * @example
 * ```ts
 * import { ropePairs } from "./rope.ts";
 * ropePairs(4, "interleaved"); // [[0, 1], [2, 3]]
 * ropePairs(4, "neox"); // [[0, 2], [1, 3]]
 * ```
 */
export function ropePairs(dim: number, pairing: "interleaved" | "neox"): [number, number][] {
  const half = dim / 2;
  return Array.from(
    { length: half },
    (_, i) => pairing === "interleaved" ? [2 * i, 2 * i + 1] : [i, i + half],
  );
}
