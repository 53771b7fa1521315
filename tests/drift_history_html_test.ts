// The history page (`history --html`) and text: a series with a step is drawn whatever its
// place in id order (before, the 12 charts were the first 12 series by id, and a flagged step
// later in the order had none), and a history too short for a step says so instead of a
// green "no step change". GPU-free.
import assert from "node:assert/strict";
import { historyReportHtml, MAX_HISTORY_CHARTS } from "../drift/history_html.ts";
import { detectSteps } from "../drift/step_detect.ts";
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
  assert.match(html, /1 step change\(s\) in 21 series/);
  const drawn = drawnSeries(html);
  assert.equal(drawn.length, MAX_HISTORY_CHARTS);
  assert.equal(drawn[0], "preset=tiny;b=9", drawn.join(" | "));
  // the rest in id order after it
  assert.deepEqual(drawn.slice(1), list.slice(0, 20).map((s) => s.caseId).sort().slice(0, 11));
  assert.match(html, /9 more series not drawn/);
});

Deno.test("history page and text: 3 runs are too few for a step (2 x min-segment 3), not a green all-clear", async () => {
  const list = [series("preset=tiny;b=1", [1, 1, 1]), series("preset=tiny;b=2", [2, 2, 2])];
  assert.equal(stepSearchRuns(list[0]), 3);
  assert.equal(tooShortForSteps(list, { minSegment: 3 }).length, 2);
  const html = await historyReportHtml(list, "median_ms", { minSegment: 3 });
  assert.doesNotMatch(html, /No step change/);
  assert.match(
    html,
    /<p class="verdict bad" id="verdict">Too few runs to detect a step: at most 3 runs a series; a step needs at least 6 runs \(2 x min-segment 3\)/,
  );
  assert.match(html, /too few runs to detect a step \(a step needs 6\)/);
  const text = historyText(list, "median_ms", { minSegment: 3 });
  assert.doesNotMatch(text, /no step change/);
  assert.match(
    text,
    /too few runs to detect a step: 3; a step needs at least 6 \(2 x --min-segment 3\)/,
  );
  // with --min-segment 1, 3 runs can show a step: the search was made, and found none
  const one = await historyReportHtml(list, "median_ms", { minSegment: 1 });
  assert.match(one, /<p class="verdict ok" id="verdict">No step change in 2 series/);
  assert.match(historyText(list, "median_ms", { minSegment: 1 }), /no step change/);
});

Deno.test("history page: some series long enough and some not: no all-clear for the short ones", async () => {
  const list = [
    series("preset=tiny;b=1", [1, 1, 1, 1, 1, 1, 1]),
    series("preset=tiny;b=2", [2, 2, 2]),
  ];
  const html = await historyReportHtml(list, "median_ms");
  assert.match(
    html,
    /id="verdict">No step change in the 1 series with enough runs; 1 of 2 have too few runs to detect a step \(at most 3; a step needs at least 6 runs/,
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
