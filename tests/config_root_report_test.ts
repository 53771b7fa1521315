// A run made with `--config-root` (its matrix reads a config outside the matrix's folder)
// records the root in its report, and everything written from the report reads the matrix
// there again: the commands that finish the run and explain a failure name it, and the cases
// not run keep their matrix groups, also when report.html is written again after the run (the
// drift verdict, drift/after_run.ts). Before, those pages counted the cases in "(not run,
// group unknown)" and the printed resume command was refused (config path outside its folder).
import assert from "node:assert/strict";
import { GpuContext, hasAdapter } from "../gpu/device.ts";
import { SILENT_PROGRESS } from "../report/progress.ts";
import { writeRunReports } from "../report/run_reports.ts";
import { readRunState, type RunState } from "../report/run_state.ts";
import { explainCommandFor, mergeRuns, NOT_RUN_GROUP, runCommandFor } from "../report/mod.ts";
import { writeRunHtml } from "../report/html/mod.ts";
import { runReportProblem } from "../report/validate.ts";
import { notRunGroups } from "../report/case_groups.ts";
import type { RunReport } from "../results/types.ts";
import { runCli } from "./helpers_cli.ts";
import { stoppedRun } from "./stub_runner.ts";
import { report } from "./report_util.ts";

const gpu = await hasAdapter();

/**
 * `<dir>/ci/m.json`, two named groups of two cases each, reading `../shared/cfg.json` (a
 * small Kimi-like config): only `--config-root <dir>` lets the matrix read it.
 */
async function outsideConfigMatrix(dir: string): Promise<string> {
  await Deno.mkdir(`${dir}/ci`, { recursive: true });
  await Deno.mkdir(`${dir}/shared`);
  await Deno.copyFile(
    new URL("./fixtures/hf_kimi_like_tiny_config.json", import.meta.url),
    `${dir}/shared/cfg.json`,
  );
  const axes = { preset: "../shared/cfg.json", b: 1, sk: 8 };
  await Deno.writeTextFile(
    `${dir}/ci/m.json`,
    JSON.stringify({
      name: "m",
      seed: 3,
      groups: [
        { name: "decode", axes: { ...axes, sq: 1, dtype: ["f32", "f16"] } },
        { name: "prefill", axes: { ...axes, sq: 4, dtype: ["f32", "f16"] } },
      ],
    }),
  );
  return `${dir}/ci/m.json`;
}

