/** The absorbed / dense crossover of a benchmark, on hand-made records with hand-worked answers. */
import assert from "node:assert/strict";
import { type BenchCase, benchCaseId } from "../bench/cases.ts";
import { crossoverLines, crossoverMarkdown, crossovers, sweepOf } from "../bench/crossover.ts";
import { formatTable, toMarkdown } from "../bench/report.ts";
import type { BenchRecord } from "../bench/run_bench.ts";
import { benchCase, benchFixture } from "./report_html_fixtures.ts";

/** The sweeps here: V2-Lite's 16 heads (the fixtures' case otherwise). */
const bc = (over: Partial<BenchCase>): BenchCase =>
  benchCase({ preset: "deepseek-v2-lite", heads: 16, ...over });

function ok(c: BenchCase, ms: number): BenchRecord {
  return { id: benchCaseId(c), case: c, status: "ok", ms };
}

/** absorbed and dense times per s_k of one sweep (heads picks the sweep). */
function sweep(heads: number, times: [number, number, number][]): BenchRecord[] {
  return times.flatMap(([sk, a, d]) => [
    ok(bc({ heads, sk, path: "absorbed" }), a),
    ok(bc({ heads, sk, path: "expanded" }), d),
  ]);
}

Deno.test("crossover: dense below, absorbed from the next s_k on, with the interpolated meeting point", () => {
  // ratios 0.5 at 64, 2 at 1024: log ratio goes -ln2 -> +ln2 over log s_k 64 -> 1024, so it is 0
  // half-way in log s_k: sqrt(64 x 1024) = 256.
  const [c] = crossovers(sweep(16, [[1024, 1, 2], [64, 1, 0.5], [16, 2, 0.5]]));
  assert.equal(c.sweep, "deepseek-v2-lite h=16 f32 b=1 sq=1");
  assert.deepEqual(c.rows.map((r) => r.sk), [16, 64, 1024], "ascending s_k");
  assert.deepEqual(c.rows.map((r) => r.denseOverAbsorbed), [0.25, 0.5, 2]);
  assert.equal(c.kind, "crosses");
  assert.equal(c.denseUpToSk, 64);
  assert.equal(c.absorbedFromSk, 1024);
  assert.equal(c.estimatedSk, 256);
  assert.match(c.verdict, /dense faster up to s_k 64, absorbed from s_k 1024 on .*near s_k 256/);
});

Deno.test("crossover: one path faster throughout, ties count for dense, and more than one switch", () => {
  const list = crossovers([
    ...sweep(16, [[64, 1, 3], [256, 2, 3]]),
    ...sweep(32, [[64, 3, 3], [256, 4, 3]]), // a tie at 64: dense
    ...sweep(64, [[64, 2, 1], [256, 1, 2], [1024, 3, 2]]),
  ]);
  assert.deepEqual(list.map((c) => c.kind), ["absorbed", "dense", "mixed"]);
  assert.equal(list[0].verdict, "absorbed faster at every s_k measured (64, 256)");
  assert.equal(list[1].verdict, "dense faster at every s_k measured (64, 256)");
  assert.match(list[2].verdict, /absorbed faster at s_k 256, dense at 64, 1024/);
  assert.equal(list[2].estimatedSk, undefined);
  // absorbed faster below, dense above: not the crossover the field expects, so "mixed"
  const [reverse] = crossovers(sweep(16, [[64, 1, 2], [256, 3, 2]]));
  assert.equal(reverse.kind, "mixed");
});

Deno.test("crossover: only s_k values where both paths ran; sweeps split by every other field", () => {
  const records: BenchRecord[] = [
    ...sweep(16, [[64, 1, 2]]),
    ok(bc({ sk: 256 }), 1), // absorbed alone at 256
    { id: "x", case: bc({ sk: 1024, path: "expanded" }), status: "unsupported", reason: "limits" },
    ok(bc({ sk: 1024 }), 1),
    ok(bc({ sk: 64, dtype: "f16" }), 1), // another sweep, absorbed only: no crossover
    ...[1, 2].flatMap((sq) => [ok(bc({ sq }), 1), ok(bc({ sq, path: "expanded" }), 3)]),
  ];
  const list = crossovers(records);
  assert.deepEqual(list.map((c) => c.sweep), [
    "deepseek-v2-lite h=16 f32 b=1 sq=1",
    "deepseek-v2-lite h=16 f32 b=1 sq=2",
  ]);
  assert.deepEqual(list[0].rows.map((r) => r.sk), [64]);
  assert.equal(
    sweepOf(bc({ page: 16, causal: false })),
    "deepseek-v2-lite h=16 f32 b=1 sq=1 page=16 non-causal",
  );
});

