import assert from "node:assert/strict";
import { presetSpec } from "../adapter/presets.ts";
import { benchCaseId, benchMatrix, filterBenchCases, HEADLINE } from "../bench/cases.ts";
import { rooflineFraction, workOf } from "../bench/formulas.ts";
import { evaluateTargets, toCsv } from "../bench/report.ts";
import type { BenchRecord } from "../bench/run_bench.ts";
import { summarize } from "../bench/stats.ts";

const v2l = presetSpec("deepseek-v2-lite");

Deno.test("absorbed decode FLOP and bytes match FlashMLA's formulas by hand", () => {
  // b 4, s_q 1, s_k 4096, h 16, d 576, dv 512, f32
  const w = workOf(v2l, {
    path: "absorbed",
    dtype: "f32",
    shape: { heads: 16, queries: 4, keys: 4 * 4096, pairs: 4 * 4096 },
  });
  assert.equal(w.flop, 4 * 16 * 1 * 4096 * 2 * (576 + 512)); // 570,425,344
  assert.equal(w.bytes, 4 * (4 * 16 * 576 + 4 * 4096 * 576 + 4 * 16 * 512)); // q + cache + out
  assert.equal(w.bytes, 38_027_264);
  const h = workOf(v2l, {
    path: "absorbed",
    dtype: "f16",
    shape: { heads: 16, queries: 4, keys: 4 * 4096, pairs: 4 * 4096 },
  });
  assert.equal(h.bytes * 2, w.bytes);
  assert.equal(h.flop, w.flop);
});

Deno.test("dense decode FLOP and bytes: q, K, V, out per sequence", () => {
  const w = workOf(v2l, {
    path: "expanded",
    dtype: "f32",
    shape: { heads: 16, queries: 1, keys: 100, pairs: 100 },
  });
  assert.equal(w.flop, 16 * 100 * 2 * (192 + 128));
  // q (h*192) + K (s_k*h*192) + V (s_k*h*128) + out (h*128), 4 bytes each
  assert.equal(w.bytes, 4 * (16 * 192 + 100 * 16 * 192 + 100 * 16 * 128 + 16 * 128));
});

Deno.test("roofline fraction takes the slower of the two ceilings", () => {
  // memory: 1e9 B / 10 GB/s = 100 ms; compute: 1e9 / 100 GFLOP/s = 10 ms
  assert.equal(
    rooflineFraction({ flop: 1e9, bytes: 1e9 }, { ms: 200, copyGBps: 10, fmaGflops: 100 }),
    0.5,
  );
  // compute-bound: 1e10 FLOP at 100 GFLOP/s = 100 ms
  assert.equal(
    rooflineFraction({ flop: 1e10, bytes: 1e6 }, { ms: 100, copyGBps: 10, fmaGflops: 100 }),
    1,
  );
});

Deno.test("summarize: median, spread and relative MAD", () => {
  const s = summarize([5, 1, 3, 2, 4]);
  assert.equal(s.median, 3);
  assert.equal(s.min, 1);
  assert.equal(s.max, 5);
  assert.equal(s.mean, 3);
  assert.equal(s.madRel, 1 / 3);
  assert.equal(s.iqr, 2);
  assert.equal(summarize([]).n, 0);
});

Deno.test("bench matrices: ids are unique, filters select by key", () => {
  for (const name of ["headline", "decode", "prefill", "tiny"]) {
    const ids = benchMatrix(name).map(benchCaseId);
    assert.equal(new Set(ids).size, ids.length, name);
  }
  assert.equal(filterBenchCases(benchMatrix("headline"), "path=expanded;sq=1").length, 2);
  assert.throws(() => filterBenchCases(benchMatrix("tiny"), "nope=1"), /unknown filter key/);
  assert.throws(() => benchMatrix("nope"), /unknown benchmark matrix/);
});

Deno.test("targets: shortfall and the absorbed/dense ratio", () => {
  const rec = (i: number, ms: number, rf: number): BenchRecord => ({
    id: benchCaseId(HEADLINE[i]),
    case: HEADLINE[i],
    status: "ok",
    ms,
    roofline_fraction: rf,
  });
  const t = evaluateTargets([rec(0, 10, 0.15), rec(2, 30, 0.7)]);
  const abs = t.find((x) => x.target === "absorbed-decode-f32")!;
  assert.equal(abs.met, false);
  assert.equal(abs.shortfall, 0.5);
  assert.equal(t.find((x) => x.target === "dense-decode-f32")!.met, true);
  const ratio = t.find((x) => x.target === "absorbed-over-dense-f32")!;
  assert.equal(ratio.got, 3);
  assert.equal(ratio.met, true);
  assert.match(toCsv([rec(0, 10, 0.15)]), /^id,status,source,ms,/);
});
