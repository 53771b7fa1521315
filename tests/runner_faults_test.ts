// Faults in a run that must not lose it: a case that throws or hangs (recorded as that case's
// error, the run goes on, the reports are written), and what an output folder already holds
// (resume only the same run, damaged lines refused as merge refuses them, a half-finished run
// never silently truncated, a finished one simply replaced).
import assert from "node:assert/strict";
import { GpuContext, hasAdapter } from "../gpu/device.ts";
import { DeviceLostError } from "../gpu/errors.ts";
import { ReportFileError } from "../report/errors.ts";
import { readJsonl } from "../report/jsonl.ts";
import { writeRunReports } from "../report/run_reports.ts";
import { readRunState } from "../report/run_state.ts";
import { runCase } from "../runner/run_case.ts";
import { type CaseRunner, runMatrix, type RunMatrixOptions } from "../runner/run_matrix.ts";
import { runCli } from "./helpers_cli.ts";
import { SILENT_PROGRESS } from "../report/progress.ts";

const gpu = await hasAdapter();

/** A 4-case tiny matrix file (sq 1..4, one kernel variant: one compile). */
async function tinyMatrix(name = "faults-test"): Promise<string> {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/${name}.json`;
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      name,
      seed: 3,
      groups: [{ axes: { preset: "tiny", path: "absorbed", b: 1, sk: 6, sq: [1, 2, 3, 4] } }],
    }),
  );
  return path;
}

const ID_SQ2 = "preset=tiny;path=absorbed;dtype=f32;b=1;sq=2;sk=6;layout=bshd;causal=1";

/** Runs a test body with one GPU context shared by its runs (one device, one compile). */
function gpuTest(name: string, fn: (ctx: GpuContext) => Promise<void>): void {
  Deno.test({
    name,
    ignore: !gpu,
    fn: async () => {
      const ctx = await GpuContext.create({ optionalFeatures: ["shader-f16"] });
      try {
        await fn(ctx);
      } finally {
        ctx.destroy();
      }
    },
  });
}

function base(ctx: GpuContext, matrix: string, out: string): RunMatrixOptions {
  return { matrix, out, ctx, repeats: 0, progress: SILENT_PROGRESS, writeReports: writeRunReports };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

gpuTest(
  "a case that throws any exception is its error; the run goes on and writes reports",
  async (ctx) => {
    const matrix = await tinyMatrix();
    const out = await Deno.makeTempDir();
    const throwing: CaseRunner = (c, o) => {
      if (c.id === ID_SQ2) throw new TypeError("boom in the case");
      return runCase(c, o);
    };
    const report = await runMatrix({ ...base(ctx, matrix, out), testOnlyCaseRunner: throwing });
    assert.equal(report.results.length, 4);
    const bad = report.results.find((r) => r.id === ID_SQ2)!;
    assert.equal(bad.status, "error");
    assert.equal(bad.decision, "not-reached");
    assert.match(
      bad.message,
      /^TypeError: boom in the case \(at tests\/runner_faults_test\.ts:\d+\)$/,
    );
    assert.deepEqual(
      report.results.filter((r) => r.id !== ID_SQ2).map((r) => r.status),
      ["pass", "pass", "pass"],
    );
    for (const f of ["report.json", "junit.xml", "summary.md", "results.jsonl"]) {
      assert.ok(await exists(`${out}/${f}`), `${f} written`);
    }
    assert.equal((await readRunState(`${out}/run.json`))?.state, "finished");
  },
);

gpuTest(
  "a hung case times out: its error is recorded, the device re-acquired, the run goes on",
  async (ctx) => {
    const matrix = await tinyMatrix();
    const out = await Deno.makeTempDir();
    const hanging: CaseRunner = (c, o) =>
      c.id === ID_SQ2 ? new Promise<never>(() => {}) : runCase(c, o);
    const generation = ctx.generation;
    const report = await runMatrix({
      ...base(ctx, matrix, out),
      // long enough for a real tiny case with its compile on a busy lavapipe (~0.2-0.5 s)
      caseTimeoutMs: 2500,
      testOnlyCaseRunner: hanging,
    });
    assert.equal(report.results.length, 4);
    const hung = report.results.find((r) => r.id === ID_SQ2)!;
    assert.equal(hung.status, "error");
    assert.match(
      hung.message,
      /^timed out after 2\.5 s \(--case-timeout\); the device was re-acquired/,
    );
    assert.equal(ctx.generation, generation + 1, "a new device after the timeout");
    assert.deepEqual(
      report.results.filter((r) => r.id !== ID_SQ2).map((r) => r.status),
      ["pass", "pass", "pass"],
      "the cases after the hung one ran on the new device",
    );
    assert.equal(report.interrupted, false);
  },
);

gpuTest(
  "cases hanging again and again stop the run (DeviceLostError), reports kept",
  async (ctx) => {
    const matrix = await tinyMatrix();
    const out = await Deno.makeTempDir();
    await assert.rejects(
      runMatrix({
        ...base(ctx, matrix, out),
        caseTimeoutMs: 50,
        maxLosses: 2,
        testOnlyCaseRunner: () => new Promise<never>(() => {}),
      }),
      // what is kept and the resume, with the run's own --case-timeout (the default 600 s
      // was named, and nothing of the reports)
      (e: unknown) =>
        e instanceof DeviceLostError &&
        /2 times in a row; the reports are written, marked interrupted, and deno task harness run .* --case-timeout 0\.05 --out .* --resume runs the rest$/
          .test(e.message),
    );
    const report = JSON.parse(await Deno.readTextFile(`${out}/report.json`));
    assert.equal(report.results.length, 2);
    assert.equal(report.interrupted, true);
    assert.equal((await readRunState(`${out}/run.json`))?.state, "interrupted");
  },
);

gpuTest(
  "resume: a damaged line before the last is refused as merge refuses it, naming the line",
  async (ctx) => {
    const matrix = await tinyMatrix();
    const out = await Deno.makeTempDir();
    await runMatrix(base(ctx, matrix, out));
    const path = `${out}/results.jsonl`;
    const lines = (await Deno.readTextFile(path)).split("\n");
    lines.splice(1, 0, "{ garbage");
    await Deno.writeTextFile(path, lines.join("\n"));
    await assert.rejects(
      runMatrix({ ...base(ctx, matrix, out), resume: true }),
      (e: unknown) =>
        e instanceof ReportFileError && e.line === 2 &&
        /results\.jsonl:2: not valid JSON .*a damaged line/.test(e.message),
    );
    // A half-written last line (a crash mid-write) is still dropped, as merge does.
    await Deno.writeTextFile(path, lines.filter((l) => l !== "{ garbage").join("\n") + '{"id":"x');
    // said, as merge says it (the resume was silent)
    const said: string[] = [];
    const error = console.error;
    console.error = (...a: unknown[]) => said.push(a.join(" "));
    const resumed = await runMatrix({ ...base(ctx, matrix, out), resume: true }).finally(() => {
      console.error = error;
    });
    assert.ok(
      said.includes(
        `resume: ${path} ends in a half-written line (the run was killed as it wrote a ` +
          "result): dropped, and its case runs again",
      ),
      said.join("\n"),
    );
    assert.equal(resumed.results.length, 4);
    assert.equal((await readJsonl(path)).results.length, 4);
  },
);

gpuTest(
  "resume into another matrix's, filter's or shard's folder is refused, naming both",
  async (ctx) => {
    const matrix = await tinyMatrix("first");
    const other = await tinyMatrix("second");
    const out = await Deno.makeTempDir();
    await runMatrix({ ...base(ctx, matrix, out), filter: "sq=1,2" });
    const before = await Deno.readTextFile(`${out}/results.jsonl`);
    for (
      const [extra, mention] of [
        [{ matrix: other, filter: "sq=1,2" }, /second\.json/],
        [{ filter: "sq=1" }, /filter "sq=1"/],
        [{ filter: "sq=1,2", shard: { index: 1, count: 2 } }, /shard 1\/2/],
      ] as const
    ) {
      await assert.rejects(
        runMatrix({ ...base(ctx, matrix, out), ...extra, resume: true }),
        (e: unknown) =>
          e instanceof ReportFileError && /first\.json", filter "sq=1,2"/.test(e.message) &&
          mention.test(e.message) && /--force/.test(e.message),
      );
    }
    assert.equal(await Deno.readTextFile(`${out}/results.jsonl`), before, "nothing appended");
  },
);

gpuTest(
  "a half-finished folder needs --resume or --force; a finished run is simply replaced",
  async (ctx) => {
    const matrix = await tinyMatrix();
    const out = await Deno.makeTempDir();
    // A run stopped after two cases (as by a signal): reports written, marked interrupted.
    const stop = new AbortController();
    let n = 0;
    const stopAfterTwo: CaseRunner = async (c, o) => {
      const r = await runCase(c, o);
      if (++n === 2) stop.abort();
      return r;
    };
    const partial = await runMatrix({
      ...base(ctx, matrix, out),
      signal: stop.signal,
      testOnlyCaseRunner: stopAfterTwo,
    });
    assert.equal(partial.results.length, 2);
    await assert.rejects(
      runMatrix(base(ctx, matrix, out)),
      (e: unknown) =>
        e instanceof ReportFileError && /half-finished run of matrix/.test(e.message) &&
        /2 results/.test(e.message) && /--resume/.test(e.message) && /--force/.test(e.message),
    );
    assert.equal((await readJsonl(`${out}/results.jsonl`)).results.length, 2, "not truncated");
    // The same holds for a folder from before run.json existed (results.jsonl only).
    await Deno.remove(`${out}/run.json`);
    await Deno.remove(`${out}/report.json`);
    // (--resume is not offered: it refuses such a folder)
    await assert.rejects(runMatrix(base(ctx, matrix, out)), (e: unknown) => {
      assert.ok(e instanceof ReportFileError);
      assert.match(
        e.message,
        /no run\.json or report\.json .*: their matrix, filter and environment are unknown, so --resume cannot finish their run; --force starts over/,
      );
      assert.doesNotMatch(e.message, /--resume finishes/);
      return true;
    });
    // ... and --resume refuses it too: its results' matrix and environment are unknown
    await assert.rejects(
      runMatrix({ ...base(ctx, matrix, out), resume: true }),
      (e: unknown) =>
        e instanceof ReportFileError && /no run\.json or report\.json/.test(e.message) &&
        /--force starts over/.test(e.message),
    );
    const restarted = await runMatrix({ ...base(ctx, matrix, out), force: true });
    assert.equal(restarted.results.length, 4);
    // Finished: a second plain run replaces it (no duplicate lines); --force also works.
    const again = await runMatrix(base(ctx, matrix, out));
    assert.equal(again.results.length, 4);
    assert.equal((await readJsonl(`${out}/results.jsonl`)).results.length, 4);
    const forced = await runMatrix({ ...base(ctx, matrix, out), force: true, filter: "sq=1" });
    assert.equal(forced.results.length, 1);
    assert.equal((await readJsonl(`${out}/results.jsonl`)).results.length, 1);
  },
);

Deno.test("run: --resume and --force together are a usage error (exit 2)", async () => {
  const r = await runCli(["run", "--resume", "--force", "--out", await Deno.makeTempDir()]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--resume.*cannot be used with.*--force/);
});
