// compare.html: the drift plot marks what each speed point is (a regression red, an
// improvement green, a ratio not tested amber, never "within thresholds"), and the page
// carries compare.md's counts of cases with each class, every class of a row, what each case
// is attributed to and the baseline cases outside the selection. GPU-free.
import assert from "node:assert/strict";
import {
  compareBaselines,
  compareSummaryLine,
  compareToMarkdown,
  DRIFT_CLASSES,
} from "../drift/mod.ts";
import { runReportHtml } from "../report/html/mod.ts";
import { report, result } from "./report_util.ts";
import { compareReportHtml, driftPlotData, driftPoints, ratioFigure } from "../drift/drift_html.ts";
import { DEFAULT_THRESHOLDS } from "../drift/thresholds.ts";
import {
  baselineOf,
  lavapipeFingerprint,
  samples,
  supportedCase,
  timing,
} from "./drift_helpers.ts";
import { figure } from "./chart_svg.ts";

/** The entries of a chart's legend, in order. */
function legend(svg: string): string[] {
  const body = /<g class="mark-group role-legend"[\s\S]*$/.exec(svg)?.[0] ?? "";
  return [...body.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
}

/** The fill of the point of case `id` and metric `metric`. */
function fillOf(svg: string, id: string, metric: string): string | undefined {
  const re = new RegExp(
    `<path [^>]*fill="(#[0-9a-f]+)"[^>]*><title>metric: ${metric};[^<]*id: ${id};`,
  );
  return re.exec(svg)?.[1];
}

/** The path data of the point of case `id` and metric `metric`. */
function pathOf(svg: string, id: string, metric: string): string | undefined {
  const re = new RegExp(`<path [^>]*d="([^"]+)"[^>]*><title>metric: ${metric};[^<]*id: ${id};`);
  return re.exec(svg)?.[1];
}

Deno.test("drift plot: a speed ratio tested on too few samples is 'not tested', not within thresholds", async () => {
  // 3 repeats a side (the default --repeats), minSamples 5: 6x slower, untested
  const base = baselineOf([supportedCase("preset=tiny;b=1", { timing: timing(samples(1, 3, 1)) })]);
  const current = baselineOf([
    supportedCase("preset=tiny;b=1", { timing: timing(samples(6, 3, 2)) }),
  ]);
  const cmp = compareBaselines(base, current);
  assert.equal(cmp.cases[0].speed?.tooFewSamples, true);
  const [speed] = driftPlotData(driftPoints(cmp.cases, { base, current }))
    .filter((p) => p.metric === "speed");
  assert.ok(speed.ratio > DEFAULT_THRESHOLDS.speedRatio, `${speed.ratio}`);
  assert.equal(speed.mark, "not tested (too few samples)");
  const html = await compareReportHtml(cmp, { base, current });
  const { svg } = figure(html, "drift");
  assert.ok(legend(svg).includes("not tested (too few samples)"), legend(svg).join(", "));
  assert.ok(!legend(svg).includes("within thresholds"), legend(svg).join(", "));
  assert.equal(fillOf(svg, "preset=tiny;b=1", "speed"), "#d98c00");
  // the table's p column says so too (it showed a p the header says was no test)
  assert.match(html, /<td class="n">\d+\.\d+<\/td><td class="n">not tested<\/td>/);
});

Deno.test("drift plot: a significant improvement is green, a regression red, the legend says which", async () => {
  const t = { ...DEFAULT_THRESHOLDS, speedRatio: 1.05, minSamples: 3, alpha: 0.2 };
  const ids = ["preset=tiny;b=1", "preset=tiny;b=2"];
  const base = baselineOf(
    ids.map((id, i) => supportedCase(id, { timing: timing(samples(1, 20, i + 1)) })),
  );
  const current = baselineOf([
    supportedCase(ids[0], { timing: timing(samples(0.4, 20, 7)) }), // faster
    supportedCase(ids[1], { timing: timing(samples(3, 20, 8)) }), // slower
  ]);
  const cmp = compareBaselines(base, current, { thresholds: t });
  assert.deepEqual(cmp.cases.map((c) => [c.id, c.speed?.verdict]).sort(), [
    [ids[0], "improvement"],
    [ids[1], "regression"],
  ]);
  const marks = driftPlotData(driftPoints(cmp.cases, { base, current }))
    .filter((p) => p.metric === "speed").map((p) => [p.id, p.mark]);
  assert.deepEqual(marks.sort(), [[ids[0], "improvement"], [ids[1], "regression"]]);
  const html = await compareReportHtml(cmp, { base, current });
  const { svg } = figure(html, "drift");
  assert.equal(fillOf(svg, ids[0], "speed"), "#1e8a3c");
  assert.equal(fillOf(svg, ids[1], "speed"), "#c22");
  // told apart by shape too, not colour alone: triangles, drawn without the arcs of a circle
  for (const id of ids) assert.doesNotMatch(pathOf(svg, id, "speed") ?? "A", /A/, id);
  const l = legend(svg);
  assert.ok(l.indexOf("regression") >= 0 && l.indexOf("improvement") >= 0, l.join(", "));
  assert.ok(!l.includes("significant"), l.join(", "));
  assert.match(html, /Red: a regression[^.]*; green: significantly faster/);
});

Deno.test("compare.md and compare.html: what moved writes every error metric and floor one way", async () => {
  // toPrecision(3) wrote "2.00e-7 → 0.0000200 (> 4x and above 0.0000100)" and
  // "lseMaxRel 1.00e-7 → 0.0000100 (... above 0.00000100)": one kind of number in two forms
  const id = "preset=tiny;b=1";
  const base = baselineOf([supportedCase(id)]);
  const current = baselineOf([supportedCase(id, {
    metrics: {
      outMaxAbs: 2e-5,
      outMaxRel: 3e-3,
      outCosDiff: 1e-9,
      outNormRel: 1.5e-4,
      lseMaxAbs: 3e-5,
      lseMaxRel: 1e-5,
    },
  })]);
  const cmp = compareBaselines(base, current);
  const md = compareToMarkdown(cmp);
  // as the parity summary writes them (report/figures.ts): "outMaxAbs 8.96e-7 → 1.20e+0"
  // stood beside the message's "max abs err 1.2e0"
  assert.ok(md.includes("outMaxAbs 2e-7 → 2e-5 (&gt; 4x and above 1e-5)"), md);
  assert.ok(md.includes("lseMaxRel 1e-7 → 1e-5 (&gt; 4x and above 1e-6)"), md);
  assert.ok(md.includes("outNormRel 1.5e-7 → 1.5e-4"), md);
  const html = await compareReportHtml(cmp, { base, current });
  assert.doesNotMatch(md, /0\.0000\d/);
  assert.ok(html.includes("lseMaxRel 1e-7 → 1e-5 (&gt; 4x and above 1e-6)"));
  // the figure of a planted fault's message: one form in the cell
  const fault = compareBaselines(
    base,
    baselineOf([supportedCase(id, {
      status: "fail",
      parity: { out: false, lse: true },
      metrics: { ...supportedCase(id).metrics!, outMaxAbs: 1.2003 },
      message: "out: max abs err 1.2e0",
    })]),
  );
  const faultMd = compareToMarkdown(fault);
  assert.ok(faultMd.includes("outMaxAbs 2e-7 → 1.2e0"), faultMd);
  assert.doesNotMatch(faultMd, /e\+0/);
});

Deno.test("drift plot: the metrics of a side that crossed its tolerance are red (NaN values left them near 1, drawn within thresholds)", async () => {
  const id = "preset=tiny;b=1";
  const base = baselineOf([supportedCase(id)]);
  // out failed on non-finite values: its finite-element metrics barely moved
  const current = baselineOf([
    supportedCase(id, {
      status: "fail",
      parity: { out: false, lse: true },
      outputDigest: "other",
      message: "out: 192 NaN",
    }),
  ]);
  const cmp = compareBaselines(base, current);
  assert.equal(cmp.cases[0].class, "numeric-drift");
  assert.deepEqual(cmp.cases[0].metrics, [], "no metric drifted");
  const marks = new Map(
    driftPlotData(driftPoints(cmp.cases, { base, current })).map((p) => [p.metric, p.mark]),
  );
  assert.equal(marks.get("outMaxAbs"), "regression");
  assert.equal(marks.get("outCosDiff"), "regression");
  assert.equal(marks.get("lseMaxAbs"), "unchanged (exactly 1)", "lse did not cross");
  const { svg } = figure(await compareReportHtml(cmp, { base, current }), "drift");
  assert.equal(fillOf(svg, id, "outMaxAbs"), "#c22");
  assert.ok(legend(svg).includes("regression"), legend(svg).join(", "));
});

Deno.test("drift plot: a metric from an exact 0 baseline that drifted is a red point at the top edge, not left out", async () => {
  const id = "preset=tiny;mode=layer";
  const metrics = { outMaxAbs: 0, outMaxRel: 0, outCosDiff: 0, outNormRel: 0, lseMaxAbs: 3e-7 };
  const base = baselineOf([supportedCase(id, { metrics: { ...metrics, lseMaxRel: 1e-7 } })]);
  // an f16 layer whose baseline was bit-exact now fails: every out metric 0 → non-zero
  const current = baselineOf([
    supportedCase(id, {
      status: "fail",
      parity: { out: false, lse: true },
      outputDigest: "other",
      metrics: { ...metrics, outMaxAbs: 0.5, outMaxRel: 0.3, lseMaxRel: 1e-7 },
    }),
  ]);
  const cmp = compareBaselines(base, current);
  assert.equal(cmp.cases[0].class, "numeric-drift");
  const data = driftPlotData(driftPoints(cmp.cases, { base, current }));
  const outAbs = data.find((p) => p.metric === "outMaxAbs");
  assert.equal(outAbs?.mark, "regression", JSON.stringify(data));
  assert.equal(outAbs?.offScale, "from 0");
  // a decade above the finite ratios (0.1 to 10 here), where no finite ratio is drawn
  assert.equal(outAbs?.ratio, 100);
  const html = await compareReportHtml(cmp, { base, current });
  const { svg } = figure(html, "drift");
  const caption =
    /data-chart="drift"[\s\S]*?<figcaption>([\s\S]*?)<\/figcaption>/.exec(html)?.[1] ??
      "";
  assert.equal(fillOf(svg, id, "outMaxAbs"), "#c22");
  assert.ok(legend(svg).includes("regression"), legend(svg).join(", "));
  // the axis labels that place "from 0", the point's title and the caption say why it is there
  assert.match(svg, /<text[^>]*>from 0<\/text>/);
  assert.match(
    svg,
    /<title>[^<]*ratio: none: 0 in the baseline, not now \(drawn at the top, from 0\)/,
  );
  assert.match(
    caption,
    /was 0 in the baseline and is not now has no ratio: drawn at the top, at (?:"|&quot;)from 0(?:"|&quot;)\./,
  );
  // the other way, a metric that fell to 0 (now exact): a decade below, at "to 0"
  const back = compareBaselines(current, base);
  const fell = driftPlotData(driftPoints(back.cases, { base: current, current: base }))
    .find((p) => p.metric === "outMaxAbs");
  assert.equal(fell?.offScale, "to 0");
  assert.equal(fell?.ratio, 0.01);
  assert.match(
    figure(await compareReportHtml(back, { base: current, current: base }), "drift").svg,
    /<text[^>]*>to 0<\/text>/,
  );
});

Deno.test("compare.html: cases with each class, every class of a row, attribution and the out-of-selection note, as compare.md", async () => {
  // b=1: support drift, numeric drift and other bits at once; b=2: other bits only
  const ids = ["preset=tiny;b=1", "preset=tiny;b=2"];
  const outside = "preset=small;b=1";
  const base = baselineOf([...ids, outside].map((id) => supportedCase(id)), {
    fingerprint: lavapipeFingerprint({ runtime: { deno: "2.9.5", v8: "x", typescript: "y" } }),
  });
  const c1 = supportedCase(ids[0]);
  const current = baselineOf([
    {
      ...c1,
      planDigest: "another plan",
      metrics: { ...c1.metrics!, outMaxAbs: 0.2 },
      parity: { out: false, lse: true },
      status: "fail",
      outputDigest: "other",
    },
    { ...supportedCase(ids[1]), outputDigest: "other too" },
  ], { filter: "preset=tiny" });
  const cmp = compareBaselines(base, current);
  assert.equal(cmp.outOfScope, 1);
  assert.deepEqual(cmp.cases[0].classes, ["support-drift", "numeric-drift", "bits-changed"]);
  const md = compareToMarkdown(cmp);
  assert.match(md, /\| numeric drift \| 0 \| 1 \|/);
  assert.match(md, /\| bits changed within tolerance \| 1 \| 2 \|/);
  const html = await compareReportHtml(cmp, { base, current });
  const classes = /<section id="classes">[\s\S]*?<\/section>/.exec(html)?.[0] ?? "";
  const row = (k: string) =>
    new RegExp(`>${k}</span></td><td class="n">(\\d+)</td><td class="n">(\\d+)</td>`).exec(classes)
      ?.slice(1).map(Number);
  assert.deepEqual(row("support-drift"), [1, 1]);
  assert.deepEqual(row("numeric-drift"), [0, 1]);
  assert.deepEqual(row("bits-changed"), [1, 2]);
  for (const k of DRIFT_CLASSES) {
    const n = row(k);
    if (n) assert.deepEqual(n, [cmp.counts[k], cmp.classCounts[k]], k);
  }
  // the class table's badges are coloured as the case rows' are
  assert.match(classes, /<span class="status regression">support-drift<\/span>/);
  assert.match(classes, /<span class="status info">bits-changed<\/span>/);
  assert.match(classes, /1 baseline case outside the current run's selection/);
  assert.match(html, /1 baseline case outside its selection/);
  // the row of b=1 has a badge per class and its attribution (Deno 2.9.5 → 2.9.6)
  const tr = new RegExp(`<tr data-id="${ids[0]}">[\\s\\S]*?</tr>`).exec(html)?.[0] ?? "";
  for (const k of cmp.cases[0].classes) assert.ok(tr.includes(`>${k}</span>`), `${k} in ${tr}`);
  // red where the class counts as a regression, grey where it is information (not green)
  assert.match(tr, /<span class="status regression">support-drift<\/span>/);
  assert.match(tr, /<span class="status info">bits-changed<\/span>/);
  assert.ok(cmp.cases[0].attributedTo.length > 0);
  assert.ok(tr.includes(cmp.cases[0].attributedTo[0].replace(/&/g, "&amp;")), tr);
  assert.match(html, /<th>attributed to<\/th>/);
});

/** A baseline's device of an H200, as its fingerprint records it (the key follows from it). */
const H200 = {
  deviceKey: "nvidia-h200-4318-9013-vulkan",
  fingerprint: lavapipeFingerprint({
    adapter: {
      adapter: {
        vendor: "4318",
        architecture: "",
        device: "9013",
        description: "NVIDIA H200",
        isFallbackAdapter: false,
      },
      features: ["shader-f16", "timestamp-query"],
      limits: {},
    },
  }),
};

Deno.test("compare.html: a baseline of another device key says, as compare.md does, that timings and bits are not expected to match", async () => {
  // compare of an H200 baseline with a lavapipe run: compare.md had the note, compare.html
  // only a red "156 regressions" (audit 2026-12-07, cmp_h200.html).
  const base = baselineOf([supportedCase("preset=tiny;b=1")], H200);
  const current = baselineOf([supportedCase("preset=tiny;b=1")]);
  const cmp = compareBaselines(base, current);
  assert.match(compareToMarkdown(cmp), /Different devices/);
  const html = await compareReportHtml(cmp, { base, current });
  const note = /<p class="note" id="device-keys-differ">([^<]*)<\/p>/.exec(html)?.[1] ?? "";
  assert.match(note, /^Different devices/, html.slice(0, 3000));
  assert.match(note, /nvidia-h200-4318-9013-vulkan/);
  assert.match(note, /llvmpipe-65541-vulkan/);
  assert.match(note, /timings and output bits are not expected to match/);
  // the same device: no note
  const same = await compareReportHtml(compareBaselines(current, current), {
    base: current,
    current,
  });
  assert.ok(!same.includes("device-keys-differ"));
});

Deno.test("run --baseline: report.html's drift note says the baseline is of another device", async () => {
  // run --baseline baselines/nvidia-h200-….json on lavapipe: report.html's drift note read
  // "drift: 22 support-drift, 2 new; … 22 regressions" with nothing about the devices
  // (audit 2026-12-07, withbase report.html).
  const base = baselineOf([supportedCase("preset=tiny;b=1")], H200);
  const current = baselineOf([supportedCase("preset=tiny;b=1")]);
  const line = compareSummaryLine(compareBaselines(base, current));
  assert.match(
    line,
    /^drift \(baseline of another device, nvidia-h200-4318-9013-vulkan: timings and bits are not expected to match; support-drift and speed-regression not counted as regressions\): /,
  );
  const html = await runReportHtml(report([result({ b: 1 })]), {
    drift: {
      title: "Drift against h200.json",
      summary: line,
      regressions: 0,
      page: "compare.html",
    },
  });
  assert.match(html, /id="drift-note">[^\n]*baseline of another device, nvidia-h200/);
  assert.doesNotMatch(
    compareSummaryLine(compareBaselines(current, current)),
    /another device/,
  );
});

/** The visible y-axis labels of a chart: text and y, top to bottom. */
function yLabels(svg: string): { text: string; y: number }[] {
  const axis =
    /aria-label="Y-axis[^"]*"[\s\S]*?<g class="mark-text role-axis-label"[^>]*>([\s\S]*?)<\/g>/
      .exec(svg);
  assert.ok(axis, "a y axis with labels");
  return [
    ...axis[1].matchAll(
      /<text [^>]*transform="translate\([-\d.e]+,([-\d.e]+)\)"[^>]*opacity="1"[^>]*>([^<]*)<\/text>/g,
    ),
  ].map((m) => ({ text: m[2], y: Number(m[1]) })).sort((a, b) => a.y - b.y);
}

Deno.test("drift plot: the rule at 1 has the label 1, and the y labels stand apart", async () => {
  // compare of a smoke run with the same run under --plant-fault lse-offset: ratios 0.1 to
  // 2e5; Vega's thinning dropped the label 1 and kept 0.8 beside the dashed rule at 1
  // (audit 2026-12-07, cmp_fault_svg.png).
  const ids = Array.from({ length: 12 }, (_, i) => `preset=tiny;b=${i + 1}`);
  const base = baselineOf(ids.map((id) => supportedCase(id)));
  const current = baselineOf(ids.map((id, i) => {
    const c = supportedCase(id);
    return {
      ...c,
      metrics: {
        ...c.metrics!,
        outMaxRel: 3e-6 * (0.15 + i / 4),
        lseMaxAbs: 3e-7 * 2e4 * (1 + i),
      },
    };
  }));
  const cmp = compareBaselines(base, current);
  const { svg } = figure(await compareReportHtml(cmp, { base, current }), "drift");
  const labels = yLabels(svg);
  assert.ok(labels.some((l) => l.text === "1"), labels.map((l) => l.text).join(" | "));
  assert.ok(!labels.some((l) => l.text === "0.8"), labels.map((l) => l.text).join(" | "));
  // the rule's y is the label 1's
  const rule =
    /<g class="mark-rule role-mark[^"]*"[^>]*><line [^>]*transform="translate\(([-\d.]+),([-\d.]+)\)"/
      .exec(svg);
  assert.ok(rule, "the rule at 1");
  const one = labels.find((l) => l.text === "1")!;
  assert.ok(Math.abs(one.y - 3 - Number(rule[2])) < 4, `label 1 at ${one.y}, rule at ${rule[2]}`);
  // two identical runs: every ratio 1, the rule inside the plot, not on its bottom edge
  const same =
    figure(await compareReportHtml(compareBaselines(base, base), { base, current: base }), "drift")
      .svg;
  const sameRule =
    /<g class="mark-rule role-mark[^"]*"[^>]*><line [^>]*transform="translate\(([-\d.]+),([-\d.]+)\)"/
      .exec(same);
  assert.ok(sameRule && Number(sameRule[2]) > 50 && Number(sameRule[2]) < 250, sameRule?.[2]);
  for (let i = 1; i < labels.length; i++) {
    assert.ok(
      labels[i].y - labels[i - 1].y >= 13,
      `"${labels[i - 1].text}" and "${labels[i].text}" ${labels[i].y - labels[i - 1].y} px apart`,
    );
  }
});

