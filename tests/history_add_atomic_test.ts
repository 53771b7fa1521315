// `history --add` of many reports is all or nothing (HistoryStore.appendAll, one
// transaction): a run that cannot be stored leaves the database as it was, where the runs
// added before it stayed stored.
import assert from "node:assert/strict";
import { HistoryStore } from "../drift/mod.ts";
import { addRuns } from "../cli/history.ts";
import { caseResult, reportOf } from "./drift_helpers.ts";

const A = "preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=20;layout=bshd;causal=1";

Deno.test("addRuns: a run that cannot be stored stores none of the runs given with it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-history-atomic-" });
  try {
    const store = await HistoryStore.open(`${dir}/h.sqlite`);
    try {
      const night = (day: string) =>
        reportOf([caseResult(A, 1, Number(day))], {
          startedAt: `2026-01-${day}T02:00:00.000Z`,
          endedAt: `2026-01-${day}T02:01:00.000Z`,
        });
      // the second run holds one case twice: its rows break case_results' key (run, case)
      const bad = reportOf([caseResult(A, 1, 7), caseResult(A, 2, 8)], {
        startedAt: "2026-01-02T02:00:00.000Z",
        endedAt: "2026-01-02T02:01:00.000Z",
      });
      await assert.rejects(
        addRuns(store, [{ file: "n1", report: night("01") }, { file: "n2", report: bad }], "x"),
      );
      assert.deepEqual(store.runs(), []);
      // the same call without the bad run stores both others, in order, and says what it did
      const done = await store.appendAll([night("01"), night("03"), night("01")]);
      assert.deepEqual(done.map((d) => d.outcome), ["appended", "appended", "stored"]);
      assert.equal(done[2].id, done[0].id);
      assert.equal(store.runs().length, 2);
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
