// Pooling rounds matches each case with its own result in every later round, by id, whatever
// order a round lists its results in (each round is looked up by id, not searched per case):
// samples are concatenated in round order, a case a later round lacks keeps its own.
import assert from "node:assert/strict";
import { poolRounds } from "../drift/pool.ts";
import type { CaseResult } from "../results/types.ts";
import { median } from "../util/stats.ts";
import { caseResult, reportOf } from "./drift_helpers.ts";

const id = (i: number) => `preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=${20 + i}`;

function round(n: number, ms: (i: number) => number, order: (xs: CaseResult[]) => CaseResult[]) {
  const results = Array.from({ length: n }, (_, i) => {
    const r = caseResult(id(i), ms(i), i + 1);
    return { ...r, timing: { ...r.timing!, samplesMs: [ms(i)], medianMs: ms(i) } };
  });
  return reportOf(order(results));
}

Deno.test("pooling: each case gets its own samples from every round, in any order", () => {
  const n = 300;
  const a = round(n, (i) => i, (xs) => xs);
  const b = round(n, (i) => 1000 + i, (xs) => [...xs].reverse());
  // the third round lacks the even cases and lists the rest rotated
  const c = round(n, (i) => 2000 + i, (xs) => {
    const odd = xs.filter((_, i) => i % 2 === 1);
    return [...odd.slice(7), ...odd.slice(0, 7)];
  });
  const pooled = poolRounds([a, b, c]);
  assert.deepEqual(pooled.results.map((r) => r.id), a.results.map((r) => r.id));
  for (const [i, r] of pooled.results.entries()) {
    const want = i % 2 === 1 ? [i, 1000 + i, 2000 + i] : [i, 1000 + i];
    assert.deepEqual(r.timing?.samplesMs, want, r.id);
    assert.equal(r.timing?.medianMs, median(want));
  }
  assert.equal(pooled.endedAt, c.endedAt);
});
