// What a resume may join: the results it keeps and the ones it adds share one report, so a
// resume in another environment (device, runtime, kernels, plan caps) or with another
// planted fault is refused, naming what differs, and so are results no run.json or report.json
// describes (a harness from before run.json) or timed under other timing rules; a resume keeps the run's start time (one
// run for merge and history), and the earlier stop's reports and compare files are gone
// while it runs (a resume killed halfway leaves none that describe the earlier stop).
// One run at a time in a folder: a run holding run.lock refuses a second run; the file a
// killed run left (its lock gone with its process) is taken over. Cases are stubbed (no kernel runs): only the folder's bookkeeping is tested.
import assert from "node:assert/strict";
import { TIMING_RULES } from "../adapter/timing_scope.ts";
import { GpuContext, hasAdapter } from "../gpu/device.ts";
import { ReportFileError } from "../report/errors.ts";
import { writeRunReports } from "../report/run_reports.ts";
import {
  jsonFileProblem,
  readRunState,
  type RunState,
  writeRunState,
} from "../report/run_state.ts";
import { readReportJson } from "../report/json.ts";
import { jsonSyntaxProblem } from "../adapter/json_scan.ts";
import { type CaseRunner, runMatrix, type RunMatrixOptions } from "../runner/run_matrix.ts";
import { SILENT_PROGRESS } from "../report/progress.ts";
import { fingerprintChangeText } from "../runner/fingerprint.ts";
import { mergeRuns, writeRunOutputs } from "../report/merge.ts";
import { PASS_STUB, stoppedRun } from "./stub_runner.ts";

