// The HTML reports on a narrow screen (about 800 px wide): what would run off the page or
// break unreadably there. GPU-free; the pages are parsed as strings.
import assert from "node:assert/strict";
import { compareBaselines } from "../drift/mod.ts";
import { compareReportHtml } from "../drift/drift_html.ts";
import { benchReportHtml } from "../bench/bench_html.ts";
import { runReportHtml, textWidth } from "../report/html/mod.ts";
import { historyReportHtml } from "../drift/history_html.ts";
import { detectSteps } from "../drift/step_detect.ts";
import { benchFixture, historySeries, runFixture } from "./report_html_fixtures.ts";
import { baselineOf, samples, supportedCase, timing } from "./drift_helpers.ts";
import { selectCases } from "../runner/run_matrix.ts";

/** The page's inline CSS. */
function css(html: string): string {
  return /<style>([\s\S]*?)<\/style>/.exec(html)![1];
}

Deno.test("html run: a failure card's parity table scrolls in a box of its own, inside the card", async () => {
  // Ten columns are about 940 px wide: at 800 px they ran past the card's border and made the
  // whole page scroll sideways.
  const html = await runReportHtml(runFixture());
  const tables = [...html.matchAll(/<table class="parity">/g)];
  assert.ok(tables.length > 0, "the fixture has a failure card with parity rows");
  for (const t of tables) {
    const before = html.slice(0, t.index);
    assert.ok(before.endsWith('<div class="wide">'), "the parity table is in a div.wide");
  }
  assert.match(css(html), /\.wide\{overflow-x:auto[;}]/, "div.wide scrolls sideways");
});

/** The inner HTML of each id cell. */
function idCells(html: string): string[] {
  return [...html.matchAll(/<td class="id">([\s\S]*?)<\/td>/g)].map((m) => m[1]);
}

/** Every `;` of an id cell is followed by a line-break opportunity, and the cell is the id. */
function assertWrapsBetweenKeys(cells: string[], page: string): void {
  assert.ok(cells.length > 0, `${page}: no id cells`);
  for (const c of cells) {
    assert.ok(c.includes(";"), `${page}: ${c}`);
    assert.ok(!/;(?!<wbr>)/.test(c), `${page}: a ; without <wbr> in ${c}`);
    assert.ok(!/<(?!wbr>)/.test(c), `${page}: other markup in ${c}`);
  }
}

Deno.test("html pages: a case id in a table wraps between its keys, not inside a word", async () => {
  // At 800 px an id column is ~90 px wide: with word-break:break-all the ids read
  // "preset=tin / y;path=abs / orbed;dtyp…".
  const run = await runReportHtml(runFixture());
  assertWrapsBetweenKeys(idCells(run), "report.html");
  assert.ok(!/break-all/.test(css(run)), "no word-break:break-all");
  // the failure card's heading too
  for (
    const h of run.matchAll(
      /<h3><span class="status [a-z]+">[a-z]+<\/span> ([^<]*(?:<wbr>[^<]*)*)<\/h3>/g,
    )
  ) {
    assert.ok(!/;(?!<wbr>)/.test(h[1]), h[1]);
  }
  const bench = await benchReportHtml(benchFixture());
  assertWrapsBetweenKeys(idCells(bench), "bench report.html");
  const base = baselineOf([
    supportedCase("preset=tiny;b=1", { timing: timing(samples(1, 40, 1)) }),
  ]);
  const current = baselineOf([
    supportedCase("preset=tiny;b=1", { timing: timing(samples(4, 40, 3)) }),
  ]);
  const cmp = await compareReportHtml(compareBaselines(base, current), { base, current });
  assertWrapsBetweenKeys(idCells(cmp), "compare.html");
});

