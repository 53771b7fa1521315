// maxOf and minOf give what Math.max(...xs) and Math.min(...xs) give, also for lists too long
// to spread (each value an argument on the stack: a RangeError past about 120,000), so a
// compare of a run whose cases are all "speed not tested" (run's default 3 repetitions)
// still works past 60,000 cases, where it threw.
import assert from "node:assert/strict";
import { compareBaselines } from "../drift/compare.ts";
import { maxOf, minOf } from "../util/stats.ts";
import { baselineOf, supportedCase, timing } from "./drift_helpers.ts";

Deno.test("maxOf and minOf: Math.max and Math.min of the spread list, NaN and signed zeros included", () => {
  const lists = [[], [1], [3, 1, 2], [-0, 0], [0, -0], [-0], [2, NaN, 1], [-Infinity], [
    Infinity,
    -5,
  ]];
  for (const xs of lists) {
    assert.ok(Object.is(maxOf(xs), Math.max(...xs)), `max ${xs}`);
    assert.ok(Object.is(minOf(xs), Math.min(...xs)), `min ${xs}`);
  }
  // a list too long for the spread
  const long = Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 300_007);
  assert.throws(() => Math.max(...long), RangeError);
  assert.equal(maxOf(long), long.reduce((a, b) => (b > a ? b : a)));
  assert.equal(minOf(long), long.reduce((a, b) => (b < a ? b : a)));
});

Deno.test("compare: 70,000 cases with too few samples each are counted, not a RangeError", () => {
  const cases = Array.from(
    { length: 70_000 },
    (_, i) => supportedCase(`preset=tiny;sk=${i}`, { timing: timing([1, 1.1, 0.9]) }),
  );
  const r = compareBaselines(baselineOf(cases), baselineOf(cases));
  assert.equal(r.speed.untested, 70_000);
  assert.equal(r.speed.fewestSamples, 3);
});
