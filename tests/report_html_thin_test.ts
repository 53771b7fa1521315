// Pages of many cases stay within their size. Plots are thinned to PLOT_POINT_CAP points
// (report/html/thin.ts): passing (or within-threshold) points close together on the log axis,
// in one row and colour, are one point that stands for the worst of them; failures and
// significant drifts are each drawn. Before, 10,000 cases passed report.html's 5 MiB cap on
// the headroom plot alone, and 5,000 moved cases made a 14.7 MiB compare.html, which now has
// a cap of its own (the unchanged rows go first, then moved rows that are not regressions).
import assert from "node:assert/strict";
import { PLOT_POINT_CAP, THIN_WIDTHS, thinPoints } from "../report/html/thin.ts";
import { headroomPoints, runReportHtml } from "../report/html/run_html.ts";
import {
  CAPPED_MOVED_ROWS,
  compareReportHtml,
  driftPlot,
  type DriftPoint,
} from "../drift/drift_html.ts";
import { compareBaselines } from "../drift/compare.ts";
import { makePrng } from "../util/prng.ts";
import { parity, report, result } from "./report_util.ts";
import { baselineOf, samples, supportedCase, timing } from "./drift_helpers.ts";
import { drawn, figure } from "./chart_svg.ts";
import type { CaseResult } from "../results/types.ts";

/** Seeded uniforms in [0, 1). */
function uniformOf(seed: number): () => number {
  const g = makePrng(seed, "thin");
  return () => g.uniform();
}

type P = { id: string; row: string; v: number; bad: boolean };

function points(n: number, seed: number): P[] {
  const rand = uniformOf(seed);
  return Array.from({ length: n }, (_, i) => ({
    id: `c${i}`,
    row: `r${i % 3}`,
    v: 10 ** (-4 + 4 * rand()),
    bad: rand() < 0.01,
  }));
}

const thin = (pts: readonly P[], cap: number) =>
  thinPoints(pts, (p) => p.row, {
    cap,
    value: (p) => p.v,
    worse: (a, b) => b.v - a.v,
    keep: (p) => p.bad,
  });

Deno.test("thinPoints: under the cap every point is drawn, count 1", () => {
  const pts = points(50, 1);
  const t = thin(pts, 50);
  assert.equal(t.width, null);
  assert.deepEqual(t.points.map((p) => p.id), pts.map((p) => p.id));
  assert.ok(t.points.every((p) => p.count === 1));
});

Deno.test("thinPoints: past the cap, kept points whole, the rest binned to fit", () => {
  const pts = points(20_000, 2);
  const t = thin(pts, 2000);
  assert.ok(t.points.length <= 2000, `${t.points.length}`);
  assert.ok(t.width !== null && THIN_WIDTHS.includes(t.width));
  // every kept point drawn by itself
  const bad = pts.filter((p) => p.bad);
  assert.ok(bad.length > 50);
  for (const b of bad) {
    const d = t.points.find((p) => p.id === b.id);
    assert.ok(d !== undefined && d.count === 1, b.id);
  }
  // counts add up to every point
  assert.equal(t.points.reduce((s, p) => s + p.count, 0), pts.length);
  // each merged point is the worst of its bin: no point of its row and bin is larger
  for (const d of t.points.filter((p) => !p.bad)) {
    const bin = Math.floor(Math.log10(d.v) / t.width!);
    const mates = pts.filter((p) =>
      !p.bad && p.row === d.row && Math.floor(Math.log10(p.v) / t.width!) === bin
    );
    assert.equal(mates.length, d.count, d.id);
    assert.equal(Math.max(...mates.map((p) => p.v)), d.v, d.id);
  }
  // the largest value of each row survives
  for (const row of ["r0", "r1", "r2"]) {
    const max = Math.max(...pts.filter((p) => p.row === row).map((p) => p.v));
    assert.ok(t.points.some((p) => p.row === row && p.v === max), row);
  }
});

