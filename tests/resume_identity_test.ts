// What a resume must match besides the matrix, filter, shard and planted fault: the backend
// every case ran on (`run --backend`; absent: the adapter's choice) and the contents of the
// config files the selection reads (case ids name a config by its path). A run stopped after
// its first case, then resumed with another --backend or after its config file was edited, is
// refused (exit 2 from the CLI, naming the option or the file) with nothing run or written; a
// folder from before config digests were recorded is resumed with a note. Cases are stubbed
// (no kernel runs): only the folder's bookkeeping is tested.
import assert from "node:assert/strict";
import { GpuContext, hasAdapter } from "../gpu/device.ts";
import { ReportFileError } from "../report/errors.ts";
import { SILENT_PROGRESS } from "../report/progress.ts";
import { writeRunReports } from "../report/run_reports.ts";
import { readRunState, type RunState, writeRunState } from "../report/run_state.ts";
import type { RunReport } from "../results/types.ts";
import { type CaseRunner, runMatrix } from "../runner/run_matrix.ts";
import { runCli } from "./helpers_cli.ts";
import { writeConfigMatrix } from "./matrix_file_helpers.ts";
import { PASS_STUB, stoppedRun } from "./stub_runner.ts";

const gpu = await hasAdapter();

/** A runner that counts the cases it runs. */
function counting(): { runner: CaseRunner; ran: () => number } {
  let n = 0;
  return {
    runner: (c, o) => {
      n++;
      return PASS_STUB(c, o);
    },
    ran: () => n,
  };
}

/**
 * Runs `fn` with a two-case matrix whose cases read `cfg.json` (a copy of a published
 * config) from the matrix's folder, an output folder path, and a device.
 */
