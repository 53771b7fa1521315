// The example nightly workflow keeps one history across nights: shards run without
// --history, the merge job restores one database, appends the merged run, saves it, and
// publishes the HTML reports. Plus the CLI step it relies on: `history --add <run folder>
// --html` on a carried database sees every night.
import assert from "node:assert/strict";
import { runCli } from "./helpers_cli.ts";
import { report, result, withTempDir } from "./report_util.ts";
import { writeRunOutputs } from "../report/mod.ts";

// comments dropped: only what runs counts
const workflow = (await Deno.readTextFile(
  new URL("../.github/workflows/nightly.yml", import.meta.url),
)).split("\n").filter((l) => !l.trimStart().startsWith("#")).join("\n");
const [, shardJob, mergeJob] = workflow.split(/^ {2}(?:shard|merge):$/m);

Deno.test("nightly workflow: shards run without --history; merge carries one database", () => {
  assert.ok(shardJob && mergeJob, "the workflow has a shard job and a merge job");
  assert.match(shardJob, /harness run --matrix nightly/);
  assert.ok(!/--history\b/.test(shardJob), "a shard writes no history database");
  const restore = mergeJob.indexOf("uses: actions/cache/restore@v4");
  const add = mergeJob.indexOf("history --add out/nightly --db history/history.sqlite");
  const save = mergeJob.indexOf("uses: actions/cache/save@v4");
  const merge = mergeJob.indexOf("harness merge shards/shard-* --out out/nightly");
  assert.ok(merge >= 0 && merge < add, "the merged night is what is appended");
  assert.ok(restore >= 0 && restore < add && add < save, "restore, append, save in order");
  // the save key is new each night and the restore finds the newest by prefix
  assert.match(
    mergeJob,
    /key: mla-history-\$\{\{ github\.run_id \}\}-\$\{\{ github\.run_attempt \}\}\n\s+restore-keys: mla-history-/,
  );
  assert.match(mergeJob, /--html out\/nightly\/history\.html/);
  assert.match(mergeJob, /--html out\/nightly\/drift\.html/);
  assert.match(mergeJob, /name: nightly\n\s+path: out\/nightly/);
  // the JUnit check run needs checks: write; the drift report reaches the step summary
  assert.match(mergeJob, /permissions:\n\s+contents: read\n\s+checks: write/);
  assert.match(mergeJob, /cat out\/nightly\/drift\.md >> "\$GITHUB_STEP_SUMMARY"/);
  // enough samples for the speed test (run's default 3 never reach p < 0.01)
  assert.match(shardJob, /--repeats 10 /);
  // the nightly's baselines, apart from the smoke matrix's baselines/<device-key>.json
  assert.match(shardJob, /--baseline baselines\/nightly\//);
  assert.match(mergeJob, /compare baselines\/nightly\/ out\/nightly/);
});

Deno.test("nightly workflow: history --add on a carried database grows night by night", async () => {
  await withTempDir(async (dir) => {
    const db = `${dir}/history.sqlite`;
    for (const [night, ms] of [[1, 1], [2, 1.02], [3, 0.99]] as const) {
      const r = result({ b: 1 }, {
        timing: { source: "timestamp-query", samplesMs: [ms, ms, ms], medianMs: ms },
      });
      await writeRunOutputs(
        `${dir}/night${night}`,
        report([r], { startedAt: `2026-11-0${night}T02:17:00.000Z` }),
      );
      const out = await runCli([
        "history",
        "--add",
        `${dir}/night${night}`,
        "--db",
        db,
        "--label",
        "nightly",
        "--html",
        `${dir}/history.html`,
      ]);
      assert.equal(out.code, 0, out.stdout + out.stderr);
    }
    const html = await Deno.readTextFile(`${dir}/history.html`);
    assert.match(html, /<dt>Runs<\/dt><dd>3<\/dd>/);
    assert.match(html, /data-chart="history" data-marks="3"/);
  });
});
