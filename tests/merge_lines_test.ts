// What `merge` prints: every missing and duplicated case up to MAX_MERGE_LINES, then a count,
// so a merge of a few of many shards names 50 cases and the number of the rest instead of
// thousands of lines; the other lines are as before.
import assert from "node:assert/strict";
import { MAX_MERGE_LINES, mergeCommand, mergeLines } from "../cli/merge.ts";
import type { MergeResult } from "../report/merge.ts";
import { computeTotals } from "../report/totals.ts";
import { report, result } from "./report_util.ts";

function merged(missing: number, duplicated: number): MergeResult {
  const results = [result({ sk: 1 }), result({ sk: 2 })];
  const ids = (n: number, from: number) => Array.from({ length: n }, (_, i) => `sk=${from + i}`);
  return {
    report: {
      ...report(results),
      matrixIds: [...results.map((r) => r.id), ...ids(missing, 100)],
      totals: computeTotals(results),
    },
    missing: ids(missing, 100),
    duplicated: ids(duplicated, 1000).map((id) => ({ id, dirs: ["s1", "s2"] })),
    mismatched: ["s2: host.cpuModel A → B"],
    corruptTails: [],
    rebuilt: ["s3"],
  };
}

Deno.test("merge: missing and duplicated cases listed up to the cap, then counted", () => {
  const few = mergeLines(merged(3, 2), 2);
  assert.equal(few[0], "merged 2 dirs: 2/5 cases; 2 pass, 0 fail, 0 unexpected, 0 error");
  assert.deepEqual(few.slice(1, 4), ["missing: sk=100", "missing: sk=101", "missing: sk=102"]);
  assert.deepEqual(few.slice(4, 6), [
    "duplicated: sk=1000 (in s1, s2)",
    "duplicated: sk=1001 (in s1, s2)",
  ]);
  assert.equal(
    few[6],
    "rebuilt from results.jsonl: s3 (its run was killed before it had written all its reports)",
  );
  assert.equal(few[7], "environment differs: s2: host.cpuModel A → B");
  assert.equal(few.length, 8);

  const many = mergeLines(merged(MAX_MERGE_LINES + 70, MAX_MERGE_LINES + 5), 16);
  const missing = many.filter((l) => l.startsWith("missing: "));
  assert.equal(missing.length, MAX_MERGE_LINES + 1);
  assert.equal(missing[MAX_MERGE_LINES - 1], `missing: sk=${100 + MAX_MERGE_LINES - 1}`);
  assert.equal(missing.at(-1), "missing: … and 70 more (report.json's missing lists every one)");
  const dup = many.filter((l) => l.startsWith("duplicated: "));
  assert.equal(dup.length, MAX_MERGE_LINES + 1);
  assert.equal(dup.at(-1), "duplicated: … and 5 more (the first copy of each is kept)");
});

Deno.test("merge: cases refused as the matrix expected are counted apart, as run's line does", () => {
  const results = [
    result({ sk: 1 }),
    result({ sk: 2 }, { decision: "unsupported", expect: { support: "unsupported" } }),
    result({ sk: 3 }, { decision: "invalid", expect: { support: "invalid" } }),
  ];
  const m: MergeResult = {
    report: { ...report(results), totals: computeTotals(results) },
    missing: [],
    duplicated: [],
    mismatched: [],
    corruptTails: [],
    rebuilt: [],
  };
  assert.equal(
    mergeLines(m, 2)[0],
    "merged 2 dirs: 3/3 cases; 1 pass, 0 fail, 0 unexpected, 0 error, 2 skipped as expected",
  );
});

Deno.test("merge --help names every kind of shard it refuses (exit 2)", () => {
  // it named --repeats, --warmup-ms and --max-rows only; shards of another --backend, filter,
  // planted fault or environment are refused as well (report/merge.ts)
  const help = mergeCommand().helpInformation().replace(/\s+/g, " ");
  for (
    const what of [
      "matrix, filter, matrix seed, planted fault or --backend",
      "another environment (device, WebGPU backend, runtime, kernel sources, plan caps, harness revision)",
      "another --repeats or --warmup-ms",
      "another --max-rows",
    ]
  ) assert.ok(help.includes(what), `${what}\n${help}`);
});
