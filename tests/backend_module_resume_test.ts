// A run made with `--backend-module <path> --backend <its id>` records the module in its
// report, and the commands that finish it (`run --resume`, a merge's shards) and explain its
// cases load it again: without it their `--backend` was an unknown id and the printed resume
// command was refused.
import assert from "node:assert/strict";
import { GpuContext, hasAdapter } from "../gpu/device.ts";
import { loadBackendModule } from "../kernels/backend_module.ts";
import { explainCommandFor, finishCommands, runCommandFor } from "../report/mod.ts";
import { toMarkdown } from "../report/markdown.ts";
import { runReportHtml } from "../report/html/run_html.ts";
import { SILENT_PROGRESS } from "../report/progress.ts";
import { writeRunReports } from "../report/run_reports.ts";
import { runReportProblem } from "../report/validate.ts";
import { runCli } from "./helpers_cli.ts";
import { writeTinyMatrix } from "./matrix_file_helpers.ts";
import { PASS_STUB, stoppedRun } from "./stub_runner.ts";
import { readCapsFile } from "../adapter/caps_file.ts";
import type { RemoteDevice } from "../gpu/runtime.ts";
import { backendModulePath, runMatrix } from "../runner/run_matrix.ts";
import { report, result } from "./report_util.ts";

const NAIVE = "examples/backends/naive/mod.ts";

