// A benchmark record's per-pass times (bench/pass_times.ts): a pass's time in a step is all of
// its dispatches in a replay, so a pass dispatched once per group of sequences is not read as
// one dispatch's share of it. GPU-free.
import assert from "node:assert/strict";
import { passMedians } from "../bench/pass_times.ts";
import { coreSamples, untimedReason } from "../bench/run_bench.ts";
import { type PassTiming, passTimingOf, type Timing } from "../gpu/timing.ts";

function replay(passes: [string, number | null][]): Timing {
  return {
    source: "timestamp-query",
    totalMs: passes.reduce((s, [, ms]) => s + (ms ?? 0), 0),
    passes: passes.map(([name, ms]) => ({ name, ms })),
  };
}

Deno.test("passMedians: a pass's dispatches in a replay add up; the median is over replays", () => {
  // "expanded" runs twice a replay (two groups of sequences), "combine" once
  const got = passMedians([
    replay([["expanded", 1], ["expanded", 1], ["combine", 0.5]]),
    replay([["expanded", 1], ["expanded", 2], ["combine", 0.25]]),
    replay([["expanded", 2], ["expanded", 2], ["combine", 0.75]]),
  ]);
  assert.deepEqual(got, { expanded: 3, combine: 0.5 });
  assert.deepEqual(Object.keys(got), ["expanded", "combine"], "in the order they ran");
  // Still a sum of medians (3.5) is not the median of the replays' sums (2.5, 3.25, 4.75):
  // why the passes plot draws the case's ms as a tick of its own.
  assert.equal(got.expanded + got.combine, 3.5);
});

Deno.test("passMedians: a replay where a dispatch has no time gives that pass no sample", () => {
  assert.deepEqual(
    passMedians([
      replay([["a", 1], ["a", null], ["b", 2]]),
      replay([["a", 3], ["a", 1], ["b", 4]]),
      replay([["c", null]]),
    ]),
    { a: 4, b: 3 },
  );
});

Deno.test("timestamps that stood still or went backwards are no time: said, and counted as none", () => {
  // a negative delta read 0 ms like a pass that took none; it is now said
  assert.deepEqual(passTimingOf("a", 1_000n, 251_000n), { name: "a", ms: 0.25 });
  assert.deepEqual(passTimingOf("a", 9_000n, 5_000n), {
    name: "a",
    ms: 0,
    clock: "went backwards",
  });
  assert.deepEqual(passTimingOf("a", 7n, 7n), { name: "a", ms: 0, clock: "stood still" });
  const t = (core: PassTiming, other: PassTiming): Timing => ({
    source: "timestamp-query",
    totalMs: 1 + (core.ms ?? 0) + (other.ms ?? 0),
    passes: [{ name: "scores", ms: 1 }, core, other],
  });
  const ok = { name: "values", ms: 2 }, back = passTimingOf("values", 9n, 5n);
  const rope = { name: "rope_q", ms: 5 }, ropeBack = passTimingOf("rope_q", 9n, 5n);
  const reps = [t(ok, rope), t(back, rope), t(ok, ropeBack)];
  // the second replay's core read 1 ms (scores alone): a silent undercount; now no time
  assert.deepEqual(coreSamples(reps, ["scores", "values"]), [3, 0, 3]);
  // its pass reads no sample rather than a median pulled toward 0
  assert.deepEqual(passMedians([t(ok, rope), t(back, ropeBack)]), {
    scores: 1,
    values: 2,
    rope_q: 5,
  });
  assert.equal(
    untimedReason([0, 0, 3], "timestamp-query", { backwards: true }),
    "2 of 3 timed repetitions of the attention core read 0 ms by timestamp-query (timestamps " +
      "of its passes that did not advance or went backwards): no time to judge, so no " +
      "GFLOP/s, GB/s or roofline fraction",
  );
});
