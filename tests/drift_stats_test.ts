// Statistics of the drift layer on samples with known outcomes: Mann-Whitney U against
// SciPy's values, quantiles, geometric mean, the speed verdict (significance AND ratio),
// and step detection (a step, a slow creep, pure noise).
import assert from "node:assert/strict";
import {
  DEFAULT_THRESHOLDS,
  detectSteps,
  geometricMean,
  iqr,
  mannWhitneyU,
  median,
  quantile,
  speedVerdict,
} from "../drift/mod.ts";
import { samples, timing } from "./drift_helpers.ts";

const close = (a: number, b: number, rel: number) =>
  assert.ok(Math.abs(a - b) <= rel * Math.abs(b), `${a} vs ${b}`);

Deno.test("Mann-Whitney U matches SciPy (exact and asymptotic)", () => {
  // scipy.stats.mannwhitneyu(x, y, alternative="two-sided", method=...), SciPy 1.17
  const a = mannWhitneyU([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]);
  assert.equal(a.u, 0);
  assert.equal(a.method, "exact");
  close(a.p, 0.007936507936507936, 1e-12);
  const b = mannWhitneyU([1.1, 2.5, 3.3, 0.4, 5.9, 7.1], [2.2, 3.8, 6.1, 9.5, 8.4]);
  assert.equal(b.u, 7);
  close(b.p, 0.17748917748917747, 1e-12);
  const c = mannWhitneyU([1, 2, 2, 3, 4, 5, 5, 6], [2, 3, 5, 7, 7, 8, 9]); // ties
  assert.equal(c.u, 12.5);
  assert.equal(c.method, "normal");
  close(c.p, 0.07983871964585261, 1e-6);
  const x = Array.from({ length: 60 }, (_, i) => Math.sin(i) * 3 + i * 0.1);
  const y = Array.from({ length: 70 }, (_, i) => Math.cos(i) * 3 + i * 0.12);
  const d = mannWhitneyU(x, y); // 60 * 70 > EXACT_LIMIT: asymptotic
  assert.equal(d.u, 1695);
  close(d.p, 0.05888198064194307, 1e-5);
  // identical samples: p = 1; 10 vs 10 fully separated: the smallest p, 2 / C(20, 10)
  assert.equal(mannWhitneyU([1, 1, 1], [1, 1, 1]).p, 1);
  close(mannWhitneyU(samples(1, 10, 3), samples(5, 10, 4)).p, 2 / 184756, 1e-9);
  assert.throws(() => mannWhitneyU([], [1]), RangeError);
  assert.throws(() => mannWhitneyU([NaN], [1]), RangeError);
});

Deno.test("quantile, median, IQR and geometric mean", () => {
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(iqr([1, 2, 3, 4, 5]), 2);
  assert.ok(Number.isNaN(median([])));
  close(geometricMean([0.5, 2, 4])!, 4 ** (1 / 3), 1e-12);
  assert.equal(geometricMean([]), null);
});

Deno.test("speed verdict: significant AND beyond the ratio, else not significant", () => {
  const t = DEFAULT_THRESHOLDS;
  const base = timing(samples(1, 10, 1));
  // 4x slower, every sample: p ~ 1e-5 and ratio 4 -> regression
  const slow = speedVerdict(base, timing(samples(4, 10, 2)), t)!;
  assert.equal(slow.verdict, "regression");
  assert.ok(slow.p! < 1e-4 && slow.ratio! > 3.5, JSON.stringify(slow));
  // 4x faster -> improvement
  assert.equal(speedVerdict(base, timing(samples(1 / 4, 10, 2)), t)!.verdict, "improvement");
  // same distribution -> not significant
  const same = speedVerdict(base, timing(samples(1, 10, 7)), t)!;
  assert.equal(same.verdict, "not-significant");
  assert.ok(same.p! > t.alpha);
  // 2x: significant (p ~ 1e-5) but below the 3x ratio -> not significant
  const mild = speedVerdict(base, timing(samples(2, 10, 2)), t)!;
  assert.ok(mild.p! < t.alpha);
  assert.equal(mild.verdict, "not-significant");
  // ... and flagged with a lower ratio threshold
  assert.equal(
    speedVerdict(base, timing(samples(2, 10, 2)), { ...t, speedRatio: 1.5 })!.verdict,
    "regression",
  );
  // a median of 0 ms (a clock that did not tick) on either side: not comparable, said so
  // (before: ratio null, "unchanged" while the other side took 5 ms, counted nowhere)
  const zero = timing(Array(10).fill(0));
  for (
    const v of [speedVerdict(zero, timing(samples(5, 10, 2)), t)!, speedVerdict(base, zero, t)!]
  ) {
    assert.equal(v.verdict, "not-comparable");
    assert.match(v.note!, /a median of 0 ms is a clock that did not tick/);
  }
  // 3 samples (run's default --repeats): never significant
  const few = speedVerdict(timing(samples(1, 3, 1)), timing(samples(10, 3, 2)), t)!;
  assert.equal(few.verdict, "not-significant");
  assert.match(few.note!, /too few samples/);
  // different timing sources are not compared
  const other = speedVerdict(base, timing(samples(3, 10, 2), "wall-clock"), t)!;
  assert.equal(other.verdict, "not-comparable");
  assert.equal(speedVerdict(base, null, t), null);
});

