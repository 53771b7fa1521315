/**
 * Step detection in a series of nightly values (a metric over runs), so a slow creep is
 * visible even when no single night crosses a threshold.
 *
 * The method (simpler than asv's penalized fit, and documented here in full):
 * binary segmentation with an L1 cost. For a segment, the split point k minimizing
 * sum |x - median(left)| + sum |x - median(right)| (each side at least `minSegment`
 * points) among those where
 *   1. the medians differ by at least `minChange` (relative, default 5%)
 * (a level that rose and fell back has splits with one median on both sides that cost as
 * little as the bump's edges: one of them, chosen, ended the search with no step) is
 * accepted as a step when
 *   2. the segment is not in random order by a permutation test at `alpha` (default 0.05):
 *      the statistic is the largest standardized rank sum over every allowed split,
 *      max_k |R_k - k(n+1)/2| / sqrt(k(n-k)(n+1)/12) (R_k: the mid-ranks of the first k
 *      values; the Mann-Whitney z of that split), and p is the share of
 *      {@link STEP_PERMUTATIONS} seeded shuffles of the segment whose statistic reaches the
 *      observed one, (1 + count) / (1 + shuffles);
 * then both sides are searched again. A creep of 2% a night over 12 nights has no
 * adjacent change above 5% but splits into halves whose medians differ by ~13% with
 * p ~ 0.005: one step, reported where the halves meet. The test runs only where 1 holds:
 * its shuffles are most of the cost, and a year of nightly runs has hundreds of series.
 *
 * Why a permutation test over every split, not a rank test of the chosen split alone (the
 * method until session 44): the split is chosen because it separates the values best, so a
 * test of that one split as if it had been fixed in advance finds steps in noise. On series
 * of independent normal noise (5% spread; `deno run tools/step_noise_rate.ts`) it flagged
 * 8.4% of 10-run series, 14.1% of 12-run and 18.0% of 20-run series at alpha 0.05; this test
 * flags 3.2%, 3.9% and 4.4% (session 45, noise and shuffles from util/prng.ts), and 3.4%, 4.5%
 * and 4.6% since the split is chosen among those with a change of minChange (session 59:
 * under alpha still, the permutation test's own guard). The shuffles are
 * seeded (`makePrng(n, "step-permutations")`), so a series gives the same p every time.
 *
 * That is the rate of one series. `history` tests the series of a query together
 * (drift/history.ts `correctedStepOptions`, Benjamini-Hochberg at alpha across them, session
 * 60): over one night of 2,000 noise series of 10 runs, tested one by one 3.05% (61) were
 * flagged, corrected none; `deno run -A tools/step_noise_rate.ts --series 2000 --step 10 40`.
 * A lone step among 2,000 series needs p <= 0.05 / 2000, which a rank test reaches only with
 * about 21 runs (10 runs' best order has p 0.0065): `history` says so.
 *
 * That is the correction working as designed, not a test too weak (session 62): no test that
 * takes every order of a series' values as equally likely without a step (the only
 * assumption nightly timings allow: their noise is neither normal nor steady) can do better,
 * since the order a clean step gives is one of C(10, 5) = 252 ways to split 10 values into
 * halves: its p is at least 1/252 = 0.004, 160 times the 2.5e-5 that 2,000 series ask of a
 * lone step. Measured, a +30% step halfway through series of 5% noise, tested at that level
 * (`firstSplitP` with `level` 2.5e-5, 20 seeded series a length): found in 0 of 20 at 10, 16
 * and 20 runs, 19 of 20 at 21, 20 at 22, 18 at 23, and 20 of 20 at 24, 26 and 30. The misses
 * at 21 and 23 runs, and all of 20, are the resolution of the refined p (2 / level shuffles:
 * p is 1.25e-5, 2.5e-5 or 3.75e-5 there): resolved to 20 / level shuffles a clean step's p
 * is 1.25e-5 at 20 runs and 9e-6 at 21, found, but `minStepRuns` (which every corrected
 * `history` computes) and 14 such series took 26 s instead of 4 s, so the resolution stays.
 * A nightly that must see a lone step within 10 runs tests fewer series together (`history
 * <case-filter>`: with 10 series a lone step needs p <= 0.005, which 10 runs' clean step,
 * 0.0065, misses and 12 runs', 0.003, meets), or `--correction none` and its few percent of
 * noise steps.
 *
 * @module
 */