Deno.test({
  name: "--config-root: recorded in the report, named by its resume and explain commands, " +
    "and the cases not run keep their groups when report.html is written again",
  ignore: !gpu,
  fn: async () => {
    const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "mla-config-root-" }));
    const ctx = await GpuContext.create();
    try {
      const matrix = await outsideConfigMatrix(dir);
      const out = `${dir}/out`;
      const report = await stoppedRun({
        matrix,
        out,
        ctx,
        configRoot: dir,
        progress: SILENT_PROGRESS,
        writeReports: writeRunReports,
      });
      assert.equal(report.configRoot, dir);
      const state = (await readRunState(`${out}/run.json`)) as RunState;
      assert.equal(state.report.configRoot, dir, "run.json records --config-root");
      const json = JSON.parse(await Deno.readTextFile(`${out}/report.json`)) as RunReport;
      assert.equal(json.configRoot, dir, "report.json records --config-root");
      assert.equal(runReportProblem(json), null);

      // the resume command names the root (without it, the resume is refused: see below)
      const resume = `deno task harness run --matrix ${matrix} --config-root ${dir} --out ${out} ` +
        "--resume";
      assert.equal(runCommandFor(report, out, true), resume);
      const md = await Deno.readTextFile(`${out}/summary.md`);
      assert.ok(md.includes(resume), md);

      // every case not run is counted in its own group, on both pages
      const groups = await notRunGroups(report);
      assert.equal(groups.size, 3);
      assert.deepEqual([...new Set(groups.values())].sort(), ["decode", "prefill"]);
      const html = await Deno.readTextFile(`${out}/report.html`);
      for (const page of [html, md]) assert.ok(!page.includes(NOT_RUN_GROUP), "no group unknown");
      assert.ok(html.includes(resume), "report.html gives the resume command");

      // report.html written again with the drift verdict, as drift/after_run.ts does: the
      // groups and the command are found from the report alone
      await writeRunHtml(`${out}/report.html`, report, {
        drift: { title: "Drift", summary: "no regressions", regressions: 0, page: "compare.html" },
      });
      const again = await Deno.readTextFile(`${out}/report.html`);
      assert.ok(!again.includes(NOT_RUN_GROUP), "no group unknown after the rewrite");
      assert.ok(again.includes("<b>prefill</b>: 2 cases: 0 passed, 2 not run;"));
      assert.ok(again.includes(resume));

      // a merge of the folder keeps the root, so its finish command names it too
      const merged = await mergeRuns([out]);
      assert.equal(merged.report.configRoot, dir);

      // the explain command a failure card gives finds the case where the run did
      const id = report.results[0].id;
      const explain = explainCommandFor(id, report);
      assert.equal(
        explain,
        `deno task harness explain --case '${id}' --matrix ${matrix} --config-root ${dir}`,
      );
      const ok = await runCli(["explain", "--case", id, "--matrix", matrix, "--config-root", dir]);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.ok(ok.stdout.includes(`case ${id}\n  of matrix ${matrix}, group "decode"`), ok.stdout);
      const without = await runCli(["explain", "--case", id, "--matrix", matrix]);
      assert.equal(without.code, 2, without.stdout + without.stderr);
      assert.match(without.stderr, /config path outside its folder/);

      // the CLI without --config-root cannot resume it: the command must carry it
      const refused = await runCli(["run", "--matrix", matrix, "--out", out, "--resume"]);
      assert.equal(refused.code, 2, refused.stdout + refused.stderr);
      assert.match(refused.stderr, /config path outside its folder/);
    } finally {
      ctx.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// `merge` run from another folder than the shards read a shard's relative --matrix and
// --config-root from its own folder (report.json kept them as typed): the cases not run lost
// their groups and the finish command named files that are not there. The report now records
// both as absolute paths, and what reads the matrix again from it uses them.
Deno.test({
  name: "a relative --matrix and --config-root are recorded absolute, and a merge from " +
    "another folder reads them there",
  ignore: !gpu,
  fn: async () => {
    const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "mla-config-root-rel-" }));
    const ctx = await GpuContext.create();
    const cwd = Deno.cwd();
    try {
      await outsideConfigMatrix(dir);
      Deno.chdir(dir);
      const report = await stoppedRun({
        matrix: "ci/m.json",
        out: "out",
        ctx,
        configRoot: ".",
        progress: SILENT_PROGRESS,
        writeReports: writeRunReports,
      });
      assert.equal(report.matrix, "ci/m.json", "as typed");
      assert.equal(report.matrixPath, `${dir}/ci/m.json`);
      assert.equal(report.configRootPath, dir);
      const json = JSON.parse(await Deno.readTextFile(`${dir}/out/report.json`)) as RunReport;
      assert.equal(json.matrixPath, `${dir}/ci/m.json`, "report.json records it");
      assert.equal(runReportProblem(json), null);
      // the merge, from another folder
      Deno.chdir(`${dir}/shared`);
      const merged = await mergeRuns([`${dir}/out`]);
      assert.equal(merged.report.matrixPath, `${dir}/ci/m.json`);
      assert.equal(merged.report.configRootPath, dir);
      assert.equal((await notRunGroups(merged.report)).size, 3);
      assert.equal(
        runCommandFor(merged.report, `${dir}/out`, true),
        `deno task harness run --matrix ${dir}/ci/m.json --config-root ${dir} --out ${dir}/out ` +
          "--resume",
      );
      // a report from before the fields: read as typed, from the current folder
      const { matrixPath: _m, configRootPath: _c, ...older } = merged.report;
      assert.equal((await notRunGroups(older)).size, 0);
    } finally {
      Deno.chdir(cwd);
      ctx.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("--config-root that is not a folder is exit 2 before anything runs, even for a matrix without config paths", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-config-root-bad-" });
  try {
    await Deno.writeTextFile(`${dir}/file`, "x");
    for (
      const [root, why] of [[`${dir}/nope`, "names no folder"], [
        `${dir}/file`,
        "is a file, not a folder",
      ]]
    ) {
      for (
        const args of [
          ["run", "--matrix", "smoke", "--filter", "preset=tiny", "--out", `${dir}/out`],
          ["explain", "--case", "x", "--matrix", "smoke"],
        ]
      ) {
        const r = await runCli([...args, "--config-root", root]);
        assert.equal(r.code, 2, `${args[0]} ${root}: ${r.stderr}`);
        assert.ok(r.stderr.includes(`--config-root: ${JSON.stringify(root)} ${why}`), r.stderr);
      }
    }
    assert.ok(!(await Deno.stat(`${dir}/out`).then(() => true, () => false)), "no run folder");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--config-root: explain refuses it without --case; a report's empty root is invalid", async () => {
  const r = await runCli(["explain", "tiny", "--config-root", "/tmp", "--no-device"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /--config-root \/tmp is read with --case <id> only/);
  assert.equal(
    explainCommandFor("preset=tiny;b=2", { matrix: "smoke", backend: "wgsl-absorbed" }),
    "deno task harness explain --case 'preset=tiny;b=2' --matrix smoke --backend wgsl-absorbed",
  );
  const problem = runReportProblem({ ...report([]), configRoot: "" });
  assert.equal(problem, 'field "configRoot" must be a folder (run --config-root) or absent');
});