Deno.test("thinPoints: the narrowest bin width that fits the cap is used", () => {
  const pts = points(6000, 3);
  const widths = [1500, 600, 100].map((cap) => thin(pts, cap).width!);
  for (let i = 1; i < widths.length; i++) assert.ok(widths[i] >= widths[i - 1], `${widths}`);
  const t = thin(pts, 600);
  const narrower = THIN_WIDTHS[THIN_WIDTHS.indexOf(t.width!) - 1];
  if (narrower !== undefined) {
    // at the next narrower width the points would not have fitted
    const rows = new Set(
      pts.filter((p) => !p.bad).map((p) => `${p.row} ${Math.floor(Math.log10(p.v) / narrower)}`),
    );
    assert.ok(rows.size + pts.filter((p) => p.bad).length > 600);
  }
});

Deno.test("thinPoints: kept points past the cap are binned too, apart from the others", () => {
  const pts = points(3000, 4).map((p, i) => ({ ...p, bad: i % 2 === 0 }));
  const t = thin(pts, 200);
  assert.ok(t.points.length <= 200 || t.width === THIN_WIDTHS.at(-1));
  assert.equal(t.points.reduce((s, p) => s + p.count, 0), pts.length);
  // a merged point stands for kept or loose points, never both
  for (const d of t.points) {
    const bin = Math.floor(Math.log10(d.v) / t.width!);
    const mates = pts.filter((p) =>
      p.row === d.row && p.bad === d.bad && Math.floor(Math.log10(p.v) / t.width!) === bin
    );
    assert.equal(mates.length, d.count);
  }
});

function manyResults(n: number, failing: number): CaseResult[] {
  const rand = uniformOf(7);
  return Array.from({ length: n }, (_, i) => {
    const fail = i < failing;
    // failed sides among the passing ones (as a side failed on non-finite values sits: its
    // finite elements within tolerance), all in one bin: only `keep` draws each of them
    const h = fail ? 0.3 + 1e-4 * i : 10 ** (-5 + 5 * rand());
    const side = { ...parity(!fail), headroom: h };
    return result(
      { b: 1 + (i % 7), sk: 16 + i, dtype: i % 2 ? "f16" : "f32" },
      { status: fail ? "fail" : "pass", out: side, lse: { ...parity(true), headroom: h / 3 } },
    );
  });
}

Deno.test("report.html of 3000 cases: the headroom plot thinned to the cap, every failure drawn", async () => {
  const results = manyResults(3000, 12);
  const html = await runReportHtml(report(results));
  const { marks, svg } = figure(html, "headroom");
  const all = headroomPoints(results);
  assert.equal(all.length, 6000);
  assert.ok(marks <= PLOT_POINT_CAP, `${marks} marks`);
  // the data layer draws every mark; each failed side has its ring
  assert.equal(drawn(svg, "symbol") - drawn(svg, "symbol", "failed"), marks);
  assert.equal(drawn(svg, "symbol", "failed"), 12);
  for (let i = 0; i < 12; i++) {
    assert.ok(svg.includes(`id: ${results[i].id};`) || svg.includes(`id: ${results[i].id}<`));
  }
  assert.match(html, /The 6000 points are drawn as \d+: passing sides in the same row/);
  assert.match(svg, /\(the worst of \d+\)/);
  // the worst passing side is still a point of its own bin's title
  const worst = all.filter((p) => !p.failed).reduce((a, b) => (b.headroom > a.headroom ? b : a));
  assert.ok(svg.includes(`id: ${worst.id}`), worst.id);
});

Deno.test("report.html under the cap: no thinning, no note", async () => {
  const results = manyResults(200, 2);
  const html = await runReportHtml(report(results));
  assert.equal(figure(html, "headroom").marks, 400);
  assert.doesNotMatch(html, /points are drawn as/);
});