// A drift point's hover gave every channel unrounded, the ratio twice and the plot's jitter
// offset ("current / baseline (log): 1.00009990177; jitter: 0.413230050355; ...; ratio:
// 1.0000999017729666"), and the table's speed ratio read "1.000" for a ratio that is not 1:
// one line now, the ratio at the table's figure, which tells a ratio near 1 from 1.
Deno.test("drift plot: a point's hover is one line at the table's ratio; a ratio near 1 reads apart from 1", async () => {
  const t = { ...DEFAULT_THRESHOLDS, speedRatio: 1.05, minSamples: 3, alpha: 0.2 };
  const ids = ["preset=tiny;b=1", "preset=tiny;b=2"];
  const base = baselineOf(
    ids.map((id, i) => supportedCase(id, { timing: timing(samples(1, 20, i + 1)) })),
  );
  const current = baselineOf([
    supportedCase(ids[0], { timing: timing(samples(1.0001, 20, 1)) }),
    supportedCase(ids[1], { timing: timing(samples(3, 20, 8)) }),
  ]);
  const cmp = compareBaselines(base, current, { thresholds: t });
  const html = await compareReportHtml(cmp, { base, current });
  const titles = [...figure(html, "drift").svg.matchAll(/<title>([^<]*)<\/title>/g)].map((m) =>
    m[1]
  );
  const near = cmp.cases.find((c) => c.id === ids[0])!.speed!.ratio!;
  assert.notEqual(near, 1);
  assert.equal(ratioFigure(near), near.toFixed(4));
  assert.ok(
    titles.includes(`metric: speed; id: ${ids[0]}; within thresholds; ratio: ${ratioFigure(near)}`),
    titles.join("\n"),
  );
  assert.ok(titles.every((t) => !/jitter|\d\.\d{7}/.test(t)), titles.join("\n"));
  // the rule at 1 hovered "y: 1"
  assert.ok(titles.includes("ratio 1: as in the baseline"), titles.join("\n"));
  const row = html.slice(html.indexOf(`<td class="id">${ids[0].replace(";", ";<wbr>")}`));
  assert.ok(row.includes(`<td class="n">${ratioFigure(near)}</td>`), row.slice(0, 400));
});

