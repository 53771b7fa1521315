/**
 * Deterministic float64 inputs for the attention core and the full layer. Each
 * tensor draws from its own named stream of the case seed (see util/prng.ts), so the
 * numbers of one tensor never depend on the size or presence of another.
 *
 * Scales keep activations and scores O(1): q, latent and k_pe ~ N(0, 1), kv_b_proj
 * ~ N(0, 1/r) (so W_UK c and W_UV c are ~ N(0, 1)); layer weights ~ N(0, 1/fan_in);
 * RMSNorm weights ~ 1 + N(0, 0.1^2). Buffer rows that no logical token maps to
 * (padding) are NaN when `poison` is on (the default): kernels must never read them.
 * `poisonKeys` also poisons the rows of chosen logical keys INSIDE their sequences:
 * queries that see such a key must give NaN (as the reference does), the others
 * must not be touched by it (causal future keys, other packed sequences, other splits).
 *
 * Stream names: `attention.qNope`, `attention.qPe`, `attention.latent`,
 * `attention.kPe`, `attention.wKvB`; `layer.<field>` for {@link LayerWeights} fields;
 * `hidden` for hidden states.
 *
 * @module
 */
import type { AttentionInputs, LayerWeights, MlaSpec, NormalizedLayout } from "../adapter/types.ts";
import { makePrng } from "../util/prng.ts";
import {
  checkAttentionSpec,
  checkFlag,
  checkLayerSpec,
  checkNormalized,
  checkOptions,
  checkSeed,
  shown,
} from "./spec_check.ts";

/** {@link AttentionInputs} as the generator makes them: every tensor float64. */
export interface Float64AttentionInputs extends AttentionInputs {
  /** [qRows, numHeads, qkNopeHeadDim] */
  readonly qNope: Float64Array;
  /** [qRows, numHeads, qkRopeHeadDim], before RoPE. */
  readonly qPe: Float64Array;
  /** [kRows, kvLoraRank] */
  readonly latent: Float64Array;
  /** [kRows, qkRopeHeadDim], before RoPE. */
  readonly kPe: Float64Array;
  /** [numHeads * (qkNopeHeadDim + vHeadDim), kvLoraRank] */
  readonly wKvB: Float64Array;
}

/** {@link LayerWeights} as the generator makes them: every tensor float64. */
export interface Float64LayerWeights extends LayerWeights {
  /** q_proj [h*(nope+rope), hidden] (direct q path only). */
  readonly qProj?: Float64Array;
  /** q_a_proj [q_lora, hidden] (low-rank only). */
  readonly qAProj?: Float64Array;
  /** q_a_layernorm weight [q_lora] (low-rank only). */
  readonly qANorm?: Float64Array;
  /** q_b_proj [h*(nope+rope), q_lora] (low-rank only). */
  readonly qBProj?: Float64Array;
  /** kv_a_proj_with_mqa [r + rope, hidden]. */
  readonly kvAProj: Float64Array;
  /** kv_a_layernorm weight [r]. */
  readonly kvANorm: Float64Array;
  /** kv_b_proj [h*(nope+v), r]. */
  readonly kvBProj: Float64Array;
  /** o_proj [hidden, h*v]. */
  readonly oProj: Float64Array;
}

/** Options of {@link makeAttentionInputs}. */
export interface MakeAttentionInputsOptions {
  /** Case seed. */
  seed: number;
  /** Fill padding rows with NaN (default true). */
  poison?: boolean;
  /**
   * Logical keys (indices into `layout.kRowOf`) whose latent and k_pe rows are set to
   * `poisonValue` as well, although they are inside their sequence (default none).
   */
  poisonKeys?: readonly number[];
  /** The value written into the rows of `poisonKeys` (default NaN; e.g. Infinity). */
  poisonValue?: number;
}

/** Options of {@link makeLayerWeights}. */
export interface MakeLayerWeightsOptions {
  /** Case seed. */
  seed: number;
}

/** Options of {@link makeHiddenStates}. */
export interface MakeHiddenStatesOptions {
  /** Case seed. */
  seed: number;
  /** When given, rows not in `layout.qRowOf` are padding (see `poison`). */
  layout?: NormalizedLayout;
  /** Fill padding rows with NaN (default true; needs `layout`). */
  poison?: boolean;
}

/**
 * The buffer rows in [0, rows) that no entry of `used` names (the padding rows). Throws a
 * RangeError when an entry of `used` is not a row of the buffer.
 *
 * @example
 * ```ts
 * import { paddingRows } from "./inputs.ts";
 * paddingRows(5, [0, 1, 3]); // [2, 4]
 * ```
 */
