/**
 * Statistics for timing samples: the IQR, geometric mean, and the
 * Mann-Whitney U rank test (exact for small samples without ties, normal approximation
 * with tie and continuity corrections otherwise). Written here, no dependency. Median and
 * quantile: util/stats.ts.
 *
 * @module
 */
import { quantile } from "../util/stats.ts";

/**
 * The interquartile range (q75 - q25).
 *
 * @example
 * ```ts
 * import { iqr } from "./stats.ts";
 * iqr([1, 2, 3, 4, 5]); // 2
 * ```
 */
export function iqr(values: readonly number[]): number {
  return quantile(values, 0.75) - quantile(values, 0.25);
}

/**
 * The geometric mean of positive numbers (null when there are none; non-positive and
 * non-finite values are skipped).
 *
 * @example
 * ```ts
 * import { geometricMean } from "./stats.ts";
 * geometricMean([0.5, 2]); // 1
 * ```
 */
export function geometricMean(values: readonly number[]): number | null {
  const ok = values.filter((v) => Number.isFinite(v) && v > 0);
  if (ok.length === 0) return null;
  return Math.exp(ok.reduce((s, v) => s + Math.log(v), 0) / ok.length);
}

/** Result of {@link mannWhitneyU}. */
export interface MannWhitneyResult {
  /** U statistic of the first sample (pairs (x, y) with x > y, ties counting 1/2). */
  readonly u: number;
  /** Two-sided p-value. */
  readonly p: number;
  /** How p was computed. */
  readonly method: "exact" | "normal";
  /** Sample sizes. */
  readonly n1: number;
  /** Sample sizes. */
  readonly n2: number;
}

/**
 * Largest n1 * n2 for which the exact distribution is used (no ties).
 *
 * @example
 * ```ts
 * import { EXACT_LIMIT, mannWhitneyU } from "./stats.ts";
 * mannWhitneyU([1, 2], [3, 4]).method; // "exact" (2 * 2 <= EXACT_LIMIT)
 * ```
 */
export const EXACT_LIMIT = 2500;

/**
 * Mid-ranks (1-based) of the pooled values (tied values share the mean of their ranks), and
 * the tie-group sizes.
 *
 * @example
 * ```ts
 * import { midRanks } from "./stats.ts";
 * midRanks([5, 1, 5, 3]); // { ranks: [3.5, 1, 3.5, 2], ties: [2] }
 * ```
 */
export function midRanks(pooled: readonly number[]): { ranks: number[]; ties: number[] } {
  const order = pooled.map((v, i) => ({ v, i })).sort((a, b) => a.v - b.v);
  const ranks = new Array<number>(pooled.length);
  const ties: number[] = [];
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1].v === order[i].v) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k].i] = r;
    if (j > i) ties.push(j - i + 1);
    i = j + 1;
  }
  return { ranks, ties };
}

/**
 * Frequencies of U = 0..m*n under the null hypothesis for sample sizes m and n (the
 * coefficients of the Gaussian binomial [m+n choose m]_q), by the recurrence
 * f(m, n, u) = f(m - 1, n, u - n) + f(m, n - 1, u).
 */
function uFrequencies(m: number, n: number): Float64Array {
  // rows[j] holds f(i, j, .) for the current i.
  let prev: Float64Array[] = [];
  for (let j = 0; j <= n; j++) prev.push(Float64Array.of(1)); // f(0, j, 0) = 1
  for (let i = 1; i <= m; i++) {
    const cur: Float64Array[] = [Float64Array.of(1)]; // f(i, 0, 0) = 1
    for (let j = 1; j <= n; j++) {
      const f = new Float64Array(i * j + 1);
      const a = prev[j]; // f(i-1, j, u - j)
      for (let u = 0; u < a.length; u++) f[u + j] += a[u];
      const b = cur[j - 1]; // f(i, j-1, u)
      for (let u = 0; u < b.length; u++) f[u] += b[u];
      cur.push(f);
    }
    prev = cur;
  }
  return prev[n];
}

/** Complementary error function (Numerical Recipes' erfcc; relative error < 1.2e-7). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(
    -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
                  t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
                                  t * (-0.82215223 + t * 0.17087277)))))))),
  );
  return x >= 0 ? r : 2 - r;
}

/**
 * Two-sided Mann-Whitney U test of two independent samples (do they come from the same
 * distribution, against a shift either way). Exact p-value when neither sample has ties
 * and n1 * n2 <= {@link EXACT_LIMIT}; otherwise the normal approximation with the tie
 * correction of the variance and a continuity correction (as SciPy's
 * `mannwhitneyu(..., method="asymptotic")`). Both samples need at least one value.
 *
 * @example
 * ```ts
 * import { mannWhitneyU } from "./stats.ts";
 * const r = mannWhitneyU([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]);
 * r.u; // 0
 * r.p; // 0.0079… (2 / C(10, 5))
 * ```
 */
export function mannWhitneyU(x: readonly number[], y: readonly number[]): MannWhitneyResult {
  const n1 = x.length, n2 = y.length;
  if (n1 === 0 || n2 === 0) throw new RangeError("mannWhitneyU needs two non-empty samples");
  if ([...x, ...y].some((v) => !Number.isFinite(v))) {
    throw new RangeError("mannWhitneyU needs finite values");
  }
  const { ranks, ties } = midRanks([...x, ...y]);
  const r1 = ranks.slice(0, n1).reduce((s, r) => s + r, 0);
  const u = r1 - n1 * (n1 + 1) / 2;
  const mu = n1 * n2 / 2;
  if (ties.length === 0 && n1 * n2 <= EXACT_LIMIT) {
    const f = uFrequencies(n1, n2);
    let total = 0;
    for (const c of f) total += c;
    const k = Math.round(Math.max(u, n1 * n2 - u)); // the upper tail, by symmetry
    let upper = 0;
    for (let v = k; v < f.length; v++) upper += f[v];
    return { u, p: Math.min(1, 2 * upper / total), method: "exact", n1, n2 };
  }
  const n = n1 + n2;
  const tieTerm = ties.reduce((s, t) => s + t * t * t - t, 0) / (n * (n - 1));
  const sigma = Math.sqrt(n1 * n2 / 12 * (n + 1 - tieTerm));
  if (sigma === 0) return { u, p: 1, method: "normal", n1, n2 };
  const z = Math.max(0, Math.abs(u - mu) - 0.5) / sigma;
  return { u, p: Math.min(1, erfc(z / Math.SQRT2)), method: "normal", n1, n2 };
}

/**
 * The Benjamini-Hochberg threshold of p-values tested together at false-discovery rate
 * `alpha`: the largest p_(k) with p_(k) <= alpha k / m (m: how many were tested, p_(k) the
 * k-th smallest), every p at or below it a discovery; 0 when none is. Of the discoveries made
 * where no effect exists, at most a share `alpha` are false on average (independent tests, or
 * tests positively dependent, as timings of one device's cases are).
 *
 * @example
 * ```ts
 * import { benjaminiHochberg } from "./stats.ts";
 * benjaminiHochberg([0.001, 0.2, 0.5, 0.9], 0.05); // 0.001 (0.001 <= 0.05 * 1 / 4)
 * benjaminiHochberg([0.02, 0.2, 0.5, 0.9], 0.05); // 0 (0.02 > 0.0125)
 * ```
 */
export function benjaminiHochberg(ps: readonly number[], alpha: number): number {
  const sorted = [...ps].sort((a, b) => a - b);
  const m = sorted.length;
  for (let k = m; k >= 1; k--) {
    if (sorted[k - 1] <= alpha * k / m) return sorted[k - 1];
  }
  return 0;
}
