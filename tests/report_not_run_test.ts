// Cases that never ran (an interrupted run; a merge of some of the shards) are listed, each
// group counts them against its cases in the selection (a group with none run included), and
// the pages give the command that finishes the report (audit 2026-12-06: report.html said "41
// case(s) ... never ran" with neither the ids nor the command, and its groups read "24/24
// passed" for a group of 48 cases).
import assert from "node:assert/strict";
import {
  finishCommands,
  MAX_MISSING_ROWS,
  mergeRuns,
  runCommandFor,
  toMarkdown,
  writeRunOutputs,
} from "../report/mod.ts";
import { escapeHtml, MAX_MISSING_HTML } from "../report/html/mod.ts";
import { absolutePath, matrixWord } from "../report/finish_commands.ts";
import { explainCommandFor } from "../report/explain_command.ts";
import { inShard, parseFilter } from "../matrix/case_id.ts";
import { loadMatrix } from "../matrix/expand.ts";
import type { CaseResult } from "../results/types.ts";
import { report, result, withTempDir } from "./report_util.ts";
import { runReportProblem } from "../report/validate.ts";
import { checkHarnessArgs, parseDocCommand } from "../tools/doc_commands.ts";
import { HARNESS_SPEC, TASKS } from "./harness_spec.ts";
import { runCommand } from "../cli/run.ts";
import { parseWarmupMs } from "../cli/options.ts";
import { GpuContext, hasAdapter } from "../gpu/device.ts";
import { runMatrix } from "../runner/run_matrix.ts";
import { writeRunReports } from "../report/run_reports.ts";
import { SILENT_PROGRESS } from "../report/progress.ts";
import { PASS_STUB, stoppedRun } from "./stub_runner.ts";

const FILTER = "preset=tiny";

async function tinyCases() {
  const { cases } = await loadMatrix("smoke", { filter: parseFilter(FILTER) });
  return cases;
}

function passed(c: { id: string; params: CaseResult["params"]; group?: string }): CaseResult {
  return result(c.params, { id: c.id, group: c.group });
}

Deno.test("an interrupted run lists its cases not run, counts them in their groups and gives the resume command", async () => {
  const cases = await tinyCases();
  const groups = [...new Set(cases.map((c) => c.group!))];
  const first = cases.filter((c) => c.group === groups[0]);
  const ran = first.slice(0, Math.floor(first.length / 2));
  const ids = cases.map((c) => c.id);
  const notRun = ids.filter((id) => !ran.some((c) => c.id === id));
  await withTempDir(async (dir) => {
    const r = report(ran.map(passed), {
      filter: FILTER,
      matrixIds: ids,
      shardIds: ids,
      interrupted: true,
    });
    await writeRunOutputs(dir, r, { jsonl: false });
    const resume = `deno task harness run --matrix smoke --filter ${FILTER} --out ${dir} --resume`;
    const html = await Deno.readTextFile(`${dir}/report.html`);
    // every group, against its cases in the selection
    for (const g of groups) {
      const n = cases.filter((c) => c.group === g).length;
      const done = g === groups[0] ? ran.length : 0;
      const words = `${n} case${n === 1 ? "" : "s"}: ${done} passed, ${n - done} not run;`;
      assert.ok(html.includes(`<b>${escapeHtml(g)}</b>: ${words}`), `${g}: ${words}`);
    }
    const at = html.indexOf('<section id="not-run">');
    assert.ok(at > 0, "a not-run section");
    const sec = html.slice(at, html.indexOf("</section>", at));
    assert.ok(sec.includes(`${notRun.length} cases of this run never ran (interrupted).`));
    assert.ok(sec.includes(`<pre class="commands" id="finish-commands"><code>${resume}</code>`));
    for (const id of notRun) {
      assert.ok(sec.includes(`<li><code>${id.replaceAll(";", ";<wbr>")}</code></li>`), id);
    }

    // the count line counts the cases run out of the selection ("N cases: ..., M not run"
    // read as a run of N cases, its counts adding up to N + M)
    const counted = `${ran.length} of ${ids.length} cases: ${ran.length} pass, 0 fail, ` +
      `0 unexpected, 0 error, 0 skipped as expected, ${notRun.length} not run`;
    assert.ok(html.includes(`id="verdict">${counted}`), counted);
    const md = await Deno.readTextFile(`${dir}/summary.md`);
    assert.ok(
      md.includes(
        `❌ **${counted.replace(":", "**:").replace(/, (\d+) not run/, ", **$1 not run**")}`,
      ),
      md,
    );
    assert.ok(md.includes(`### Not run (${notRun.length})`), md);
    assert.ok(md.includes("To finish the run:\n\n```sh\n" + resume + "\n```"), md);
    assert.ok(md.includes(`| ❌ ${groups[1]} |`), "a group with no case run has its row");
  });
});

