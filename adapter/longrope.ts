/**
 * LongRoPE as MiniCPM3 (model_type `minicpm3`, openbmb/MiniCPM3-4B) runs it on MLA's rope
 * channels, in float64. Sources, read for their formulas (no code copied):
 * - the model repository's remote code, `modeling_minicpm.py`, class `MiniCPMLongRoPE`
 *   (`_set_cos_sin_cache`): `freqs = outer(t, 1 / ext_factors) * inv_freq` with
 *   `inv_freq_i = 1 / theta^(2i/d)` and `ext_factors = long_factor` when the cached length
 *   is above `original_max_position_embeddings`, else `short_factor`; cos and sin are
 *   multiplied by `scaling_factor = sqrt(1 + ln(max_position_embeddings / original) /
 *   ln(original))`; `rotate_half` (NeoX halves) on q_pe/k_pe with no permutation; softmax
 *   scale `q_head_dim ** -0.5`;
 * - transformers' `src/transformers/models/minicpm3/modular_minicpm3.py` with
 *   `modeling_rope_utils.py` (`_compute_longrope_parameters`, `longrope_frequency_update`):
 *   `inv_freq_i = 1 / (ext_i * theta^(2i/d))`, long factors when `max(position_ids) + 1` is
 *   above the original length, cos/sin scaled by `sqrt(1 + ln(factor) / ln(original))` with
 *   `factor = max_position_embeddings / original` (1 when factor <= 1).
 *
 * The two agree where the config reader accepts a config (adapter/config.ts: max positions not
 * below the original length; the lists equal when max positions exceed it), so one rule holds:
 * a case whose longest key sequence is above the original length uses `long_factor`, any other
 * `short_factor` (the position of a sequence's last key plus one is its key count).
 *
 * @module
 */
import { withParams } from "./spec.ts";
export { longropeCosSinScale, longropeInvFreq } from "./rope.ts";
import type { LongRopeParams, MlaSpec, NormalizedLayout, Reason } from "./types.ts";

/**
 * Which factor list a case whose longest sequence has `maxKeyLength` keys uses.
 *
 * @example
 * ```ts
 * import { longropeFactorsFor } from "./longrope.ts";
 * longropeFactorsFor(32768, 32768); // "short"
 * longropeFactorsFor(32768, 32769); // "long"
 * ```
 */
export function longropeFactorsFor(original: number, maxKeyLength: number): "short" | "long" {
  return maxKeyLength > original ? "long" : "short";
}

/** Whether the two factor lists are the same numbers (then the choice changes nothing). */
export function sameFactors(p: LongRopeParams): boolean {
  return p.shortFactor.length === p.longFactor.length &&
    p.shortFactor.every((x, i) => x === p.longFactor[i]);
}

/** The longest sequence's key count of a layout (0 when it has none). */
function longestKeys(layout: NormalizedLayout): number {
  return layout.seqs.reduce((m, s) => Math.max(m, s.kLen), 0);
}

/**
 * The spec a case uses: for a LongRoPE spec, the one whose inverse frequencies come from the
 * factor list the model picks for the case's longest key sequence; any other spec unchanged.
 *
 * @example
 * ```ts
 * import { specForKeys } from "./longrope.ts";
 * import { presetSpec } from "./presets.ts";
 * const tiny = presetSpec("tiny");
 * specForKeys(tiny, 100000) === tiny; // true (no LongRoPE: unchanged)
 * ```
 */
export function specForKeys(spec: MlaSpec, maxKeyLength: number): MlaSpec {
  const lr = spec.longrope;
  if (lr === undefined) return spec;
  const factors = longropeFactorsFor(lr.originalMaxPositionEmbeddings, maxKeyLength);
  return factors === lr.factors ? spec : withParams(spec, { longrope: { ...lr, factors } });
}

/**
 * {@link specForKeys} for a normalized layout.
 *
 * @example
 * ```ts
 * import { specForLayout } from "./longrope.ts";
 * import { normalizeLayout } from "./layout.ts";
 * import { presetSpec } from "./presets.ts";
 * const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 4, causal: true });
 * specForLayout(presetSpec("tiny"), layout).name; // "tiny"
 * ```
 */
export function specForLayout(spec: MlaSpec, layout: NormalizedLayout): MlaSpec {
  return specForKeys(spec, longestKeys(layout));
}

/** Reason code of a case whose LongRoPE factor list is not the one its keys call for. */
export const LONGROPE_FACTORS_CODE = "spec.longrope-factors";

/**
 * Why a case cannot be computed as its model computes it, or null: a LongRoPE spec whose
 * inverse frequencies come from the other factor list than the case's longest key sequence
 * calls for (a spec not passed through {@link specForLayout}). Equal lists never disagree.
 *
 * @example
 * ```ts
 * import { longropeReason } from "./longrope.ts";
 * import { normalizeLayout } from "./layout.ts";
 * import { presetSpec } from "./presets.ts";
 * const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 4, causal: true });
 * longropeReason(presetSpec("tiny"), layout); // null
 * ```
 */
export function longropeReason(spec: MlaSpec, layout: NormalizedLayout): Reason | null {
  const lr = spec.longrope;
  if (lr === undefined || sameFactors(lr)) return null;
  const most = longestKeys(layout);
  const want = longropeFactorsFor(lr.originalMaxPositionEmbeddings, most);
  if (want === lr.factors) return null;
  return {
    code: LONGROPE_FACTORS_CODE,
    message: `the spec's LongRoPE inverse frequencies use ${lr.factors}_factor, but the ` +
      `case's longest sequence has ${most} keys, for which the model (MiniCPM3) uses ` +
      `${want}_factor (long above original_max_position_embeddings ` +
      `${lr.originalMaxPositionEmbeddings}); derive the spec with specForLayout`,
  };
}