/** The vertices of the first line mark of an SVG (`d="M x,y L x,y …"`). */
function lineVertices(svg: string): [number, number][] {
  const d = /<g class="mark-line role-mark[^"]*"[^>]*><path [^>]*\bd="([^"]*)"/.exec(svg)![1];
  return [...d.matchAll(/([-\d.]+),([-\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
}

Deno.test("html history: a step's label does not sit on the line, a rise or a fall", async () => {
  // A rise of 30% at run 7: the new level is at the top of the plot, right of the rule. The
  // label, drawn at the top right of the rule, read through the line and the first point.
  // A fall is the same run backwards.
  const rise = [80, 81.6, 79.2, 80.8, 80, 81.6, 104, 104.8, 103.2, 105.6];
  for (const values of [rise, [...rise].reverse()]) await assertStepLabelClear(values);
});

async function assertStepLabelClear(values: number[]): Promise<void> {
  const steps = detectSteps(values);
  assert.equal(steps.length, 1);
  const series = historySeries(values, steps);
  const html = await historyReportHtml([series], "median_ms");
  const svg =
    /<figure class="chart" data-chart="history"[^>]*>(<svg[\s\S]*?<\/svg>)/.exec(html)![1];
  const label =
    /<text [^>]*text-anchor="(start|end)" transform="translate\(([-\d.]+),([-\d.]+)\)"[^>]*font-size="(\d+)px"[^>]*>([+−-][\d.]+%)<\/text>/
      .exec(svg);
  assert.ok(label, "the step's label");
  const [, anchor, tx, ty, size, text] = label;
  const w = textWidth(text, Number(size), false);
  const x0 = anchor === "end" ? Number(tx) - w : Number(tx);
  // the box of the glyphs: from the cap height above the baseline to the descender below
  const box = { x0, x1: x0 + w, y0: Number(ty) - Number(size), y1: Number(ty) + 3 };
  const v = lineVertices(svg);
  for (let i = 1; i < v.length; i++) {
    for (let k = 0; k <= 100; k++) {
      const x = v[i - 1][0] + (v[i][0] - v[i - 1][0]) * k / 100;
      const y = v[i - 1][1] + (v[i][1] - v[i - 1][1]) * k / 100;
      const inside = x >= box.x0 && x <= box.x1 && y >= box.y0 && y <= box.y1;
      assert.ok(!inside, `the line crosses "${text}" at (${x.toFixed(1)}, ${y.toFixed(1)})`);
    }
  }
}

/**
 * The widest chart that shows whole in a page 800 px wide: the viewport less a scrollbar
 * (15), main's padding (2 x 24), the figure's padding (2 x 8) and border (2).
 */
const FITS_800 = 800 - 15 - 2 * 24 - 2 * 8 - 2;

Deno.test("html drift: the plot and its legend fit a page 800 px wide, unscrolled", async () => {
  // With the legend right of the plot the SVG was 796 px wide: at 800 px the figure scrolled,
  // and the legend (which colour is significant) was cut off until it was scrolled to.
  const base = baselineOf([
    supportedCase("preset=tiny;b=1", { timing: timing(samples(1, 40, 1)) }),
  ]);
  const slow = supportedCase("preset=tiny;b=1", { timing: timing(samples(4, 40, 3)) });
  const current = baselineOf([{
    ...slow,
    metrics: { ...slow.metrics!, outMaxAbs: 0.2 }, // 1e6 x the baseline: a wide y axis
  }]);
  const html = await compareReportHtml(compareBaselines(base, current), { base, current });
  const svg = /<figure class="chart" data-chart="drift"[^>]*><svg [^>]*width="([\d.]+)"/.exec(html);
  assert.ok(svg, "the drift chart");
  assert.ok(Number(svg[1]) <= FITS_800, `${svg[1]} px wide, more than ${FITS_800}`);
});

Deno.test("html run: the headroom plot, with the smoke matrix's longest group names, fits a page 800 px wide", async () => {
  // At 640 px of axis and labels of up to 60 characters the SVG was 1075 px wide: at 800 px
  // the figure scrolled, and the rule at 1 (what fails) was out of sight.
  const { all } = await selectCases({ matrix: "smoke" });
  const groups = [...new Set(all.map((c) => c.group ?? ""))];
  assert.ok(groups.length >= 5, `${groups.length} groups`);
  const fixture = runFixture();
  const template = fixture.results[0];
  const results = groups.flatMap((group, i) =>
    (["f32", "f16"] as const).map((dtype, j) => ({
      ...template,
      id: `${template.id};g=${i};d=${j}`,
      group,
      params: { ...template.params, dtype },
    }))
  );
  const html = await runReportHtml({ ...fixture, results });
  const svg = /<figure class="chart" data-chart="headroom"[^>]*><svg [^>]*width="([\d.]+)"/
    .exec(html);
  assert.ok(svg, "the headroom chart");
  assert.ok(Number(svg[1]) <= FITS_800, `${svg[1]} px wide, more than ${FITS_800}`);
  // the rule at 1 is drawn inside it
  assert.match(html, /role-mark[^"]*"[^>]*>[\s\S]*?stroke-dasharray="4,3"/);
});

Deno.test("html run: the ids of cases not run or missing from a merge wrap between their keys", async () => {
  // At 400 px the merged report's "missing case ids" ran 360 px past the page's edge, and the
  // whole page scrolled sideways (audit 2026-12-07, merged_top400.png).
  const r = runFixture();
  const ids = ["preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=20;layout=bshd;causal=1"];
  for (
    const over of [
      { interrupted: true, matrixIds: [...r.matrixIds, ...ids], shardIds: [...r.shardIds, ...ids] },
      { missing: ids, matrixIds: [...r.matrixIds, ...ids], shardIds: [...r.shardIds, ...ids] },
    ]
  ) {
    const html = await runReportHtml({ ...r, ...over });
    const items = [...html.matchAll(/<ul class="missing"><li><code>([\s\S]*?)<\/code>/g)];
    assert.equal(items.length, 1, Object.keys(over).join());
    assert.equal(items[0][1], ids[0].replaceAll(";", ";<wbr>"));
  }
});

Deno.test("html pages: a long word in a paragraph, list item, fold or caption breaks rather than widen the page", async () => {
  // At 400 px compare.html's environment list ("caps.limits.maxDynamicStorageBuffersPerPipeline
  // Layout"), a matrix group's long name in a failure card and its fold, and history's "more
  // series not drawn" note of case ids made the page scroll sideways (audit 2026-12-07).
  const rule = /main p,main li,main summary,figcaption\{overflow-wrap:anywhere\}/;
  const base = baselineOf([supportedCase("preset=tiny;b=1")]);
  const pages = [
    await runReportHtml(runFixture()),
    await benchReportHtml(benchFixture()),
    await compareReportHtml(compareBaselines(base, base), { base, current: base }),
    await historyReportHtml([historySeries([1, 2], [])], "median_ms"),
  ];
  for (const html of pages) assert.match(css(html), rule);
});

/** WCAG relative luminance of a #rgb or #rrggbb colour. */
function luminance(hex: string): number {
  const h = hex.length === 4 ? [...hex.slice(1)].map((c) => c + c).join("") : hex.slice(1);
  const [r, g, b] = [0, 2, 4].map((i) => {
    const c = parseInt(h.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

Deno.test("html pages: every status badge's text has WCAG AA contrast (4.5:1) on its colour", async () => {
  // The grey badges (skip, info: "bits-changed", "new" on compare.html) were white on #888,
  // 3.5:1 for 12 px text (audit 2026-12-07).
  const style = css(await runReportHtml(runFixture()));
  const rules = [
    ...style.matchAll(/((?:\.status\.[a-z]+,?)+)\{background:(#[0-9a-f]+);color:(#[0-9a-f]+)\}/g),
  ];
  assert.ok(rules.length >= 3, style);
  for (const [, sel, bg, fg] of rules) {
    const [a, b] = [luminance(bg), luminance(fg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    assert.ok(ratio >= 4.5, `${sel}: ${fg} on ${bg} is ${ratio.toFixed(2)}:1`);
  }
});

// At 800 px a group's case table gave the id column its 20em and squeezed the message column
// to its longest word: a failure's message ran down the page a word a line, a row 1,000 px
// tall, its end cut at the table's edge (report.html of a smoke run with a planted fault).
// The message (and compare's details and attributed-to) keep 20em; the table scrolls.
Deno.test("html pages: a case row's message column is not squeezed to a word a line", async () => {
  const run = await runReportHtml(runFixture());
  assert.match(
    css(run),
    /tr\[data-id\]>td:last-child,tr\[data-id\]>td:nth-last-child\(2\):not\(\.n\)\{min-width:20em\}/,
  );
  // the case rows are the ones that rule reads: a data-id row whose last cell is the message
  const row = /<tr data-id="[^"]*">([\s\S]*?)<\/tr>/.exec(run)![1];
  assert.match(row, /<td(?: class="message")?>[^<]*<\/td>$/);
  // compare's rows: details and attributed-to last, no .n class on either
  const drift = /<tr data-id="[^"]*">([\s\S]*?)<\/tr>/.exec(
    await compareReportHtml(
      compareBaselines(
        baselineOf([supportedCase("preset=tiny;b=1", { timing: timing(samples(1, 3, 1)) })]),
        baselineOf([supportedCase("preset=tiny;b=1", { timing: timing(samples(6, 3, 2)) })]),
      ),
      {
        base: baselineOf([supportedCase("preset=tiny;b=1", { timing: timing(samples(1, 3, 1)) })]),
        current: baselineOf([
          supportedCase("preset=tiny;b=1", { timing: timing(samples(6, 3, 2)) }),
        ]),
      },
    ),
  );
  if (drift) assert.match(drift[1], /<td>[^<]*<\/td><td>[^<]*<\/td>$/);
});