async function inConfigFolder(
  fn: (t: { dir: string; matrix: string; out: string; ctx: GpuContext }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mla-resume-identity-" });
  const ctx = await GpuContext.create();
  try {
    const matrix = await writeConfigMatrix(dir, [1, 2]);
    await fn({ dir, matrix, out: `${dir}/out`, ctx });
  } finally {
    ctx.destroy();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "resume: another --backend (or none) is refused naming both; the same one resumes",
  ignore: !gpu,
  fn: async () => {
    await inConfigFolder(async ({ matrix, out, ctx }) => {
      const common = { matrix, out, ctx, progress: SILENT_PROGRESS, writeReports: writeRunReports };
      const first = await stoppedRun({ ...common, backend: "wgsl-absorbed" });
      assert.equal(first.backend, "wgsl-absorbed");
      const state = (await readRunState(`${out}/run.json`)) as RunState;
      assert.equal(state.report.backend, "wgsl-absorbed", "run.json records --backend");
      const lines = await Deno.readTextFile(`${out}/results.jsonl`);

      // The CLI without --backend: exit 2 naming the --backend of each side, nothing written.
      const cli = await runCli(["run", "--matrix", matrix, "--out", out, "--resume"]);
      assert.equal(cli.code, 2, cli.stdout + cli.stderr);
      assert.match(
        cli.stderr,
        /they differ in --backend: --backend wgsl-absorbed there, no --backend \(the adapter's choice per case\) here/,
      );
      assert.equal(await Deno.readTextFile(`${out}/results.jsonl`), lines, "nothing written");

      const { runner, ran } = counting();
      for (const backend of [undefined, "wgsl-absorbed-gemm"]) {
        await assert.rejects(
          runMatrix({ ...common, resume: true, backend, testOnlyCaseRunner: runner }),
          (e: unknown) =>
            e instanceof ReportFileError &&
            /holds a run of matrix .*, --backend wgsl-absorbed, but this run is of matrix/
              .test(e.message) &&
            /--resume continues only the same matrix, filter, shard, planted fault and --backend/
              .test(e.message),
        );
      }
      assert.equal(ran(), 0);

      // The run's own --backend: resumed, recorded in the finished report.
      const resumed = await runMatrix({
        ...common,
        resume: true,
        backend: "wgsl-absorbed",
        testOnlyCaseRunner: runner,
      });
      assert.equal(ran(), 1);
      assert.equal(resumed.interrupted, false);
      assert.equal(resumed.backend, "wgsl-absorbed");
      const report = JSON.parse(await Deno.readTextFile(`${out}/report.json`));
      assert.equal(report.backend, "wgsl-absorbed");

      // A folder without the field (a harness from before it) reads as the adapter's choice.
      await stoppedRun({ ...common, force: true });
      const plain = (await readRunState(`${out}/run.json`)) as RunState;
      assert.equal(plain.report.backend, undefined);
      const again = await runMatrix({ ...common, resume: true, testOnlyCaseRunner: runner });
      assert.equal(again.results.length, 2);
      assert.equal(again.backend, undefined);
    });
  },
});

Deno.test({
  name: "resume: a config file edited since the run started is refused naming it; " +
    "a folder without config digests is resumed with a note",
  ignore: !gpu,
  fn: async () => {
    await inConfigFolder(async ({ dir, matrix, out, ctx }) => {
      const common = { matrix, out, ctx, progress: SILENT_PROGRESS, writeReports: writeRunReports };
      const first = await stoppedRun(common);
      const digests = first.configDigests ?? {};
      assert.deepEqual(Object.keys(digests), ["cfg.json"]);
      assert.match(digests["cfg.json"], /^[0-9a-f]{16}$/);
      const state = (await readRunState(`${out}/run.json`)) as RunState;
      assert.deepEqual(state.report.configDigests, digests, "run.json records the digests");
      const lines = await Deno.readTextFile(`${out}/results.jsonl`);

      // Another model under the same case ids: rope_theta edited.
      const text = await Deno.readTextFile(`${dir}/cfg.json`);
      assert.match(text, /"rope_theta": 10000,/);
      await Deno.writeTextFile(
        `${dir}/cfg.json`,
        text.replace('"rope_theta": 10000,', '"rope_theta": 50000,'),
      );
      const cli = await runCli(["run", "--matrix", matrix, "--out", out, "--resume"]);
      assert.equal(cli.code, 2, cli.stdout + cli.stderr);
      assert.match(
        cli.stderr,
        new RegExp(
          `holds a run whose config file \\S*/cfg\\.json \\(sha-256 ${
            digests["cfg.json"]
          } → [0-9a-f]{16}\\) changed since it started;.*restore the file as the run read it, ` +
            "or --force",
        ),
      );
      assert.equal(await Deno.readTextFile(`${out}/results.jsonl`), lines, "nothing written");
      const { runner, ran } = counting();
      await assert.rejects(
        runMatrix({ ...common, resume: true, testOnlyCaseRunner: runner }),
        (e: unknown) => e instanceof ReportFileError && /config file .*cfg\.json/.test(e.message),
      );
      assert.equal(ran(), 0);

      // The file as the run read it: resumed.
      await Deno.writeTextFile(`${dir}/cfg.json`, text);
      const resumed = await runMatrix({ ...common, resume: true, testOnlyCaseRunner: runner });
      assert.equal(resumed.results.length, 2);
      assert.deepEqual(resumed.configDigests, digests);

      // A folder from before the digests were recorded: resumed, with a note on stderr, and
      // its report leaves them unknown (absent) rather than vouch for the kept results.
      await stoppedRun({ ...common, force: true });
      const old = (await readRunState(`${out}/run.json`)) as RunState;
      const { configDigests: _, ...header } = old.report;
      await writeRunState(`${out}/run.json`, { ...old, report: header });
      const notes: string[] = [];
      const error = console.error;
      console.error = (...a: unknown[]) => notes.push(a.join(" "));
      let unknown: RunReport;
      try {
        unknown = await runMatrix({ ...common, resume: true, testOnlyCaseRunner: runner });
      } finally {
        console.error = error;
      }
      assert.equal(unknown.results.length, 2);
      assert.equal(unknown.configDigests, undefined);
      assert.ok(
        notes.some((n) =>
          /did not record its config files' digests.*cfg\.json could not be checked/.test(n)
        ),
        notes.join("\n"),
      );
    });
  },
});

Deno.test({
  name: "resume: a config file only cases not run yet read, edited since the stop, is resumed " +
    "with a note (the finished cases' files unchanged); the report records it as it is now",
  ignore: !gpu,
  fn: async () => {
    await inConfigFolder(async ({ dir, out, ctx }) => {
      // two config files, one case each
      await Deno.copyFile(`${dir}/cfg.json`, `${dir}/cfg2.json`);
      const matrix = `${dir}/two.json`;
      await Deno.writeTextFile(
        matrix,
        JSON.stringify({
          name: "two",
          seed: 1,
          groups: [{ axes: { preset: ["cfg.json", "cfg2.json"], sq: 1 } }],
        }),
      );
      const common = { matrix, out, ctx, progress: SILENT_PROGRESS, writeReports: writeRunReports };
      const first = await stoppedRun(common);
      const done = first.results[0].params.preset;
      const other = done === "cfg.json" ? "cfg2.json" : "cfg.json";
      const text = await Deno.readTextFile(`${dir}/${other}`);
      await Deno.writeTextFile(
        `${dir}/${other}`,
        text.replace('"rope_theta": 10000,', '"rope_theta": 50000,'),
      );
      const notes: string[] = [];
      const error = console.error;
      console.error = (...a: unknown[]) => notes.push(a.join(" "));
      const { runner, ran } = counting();
      let resumed: RunReport;
      try {
        resumed = await runMatrix({ ...common, resume: true, testOnlyCaseRunner: runner });
      } finally {
        console.error = error;
      }
      assert.equal(ran(), 1, "only the case not run");
      assert.equal(resumed.results.length, 2);
      assert.equal(resumed.configDigests?.[done], first.configDigests?.[done]);
      assert.notEqual(resumed.configDigests?.[other], first.configDigests?.[other]);
      assert.ok(
        notes.some((n) =>
          n.includes(`${other} changed since the run in ${out} started; no finished case reads it`)
        ),
        notes.join("\n"),
      );
    });
  },
});