import { midRanks } from "./stats.ts";
import { median } from "../util/stats.ts";
import { makePrng } from "../util/prng.ts";

/** Shuffles of a segment in the permutation test (the smallest p is 1 / 2000). */
export const STEP_PERMUTATIONS = 1999;

/**
 * Fewest points on each side of a step by default (`history --min-segment`): a series needs
 * twice as many to have a step looked for at all, and more to have one found ({@link minStepRuns}).
 *
 * @example
 * ```ts
 * import { DEFAULT_MIN_SEGMENT } from "./step_detect.ts";
 * DEFAULT_MIN_SEGMENT; // 3
 * ```
 */
export const DEFAULT_MIN_SEGMENT = 3;

/**
 * The fewest points on each side of a step that a search uses: `asked` (at least 1), else
 * {@link DEFAULT_MIN_SEGMENT}. Every reader of `--min-segment` takes it from here.
 *
 * @example
 * ```ts
 * import { minSegmentOf } from "./step_detect.ts";
 * minSegmentOf(undefined); // 3
 * minSegmentOf(0); // 1
 * ```
 */
export function minSegmentOf(asked: number | undefined): number {
  return Math.max(1, asked ?? DEFAULT_MIN_SEGMENT);
}

/** The significance of the step test by default (`history --alpha`): 0.05. */
export const DEFAULT_STEP_ALPHA = 0.05;

/** A detected step. */
export interface Step {
  /** Index of the first value of the new level. */
  readonly index: number;
  /** Median before (within the segment searched). */
  readonly before: number;
  /** Median after. */
  readonly after: number;
  /** Relative change (after / before - 1; Infinity when before is 0). */
  readonly change: number;
  /**
   * p-value of the permutation test (see the module doc): the chance that a random order of
   * the segment's values would have some split separating them by rank at least as well.
   */
  readonly p: number;
}

/** Options of {@link detectSteps}. */
export interface StepOptions {
  /** Fewest points on each side of a step (default 3). */
  minSegment?: number;
  /** Smallest relative change of the medians (default 0.05). */
  minChange?: number;
  /** Significance of the rank test (default 0.05). */
  alpha?: number;
  /**
   * The smallest level a p-value must be told apart from (see {@link splitPermutationP}'s
   * `level`): where many series are tested at once, their corrected level can lie below the
   * 1 / 2000 of {@link STEP_PERMUTATIONS} shuffles. Unset: those shuffles alone.
   */
  level?: number;
  /**
   * The p of the whole series' first split when it is known (drift/history.ts computes it
   * for the correction, with the same `level`): not shuffled again.
   */
  firstP?: number;
}