Deno.test("compare.html of 1500 moved cases: drift plot thinned, significant points each drawn", async () => {
  const ids = Array.from({ length: 1500 }, (_, i) => `preset=tiny;b=${i}`);
  const rand = uniformOf(11);
  const base = baselineOf(
    ids.map((id, i) => supportedCase(id, { timing: timing(samples(1, 8, i + 1)) })),
  );
  const current = baselineOf(ids.map((id, i) => {
    const c = supportedCase(id, { timing: timing(samples(1 + 0.1 * rand(), 8, i + 9)) });
    const m = c.metrics as unknown as Record<string, number>;
    const f = () => 1 + 0.5 * rand();
    return {
      ...c,
      metrics: {
        outMaxAbs: m.outMaxAbs * (i < 5 ? 1000 : f()),
        outMaxRel: m.outMaxRel * f(),
        outCosDiff: m.outCosDiff * f(),
        outNormRel: m.outNormRel * f(),
        lseMaxAbs: m.lseMaxAbs * f(),
        lseMaxRel: m.lseMaxRel * f(),
      },
    };
  }));
  const cmp = compareBaselines(base, current);
  const html = await compareReportHtml(cmp, { base, current });
  const f = figure(html, "drift");
  assert.ok(f.marks <= PLOT_POINT_CAP, `${f.marks}`);
  assert.equal(drawn(f.svg, "symbol"), f.marks);
  assert.match(html, /The \d+ points are drawn as \d+: ratios within thresholds/);
  // the 5 planted metric drifts are each a point of their own, named
  for (let i = 0; i < 5; i++) {
    assert.match(
      f.svg,
      new RegExp(`<title>metric: outMaxAbs; id: preset=tiny;b=${i}; regression;`),
    );
  }
});

Deno.test("driftPlot: the furthest ratio of a bin stands for it; ratios of exactly 1 stay one point", () => {
  const pts: DriftPoint[] = [
    ...[1.001, 1.0011, 1.0012].map((ratio, i) => ({
      id: `a${i}`,
      metric: "speed",
      ratio,
      significant: false,
    })),
    { id: "s", metric: "speed", ratio: 9, significant: true },
    { id: "u", metric: "outMaxAbs", ratio: 1, significant: false },
  ];
  const { data, note } = driftPlot(pts, { cap: 3 });
  assert.deepEqual(data.map((p) => p.id), ["1 case", "a2 (the furthest of 3)", "s"]);
  assert.match(note, /The 4 points are drawn as 2/);
  assert.equal(driftPlot(pts).note, "");
});

Deno.test("compare.html past its size cap: unchanged rows left out, then moved rows past 500; every regression keeps its row", async () => {
  // 100 unchanged, 700 with other output bits (within tolerance), and 5 numeric drifts last
  const ids = Array.from({ length: 805 }, (_, i) => `preset=tiny;b=${i}`);
  const base = baselineOf(ids.map((id) => supportedCase(id)));
  const current = baselineOf(ids.map((id, i) => {
    const c = supportedCase(id);
    if (i < 100) return c;
    if (i < 800) return { ...c, outputDigest: `other bits ${i}` };
    return { ...c, outputDigest: `drifted ${i}`, metrics: { ...c.metrics!, outMaxAbs: 0.2 } };
  }));
  const cmp = compareBaselines(base, current);
  assert.equal(cmp.counts["bits-changed"], 700);
  assert.equal(cmp.counts["numeric-drift"], 5);
  const rows = (html: string) => (html.match(/<tr data-id=/g) ?? []).length;
  const full = await compareReportHtml(cmp, { base, current });
  assert.equal(rows(full), 805);
  assert.doesNotMatch(full, /id="size-note"/);
  const html = await compareReportHtml(cmp, { base, current, maxBytes: 50_000 });
  assert.equal(CAPPED_MOVED_ROWS, 500);
  assert.match(html, /the rows of the 100 unchanged cases were left out/);
  assert.match(html, /only the first 500 have a row \(200 left out\)/);
  assert.equal(rows(html), 505);
  for (const id of ids.slice(800)) {
    assert.ok(html.includes(`<tr data-id="${id}">`), `regression ${id} keeps its row`);
  }
  assert.match(html, /100 unchanged cases \(their rows left out/);
  assert.match(html, /Cases that moved \(705\)/);
});
