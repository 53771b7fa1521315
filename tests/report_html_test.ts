// The HTML reports (report/html/): content, order, plots as inline SVG with the expected
// number of marks, self-containment, the size cap, and the CLI hooks. GPU-free.
import assert from "node:assert/strict";
import { compareBaselines } from "../drift/mod.ts";
import {
  CAPPED_BARE_GROUPS,
  CAPPED_FAILURE_CARDS,
  CAPPED_FAILURE_ROWS,
  CAPPED_PLOT_GROUPS,
  cappedPlotGroups,
  LAST_FAILURE_ROWS,
  OPEN_FAILURES,
  PLOT_GROUP_MIN_BYTES,
  renderSvg,
  runReportHtml,
  shortGroupLabels,
  textWidth,
  TOP_AXIS_GROUPS,
} from "../report/html/mod.ts";
import { formatTable, toMarkdown as toBenchMarkdown } from "../bench/report.ts";
import { headroomFigure, toMarkdown } from "../report/markdown.ts";
import { toJunitXml } from "../report/junit.ts";
import { runVerdict } from "../report/verdict.ts";
import {
  benchReportHtml,
  crossoverPoints,
  passPoints,
  rooflinePoints,
} from "../bench/bench_html.ts";
import { benchFigure, benchRate } from "../bench/figure.ts";
import { compareReportHtml, driftPlotData, driftPoints } from "../drift/drift_html.ts";
import { compareToMarkdown } from "../drift/render.ts";
import { historyReportHtml } from "../drift/history_html.ts";
import { detectSteps } from "../drift/step_detect.ts";
import type { Series } from "../drift/history.ts";
import {
  BENCH_FIXTURE_CROSSOVER_POINTS,
  BENCH_FIXTURE_ROOFLINE_POINTS,
  benchFixture,
  historySeries,
  PLANTED_ID_B,
  RUN_FIXTURE_HEADROOM_POINTS,
  runFixture,
} from "./report_html_fixtures.ts";
import {
  baselineOf,
  lavapipeFingerprint,
  samples,
  supportedCase,
  timing,
} from "./drift_helpers.ts";
import { runCli } from "./helpers_cli.ts";
import { drawn, figure } from "./chart_svg.ts";
import { fingerprint, parity, report, result, withTempDir } from "./report_util.ts";
import type { ParityRecord } from "../results/types.ts";

