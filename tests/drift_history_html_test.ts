// The history page (`history --html`) and text: a series with a step is drawn whatever its
// place in id order (before, the 12 charts were the first 12 series by id, and a flagged step
// later in the order had none), and a history too short for a step says so instead of a
// green "no step change". GPU-free.
import assert from "node:assert/strict";
import {
  historyReportHtml,
  historyValue,
  historyYDomain,
  MAX_HISTORY_CHARTS,
} from "../drift/history_html.ts";
import { detectSteps, minStepRuns, splitPermutationP } from "../drift/step_detect.ts";
import { stepSearchRuns, tooShortForSteps } from "../drift/history.ts";
import type { Series } from "../drift/history.ts";
import { historyText } from "../cli/history.ts";
import { historySeries } from "./report_html_fixtures.ts";
import { figure } from "./chart_svg.ts";

const series = (caseId: string, values: readonly number[]): Series =>
  historySeries(values, detectSteps(values), { caseId });

/** The titles of the drawn charts' series (their first title line), in page order. */
function drawnSeries(html: string): string[] {
  return [...html.matchAll(/<figcaption>([^<:]*):/g)].map((m) => m[1]);
}

Deno.test("history page: a series with a step is drawn, though past the cap in id order", async () => {
  const flat = [1, 1.01, 0.99, 1, 1.02, 1, 0.99, 1.01];
  const stepped = [1, 1.01, 0.99, 1, 3, 3.03, 2.97, 3];
  // 20 flat cases, and the stepped one last by id (b=9 sorts after b=19)
  const list = Array.from({ length: 20 }, (_, i) => series(`preset=tiny;b=${i + 10}`, flat));
  list.push(series("preset=tiny;b=9", stepped));
  assert.equal(list.at(-1)!.steps.length, 1);
  const html = await historyReportHtml(list, "median_ms");
  assert.match(html, /1 step change in 21 series/);
  const drawn = drawnSeries(html);
  assert.equal(drawn.length, MAX_HISTORY_CHARTS);
  assert.equal(drawn[0], "preset=tiny;b=9", drawn.join(" | "));
  // the rest in id order after it
  assert.deepEqual(drawn.slice(1), list.slice(0, 20).map((s) => s.caseId).sort().slice(0, 11));
  assert.match(html, /9 more series not drawn/);
});