/** The median of sorted values, computed as util/stats.ts `median` computes it. */
function sortedMedian(s: readonly number[]): number {
  const pos = (s.length - 1) * 0.5;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** sum |x - m| over values[from..to), added in index order. */
function absDeviation(values: readonly number[], from: number, to: number, m: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += Math.abs(values[i] - m);
  return sum;
}

/** The index of the first element of sorted `s` that is not below `v`. */
function lowerBound(s: readonly number[], v: number): number {
  let lo = 0, hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (s[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** after / before - 1; Infinity when before is 0 and after is not. */
function relativeChange(before: number, after: number): number {
  return before === 0 ? (after === 0 ? 0 : Infinity) : after / before - 1;
}

/**
 * The split k of values[lo..hi) (each side at least `minSegment` values) with the least L1
 * cost, sum |x - median(left)| + sum |x - median(right)|, the first one on a tie; -1 when no
 * cost is below Infinity. With `minChange`, only the splits whose medians differ by at least
 * that much (relative) are candidates: where a level rose and fell back (ten nights 50%
 * slower, then fixed), a split with the same median on both sides (the bump and one level
 * on one side, the rest of that level on the other) can cost as little as the splits at the
 * bump's edges, and was chosen, and its "no change" ended the search with no step at all.
 * Both sides are kept sorted as k moves, so each split costs a pass over the segment
 * instead of two sorts: O(n^2) per segment, not O(n^2 log n).
 *
 * @example
 * ```ts
 * import { bestL1Split } from "./step_detect.ts";
 * bestL1Split([1, 1, 1, 5, 5, 5], 0, 6, 2); // 3
 * bestL1Split([1, 1, 1, 1, 1, 1], 0, 6, 2, { minChange: 0.05 }); // -1
 * ```
 */
export function bestL1Split(
  values: readonly number[],
  lo: number,
  hi: number,
  minSegment: number,
  options: { readonly minChange?: number } = {},
): number {
  const minChange = options.minChange ?? 0;
  const left = values.slice(lo, lo + minSegment).sort((a, b) => a - b);
  const right = values.slice(lo + minSegment, hi).sort((a, b) => a - b);
  let best = -1, bestCost = Infinity;
  for (let k = lo + minSegment; k <= hi - minSegment; k++) {
    const before = sortedMedian(left), after = sortedMedian(right);
    const cost = Math.abs(relativeChange(before, after)) < minChange
      ? Infinity
      : absDeviation(values, lo, k, before) + absDeviation(values, k, hi, after);
    if (cost < bestCost) {
      bestCost = cost;
      best = k;
    }
    if (k === hi - minSegment) break;
    // values[k] moves from the right side to the left one
    const v = values[k];
    right.splice(lowerBound(right, v), 1);
    left.splice(lowerBound(left, v), 0, v);
  }
  return best;
}

/**
 * Find steps in a series (see the module doc). Non-finite values are not allowed.
 *
 * @example
 * ```ts
 * import { detectSteps } from "./step_detect.ts";
 * const steps = detectSteps([1, 1.01, 0.99, 1, 1.3, 1.31, 1.29, 1.3]);
 * steps[0].index; // 4
 * ```
 */
export function detectSteps(values: readonly number[], options: StepOptions = {}): Step[] {
  const minSegment = minSegmentOf(options.minSegment);
  const minChange = options.minChange ?? 0.05;
  const alpha = options.alpha ?? DEFAULT_STEP_ALPHA;
  if (values.some((v) => !Number.isFinite(v))) {
    throw new RangeError("detectSteps needs finite values");
  }
  const steps: Step[] = [];
  const search = (lo: number, hi: number) => {
    if (hi - lo < 2 * minSegment) return;
    // the least-cost split among those whose medians differ by at least minChange
    const best = bestL1Split(values, lo, hi, minSegment, { minChange });
    if (best < 0) return;
    const left = values.slice(lo, best), right = values.slice(best, hi);
    const before = median(left), after = median(right);
    const change = relativeChange(before, after);
    // The permutation test (thousands of shuffles) only where the change is large enough.
    if (Math.abs(change) < minChange) return;
    const p = lo === 0 && hi === values.length && options.firstP !== undefined
      ? options.firstP
      : splitPermutationP(values.slice(lo, hi), minSegment, { level: options.level });
    if (p >= alpha) return;
    steps.push({ index: best, before, after, change, p });
    search(lo, best);
    search(best, hi);
  };
  search(0, values.length);
  return steps.sort((a, b) => a.index - b.index);
}

/**
 * The p-value of the first split {@link detectSteps} would test in `values` (the whole
 * series), or 1 when no split has a change of `minChange` (no step can be flagged) or the
 * series is shorter than two segments. Where many series are searched at once
 * (drift/history.ts), these p-values are what the false-discovery correction ranks: a series
 * has a step at some level exactly when this p is below it.
 *
 * @example
 * ```ts
 * import { firstSplitP } from "./step_detect.ts";
 * firstSplitP([1, 1.01, 0.99, 1, 1.3, 1.31, 1.29, 1.3]) < 0.05; // true
 * firstSplitP([1, 1, 1, 1, 1, 1, 1, 1]); // 1
 * ```
 */
export function firstSplitP(
  values: readonly number[],
  options: Omit<StepOptions, "alpha"> = {},
): number {
  const minSegment = minSegmentOf(options.minSegment);
  const minChange = options.minChange ?? 0.05;
  if (values.some((v) => !Number.isFinite(v))) {
    throw new RangeError("firstSplitP needs finite values");
  }
  if (values.length < 2 * minSegment) return 1;
  const best = bestL1Split(values, 0, values.length, minSegment, { minChange });
  if (best < 0) return 1;
  const change = relativeChange(median(values.slice(0, best)), median(values.slice(best)));
  if (Math.abs(change) < minChange) return 1;
  return splitPermutationP(values, minSegment, { level: options.level });
}

/**
 * Per split k of n ranks, the rank sum expected under random order, k(n+1)/2, and its
 * standard deviation, sqrt(k(n-k)(n+1)/12): the same for every shuffle of a segment.
 */
function rankSumMoments(n: number): { center: Float64Array; scale: Float64Array } {
  const center = new Float64Array(n + 1), scale = new Float64Array(n + 1);
  for (let k = 1; k <= n; k++) {
    center[k] = k * (n + 1) / 2;
    scale[k] = Math.sqrt(k * (n - k) * (n + 1) / 12);
  }
  return { center, scale };
}

/** The largest standardized rank sum over the splits k = minSegment .. n - minSegment. */
function maxRankZ(
  ranks: ArrayLike<number>,
  minSegment: number,
  moments: { center: Float64Array; scale: Float64Array },
): number {
  const n = ranks.length;
  const { center, scale } = moments;
  let sum = 0;
  let best = 0;
  for (let k = 1; k <= n - minSegment; k++) {
    sum += ranks[k - 1];
    if (k < minSegment) continue;
    const z = Math.abs(sum - center[k]) / scale[k];
    if (z > best) best = z;
  }
  return best;
}

/** Whether some split's standardized rank sum reaches `reach` ({@link maxRankZ} >= reach). */
function reachesRankZ(
  ranks: ArrayLike<number>,
  minSegment: number,
  moments: { center: Float64Array; scale: Float64Array },
  reach: number,
): boolean {
  const n = ranks.length;
  const { center, scale } = moments;
  let sum = 0;
  for (let k = 1; k <= n - minSegment; k++) {
    sum += ranks[k - 1];
    if (k >= minSegment && Math.abs(sum - center[k]) / scale[k] >= reach) return true;
  }
  // maxRankZ starts from 0: a reach of 0 or less is met by any order
  return reach <= 0;
}

/**
 * Shuffles that reach the observed statistic after which a refined p-value stops (Besag and
 * Clifford's sequential p-value): p is then this count over the shuffles done.
 */
const REFINE_STOP_COUNT = 10;

/**
 * The permutation p-value of a segment (see the module doc): how often a seeded shuffle of
 * its values has a split that separates them by rank at least as well as the best split of
 * the values in their order.
 *
 * With `level` below what {@link STEP_PERMUTATIONS} shuffles resolve (1 / 2000, the level a
 * false-discovery correction over many series asks for), a segment whose first shuffles reach
 * its statistic fewer than 10 times goes on shuffling, the same seeded sequence, until 10
 * have (p = 10 / shuffles done; Besag and Clifford's sequential test) or 2 / level shuffles
 * are done (p = (1 + count) / (1 + shuffles)); its first 1999 shuffles, and so the p of a
 * segment they resolve, are those without `level`.
 *
 * @example
 * ```ts
 * import { splitPermutationP } from "./step_detect.ts";
 * splitPermutationP([1, 1.01, 0.99, 1, 1.3, 1.31, 1.29, 1.3], 3) < 0.05; // true
 * splitPermutationP([1, 1.3, 1, 1.3, 1, 1.3, 1, 1.3], 3) > 0.5; // true
 * ```
 */
export function splitPermutationP(
  values: readonly number[],
  minSegment: number,
  options: { readonly level?: number } = {},
): number {
  const { ranks } = midRanks(values);
  const moments = rankSumMoments(ranks.length);
  const observed = maxRankZ(ranks, minSegment, moments);
  // a relative margin, so that the observed order's own statistic counts after rounding
  const reach = observed * (1 - 1e-12);
  const rng = makePrng(values.length, "step-permutations");
  const shuffled = Float64Array.from(ranks);
  let count = 0;
  const shuffleOnce = () => {
    // Fisher-Yates
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = shuffled[i];
      shuffled[i] = shuffled[j];
      shuffled[j] = t;
    }
    if (reachesRankZ(shuffled, minSegment, moments, reach)) count++;
  };
  for (let b = 0; b < STEP_PERMUTATIONS; b++) shuffleOnce();
  const level = options.level;
  const most = level === undefined || !(level > 0) ? 0 : Math.ceil(2 / level);
  if (count >= REFINE_STOP_COUNT || most <= STEP_PERMUTATIONS) {
    return (1 + count) / (1 + STEP_PERMUTATIONS);
  }
  for (let b = STEP_PERMUTATIONS; b < most; b++) {
    shuffleOnce();
    if (count >= REFINE_STOP_COUNT) return count / (b + 1);
  }
  return (1 + count) / (1 + most);
}

/** Runs {@link minStepRuns} looks at, at most: past them it says none is enough. */
const MAX_STEP_RUNS = 64;

const stepRunsMemo = new Map<string, number | null>();

/**
 * The fewest runs in which a step can be flagged at `alpha` with `minSegment` runs a side: the
 * smallest n >= 2 x minSegment whose most separated order (every value above the ones before
 * it, the order every split ranks best) has a permutation p below alpha. Fewer runs can never
 * show a step, whatever they hold: with the default 3 a side and alpha 0.05, 6 and 7 runs
 * reach only p 0.103 and 0.093, so a 10x step in 6 runs read as "no step change". Null when no
 * count up to 64 reaches it (an alpha at or below the test's smallest p, 1 / 2000).
 * With `level`, p is resolved to it as {@link splitPermutationP} does (a lone step among many
 * series tested at once: alpha is then their corrected level).
 *
 * @example
 * ```ts
 * import { minStepRuns } from "./step_detect.ts";
 * minStepRuns(3, 0.05); // 8
 * minStepRuns(3, 0.0001); // null
 * ```
 */
export function minStepRuns(
  minSegment: number,
  alpha: number,
  options: { readonly level?: number } = {},
): number | null {
  const m = minSegmentOf(minSegment);
  const level = options.level;
  const key = `${m} ${alpha} ${level}`;
  const known = stepRunsMemo.get(key);
  if (known !== undefined) return known;
  let found: number | null = null;
  const smallest = level !== undefined && level > 0
    ? 1 / (1 + Math.max(STEP_PERMUTATIONS, Math.ceil(2 / level)))
    : 1 / (1 + STEP_PERMUTATIONS);
  if (alpha > smallest) {
    for (let n = 2 * m; n <= MAX_STEP_RUNS; n++) {
      const sorted = Array.from({ length: n }, (_, i) => i);
      if (splitPermutationP(sorted, m, { level }) < alpha) {
        found = n;
        break;
      }
    }
  }
  stepRunsMemo.set(key, found);
  return found;
}