/** The x of each item a layer draws (its `translate(x,y)`). */
function drawnX(svg: string, mark: "symbol" | "rule", layer: string): number[] {
  const re = new RegExp(`<g class="mark-${mark} role-mark ${layer}_marks"[^>]*>([\\s\\S]*?)</g>`);
  const body = re.exec(svg)?.[1] ?? "";
  return [...body.matchAll(/transform="translate\(([-\d.]+),/g)].map((m) => Number(m[1]));
}

/** Nothing in the page loads from anywhere (SVG namespace URIs are names, not loads). */
function assertSelfContained(html: string): void {
  const stripped = html.replace(/xmlns(:xlink)?="http:\/\/www\.w3\.org\/[^"]*"/g, "");
  assert.ok(!/https?:\/\//.test(stripped), "the page references a URL");
  assert.ok(!/<(link|img|iframe)\b/i.test(html), "the page loads a resource");
  assert.ok(!/<script[^>]*\bsrc=/i.test(html), "the page loads a script");
}

Deno.test("html run: a run with failures shows them before the cases it did not cover", async () => {
  // `run --runtime chromium` of a matrix with f16 cases and a refused config: the red page's
  // "Not covered on this device" section (amber: its reasons, fix and ids) came first and the
  // unexpected decisions that made it red were below it, screens down on a phone.
  const refused = (b: number) =>
    result({ b, dtype: "f16" }, {
      decision: "unsupported",
      message: "unsupported: no shader-f16",
      out: undefined,
      backend: undefined,
      reasons: [{ code: "dtype.f16-unavailable", message: "dtype f16 needs shader-f16" }],
    });
  const failed = result({ b: 9 }, { status: "fail", out: parity(false) });
  const html = await runReportHtml(report([refused(1), refused(2), failed]));
  const failures = html.indexOf('<section id="failures">');
  const notCovered = html.indexOf('<section id="not-covered">');
  assert.ok(failures > 0 && notCovered > 0, "both sections");
  assert.ok(failures < notCovered, "the failures come before what was not covered");
});

Deno.test("html run: a headroom reads as in summary.md (case cells and a group's worst)", async () => {
  // the page wrote four decimals: "0.2500" and "4.00e-5" where summary.md wrote "0.250" and
  // "4.0e-5"
  const r = result({ b: 1 }, {
    out: { ...parity(true), headroom: 0.25 },
    lse: { ...parity(true), headroom: 4e-5 },
  });
  const html = await runReportHtml(report([r]));
  const md = toMarkdown(report([r]));
  assert.match(md, /0\.250 \/ 4\.0e-5/);
  assert.match(md, /\| 0\.250 \|/);
  assert.match(html, /worst headroom 0\.250<\/summary>/);
  const row = html.slice(html.indexOf(`<tr data-id="${r.id}">`));
  assert.match(
    row.slice(0, row.indexOf("</tr>")),
    /<td class="n">0\.250<\/td><td class="n">4\.0e-5<\/td>/,
  );
  // the headroom plot's hover too: it read "headroom: 66.36" and "1.10e+4" beside the cells'
  // "66.356" and "1.1e+4"
  const wide = result({ b: 2 }, {
    out: { ...parity(true), headroom: 66.356 },
    lse: { ...parity(true), headroom: 11012 },
  });
  const plot = await runReportHtml(report([wide]));
  assert.match(plot, /<title>[^<]*side: out; [^<]*headroom: 66\.356<\/title>/);
  assert.match(plot, /<title>[^<]*side: lse; [^<]*headroom: 1\.1e\+4<\/title>/);
  // the rule at 1 hovered "x: 1"
  assert.match(plot, /<title>headroom 1: the error at its allowance \(above it fails\)<\/title>/);
  assert.doesNotMatch(plot, /<title>x: 1<\/title>/);
});

Deno.test("html run and summary.md: a headroom just past 1 does not read as 1.000 beside one just under", async () => {
  // 1.0004 fails and 0.99996 passes; both read "1.000" in summary.md and report.html
  const r = result({ b: 1 }, {
    status: "fail",
    out: { ...parity(false), headroom: 1.0004 },
    lse: { ...parity(true), headroom: 0.99996 },
  });
  const html = await runReportHtml(report([r]));
  const md = toMarkdown(report([r]));
  assert.match(md, /1\.0004 \/ 0\.99996/);
  assert.match(html, /worst headroom 1\.0004<\/summary>/);
  const row = html.slice(html.indexOf(`<tr data-id="${r.id}">`));
  assert.match(
    row.slice(0, row.indexOf("</tr>")),
    /<td class="n">1\.0004<\/td><td class="n">0\.99996<\/td>/,
  );
  assert.equal(headroomFigure(1), "1.000");
  assert.equal(headroomFigure(0.9994), "0.999");
});

Deno.test("html run: a group whose cases failed on non-finite values says so by its worst headroom", async () => {
  // `run --backend-module <a kernel writing a NaN and an inf>`: every case failed on
  // nonfinite-mismatch, its finite errors within tolerance, and each group read "4 failed;
  // worst headroom 0.0380", a figure that says within tolerance.
  const nonfinite = (b: number, headroom: number) =>
    result({ b }, {
      status: "fail",
      out: { ...parity(false), checks: ["nonfinite-mismatch"], headroom },
      lse: { ...parity(true), headroom: 0.01 },
    });
  const html = await runReportHtml(
    report([nonfinite(1, 0.038), nonfinite(2, 0.02), result({ b: 3 }, { group: "clean" })]),
  );
  assert.match(
    html,
    /: 2 cases: 0 passed, 2 failed; worst headroom 0\.038 \(2 failed on nonfinite-mismatch, which headroom does not measure\)<\/summary>/,
  );
  // a group whose failures are past the rule, or that has none, reads as before
  assert.match(html, /<b>clean<\/b>: 1 case: 1 passed; worst headroom [^<(]*<\/summary>/);
  const past = await runReportHtml(report([
    result({ b: 1 }, { status: "fail", out: { ...parity(false), headroom: 3 } }),
  ]));
  assert.match(past, /1 failed; worst headroom 3\.000<\/summary>/);
});

Deno.test("html run: the headroom plot names the groups it has no row for (every case errored or not run)", async () => {
  // a group whose every case timed out, and an interrupted run's group that never ran, were
  // left out of the plot unsaid: it read as if every group were in it, all within tolerance
  const timedOut = (b: number) =>
    result({ b }, {
      group: "full layer",
      status: "error",
      message: "timed out",
      out: undefined,
      lse: undefined,
    });
  const lost = "preset=tiny;path=absorbed;dtype=f32;b=9;sq=1;sk=16;layout=bshd;causal=1";
  const measured = result({ b: 1 }, { group: "decode", out: { ...parity(true), headroom: 0.1 } });
  const ran = [measured, timedOut(2), timedOut(3)];
  const ids = [...ran.map((r) => r.id), lost];
  const html = await runReportHtml(
    report(ran, { matrixIds: ids, shardIds: ids, interrupted: true }),
    { notRunGroups: new Map([[lost, "paged"]]) },
  );
  const caption =
    /data-chart="headroom"[\s\S]*?<figcaption>([\s\S]*?)<\/figcaption>/.exec(html)?.[1] ??
      "";
  assert.match(
    caption,
    /Not drawn: 2 groups with no case that measured a headroom: full layer \(2 cases: 0 passed, 2 errored\); paged \(1 case: 0 passed, 1 not run\)\./,
  );
  // every group drawn: no such sentence
  const all = await runReportHtml(report([measured]));
  assert.match(all, /data-chart="headroom"/);
  assert.doesNotMatch(all, /Not drawn:/);
});

Deno.test("html run: a case a device loss ended says so on its card, and how to run it again", async () => {
  // `run --runtime chromium` whose GPU process died mid-case: the card read only "error ...
  // OperationError: Instance dropped in popErrorScope", as if the kernels had failed; the
  // terminal said it was a device loss and that --resume runs it again.
  const lost = result({ b: 1 }, {
    status: "error",
    message: "OperationError: Instance dropped in popErrorScope",
    out: undefined,
    deviceLoss: true,
  });
  const broken = result({ b: 2 }, { status: "error", message: "WGSL: error", out: undefined });
  const html = await runReportHtml(report([lost, broken]));
  const card = (id: string) => {
    const at = html.indexOf(`<div class="failure" data-id="${id}">`);
    assert.ok(at > 0, `a card for ${id}`);
    return html.slice(at, html.indexOf('<p class="explain">', at));
  };
  assert.match(
    card(lost.id),
    /Ended by a device loss or --case-timeout, not by its kernels: the run's command again with <code>--resume<\/code> \(the same --out\) runs it again, keeping the rest\./,
  );
  assert.doesNotMatch(card(broken.id), /device loss/, "a kernel's own error says nothing of it");
});

Deno.test("html run: a run in Chromium explains a failure on its browser's adapter, not Deno's", async () => {
  // `run --runtime chromium`: the card's `explain --case` resolved the case on this process's
  // adapter (lavapipe: a loop budget, shader-f16), not SwiftShader in Chromium, where it ran.
  const bad = result({ b: 1 }, { status: "unexpected", decision: "supported" });
  const browser = {
    name: "chromium",
    version: "HeadlessChrome/150.0.7871.100",
    path: "/opt/my chrome/chrome",
    userAgent: "Mozilla/5.0",
  };
  const inChromium = { ...report([bad]), fingerprint: fingerprint({ browser }) };
  const explain = (html: string) => /<p class="explain">([\s\S]*?)<\/p>/.exec(html)![1];
  const chromium = explain(await runReportHtml(inChromium));
  assert.ok(
    chromium.includes(
      "on the adapter of the Chromium it ran in: <code>deno task harness devices --runtime " +
        "chromium --chromium &#39;/opt/my chrome/chrome&#39; --json &gt; chromium-caps.json</code>",
    ),
    chromium,
  );
  assert.match(chromium, /--matrix smoke --caps chromium-caps\.json<\/code>$/);
  // in Deno: the command alone, as before
  const deno = explain(await runReportHtml(report([bad])));
  assert.match(deno, /^explain it as run resolved it: <code>deno task harness explain --case /);
  assert.doesNotMatch(deno, /--caps/);
});

Deno.test("html run: the planted failure comes first, with its parity details", async () => {
  const html = await runReportHtml(runFixture());
  const failures = html.indexOf('<section id="failures">');
  const plots = html.indexOf('<section id="plots">');
  const cases = html.indexOf('<section id="cases">');
  assert.ok(failures > 0 && failures < plots && plots < cases, "failures, plots, cases");
  // the fail card is before the error card although its result came last
  const fail = html.indexOf(`b=${PLANTED_ID_B};`, failures);
  const error = html.indexOf("b=6;", failures);
  assert.ok(fail > 0 && fail < error, "fail before error");
  const card = html.slice(fail, error);
  for (const detail of ["2.9e+5", "[0,3,15]", "2.95 / 0.0747", "1.00e-5 / 1.00e-4"]) {
    assert.ok(card.includes(detail), `failure card lacks ${detail}`);
  }
  assert.ok(card.includes("fail: elementwise, cos_diff") && card.includes(">8.2e-1<"));
  assert.ok(card.includes("2, first at [1,3]"), "non-finite positions");
  // the backend that ran it (a --backend-module's, a --backend's: not always the path's own)
  assert.match(card, /group: [^<]*; backend <code>wgsl-(absorbed|expanded)<\/code><\/p>/);
  // the command that explains the case as run resolved it (explain --case)
  const id = /<div class="failure" data-id="([^"]*)"/.exec(html.slice(failures))![1];
  assert.ok(
    card.includes(`<code>deno task harness explain --case &#39;${id}&#39; --matrix smoke</code>`) ||
      card.includes(`<code>deno task harness explain --case '${id}' --matrix smoke</code>`),
    "the explain command",
  );
  // escaped message, header facts, verdict
  assert.ok(html.includes("GPUValidationError: &lt;binding&gt; &amp; more"));
  assert.ok(!html.includes("<binding>"));
  assert.match(html, /<dt>Device<\/dt><dd>llvmpipe \(LLVM 15\.0\.7, 256 bits\)<\/dd>/);
  assert.match(html, /<dt>Revision<\/dt><dd>0123456789abcdef0123456789abcdef01234567<\/dd>/);
  assert.match(html, /class="verdict bad"[^>]*>8 cases: 5 pass, 1 fail, 0 unexpected, 1 error/);
  assertSelfContained(html);
});

Deno.test("html run: a message of several lines (a WGSL compile error) keeps its lines and columns", async () => {
  // `${e.name}: ${e.message}` of a shader wgpu rejects, as lavapipe words it: in a <p> the
  // lines ran into one and the caret pointed at nothing
  const wgsl = "GPUValidationError: \nShader '' parsing error: the type of `x` is expected " +
    "to be `f32`, but got `u32`\n  ┌─ wgsl:2:7\n  │\n2 │   let x: f32 = 1u;\n" +
    "  │       ^ definition of `x`\n\n";
  const fixture = runFixture();
  const results = fixture.results.map((r) => r.status === "error" ? { ...r, message: wgsl } : r);
  const html = await runReportHtml({ ...fixture, results });
  const card = /<div class="failure" data-id="[^"]*b=6;[\s\S]*?<\/div>/.exec(html)![0];
  assert.ok(
    card.includes(
      '<pre class="message">GPUValidationError: \nShader &#39;&#39; parsing error: the type of ' +
        "`x` is expected to be `f32`, but got `u32`\n  ┌─ wgsl:2:7\n  │\n" +
        "2 │   let x: f32 = 1u;\n  │       ^ definition of `x`</pre>",
    ),
    card,
  );
  // a one-line message stays a paragraph
  assert.match(html, /<p>out: max abs err 2\.9e0 at \[0,1,6\]/);
  // and a failure past the cards, a row of its group, keeps them too
  const many = Array.from({ length: 201 }, (_, i) =>
    result({ b: 1, sk: 16 + i }, {
      status: "error",
      decision: "not-reached",
      message: i === 200 ? wgsl : `error ${i}`,
      out: undefined,
    }));
  const capped = await runReportHtml(report(many), { maxBytes: 100_000 });
  assert.match(capped, /<td class="message">GPUValidationError: \nShader [^<]*\n {2}│ {7}\^ de/);
  assert.match(capped, /<td>error 199<\/td>|<td>see failures above<\/td>/);
});

Deno.test("html run and summary.md: a planted fault's note says how many cases ran the clean kernels and why, or that every case ran it", async () => {
  const a = result({ b: 1, path: "absorbed" }, { status: "fail", out: parity(false) });
  const e = result({ b: 1, path: "expanded" });
  const reason = "runs on wgsl-expanded, which does not compile absorbed.wgsl";
  const some = report([a, e], {
    plantedFault: "kpe-left-out",
    plantedFaultClean: [{ id: e.id, reason }],
  });
  const all = report([a], { plantedFault: "kpe-left-out", plantedFaultClean: [] });
  const cleanLine = `1 of 2 cases cannot show it (1 × ${reason}): ` +
    "their passes say nothing about the checks.";
  // both said "the other cases ran the clean kernels (run warned of them when it started)",
  // counting none, and said so of a run whose every case ran it
  const note = (html: string) => /<p class="note" id="planted-fault">(.*?)<\/p>/s.exec(html)?.[1];
  assert.ok(note(await runReportHtml(some))?.includes(cleanLine), note(await runReportHtml(some)));
  assert.ok(toMarkdown(some).includes(cleanLine), toMarkdown(some));
  assert.match(toJunitXml(some), /<property name="run.plantedFaultClean" value="1"\/>/);
  assert.match(toJunitXml(all), /<property name="run.plantedFaultClean" value="0"\/>/);
  for (const text of [note(await runReportHtml(all)) ?? "", toMarkdown(all)]) {
    assert.match(text, /every case ran with it, so its failures show the checks catching/);
    assert.doesNotMatch(text, /cannot show it/);
  }
});

Deno.test("html run and summary.md: a planted fault no case failed on reads as not caught, amber, not green", async () => {
  const passed = report([result({ b: 1, path: "absorbed" })], {
    plantedFault: "partial-tile-row-written",
    plantedFaultClean: [],
  });
  // it read "✅ ... every case ran with it, so its failures show the checks catching the
  // fault" of a run with no failure
  const verdict = runVerdict(passed);
  assert.equal(verdict.level, "warn");
  assert.equal(
    verdict.headline,
    "The planted fault partial-tile-row-written was not caught: no case failed.",
  );
  const md = toMarkdown(passed);
  assert.match(md, /^⚠️ \*\*1 case\*\*/m);
  assert.match(md, /but no case failed, so this run does not show the checks catching it/);
  assert.doesNotMatch(md, /its failures show/);
  const html = await runReportHtml(passed);
  assert.ok(html.includes("was not caught: no case failed."), "headline on the page");
  assert.ok(html.includes("but no case failed, so this run does not show the checks"), "note");
  // a run without a planted fault is unaffected
  assert.equal(runVerdict(report([result({ b: 1 })])).level, "ok");
});

Deno.test("html run: headroom plot has one mark per case and side, drawn as SVG", async () => {
  const html = await runReportHtml(runFixture());
  const { marks, svg } = figure(html, "headroom");
  assert.equal(marks, RUN_FIXTURE_HEADROOM_POINTS);
  // the points, and a ring around each of the planted failure's two sides
  assert.equal(drawn(svg, "symbol"), RUN_FIXTURE_HEADROOM_POINTS + 2);
  assert.equal(drawn(svg, "symbol", "failed"), 2);
  assert.equal(drawn(svg, "rule"), 1, "the tolerance rule at 1");
  // each point names its case on hover (its SVG title), the planted failure's among them
  const titles = [...svg.matchAll(/<path [^>]*><title>([^<]*)<\/title><\/path>/g)].map((m) => m[1]);
  assert.equal(titles.length, RUN_FIXTURE_HEADROOM_POINTS + 2);
  assert.ok(titles.every((t) => /id: \S+/.test(t)), titles[0]);
  assert.ok(!/<path aria-label=/.test(svg), "the labels moved into the titles");
});

Deno.test("html run: a side failed on non-finite values is marked on the headroom plot", async () => {
  // What `run` records for a kernel that writes NaN into a few outputs: the headroom is the
  // worst finite element's, far below 1, and a side with no finite error has none at all.
  const nan = (extra: Partial<ParityRecord>): ParityRecord => ({
    ...parity(false, "16 nonfinite mismatches, first at [0,0,0] (got NaN, want 0.42)"),
    checks: ["nonfinite-mismatch"],
    nonfinite: { count: 16, firstAt: [0, 0, 0] },
    atol: 1e-5,
    rtol: 1e-4,
    ...extra,
  });
  const ok = { ...parity(true), headroom: 0.02 };
  const html = await runReportHtml(report([
    result({ b: 1 }, { status: "fail", out: nan({ headroom: 0.015 }), lse: ok }),
    result({ b: 2 }, { status: "fail", out: ok, lse: nan({}) }),
    result({ b: 3 }, { out: ok, lse: ok }),
  ]));
  const { svg } = figure(html, "headroom");
  // every side is a point (the one with no finite error too), the two failed ones ringed
  assert.equal(drawn(svg, "symbol", "layer_0"), 6);
  assert.equal(drawn(svg, "symbol", "failed"), 2);
  // the ring of the side with no finite error sits on the rule; the other far left of it
  const [rule] = drawnX(svg, "rule", "layer_2");
  const rings = drawnX(svg, "symbol", "failed").sort((a, b) => a - b);
  assert.ok(rings[0] < rule - 100, `${rings} against the rule at ${rule}`);
  assert.ok(Math.abs(rings[1] - rule) < 1, `${rings} against the rule at ${rule}`);
  assert.ok(html.includes("A red ring marks every side that failed"));
});

Deno.test("html run: groups collapsed with passed/total and worst headroom; filter box", async () => {
  const html = await runReportHtml(runFixture());
  assert.match(
    html,
    /<details class="group" data-group="tiny: decode"><summary><b>tiny: decode<\/b>: 3 cases: 3 passed; worst headroom 0\.300/,
  );
  assert.match(
    html,
    /data-group="tiny: prefill"><summary><b>tiny: prefill<\/b>: 3 cases: 1 passed, 1 failed, 1 errored; worst headroom 6\.5e\+5/,
  );
  // the expected skip is counted apart from the pass
  assert.match(html, /data-group="layer"><summary><b>layer<\/b>: 2 cases: 1 passed, 1 skipped;/);
  assert.ok(!/<details[^>]* open/.test(html), "groups start collapsed");
  assert.ok(html.includes('id="case-filter"'));
  assert.equal((html.match(/<tr data-id=/g) ?? []).length, 8);
});

Deno.test("html run: failures past the size cap keep their group rows; the first 200 keep their cards", async () => {
  // An all-failing run of 5,000 cases made 8.6 MiB of cards, over the 5 MiB cap with no passing row
  // left to drop.
  const results = Array.from({ length: 600 }, (_, i) =>
    result({ b: 1 + (i % 7), sk: 16 + i }, {
      status: "fail",
      message: `out failed elementwise (case ${i})`,
      out: { ...parity(false), headroom: 2 + i * 1e-3 },
    }));
  const html = await runReportHtml(report(results), { maxBytes: 200_000 });
  assert.equal(CAPPED_FAILURE_CARDS, 200);
  assert.match(html, /only the first 200 of the 600 failures have a card/);
  assert.equal((html.match(/<div class="failure" /g) ?? []).length, 200);
  assert.match(html, /400 more failures without a card/);
  // every failure is still on the page, as a row of its group: the carded ones point at their
  // card, the others carry their message
  assert.equal((html.match(/<tr data-id=/g) ?? []).length, 600);
  assert.equal((html.match(/<td>see failures above<\/td>/g) ?? []).length, 200);
  assert.match(html, /<td>out failed elementwise \(case 599\)<\/td>/);
  // the cards are of the first failures in run order
  assert.match(html, /<div class="failure" data-id="[^"]*sk=16;/);
  // a page whose passing rows alone were enough keeps every card
  const roomy = await runReportHtml(report(results), { maxBytes: 4_000_000 });
  assert.equal((roomy.match(/<div class="failure" /g) ?? []).length, 600);
  assert.doesNotMatch(roomy, /without a card/);
});

