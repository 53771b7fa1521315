// A benchmark record's per-pass times (bench/pass_times.ts): a pass's time in a step is all of
// its dispatches in a replay, so a pass dispatched once per group of sequences is not read as
// one dispatch's share of it. GPU-free.
import assert from "node:assert/strict";
import { passMedians } from "../bench/pass_times.ts";
import type { Timing } from "../gpu/timing.ts";

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