export function paddingRows(rows: number, used: readonly number[]): number[] {
  checkCount(rows, "paddingRows: rows");
  // a missing list failed with "used is not iterable", a string was read a character at a time
  if (!Array.isArray(used)) {
    throw new RangeError(
      `paddingRows: used must be an array of buffer rows (e.g. layout.qRowOf), found ${
        shown(used)
      }`,
    );
  }
  const mark = new Uint8Array(rows);
  for (const r of used) {
    // a row past the buffer was dropped silently: the caller's buffer is too short
    if (!Number.isInteger(r) || r < 0 || r >= rows) {
      throw new RangeError(
        `paddingRows: used row ${shown(r)} is not a row of the buffer of ${rows} rows ` +
          `(valid: integers in [0, ${rows}))`,
      );
    }
    mark[r] = 1;
  }
  const out: number[] = [];
  for (let r = 0; r < rows; r++) if (!mark[r]) out.push(r);
  return out;
}

/**
 * Throw a RangeError naming `what` unless `n` is a whole number >= `min` (a typed array of
 * a negative length threw "Invalid typed array length: -2", and 1.5 rows or NaN rows made
 * an array of another length than asked, silently).
 */
function checkCount(n: number, what: string, min = 0): void {
  if (!Number.isSafeInteger(n) || n < min) {
    throw new RangeError(
      `${what} must be a whole number >= ${min}, found ${shown(n)}`,
    );
  }
}

function poisonRows(t: Float64Array, width: number, rows: readonly number[], value = NaN): void {
  for (const r of rows) t.fill(value, r * width, (r + 1) * width);
}

/** The buffer rows of `keys` (logical keys of `layout`); a clear error for a bad index. */
function keyRows(layout: NormalizedLayout, keys: readonly number[]): number[] {
  return keys.map((k) => {
    if (!Number.isInteger(k) || k < 0 || k >= layout.totalK) {
      throw new RangeError(
        `makeAttentionInputs: poisonKeys: ${
          shown(k)
        } is not a logical key of the layout (valid: integers in [0, ${layout.totalK}))`,
      );
    }
    return layout.kRowOf[k];
  });
}

/**
 * Check {@link MakeAttentionInputsOptions} beyond the seed (which makePrng checks): a
 * `poisonValue` of "x" wrote NaN silently, `poison: "no"` poisoned (a non-empty string is
 * true), `poisonKeys: 3` poisoned nothing and `poisonKeys: "3"` failed with "keys.map is
 * not a function".
 */
function checkPoisonOptions(options: MakeAttentionInputsOptions): void {
  const where = "makeAttentionInputs";
  checkOptions(options, where, "{ seed, poison?, poisonKeys?, poisonValue? }");
  checkSeed(options.seed, where);
  checkFlag(options.poison, where, "poison");
  const keys: unknown = options.poisonKeys;
  if (keys !== undefined && !Array.isArray(keys)) {
    throw new RangeError(
      `${where}: poisonKeys must be an array of logical key indices (e.g. [0, 3]), found ` +
        shown(keys),
    );
  }
  const value: unknown = options.poisonValue;
  if (value !== undefined && typeof value !== "number") {
    throw new RangeError(
      `${where}: poisonValue must be a number (NaN, Infinity, -Infinity or any other), found ` +
        shown(value),
    );
  }
}

function normal(seed: number, name: string, length: number, std = 1): Float64Array {
  return makePrng(seed, name).fillNormal(new Float64Array(length), { std });
}

/**
 * Random inputs of the attention core for a layout: `qNope` [qRows, h, nope], `qPe`
 * [qRows, h, rope], `latent` [kRows, r], `kPe` [kRows, rope] ~ N(0, 1), and `wKvB`
 * [h*(nope+v), r] ~ N(0, 1/r). Padding rows are NaN unless `poison` is false; the
 * rows of `poisonKeys` (logical keys) get `poisonValue` (NaN by default).
 *
 * @example
 * ```ts
 * import { presetSpec } from "../adapter/presets.ts";
 * import { normalizeLayout } from "../adapter/layout.ts";
 * import { makeAttentionInputs } from "./inputs.ts";
 * const spec = presetSpec("tiny");
 * const layout = normalizeLayout({ kind: "bshd", batch: 2, seqQ: 1, seqK: 8, kvLens: [8, 5], causal: true });
 * const inputs = makeAttentionInputs(spec, layout, { seed: 1 });
 * inputs.latent.length; // 16 rows * 32; rows 13..15 are NaN
 * // Key 2 of sequence 0 poisoned too: queries that see it must give NaN.
 * makeAttentionInputs(spec, layout, { seed: 1, poisonKeys: [2] }).kPe[2 * 8]; // NaN
 * ```
 */
