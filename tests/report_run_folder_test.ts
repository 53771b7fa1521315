// One reading of a run output folder for every command that takes one (report/run_folder.ts):
// compare's loadComparable and history --add / baseline update --from-report's runReportFile
// said the same three things in two wordings before.
import assert from "node:assert/strict";
import { runFolderReport } from "../report/run_folder.ts";
import { loadComparable } from "../drift/baseline.ts";
import { runReportFile } from "../cli/run_report_input.ts";

Deno.test("runFolderReport: a file as given, a run folder's report.json, a killed run, no run", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-run-folder-" });
  try {
    const valid = "give a run output folder";
    assert.deepEqual(await runFolderReport(`${dir}/x.json`, { valid }), { file: `${dir}/x.json` });
    const done = `${dir}/done`;
    await Deno.mkdir(done);
    await Deno.writeTextFile(`${done}/report.json`, "{}");
    assert.deepEqual(await runFolderReport(`${done}/`, { valid }), { file: `${done}/report.json` });
    const killed = `${dir}/killed`;
    await Deno.mkdir(killed);
    await Deno.writeTextFile(`${killed}/run.json`, "{}");
    // run.json alone (mkdir k; cp <run>/run.json k): said "run.json and results.jsonl are there"
    assert.match(
      (await runFolderReport(killed, { valid })).problem ?? "",
      /\(its run\.json is there, no results\.jsonl \(no case results\) or report\.json\)/,
    );
    await Deno.writeTextFile(`${killed}/results.jsonl`, "");
    assert.match(
      (await runFolderReport(killed, { valid })).problem ?? "",
      /\(its run\.json and results\.jsonl are there, no report\.json\)/,
    );
    const k = await runFolderReport(killed, { valid, needs: "a baseline needs a finished run" });
    assert.match(
      k.problem ?? "",
      new RegExp(
        `killed before writing its reports .*\`merge ${killed} --out ${killed}\` rebuilds them ` +
          "\\(marked interrupted: a baseline needs a finished run\\), and `run --resume` with " +
          "the run's own options finishes it",
      ),
    );
    // run.json records the run's options: the resume that is not refused for another filter
    // (a bare `run --resume` was named)
    await Deno.writeTextFile(
      `${killed}/run.json`,
      JSON.stringify({
        version: 1,
        state: "running",
        report: { matrix: "smoke", filter: "preset=tiny;dtype=f32", shard: "1/2", repeats: 0 },
      }),
    );
    const named = await runFolderReport(killed, { valid });
    assert.ok(
      (named.problem ?? "").endsWith(
        "and `deno task harness run --matrix smoke --filter 'preset=tiny;dtype=f32' --shard 1/2 " +
          `--repeats 0 --out ${killed} --resume\` finishes it`,
      ),
      named.problem,
    );
    await Deno.writeTextFile(`${killed}/run.json`, "{}");
    const empty = `${dir}/empty`;
    await Deno.mkdir(empty);
    assert.deepEqual(await runFolderReport(empty, { valid }), {
      problem: `a folder without report.json, not a run output folder; ${valid}`,
    });
    // both readers say it in this one wording, each with what it takes
    for (const read of [(p: string) => loadComparable(p), (p: string) => runReportFile(p)]) {
      await assert.rejects(read(killed), new RegExp(`${killed}: the folder's run was killed`));
      await assert.rejects(read(empty), new RegExp(`${empty}: a folder without report\\.json`));
    }
    await assert.rejects(
      loadComparable(empty),
      /a baselines folder needs the current run's device key/,
    );
    // an upgrade-check's --out (a run in from/ and to/): its sides named, where "a folder
    // without report.json, not a run output folder" was all it said
    await Deno.mkdir(`${empty}/from`);
    await Deno.writeTextFile(`${empty}/from/report.json`, "{}");
    assert.deepEqual(await runFolderReport(`${empty}/`, { valid }), {
      problem: `an upgrade-check's output folder, not one run's: its one side's run is ` +
        `${empty}/from; give that folder`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runFolderReport: a run that finished without report.json is not called killed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-run-folder-" });
  try {
    const valid = "give a run output folder";
    for (const [state, said] of [["finished", "finished"], ["interrupted", "stopped early"]]) {
      const ended = `${dir}/${state}`;
      await Deno.mkdir(ended);
      await Deno.writeTextFile(`${ended}/run.json`, JSON.stringify({ version: 1, state }));
      const p = (await runFolderReport(ended, { valid })).problem ?? "";
      assert.doesNotMatch(p, /killed/);
      assert.match(
        p,
        new RegExp(
          `^the folder's run ${said} \\(its run.json says so\\) without writing its reports ` +
            ".*writeReports: writeRunReports.*`merge " + ended + " --out " + ended +
            "` writes them$",
        ),
      );
      await assert.rejects(loadComparable(ended), new RegExp(`${ended}: the folder's run ${said}`));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