Deno.test("step detection: a step, a slow creep, and noise", () => {
  const step = [1, 1.01, 0.99, 1, 1.02, 1.3, 1.31, 1.29, 1.3, 1.32];
  const s = detectSteps(step);
  assert.equal(s.length, 1);
  assert.equal(s[0].index, 5);
  close(s[0].change, 0.3, 0.05);
  // +2% a night for 12 nights with ±0.5% noise: no night-to-night change reaches 5% ...
  const noise = samples(1, 12, 9).map((v) => (v - 1) / 40);
  const creep = noise.map((e, i) => 1.02 ** i * (1 + e));
  for (let i = 1; i < creep.length; i++) assert.ok(creep[i] / creep[i - 1] < 1.05);
  // ... but the creep is flagged
  const c = detectSteps(creep);
  assert.ok(c.length >= 1, "creep flagged");
  assert.ok(c[0].change > 0.1, JSON.stringify(c));
  // ±20% noise around a constant: nothing flagged
  assert.deepEqual(detectSteps(samples(1, 20, 5)), []);
  assert.deepEqual(detectSteps([1, 2]), []); // too short
  assert.throws(() => detectSteps([1, NaN, 1, 1, 1, 1]), RangeError);
});

Deno.test("speed: samples taken after different warm-ups are not compared; the same warm-up is", () => {
  const t = DEFAULT_THRESHOLDS;
  const warm = (ms: number | undefined, factor: number, seed: number) => {
    const base = timing(samples(factor, 10, seed))!;
    return ms === undefined ? base : { ...base, warmupMs: ms };
  };
  // a GPU warmed up runs 5x faster: not an improvement of the kernels
  const v = speedVerdict(warm(undefined, 5, 1), warm(500, 1, 2), t)!;
  assert.equal(v.verdict, "not-comparable");
  assert.match(v.note!, /warm-up 0 → 500 ms/);
  // absent and 0 are the same warm-up; equal warm-ups are compared as usual
  assert.equal(speedVerdict(warm(undefined, 1, 1), warm(0, 4, 2), t)!.verdict, "regression");
  assert.equal(speedVerdict(warm(500, 1, 1), warm(500, 4, 2), t)!.verdict, "regression");
});

Deno.test("step detection: noise alone is flagged at about alpha, a real step almost always", () => {
  // 400 series of 12 runs of uniform noise (±20%, independent): the split is chosen because it
  // separates best, so a rank test of that split alone flagged 13% of such series (session 44);
  // the permutation test over every split keeps it near alpha (0.05)
  let flagged = 0;
  for (let seed = 1; seed <= 400; seed++) {
    if (detectSteps(samples(1, 12, seed * 7919)).length > 0) flagged++;
  }
  assert.ok(flagged / 400 <= 0.075, `${flagged} of 400 noise series flagged`);
  // +50% after run 6 in the same noise: found in nearly every series, where the runs change
  // (+30%: in 66 of 100, against 79 with the rank test of the chosen split)
  let found = 0;
  for (let seed = 1; seed <= 100; seed++) {
    const xs = samples(1, 12, seed * 104729).map((v, i) => (i >= 6 ? v * 1.5 : v));
    const s = detectSteps(xs);
    if (s.some((st) => st.index >= 5 && st.index <= 7)) found++;
  }
  assert.ok(found >= 95, `${found} of 100 steps found`);
});