const gpu = await hasAdapter();

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** Runs `fn` with a two-case tiny matrix file, an output folder path in a temporary folder, and a device. */
async function inTinyFolder(
  fn: (t: { matrix: string; out: string; ctx: GpuContext }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mla-resume-guard-" });
  const ctx = await GpuContext.create();
  try {
    const matrix = `${dir}/m.json`;
    await Deno.writeTextFile(
      matrix,
      JSON.stringify({ name: "m", seed: 1, groups: [{ axes: { preset: "tiny", sq: [1, 2] } }] }),
    );
    await fn({ matrix, out: `${dir}/out`, ctx });
  } finally {
    ctx.destroy();
    await Deno.remove(dir, { recursive: true });
  }
}

/** A resume refused with a ReportFileError matching `pattern`, before any case ran. */
async function assertResumeRefused(
  options: RunMatrixOptions,
  runner: CaseRunner,
  pattern: RegExp,
): Promise<void> {
  let ran = 0;
  await assert.rejects(
    runMatrix({
      ...options,
      resume: true,
      testOnlyCaseRunner: (c, o) => {
        ran++;
        return runner(c, o);
      },
    }),
    (e: unknown) => e instanceof ReportFileError && pattern.test(e.message),
  );
  assert.equal(ran, 0, "nothing ran");
}

Deno.test({
  name:
    "resume: another environment or planted fault is refused; the start is kept; stale reports go",
  ignore: !gpu,
  fn: async () => {
    await inTinyFolder(async ({ matrix, out, ctx }) => {
      const common = { matrix, out, ctx, progress: SILENT_PROGRESS, writeReports: writeRunReports };
      // Night 1, stopped after its first case (SIGINT's path).
      const first = await stoppedRun(common);
      await Deno.writeTextFile(`${out}/compare.md`, "drift of the stopped run\n");
      const state = (await readRunState(`${out}/run.json`)) as RunState;

      // Another device's results in the folder: refused, nothing run, nothing removed.
      const adapter = state.report.fingerprint.adapter as { adapter: Record<string, unknown> };
      await writeRunState(`${out}/run.json`, {
        ...state,
        report: {
          ...state.report,
          fingerprint: {
            ...state.report.fingerprint,
            adapter: { ...adapter, adapter: { ...adapter.adapter, description: "NVIDIA H100" } },
          },
        },
      });
      let ran = 0;
      const counting: CaseRunner = (c, o) => {
        ran++;
        return PASS_STUB(c, o);
      };
      await assert.rejects(
        runMatrix({ ...common, resume: true, testOnlyCaseRunner: counting }),
        (e: unknown) =>
          e instanceof ReportFileError &&
          /holds 1 result of a run in another environment than this one \(the adapter's description changed from NVIDIA H100 to /
            .test(e.message) &&
          /--force to start over/.test(e.message),
      );
      // Another checkout (where git gave this run a revision): said in words, with the
      // commit to go back to (it was "harnessRevision X → Y ...: resume where the run started")
      if (state.report.fingerprint.harnessRevision !== null) {
        const rev = "0123456789abcdef0123456789abcdef01234567";
        await writeRunState(`${out}/run.json`, {
          ...state,
          report: {
            ...state.report,
            fingerprint: { ...state.report.fingerprint, harnessRevision: `${rev}-dirty` },
          },
        });
        await assert.rejects(
          runMatrix({ ...common, resume: true, testOnlyCaseRunner: counting }),
          (e: unknown) =>
            e instanceof ReportFileError &&
            e.message.includes(
              `(the harness's revision (git commit) changed from ${rev}-dirty to `,
            ) &&
            e.message.includes(
              `: resume in a checkout of the commit the run started at (git checkout ${rev}, ` +
                "with the same uncommitted changes), or --force to start over",
            ),
        );
      }
      // Another planted fault: refused as another run.
      await writeRunState(`${out}/run.json`, {
        ...state,
        report: { ...state.report, plantedFault: "lse-offset" },
      });
      await assert.rejects(
        runMatrix({
          ...common,
          resume: true,
          staleFiles: ["compare.md"],
          testOnlyCaseRunner: counting,
        }),
        (e: unknown) =>
          e instanceof ReportFileError &&
          /holds a run of matrix .*, planted fault lse-offset, but this run is of matrix .*no filter;/
            .test(e.message) &&
          // the command that resumes it, with its own options (it said only "give the run's
          // own options")
          e.message.includes(`(deno task harness run --matrix ${common.matrix}`) &&
          / --plant-fault lse-offset .*--out .* --resume\)/.test(e.message),
      );
      assert.equal(ran, 0);
      assert.ok(await exists(`${out}/report.json`));
      assert.ok(await exists(`${out}/compare.md`));

      // The run's own environment: resumed, its start kept, the earlier reports gone while
      // it runs.
      await writeRunState(`${out}/run.json`, state);
      const seen: boolean[] = [];
      const resumed = await runMatrix({
        ...common,
        resume: true,
        staleFiles: ["compare.md"],
        testOnlyCaseRunner: async (c, o) => {
          for (const f of ["report.json", "junit.xml", "summary.md", "compare.md"]) {
            seen.push(await exists(`${out}/${f}`));
          }
          return PASS_STUB(c, o);
        },
      });
      assert.deepEqual(seen, [false, false, false, false]);
      assert.equal(resumed.interrupted, false);
      assert.equal(resumed.results.length, 2);
      assert.equal(resumed.startedAt, first.startedAt);
      assert.equal(resumed.plantedFault, undefined);
    });
  },
});

Deno.test({
  name:
    "run.lock: a folder another run holds is refused, untouched; a killed run's lock file is taken over and removed",
  ignore: !gpu,
  fn: async () => {
    await inTinyFolder(async ({ matrix, out, ctx }) => {
      await Deno.mkdir(out);
      const common = { matrix, out, ctx, progress: SILENT_PROGRESS, testOnlyCaseRunner: PASS_STUB };
      // Another run holds the folder: this test takes run.lock as a run does (an exclusive
      // advisory lock on the file, the holder's process id in it).
      const held = await Deno.open(`${out}/run.lock`, { read: true, write: true, create: true });
      assert.equal(await held.tryLock(true), true);
      const body = JSON.stringify({ pid: 4242, since: "2026-12-05T02:00:00.000Z" });
      await held.write(new TextEncoder().encode(body));
      await assert.rejects(
        runMatrix(common),
        (e: unknown) =>
          e instanceof ReportFileError &&
          /is being written by another run \(process 4242, since 2026-12-05T02:00:00\.000Z; run\.lock\)/
            .test(e.message),
      );
      assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name), ["run.lock"]);
      assert.equal(await Deno.readTextFile(`${out}/run.lock`), body, "the other run's lock kept");
      // That run is killed: its process ends, the lock with it; the file stays behind.
      await held.unlock();
      held.close();
      const report = await runMatrix(common);
      assert.equal(report.results.length, 2);
      assert.equal(await exists(`${out}/run.lock`), false);
    });
  },
});

