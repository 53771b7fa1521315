/**
 * Row sampling for large cases: the reference only needs to compute some query
 * rows, but sequence boundaries (first and last token of each sequence) are where
 * layout bugs show, so they are always in.
 *
 * @module
 */
import type { NormalizedLayout } from "../adapter/types.ts";
import { makePrng } from "../util/prng.ts";
import { checkOptions, checkSeed, checkTensor, shown } from "./spec_check.ts";

/** Options of {@link sampleRows}. */
export interface SampleRowsOptions {
  /** Target number of rows (boundaries are kept even when they alone exceed it). */
  max: number;
  /** Seed of the `sampleRows` stream that picks the other rows. */
  seed: number;
}

/**
 * Sorted, distinct logical query indices: all rows when `totalQ <= max`; otherwise
 * the first and last query token of every non-empty sequence, plus one row drawn
 * uniformly from each of `max - boundaries` equal runs of the other rows (in row order),
 * so `max` rows in all and no two runs' length of consecutive rows unsampled (if the
 * boundaries alone are more than `max`, exactly the boundaries).
 *
 * @example
 * ```ts
 * import { normalizeLayout } from "../adapter/layout.ts";
 * import { sampleRows } from "./sample_rows.ts";
 * const layout = normalizeLayout({ kind: "thd", cuSeqlensQ: [0, 100, 250], causal: true });
 * sampleRows(layout, { max: 8, seed: 1 }); // includes 0, 99, 100, 249
 * ```
 */
export function sampleRows(layout: NormalizedLayout, options: SampleRowsOptions): number[] {
  // missing options failed with "Cannot destructure property 'max'"; a string max said
  // "got 5", a string seed "got 1" (from the PRNG, only when rows were drawn)
  checkOptions(options, "sampleRows", "{ max, seed }");
  const { max } = options;
  if (typeof max !== "number" || !Number.isInteger(max) || max < 0) {
    throw new RangeError(`sampleRows: max must be an integer >= 0, got ${shown(max)}`);
  }
  checkSeed(options.seed, "sampleRows");
  // a layout request (an untyped caller) failed with "layout.seqs is not iterable", or, with
  // fewer queries than max, returned rows of "undefined" queries
  const l = layout as Partial<NormalizedLayout> | null;
  if (
    typeof l !== "object" || l === null || !Number.isSafeInteger(l.totalQ) ||
    !Array.isArray(l.seqs)
  ) {
    throw new RangeError(
      "sampleRows: layout is not a normalized layout (it has no totalQ, seqs): pass " +
        "normalizeLayout(request) (adapter/layout.ts), not the request",
    );
  }
  const n = layout.totalQ;
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const picked = new Uint8Array(n);
  let count = 0;
  for (const s of layout.seqs) {
    if (s.qLen === 0) continue;
    for (const q of [s.qStart, s.qStart + s.qLen - 1]) {
      if (!picked[q]) {
        picked[q] = 1;
        count++;
      }
    }
  }
  const rest: number[] = [];
  for (let q = 0; q < n; q++) if (!picked[q]) rest.push(q);
  const rng = makePrng(options.seed, "sampleRows");
  // Stratified: `rest` (in row order) cut into k runs of near-equal length, one row drawn
  // uniformly from each. Every row is as likely as with a uniform draw, but no stretch of
  // two runs' length goes unsampled: a query tile written wrong in the middle of a long
  // prefill is always seen once the sample has a row per two tiles, where a uniform draw of
  // 62 rows out of 4094 left gaps of 200 rows and more.
  const k = Math.max(0, Math.min(max - count, rest.length));
  for (let i = 0; i < k; i++) {
    const lo = Math.floor((i * rest.length) / k);
    const hi = Math.floor(((i + 1) * rest.length) / k);
    picked[rest[lo + rng.int(hi - lo)]] = 1;
  }
  const out: number[] = [];
  for (let q = 0; q < n; q++) if (picked[q]) out.push(q);
  return out;
}