Deno.test({
  name:
    "--backend-module: recorded in the report; the resume command it prints loads it and finishes the run",
  ignore: !(await hasAdapter()),
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-module-resume-" });
    const ctx = await GpuContext.create();
    try {
      await loadBackendModule(NAIVE);
      const matrix = await writeTinyMatrix(dir, { sq: [1], dtype: ["f32"], layout: ["bshd"] }, "m");
      const out = `${dir}/out`;
      const report = await stoppedRun({
        matrix,
        out,
        ctx,
        backend: "naive",
        backendModules: [NAIVE],
        progress: SILENT_PROGRESS,
        writeReports: writeRunReports,
      });
      assert.deepEqual(report.backendModules, [NAIVE]);
      const json = JSON.parse(await Deno.readTextFile(`${out}/report.json`));
      assert.deepEqual(json.backendModules, [NAIVE]);
      // and where it is: as typed, it named a file relative to wherever the user stood
      assert.deepEqual(json.backendModulePaths, [`${Deno.cwd()}/${NAIVE}`]);
      const state = JSON.parse(await Deno.readTextFile(`${out}/run.json`));
      assert.deepEqual(state.report.backendModulePaths, [`${Deno.cwd()}/${NAIVE}`]);
      assert.equal(runReportProblem(json), null);
      const resume = runCommandFor(report, out, true);
      // the module where it is: the command runs from the harness's folder, not the user's
      assert.equal(
        resume,
        `deno task harness run --matrix ${matrix} --backend-module ${Deno.cwd()}/${NAIVE} ` +
          `--backend naive --out ${out} --resume`,
      );
      assert.ok((await Deno.readTextFile(`${out}/summary.md`)).includes(resume));
      assert.ok(
        explainCommandFor("x", report).endsWith(
          `--backend-module ${Deno.cwd()}/${NAIVE} --backend naive`,
        ),
      );
      // the printed command, run: it loads the module and finishes the run on it
      const words = resume.replace("deno task harness ", "").split(" ");
      const r = await runCli(words);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const done = JSON.parse(await Deno.readTextFile(`${out}/report.json`));
      assert.equal(done.interrupted, false);
      assert.equal(done.results.length, 2);
      assert.ok(
        done.results.some((x: { message: string }) => x.message !== "stub"),
        "a case ran on naive",
      );
      // without the module, the same resume names the unknown backend (exit 2)
      const without = await runCli(
        words.filter((w, i) => w !== "--backend-module" && words[i - 1] !== "--backend-module"),
      );
      assert.equal(without.code, 2, without.stderr);
    } finally {
      ctx.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("summary.md and report.html: the resume and explain commands name a module typed in another folder where it is", async () => {
  // `deno run -A main.ts run --backend-module mine.ts` in /home/u/proj: `mine.ts` from the
  // harness's folder (where `deno task harness` runs) named nothing
  const failed = result({ preset: "tiny", b: 2 }, { status: "fail", backend: "mine" });
  const ids = [failed.id, result({ preset: "tiny", b: 4 }).id];
  const r = report([failed], {
    matrixIds: ids,
    shardIds: ids,
    interrupted: true,
    backend: "mine",
    backendModules: ["mine.ts"],
    backendModulePaths: ["/home/u/proj/mine.ts"],
  });
  const words = "--backend-module /home/u/proj/mine.ts --backend mine";
  const finish = finishCommands(r, "out/x");
  const [resume] = finish;
  assert.ok(resume.includes(` ${words} `), resume);
  const md = toMarkdown(r, { finish });
  assert.ok(md.includes(resume), md);
  assert.ok(md.includes(`--matrix smoke ${words}\``), md);
  const html = await runReportHtml(r, { finish });
  assert.ok(html.includes(`--matrix smoke ${words}</code>`), "explain command in report.html");
  assert.ok(html.includes(resume.replaceAll("'", "&#39;")), "resume command in report.html");
  assert.ok(!/--backend-module mine\.ts/.test(md + html));
  // a report from before the paths were recorded: as typed
  const old = { ...r, backendModulePaths: undefined };
  assert.ok(explainCommandFor("x", old).endsWith("--backend-module mine.ts --backend mine"));
});

Deno.test("backendModulePath: a local file's absolute path from the folder the run started in, a URL as given", () => {
  assert.equal(backendModulePath("b/mod.ts", "/work/x"), "/work/x/b/mod.ts");
  assert.equal(backendModulePath("./b/../b/mod.ts", "/work/x"), "/work/x/b/mod.ts");
  assert.equal(backendModulePath("/abs/b/mod.ts", "/work/x"), "/abs/b/mod.ts");
  assert.equal(backendModulePath("file:///abs/b/mod.ts", "/work/x"), "/abs/b/mod.ts");
  assert.equal(backendModulePath("https://e.com/m.ts", "/work/x"), "https://e.com/m.ts");
});

Deno.test("runReportProblem: backendModules must be a list of paths", () => {
  const base = report([]);
  assert.equal(runReportProblem({ ...base, backendModules: ["a.ts"] }), null);
  for (const bad of ["a.ts", [""], [1]]) {
    assert.equal(
      runReportProblem({ ...base, backendModules: bad }),
      'field "backendModules" must be the --backend-module paths or absent',
    );
  }
});

Deno.test("baseline update --backend-module: a module that does not load, or run flags with --from-report, are exit 2 before anything is written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-baseline-module-bad-" });
  try {
    const [missing, fromReport] = await Promise.all([
      // before, commander's "unknown option '--backend-module'"
      runCli([
        "baseline",
        "update",
        "--backend-module",
        `${dir}/nope.ts`,
        "--out",
        `${dir}/out`,
        "--dir",
        `${dir}/b`,
      ]),
      runCli(["baseline", "update", "--from-report", `${dir}/run`, "--backend", "naive"]),
    ]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /nope\.ts: not a backend module/);
    assert.equal(fromReport.code, 2, fromReport.stderr);
    assert.match(fromReport.stderr, /--backend sets up a run, and --from-report/);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), [], "nothing written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "baseline update --backend-module --backend: the baseline records both; a --backend of the other path fails, no baseline",
  ignore: !(await hasAdapter()),
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-baseline-module-" });
    try {
      const update = (filter: string, name: string) =>
        runCli([
          "baseline",
          "update",
          ...["--backend-module", NAIVE, "--backend", "naive", "--filter", filter],
          ...["--repeats", "0", "--out", `${dir}/${name}-out`, "--dir", `${dir}/${name}`],
        ]);
      const ok = await update(
        "preset=tiny;dtype=f32;path=absorbed;layout=bshd;sq=1;causal=0",
        "ok",
      );
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      const [file] = await Array.fromAsync(Deno.readDir(`${dir}/ok`));
      const b = JSON.parse(await Deno.readTextFile(`${dir}/ok/${file.name}`));
      assert.equal(b.backendOverride, "naive");
      assert.deepEqual(b.backendModules, [NAIVE]);
      assert.deepEqual(b.cases.map((c: { backend: string }) => c.backend), ["naive"]);
      // naive computes the absorbed path: it ran nothing, as run fails (exit 1)
      const none = await update(
        "preset=tiny;dtype=f32;path=expanded;layout=bshd;sq=4;causal=1",
        "none",
      );
      assert.equal(none.code, 1, none.stdout + none.stderr);
      assert.match(none.stderr, /^error: --backend naive did not run the 1 case expected to run/m);
      assert.match(none.stderr, /nothing was tested on it, so no baseline was written\. /);
      assert.deepEqual(await Array.fromAsync(Deno.readDir(`${dir}/none`)), []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a pass a launch() left floating that lands after the run's last case is said on " +
    "stderr and recorded in the report (it was lost: nothing listened for uncapturederror)",
  ignore: !(await hasAdapter()),
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-module-late-" });
    const ctx = await GpuContext.create();
    const said: string[] = [];
    const error = console.error;
    console.error = (...a: unknown[]) => said.push(a.join(" "));
    try {
      const fixture = "tests/fixtures/backends/launch_pass_after_case.ts";
      const { module } = await loadBackendModule(fixture);
      const matrix = await writeTinyMatrix(dir, { sq: [1], dtype: ["f32"], layout: ["bshd"] }, "m");
      const out = `${dir}/out`;
      const report = await runMatrix({
        matrix,
        out,
        ctx,
        filter: "path=absorbed",
        repeats: 0,
        backend: module.id,
        backendModules: [fixture],
        progress: SILENT_PROGRESS,
        writeReports: writeRunReports,
      });
      const [only] = report.results;
      assert.equal(report.results.length, 1);
      // the case itself was right: the floating pass landed once it had ended
      assert.equal(only.status, "pass", only.message);
      assert.deepEqual(report.lateGpuErrors?.map((e) => e.afterCase), [only.id]);
      assert.match(report.lateGpuErrors?.[0].message ?? "", /destroyed/);
      const state = JSON.parse(await Deno.readTextFile(`${out}/run.json`));
      assert.deepEqual(state.report.lateGpuErrors, report.lateGpuErrors);
      const line = said.find((l) =>
        l.startsWith("warning: a GPU error arrived outside every case")
      );
      assert.ok(line, said.join("\n"));
      assert.ok(line.includes(`after case "${only.id}"`), line);
      assert.match(line, /launch\(\) left floating.*: .*destroyed/);
      // one a case over six cases: the first five said, the sixth counted as the run ends
      said.length = 0;
      const six = await writeTinyMatrix(
        dir,
        { sq: [1, 2, 3, 4, 5, 6], dtype: ["f32"], layout: ["bshd"] },
        "six",
      );
      const many = await runMatrix({
        matrix: six,
        out: `${dir}/out6`,
        ctx,
        filter: "path=absorbed",
        repeats: 0,
        backend: module.id,
        backendModules: [fixture],
        progress: SILENT_PROGRESS,
        writeReports: writeRunReports,
      });
      assert.equal(many.lateGpuErrors?.length, 6);
      assert.equal(said.filter((l) => l.startsWith("warning: a GPU error arrived")).length, 5);
      assert.ok(
        said.some((l) => /^warning: and 1 more GPU error outside every case's error scope/.test(l)),
        said.join("\n"),
      );
      // stopped after three cases (run.json "interrupted", as SIGINT leaves it) and resumed:
      // the resumed report listed the second session's errors only
      const out6 = `${dir}/out6`;
      const state6 = JSON.parse(await Deno.readTextFile(`${out6}/run.json`));
      const lines = (await Deno.readTextFile(`${out6}/results.jsonl`)).trim().split("\n");
      const kept = lines.slice(0, 3).map((l) => JSON.parse(l).id as string);
      await Deno.writeTextFile(`${out6}/results.jsonl`, lines.slice(0, 3).join("\n") + "\n");
      await Deno.writeTextFile(
        `${out6}/run.json`,
        JSON.stringify({
          ...state6,
          state: "interrupted",
          report: {
            ...state6.report,
            interrupted: true,
            results: state6.report.results.slice(0, 3),
            lateGpuErrors: state6.report.lateGpuErrors.slice(0, 3),
          },
        }),
      );
      const resumed = await runMatrix({
        matrix: six,
        out: out6,
        ctx,
        filter: "path=absorbed",
        repeats: 0,
        backend: module.id,
        backendModules: [fixture],
        progress: SILENT_PROGRESS,
        writeReports: writeRunReports,
        resume: true,
      });
      assert.deepEqual(
        resumed.lateGpuErrors?.map((e) => e.afterCase),
        resumed.results.map((r) => r.id),
      );
      assert.deepEqual(resumed.lateGpuErrors?.slice(0, 3).map((e) => e.afterCase), kept);
    } finally {
      console.error = error;
      ctx.destroy();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a GPU error outside every case's error scope is in run.json as the run goes: a run killed halfway kept none", async () => {
  // a page that hands back an error of a floating pass after each case (as Chromium's does)
  const caps = await readCapsFile(new URL("./fixtures/caps_no_f16.json", import.meta.url).pathname);
  let hand: ((late: { message: string; beforeCase: boolean }) => void) | null = null;
  const ctx: RemoteDevice & {
    watchLateGpuErrors: (f: typeof hand & object) => () => void;
    settleLateGpuErrors: () => Promise<void>;
  } = {
    runtime: "chromium",
    caps,
    identity: { name: "b", version: "test", path: "/none", userAgent: "test", adapterInfo: {} },
    lost: false,
    destroy: () => {},
    reacquire: () => Promise.resolve(),
    close: () => Promise.resolve(),
    runAttention: () => Promise.reject(new Error("not run: the stub runs the cases")),
    runLayer: () => Promise.reject(new Error("not run: the stub runs the cases")),
    watchLateGpuErrors: (f) => {
      hand = f;
      return () => hand = null;
    },
    settleLateGpuErrors: () => Promise.resolve(),
  };
  const out = await Deno.makeTempDir({ prefix: "mla-late-state-" });
  const error = console.error;
  console.error = () => {};
  try {
    // what a kill as each case starts leaves in run.json
    const seen: number[] = [];
    await runMatrix({
      matrix: "smoke",
      filter: "preset=tiny;dtype=f32;layout=bshd;causal=1",
      out,
      repeats: 0,
      progress: SILENT_PROGRESS,
      ctx,
      testOnlyCaseRunner: async (c, o) => {
        const state = JSON.parse(await Deno.readTextFile(`${out}/run.json`));
        assert.equal(state.state, "running");
        seen.push(state.report.lateGpuErrors?.length ?? 0);
        const r = await PASS_STUB(c, o);
        hand?.({ message: `Buffer destroyed after ${c.id}`, beforeCase: false });
        return r;
      },
    });
    assert.ok(seen.length >= 3, String(seen.length));
    assert.deepEqual(seen.slice(0, 3), [0, 1, 2]);
    const state = JSON.parse(await Deno.readTextFile(`${out}/run.json`));
    assert.equal(state.state, "finished");
    assert.equal(state.report.lateGpuErrors.length, seen.length);
  } finally {
    console.error = error;
    await Deno.remove(out, { recursive: true });
  }
});
