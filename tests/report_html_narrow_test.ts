// The HTML reports on a narrow screen (about 800 px wide): what would run off the page or
// break unreadably there. GPU-free; the pages are parsed as strings.
import assert from "node:assert/strict";
import { runReportHtml } from "../report/html/mod.ts";
import { runFixture } from "./report_html_fixtures.ts";

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
