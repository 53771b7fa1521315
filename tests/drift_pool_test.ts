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

Deno.test("pooling: a case stands as its worst round, and the run is interrupted when any round was", () => {
  const A = id(0);
  const B = id(1);
  const pass = (x: string, ms: number) => caseResult(x, ms, 1);
  const r1 = reportOf([pass(A, 1), pass(B, 1)]);
  // round 2: A errored (a device loss), the round stopped there; B failed parity in round 3
  const r2 = reportOf([{ ...pass(A, 2), status: "error" as const, message: "device lost" }], {
    interrupted: true,
  });
  const r3 = reportOf([pass(A, 3), { ...pass(B, 3), status: "fail" as const }]);
  const pooled = poolRounds([r1, r2, r3]);
  // before: round 1's verdicts stood (two passes), not interrupted
  assert.deepEqual(pooled.results.map((r) => r.status), ["error", "fail"]);
  assert.equal(pooled.results[0].message, "device lost");
  assert.equal(pooled.interrupted, true);
  assert.deepEqual(pooled.totals, { pass: 0, fail: 1, unexpected: 0, error: 1 });
  // the worst round's record keeps the samples of every round that timed the case
  assert.equal(
    pooled.results[1].timing?.samplesMs.length,
    2 * r1.results[1].timing!.samplesMs.length,
  );
  // equally good rounds: the first round's record, as before
  const calm = poolRounds([r1, reportOf([pass(A, 5), pass(B, 5)])]);
  assert.deepEqual(calm.results.map((r) => r.status), ["pass", "pass"]);
  assert.equal(calm.interrupted, false);
  assert.deepEqual(calm.totals, { pass: 2, fail: 0, unexpected: 0, error: 0 });
});

Deno.test("pooling: the pooled run keeps its busiest round's host load", () => {
  const load = (load1: number) => ({
    start: { at: "2026-01-01T00:00:00.000Z", load1: 0.5, load5: 0.5, cpus: 2 },
    end: { at: "2026-01-01T00:01:00.000Z", load1, load5: load1, cpus: 2 },
  });
  const r = (hostLoad?: ReturnType<typeof load>) =>
    reportOf([caseResult(id(0), 1, 1)], hostLoad ? { hostLoad } : {});
  // the second round timed under load 12 on 2 CPUs: before, the first round's 1 stood
  assert.deepEqual(poolRounds([r(load(1)), r(load(12)), r(load(3))]).hostLoad, load(12));
  assert.deepEqual(poolRounds([r(), r(load(3))]).hostLoad, load(3));
  assert.equal(poolRounds([r(), r()]).hostLoad, undefined);
});
