import assert from "node:assert/strict";
import {
  JsonlWriter,
  mergeRuns,
  readJsonl,
  readReportJson,
  ReportFileError,
  writeRunOutputs,
} from "../report/mod.ts";
import { writeRunState } from "../report/run_state.ts";
import type { CaseResult, RunReport } from "../results/types.ts";
import { fingerprint, mixedResults, report, result, withTempDir } from "./report_util.ts";

function sixResults(): CaseResult[] {
  return [...mixedResults(), result({ b: 8 }, { wallMs: 7 }), result({ b: 16 }, { wallMs: 9 })];
}

/** A shard folder: report.json for the given owned ids, results.jsonl streamed line by line. */
async function shardDir(
  dir: string,
  all: readonly CaseResult[],
  owned: readonly CaseResult[],
  over: Partial<RunReport> = {},
): Promise<void> {
  const r = report(owned, {
    matrixIds: all.map((x) => x.id),
    shardIds: owned.map((x) => x.id),
    ...over,
  });
  await writeRunOutputs(dir, r, { jsonl: false });
  const w = await JsonlWriter.open(`${dir}/results.jsonl`, { truncate: true });
  for (const x of owned) await w.write(x);
  await w.close();
}

Deno.test("merge: two shards equal the unsharded run", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults();
    const even = all.filter((_, i) => i % 2 === 0), odd = all.filter((_, i) => i % 2 === 1);
    await shardDir(`${tmp}/s1`, all, odd, { shard: "1/2" });
    await shardDir(`${tmp}/s2`, all, even, { shard: "2/2", startedAt: "2024-12-31T23:59:00.000Z" });
    const m = await mergeRuns([`${tmp}/s1`, `${tmp}/s2`]);
    const unsharded = report(all);
    assert.deepEqual(m.report.results, JSON.parse(JSON.stringify(unsharded.results)));
    assert.deepEqual(m.report.matrixIds, unsharded.matrixIds);
    assert.deepEqual(m.report.shardIds, unsharded.shardIds);
    assert.deepEqual(m.report.totals, unsharded.totals);
    assert.equal(m.report.shard, null);
    assert.equal(m.report.startedAt, "2024-12-31T23:59:00.000Z");
    assert.deepEqual(m.missing, []);
    assert.deepEqual(m.duplicated, []);
    assert.deepEqual(m.mismatched, []);

    // The merged folder has the same files as an unsharded run.
    await writeRunOutputs(`${tmp}/merged`, m.report);
    await writeRunOutputs(`${tmp}/whole`, unsharded);
    for (const f of ["results.jsonl", "junit.xml"]) {
      assert.equal(
        await Deno.readTextFile(`${tmp}/merged/${f}`),
        (await Deno.readTextFile(`${tmp}/whole/${f}`)).replace(
          `timestamp="2025-01-01T00:00:00.000Z"`,
          `timestamp="2024-12-31T23:59:00.000Z"`,
        ).replaceAll(`time="60.000"`, `time="120.000"`),
        f,
      );
    }
    assert.equal((await readJsonl(`${tmp}/merged/results.jsonl`)).results.length, 6);
    assert.deepEqual((await readReportJson(`${tmp}/merged/report.json`)).totals, unsharded.totals);
  });
});

Deno.test("merge: reports a missing and a duplicated case, keeps the first copy", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults();
    const dup = { ...all[2], message: "second copy" };
    await shardDir(`${tmp}/a`, all, [all[0], all[1], all[2]]);
    // all[3] is nowhere (missing); all[2] is in both folders (duplicated).
    await shardDir(`${tmp}/b`, all, [dup, all[4], all[5]]);
    const m = await mergeRuns([`${tmp}/a`, `${tmp}/b`]);
    assert.deepEqual(m.missing, [all[3].id]);
    assert.deepEqual(m.duplicated, [{ id: all[2].id, dirs: [`${tmp}/a`, `${tmp}/b`] }]);
    assert.equal(m.report.results.length, 5);
    assert.equal(m.report.results.find((r) => r.id === all[2].id)?.message, all[2].message);
    assert.deepEqual(
      m.report.results.map((r) => r.id),
      all.filter((_, i) => i !== 3).map((r) => r.id),
    );
  });
});

Deno.test("merge: results.jsonl is authoritative; a truncated tail is tolerated", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults();
    // report.json written before the last results (killed run): lists none of them.
    await shardDir(`${tmp}/a`, all, all.slice(0, 3));
    const r = report([], { matrixIds: all.map((x) => x.id), shardIds: all.map((x) => x.id) });
    await writeRunOutputs(`${tmp}/b`, r, { jsonl: false });
    await Deno.writeTextFile(
      `${tmp}/b/results.jsonl`,
      JSON.stringify(all[3]) + "\n" + JSON.stringify(all[4]).slice(0, 30),
    );
    const m = await mergeRuns([`${tmp}/a`, `${tmp}/b`]);
    assert.deepEqual(m.missing, [all[4].id, all[5].id]);
    assert.deepEqual(m.corruptTails, [`${tmp}/b`]);
  });
});