Deno.test("html run: past the cap with thousands of groups, the plot draws the failing and worst groups and counts the rest", async () => {
  // The plot has a row a group: 8,000 groups made 8 MiB of plot, a page of 11 MiB past its
  // 5 MiB cap with every passing row already left out.
  const n = CAPPED_PLOT_GROUPS + 100;
  const name = (i: number) => `grp${String(i).padStart(4, "0")}`;
  const results = Array.from({ length: n }, (_, i) =>
    result({ b: 1 + (i % 7), sk: 16 + i }, {
      group: name(i),
      out: i === 5 ? { ...parity(false), headroom: 2e-3 } : { ...parity(true), headroom: i / 1000 },
      lse: undefined,
      ...(i === 5 ? { status: "fail" as const, message: "out failed" } : {}),
    }));
  const maxBytes = 250_000;
  const html = await runReportHtml(report(results), { maxBytes });
  assert.ok(new TextEncoder().encode(html).length <= maxBytes, `${html.length} bytes`);
  const { marks, svg } = figure(html, "headroom");
  assert.equal(marks, CAPPED_PLOT_GROUPS);
  // the failing group (its headroom low) and the worst ones are drawn; the best are not
  assert.ok(svg.includes(name(5)) && svg.includes(name(n - 1)), "failing and worst drawn");
  assert.ok(!svg.includes(name(0)) && !svg.includes(name(99)), "the best left out");
  assert.ok(svg.includes(name(101)));
  const said = `the headroom plot draws ${CAPPED_PLOT_GROUPS} of the ${n} matrix groups, those ` +
    "with a failure first, then those of the worst headroom; the other 100 (none with a " +
    "failure) are left out of it";
  assert.ok(html.includes(`; ${said}. Every case is in`), "the size note says so");
  assert.ok(html.includes(`For the page&#39;s size cap, ${said}`), "the caption says so");
  // every group keeps its row below
  assert.ok(html.includes(`${name(0)}</`), "group 0's row");
  // within the cap with the whole plot: every group drawn, no word of it
  const roomy = await runReportHtml(report(results), { maxBytes: 4_000_000 });
  assert.equal(figure(roomy, "headroom").marks, n);
  assert.doesNotMatch(roomy, /left out of it/);
  // more failing groups than room: the rest of them are counted as failing
  const g = cappedPlotGroups(
    [1, 2, 3].map((i) => ({ group: `f${i}`, headroom: i, failed: true })),
    2,
  );
  assert.deepEqual([[...g.drawn], g.left, g.leftFailed], [["f3", "f2"], 1, 1]);
});

