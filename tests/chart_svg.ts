// Reading the charts of an HTML report: a figure's SVG and mark count, and what its layers
// draw (tests/report_html_test.ts, tests/report_html_thin_test.ts).
import assert from "node:assert/strict";

/** The SVG of one chart figure. */
export function figure(html: string, kind: string): { marks: number; svg: string } {
  const m = new RegExp(
    `<figure class="chart" data-chart="${kind}" data-marks="(\\d+)">` +
      `(<svg[\\s\\S]*?</svg>)`,
  ).exec(html);
  assert.ok(m, `no ${kind} chart in the page`);
  return { marks: Number(m[1]), svg: m[2] };
}

/**
 * Items drawn by the data layers of a mark type (legends excluded), or only by the layer
 * of that name (e.g. "failed": the headroom plot's rings).
 */
export function drawn(
  svg: string,
  mark: "symbol" | "line" | "rule" | "rect",
  layer?: string,
): number {
  let n = 0;
  const re = new RegExp(`<g class="mark-${mark} role-mark([^"]*)"[^>]*>([\\s\\S]*?)</g>`, "g");
  for (const m of svg.matchAll(re)) {
    if (layer !== undefined && m[1].trim() !== `${layer}_marks`) continue;
    n += (m[2].match(/<(path|line)\b/g) ?? []).length;
  }
  return n;
}