Deno.test("history page and text: 3 runs are too few for a step, amber: no green all-clear, no red failure", async () => {
  const list = [series("preset=tiny;b=1", [1, 1, 1]), series("preset=tiny;b=2", [2, 2, 2])];
  assert.equal(stepSearchRuns(list[0]), 3);
  assert.equal(tooShortForSteps(list, { minSegment: 3 }).length, 2);
  const html = await historyReportHtml(list, "median_ms", { minSegment: 3 });
  assert.doesNotMatch(html, /No step change/);
  assert.match(
    html,
    /<p class="verdict warn" id="verdict">Too few runs to detect a step: at most 3 runs a series; a step needs at least 8 runs \(fewer cannot reach p &lt; 0\.05 with min-segment 3\)/,
  );
  assert.match(html, /too few runs to detect a step \(a step needs at least 8 runs/);
  const text = historyText(list, "median_ms", { minSegment: 3 });
  assert.doesNotMatch(text, /no step change/);
  assert.match(
    text,
    /too few runs to detect a step: 3; a step needs at least 8 \(fewer cannot reach p < 0\.05 in the permutation test with --min-segment 3\)/,
  );
  // 8 runs can show a step: the search was made, and found none
  const long = [
    series("preset=tiny;b=1", Array(8).fill(1)),
    series("preset=tiny;b=2", Array(8).fill(2)),
  ];
  const eight = await historyReportHtml(long, "median_ms", { minSegment: 3 });
  assert.match(eight, /<p class="verdict ok" id="verdict">No step change in 2 series/);
  assert.match(historyText(long, "median_ms", { minSegment: 3 }), /no step change/);
});

Deno.test("history: a 10x step in 6 or 7 runs can never reach p < 0.05, and says too few runs (it said no step change)", () => {
  for (const n of [6, 7]) {
    const values = Array.from({ length: n }, (_, i) => (i < 3 ? 1 : 10) * (1 + i * 1e-3));
    const s = series("preset=tiny;b=1", values);
    assert.deepEqual(s.steps, [], `${n} runs`);
    // the best order of n runs: its permutation p, not below 0.05
    assert.ok(splitPermutationP(values, 3) >= 0.05);
    const text = historyText([s], "median_ms");
    assert.doesNotMatch(text, /no step change/);
    assert.match(text, new RegExp(`too few runs to detect a step: ${n}; a step needs at least 8`));
  }
  // 8 runs: the same step is flagged
  const eight = Array.from({ length: 8 }, (_, i) => (i < 4 ? 1 : 10) * (1 + i * 1e-3));
  assert.equal(detectSteps(eight).length, 1);
  assert.equal(minStepRuns(3, 0.05), 8);
  // fewer a side, or a looser alpha, do not make 6 runs enough either (the order of 6 runs
  // that separates best reaches p 0.103)
  assert.equal(minStepRuns(1, 0.05), 8);
  assert.equal(minStepRuns(3, 0.2), 6);
  assert.equal(minStepRuns(3, 1 / 4000), null);
  assert.match(
    historyText([series("b=1", Array(8).fill(1))], "median_ms", { alpha: 1 / 4000 }),
    /too few runs to detect a step: 8; no number of runs can show a step at --alpha 0\.00025 \(the permutation test's smallest p is 1\/2000\)/,
  );
});

Deno.test("history page: some series long enough and some not: no all-clear for the short ones", async () => {
  const list = [
    series("preset=tiny;b=1", [1, 1, 1, 1, 1, 1, 1, 1]),
    series("preset=tiny;b=2", [2, 2, 2]),
  ];
  const html = await historyReportHtml(list, "median_ms");
  assert.match(
    html,
    /class="verdict warn" id="verdict">No step change in the 1 series with enough runs; 1 of 2 has too few runs to detect a step \(at most 3; a step needs at least 8 runs/,
  );
});

Deno.test("history page: an error metric's y ticks are in exponent form, the time axis names ms (a flat 1.6e-7 series' tick read 0.000000)", async () => {
  const flat = Array(8).fill(1.603e-7);
  const html = await historyReportHtml([series("preset=tiny;b=1", flat)], "out_max_abs");
  const { svg } = figure(html, "history");
  const ticks = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
  assert.ok(ticks.some((t) => /^1\.6e-7$/.test(t)), ticks.join(" | "));
  assert.ok(!ticks.some((t) => /^0\.0+$/.test(t)), ticks.join(" | "));
  const ms = await historyReportHtml([series("preset=tiny;b=1", [1, 2, 3, 4, 5, 6])], "median_ms");
  assert.ok(figure(ms, "history").svg.includes(">median (ms)<"));
});

Deno.test("history page: the y axis is no narrower than ±10% about its middle, and its caption says it is not from 0", async () => {
  // ±2% of noise filled the plot's height (ticks 0.98 to 1.02), with nothing saying the axis
  // did not start at 0
  const noisy = [1, 1.02, 0.98, 1.01, 0.99, 1, 1.02, 0.98];
  const html = await historyReportHtml([series("preset=tiny;b=1", noisy)], "median_ms");
  assert.match(html, /y axis from 0\.9 to 1\.1 ms, not from 0 \(at least ±10% about the middle/);
  const ticks = [...figure(html, "history").svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)]
    .map((m) => m[1]);
  assert.ok(ticks.includes("0.9") && ticks.includes("1.1"), ticks.join(" | "));
  assert.ok(!ticks.includes("0.99"), ticks.join(" | "));
  // a range wider than that is the data's; one reaching down to 0 says so
  const wide = await historyReportHtml(
    [series("preset=tiny;b=1", [1, 3, 1, 3, 1, 3])],
    "median_ms",
  );
  assert.match(wide, /y axis from 1 to 3 ms, not from 0/);
  const low = await historyReportHtml([series("preset=tiny;b=1", [0, 1, 0, 1, 0, 1])], "median_ms");
  assert.match(low, /y axis from 0 to 1 ms \(/);
  assert.equal(historyYDomain([0, 0]), null);
});

Deno.test("history page header: every revision and Deno with its runs (it named the newest run's alone)", async () => {
  const s = series("preset=tiny;b=1", [1, 1, 1, 1, 1, 1, 1, 1]);
  const points = s.points.map((p, i) => ({
    ...p,
    harnessRevision: i < 4 ? "6f644d95aaaaaaaaaaaa" : "ebbc0b9cbbbbbbbbbbbb-dirty",
    deno: i < 6 ? "2.9.5" : "2.9.6",
  }));
  const html = await historyReportHtml([{ ...s, points }], "median_ms");
  assert.match(
    html,
    /<dt>Revision<\/dt><dd>6f644d95aaaa \(runs 1-4\), ebbc0b9cbbbb-dirty \(runs 5-8\)<\/dd>/,
  );
  assert.match(html, /<dt>Deno<\/dt><dd>2\.9\.5 \(runs 1-6\), 2\.9\.6 \(runs 7-8\)<\/dd>/);
  // one value: as before
  assert.match(await historyReportHtml([s], "median_ms"), /<dt>Deno<\/dt><dd>2\.9\.6<\/dd>/);
});

/** The `d` of each history chart's line, in page order. */
function linePaths(html: string): string[] {
  return [...html.matchAll(/<g class="mark-line role-mark[^"]*"[^>]*><path [^>]*\bd="([^"]*)"/g)]
    .map((m) => m[1]);
}

Deno.test("history page: a series' line breaks over the runs its case is missing from", async () => {
  // A case absent from runs 21 to 26 of 60 had its line drawn straight across them, as if it
  // had been measured there (audit 2026-12-07, hist60 history.html).
  const runIds = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const full = historySeries(runIds.map(() => 1), [], { caseId: "preset=tiny;b=1", runIds });
  const gapped = historySeries([1, 1.1, 1, 1.1, 1, 1.1, 1], [], {
    caseId: "preset=tiny;b=2",
    runIds: [1, 2, 3, 4, 8, 9, 10],
  });
  const html = await historyReportHtml([full, gapped], "median_ms");
  const paths = linePaths(html);
  assert.equal(paths.length, 2, "b=1's and b=2's lines");
  const moves = (d: string) => (d.match(/M/g) ?? []).length;
  // in page order: b=1 (every run), b=2 (two pieces: runs 1-4, 8-10)
  assert.deepEqual(paths.map(moves), [1, 2], paths.join("\n"));
  // b=2's chart still has its 7 points, and says 7 runs
  assert.match(html, /preset=tiny;b=2: median_ms over 7 runs/);
  const b2 = html.slice(html.indexOf('<figure class="chart" data-chart="history" data-marks="7">'));
  assert.equal(figure(b2, "history").marks, 7);
});

Deno.test("history page: the geometric mean's line breaks where its set of cases changes, and says so", async () => {
  // Of 60 runs, a case missing from runs 21 to 26 moved the mean of the others there; its
  // line joined those runs to the rest as if the speed had moved (audit 2026-12-07).
  const runIds = [1, 2, 3, 4, 5, 6, 7, 8];
  const mean = historySeries([1, 1, 1, 1.2, 1.2, 1, 1, 1], [], { caseId: "*", runIds });
  const cases = (i: number) => i === 3 || i === 4 ? "2 cases bbbbbbbb" : "3 cases aaaaaaaa";
  const withCases: Series = {
    ...mean,
    points: mean.points.map((p, i) => ({ ...p, cases: cases(i) })),
  };
  const html = await historyReportHtml([withCases], "median_ms");
  const paths = linePaths(html);
  assert.equal(paths.length, 1);
  assert.equal((paths[0].match(/M/g) ?? []).length, 3, paths[0]);
  assert.match(html, /the line breaks between runs that are not compared/);
  assert.match(html, /<title>[^<]*run: 4;[^<]*cases: 2 cases bbbbbbbb/);
  // one set of cases throughout: one line, no such words
  const one = await historyReportHtml([{
    ...mean,
    points: mean.points.map((p) => ({ ...p, cases: "3 cases aaaaaaaa" })),
  }], "median_ms");
  assert.equal((linePaths(one)[0].match(/M/g) ?? []).length, 1);
  assert.doesNotMatch(one, /line breaks/);
});

Deno.test("history page: with runs of several devices, the steps table names each step's device", async () => {
  const stepped = series("preset=tiny;b=9", [1, 1.01, 0.99, 1, 3, 3.03, 2.97, 3]);
  // another device's runs of the same case (a database of two runners)
  const other: Series = {
    ...series("preset=tiny;b=8", [5, 5.1, 4.9, 5]),
    points: series("preset=tiny;b=8", [5, 5.1, 4.9, 5]).points.map((p, i) => ({
      ...p,
      runId: 20 + i,
      deviceKey: "nvidia-h200-4318-9013-vulkan",
    })),
  };
  const html = await historyReportHtml([stepped, other], "median_ms");
  assert.match(html, /<th>at run<\/th><th>device<\/th>/);
  assert.match(html, /<td class="n">5<\/td><td>llvmpipe-65541-vulkan<\/td>/);
  // one device: no such column
  assert.doesNotMatch(await historyReportHtml([stepped], "median_ms"), /<th>device<\/th>/);
});

Deno.test("history text: a case missing from some runs names the runs its values belong to", () => {
  const whole = historySeries([1, 2, 3], [], { caseId: "preset=tiny;b=1" });
  const gappy = historySeries([4, 5], [], { caseId: "preset=tiny;b=2", runIds: [1, 3] });
  const text = historyText([whole, gappy], "median_ms");
  const lines = text.split("\n");
  const at = lines.findIndex((l) => l.startsWith("preset=tiny;b=2:"));
  assert.equal(lines[at + 1], "  runs 1, 3 (not in run 2, where the case gave no median_ms):");
  assert.match(lines[at + 2], /^ {2}4(\.0+)? 5(\.0+)?$/);
  // a case in every run keeps its one line of values
  const first = lines.findIndex((l) => l.startsWith("preset=tiny;b=1:"));
  assert.match(lines[first + 1], /^ {2}1(\.0+)? 2(\.0+)? 3(\.0+)?$/);
});

Deno.test("history page: runs stored out of start order are drawn in start order, the axis naming their ids", async () => {
  // Two nightly jobs appending at once, or an older night added later: ids out of start
  // order. The chart drew each run at its id, a zig-zag between the two levels, and the
  // step's rule between ids 8 and 13 at 10.5, beside runs of the old level.
  const runIds = [11, 10, 1, 3, 2, 12, 4, 8, 13, 9, 16, 7, 5, 14, 15, 6];
  const values = runIds.map((_, i) => i < 8 ? 1 : 2);
  const s: Series = {
    caseId: "preset=tiny;b=1",
    points: values.map((value, i) => ({
      runId: runIds[i],
      startedAt: `2026-11-${String(i + 1).padStart(2, "0")}T02:17:00Z`,
      deno: "2.9.6",
      harnessRevision: "abc",
      deviceKey: "llvmpipe-65541-vulkan",
      value,
    })),
    steps: detectSteps(values),
  };
  assert.equal(s.steps.length, 1);
  const html = await historyReportHtml([s], "median_ms");
  const [d] = linePaths(html);
  const xy = [...d.matchAll(/(-?[\d.]+),(-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
  assert.equal(xy.length, 16, d);
  // x rises along the line, and y changes once: the old level, then the new one
  xy.slice(1).forEach(([x], i) => assert.ok(x > xy[i][0], d));
  const levels = xy.filter(([, y], i) => i === 0 || y !== xy[i - 1][1]).length;
  assert.equal(levels, 2, d);
  // the axis' labels are the runs' ids in start order
  const ticks = [...html.matchAll(/<text[^>]*>(\d+)<\/text>/g)].map((m) => m[1]);
  assert.ok(ticks.join(",").includes("11,10,1,3,2,12,4,8,13"), ticks.join(","));
  // a point's hover title names its run by id, not by its place on the axis
  const titles = [...html.matchAll(/<title>(run[^<]*)<\/title>/g)].map((m) => m[1]);
  assert.ok(titles.some((t) => t.startsWith("run: 11; started: 2026-11-01T02:17:00Z;")), titles[0]);
  assert.ok(titles.every((t) => !/start order: \d/.test(t)), titles[0]);
  // ids in start order: x is the id, as before
  assert.doesNotMatch(
    await historyReportHtml([historySeries(values, detectSteps(values))], "median_ms"),
    /in start order/,
  );
});

Deno.test("history page: the geometric mean's caption says which cases' values of 0 it leaves out, and the runs it has no point for", async () => {
  // an exact f16 layer case (out_max_abs 0 in every run) beside an f32 one: the mean is the
  // f32 case's alone, under the title "all matched cases"; in run 4 both are 0: no point
  const exact = historySeries([0, 0, 0, 0], [], { caseId: "preset=tiny;dtype=f16" });
  const f32 = historySeries([6e-7, 6e-7, 6e-7, 0], [], { caseId: "preset=tiny;dtype=f32" });
  const mean: Series = {
    ...historySeries([6e-7, 6e-7, 6e-7], [], { caseId: "*" }),
    noMean: [4],
  };
  const html = await historyReportHtml([mean, exact, f32], "out_max_abs");
  const caption = /<figcaption>all matched cases \(geometric mean per run\)[^<]*<\/figcaption>/
    .exec(html)?.[0] ?? "";
  assert.match(
    caption,
    /values of exactly 0 have no geometric mean: in runs 1-3 it is over 1 of the 2 cases with a value; run 4 has no point \(every case(?:'|&#39;)s out_max_abs is 0\)/,
  );
  // a mean over every case says nothing of it
  const plain = await historyReportHtml([
    historySeries([6e-7, 6e-7], [], { caseId: "*" }),
    historySeries([6e-7, 6e-7], [], { caseId: "preset=tiny;dtype=f32" }),
  ], "out_max_abs");
  assert.doesNotMatch(plain, /no geometric mean/);
});

// The steps table wrote an error metric's step as "1.23e-7" → "1.57e-7", "27.0%", p
// "3.00e-3" where the terminal's STEP line says "1.234e-7 → 1.567e-7 (+27.0%, permutation
// p = 0.0030)", and a point's hover its value unrounded twice ("out_max_abs:
// 1.23456789e-7; ...; value: 1.2345678900000001e-7"): the page now writes them as the terminal.
Deno.test("history page: a step's figures and a point's hover as the terminal writes them", async () => {
  const values = [
    1.2345e-7,
    1.235e-7,
    1.2341e-7,
    1.2346e-7,
    1.5671e-7,
    1.567e-7,
    1.5672e-7,
    1.5669e-7,
  ];
  const s = series("preset=tiny;b=9", values);
  assert.equal(s.steps.length, 1);
  const html = await historyReportHtml([s], "out_max_abs");
  const st = s.steps[0];
  const text = historyText([s], "out_max_abs");
  const line = text.split("\n").find((l) => l.includes("STEP at run"))!;
  const m = /: (\S+) → (\S+) \((\S+), permutation p = (\S+)\)/.exec(line)!;
  assert.ok(m, line);
  const [, before, after, change, p] = m;
  assert.ok(
    html.includes(
      `<td class="n">${before}</td><td class="n">${after}</td><td class="n">${change}</td>` +
        `<td class="n">${p}</td>`,
    ),
    `${line}\n${
      html.slice(html.indexOf('<section id="steps"'), html.indexOf('<section id="steps"') + 900)
    }`,
  );
  assert.equal(before, historyValue(st.before));
  const titles = [...figure(html, "history").svg.matchAll(/<title>([^<]*)<\/title>/g)].map((t) =>
    t[1]
  );
  assert.ok(titles.some((t) => t.endsWith("value: 1.234e-7")), titles.join("\n"));
  assert.ok(
    titles.every((t) => !/\d{6}/.test(t.replace(/\d{4}-\d{2}-\d{2}T[\d:.]+Z/g, ""))),
    titles.join("\n"),
  );
});

// A step's red rule hovered "x: 4.5" (a run between two runs); the headroom plot's rule "x: 1"
// and the drift plot's "y: 1": each now says what it is.
Deno.test("history page: a step's rule hovers the step, not its place on the axis", async () => {
  const s = series("preset=tiny;b=9", [1, 1.01, 0.99, 1, 3, 3.03, 2.97, 3]);
  const html = await historyReportHtml([s], "median_ms");
  const titles = [...figure(html, "history").svg.matchAll(/<title>([^<]*)<\/title>/g)].map((t) =>
    t[1]
  );
  assert.ok(titles.includes("step at run 5: +200.0%"), titles.join("\n"));
  assert.ok(!titles.some((t) => /^x: /.test(t)), titles.join("\n"));
});

Deno.test("history page: the runs' labels (history --add --label) in the header, the steps table and the hover", async () => {
  const s = series("preset=tiny;b=1", [1, 1.01, 0.99, 1, 3, 3.03, 2.97, 3]);
  assert.equal(s.steps.length, 1);
  const points = s.points.map((p, i) => i < 4 ? p : { ...p, label: `night ${i + 1}` });
  const html = await historyReportHtml([{ ...s, points }], "median_ms");
  assert.match(
    html,
    /<dt>Labels<\/dt><dd>– \(runs 1-4\), night 5 \(run 5\), night 6 \(run 6\), /,
  );
  assert.match(html, /<td class="n">5 \(night 5\)<\/td>/);
  const titles = [...figure(html, "history").svg.matchAll(/<title>([^<]*)<\/title>/g)].map((t) =>
    t[1]
  );
  assert.ok(titles.some((t) => t.startsWith("run: 6 (night 6); started: ")), titles.join("\n"));
  // no labels: no Labels line
  assert.doesNotMatch(await historyReportHtml([s], "median_ms"), /<dt>Labels/);
});

Deno.test("history text and page share one value format: cli/history.ts has no copy of historyValue's", async () => {
  // a copy of the rule (toFixed(4) / toExponential(3)) in cli/history.ts could drift from the
  // page's; the terminal's values come from historyValue
  const src = await Deno.readTextFile(new URL("../cli/history.ts", import.meta.url));
  assert.doesNotMatch(src, /toExponential\(3\)|toFixed\(4\)/);
  const text = historyText(
    [series("preset=tiny;b=1", [1.2341e-7, 0.569459, 12345.6])],
    "out_max_abs",
  );
  assert.match(text, / 1\.234e-7\n.* 0\.5695\n.* 1\.235e\+4\n/);
});
