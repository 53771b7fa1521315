// bench's report.html says which path is faster for a sweep of a single s_k, as summary.md and
// the console do, though there is no plot (it needs two s_k a path): `bench --matrix tiny`
// showed no crossover verdict at all (audit 2026-12-06).
import assert from "node:assert/strict";
import { benchReportHtml } from "../bench/bench_html.ts";
import { benchFixture } from "./report_html_fixtures.ts";

Deno.test("html bench: a sweep of one s_k has its crossover verdict in words, without a plot", async () => {
  const full = benchFixture();
  // both paths at s_k 64 only
  const records = full.records.filter((r) => r.status !== "ok" || r.case.sk === 64);
  const html = await benchReportHtml({ ...full, records });
  assert.ok(!html.includes('data-chart="crossover"'), "no plot of one point a path");
  const at = html.indexOf('<section id="crossover">');
  assert.ok(at > 0, "a crossover section");
  const sec = html.slice(at, html.indexOf("</section>", at));
  assert.ok(
    sec.includes(
      "<li>tiny h=4 f32 b=1 sq=1: dense faster at every s_k measured (64) (medians); " +
        "dense faster at every s_k measured (64) (fastest repetitions)</li>",
    ),
    sec,
  );
  assert.ok(sec.includes("1 sweep(s) not plotted: a plot needs two s_k or more on each path."));
  // a complete sweep keeps its plot, and no note
  const plotted = await benchReportHtml(full);
  assert.ok(plotted.includes('data-chart="crossover"'));
  assert.ok(!plotted.includes('id="crossover-unplotted"'));
});
