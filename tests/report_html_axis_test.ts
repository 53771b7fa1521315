// The headroom plot's log axis never prints two tick labels into each other: over a narrow
// range Vega's own thinning left "0.02" and "0.03" touching ("0.020.03", audit 2026-12-06,
// out/audit_html/shots/mmiss_axis_zoom.png). The ticks are chosen with the charts' text
// measure (textWidth) and a gap. (The bench passes plot's ms axis: at the end.)
import assert from "node:assert/strict";
import { logAxisTicks, logTickLabel, runReportHtml, textWidth } from "../report/html/mod.ts";
import { figure } from "./chart_svg.ts";
import { parity, report, result } from "./report_util.ts";
import { benchReportHtml } from "../bench/bench_html.ts";
import { benchFixture } from "./report_html_fixtures.ts";

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

Deno.test("html bench: the passes plot's ms axis labels never run into each other", async () => {
  // A `bench --matrix tiny` on lavapipe (steps of 0.5 and 0.3 ms): Vega's default ticks
  // every 0.05 ms printed "0.000.05" and "0.450.50" (audit 2026-12-07, bench_pass.png).
  const real = [
    {
      ms: 0.2618,
      passes: {
        rope_q: 0.0656,
        absorb_q: 0.0891,
        query_texture: 0.0672,
        gemm_scores: 0.0734,
        gemm_softmax: 0.0619,
        gemm_values: 0.0614,
        up_proj: 0.0759,
        rope_k: 0.1277,
      },
    },
    { ms: 0.1487, passes: { expanded: 0.1487, rope_q: 0.0929, pack_q: 0.0664, expand_kv: 0.2 } },
  ];
  for (const scale of [1, 3, 40, 1000]) {
    const f = benchFixture();
    const ok = f.records.filter((r) => r.status === "ok");
    const absorbed = ok.find((r) => r.case.path === "absorbed")!;
    const expanded = ok.find((r) => r.case.path === "expanded")!;
    const scaled = (i: number) => ({
      ms: real[i].ms * scale,
      passes: Object.fromEntries(
        Object.entries(real[i].passes).map(([k, v]) => [k, v * scale]),
      ),
    });
    const records = f.records.map((r) =>
      r === absorbed ? { ...r, ...scaled(0) } : r === expanded ? { ...r, ...scaled(1) } : r
    );
    const { svg } = figure(await benchReportHtml({ ...f, records }), "passes");
    const labels = xLabels(svg);
    assert.ok(labels.length >= 3, `${scale}: ${labels.map((l) => l.text).join(" | ")}`);
    assertApart(labels, 6);
  }
});
