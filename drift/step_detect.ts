/**
 * Step detection in a series of nightly values (a metric over runs), so a slow creep is
 * visible even when no single night crosses a threshold.
 *
 * The method (simpler than asv's penalized fit, and documented here in full):
 * binary segmentation with an L1 cost. For a segment, the split point k minimizing
 * sum |x - median(left)| + sum |x - median(right)| (each side at least `minSegment`
 * points) is accepted as a step when
 *   1. the medians differ by at least `minChange` (relative, default 5%), and
 *   2. the two sides differ by a two-sided Mann-Whitney U test at `alpha` (default 0.05);
 * then both sides are searched again. A creep of 2% a night over 12 nights has no
 * adjacent change above 5% but splits into halves whose medians differ by ~13% with
 * p ~ 0.002: one step, reported where the halves meet.
 *
 * @module
 */
import { mannWhitneyU } from "./stats.ts";
import { median } from "../util/stats.ts";

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
  /** Mann-Whitney p-value of the two sides. */
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
}

function l1(xs: readonly number[]): number {
  const m = median(xs);
  return xs.reduce((s, x) => s + Math.abs(x - m), 0);
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
  const minSegment = Math.max(1, options.minSegment ?? 3);
  const minChange = options.minChange ?? 0.05;
  const alpha = options.alpha ?? 0.05;
  if (values.some((v) => !Number.isFinite(v))) {
    throw new RangeError("detectSteps needs finite values");
  }
  const steps: Step[] = [];
  const search = (lo: number, hi: number) => {
    if (hi - lo < 2 * minSegment) return;
    let best = -1, bestCost = Infinity;
    for (let k = lo + minSegment; k <= hi - minSegment; k++) {
      const cost = l1(values.slice(lo, k)) + l1(values.slice(k, hi));
      if (cost < bestCost) {
        bestCost = cost;
        best = k;
      }
    }
    const left = values.slice(lo, best), right = values.slice(best, hi);
    const before = median(left), after = median(right);
    const change = before === 0 ? (after === 0 ? 0 : Infinity) : after / before - 1;
    const p = mannWhitneyU(left, right).p;
    if (Math.abs(change) < minChange || p >= alpha) return;
    steps.push({ index: best, before, after, change, p });
    search(lo, best);
    search(best, hi);
  };
  search(0, values.length);
  return steps.sort((a, b) => a.index - b.index);
}
