/**
 * Order statistics of plain number lists: the one median and quantile of the harness
 * (case timings, benchmark summaries, drift statistics).
 *
 * @module
 */

/**
 * The q-quantile (q in 0..1, clamped) of some numbers, by linear interpolation between
 * order statistics (the "type 7" definition of R and NumPy). NaN for an empty list. The
 * input is not modified.
 *
 * @example
 * ```ts
 * import { quantile } from "./stats.ts";
 * quantile([1, 2, 3, 4], 0.5); // 2.5
 * quantile([4, 1, 3, 2], 0.25); // 1.75
 * ```
 */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/**
 * The median: the middle value, or the mean of the two middle values of an even-sized
 * list (NaN for an empty list).
 *
 * @example
 * ```ts
 * import { median } from "./stats.ts";
 * median([3, 1, 2]); // 2
 * median([4, 1, 3, 2]); // 2.5
 * ```
 */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/**
 * The largest of some numbers, as `Math.max(...values)` gives it (-Infinity for none, NaN
 * when one is NaN, +0 over -0), by a loop: the spread passes each value as an argument on
 * the stack and throws a RangeError past about 120,000 of them.
 *
 * @example
 * ```ts
 * import { maxOf } from "./stats.ts";
 * maxOf([3, 1, 2]); // 3
 * maxOf([]); // -Infinity
 * ```
 */
export function maxOf(values: Iterable<number>): number {
  let m = -Infinity;
  for (const v of values) {
    if (Number.isNaN(v)) return NaN;
    if (v > m || (v === 0 && Object.is(m, -0))) m = v;
  }
  return m;
}

/**
 * The smallest of some numbers, as `Math.min(...values)` gives it (Infinity for none, NaN
 * when one is NaN, -0 under +0), by a loop (see {@link maxOf}).
 *
 * @example
 * ```ts
 * import { minOf } from "./stats.ts";
 * minOf([3, 1, 2]); // 1
 * minOf([]); // Infinity
 * ```
 */
export function minOf(values: Iterable<number>): number {
  let m = Infinity;
  for (const v of values) {
    if (Number.isNaN(v)) return NaN;
    if (v < m || (v === 0 && Object.is(v, -0))) m = v;
  }
  return m;
}