export function makeAttentionInputs(
  spec: MlaSpec,
  layout: NormalizedLayout,
  options: MakeAttentionInputsOptions,
): Float64AttentionInputs {
  checkAttentionSpec(spec, "makeAttentionInputs");
  checkNormalized(layout, "makeAttentionInputs");
  checkPoisonOptions(options);
  const { seed } = options;
  const h = spec.numHeads;
  const nope = spec.qkNopeHeadDim;
  const rope = spec.qkRopeHeadDim;
  const r = spec.kvLoraRank;
  const qNope = normal(seed, "attention.qNope", layout.qRows * h * nope);
  const qPe = normal(seed, "attention.qPe", layout.qRows * h * rope);
  const latent = normal(seed, "attention.latent", layout.kRows * r);
  const kPe = normal(seed, "attention.kPe", layout.kRows * rope);
  const wKvB = normal(seed, "attention.wKvB", h * (nope + spec.vHeadDim) * r, 1 / Math.sqrt(r));
  if (options.poison ?? true) {
    const padQ = paddingRows(layout.qRows, layout.qRowOf);
    const padK = paddingRows(layout.kRows, layout.kRowOf);
    poisonRows(qNope, h * nope, padQ);
    poisonRows(qPe, h * rope, padQ);
    poisonRows(latent, r, padK);
    poisonRows(kPe, rope, padK);
  }
  if (options.poisonKeys !== undefined && options.poisonKeys.length > 0) {
    const rows = keyRows(layout, options.poisonKeys);
    const value = options.poisonValue ?? NaN;
    poisonRows(latent, r, rows, value);
    poisonRows(kPe, rope, rows, value);
  }
  return { qNope, qPe, latent, kPe, wKvB };
}

/**
 * Random weights of one MLA layer (torch Linear convention, weight [out, in]):
 * projections ~ N(0, 1/in), RMSNorm weights = 1 + N(0, 1) * 0.1. Direct-q specs get
 * `qProj`; low-rank specs get `qAProj`, `qANorm` and `qBProj`.
 *
 * @example
 * ```ts
 * import { presetSpec } from "../adapter/presets.ts";
 * import { makeLayerWeights } from "./inputs.ts";
 * const w = makeLayerWeights(presetSpec("tiny-yarn"), { seed: 3 });
 * w.qAProj?.length; // 24 * 64
 * ```
 */
export function makeLayerWeights(
  spec: MlaSpec,
  options: MakeLayerWeightsOptions,
): Float64LayerWeights {
  checkLayerSpec(spec, "makeLayerWeights");
  checkOptions(options, "makeLayerWeights", "{ seed }");
  checkSeed(options.seed, "makeLayerWeights");
  const { seed } = options;
  const hidden = spec.hiddenSize;
  const h = spec.numHeads;
  const qOut = h * spec.kChannels;
  const r = spec.kvLoraRank;
  const linear = (name: string, out: number, inp: number) =>
    normal(seed, `layer.${name}`, out * inp, 1 / Math.sqrt(inp));
  const norm = (name: string, n: number) =>
    makePrng(seed, `layer.${name}`).fillNormal(new Float64Array(n), { mean: 1, std: 0.1 });
  const common = {
    kvAProj: linear("kvAProj", r + spec.qkRopeHeadDim, hidden),
    kvANorm: norm("kvANorm", r),
    kvBProj: linear("kvBProj", h * (spec.qkNopeHeadDim + spec.vHeadDim), r),
    oProj: linear("oProj", hidden, h * spec.vHeadDim),
  };
  if (spec.qLoraRank === null) return { qProj: linear("qProj", qOut, hidden), ...common };
  const ql = spec.qLoraRank;
  return {
    qAProj: linear("qAProj", ql, hidden),
    qANorm: norm("qANorm", ql),
    qBProj: linear("qBProj", qOut, ql),
    ...common,
  };
}

/**
 * Random hidden states [rows, hidden] ~ N(0, 1). With `layout`, rows that no query
 * token maps to are NaN (unless `poison` is false). Throws a RangeError when `rows` is not
 * a whole number >= 0 (at least `layout.qRows` with a layout) or `hidden` one >= 1.
 *
 * @example
 * ```ts
 * import { makeHiddenStates } from "./inputs.ts";
 * const x = makeHiddenStates(6, 64, { seed: 9 });
 * x.length; // 384
 * ```
 */
export function makeHiddenStates(
  rows: number,
  hidden: number,
  options: MakeHiddenStatesOptions,
): Float64Array {
  checkCount(rows, "makeHiddenStates: rows");
  checkCount(hidden, "makeHiddenStates: hidden", 1);
  // missing options failed with "Cannot read properties of undefined (reading 'layout')",
  // and poison: "no" poisoned
  checkOptions(options, "makeHiddenStates", "{ seed, layout?, poison? }");
  checkFlag(options.poison, "makeHiddenStates", "poison");
  checkSeed(options.seed, "makeHiddenStates");
  const layout = options.layout;
  if (layout !== undefined) checkNormalized(layout, "makeHiddenStates");
  // A layout whose query rows reach past `rows` got a buffer too short for it, caught (if at
  // all) later as a length mismatch far from the call.
  if (layout !== undefined && rows < layout.qRows) {
    throw new RangeError(
      `makeHiddenStates: rows ${rows} is fewer than the layout's ${layout.qRows} query buffer ` +
        `rows (layout.qRows); give rows = layout.qRows`,
    );
  }
  const x = normal(options.seed, "hidden", rows * hidden);
  if (layout && (options.poison ?? true)) {
    poisonRows(x, hidden, paddingRows(rows, layout.qRowOf));
  }
  return x;
}
