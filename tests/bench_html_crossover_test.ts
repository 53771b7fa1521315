// bench's report.html says which path is faster for a sweep of a single s_k, as summary.md and
// the console do, though there is no plot (it needs two s_k a path): `bench --matrix tiny`
// showed no crossover verdict at all (audit 2026-12-06).
import assert from "node:assert/strict";
import { benchReportHtml } from "../bench/bench_html.ts";
import { benchFixture } from "./report_html_fixtures.ts";
import { logAxisTicks } from "../report/html/chart.ts";
import { figure } from "./chart_svg.ts";
import { benchMs } from "../bench/figure.ts";

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
  assert.ok(sec.includes("1 sweep not plotted: a plot needs two s_k or more on each path."));
  // a complete sweep keeps its plot, and no note
  const plotted = await benchReportHtml(full);
  assert.ok(plotted.includes('data-chart="crossover"'));
  assert.ok(!plotted.includes('id="crossover-unplotted"'));
});

Deno.test("html bench: the crossover's s_k axis spans the data, its tick labels apart (they ran together, '30 4050', on an axis to 1,000 for data to 128)", async () => {
  const full = benchFixture();
  // s_k 64, 256, 1024 a path: the axis stops at the data, not rounded out to 10,000
  const { svg } = figure(await benchReportHtml(full), "crossover");
  const labels = [...svg.matchAll(/<text[^>]*>([0-9.,e+]+)<\/text>/g)].map((m) => m[1]);
  const xs = labels.map((l) => Number(l.replaceAll(",", "")));
  assert.ok(!xs.some((v) => v > 1024), labels.join(" | "));
  const axis = logAxisTicks([64, 1024], 300);
  for (const t of axis) assert.ok(labels.includes(String(t)), `${t} in ${labels.join(" | ")}`);
});

Deno.test("html bench: a bench that measured nothing (every case refused) is amber, not green", async () => {
  const full = benchFixture();
  const refused = full.records.map((r) => ({
    ...r,
    status: "unsupported" as const,
    reason: "backend.path-mismatch: backend x computes the other path",
  }));
  const html = await benchReportHtml({ ...full, records: refused });
  const verdict = /<p class="verdict (\w+)" id="verdict">([^<]*)</.exec(html);
  assert.equal(verdict?.[1], "warn", verdict?.[0]);
  assert.match(
    verdict![2],
    /^nothing was measured; \d+ cases: 0 measured, \d+ unsupported, 0 error/,
  );
  // the fixture as it is (cases measured): green
  assert.match(
    await benchReportHtml(full),
    /<p class="verdict ok" id="verdict">\d+ cases: \d+ measured/,
  );
});

// A crossover point's hover gave its channels unrounded ("ms (log): 0.170554"), where the
// tables write a case's ms at three significant digits (benchMs)
Deno.test("html bench: a crossover point's hover gives its ms as the tables do", async () => {
  const full = benchFixture();
  const { svg } = figure(await benchReportHtml(full), "crossover");
  const titles = [...svg.matchAll(/<title>([^<]*)<\/title>/g)].map((m) => m[1]);
  assert.ok(titles.length > 0);
  const ok = full.records.find((r) => r.status === "ok" && r.ms !== undefined)!;
  assert.ok(
    titles.some((t) => t.endsWith(`s_k ${ok.case.sk}: ${benchMs(ok.ms)} ms`)),
    titles.join("\n"),
  );
  assert.ok(titles.every((t) => !/\d\.\d{5}/.test(t)), titles.join("\n"));
});
