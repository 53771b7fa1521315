// Step detection's split search and permutation test, against their definitions written out
// directly: the L1 split search that keeps both sides sorted picks the split that sorting
// each side anew picks, and detectSteps, which skips the permutation test where the medians
// differ by less than minChange and stops a shuffle at the first split that reaches the
// observed statistic, finds the same steps with the same p as the plain definition.
import assert from "node:assert/strict";
import { bestL1Split, detectSteps, STEP_PERMUTATIONS } from "../drift/step_detect.ts";
import { midRanks } from "../drift/stats.ts";
import { median } from "../util/stats.ts";
import { makePrng } from "../util/prng.ts";

/** The relative change of the medians, as the module doc defines it. */
function changeOf(before: number, after: number): number {
  return before === 0 ? (after === 0 ? 0 : Infinity) : after / before - 1;
}

/**
 * The L1 split as the module doc defines it: both sides sorted anew for every k, among the
 * splits whose medians differ by at least minChange.
 */
function plainSplit(
  values: readonly number[],
  lo: number,
  hi: number,
  min: number,
  minChange = 0,
): number {
  const l1 = (xs: readonly number[]) => {
    const m = median(xs);
    return xs.reduce((s, x) => s + Math.abs(x - m), 0);
  };
  let best = -1, bestCost = Infinity;
  for (let k = lo + min; k <= hi - min; k++) {
    const [l, r] = [values.slice(lo, k), values.slice(k, hi)];
    if (Math.abs(changeOf(median(l), median(r))) < minChange) continue;
    const cost = l1(l) + l1(r);
    if (cost < bestCost) {
      bestCost = cost;
      best = k;
    }
  }
  return best;
}

/** The permutation p as the module doc defines it: every shuffle's largest z computed. */
function plainP(values: readonly number[], min: number): number {
  const maxZ = (r: ArrayLike<number>) => {
    const n = r.length;
    let sum = 0, best = 0;
    for (let k = 1; k <= n - min; k++) {
      sum += r[k - 1];
      if (k < min) continue;
      const z = Math.abs(sum - k * (n + 1) / 2) / Math.sqrt(k * (n - k) * (n + 1) / 12);
      if (z > best) best = z;
    }
    return best;
  };
  const { ranks } = midRanks(values);
  const reach = maxZ(ranks) * (1 - 1e-12);
  // util/prng.ts, seeded as the module seeds it
  const rng = makePrng(values.length, "step-permutations");
  const shuffled = Float64Array.from(ranks);
  let count = 0;
  for (let b = 0; b < STEP_PERMUTATIONS; b++) {
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = shuffled[i];
      shuffled[i] = shuffled[j];
      shuffled[j] = t;
    }
    if (maxZ(shuffled) >= reach) count++;
  }
  return (1 + count) / (1 + STEP_PERMUTATIONS);
}

/** detectSteps as the module doc defines it, the permutation test run on every segment. */
function plainSteps(values: readonly number[], min = 3, minChange = 0.05, alpha = 0.05) {
  const steps: { index: number; before: number; after: number; change: number; p: number }[] = [];
  const search = (lo: number, hi: number) => {
    if (hi - lo < 2 * min) return;
    const best = plainSplit(values, lo, hi, min, minChange);
    if (best < 0) return;
    const before = median(values.slice(lo, best)), after = median(values.slice(best, hi));
    const change = changeOf(before, after);
    const p = plainP(values.slice(lo, hi), min);
    if (Math.abs(change) < minChange || p >= alpha) return;
    steps.push({ index: best, before, after, change, p });
    search(lo, best);
    search(best, hi);
  };
  search(0, values.length);
  return steps.sort((x, y) => x.index - y.index);
}

/** Seeded series of several shapes: noise, a step, a creep, ties and zeros. */
function series(count: number, maxLength: number): number[][] {
  let s = 2024;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const out: number[][] = [];
  for (let i = 0; i < count; i++) {
    const n = 2 + Math.floor(rnd() * maxLength);
    out.push(Array.from({ length: n }, (_, j) => {
      switch (i % 5) {
        case 0:
          return 1 + 0.05 * rnd();
        case 1:
          return (j >= n / 2 ? 1.3 : 1) * (1 + 0.03 * rnd());
        case 2:
          return Math.round(rnd() * 3); // ties, zeros
        case 3:
          return i % 2 === 0
            // a level that rose and fell back
            ? (j >= n / 3 && j < (2 * n) / 3 ? 1.5 : 1) * (1 + 0.02 * rnd())
            : 1.02 ** j * (1 + 0.01 * rnd());
        default:
          return rnd() < 0.5 ? 0 : rnd() * 10;
      }
    }));
  }
  return out;
}

Deno.test("step detection: the sorted-sides split search picks the split of its definition", () => {
  for (const xs of series(200, 80)) {
    for (const min of [1, 2, 3, 5]) {
      if (xs.length < 2 * min) continue;
      assert.equal(bestL1Split(xs, 0, xs.length, min), plainSplit(xs, 0, xs.length, min));
      assert.equal(
        bestL1Split(xs, 0, xs.length, min, { minChange: 0.05 }),
        plainSplit(xs, 0, xs.length, min, 0.05),
      );
      // an inner segment, as the recursion searches it
      const lo = Math.floor(xs.length / 4), hi = xs.length - Math.floor(xs.length / 5);
      if (hi - lo >= 2 * min) {
        assert.equal(bestL1Split(xs, lo, hi, min), plainSplit(xs, lo, hi, min));
      }
    }
  }
  // equal costs: the first split wins
  assert.equal(bestL1Split([1, 1, 1, 1, 1, 1], 0, 6, 1), 1);
});

Deno.test("step detection: the same steps and p as the definition, on every shape of series", () => {
  for (const [i, xs] of series(60, 40).entries()) {
    const min = 1 + (i % 4), minChange = i % 7 === 0 ? 0.01 : 0.05;
    assert.deepEqual(
      detectSteps(xs, { minSegment: min, minChange }),
      plainSteps(xs, min, minChange),
      `series ${i}: ${JSON.stringify(xs)}`,
    );
  }
});

Deno.test("step detection: a level that rose and fell back is two steps, not none", () => {
  // ten nights at 1, ten 50% slower, ten at 1 again (a regression, then its fix): the least
  // cost split was at 22, with the same median on both sides, and the search stopped there
  const wobble = (i: number) => 1 + 0.01 * Math.sin(i * 12.9898);
  const bump = Array.from({ length: 30 }, (_, i) => (i >= 10 && i < 20 ? 1.5 : 1) * wobble(i));
  assert.equal(bestL1Split(bump, 0, 30, 3), 22, "the split with no change costs least");
  const steps = detectSteps(bump);
  assert.deepEqual(steps.map((s) => s.index), [10, 20]);
  assert.ok(steps[0].change > 0.4 && steps[1].change < -0.15, JSON.stringify(steps));
  assert.ok(steps.every((s) => s.p < 0.05));
  assert.deepEqual(steps, plainSteps(bump));
});