Deno.test("crossover: the terminal table, summary.md and their absence without a crossover", () => {
  const report = { ...benchFixture() };
  const list = crossovers(sweep(16, [[64, 1, 0.5], [1024, 1, 2]]));
  const lines = crossoverLines(list);
  assert.equal(
    lines[0],
    "absorbed / dense crossover (attention-core medians, then fastest repetitions):",
  );
  assert.match(
    lines[1],
    /h=16 f32 b=1 sq=1: dense faster up to s_k 64.*; dense \/ absorbed 64: 0.50x, 1024: 2.00x$/,
  );
  // No repetitions recorded: the fastest are the medians.
  assert.match(
    lines[2],
    /^ {4}fastest repetitions: dense faster up to s_k 64.*; 64: 0.50x, 1024: 2.00x$/,
  );
  const md = crossoverMarkdown(list).join("\n");
  assert.ok(
    md.includes(
      "| deepseek-v2-lite h=16 f32 b=1 sq=1 | 1024 | 1.00 | 2.00 | 2.00 | 1.00 | 2.00 | 2.00 |",
    ),
  );
  assert.ok(formatTable({ ...report, crossovers: list }).includes(lines[1]));
  assert.ok(toMarkdown({ ...report, crossovers: list }, { title: "t" }).includes(md));
  assert.ok(!formatTable(report).includes("crossover"));
  assert.ok(!toMarkdown(report, { title: "t" }).includes("crossover"));
  assert.deepEqual(crossovers([]), []);
  // the title is text: no live HTML in summary.md, and a blank one is the default's
  assert.ok(toMarkdown(report, { title: "<b>x</b>" }).startsWith("## &lt;b&gt;x&lt;/b&gt;\n"));
  assert.ok(toMarkdown(report, { title: " " }).startsWith("## Benchmark\n"));
});

Deno.test("crossover: the fastest repetitions are judged apart from the medians", () => {
  // Medians: dense / absorbed 0.5 at 64, 3 at 256, 0.5 at 1024 (a dense median on its slow
  // mode): two switches. Fastest: 0.5, 1.5, 2: one crossing between 64 and 256.
  const rec = (
    path: "absorbed" | "expanded",
    sk: number,
    ms: number,
    min: number,
  ): BenchRecord => ({
    ...ok(bc({ path, sk }), ms),
    ms_min: min,
  });
  const [c] = crossovers([
    rec("absorbed", 64, 2, 2),
    rec("expanded", 64, 1, 1),
    rec("absorbed", 256, 1, 1),
    rec("expanded", 256, 3, 1.5),
    rec("absorbed", 1024, 2, 1),
    rec("expanded", 1024, 1, 2),
  ]);
  assert.equal(c.kind, "mixed");
  assert.deepEqual(c.rows.map((r) => r.denseOverAbsorbedFastest), [0.5, 1.5, 2]);
  assert.deepEqual(c.rows.map((r) => [r.absorbedMinMs, r.denseMinMs]), [[2, 1], [1, 1.5], [1, 2]]);
  assert.equal(c.fastest.kind, "crosses");
  assert.equal(c.fastest.denseUpToSk, 64);
  assert.equal(c.fastest.absorbedFromSk, 256);
  // log ratio -ln2 at log 64, ln1.5 at log 256: zero at t = ln2 / ln3 of the way.
  const t = Math.log(2) / Math.log(3);
  assert.equal(c.fastest.estimatedSk, Math.round(Math.exp(Math.log(64) + t * Math.log(4))));
  assert.match(
    crossoverMarkdown([c]).at(-1)!,
    /no single crossover.*\(medians\); dense faster up to s_k 64, absorbed from s_k 256 on .*\(fastest repetitions\)\.$/,
  );
});

// A GPU's tiny cases take microseconds: summary.md's crossover table wrote 0.004 ms as "0.00",
// where the bench table writes "0.0040".
Deno.test("crossover: summary.md writes a GPU's microsecond times, not 0.00", () => {
  const md = crossoverMarkdown(crossovers(sweep(16, [[16, 0.004, 0.002]]))).join("\n");
  assert.ok(
    md.includes(
      "| deepseek-v2-lite h=16 f32 b=1 sq=1 | 16 | 0.0040 | 0.0020 | 0.50 | 0.0040 | 0.0020 | 0.50 |",
    ),
    md,
  );
});