Deno.test("the not-run ids are capped on the pages, the rest counted", async () => {
  const n = MAX_MISSING_HTML + 234;
  const results = Array.from({ length: n + 1 }, (_, i) => result({ b: 1 + (i % 7), sk: 16 + i }));
  const r = report(results.slice(0, 1), {
    matrixIds: results.map((x) => x.id),
    shardIds: results.map((x) => x.id),
    interrupted: true,
  });
  await withTempDir(async (dir) => {
    await writeRunOutputs(dir, r, { jsonl: false });
    const html = await Deno.readTextFile(`${dir}/report.html`);
    assert.equal((html.match(/<li><code>/g) ?? []).length, MAX_MISSING_HTML);
    assert.ok(html.includes("…and 234 more"));
    const md = await Deno.readTextFile(`${dir}/summary.md`);
    assert.equal((md.match(/^- `/gm) ?? []).length, MAX_MISSING_ROWS);
    assert.ok(md.includes(`…and ${n - MAX_MISSING_ROWS} more`));
    // a matrix that cannot be read again: the cases not run still count, in a group of their own
    assert.ok(html.includes(`(not run, group unknown)</b>: ${n} cases: 0 passed, ${n} not run;`));
  });
});

Deno.test("a merge of one shard of two gives the missing shard's run and the merge again", async () => {
  const cases = await tinyCases();
  const ids = cases.map((c) => c.id);
  const mine = cases.filter((c) => inShard(c.id, { index: 1, count: 2 }));
  await withTempDir(async (tmp) => {
    const shard = report(mine.map(passed), {
      filter: FILTER,
      shard: "1/2",
      matrixIds: ids,
      shardIds: mine.map((c) => c.id),
    });
    await writeRunOutputs(`${tmp}/shard-1`, shard);
    const m = await mergeRuns([`${tmp}/shard-1`]);
    const finish = finishCommands(m.report, `${tmp}/merged`, { folders: m.folders });
    assert.deepEqual(finish, [
      `deno task harness run --matrix smoke --filter ${FILTER} --shard 2/2 --out ${tmp}/shard-2 ` +
      "--resume",
      `deno task harness merge ${tmp}/shard-1 ${tmp}/shard-2 --out ${tmp}/merged`,
    ]);
    await writeRunOutputs(`${tmp}/merged`, m.report, { finish });
    const html = await Deno.readTextFile(`${tmp}/merged/report.html`);
    const at = html.indexOf('<section id="missing">');
    const sec = html.slice(at, html.indexOf("</section>", at));
    assert.ok(sec.includes(finish.join("\n")), sec);
    // every group counts its missing cases
    for (const g of new Set(cases.map((c) => c.group!))) {
      const n = cases.filter((c) => c.group === g).length;
      const have = mine.filter((c) => c.group === g).length;
      assert.ok(
        html.includes(
          `<b>${escapeHtml(g)}</b>: ${n} case${n === 1 ? "" : "s"}: ${have} passed` +
            (n > have ? `, ${n - have} not run;` : ";"),
        ),
        g,
      );
    }
    const md = toMarkdown(m.report, { finish });
    assert.ok(md.includes("To complete the merge:\n\n```sh\n" + finish.join("\n")), md);
    // a stopped shard given to the merge is resumed, not run again
    const stopped = await mergeRuns([`${tmp}/shard-1`]);
    const again = finishCommands(stopped.report, `${tmp}/m2`, {
      folders: [{ dir: `${tmp}/shard-1`, shard: "1/2", interrupted: true }, {
        dir: `${tmp}/x`,
        shard: "2/2",
        interrupted: true,
      }],
    });
    assert.equal(
      again[0],
      `deno task harness run --matrix smoke --filter ${FILTER} --shard 2/2 --out ${tmp}/x --resume`,
    );
    // a shard rebuilt in place (`merge shard-1 --out shard-1`): the merge of both goes beside
    // it, as merge refuses an --out that is one of the folders merged
    const inPlace = finishCommands(m.report, `${tmp}/shard-1/`, { folders: m.folders });
    assert.equal(
      inPlace.at(-1),
      `deno task harness merge ${tmp}/shard-1 ${tmp}/shard-2 --out ${tmp}/shard-1-merged`,
    );
  });
});

Deno.test("a merge of a finished unsharded run that lacks cases gives its resume, not the merge alone", async () => {
  // results.jsonl of a finished run lost its last lines (a half-written one dropped): merge
  // said "to complete the merge: merge <dir> --out <dir>", which runs nothing
  const cases = await tinyCases();
  const ids = cases.map((c) => c.id);
  await withTempDir(async (tmp) => {
    const run = report(cases.slice(0, -1).map(passed), {
      filter: FILTER,
      matrixIds: ids,
      shardIds: ids,
    });
    await writeRunOutputs(`${tmp}/run`, run);
    const m = await mergeRuns([`${tmp}/run`]);
    assert.deepEqual(m.missing, [ids.at(-1)]);
    assert.deepEqual(finishCommands(m.report, `${tmp}/run`, { folders: m.folders }), [
      `deno task harness run --matrix smoke --filter ${FILTER} --out ${tmp}/run --resume`,
      `deno task harness merge ${tmp}/run --out ${tmp}/run`,
    ]);
  });
});

Deno.test("runCommandFor: a run made with --backend is resumed with it (a resume without it is refused)", () => {
  const r = { matrix: "smoke", filter: "preset=tiny;dtype=f32", shard: null } as const;
  assert.equal(
    runCommandFor({ ...r, backend: "wgsl-absorbed" }, "/o/x", true),
    "deno task harness run --matrix smoke --filter 'preset=tiny;dtype=f32' --backend wgsl-absorbed " +
      "--out /o/x --resume",
  );
  assert.doesNotMatch(runCommandFor(r, "/o/x", true), /--backend/);
});

Deno.test("runCommandFor: a run's --repeats and --warmup-ms are repeated, the defaults left out (a resume without them mixed the sample counts)", () => {
  const r = { matrix: "smoke", filter: null, shard: null } as const;
  assert.equal(
    runCommandFor({ ...r, repeats: 10, warmupMs: 200 }, "/o/x", true),
    "deno task harness run --matrix smoke --repeats 10 --warmup-ms 200 --out /o/x --resume",
  );
  assert.equal(
    runCommandFor({ ...r, repeats: 3, warmupMs: "auto" }, "/o/x", true),
    "deno task harness run --matrix smoke --out /o/x --resume",
  );
});

Deno.test("runCommandFor: a run's --max-rows is repeated, the default left out (a resume without it checked the rest on 64 rows)", () => {
  const r = { matrix: "smoke", filter: null, shard: null } as const;
  assert.equal(
    runCommandFor({ ...r, maxRows: 8 }, "/o/x", true),
    "deno task harness run --matrix smoke --max-rows 8 --out /o/x --resume",
  );
  assert.equal(
    runCommandFor({ ...r, maxRows: 64 }, "/o/x", true),
    "deno task harness run --matrix smoke --out /o/x --resume",
  );
});

// report.json did not record --case-timeout: summary.md, report.html and merge's commands
// resumed a run stopped by timeouts at 30 s with the default 600 (run's own terminal line
// alone added it), and a run at a longer limit than the default timed the same cases out.
Deno.test("runCommandFor: a run's --case-timeout is repeated, the default left out", () => {
  const r = { matrix: "smoke", filter: null, shard: null } as const;
  assert.equal(
    runCommandFor({ ...r, caseTimeoutS: 1200 }, "/o/x", true),
    "deno task harness run --matrix smoke --case-timeout 1200 --out /o/x --resume",
  );
  assert.equal(
    runCommandFor({ ...r, caseTimeoutS: 0 }, "/o/x", true),
    "deno task harness run --matrix smoke --case-timeout 0 --out /o/x --resume",
  );
  assert.equal(
    runCommandFor({ ...r, caseTimeoutS: 600 }, "/o/x", true),
    "deno task harness run --matrix smoke --out /o/x --resume",
  );
});

Deno.test("merge: the merged report keeps the shards' longest --case-timeout for its commands", async () => {
  const cases = await tinyCases();
  const ids = cases.map((c) => c.id);
  const one = cases.filter((c) => inShard(c.id, { index: 1, count: 3 }));
  const two = cases.filter((c) => inShard(c.id, { index: 2, count: 3 }));
  await withTempDir(async (tmp) => {
    const at = (shard: string, mine: typeof cases, caseTimeoutS: number) =>
      report(mine.map(passed), {
        filter: FILTER,
        shard,
        matrixIds: ids,
        shardIds: mine.map((c) => c.id),
        caseTimeoutS,
      });
    await writeRunOutputs(`${tmp}/shard-1`, at("1/3", one, 30));
    await writeRunOutputs(`${tmp}/shard-2`, at("2/3", two, 900));
    const m = await mergeRuns([`${tmp}/shard-1`, `${tmp}/shard-2`]);
    assert.equal(m.report.caseTimeoutS, 900);
    const [resume] = finishCommands(m.report, `${tmp}/merged`, { folders: m.folders });
    assert.equal(
      resume,
      `deno task harness run --matrix smoke --filter ${FILTER} --shard 3/3 --case-timeout 900 ` +
        `--out ${tmp}/shard-3 --resume`,
    );
  });
});

Deno.test("runCommandFor: a run in Chromium is resumed there, in its browser (the command without it was refused as another environment)", async () => {
  const r = { matrix: "smoke", filter: null, shard: null } as const;
  const browser = {
    name: "chromium",
    version: "HeadlessChrome/150",
    path: "/opt/my chrome/headless_shell",
    userAgent: "test",
  };
  const line = runCommandFor({ ...r, fingerprint: { browser } }, "/o/x", true);
  assert.equal(
    line,
    "deno task harness run --matrix smoke --runtime chromium --chromium '/opt/my chrome/headless_shell' " +
      "--out /o/x --resume",
  );
  const opts = await runOptionsOf(line);
  assert.equal(opts.runtime, "chromium");
  assert.equal(opts.chromium, "/opt/my chrome/headless_shell");
  // Deno's own WebGPU: no runtime words
  assert.doesNotMatch(runCommandFor({ ...r, fingerprint: {} }, "/o/x", true), /--runtime/);
});

/** The options `run` parses from a suggested command line (its action replaced: nothing runs). */
async function runOptionsOf(line: string) {
  const c = parseDocCommand(line, TASKS);
  assert.ok(c?.kind === "harness" && c.args[0] === "run", line);
  assert.deepEqual(checkHarnessArgs(c.args, HARNESS_SPEC), [], line);
  const cmd = runCommand().exitOverride();
  let parsed: ReturnType<typeof cmd.opts> | undefined;
  cmd.action((opts) => {
    parsed = opts;
  });
  await cmd.parseAsync(c.args.slice(1), { from: "user" });
  assert.ok(parsed !== undefined, line);
  return parsed;
}

Deno.test({
  name:
    "a merge's suggested run of a missing shard into a guessed folder resumes it: run parses it and finishes that shard's stopped run there",
  ignore: !(await hasAdapter()),
  fn: async () => {
    const cases = await tinyCases();
    const ids = cases.map((c) => c.id);
    const mine = cases.filter((c) => inShard(c.id, { index: 1, count: 2 }));
    await withTempDir(async (tmp) => {
      await writeRunOutputs(
        `${tmp}/shard-1`,
        report(mine.map(passed), {
          filter: FILTER,
          shard: "1/2",
          matrixIds: ids,
          shardIds: mine.map((c) => c.id),
        }),
      );
      const ctx = await GpuContext.create();
      try {
        // shard 2 was started in the folder the merge guesses, stopped, and not given to it
        const common = {
          matrix: "smoke",
          filter: FILTER,
          shard: { index: 2, count: 2 },
          out: `${tmp}/shard-2`,
          ctx,
          progress: SILENT_PROGRESS,
          writeReports: writeRunReports,
        };
        await stoppedRun(common);
        const m = await mergeRuns([`${tmp}/shard-1`]);
        const [line] = finishCommands(m.report, `${tmp}/merged`, { folders: m.folders });
        const o = await runOptionsOf(line);
        assert.equal(o.resume, true, line);
        assert.deepEqual(o.shard, common.shard, line);
        assert.equal(o.out, common.out, line);
        // as the command's action hands them on: it finishes the stopped run, not refused
        const done = await runMatrix({
          ...common,
          matrix: o.matrix,
          filter: o.filter,
          shard: o.shard,
          out: o.out,
          resume: o.resume,
          force: o.force,
          repeats: o.repeats,
          warmupMs: parseWarmupMs(o.warmupMs),
          testOnlyCaseRunner: PASS_STUB,
        });
        assert.equal(done.interrupted, false);
        assert.equal(done.results.length, done.shardIds.length);
      } finally {
        ctx.destroy();
      }
    });
  },
});

Deno.test("report.json: caseTimeoutS is a number of seconds >= 0 or absent", () => {
  assert.equal(runReportProblem(report([])), null);
  assert.equal(runReportProblem({ ...report([]), caseTimeoutS: 0 }), null);
  for (const bad of [-1, "600", Infinity]) {
    assert.match(
      String(runReportProblem({ ...report([]), caseTimeoutS: bad })),
      /field "caseTimeoutS" must be a number of seconds >= 0/,
    );
  }
});

// A run started outside the harness's folder: its resume and explain commands named the
// matrix file, --config-root, --out and the merge's folders as typed, which `deno task
// harness` (run in the harness's folder) read from there: they pointed nowhere.
Deno.test("runCommandFor, explainCommandFor, a merge's commands: relative paths made absolute, a bundled matrix's name kept", () => {
  const cwd = Deno.cwd();
  const r = { matrix: "m.json", filter: null, shard: null, configRoot: "cfg" } as const;
  assert.equal(
    runCommandFor(r, "out/x", true),
    `deno task harness run --matrix ${cwd}/m.json --config-root ${cwd}/cfg --out ${cwd}/out/x ` +
      "--resume",
  );
  assert.equal(
    explainCommandFor("preset=tiny", { ...r, backendModules: [] }),
    `deno task harness explain --case preset=tiny --matrix ${cwd}/m.json --config-root ${cwd}/cfg`,
  );
  assert.equal(
    runCommandFor({ matrix: "smoke", filter: null, shard: null }, "/o/x", true),
    "deno task harness run --matrix smoke --out /o/x --resume",
  );
  assert.equal(absolutePath("/a/b"), "/a/b");
  assert.equal(matrixWord("nightly"), "nightly");
  assert.equal(matrixWord("./nightly"), `${cwd}/nightly`);
});
