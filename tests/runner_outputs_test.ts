// Who writes what in a run folder: the runner keeps results.jsonl and run.json (what resume
// needs) and returns the report; report.json, junit.xml, summary.md and the
// $GITHUB_STEP_SUMMARY append come only from the writer its caller passes (the CLI passes
// report/ writeRunReports). Cases are stubbed (no kernel runs): only the file traffic is tested.
import assert from "node:assert/strict";
import { GpuContext, hasAdapter } from "../gpu/device.ts";
import { writeRunReports } from "../report/run_reports.ts";
import { readRunState } from "../report/run_state.ts";
import { runMatrix } from "../runner/run_matrix.ts";
import { SILENT_PROGRESS } from "../report/progress.ts";
import { PASS_STUB } from "./stub_runner.ts";

const gpu = await hasAdapter();

async function tinyMatrix(dir: string): Promise<string> {
  const path = `${dir}/m.json`;
  await Deno.writeTextFile(
    path,
    JSON.stringify({ name: "m", seed: 1, groups: [{ axes: { preset: "tiny", sq: [1, 2] } }] }),
  );
  return path;
}

async function files(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile) names.push(e.name);
  return names.sort();
}

/**
 * Runs `fn` with $GITHUB_STEP_SUMMARY pointing at a fresh file; returns that file's text.
 * The file may hold other runs' summaries too: `deno test --parallel` runs modules side by
 * side in this process, whose environment they share (tests/runner_faults_test.ts's runs,
 * CLI runs spawned meanwhile), so a test looks for its own run's summary, by its matrix.
 */
async function withStepSummary(dir: string, fn: () => Promise<void>): Promise<string> {
  const path = `${dir}/step_summary.md`;
  await Deno.writeTextFile(path, "");
  const before = Deno.env.get("GITHUB_STEP_SUMMARY");
  Deno.env.set("GITHUB_STEP_SUMMARY", path);
  try {
    await fn();
  } finally {
    if (before === undefined) Deno.env.delete("GITHUB_STEP_SUMMARY");
    else Deno.env.set("GITHUB_STEP_SUMMARY", before);
  }
  return await Deno.readTextFile(path);
}

Deno.test({
  name: "runner: without a report writer a run leaves results.jsonl and run.json only",
  ignore: !gpu,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const ctx = await GpuContext.create();
    try {
      const out = `${dir}/out`;
      const matrix = await tinyMatrix(dir);
      const step = await withStepSummary(dir, async () => {
        const report = await runMatrix({
          matrix,
          out,
          ctx,
          progress: SILENT_PROGRESS,
          testOnlyCaseRunner: PASS_STUB,
        });
        assert.equal(report.results.length, 2);
        assert.equal(report.totals.pass, 2);
      });
      assert.deepEqual(await files(out), ["results.jsonl", "run.json"]);
      assert.equal((await readRunState(`${out}/run.json`))?.state, "finished");
      assert.ok(
        !step.includes(`mla-harness: \`${matrix}\``),
        `the runner appends nothing to $GITHUB_STEP_SUMMARY:\n${step}`,
      );
    } finally {
      ctx.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "runner: writeRunReports writes the reports and appends the step summary",
  ignore: !gpu,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const ctx = await GpuContext.create();
    try {
      const out = `${dir}/out`;
      const matrix = await tinyMatrix(dir);
      const step = await withStepSummary(dir, async () => {
        await runMatrix({
          matrix,
          out,
          ctx,
          progress: SILENT_PROGRESS,
          testOnlyCaseRunner: PASS_STUB,
          writeReports: writeRunReports,
        });
      });
      const written = await files(out);
      for (const f of ["report.json", "junit.xml", "summary.md", "results.jsonl", "run.json"]) {
        assert.ok(written.includes(f), `${f} in ${written.join(", ")}`);
      }
      const summary = await Deno.readTextFile(`${out}/summary.md`);
      assert.ok(summary.startsWith(`## mla-harness: \`${matrix}\`\n`), summary);
      assert.ok(step.includes(summary.trimEnd()), `this run's summary.md in:\n${step}`);
      const report = JSON.parse(await Deno.readTextFile(`${out}/report.json`));
      assert.equal(report.results.length, 2);
    } finally {
      ctx.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "runner: a run killed as it replaces a finished run never leaves run.json 'finished' over changed results",
  ignore: !gpu,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const ctx = await GpuContext.create();
    try {
      const out = `${dir}/out`;
      const matrix = await tinyMatrix(dir);
      const base = { matrix, out, ctx, progress: SILENT_PROGRESS };
      // a finished run whose second case a device loss ended (a resume runs it again)
      await runMatrix({
        ...base,
        testOnlyCaseRunner: async (c, o) => {
          const r = await PASS_STUB(c, o);
          return c.id.includes("sq=2") ? { ...r, status: "error", deviceLoss: true } : r;
        },
      });
      assert.equal((await readRunState(`${out}/run.json`))?.state, "finished");
      const lines = async () =>
        (await Deno.readTextFile(`${out}/results.jsonl`)).split("\n").filter((l) => l).length;
      assert.equal(await lines(), 2);
      // the moment before results.jsonl changes: what a SIGKILL there would leave
      const seen: { state: string | null; results: number }[] = [];
      const atKill = async () => {
        seen.push({
          state: (await readRunState(`${out}/run.json`))?.state ?? null,
          results: await lines(),
        });
      };
      // a resume drops the lost case's line: run.json says "running" first
      await runMatrix({
        ...base,
        resume: true,
        testOnlyCaseRunner: PASS_STUB,
        testOnlyBeforeResults: atKill,
      });
      // a run replacing the finished one empties results.jsonl: its run.json goes first
      await runMatrix({ ...base, testOnlyCaseRunner: PASS_STUB, testOnlyBeforeResults: atKill });
      assert.deepEqual(seen, [{ state: "running", results: 2 }, { state: null, results: 2 }]);
      assert.equal((await readRunState(`${out}/run.json`))?.state, "finished");
      assert.equal(await lines(), 2);
    } finally {
      ctx.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
