/**
 * Summary statistics of timing samples: median and spread for the tables, the
 * raw samples kept alongside for drift statistics.
 *
 * @module
 */
import { quantile } from "../util/stats.ts";

/** Summary of a set of timing samples (milliseconds). */
export interface SampleStats {
  /** Number of samples. */
  readonly n: number;
  /** Median (the figure every table reports). */
  readonly median: number;
  /** Smallest sample. */
  readonly min: number;
  /** Largest sample. */
  readonly max: number;
  /** Arithmetic mean. */
  readonly mean: number;
  /** Median absolute deviation from the median, relative to the median (robust spread). */
  readonly madRel: number;
  /** Interquartile range (q3 - q1), in the samples' unit. */
  readonly iqr: number;
}

/**
 * Median, min, max, mean, relative median absolute deviation and IQR of samples.
 * An empty input gives NaN figures and n 0.
 *
 * @example
 * ```ts
 * import { summarize } from "./stats.ts";
 * summarize([3, 1, 2]).median; // 2
 * ```
 */
export function summarize(samples: readonly number[]): SampleStats {
  const s = [...samples].sort((a, b) => a - b);
  const median = quantile(s, 0.5);
  const dev = s.map((x) => Math.abs(x - median)).sort((a, b) => a - b);
  return {
    n: s.length,
    median,
    min: s.length ? s[0] : NaN,
    max: s.length ? s[s.length - 1] : NaN,
    mean: s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN,
    madRel: median > 0 ? quantile(dev, 0.5) / median : NaN,
    iqr: quantile(s, 0.75) - quantile(s, 0.25),
  };
}