Deno.test("html run: still past the cap, the groups without a row are lines of one table", async () => {
  // A folded block a group, its rows left out, was about 330 bytes: 20,000 groups made a page
  // of 6.8 MB past its 5 MiB cap with every passing row and most of the plot already left out.
  const results = Array.from({ length: 30 }, (_, i) =>
    result({ b: 1 + (i % 7), sk: 16 + i }, {
      group: `grp${String(i).padStart(2, "0")}`,
      out: i === 3 ? parity(false) : parity(true),
      ...(i === 3 ? { status: "fail" as const, message: "out failed" } : {}),
    }));
  // and a group none of whose cases ran (an interrupted run)
  const ids = [...results.map((r) => r.id), "preset=tiny;b=99"];
  const html = await runReportHtml(report(results, { matrixIds: ids, shardIds: ids }), {
    maxBytes: 1000,
    notRunGroups: new Map([["preset=tiny;b=99", "grpNR"]]),
  });
  assert.equal(CAPPED_BARE_GROUPS, 2000);
  // the failing group keeps its block and row; the 30 others are lines of one table, the one
  // with a case not run first
  assert.equal((html.match(/<details class="group"/g) ?? []).length, 1);
  assert.match(html, /<details class="group" data-group="grp03">/);
  assert.match(
    html,
    /30 groups without a row on this page \(their rows left out for its size cap, /,
  );
  // the filter box counts and hides them while a query is on (tests/report_browser_test.ts)
  assert.match(html, /<div data-groups="30"><p class="no-rows">30 groups without a row/);
  const table = /<table class="bare-groups">[\s\S]*?<\/table>/.exec(html)?.[0] ?? "";
  assert.equal((table.match(/<tr><td>grp\d\d<\/td><td>1 case: 1 passed<\/td>/g) ?? []).length, 29);
  assert.match(table, /<\/th><\/tr>\n<tr><td>grpNR<\/td><td>1 case: 0 passed, 1 not run<\/td>/);
  assert.doesNotMatch(html, /more group/);
  assert.match(
    html,
    /the groups without a row on the page are lines of one table after the others/,
  );
  // a page that fits with its blocks keeps them
  const roomy = await runReportHtml(report(results), { maxBytes: 4_000_000 });
  assert.equal((roomy.match(/<details class="group"/g) ?? []).length, 30);
  assert.doesNotMatch(roomy, /bare-groups/);
});

Deno.test("html run: past the cap with tens of thousands of failures, rows past the first 5000 are only counted", async () => {
  // 20,000 failing cases made 8.7 MiB of rows alone (tools/html_scale.ts 20000). The page of
  // 5000 rows is 2.11 MB, that of all 5300 rows 2.22 MB: the cap lies between.
  const n = CAPPED_FAILURE_ROWS + 300;
  const results = Array.from({ length: n }, (_, i) =>
    result({ b: 1 + (i % 7), sk: 16 + i }, {
      status: "fail",
      message: "out failed",
      out: { ...parity(false), headroom: 2 },
    }));
  const html = await runReportHtml(report(results), { maxBytes: 2_160_000 });
  assert.equal(CAPPED_FAILURE_ROWS, 5000);
  assert.match(
    html,
    new RegExp(
      `only the first 200 of the ${n} failures have a card \\(the next 4800 are rows of their ` +
        "groups below, with their message; the last 300 are only counted there\\)",
    ),
  );
  assert.match(
    html,
    /5100 more failures without a card[^<]*: the next 4800 are rows of their groups below, with their message; the last 300 are only counted there/,
  );
  assert.equal((html.match(/<tr data-id=/g) ?? []).length, 5000);
  assert.equal((html.match(/<div class="failure" /g) ?? []).length, 200);
  // the group still counts every case
  assert.match(html, new RegExp(`: ${n} cases: 0 passed, ${n} failed`));
  // the rows are of the first failures: the last case has none
  assert.ok(!html.includes(`<tr data-id="${results[n - 1].id}">`));
  assert.ok(html.includes(`<tr data-id="${results[4999].id}">`));
});

Deno.test("html run: past the cap, one failure past the cards or rows reads in the singular", async () => {
  // "the last 1 are only counted there", "1 more failures without a card" and "the others are
  // rows" of one failure read as plurals.
  const failing = (n: number) =>
    report(Array.from({ length: n }, (_, i) =>
      result({ b: 1 + (i % 7), sk: 16 + i }, {
        status: "fail",
        message: "out failed",
        out: { ...parity(false), headroom: 2 },
      })));
  // one failure past the cards, with a row: a cap no page meets keeps the last cut
  const oneRow = await runReportHtml(failing(CAPPED_FAILURE_CARDS + 1), { maxBytes: 1000 });
  assert.match(
    oneRow,
    /only the first 200 of the 201 failures have a card \(the other is a row of its group below, with its message\)/,
  );
  assert.match(
    oneRow,
    /1 more failure without a card \(the page's size cap\): it is a row of its group below, with its message\./,
  );
  assert.match(oneRow, /<summary>192 more failures<\/summary>/);
  // one failure past the rows (the last cut's): only counted
  const oneCounted = await runReportHtml(failing(LAST_FAILURE_ROWS + 1), { maxBytes: 1000 });
  assert.match(
    oneCounted,
    /have a card \(the next 800 are rows of their groups below, with their message; the last 1 is only counted there\)/,
  );
  assert.match(
    oneCounted,
    /801 more failures without a card[^<]*: the next 800 are rows of their groups below, with their message; the last 1 is only counted there\./,
  );
  // one card folded under the open ones
  const nine = await runReportHtml(failing(OPEN_FAILURES + 1));
  assert.match(nine, /<summary>1 more failure<\/summary>/);
});

Deno.test("html run: past the size cap, passing rows are dropped and the page says so", async () => {
  // (29 kB whole, 26 kB without the passing rows: no later cut applies)
  const html = await runReportHtml(runFixture(), { maxBytes: 28_000 });
  assert.ok(html.includes('id="size-note"'));
  // failures keep their cards and rows; passing cases keep only their group lines
  assert.ok(html.includes(`b=${PLANTED_ID_B};`));
  assert.equal((html.match(/<tr data-id=/g) ?? []).length, 2);
  assert.ok(html.includes("3 cases: 3 passed"));
  // a group left without rows says why, not a table of headers alone (8,000 of them made 7 MiB
  // of a page cut to its cap)
  const group =
    /<details class="group" data-group="tiny: decode">[\s\S]*?<\/details>/.exec(html)![0];
  assert.doesNotMatch(group, /<table>/);
  assert.match(group, /<p class="no-rows">Its rows were left out for the page's size cap/);
  // and a group none of whose cases ran (an interrupted run), in a page of every row
  const fixture = runFixture();
  const cut = await runReportHtml(
    { ...fixture, results: fixture.results.filter((r) => r.group !== "layer") },
    {
      notRunGroups: new Map(
        fixture.results.filter((r) => r.group === "layer").map((r) => [r.id, "layer"]),
      ),
    },
  );
  const layer = /<details class="group" data-group="layer">[\s\S]*?<\/details>/.exec(cut)![0];
  assert.doesNotMatch(layer, /<table>/);
  assert.match(
    layer,
    /2 cases: 0 passed, 2 not run[\s\S]*None of its cases has a result \(not run\)/,
  );
  const full = await runReportHtml(runFixture());
  assert.ok(!full.includes('id="size-note"'));
  assert.doesNotMatch(full, /class="no-rows"/);
  // the capped page keeps the full page's plot, byte for byte (it is rendered once for both)
  const plots = (h: string) => {
    const at = h.indexOf('<section id="plots">');
    return at < 0 ? "" : h.slice(at, h.indexOf("</section>", at));
  };
  assert.ok(plots(full).includes('data-chart="headroom"'));
  assert.equal(plots(html), plots(full));
});

Deno.test("html bench: roofline points under the ceilings; crossover only for complete sweeps", async () => {
  const report = benchFixture();
  assert.equal(rooflinePoints(report.records).length, BENCH_FIXTURE_ROOFLINE_POINTS);
  const cross = crossoverPoints(report.records);
  assert.equal(cross.length, BENCH_FIXTURE_CROSSOVER_POINTS);
  assert.deepEqual([...new Set(cross.map((p) => p.sweep))], ["tiny h=4 f32 b=1 sq=1"]);
  const first = rooflinePoints(report.records)[0];
  assert.equal(first.intensity, 100); // 1e6 x 64 FLOP over 1e4 x 64 bytes
  const html = await benchReportHtml(report, { title: "tiny bench" });
  const roof = figure(html, "roofline");
  assert.equal(roof.marks, BENCH_FIXTURE_ROOFLINE_POINTS);
  assert.equal(drawn(roof.svg, "symbol"), BENCH_FIXTURE_ROOFLINE_POINTS);
  assert.equal(drawn(roof.svg, "line"), 1, "one roofline (no f16 peak)");
  const c = figure(html, "crossover");
  assert.equal(c.marks, BENCH_FIXTURE_CROSSOVER_POINTS);
  assert.equal(drawn(c.svg, "symbol"), BENCH_FIXTURE_CROSSOVER_POINTS);
  assert.equal(drawn(c.svg, "line"), 2, "absorbed and dense lines");
  // Under the plot, in words (absorbed sk/100 ms against dense sk/150 ms: dense throughout).
  assert.ok(html.includes(
    "<li>tiny h=4 f32 b=1 sq=1: dense faster at every s_k measured (64, 256, 1024) (medians); " +
      "dense faster at every s_k measured (64, 256, 1024) (fastest repetitions)</li>",
  ));
  // each ceiling at the memory roofline's two decimals: "texture read 30.0 GB/s, memory
  // roofline 30.00 GB/s" gave one figure at two precisions
  assert.ok(html.includes("copy 20.00 GB/s"));
  assert.ok(html.includes("texture read 30.00 GB/s, memory roofline 30.00 GB/s"), html);
  // The roofline's slope is the best memory ceiling (texture read 30 GB/s), as fractions are judged.
  assert.ok(
    html.includes("memory roofline 30.00 GB/s (texture read, the best of copy, read and texture"),
  );
  assert.ok(roof.svg.includes("texture read 30.00 GB/s"), "the slope's label names its ceiling");
  // The FMA peak's label ends at the plot's right end (at the ridge, an f16 label sat under the
  // f32 slope); the slope's label starts at its low end.
  const anchor = (label: string) =>
    new RegExp(`<text[^>]*text-anchor="(\\w+)"[^>]*>${label}`).exec(roof.svg)?.[1];
  assert.equal(anchor("FMA f32"), "end");
  assert.equal(anchor("texture read"), "start");
  assert.ok(html.includes("<b>unsupported</b>: no shader-f16"));
  assert.ok(!html.includes('id="warnings"'), "no warnings section without warnings");
  assertSelfContained(html);
  // Each case names the backend and kernel variant that ran it.
  const variant = {
    family: "absorbed-tiled-32k",
    workgroupSize: 256,
    headsPerTile: 16,
    kvSplits: 8,
    queryTile: 1,
  };
  const named = await benchReportHtml({
    ...report,
    records: report.records.map((r, i) =>
      i === 0 ? { ...r, backend: "wgsl-absorbed-tiled", variant } : r
    ),
  });
  assert.ok(named.includes(
    '<td>wgsl-absorbed-tiled</td><td class="variant">absorbed-tiled-32k 1q x 16h wg256</td>',
  ));
  // A run whose fractions are implausible says so on the page.
  const warned = await benchReportHtml({ ...report, warnings: ["case x: above 1 <ceilings>"] });
  assert.ok(warned.includes("<li>case x: above 1 &lt;ceilings&gt;</li>"));
});

Deno.test("bench reports of an old report.json (no variant family, tile or device class) say what is not recorded", async () => {
  // docs/gpu_machine/h100-2026-11-27's bench report read "undefined undefinedq x 16h wg16" and
  // labelled the H100's targets "cpu-class" (`bench --resume` of such a folder shows its table)
  const old = JSON.parse(
    await Deno.readTextFile(
      new URL("../docs/gpu_machine/h100-2026-11-27/bench_report.json", import.meta.url),
    ),
  );
  const html = await benchReportHtml(old, { title: "t" });
  const table = formatTable(old);
  const md = toBenchMarkdown(old, { title: "t" });
  for (const text of [html, table, md]) {
    assert.doesNotMatch(text, /undefined|a cpu-class device| - GB\/s/);
    assert.match(text, /family not recorded, 16h wg16/);
    assert.match(text, /[Tt]argets \(?of a device whose class was not recorded/);
  }
  assert.match(table, /texture read not recorded; memory roofline/);
});

Deno.test("html bench: a GFLOP/s under 10 keeps three significant digits (lavapipe's 0.161 and 0.2 both read 0.2)", async () => {
  const base = benchFixture();
  const [a, b] = base.records;
  const html = await benchReportHtml({
    ...base,
    records: [{ ...a, gflops: 0.161 }, { ...b, gflops: 0.2 }, { ...a, id: "big", gflops: 185.24 }],
  });
  assert.equal(numberCells(html, a.id)[2], "0.161");
  assert.equal(numberCells(html, b.id)[2], "0.200");
  assert.equal(numberCells(html, "big")[2], "185.2", "one decimal from 10 up, as before");
});

Deno.test("html bench: each case's spread (fastest to slowest repetition) stands beside its median, as in summary.md", async () => {
  // the page gave the median alone: 0.469 ms whose repetitions ran 0.44 to 3.19 read as steady
  const base = benchFixture();
  const [a] = base.records;
  const html = await benchReportHtml({
    ...base,
    records: [{ ...a, ms: 0.469, ms_min: 0.44, ms_max: 3.19 }],
  });
  assert.match(html, /<th title="the fastest and slowest timed repetitions">spread \(ms\)<\/th>/);
  assert.deepEqual(numberCells(html, a.id).slice(0, 2), ["0.469", "0.440–3.19"]);
});

/** The right-aligned (number) cells of the bench page's row of case `id`, in order. */
function numberCells(html: string, id: string): string[] {
  const row = html.slice(html.indexOf(`<tr data-id="${id}">`));
  return [...row.slice(0, row.indexOf("</tr>")).matchAll(/<td class="n">([^<]*)<\/td>/g)]
    .map((m) => m[1]);
}

Deno.test("html bench: the roofline's ceiling labels cover no point, even one where a label usually sits", async () => {
  const base = benchFixture();
  // Two cases where the labels usually go: under the slope's low end (intensity 2, 12 GFLOP/s;
  // the plot's x runs 0.1 to 1000, its lowest point at 4x the slope's start) and over the FMA
  // peak's right end (100 FLOP/byte, 230 GFLOP/s: above the peak, as an implausible figure is).
  const extra = [[2, 12], [100, 230]].map(([intensity, gflops], i) => {
    const c = { ...base.records[0].case, sk: 8 + i };
    return {
      id: `extra-${i}`,
      case: c,
      status: "ok" as const,
      ms: 1,
      gflops,
      gbps: gflops / intensity,
      flop: gflops * 1e6,
      bytes: (gflops * 1e6) / intensity,
      roofline_fraction: 0.5,
      bound: "memory" as const,
    };
  });
  const report = { ...base, records: [...base.records, ...extra] };
  const roof = figure(await benchReportHtml(report), "roofline");
  // Each text label's box (its font's widths; from the baseline up 0.8 em, down 0.25 em) and
  // each point's circle, all in the plot's group.
  const labels = [...roof.svg.matchAll(
    /<text[^>]*aria-roledescription="text mark" text-anchor="(start|end)" transform="translate\(([-\d.e]+),([-\d.e]+)\)"[^>]*>([^<]*)<\/text>/g,
  )].map(([, anchor, x, y, text]) => {
    const w = textWidth(text, 11, false);
    const x0 = anchor === "start" ? Number(x) : Number(x) - w;
    return { text, x0, x1: x0 + w, y0: Number(y) - 8.8, y1: Number(y) + 2.75 };
  });
  assert.deepEqual(labels.map((l) => l.text), ["texture read 30.00 GB/s", "FMA f32 200.0 GFLOP/s"]);
  const points = [...roof.svg.matchAll(
    /<path role="graphics-symbol" aria-roledescription="point" transform="translate\(([-\d.e]+),([-\d.e]+)\)" d="M([\d.]+),/g,
  )].map(([, x, y, r]) => ({ x: Number(x), y: Number(y), r: Number(r) }));
  assert.equal(points.length, BENCH_FIXTURE_ROOFLINE_POINTS + 2);
  for (const l of labels) {
    for (const p of points) {
      const nx = Math.min(Math.max(p.x, l.x0), l.x1), ny = Math.min(Math.max(p.y, l.y0), l.y1);
      assert.ok(
        Math.hypot(p.x - nx, p.y - ny) > p.r,
        `"${l.text}" (${l.x0.toFixed(0)}-${l.x1.toFixed(0)}, ${l.y0.toFixed(0)}-${
          l.y1.toFixed(0)
        }) covers the point at ${p.x.toFixed(0)},${p.y.toFixed(0)}`,
      );
    }
  }
});

Deno.test("html bench: the roofs span the roofline plot's whole x axis, the flat peak to its right end", async () => {
  // The roofs were drawn over 4x the points' range (here 1.5 to 400 FLOP/byte) on an axis of
  // whole decades (1 to 1000): they stopped short of both ends, and `bench --runtime chromium`
  // (SwiftShader's ridge 12.4 FLOP/byte, the points' 4x range ending at 12.9) showed no flat peak.
  const roof = figure(await benchReportHtml(benchFixture()), "roofline");
  const line = /<g class="mark-line role-mark layer_0_marks"[^>]*><path[^>]* d="([^"]*)"/.exec(
    roof.svg,
  );
  assert.ok(line, "the roof's line");
  const xs = [...line[1].matchAll(/[ML]([-\d.e]+),/g)].map((m) => Number(m[1]));
  assert.equal(Math.min(...xs), 0, "from the axis' left end");
  assert.equal(Math.max(...xs), 560, "to its right end (the plot is 560 px wide)");
});

Deno.test("html bench: the roofline's FMA labels give the header's figures, a peak under 1 GFLOP/s included", async () => {
  // A software adapter's peaks: the labels read "FMA f32 1 GFLOP/s" and "FMA f16 0 GFLOP/s"
  // (rounded to whole GFLOP/s) under a header saying 0.8 and 0.3.
  const base = benchFixture();
  const report = {
    ...base,
    ceilings: { ...base.ceilings, fmaGflops: 0.8, fma32Gflops: 0.8, fmaF16Gflops: 0.3 },
  };
  const html = await benchReportHtml(report);
  assert.ok(html.includes("FMA f32 0.800 GFLOP/s, FMA f16 0.300 GFLOP/s"), "the header's figures");
  const labels = [
    ...figure(html, "roofline").svg.matchAll(
      /<text[^>]*aria-roledescription="text mark"[^>]*>([^<]*)<\/text>/g,
    ),
  ].map((m) => m[1]).filter((t) => t.startsWith("FMA"));
  assert.deepEqual(labels, ["FMA f32 0.800 GFLOP/s", "FMA f16 0.300 GFLOP/s"]);
  // An f16 peak within 0.15 decades of f32's (an H200: 42048 against 39898) had its flat line
  // drawn with no label; the f32 label now names both.
  const close = await benchReportHtml({
    ...base,
    ceilings: { ...base.ceilings, fmaGflops: 200, fmaF16Gflops: 220 },
  });
  const closeLabels = [
    ...figure(close, "roofline").svg.matchAll(
      /<text[^>]*aria-roledescription="text mark"[^>]*>([^<]*)<\/text>/g,
    ),
  ].map((m) => m[1]).filter((t) => t.startsWith("FMA"));
  assert.deepEqual(closeLabels, ["FMA f32 200.0, f16 220.0 GFLOP/s"]);
  assert.equal(drawn(figure(close, "roofline").svg, "line"), 2, "both roofs drawn");
  // an H100's peaks: "6.00e+4 GFLOP/s" in the header and labels; now grouped whole numbers
  const h100 = await benchReportHtml({
    ...base,
    ceilings: { ...base.ceilings, fmaGflops: 59998.7, fma32Gflops: 59998.7, fmaF16Gflops: 120000 },
  });
  assert.ok(h100.includes("FMA f32 59,999 GFLOP/s, FMA f16 120,000 GFLOP/s"), "the header");
  const h100Labels = [
    ...figure(h100, "roofline").svg.matchAll(
      /<text[^>]*aria-roledescription="text mark"[^>]*>([^<]*)<\/text>/g,
    ),
  ].map((m) => m[1]).filter((t) => t.startsWith("FMA"));
  assert.deepEqual(h100Labels, ["FMA f32 59,999 GFLOP/s", "FMA f16 120,000 GFLOP/s"]);
  // a point's and a roof's hover: Vega's own gave every channel unrounded, GFLOP/s twice
  // ("achieved GFLOP/s (log): 0.115447129011; ...; gflops: 0.11544712901053818")
  const titles = [...figure(h100, "roofline").svg.matchAll(/<title>([^<]*)<\/title>/g)].map((m) =>
    m[1]
  );
  assert.ok(titles.includes("roof: texture read 30.00 GB/s, FMA f32 59,999 GFLOP/s"), titles[0]);
  const point = rooflinePoints(base.records)[0];
  assert.ok(
    titles.includes(
      `id: ${point.id}; dtype, path: ${point.kind}; ${benchRate(point.gflops)} GFLOP/s at ` +
        `${benchFigure(point.intensity)} FLOP/byte`,
    ),
    titles.join("\n"),
  );
  assert.ok(titles.every((t) => !/\d\.\d{6}/.test(t)), "no unrounded figure");
  assert.doesNotMatch(h100, /\de\+[45] GFLOP\/s/);
  // summary.md and the console wrote the same peaks "59998.7" and "120000.0", and a case's
  // 39898.2 GFLOP/s that the page's table gave as "39,898": one figure, two formats
  const fast = base.records.find((r) => r.status === "ok")!;
  const h100Report = {
    ...base,
    ceilings: { ...base.ceilings, fmaGflops: 59998.7, fma32Gflops: 59998.7, fmaF16Gflops: 120000 },
    records: [{ ...fast, gflops: 39898.2 }],
  };
  const md = toBenchMarkdown(h100Report, { title: "t" });
  assert.match(md, /FMA f32 59,999 GFLOP\/s \(4 chains [\d,.]+\), f16 120,000 GFLOP\/s/);
  assert.match(md, /\| 39,898 \|/, "summary.md's table");
  assert.match(formatTable(h100Report), / 39,898 /, "the console's table");
  assert.match(await benchReportHtml(h100Report), /<td class="n">39,898<\/td>/, "the page's table");
  assert.doesNotMatch(md + formatTable(h100Report), /59998|39898|120000/);
});

Deno.test("html bench: each case's passes in a step, stacked by role; construction left out; no plot without passes", async () => {
  const report = benchFixture();
  assert.equal(passPoints(report.records).length, 0);
  assert.ok(!(await benchReportHtml(report)).includes('data-chart="passes"'));
  // Two cases with per-pass times: one absorbed (core, step and construction passes and a
  // user backend's own pass), one expanded (its K/V expansion is construction).
  const ok = report.records.filter((r) => r.status === "ok");
  const absorbed = ok.find((r) => r.case.path === "absorbed")!;
  const expanded = ok.find((r) => r.case.path === "expanded")!;
  const withPasses = report.records.map((r) =>
    r === absorbed
      ? {
        ...r,
        // ms, the median of the core's totals, is not the sum of its passes' medians (2.1)
        ms: 2.5,
        passes: { absorbed: 2, combine: 0.1, absorb_q: 0.3, up_proj: 0.6, rope_k: 9, mine: 1 },
      }
      : r === expanded
      ? { ...r, ms: 2.8, passes: { expanded: 3, pack_q: 0.2, expand_kv: 40 } }
      : r
  );
  const pts = passPoints(withPasses);
  // rope_k and expand_kv (construction) are left out; the user's pass is "other"
  assert.deepEqual(
    pts.map((p) => `${p.pass}:${p.role}`).sort(),
    [
      "absorb_q:step",
      "absorbed:core",
      "combine:core",
      "expanded:core",
      "mine:other",
      "pack_q:step",
      "up_proj:step",
    ],
  );
  // one model and head count: the labels leave them to the caption
  assert.ok(pts.every((p) => !p.id.startsWith(absorbed.case.preset)), pts[0].id);
  const html = await benchReportHtml({ ...report, records: withPasses });
  const f = figure(html, "passes");
  assert.equal(f.marks, 7);
  assert.equal(drawn(f.svg, "rect", "layer_0"), 7, "one bar segment a pass");
  assert.ok(html.includes(`(${absorbed.case.preset} h=${absorbed.case.heads}; each segment`));
  // The bar is a sum of pass medians, and says so; the case's ms (a median of totals) is a
  // tick of its own, where ms lies on the axis, not where the core's segments end.
  assert.ok(html.includes("A bar is a sum of medians, not a measured total: the black tick"));
  assert.equal(drawn(f.svg, "rect", "layer_1"), 2, "one tick a case");
  const segment = (pass: string) => {
    const m = new RegExp(`d="M([\\d.]+),[\\d.]+h([\\d.]+)[^"]*"[^>]*><title>[^<]*; pass: ${pass};`)
      .exec(f.svg);
    assert.ok(m, `no segment of ${pass}`);
    return { x: Number(m[1]), w: Number(m[2]) };
  };
  const perMs = segment("absorbed").w / 2; // the absorbed pass's median is 2 ms
  const ticks = [...f.svg.matchAll(
    /aria-roledescription="tick" d="M([\d.]+),[^"]*"[^>]*><title>[^<]*ms \(median of the core's totals\): ([\d.]+)</g,
  )].map((m) => ({ x: Number(m[1]) + 1, ms: Number(m[2]) }));
  assert.deepEqual(ticks.map((t) => t.ms), [2.5, 2.8]);
  // the hover figures as the tables write ms (benchMs): Vega's ".3f" said "2.000" and "2.500"
  // where the tables say "2.00" and "2.50"
  assert.match(f.svg, /; pass: absorbed; median ms: 2\.00</);
  assert.match(f.svg, /ms \(median of the core's totals\): 2\.50</);
  const passRow = toBenchMarkdown({ ...report, records: withPasses }, { title: "t" }).split("\n")
    .find((l) => l.includes("absorbed 2.00"));
  assert.ok(passRow?.includes("combine 0.100"), "summary.md's Passes table at the same figures");
  for (const t of ticks) assert.ok(Math.abs(t.x - t.ms * perMs) < 1, `tick of ${t.ms} at ${t.x}`);
  const combine = segment("combine");
  assert.ok(Math.abs(ticks[0].x - (combine.x + combine.w)) > 10, "the tick is not the core's end");
  assertSelfContained(html);
  // the legend names the roles present only, and colours them as every page does, none red
  const legend = (svg: string) =>
    [...svg.matchAll(/role-legend-label[\s\S]*?<\/g>/g)].flatMap((m) =>
      [...m[0].matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((t) => t[1])
    );
  assert.deepEqual(legend(f.svg), ["core", "step", "other"]);
  const noOther = figure(
    await benchReportHtml({
      ...report,
      records: withPasses.map((r) =>
        r.passes?.mine === undefined ? r : {
          ...r,
          passes: Object.fromEntries(Object.entries(r.passes).filter(([k]) => k !== "mine")),
        }
      ),
    }),
    "passes",
  );
  assert.deepEqual(legend(noOther.svg), ["core", "step"]);
  assert.ok(!/fill="#(c22|d62728|e45756)"/i.test(f.svg), "no red bar");
});

Deno.test("html drift: ratios per case and metric, significant ones marked", async () => {
  // 40 samples a side: the rank test is decisive
  const same = supportedCase("preset=tiny;b=1", { timing: timing(samples(1, 40, 1)) });
  const slow = supportedCase("preset=tiny;b=2", { timing: timing(samples(1, 40, 2)) });
  const base = baselineOf([same, slow]);
  const current = baselineOf([
    supportedCase("preset=tiny;b=1", { timing: timing(samples(1, 40, 15)) }),
    supportedCase("preset=tiny;b=2", {
      timing: timing(samples(4, 40, 3)), // 4x slower: beyond the default 3x ratio
      metrics: { ...slow.metrics!, outMaxAbs: 2e-5 },
    }),
  ]);
  const cmp = compareBaselines(base, current);
  const pts = driftPoints(cmp.cases, { base, current });
  // two cases x (speed + 6 metrics)
  assert.equal(pts.length, 14);
  const abs = pts.find((p) => p.id === "preset=tiny;b=2" && p.metric === "outMaxAbs")!;
  assert.ok(Math.abs(abs.ratio - 100) < 1e-9 && abs.significant);
  const speed = pts.find((p) => p.id === "preset=tiny;b=2" && p.metric === "speed")!;
  assert.ok(speed.significant && speed.ratio > 3, JSON.stringify(speed));
  assert.ok(pts.filter((p) => p.id === "preset=tiny;b=1").every((p) => !p.significant));
  // without the sides: the speed ratios and the drifted metric only
  assert.equal(driftPoints(cmp.cases, {}).length, 3);
  const html = await compareReportHtml(cmp, { base, current });
  const f = figure(html, "drift");
  // the moved: both speeds and b=2's outMaxAbs; the 11 ratios of exactly 1 (every other
  // metric of both cases) drawn as one point per metric, their count in its title
  assert.equal(f.marks, 3 + 6);
  assert.equal(drawn(f.svg, "symbol"), 9);
  assert.match(f.svg, /<title>[^<]*id: 2 cases[^<]*<\/title>/);
  assert.deepEqual(
    driftPlotData(pts).filter((p) => p.mark === "unchanged (exactly 1)").map((p) => p.id).sort(),
    ["1 case", "2 cases", "2 cases", "2 cases", "2 cases", "2 cases"],
  );
  assert.ok(html.indexOf('id="plots"') < html.indexOf('id="moved"'));
  assertSelfContained(html);
});

Deno.test("html drift: a significant point is drawn over the others, never under them", async () => {
  // The run after a planted-looking change: the first case's outMaxRel 1000x but below the
  // drift floor (within thresholds), the next cases' 1000x above it (significant), every
  // case at the same ratio in the same column. The page is SVG: what comes later covers
  // what came earlier, so every red point must come after every grey one.
  const ids = ["bshd;causal=1", "bshd;causal=0", "sbhd;causal=1", "sbhd;causal=0"]
    .map((k) => `preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=20;layout=${k}`);
  const cur = (id: string, outMaxRel: number) =>
    supportedCase(id, { metrics: { ...supportedCase(id).metrics!, outMaxRel } });
  const base = baselineOf(ids.map((id) => cur(id, 1e-8)));
  // the floor is 0.1 x rtol 1e-3 = 1e-4: 1e-5 stays within it, 1e-2 is beyond it
  const current = baselineOf(ids.map((id, i) => cur(id, i === 0 ? 1e-5 : 1e-5 * 1000)));
  const cmp = compareBaselines(base, current);
  const pts = driftPoints(cmp.cases, { base, current }).filter((p) => p.metric === "outMaxRel");
  assert.deepEqual(pts.map((p) => p.significant).sort(), [false, true, true, true]);
  const { svg } = figure(await compareReportHtml(cmp, { base, current }), "drift");
  const fills = [
    ...svg.matchAll(/<path [^>]*fill="(#[0-9a-f]+)"[^>]*><title>[^<]*metric: \w+/g),
  ]
    .map((m) => m[1]);
  assert.equal(fills.length, drawn(svg, "symbol"));
  const lastGrey = fills.lastIndexOf("#8aa"), firstRed = fills.indexOf("#c22");
  assert.ok(firstRed > lastGrey, `red at ${firstRed}, grey up to ${lastGrey}`);
});

Deno.test("html history: one chart per series with the steps marked", async () => {
  const values = [1, 1.02, 0.99, 1.01, 1, 1.3, 1.31, 1.29, 1.32, 1.3];
  const series = (caseId: string, vs: number[]) => historySeries(vs, detectSteps(vs), { caseId });
  const flat = values.map(() => 2);
  const html = await historyReportHtml(
    [series("preset=tiny;b=1", flat), series("*", values)],
    "median_ms",
  );
  const charts = [...html.matchAll(/data-chart="history" data-marks="(\d+)"/g)];
  assert.equal(charts.length, 2);
  // the geometric mean series comes first, and it has the step
  const first = html.slice(html.indexOf('data-chart="history"'));
  assert.ok(first.indexOf("geometric mean") < first.indexOf("preset=tiny;b=1"));
  const svg = figure(html, "history").svg;
  assert.equal(drawn(svg, "symbol"), 10);
  assert.equal(drawn(svg, "rule"), 1, "the step at run 6");
  assert.ok(html.includes("+30.0%"));
  assert.match(html, /1 step change in 2 series/);
  assertSelfContained(html);
});

Deno.test("html history: the x axis is the run id the steps table names, gaps and all", async () => {
  // A case missing from runs 3 and 4 (runs of another filter): its 10 points are runs 1, 2,
  // 5..12, and the step is at run 9, its 7th point.
  const values = [1, 1.02, 0.99, 1.01, 1, 1.02, 1.3, 1.31, 1.29, 1.32];
  const runIds = [1, 2, 5, 6, 7, 8, 9, 10, 11, 12];
  const steps = detectSteps(values);
  assert.deepEqual(steps.map((s) => s.index), [6]);
  const series = historySeries(values, steps, { runIds });
  const html = await historyReportHtml([series], "median_ms");
  // the table says run 9
  assert.match(html, /<td class="id">preset=tiny;<wbr>b=1<\/td><td class="n">9<\/td>/);
  const svg = figure(html, "history").svg;
  // each point's x is its run id, on one linear scale
  const xOf = new Map(
    [...svg.matchAll(/transform="translate\(([-\d.]+),[^>]*><title>run[^:<]*: (\d+);/g)]
      .map((m) => [Number(m[2]), Number(m[1])]),
  );
  assert.deepEqual([...xOf.keys()].sort((a, b) => a - b), runIds);
  const unit = (xOf.get(12)! - xOf.get(1)!) / 11;
  assert.ok(Math.abs(xOf.get(5)! - xOf.get(2)! - 3 * unit) < 0.5, "the gap of runs 3 and 4");
  // the step's rule sits between runs 8 and 9, where the table and the terminal put it
  const rule = /<g class="mark-rule role-mark[^"]*"[^>]*><line[^>]*transform="translate\(([-\d.]+),/
    .exec(svg);
  assert.ok(rule, "no step rule");
  assert.ok(Math.abs(Number(rule[1]) - (xOf.get(8)! + xOf.get(9)!) / 2) < 0.5, rule[1]);
});

Deno.test("html cli: compare --html writes the drift page; a bad --html path is exit 2", async () => {
  await withTempDir(async (dir) => {
    const base = baselineOf([supportedCase("preset=tiny;b=1")]);
    await Deno.writeTextFile(`${dir}/a.json`, JSON.stringify(base));
    await Deno.writeTextFile(`${dir}/b.json`, JSON.stringify({ ...base, createdAt: "2026-01-02" }));
    const ok = await runCli([
      "compare",
      `${dir}/a.json`,
      `${dir}/b.json`,
      "--html",
      `${dir}/d.html`,
    ]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const html = await Deno.readTextFile(`${dir}/d.html`);
    assert.equal(figure(html, "drift").marks, 7);
    const bad = await runCli([
      "compare",
      `${dir}/a.json`,
      `${dir}/b.json`,
      "--html",
      `${dir}/missing/d.html`,
    ]);
    assert.equal(bad.code, 2, bad.stdout + bad.stderr);
    assert.match(bad.stderr, /--html/);
  });
});

Deno.test("html run: the header names the runtime, and the browser of a Chromium run", async () => {
  const deno = await runReportHtml(runFixture());
  assert.match(deno, /<dt>Runtime<\/dt><dd>deno \(Deno 2\.9\.6, V8 [^<]+\)<\/dd>/);
  const base = runFixture();
  const browser = {
    name: "chromium",
    version: "HeadlessChrome/156.0.8078.114",
    path: "/usr/bin/chromium-headless-shell",
    userAgent: "Mozilla/5.0",
  };
  const html = await runReportHtml({ ...base, fingerprint: { ...base.fingerprint, browser } });
  assert.match(
    html,
    /<dt>Runtime<\/dt><dd>chromium \(HeadlessChrome\/156\.0\.8078\.114; harness on Deno 2\.9\.6\)<\/dd>/,
  );
});

Deno.test("html run: an expanded case's K/V expansion has its own column (cache construction)", async () => {
  const base = runFixture();
  const expanded = base.results.find((r) => r.params?.path === "expanded")!;
  const timed = {
    ...expanded,
    timing: {
      source: "timestamp-query",
      samplesMs: [2, 3],
      medianMs: 2.5,
      scope: "core" as const,
      outsideCoreMs: 16576.15,
    },
  };
  const html = await runReportHtml({
    ...base,
    results: base.results.map((r) => r === expanded ? timed : r),
  });
  assert.match(html, /<th[^>]*>cache construction \(ms\)<\/th>/);
  const row = html.slice(html.indexOf(`<tr data-id="${expanded.id}">`));
  assert.match(row.slice(0, row.indexOf("</tr>")), /2\.500<\/td><td class="n">16576\.2<\/td>/);
});

Deno.test("html run and summary.md: a kernel median reads the same in both, and one under 0.0005 ms not as 0", async () => {
  // a GPU's microsecond cases: report.html wrote 0.005 ms as "5.00e-3" where summary.md wrote
  // "0.005", and summary.md wrote 0.00042 ms as "0.000"
  const base = runFixture();
  const [a, b] = base.results.filter((r) => r.decision === "supported");
  const timed = (medianMs: number) => ({
    timing: { source: "timestamp-query", samplesMs: [medianMs], medianMs, scope: "all" as const },
  });
  const changed = new Map([[a, { ...a, ...timed(0.005) }], [b, { ...b, ...timed(0.00042) }]]);
  const run = { ...base, results: base.results.map((r) => changed.get(r) ?? r) };
  const html = await runReportHtml(run);
  const md = toMarkdown(run);
  for (const [r, want] of [[a, "0.005"], [b, "0.00042"]] as const) {
    const row = html.slice(html.indexOf(`<tr data-id="${r.id}">`));
    assert.ok(row.slice(0, row.indexOf("</tr>")).includes(`<td class="n">${want}</td>`), want);
    const line = md.split("\n").find((l) =>
      l.startsWith(`| \`${r.id}\``) && l.includes(" ms") === false &&
      /\| [\d.]+ \| [\d.]+ \|/.test(l)
    );
    assert.ok(line?.includes(`| ${want} |`), `${want} in ${line}`);
  }
});

Deno.test("html run and summary.md: a cache construction under 0.05 ms keeps two digits, not '0.0'", async () => {
  // the H200's absorbed cases (docs/gpu_machine/h200-2026-12-04) read "0.0": a texture copy
  // that takes time, shown as none
  const base = runFixture();
  const absorbed = base.results.find((r) => r.params?.path === "absorbed")!;
  const timed = {
    ...absorbed,
    timing: {
      source: "timestamp-query",
      samplesMs: [2, 3],
      medianMs: 2.5,
      scope: "all" as const,
      outsideCoreMs: 0.0316,
    },
  };
  const run = { ...base, results: base.results.map((r) => r === absorbed ? timed : r) };
  const html = await runReportHtml(run);
  const row = html.slice(html.indexOf(`<tr data-id="${absorbed.id}">`));
  assert.match(row.slice(0, row.indexOf("</tr>")), /2\.500<\/td><td class="n">0\.032<\/td>/);
  const md = toMarkdown(run);
  const slow = md.split("\n").find((l) =>
    l.startsWith(`| \`${absorbed.id}\``) && l.includes("2.500")
  );
  assert.ok(slow?.includes("| 2.500 | 0.032 |"), slow);
});

Deno.test("html run: a kernel median some repetitions were left out of (clock faults) says how many", async () => {
  const base = runFixture();
  const expanded = base.results.find((r) => r.params?.path === "expanded")!;
  const timed = {
    ...expanded,
    timing: { source: "timestamp-query", samplesMs: [2, 3], medianMs: 2.5, clockFaults: 1 },
  };
  const html = await runReportHtml({
    ...base,
    results: base.results.map((r) => r === expanded ? timed : r),
  });
  const row = html.slice(html.indexOf(`<tr data-id="${expanded.id}">`));
  assert.match(
    row.slice(0, row.indexOf("</tr>")),
    /<td class="n">2\.500 <span class="clock" title="timed repetitions whose GPU timestamps went backwards[^"]*">\(1 of 3 left out\)<\/span><\/td>/,
  );
  // said of that case alone
  assert.equal(html.split("left out)").length - 1, 1);
});

Deno.test("bench summary: the targets say which device class they are for", () => {
  const targets = [
    { target: "prefill-expanded", id: "x", want: 0.25, got: 0.2, met: false, shortfall: 0.2 },
  ];
  const gpu = { ...benchFixture(), targets, targetClass: "gpu" as const };
  assert.match(toBenchMarkdown(gpu, { title: "t" }), /Targets \(of a gpu-class device\):/);
  assert.match(formatTable(gpu), /targets of a gpu-class device:\nMISS prefill-expanded: 0\.200/);
  // A report written before the class was recorded reads as the CPU set it was judged by,
  // without calling its device (an H100's) cpu-class.
  const old = toBenchMarkdown({ ...benchFixture(), targets }, { title: "t" });
  assert.match(old, /class was not recorded \(.*judged by the cpu-class targets\)/);
});

Deno.test("html pages of a Chromium run name the browser as the runtime, not Deno", async () => {
  const browser = {
    name: "chromium",
    version: "HeadlessChrome/156.0.8078.114",
    path: "/usr/bin/chromium-headless-shell",
    userAgent: "Mozilla/5.0",
  };
  const runtimeRow = (html: string) =>
    /<dt>Runtime<\/dt><dd>([^<]*)<\/dd>/.exec(html)?.[1] ?? "no Runtime fact";
  const one = [supportedCase("preset=tiny;b=1")];
  // a Chromium run's device key ends in -chromium (drift/device_key.ts)
  const inChromium = baselineOf(one, {
    deviceKey: "llvmpipe-65541-chromium",
    fingerprint: lavapipeFingerprint({ browser }),
  });
  const cmp = compareBaselines(inChromium, inChromium);
  assert.equal(cmp.current.browser, "chromium HeadlessChrome/156.0.8078.114");
  assert.match(
    runtimeRow(await compareReportHtml(cmp, {})),
    /^chromium HeadlessChrome\/156\.0\.8078\.114 \(harness on Deno /,
  );
  assert.match(
    compareToMarkdown(cmp),
    /Current: `llvmpipe-65541-chromium`, smoke, chromium HeadlessChrome\/156\.0\.8078\.114, harness on Deno /,
  );
  // Deno's own WebGPU: no browser in the compare JSON, and the page says deno
  const native = compareBaselines(baselineOf(one), baselineOf(one));
  assert.ok(!("browser" in native.current));
  assert.match(runtimeRow(await compareReportHtml(native, {})), /^deno \(Deno /);
  const bench = benchFixture();
  const chromiumBench = {
    ...bench,
    machine: { ...bench.machine, browser: "chromium HeadlessChrome/156.0.8078.114" },
  };
  assert.match(runtimeRow(await benchReportHtml(chromiumBench)), /^chromium HeadlessChrome/);
  assert.match(runtimeRow(await benchReportHtml(bench)), /^deno \(Deno /);
});

Deno.test("html run: each dtype and path has one colour in every page, and none is red", async () => {
  const pass = (dtype: "f32" | "f16", path: "absorbed" | "expanded", b: number) =>
    result({ dtype, path, b }, {
      out: { ...parity(true), headroom: 0.1 },
      lse: { ...parity(true), headroom: 0.1 },
    });
  const fills = async (results: ReturnType<typeof pass>[]) => {
    const svg = figure(await runReportHtml(report(results)), "headroom").svg;
    const body = /<g class="mark-symbol role-mark layer_0_marks"[^>]*>([\s\S]*?)<\/g>/.exec(svg);
    return new Set([...(body?.[1] ?? svg).matchAll(/fill="(#[0-9a-fA-F]{6})"/g)].map((m) => m[1]));
  };
  // all four kinds: category10 would give the fourth its red, the colour of a failure here
  const all = await fills([
    pass("f32", "absorbed", 1),
    pass("f32", "expanded", 2),
    pass("f16", "absorbed", 3),
    pass("f16", "expanded", 4),
  ]);
  assert.deepEqual([...all].sort(), ["#4c78a8", "#54a24b", "#b279a2", "#f58518"]);
  // f32 absorbed keeps its colour alone and beside another kind, whatever order they come in
  assert.deepEqual([...await fills([pass("f32", "absorbed", 1)])], ["#4c78a8"]);
  assert.deepEqual(
    [...await fills([pass("f16", "absorbed", 3), pass("f32", "absorbed", 1)])].sort(),
    [
      "#4c78a8",
      "#54a24b",
    ],
  );
});

Deno.test("html history: a long case id's title shows all of it, so series that differ last differ", async () => {
  const long = "preset=deepseek-v2-lite;path=absorbed;dtype=f32;b=2;sq=1;sk=4096;" +
    "layout=bshd;page=16;splits=4;causal=";
  const series = (caseId: string): Series => ({
    caseId,
    points: [1, 2, 3].map((runId) => ({
      runId,
      startedAt: `2026-11-0${runId}T02:17:00Z`,
      deno: "2.9.6",
      harnessRevision: "abc",
      deviceKey: "llvmpipe-65541-vulkan",
      value: 1,
    })),
    steps: [],
  });
  const html = await historyReportHtml([series(`${long}1`), series(`${long}0`)], "median_ms");
  const titles = [...html.matchAll(/<g class="mark-group role-title"[\s\S]*?<\/g><\/g>/g)]
    .map((m) =>
      [...m[0].matchAll(/<tspan[^>]*>([^<]*)<\/tspan>|<text[^>]*>([^<]*)<\/text>/g)]
        .map((t) => t[1] ?? t[2]).join("")
    );
  assert.ok(titles.some((t) => t.endsWith("causal=1")), JSON.stringify(titles));
  assert.ok(titles.some((t) => t.endsWith("causal=0")), JSON.stringify(titles));
  assert.ok(titles.every((t) => !t.includes("…")), JSON.stringify(titles));
});

Deno.test("html run: headroom axis labels are the groups' names, short and distinct", () => {
  const long = "4100 keys in 4-query tiles: within lavapipe's loop budget on the absorbed backend";
  const labels = shortGroupLabels([
    "paged latent cache (shuffled pages, unused pages poisoned)",
    "full layer (projections, norms)",
    "full layer (projections only)",
    `${long} (why)`,
    "a".repeat(70) + "x",
    "a".repeat(70) + "y",
  ]);
  assert.deepEqual([...labels.values()], [
    "paged latent cache",
    // the same head: cut from the whole name instead
    "full layer (projections, norms)",
    "full layer (projections only)",
    // cut at a word's end, to 240 px in the charts' font
    "4100 keys in 4-query tiles: within…",
    // no word's end near: cut where the width runs out
    "a".repeat(34) + "… #1",
    "a".repeat(34) + "… #2",
  ]);
  for (const l of labels.values()) {
    assert.ok(textWidth(l.replace(/ #\d+$/, ""), 11, false) <= 240, l);
  }
  assert.equal(new Set(labels.values()).size, labels.size);
});

Deno.test("html run: a headroom plot of many groups has its x axis above it as well as below", async () => {
  const xAxes = (html: string) =>
    (html.match(/aria-label="X-axis titled 'headroom \(error \/ allowance, log\)'/g) ?? []).length;
  // 3 groups: one axis, below
  assert.equal(xAxes(await runReportHtml(runFixture())), 1);
  // a user matrix of many groups: the plot is thousands of pixels tall, and its only scale was
  // at the bottom
  const groups = TOP_AXIS_GROUPS + 1;
  const results = Array.from({ length: groups }, (_, i) =>
    result({ b: 1, sk: 16 + i }, {
      group: `group ${i}`,
      out: { ...parity(true), headroom: 10 ** -(i % 5) },
    }));
  const html = await runReportHtml(report(results));
  assert.equal(xAxes(html), 2);
  // the same ticks on both
  const ticks = [...html.matchAll(/for a log scale with values from ([^"]*)"/g)].map((m) => m[1]);
  assert.equal(ticks.length, 2);
  assert.equal(ticks[0], ticks[1]);
  assert.equal(xAxes(await runReportHtml(report(results.slice(0, TOP_AXIS_GROUPS)))), 1);
});

Deno.test("html run: a headroom plot of 1,500 matrix groups is drawn, in the groups' order", async () => {
  // the groups' order was a Vega-Lite sort array, compiled into one nested condition a group:
  // past about 1,300 groups writing report.html overflowed the stack ("internal error:
  // RangeError: Maximum call stack size exceeded"), and run and merge wrote no report.html
  const results = Array.from(
    { length: 1500 },
    (_, i) =>
      result({ b: 1, sk: 16 + i }, {
        group: `g${1499 - i}`,
        out: { ...parity(true), headroom: 0.1 },
      }),
  );
  const html = await runReportHtml(report(results));
  const axis = /aria-label="Y-axis for a discrete scale with 1500 values: ([^"]*)"/.exec(html);
  assert.ok(axis, "the y axis names its 1500 groups");
  assert.ok(axis[1].startsWith("g1499, g1498, g1497,"), axis[1].slice(0, 80));
});

Deno.test("charts measure text in their font: a 55-character label fits 400 px whole", async () => {
  // Vega's own guess without a canvas (0.8 x 55 characters x 11 px = 484 px) would cut it.
  const label = "tiny: all paths, dtypes, layouts, masks; decode and MTP";
  assert.equal(label.length, 55);
  const svg = await renderSvg({
    data: { values: [{ x: 1, g: label }] },
    mark: "point",
    encoding: {
      x: { field: "x", type: "quantitative" },
      y: { field: "g", type: "nominal", axis: { labelLimit: 400 } },
    },
  });
  assert.ok(svg.includes(`>${label}</text>`), "the label drawn whole");
  assert.ok(textWidth(label, 11, false) < 400);
  assert.ok(textWidth(label, 11, false) > 0.5 * 0.8 * 55 * 11, "not an underestimate either");
});

Deno.test("html run: a headroom point's title gives the headroom report.json records, not where it is drawn", async () => {
  // The smoke matrix's two layer cases with an exact f16 output (headroom 0 in report.json)
  // read "headroom: 0.000001" on hover, the floor they are drawn at; a side with no finite
  // headroom read "headroom: 1", the rule (audit 2026-12-07, smoke report.html).
  const html = await runReportHtml(report([
    result({ b: 1 }, {
      out: { ...parity(true), headroom: 0 },
      lse: { ...parity(true), headroom: 1e-9 },
    }),
    result({ b: 2 }, {
      status: "fail",
      out: { ...parity(false), headroom: undefined, nonfinite: { count: 1, firstAt: [0] } },
      lse: { ...parity(true), headroom: 0.25 },
    }),
  ]));
  const titles = [...figure(html, "headroom").svg.matchAll(/<title>([^<]*)<\/title>/g)]
    .map((m) => m[1]);
  const of = (b: number, side: string) =>
    titles.filter((t) => t.includes(`;b=${b};`) && t.includes(`side: ${side};`));
  assert.ok(of(1, "out").length === 1 && of(1, "out")[0].endsWith("headroom: 0 (drawn at 1e-6)"));
  assert.ok(of(1, "lse")[0]?.endsWith("headroom: 1.0e-9 (drawn at 1e-6)"), of(1, "lse")[0]);
  assert.ok(of(2, "lse")[0]?.endsWith("headroom: 0.250"), of(2, "lse")[0]);
  // the failed side's point and its ring
  const failed = of(2, "out");
  assert.equal(failed.length, 2);
  for (const t of failed) {
    assert.match(t, /headroom: none finite \(drawn on the rule at 1\); failed$/);
  }
  assert.ok(!titles.some((t) => /0\.000001/.test(t)), titles.join("\n"));
});

Deno.test("html run: thousands of groups each with a failure: past the bare-groups cut, 1000 rows", async () => {
  // A failing group keeps a table of its own (about 1 kB with its header): 20,000 groups of
  // one failing case each made a page of 5.8 MiB against its 5 MiB cap with every other cut
  // made (tools/html_scale.ts --groups 20000 20000). A cap no page meets keeps the last cut.
  const n = LAST_FAILURE_ROWS + 1;
  const results = Array.from({ length: n }, (_, i) =>
    result({ b: 1 + (i % 7), sk: 16 + i }, {
      group: `g${i}`,
      status: "fail",
      message: "out failed",
      out: { ...parity(false), headroom: 2 },
    }));
  const html = await runReportHtml(report(results), { maxBytes: 1000 });
  assert.equal(LAST_FAILURE_ROWS, 1000);
  assert.equal((html.match(/<tr data-id=/g) ?? []).length, LAST_FAILURE_ROWS);
  assert.equal((html.match(/<details class="group"/g) ?? []).length, LAST_FAILURE_ROWS);
  // the last failure's group is a line of the bare groups' table, counted
  const table = /<table class="bare-groups">[\s\S]*?<\/table>/.exec(html)?.[0] ?? "";
  assert.match(table, /<tr><td>g1000<\/td><td>1 case: 0 passed, 1 failed<\/td>/);
  assert.match(
    html,
    /the next 800 are rows of their groups below, with their message; the last 1 is only counted there/,
  );
});

Deno.test("html run: the headroom plot writes at least PLOT_GROUP_MIN_BYTES a group", async () => {
  // A run of more groups than the cap holds at this rate is not given the plot of every group
  // (on 20,000 groups it took 7 s, and every page built around it was past the cap): the rate
  // must be one no plot writes less than, or a plot that fits would be left out. Groups of the
  // shortest names, one side of one case each: about 650 bytes a group.
  const n = CAPPED_PLOT_GROUPS + 1;
  const results = Array.from({ length: n }, (_, i) =>
    result({ b: 1 + (i % 7), sk: 16 + i }, {
      group: `g${i}`,
      out: { ...parity(true), headroom: 0.1 + i * 1e-3 },
      lse: undefined,
    }));
  const html = await runReportHtml(report(results), { maxBytes: 50_000_000 });
  const plot = /<section[^>]*id="plots"[\s\S]*?<\/section>/.exec(html)?.[0] ?? "";
  assert.match(plot, /<svg/);
  const perGroup = new TextEncoder().encode(plot).length / n;
  assert.ok(perGroup >= PLOT_GROUP_MIN_BYTES, `${perGroup} bytes a group`);
  // the page of a cap below n groups at that rate draws the plot of CAPPED_PLOT_GROUPS
  const capped = await runReportHtml(report(results), {
    maxBytes: n * PLOT_GROUP_MIN_BYTES - 1,
  });
  assert.match(capped, /the headroom plot draws 300 of the 301 matrix groups/);
});

Deno.test("html run: control characters in a message or group are written visibly, never raw", async () => {
  // a user backend's error with an ANSI colour code and a NUL: the page showed a box and
  // "[31m", and nothing where the NUL was (summary.md and junit.xml write `\u001b`)
  const message = "Error: \x1b[31mboom\x1b[0m\x00 at <kernel>\n\tsecond line";
  const html = await runReportHtml(report([
    result({ b: 2 }, {
      status: "error",
      decision: "not-reached",
      message,
      out: undefined,
      group: "g\x1b[1m",
    }),
    result({ b: 3 }, { group: "g\x1b[1m" }),
  ]));
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(html, /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]/);
  assert.ok(html.includes("Error: \\u001b[31mboom\\u001b[0m\\u0000 at &lt;kernel&gt;"), html);
  assert.ok(html.includes("<b>g\\u001b[1m</b>"));
});

// A run of no case (an empty selection) drew "Cases by matrix group" and a filter box over
// nothing under a verdict that says the selection is empty.
Deno.test("html run: a run of no case has no empty cases section or filter box", async () => {
  const html = await runReportHtml(report([], { matrixIds: [], shardIds: [] }));
  assert.match(html, /No case was run: the selection is empty/);
  assert.doesNotMatch(html, /<section id="cases">|id="case-filter"/);
  // one case: the section and its filter as before
  assert.match(await runReportHtml(report([result({ b: 1 })])), /<section id="cases">/);
});
