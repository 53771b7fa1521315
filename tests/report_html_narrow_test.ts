// The HTML reports on a narrow screen (about 800 px wide): what would run off the page or
// break unreadably there. GPU-free; the pages are parsed as strings.
import assert from "node:assert/strict";
import { compareBaselines } from "../drift/mod.ts";
import { compareReportHtml } from "../drift/drift_html.ts";
import { benchReportHtml } from "../bench/bench_html.ts";
import { runReportHtml } from "../report/html/mod.ts";
import { benchFixture, runFixture } from "./report_html_fixtures.ts";
import { baselineOf, samples, supportedCase, timing } from "./drift_helpers.ts";

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