Deno.test("merge: a fingerprint difference between shards is listed as mismatched", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults();
    await shardDir(`${tmp}/a`, all, all.slice(0, 3));
    const fp = fingerprint({
      runtime: { deno: "2.9.7", v8: "15.0.245.2-rusty", typescript: "6.0.3" },
    });
    await shardDir(`${tmp}/b`, all, all.slice(3), { fingerprint: fp });
    const m = await mergeRuns([`${tmp}/a`, `${tmp}/b`]);
    assert.deepEqual(m.mismatched, [`${tmp}/b: runtime.deno 2.9.6 → 2.9.7`]);
  });
});

Deno.test("merge: rejects folders of different matrices, filters or ids, naming the folder", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults();
    await shardDir(`${tmp}/a`, all, all.slice(0, 3));
    await shardDir(`${tmp}/b`, all, all.slice(3), { matrix: "nightly" });
    await assert.rejects(mergeRuns([`${tmp}/a`, `${tmp}/b`]), (e: unknown) => {
      assert.ok(e instanceof ReportFileError);
      assert.equal(e.path, `${tmp}/b/report.json`);
      assert.match(e.message, /ran matrix "nightly" but .*\/a ran "smoke"/);
      return true;
    });
    await shardDir(`${tmp}/c`, all, all.slice(3), { filter: "dtype=f16" });
    await assert.rejects(
      mergeRuns([`${tmp}/a`, `${tmp}/c`]),
      /c\/report\.json: ran with filter "dtype=f16"/,
    );
    await shardDir(`${tmp}/d`, all.slice(1), all.slice(3));
    await assert.rejects(
      mergeRuns([`${tmp}/a`, `${tmp}/d`]),
      /d\/report\.json: its matrix has 5 case ids instead of 6/,
    );
  });
});

Deno.test("merge: a folder without report.json or with a malformed one names the file", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults();
    await shardDir(`${tmp}/a`, all, all);
    await Deno.mkdir(`${tmp}/empty`);
    await assert.rejects(mergeRuns([`${tmp}/a`, `${tmp}/empty`]), /empty\/report\.json: missing/);
    await Deno.mkdir(`${tmp}/bad`);
    await Deno.writeTextFile(`${tmp}/bad/report.json`, JSON.stringify({ version: 1, matrix: 3 }));
    await assert.rejects(
      mergeRuns([`${tmp}/a`, `${tmp}/bad`]),
      /bad\/report\.json: not a run report: field "matrix" must be a string/,
    );
  });
});

Deno.test("merge: a killed run (run.json still 'running', no report.json) is rebuilt and said so", async () => {
  await withTempDir(async (tmp) => {
    const all = sixResults();
    const dir = `${tmp}/killed`;
    await Deno.mkdir(dir);
    const header = report([], { matrixIds: all.map((x) => x.id), shardIds: all.map((x) => x.id) });
    await writeRunState(`${dir}/run.json`, { version: 1, state: "running", report: header });
    const w = await JsonlWriter.open(`${dir}/results.jsonl`, { truncate: true });
    for (const x of all.slice(0, 4)) await w.write(x);
    await w.close();
    const m = await mergeRuns([dir]);
    assert.deepEqual(m.rebuilt, [dir]);
    assert.equal(m.report.interrupted, true);
    assert.deepEqual(m.report.results.map((r) => r.id), all.slice(0, 4).map((r) => r.id));
    assert.deepEqual(m.missing, all.slice(4).map((r) => r.id));
    // A stale report.json of an earlier run does not hide that the last run was killed.
    await writeRunOutputs(dir, report(all.slice(0, 1), { matrixIds: header.matrixIds }), {
      jsonl: false,
    });
    const again = await mergeRuns([dir]);
    assert.deepEqual(again.rebuilt, [dir]);
    assert.equal(again.report.results.length, 4);
    // A finished run's folder is read from report.json as before.
    await writeRunState(`${dir}/run.json`, { version: 1, state: "finished", report: header });
    assert.deepEqual((await mergeRuns([dir])).rebuilt, []);
  });
});

Deno.test("merge: a malformed run.json names the file and the field", async () => {
  await withTempDir(async (tmp) => {
    await Deno.writeTextFile(`${tmp}/run.json`, JSON.stringify({ version: 1, state: "done" }));
    await assert.rejects(
      mergeRuns([tmp]),
      /run\.json: not a run state: field "state" must be one of running, interrupted, finished/,
    );
  });
});