/**
 * A sample of rows plus the rows whose kernel output holds a non-finite value, or whose LSE
 * holds NaN or +Infinity (the first `max` of them, 16 by default), sorted and distinct.
 * Throws a RangeError when `got.rows` does not divide the tensors, a sample row is not one of
 * them, or `max` is not a whole number >= 0. A NaN or Inf the kernel wrote outside the sample
 * would otherwise never be compared: with these rows in, one where the reference is finite
 * fails, and one where the inputs make the reference non-finite too matches.
 *
 * @example
 * ```ts
 * import { withNonFiniteRows } from "./sample_rows.ts";
 * // 3 rows of 2 output values and 1 LSE each; row 1's output holds a NaN
 * withNonFiniteRows([0, 2], { out: [0, 0, NaN, 0, 0, 0], lse: [0, 0, 0], rows: 3 }); // [0, 1, 2]
 * ```
 */
export function withNonFiniteRows(
  sample: readonly number[],
  got: { out: ArrayLike<number>; lse: ArrayLike<number>; rows: number },
  options: { max?: number } = {},
): number[] {
  // a missing got or sample failed with "Cannot read properties of undefined" or "is not
  // iterable", null options with "Cannot read properties of null"
  checkOptions(options, "withNonFiniteRows", "{ max? }");
  if (typeof got !== "object" || got === null) {
    throw new RangeError(
      `withNonFiniteRows: got must be { out, lse, rows } (the kernel's outputs and their ` +
        `row count), found ${shown(got)}`,
    );
  }
  checkTensor(got.out, "withNonFiniteRows", "got.out");
  checkTensor(got.lse, "withNonFiniteRows", "got.lse");
  if (!Array.isArray(sample)) {
    throw new RangeError(
      `withNonFiniteRows: sample must be an array of row indices, found ${shown(sample)}`,
    );
  }
  const max = options.max ?? 16;
  // Rows that do not divide the tensors scanned misaligned row ranges (a non-finite value
  // counted in the wrong row, or in none), a max of NaN added no row, and a sampled row past
  // the tensors was returned: silently.
  if (!Number.isSafeInteger(max) || max < 0) {
    throw new RangeError(`withNonFiniteRows: max must be a whole number >= 0, found ${max}`);
  }
  const n = got.rows;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(
      `withNonFiniteRows: got.rows must be a whole number >= 0, found ${shown(n)}`,
    );
  }
  for (const [name, t] of [["out", got.out], ["lse", got.lse]] as const) {
    if (n === 0 ? t.length !== 0 : t.length % n !== 0) {
      throw new RangeError(
        `withNonFiniteRows: got.${name} has ${t.length} values, not a whole number of values ` +
          `per row for got.rows = ${n}`,
      );
    }
  }
  for (const r of sample) {
    if (!Number.isInteger(r) || r < 0 || r >= n) {
      throw new RangeError(
        `withNonFiniteRows: sample row ${
          shown(r)
        } is not a row of the ${n} rows (valid: integers in ` +
          `[0, ${n}))`,
      );
    }
  }
  const rows = new Set(sample);
  const outW = got.rows > 0 ? got.out.length / got.rows : 0;
  const lseW = got.rows > 0 ? got.lse.length / got.rows : 0;
  let added = 0;
  const finiteOut = (r: number) => {
    for (let i = r * outW; i < (r + 1) * outW; i++) if (!Number.isFinite(got.out[i])) return false;
    return true;
  };
  // An LSE of -Infinity is a row that sees no key (an empty cache, causal with sq > sk): the
  // value it must have, not a poisoned one, so it does not use up the `max` rows.
  const lseOk = (r: number) => {
    for (let i = r * lseW; i < (r + 1) * lseW; i++) {
      const v = got.lse[i];
      if (!Number.isFinite(v) && v !== -Infinity) return false;
    }
    return true;
  };
  for (let r = 0; r < got.rows && added < max; r++) {
    if (rows.has(r)) continue;
    if (!finiteOut(r) || !lseOk(r)) {
      rows.add(r);
      added++;
    }
  }
  return [...rows].sort((a, b) => a - b);
}