// A run killed as it wrote a result: the refusal of a new run there counted the fragment as
// a result ("with 2 results" of 1 and a half-written line).
Deno.test({
  name: "a half-finished run's half-written last line is said apart from its results, not counted",
  ignore: !gpu,
  fn: async () => {
    await inTinyFolder(async ({ matrix, out, ctx }) => {
      const common = { matrix, out, ctx, progress: SILENT_PROGRESS, testOnlyCaseRunner: PASS_STUB };
      await stoppedRun(common);
      await Deno.writeTextFile(`${out}/results.jsonl`, '{"id":"preset=tiny;pa', { append: true });
      await assert.rejects(
        runMatrix(common),
        (e: unknown) =>
          e instanceof ReportFileError &&
          e.message.includes(
            "with 1 result in results.jsonl and a half-written last line (the run was killed as " +
              "it wrote it); --resume finishes it",
          ),
      );
    });
  },
});

// `run --resume --out <a merge's output>` was taken as a run's resume: the merged report was
// rewritten as one run of this machine, its `missing` (and environmentDiffers) dropped
Deno.test({
  name: "resume: a merge's output folder is refused, naming it a merge's",
  ignore: !gpu,
  fn: async () => {
    await inTinyFolder(async ({ matrix, out, ctx }) => {
      const common = { matrix, out, ctx, progress: SILENT_PROGRESS, writeReports: writeRunReports };
      // one shard of two, so the merge has missing cases
      await runMatrix({ ...common, shard: { index: 1, count: 2 }, testOnlyCaseRunner: PASS_STUB });
      const merged = `${out}-merged`;
      const m = await mergeRuns([out]);
      assert.equal(m.missing.length, 1);
      await writeRunOutputs(merged, m.report);
      const before = await Deno.readTextFile(`${merged}/report.json`);
      await assertResumeRefused(
        { ...common, out: merged }, // the merge's own selection: the whole matrix
        PASS_STUB,
        /holds the output of `merge` \(its report\.json has the merge's list of missing cases: 1 case\), not a run: --resume continues a run; to finish the merge, resume its shards' folders.*\(a run without --resume replaces the merged reports\)/,
      );
      assert.equal(await Deno.readTextFile(`${merged}/report.json`), before, "left as it was");
      // a complete merge: it "listed the merge's missing cases" and wanted finishing
      const other = `${out}-2`;
      await runMatrix({
        ...common,
        out: other,
        shard: { index: 2, count: 2 },
        testOnlyCaseRunner: PASS_STUB,
      });
      const whole = await mergeRuns([out, other]);
      assert.equal(whole.missing.length, 0);
      const complete = `${out}-whole`;
      await writeRunOutputs(complete, whole.report);
      await assertResumeRefused(
        { ...common, out: complete },
        PASS_STUB,
        /holds the output of `merge` \(its report\.json has the merge's list of missing cases: none, the merge is complete\), not a run: --resume continues a run; nothing is left to run; pick another --out/,
      );
    });
  },
});

// `run --out <an upgrade-check's --out>` removed the check's compare.md and compare.json and
// wrote its reports beside the sides' runs; refused now, with --resume or --force too
Deno.test({
  name: "run: an upgrade-check's output folder is refused, its comparison left",
  ignore: !gpu,
  fn: async () => {
    await inTinyFolder(async ({ matrix, out, ctx }) => {
      const common = { matrix, ctx, progress: SILENT_PROGRESS, writeReports: writeRunReports };
      await runMatrix({ ...common, out: `${out}/from`, testOnlyCaseRunner: PASS_STUB });
      await Deno.writeTextFile(`${out}/compare.md`, "# the comparison\n");
      for (const extra of [{}, { force: true }, { resume: true }]) {
        let ran = 0;
        await assert.rejects(
          runMatrix({
            ...common,
            ...extra,
            out,
            testOnlyCaseRunner: (c, o) => {
              ran++;
              return PASS_STUB(c, o);
            },
          }),
          (e: unknown) =>
            e instanceof ReportFileError &&
            e.message.includes(`holds an upgrade-check's output (its sides' runs: ${out}/from)`),
        );
        assert.equal(ran, 0, "nothing ran");
      }
      assert.equal(await Deno.readTextFile(`${out}/compare.md`), "# the comparison\n");
      assert.equal(await exists(`${out}/report.json`), false);
    });
  },
});

// A resume with nothing to keep ran every case again without a word: an --out mistyped in
// the resume command reran a whole nightly as if resumed.
Deno.test({
  name: "resume: a folder with no run, or a run that finished no case, says every case runs",
  ignore: !gpu,
  fn: async () => {
    await inTinyFolder(async ({ matrix, out, ctx }) => {
      const common = { matrix, out, ctx, progress: SILENT_PROGRESS, testOnlyCaseRunner: PASS_STUB };
      const notesOf = async (options: RunMatrixOptions): Promise<string[]> => {
        const notes: string[] = [];
        const error = console.error;
        console.error = (...a: unknown[]) => notes.push(a.join(" "));
        try {
          await runMatrix(options);
        } finally {
          console.error = error;
        }
        return notes.filter((n) => n.startsWith("resume:"));
      };
      assert.deepEqual(await notesOf({ ...common, resume: true }), [
        `resume: ${out} holds no run to resume: every case runs, as a new run`,
      ]);
      // a run stopped before its first case, then resumed
      const stop = new AbortController();
      stop.abort();
      assert.deepEqual(await notesOf({ ...common, force: true, signal: stop.signal }), []);
      assert.deepEqual(await notesOf({ ...common, resume: true }), [
        `resume: the run in ${out} had finished no case: every case runs`,
      ]);
      // one with a result to keep: no such note
      await stoppedRun({ ...common, force: true });
      assert.deepEqual(await notesOf({ ...common, resume: true }), []);
    });
  },
});

Deno.test({
  name: "resume: results of another matrix seed are refused (other inputs), naming both seeds",
  ignore: !gpu,
  fn: async () => {
    await inTinyFolder(async ({ matrix, out, ctx }) => {
      const common = { matrix, out, ctx, progress: SILENT_PROGRESS, writeReports: writeRunReports };
      // the case runner records the matrix seed, as runCase does
      const seeded: CaseRunner = async (c, o) => ({ ...(await PASS_STUB(c, o)), seed: c.seed });
      const stop = new AbortController();
      await runMatrix({
        ...common,
        signal: stop.signal,
        testOnlyCaseRunner: (c, o) => {
          stop.abort();
          return seeded(c, o);
        },
      });
      // the matrix file's seed edited between the stop and the resume
      const m = JSON.parse(await Deno.readTextFile(matrix));
      await Deno.writeTextFile(matrix, JSON.stringify({ ...m, seed: 2 }));
      await assertResumeRefused(
        common,
        seeded,
        /ran with the matrix seed 1, but the matrix now says 2: .*--force starts over/,
      );
      // the seed put back: resumed
      await Deno.writeTextFile(matrix, JSON.stringify(m));
      const resumed = await runMatrix({ ...common, resume: true, testOnlyCaseRunner: seeded });
      assert.equal(resumed.results.length, 2);
    });
  },
});

Deno.test({
  name: "resume: a matrix edited in a finished case since the stop is refused naming it; one " +
    "that only gained cases keeps the finished ones and runs the rest",
  ignore: !gpu,
  fn: async () => {
    await inTinyFolder(async ({ matrix, out, ctx }) => {
      const common = { matrix, out, ctx, progress: SILENT_PROGRESS, writeReports: writeRunReports };
      // the cases name a device profile, so that its contents can be edited under one id
      const m0 = JSON.parse(await Deno.readTextFile(matrix));
      const m = {
        ...m0,
        devices: { p: { loopIterationBudget: 1_000_000_000 } },
        groups: [{ axes: { ...m0.groups[0].axes, device: "p" } }],
      };
      const edits = [
        // the group's expectation
        { ...m, groups: [{ ...m.groups[0], expect: { support: "unsupported" } }] },
        // the device profile the cases name (its name, so their ids, unchanged)
        { ...m, devices: { p: { loopIterationBudget: 1_000_000_001 } } },
      ];
      for (const edited of edits) {
        await Deno.writeTextFile(matrix, JSON.stringify(m));
        const stopped = await stoppedRun({ ...common, force: true });
        await Deno.writeTextFile(matrix, JSON.stringify(edited));
        // the finished case the matrix now says otherwise of is named
        await assertResumeRefused(
          common,
          PASS_STUB,
          new RegExp(
            "holds a run whose matrix changed since it started, and it now says otherwise of " +
              `1 finished case .*: "${stopped.results[0].id}"; .*--force to start over`,
          ),
        );
      }
      // a group added, no kept case edited (a nightly matrix that grew): it was refused, the
      // finished cases to be run again with --force; they are kept and only the rest run
      await Deno.writeTextFile(matrix, JSON.stringify(m));
      const stopped = await stoppedRun({ ...common, force: true });
      const kept = stopped.results[0];
      assert.match(kept.caseDigest ?? "", /^[0-9a-f]{16}$/);
      const extra = { name: "extra", axes: { ...m.groups[0].axes, sq: 3 } };
      const grown = { ...m, groups: [...m.groups, extra] };
      await Deno.writeTextFile(matrix, JSON.stringify(grown));
      const ran: string[] = [];
      const after = await runMatrix({
        ...common,
        resume: true,
        testOnlyCaseRunner: (c, o) => {
          ran.push(c.id);
          return PASS_STUB(c, o);
        },
      });
      assert.equal(ran.length, 2);
      assert.ok(!ran.includes(kept.id), "the finished case is not run again");
      assert.equal(after.interrupted, false);
      assert.equal(after.results.length, 3);
      assert.equal(after.matrixIds.length, 3);
      assert.deepEqual(after.totals, { pass: 3, fail: 0, unexpected: 0, error: 0 });
      assert.equal(after.startedAt, stopped.startedAt, "one run, resumed");
      assert.deepEqual(after.results.find((r) => r.id === kept.id), kept);
      const onDisk = await readReportJson(`${out}/report.json`);
      assert.deepEqual(onDisk.totals, after.totals);
      const summary = await Deno.readTextFile(`${out}/summary.md`);
      assert.match(summary, /\*\*3 cases\*\*: 3 pass, 0 fail/);
      assert.doesNotMatch(summary, /\*\*\d+ not run\*\*|interrupted/);
      // grown and a finished case edited: refused, naming it
      await Deno.writeTextFile(matrix, JSON.stringify(m));
      const again = await stoppedRun({ ...common, force: true });
      const done = again.results[0];
      const sq = done.params.sq;
      await Deno.writeTextFile(
        matrix,
        JSON.stringify({
          ...grown,
          groups: [
            {
              axes: {
                ...m.groups[0].axes,
                sq: m.groups[0].axes.sq.filter((q: number) => q !== sq),
              },
            },
            { name: "moved", axes: { ...m.groups[0].axes, sq } },
            extra,
          ],
        }),
      );
      await assertResumeRefused(
        common,
        PASS_STUB,
        new RegExp(
          `matrix changed since it started \\(1 case added .*\\), and it now says otherwise of 1 ` +
            `finished case .*: "${done.id}"; `,
        ),
      );
      // a finished case removed: refused, naming it
      await Deno.writeTextFile(
        matrix,
        JSON.stringify({
          ...m,
          groups: [{
            axes: { ...m.groups[0].axes, sq: m.groups[0].axes.sq.filter((q: number) => q !== sq) },
          }],
        }),
      );
      await assertResumeRefused(
        common,
        PASS_STUB,
        new RegExp(`1 finished case is not in this run's selection .*: "${done.id}"; `),
      );
      // results from before per-case digests: a grown matrix is refused as it was, saying why
      await Deno.writeTextFile(matrix, JSON.stringify(m));
      await stoppedRun({ ...common, force: true });
      const lines = (await Deno.readTextFile(`${out}/results.jsonl`)).trim().split("\n");
      await Deno.writeTextFile(
        `${out}/results.jsonl`,
        lines.map((l) => {
          const { caseDigest: _c, ...r } = JSON.parse(l);
          return `${JSON.stringify(r)}\n`;
        }).join(""),
      );
      await Deno.writeTextFile(matrix, JSON.stringify(grown));
      await assertResumeRefused(
        common,
        PASS_STUB,
        /matrix changed since it started: 1 case added \(group "extra": \S*sq=3\S*\); 1 result of it recorded no per-case digest .*restore the matrix as the run read it and resume, then run the new cases into another folder.*--force/,
      );
      // put back: resumed, and the report records the digest
      await Deno.writeTextFile(matrix, JSON.stringify(m));
      const resumed = await runMatrix({ ...common, resume: true, testOnlyCaseRunner: PASS_STUB });
      assert.equal(resumed.results.length, 2);
      assert.match(resumed.matrixDigest ?? "", /^[0-9a-f]{16}$/);
      // a run from before the digest: resumed with a note, and its report records none (its
      // kept results were never checked against one)
      await stoppedRun({ ...common, force: true });
      const st = (await readRunState(`${out}/run.json`)) as RunState;
      const { matrixDigest: _d, ...older } = st.report;
      await writeRunState(`${out}/run.json`, { ...st, report: older });
      const old = await runMatrix({ ...common, resume: true, testOnlyCaseRunner: PASS_STUB });
      assert.equal(old.results.length, 2);
      assert.equal(old.matrixDigest, undefined);
    });
  },
});

Deno.test({
  name: "resume: results timed with other --repeats or --warmup-ms are refused, naming both " +
    "(a resume with the default --repeats 3 after a run of 10 mixed the sample counts)",
  ignore: !gpu,
  fn: async () => {
    await inTinyFolder(async ({ matrix, out, ctx }) => {
      const common = { matrix, out, ctx, progress: SILENT_PROGRESS, writeReports: writeRunReports };
      // the case runner times as runCase does: --repeats samples, a warm-up recorded when
      // there was one
      const timed: CaseRunner = async (c, o) => ({
        ...(await PASS_STUB(c, o)),
        timing: {
          source: "timestamp-query",
          samplesMs: Array(o.repeats ?? 3).fill(1),
          medianMs: 1,
          ...(o.warmupMs ? { warmupMs: o.warmupMs } : {}),
          rules: TIMING_RULES,
        },
      });
      const stop = new AbortController();
      await runMatrix({
        ...common,
        repeats: 10,
        warmupMs: 0,
        signal: stop.signal,
        // one repetition whose GPU timestamps failed: left out of the samples, counted in
        // clockFaults, still one of the 10 timed (it read as "--repeats 9", resume refused)
        testOnlyCaseRunner: async (c, o) => {
          stop.abort();
          const r = await timed(c, o);
          return { ...r, timing: { ...r.timing!, samplesMs: Array(9).fill(1), clockFaults: 1 } };
        },
      });
      // run.json records what the run was started with: a warm-up of 0, which no result
      // records, is told apart from 50 too
      // (only what differs is named)
      for (
        const [repeats, warmupMs, there, here] of [
          [3, 0, "--repeats 10", "--repeats 3"],
          [10, 50, "--warmup-ms 0", "--warmup-ms 50"],
          [3, 50, "--repeats 10 and --warmup-ms 0", "--repeats 3 and --warmup-ms 50"],
        ] as const
      ) {
        await assertResumeRefused(
          { ...common, repeats, warmupMs },
          timed,
          new RegExp(
            `holds a run started with ${there}, but this resume would time with ${here}: ` +
              ".*resume with --repeats 10 --warmup-ms 0, or --force",
          ),
        );
      }
      // started with --warmup-ms auto, which is 0 on lavapipe (cpu-class): another --repeats
      // alone is named, not "--warmup-ms auto ... --warmup-ms 0" as if the warm-up differed
      const state = (await readRunState(`${out}/run.json`)) as RunState;
      await writeRunState(`${out}/run.json`, {
        ...state,
        report: { ...state.report, warmupMs: "auto" },
      });
      await assertResumeRefused(
        { ...common, repeats: 3, warmupMs: "auto" },
        timed,
        /holds a run started with --repeats 10, but this resume would time with --repeats 3: .*resume with --repeats 10 --warmup-ms auto, or --force/,
      );
      await assertResumeRefused(
        { ...common, repeats: 10, warmupMs: 50 },
        timed,
        /holds a run started with --warmup-ms auto \(0 ms on this device\), but this resume would time with --warmup-ms 50: /,
      );
      // a run.json from before they were recorded: the kept results' sample counts decide
      const { repeats: _r, warmupMs: _w, ...older } = state.report;
      await writeRunState(`${out}/run.json`, { ...state, report: older });
      await assertResumeRefused(
        { ...common, repeats: 3, warmupMs: 0 },
        timed,
        /holds results timed with --repeats 10 and --warmup-ms 0 .*this resume would time with --repeats 3/,
      );
      const resumed = await runMatrix({
        ...common,
        resume: true,
        repeats: 10,
        warmupMs: 0,
        testOnlyCaseRunner: timed,
      });
      assert.deepEqual(
        resumed.results.map((r) => [r.timing?.samplesMs.length, r.timing?.clockFaults]),
        [[9, 1], [10, undefined]],
      );
    });
  },
});

Deno.test({
  name: "resume: another --max-rows is refused, naming both (the report's own resume command " +
    "left it out, and the rest was checked on 64 rows without a word)",
  ignore: !gpu,
  fn: async () => {
    await inTinyFolder(async ({ matrix, out, ctx }) => {
      const common = { matrix, out, ctx, progress: SILENT_PROGRESS, writeReports: writeRunReports };
      const first = await stoppedRun({ ...common, maxRows: 8 });
      assert.equal(first.maxRows, 8);
      await assertResumeRefused(
        common,
        PASS_STUB,
        /holds a run started with --max-rows 8, but this resume would check its cases on --max-rows 64 reference rows: .*resume with --max-rows 8, or --force/,
      );
      const resumed = await runMatrix({
        ...common,
        maxRows: 8,
        resume: true,
        testOnlyCaseRunner: PASS_STUB,
      });
      assert.equal(resumed.results.length, 2);
      assert.equal(resumed.maxRows, 8);
      // a run.json from before it was recorded: resumed, as before
      await stoppedRun({ ...common, maxRows: 8, force: true });
      const state = (await readRunState(`${out}/run.json`)) as RunState;
      const { maxRows: _m, ...older } = state.report;
      await writeRunState(`${out}/run.json`, { ...state, report: older });
      const old = await runMatrix({ ...common, resume: true, testOnlyCaseRunner: PASS_STUB });
      assert.equal(old.results.length, 2);
    });
  },
});

Deno.test({
  name:
    "resume: results without run.json or report.json (a harness before run.json) are refused, unread",
  ignore: !gpu,
  fn: async () => {
    await inTinyFolder(async ({ out, ctx }) => {
      // The results.jsonl a run of 65b857a left when it was killed: that harness wrote no
      // run.json, and report.json only at its end (tests/fixtures/upgrade/README.md).
      const matrix = `${out}-m.json`;
      await Deno.writeTextFile(
        matrix,
        JSON.stringify({
          name: "m",
          seed: 1,
          groups: [{ axes: { preset: "tiny", b: 2, sk: 20, sq: [1, 4] } }],
        }),
      );
      await Deno.mkdir(out);
      const lines = await Deno.readTextFile(
        new URL("./fixtures/upgrade/65b857a_killed/results.jsonl", import.meta.url),
      );
      await Deno.writeTextFile(`${out}/results.jsonl`, lines);
      let ran = 0;
      const counted: CaseRunner = (c, o) => {
        ran++;
        return PASS_STUB(c, o);
      };
      const common = { matrix, out, ctx, progress: SILENT_PROGRESS, writeReports: writeRunReports };
      // it kept the old harness's result and credited it to this run's fingerprint
      await assert.rejects(
        runMatrix({ ...common, resume: true, testOnlyCaseRunner: counted }),
        (e: unknown) =>
          e instanceof ReportFileError &&
          /holds 1 result in results\.jsonl but no run\.json or report\.json .*their matrix, filter and environment are unknown, so --resume would credit them.*--force starts over/
            .test(e.message),
      );
      assert.equal(ran, 0);
      assert.equal(await Deno.readTextFile(`${out}/results.jsonl`), lines, "left as it was");
      const fresh = await runMatrix({ ...common, force: true, testOnlyCaseRunner: counted });
      assert.equal(fresh.results.length, 2);
    });
  },
});

Deno.test({
  name: "resume: results timed under other timing rules (or none recorded) are refused",
  ignore: !gpu,
  fn: async () => {
    await inTinyFolder(async ({ matrix, out, ctx }) => {
      const common = { matrix, out, ctx, progress: SILENT_PROGRESS, writeReports: writeRunReports };
      // a result as a harness from before timing.rules wrote it; the same environment otherwise
      // (a revision git could not give is no refusal by itself)
      const timed = (rules?: number): CaseRunner => async (c, o) => ({
        ...(await PASS_STUB(c, o)),
        timing: {
          source: "timestamp-query",
          samplesMs: Array(o.repeats ?? 3).fill(1),
          medianMs: 1,
          ...(rules ? { rules } : {}),
        },
      });
      const stop = new AbortController();
      await runMatrix({
        ...common,
        signal: stop.signal,
        testOnlyCaseRunner: (c, o) => {
          stop.abort();
          return timed()(c, o);
        },
      });
      let ran = 0;
      const counted: CaseRunner = (c, o) => {
        ran++;
        return timed(TIMING_RULES)(c, o);
      };
      await assert.rejects(
        runMatrix({ ...common, resume: true, testOnlyCaseRunner: counted }),
        (e: unknown) =>
          e instanceof ReportFileError &&
          /was timed under timing rules not recorded \(a harness from before they were\), and this harness times under rules 1: .*resume with the harness that started the run, --force starts over/
            .test(e.message),
      );
      assert.equal(ran, 0);
      // started over under this harness's rules, a stop and a resume join
      const again = new AbortController();
      await runMatrix({
        ...common,
        force: true,
        signal: again.signal,
        testOnlyCaseRunner: (c, o) => {
          again.abort();
          return counted(c, o);
        },
      });
      const resumed = await runMatrix({ ...common, resume: true, testOnlyCaseRunner: counted });
      assert.equal(resumed.results.length, 2);
    });
  },
});

Deno.test("a damaged run.json is refused naming what to do (--force), with or without --resume", async () => {
  const out = await Deno.makeTempDir({ prefix: "mla-resume-guard-" });
  try {
    // a run.json cut short (copied in part, edited): what was wrong was said, not what to do
    await Deno.writeTextFile(`${out}/run.json`, '{"version": 1, "state": "runn');
    for (const resume of [false, true]) {
      await assert.rejects(
        runMatrix({
          matrix: "smoke",
          filter: "preset=tiny;dtype=f32",
          out,
          resume,
          progress: SILENT_PROGRESS,
          testOnlyCaseRunner: PASS_STUB,
        }),
        (e: unknown) =>
          e instanceof ReportFileError &&
          // it said "not valid JSON (unexpected end of input; ...)", not that the file is
          // cut short
          /^.*\/run\.json: half-written: it ends partway through its JSON \(a copy of part of it, or a write lost in a crash; unterminated string at line 1, column 30\), so it cannot be read; --force replaces the folder's run, or pick another --out$/
            .test(e.message),
      );
    }
    // a report.json cut short is said so too (merge, baseline update --from-report read it)
    await Deno.writeTextFile(`${out}/report.json`, '{"version": 1, "results": [');
    await assert.rejects(
      readReportJson(`${out}/report.json`),
      /report\.json: half-written: it ends partway through its JSON \(a copy of part of it, or a write lost in a crash; expected a value .* at line 1, column 28\), so it cannot be read$/,
    );
    // a file wrong elsewhere is not called half-written
    assert.equal(jsonFileProblem('{"a": }'), jsonSyntaxProblem('{"a": }'));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

// A resume refused for a changed checkout said "harnessRevision 1a2b → 3c4d", the report's
// field name: each difference is now said in words.
Deno.test("resume: an environment difference is said in words, not by its field name", () => {
  const said = (field: string, from: string | null, to: string | null) =>
    fingerprintChangeText({ field, from, to });
  assert.equal(
    said("harnessRevision", "1a2b3c4d", "5e6f7a8b"),
    "the harness's revision (git commit) changed from 1a2b3c4d to 5e6f7a8b",
  );
  assert.equal(
    said("kernel.absorbed.wgsl", "aa", "bb"),
    "kernel file absorbed.wgsl changed (hash aa → bb)",
  );
  assert.equal(said("kernel.new.wgsl", null, "bb"), "kernel file new.wgsl was added");
  // the same commit: "changed from 1a2b to 1a2b-dirty" read as another commit
  assert.equal(
    said("harnessRevision", "1a2b", "1a2b-dirty"),
    "the harness's checkout of commit 1a2b has uncommitted changes now",
  );
  assert.equal(
    said("adapter.caps.limits.maxBindingsPerBindGroup", "1000", "1024"),
    "the adapter's limit maxBindingsPerBindGroup changed from 1000 to 1024",
  );
  assert.equal(
    said("host.cpuModel", "A", null),
    "the host's CPU model changed from A to none recorded",
  );
});

Deno.test({
  name: "resume: the run's hostLoad is the busiest of its sessions' (a busy first session's kept)",
  ignore: !gpu,
  fn: async () => {
    await inTinyFolder(async ({ matrix, out, ctx }) => {
      const common = { matrix, out, ctx, progress: SILENT_PROGRESS, writeReports: writeRunReports };
      const stop = new AbortController();
      await runMatrix({
        ...common,
        signal: stop.signal,
        testOnlyCaseRunner: (c, o) => {
          stop.abort();
          return PASS_STUB(c, o);
        },
      });
      // the first session's host was busy (a load of 999 per CPU, no real host's now)
      const busy = { at: "2026-01-01T00:00:00.000Z", load1: 999, load5: 999, cpus: 1 };
      const hostLoad = { start: busy, end: busy };
      for (const file of [`${out}/run.json`, `${out}/report.json`]) {
        if (!(await exists(file))) continue;
        const j = JSON.parse(await Deno.readTextFile(file));
        await Deno.writeTextFile(
          file,
          JSON.stringify(
            j.report !== undefined ? { ...j, report: { ...j.report, hostLoad } } : {
              ...j,
              hostLoad,
            },
          ),
        );
      }
      const resumed = await runMatrix({ ...common, resume: true, testOnlyCaseRunner: PASS_STUB });
      assert.equal(resumed.results.length, 2);
      assert.equal(resumed.hostLoad?.start?.load1, 999, JSON.stringify(resumed.hostLoad));
    });
  },
});