Deno.test("compare of two device keys: support drift and speed are figures, not regressions, unless --fail-on says so", async () => {
  // an H200 baseline with a lavapipe run read "72 regressions" (the adapter's backend of each
  // device as support drift) and exit 1 beside "Different device keys"
  const id = "preset=tiny;b=1";
  const base = baselineOf([supportedCase(id, { backend: "wgsl-absorbed-tiled" })], H200);
  const current = baselineOf([supportedCase(id)]);
  const cmp = compareBaselines(base, current);
  assert.equal(cmp.cases[0].class, "support-drift", "the class stays");
  assert.equal(cmp.regressions, 0);
  assert.deepEqual(cmp.failOn, ["numeric-drift"]);
  assert.deepEqual(cmp.acrossDevices, { uncounted: ["support-drift", "speed-regression"] });
  const md = compareToMarkdown(cmp);
  assert.match(md, /this compares two devices/);
  assert.match(
    md,
    /Not counted as regressions, so not in the exit code: support-drift \(1\), speed-regression \(0\)/,
  );
  assert.doesNotMatch(md, /\*\*1 regression/);
  // the one-line summary (run --baseline's report.html note) says so too
  assert.match(
    compareSummaryLine(cmp),
    /match; support-drift and speed-regression not counted as regressions\)/,
  );
  const html = await compareReportHtml(cmp, { base, current });
  assert.match(html, /Not counted as regressions, so not in the exit code/);
  // numeric drift across devices still counts
  const broke = baselineOf([
    supportedCase(id, { status: "fail", parity: { out: false, lse: true } }),
  ]);
  assert.equal(compareBaselines(base, broke).regressions, 1);
  // --fail-on given: it counts what it names, and the note says so
  const named = compareBaselines(base, current, { failOn: ["support-drift"] });
  assert.equal(named.regressions, 1);
  assert.deepEqual(named.acrossDevices, { uncounted: [] });
  assert.match(
    compareToMarkdown(named),
    /--fail-on decides what counts as a regression here: support-drift\./,
  );
  // one device: the default counts support drift as before
  const same = compareBaselines(baselineOf([supportedCase(id, { backend: "x" })]), current);
  assert.equal(same.regressions, 1);
  assert.equal(same.acrossDevices, undefined);
});
