// Counts and their nouns in the reports' text and pages and the commands' lines: "1 case",
// never "1 cases" or "1 case(s)" (util/plural.ts, used by report/, drift/, the bench page,
// cli/ and runner/). GPU-free.
import assert from "node:assert/strict";
import { nounFor, plural } from "../util/plural.ts";
import { groupCountsText } from "../report/markdown.ts";
import { headerlessResults } from "../report/merge.ts";
import { type ProgressOutput, ProgressReporter, runReportHtml } from "../report/mod.ts";
import { toMarkdown } from "../report/markdown.ts";
import { interruptionWarning } from "../bench/report.ts";
import { benchReportHtml } from "../bench/bench_html.ts";
import { checkCasesInCommon } from "../drift/after_run.ts";
import { baselineOf, supportedCase } from "./drift_helpers.ts";
import { report, result } from "./report_util.ts";
import { benchFixture, historySeries } from "./report_html_fixtures.ts";
import { runCli } from "./helpers_cli.ts";
import { runSummaryLine } from "../cli/run.ts";
import { mergeLines } from "../cli/merge.ts";
import { historyText } from "../cli/history.ts";
import { filterReport } from "../cli/baseline.ts";
import { comparisonMarkdown } from "../cli/compare_runtimes.ts";

Deno.test("plural: 1 takes the singular, every other count the plural", () => {
  assert.equal(plural(1, "case"), "1 case");
  assert.equal(plural(2, "case"), "2 cases");
  assert.equal(plural(0, "case"), "0 cases");
  assert.equal(plural(1, "mismatch", "mismatches"), "1 mismatch");
  assert.equal(plural(3, "mismatch", "mismatches"), "3 mismatches");
  assert.equal(plural("1", "run"), "1 run");
  assert.equal(plural("1,024", "run"), "1,024 runs");
  assert.equal(nounFor(1, "series", "series"), "series");
  assert.equal(nounFor(1, "kernel"), "kernel");
  assert.equal(nounFor(2, "kernel"), "kernels");
});

Deno.test("report text: a count of 1 names one case, result or run; 2 names them in the plural", async () => {
  const counts = { passed: 1, failed: 0, errored: 0, skipped: 0, notRun: 0 };
  assert.equal(groupCountsText({ ...counts, total: 1 }), "1 case: 1 passed");
  assert.equal(groupCountsText({ ...counts, notRun: 1, total: 2 }), "2 cases: 1 passed, 1 not run");
  assert.ok(headerlessResults(1).startsWith("holds 1 result in results.jsonl"));
  assert.ok(headerlessResults(2).startsWith("holds 2 results in results.jsonl"));
  assert.match(
    interruptionWarning({ signal: "SIGINT", selected: 1, notRun: ["a"] }),
    /: 0 of 1 case ran; not run: a;/,
  );
  assert.match(
    interruptionWarning({ signal: "SIGINT", selected: 2, notRun: ["a"] }),
    /: 1 of 2 cases ran; not run: a;/,
  );
  // the run's summary.md and report.html headers, and the progress line's end
  const one = report([result({ b: 1 })]);
  const two = report([result({ b: 1 }), result({ b: 2 })]);
  assert.match(toMarkdown(one), /\*\*1 case\*\*: 1 pass,/);
  assert.match(toMarkdown(one), /<summary>1 passing case<\/summary>/);
  assert.match(toMarkdown(two), /\*\*2 cases\*\*: 2 pass,/);
  assert.match(toMarkdown(two), /<summary>2 passing cases<\/summary>/);
  const verdict = (html: string) => /id="verdict"[^>]*>([^<]*)/.exec(html)?.[1] ?? "";
  assert.match(verdict(await runReportHtml(one)), /^1 case: 1 pass,/);
  assert.match(verdict(await runReportHtml(two)), /^2 cases: 2 pass,/);
  const finish = (total: number) => {
    let text = "";
    const out: ProgressOutput = {
      writeSync: (p) => (text += new TextDecoder().decode(p), p.length),
      isTerminal: () => false,
    };
    const p = new ProgressReporter(total, { out, now: () => 0 });
    p.finish();
    return text.trim();
  };
  assert.match(finish(1), /^0\/1 case in /);
  assert.match(finish(2), /^0\/2 cases in /);
});

