// The headroom plot's log axis never prints two tick labels into each other: over a narrow
// range Vega's own thinning left "0.02" and "0.03" touching ("0.020.03", audit 2026-12-06,
// out/audit_html/shots/mmiss_axis_zoom.png). The ticks are chosen with the charts' text
// measure (textWidth) and a gap.
import assert from "node:assert/strict";
import { logAxisTicks, logTickLabel, runReportHtml, textWidth } from "../report/html/mod.ts";
import { figure } from "./chart_svg.ts";
import { parity, report, result } from "./report_util.ts";

/** The visible x-axis labels of an SVG: text, anchor and x, in order. */
function xLabels(svg: string): { text: string; left: number; right: number }[] {
  const axis =
    /aria-label="X-axis[^"]*"[\s\S]*?<g class="mark-text role-axis-label"[^>]*>([\s\S]*?)<\/g>/
      .exec(svg);
  assert.ok(axis, "an x axis with labels");
  const out = [];
  for (
    const m of axis[1].matchAll(
      /<text text-anchor="(\w+)" transform="translate\(([-\d.e]+),[^)]*\)"[^>]*opacity="1"[^>]*>([^<]*)<\/text>/g,
    )
  ) {
    const [, anchor, at, text] = m;
    const x = Number(at), w = textWidth(text, 11, false);
    const left = anchor === "start" ? x : anchor === "end" ? x - w : x - w / 2;
    out.push({ text, left, right: left + w });
  }
  return out.sort((a, b) => a.left - b.left);
}

function assertApart(labels: { text: string; left: number; right: number }[], gap: number): void {
  for (let i = 1; i < labels.length; i++) {
    const [a, b] = [labels[i - 1], labels[i]];
    assert.ok(
      b.left - a.right >= gap,
      `"${a.text}" and "${b.text}" are ${(b.left - a.right).toFixed(1)} px apart`,
    );
  }
}

Deno.test("html run: the headroom axis' labels never run into each other", async () => {
  for (const range of [[0.0015, 0.9], [0.012, 0.08], [2e-6, 3e5], [0.3, 0.9]]) {
    const hs = [range[0], Math.sqrt(range[0] * range[1]), range[1]];
    const results = hs.map((h, i) =>
      result({ b: i + 1 }, { group: "g", out: { ...parity(true), headroom: h } })
    );
    const { svg } = figure(await runReportHtml(report(results)), "headroom");
    const labels = xLabels(svg);
    assert.ok(labels.length >= 3, `${range}: ${labels.map((l) => l.text)}`);
    assertApart(labels, 4);
    // the rule at 1 has its label
    assert.ok(labels.some((l) => l.text === "1"), `${range}: ${labels.map((l) => l.text)}`);
  }
});

Deno.test("logAxisTicks: decades first, then 5, 2, 3 a decade, where their labels fit", () => {
  assert.deepEqual(logAxisTicks([0.01, 1], 420).slice(0, 4), [0.01, 0.02, 0.03, 0.05]);
  // inside one decade with no round value in it: the ends (no tick at all before)
  assert.deepEqual(logAxisTicks([130, 190], 300), [130, 190]);
  const wide = logAxisTicks([1e-6, 1e6], 120);
  assert.ok(wide.every((v) => Number.isInteger(Math.log10(v))), `${wide}`);
  assert.equal(logTickLabel(0.03), "0.03");
  assert.equal(logTickLabel(1e-7), "1e-7");
  assert.equal(logTickLabel(3 * 1e-2), "0.03");
});