Deno.test("bench and drift text: a count of 1 in the singular, 2 in the plural", async () => {
  const bench = benchFixture();
  const verdict = (html: string) => /id="verdict"[^>]*>([^<]*)/.exec(html)?.[1] ?? "";
  assert.match(
    verdict(await benchReportHtml({ ...bench, records: bench.records.slice(0, 1) })),
    /^1 case: 1 measured,/,
  );
  assert.match(
    verdict(await benchReportHtml({ ...bench, records: bench.records.slice(0, 2) })),
    /^2 cases: 2 measured,/,
  );
  // drift: a run with no case in the baseline names both sides' counts
  const ids = (b: number[]) =>
    b.map((v) =>
      supportedCase(`preset=tiny;path=absorbed;dtype=f32;b=${v};sq=1;sk=20;layout=bshd;causal=1`)
    );
  const message = (current: number[], base: number[]) => {
    try {
      checkCasesInCommon(baselineOf(ids(base)), baselineOf(ids(current)), {
        base: "b.json",
        current: "run",
      });
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
    return "";
  };
  assert.match(message([1], [2]), /none of its 1 case is in b\.json \(1 case,/);
  assert.match(message([1, 3], [2, 4]), /none of its 2 cases is in b\.json \(2 cases,/);
});

Deno.test("cli and runner text: a count of 1 in the singular, the run line's form kept for more", async () => {
  // `run`'s last line: "1/1 cases:" before; people and scripts grep "N/M cases:"
  const one = report([result({ b: 1 })]);
  const two = report([result({ b: 1 }), result({ b: 2 })]);
  assert.equal(
    runSummaryLine(one, "out"),
    "1/1 case: 1 pass, 0 fail, 0 unexpected, 0 error; reports in out/",
  );
  assert.equal(
    runSummaryLine(two, "out"),
    "2/2 cases: 2 pass, 0 fail, 0 unexpected, 0 error; reports in out/",
  );
  // a stopped run (SIGTERM) said nothing of it on its last line
  assert.equal(
    runSummaryLine({ ...one, shardIds: [...two.shardIds, "x"], interrupted: true }, "out"),
    "1/3 cases: 1 pass, 0 fail, 0 unexpected, 0 error; interrupted, 2 cases not run; " +
      "reports in out/",
  );
  // merge's first line: "merged 1 dirs: 1/1 cases"
  const merged = (r: typeof one) => ({
    report: r,
    missing: [],
    duplicated: [],
    mismatched: [],
    corruptTails: [],
    rebuilt: [],
  });
  assert.equal(
    mergeLines(merged(one), 1)[0],
    "merged 1 dir: 1/1 case; 1 pass, 0 fail, 0 unexpected, 0 error",
  );
  assert.equal(
    mergeLines(merged(two), 2)[0],
    "merged 2 dirs: 2/2 cases; 2 pass, 0 fail, 0 unexpected, 0 error",
  );
  // history's series header: "over 1 runs"
  assert.match(historyText([historySeries([1], [])], "median_ms"), /: median_ms over 1 run\n/);
  assert.match(historyText([historySeries([1, 2], [])], "median_ms"), /: median_ms over 2 runs\n/);
  // baseline update --from-report --filter that selects nothing: "none of the 1 cases"
  assert.throws(() => filterReport(one, "b=9", "r.json"), /selects none of the 1 case of the run/);
  assert.throws(() => filterReport(two, "b=9", "r.json"), /selects none of the 2 cases of the run/);
  // compare-runtimes' report of an interrupted comparison
  const header = (selected: number) => ({
    deno: "d",
    chromium: "c",
    sameDriver: true,
    matrix: "m",
    interrupted: { signal: "SIGINT" as const, selected, notRun: ["a"] },
  });
  assert.match(comparisonMarkdown([], header(1)), /: 0 of 1 selected case ran; 1 not run/);
  assert.match(comparisonMarkdown([], header(2)), /: 1 of 2 selected cases ran; 1 not run/);
  // explain --case naming no case of a one-case matrix: "(1 cases; the nearest: ...)"
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/m.json`,
      JSON.stringify({ name: "m", groups: [{ axes: { preset: "tiny", b: 1, sq: 1, sk: 8 } }] }),
    );
    const r = await runCli(["explain", "--case", "preset=tiny;b=2", "--matrix", `${dir}/m.json`]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /has no case "preset=tiny;b=2" \(1 case; the nearest: /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("merged report: one missing case is 'it', not 'them', in summary.md and report.html", async () => {
  const ran = result({ b: 1 });
  const lost = "preset=tiny;path=absorbed;dtype=f32;b=9;sq=1;sk=16;layout=bshd;causal=1";
  const ids = [ran.id, lost];
  const one = report([ran], { matrixIds: ids, shardIds: ids, missing: [lost] });
  assert.match(
    toMarkdown(one),
    /1 of 2 cases missing\*\*: no folder merged has a result for it \(a shard not given, or a run that stopped before it; listed under Missing cases; counted as not run\)/,
  );
  assert.match(
    await runReportHtml(one),
    /1 of 2 cases missing: no folder merged has a result for it \(a shard not given, or a run that stopped before it\), so this report is not a complete run of its matrix \(it counts as not run\)/,
  );
});
