import assert from "node:assert/strict";
import { benchProgressLine } from "../cli/bench.ts";
import { benchCase } from "./report_html_fixtures.ts";
import { presetSpec } from "../adapter/presets.ts";
import {
  BENCH_MATRICES,
  benchCaseId,
  benchCaseParams,
  benchMatrix,
  filterBenchCases,
  HEADLINE,
  parseBenchFilter,
  PREFILL_4096,
  TARGET_CASES,
  targetClassOf,
} from "../bench/cases.ts";
import { rooflineFraction, workOf } from "../bench/formulas.ts";
import {
  bestCeilings,
  CeilingNotTimedError,
  type Ceilings,
  fastestTimedMs,
  isCeilingNotTimed,
  memoryRoof,
} from "../bench/ceilings.ts";
import { type BenchRecord, judgeRecord, timedStats, untimedReason } from "../bench/run_bench.ts";
import {
  benchFigure,
  benchFraction,
  formatCeilings,
  formatTargets,
  memoryLine,
} from "../bench/report.ts";
import {
  benchWarnings,
  evaluateTargets,
  formatTable,
  shortfallWords,
  targetsNotBenched,
  toCsv,
  toMarkdown,
  variantLabel,
} from "../bench/report.ts";
import { summarize } from "../bench/stats.ts";
import { benchReportHtml } from "../bench/bench_html.ts";
import { exitCodeOf } from "../cli/program.ts";
import { fmaWorkgroups } from "../bench/ceilings.ts";
import { H100_CAPS, LAVAPIPE_CAPS } from "./caps_fixtures.ts";

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
  // f16: the cache at 2 bytes an element; q~ and the output (both f32 in every kernel) at 4
  assert.equal(h.bytes, 4 * (4 * 16 * 576) + 2 * (4 * 4096 * 576) + 4 * (4 * 16 * 512));
  assert.equal(h.bytes, 19_152_896);
  assert.equal(h.flop, w.flop);
});

Deno.test("absorbed f16 bytes count q~ at 4 bytes: every absorbed kernel reads it in f32", async () => {
  // Every bundled absorbed launch (and the example backend) builds q~ = [q_nope W_UK | q_pe]
  // in f32 whatever the storage dtype; the formula must count what is read.
  for (
    const file of ["launch_absorbed.ts", "launch_absorbed_tiled.ts", "launch_absorbed_gemm.ts"]
  ) {
    const src = await Deno.readTextFile(new URL(`../kernels/${file}`, import.meta.url));
    assert.match(src, /absorbQ\(plan, buffers, \{ dtype: "f32" \}\)/, file);
  }
  // Absorbed causal prefill of 512 tokens in f16, V2-Lite's 16 heads: q~ dominates the bytes.
  const pairs = 512 * 513 / 2;
  const f16 = workOf(v2l, {
    path: "absorbed",
    dtype: "f16",
    shape: { heads: 16, queries: 512, keys: 512, pairs },
  });
  const q = 512 * 16 * 576;
  const cache = 512 * 576;
  const out = 512 * 16 * 512;
  assert.equal(f16.bytes, 4 * q + 2 * cache + 4 * out); // 36,241,408, not 26,804,224
  assert.equal(f16.bytes, 36_241_408);
  // f32 and f16 differ only by the cache's 2 bytes an element
  const f32 = workOf(v2l, {
    path: "absorbed",
    dtype: "f32",
    shape: { heads: 16, queries: 512, keys: 512, pairs },
  });
  assert.equal(f32.bytes - f16.bytes, 2 * cache);
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
  // f16: the output stays 4 bytes an element (every kernel writes f32)
  const h = workOf(v2l, {
    path: "expanded",
    dtype: "f16",
    shape: { heads: 16, queries: 1, keys: 100, pairs: 100 },
  });
  assert.equal(h.bytes, 2 * (16 * 192 + 100 * 16 * 192 + 100 * 16 * 128) + 4 * (16 * 128));
});

Deno.test("roofline fraction takes the slower of the two ceilings", () => {
  // memory: 1e9 B / 10 GB/s = 100 ms; compute: 1e9 / 100 GFLOP/s = 10 ms
  assert.equal(
    rooflineFraction({ flop: 1e9, bytes: 1e9 }, { ms: 200, memoryGBps: 10, fmaGflops: 100 }),
    0.5,
  );
  // compute-bound: 1e10 FLOP at 100 GFLOP/s = 100 ms
  assert.equal(
    rooflineFraction({ flop: 1e10, bytes: 1e6 }, { ms: 100, memoryGBps: 10, fmaGflops: 100 }),
    1,
  );
});

Deno.test("memoryRoof: the best of the copy, read and texture-read ceilings, named", () => {
  assert.deepEqual(memoryRoof({ copyGBps: 8.5, readGBps: 9.2, textureReadGBps: 12.4 }), {
    gbps: 12.4,
    ceiling: "texture read",
  });
  assert.deepEqual(memoryRoof({ copyGBps: 8.5, readGBps: 9.2, textureReadGBps: 3 }), {
    gbps: 9.2,
    ceiling: "read",
  });
  // A report written before the texture-read ceiling existed: copy and read only.
  assert.deepEqual(memoryRoof({ copyGBps: 11, readGBps: 9.2 }), { gbps: 11, ceiling: "copy" });
  assert.equal(
    memoryLine({ copyGBps: 8.5, readGBps: 9.2, textureReadGBps: 12.4 }),
    "12.40 GB/s (texture read, the best of copy, read and texture read)",
  );
  assert.equal(
    memoryLine({ copyGBps: 11, readGBps: 9.2 }),
    "11.00 GB/s (copy, the best of copy and read)",
  );
});

Deno.test("judgeRecord: a memory-bound case is judged against the texture-read ceiling where it is the best", () => {
  const ceilings = { copyGBps: 8, readGBps: 9, textureReadGBps: 12, fmaGflops: 100 };
  // 335 MB in 30 ms: 11.2 GB/s, above copy and read, under texture read.
  const rec: BenchRecord = {
    id: "dense",
    case: HEADLINE[0],
    status: "ok",
    ms: 30,
    flop: 1e8,
    bytes: 335e6,
  };
  const judged = judgeRecord(rec, ceilings);
  assert.equal(judged.bound, "memory");
  assert.ok(Math.abs((judged.roofline_fraction ?? 0) - 335e6 / 12e9 * 1e3 / 30) < 1e-12);
  assert.ok((judged.roofline_fraction ?? 2) < 1);
  // Against the copy ceiling alone (no texture-read figure) it passes 1.
  const old = judgeRecord(rec, { ...ceilings, textureReadGBps: undefined, readGBps: 7 });
  assert.ok((old.roofline_fraction ?? 0) > 1);
});

Deno.test("bestCeilings: the higher of each bandwidth and FMA figure, the lower overhead, both samples", () => {
  const base: Ceilings = {
    source: "timestamp-query",
    copyGBps: 2.2,
    readGBps: 9,
    fmaGflops: 110,
    fma4Gflops: 70,
    fma32Gflops: 110,
    fmaF16Gflops: null,
    dispatchUs: 40,
    submitReadbackMs: 11,
    samples: { copy: [61, 70], fma_32: [9.8] },
  };
  const later: Ceilings = {
    ...base,
    copyGBps: 9.2,
    readGBps: 6.6,
    textureReadGBps: 8.1,
    fmaGflops: 97,
    fma4Gflops: 73,
    fma32Gflops: 97,
    fmaF16Gflops: 26,
    dispatchUs: 26,
    submitReadbackMs: 12,
    samples: { copy: [14.6], fma_32: [11] },
  };
  const best = bestCeilings(base, later);
  assert.deepEqual(
    [best.copyGBps, best.readGBps, best.fmaGflops, best.fma4Gflops, best.fma32Gflops],
    [9.2, 9, 110, 73, 110],
  );
  // Only one measurement has a texture-read figure: it is kept.
  assert.equal(best.textureReadGBps, 8.1);
  assert.equal(bestCeilings(base, base).textureReadGBps, undefined);
  assert.equal(bestCeilings(later, { ...later, textureReadGBps: 12.5 }).textureReadGBps, 12.5);
  assert.equal(best.fmaF16Gflops, 26);
  assert.equal(best.dispatchUs, 26);
  assert.equal(best.submitReadbackMs, 11);
  assert.deepEqual(best.samples, { copy: [61, 70, 14.6], fma_32: [9.8, 11] });
  assert.equal(best.measurements, 2);
  assert.equal(bestCeilings(best, base).measurements, 3);
  assert.match(formatCeilings(best), /best of two measurements, before and after the cases/);
  assert.doesNotMatch(formatCeilings(base), /best of \S+ measurements/);
  // A record judged again: 1e9 B at 2.2 GB/s = 455 ms -> at 9.2 GB/s = 109 ms, of 200 ms.
  const rec: BenchRecord = {
    id: "x",
    case: HEADLINE[0],
    status: "ok",
    ms: 200,
    flop: 1e9,
    bytes: 1e9,
    roofline_fraction: 2.27,
    bound: "memory",
  };
  const judged = judgeRecord(rec, best);
  assert.equal(
    judged.roofline_fraction,
    rooflineFraction(rec as { flop: number; bytes: number }, {
      ms: 200,
      memoryGBps: 9.2,
      fmaGflops: 110,
    }),
  );
  assert.ok(Math.abs((judged.roofline_fraction ?? 0) - 1e9 / 9.2e9 * 1e3 / 200) < 1e-12);
  assert.equal(judged.bound, "memory");
  const unsupported: BenchRecord = { id: "y", case: HEADLINE[0], status: "unsupported" };
  assert.equal(judgeRecord(unsupported, best), unsupported);
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
  for (const name of BENCH_MATRICES) {
    const ids = benchMatrix(name).map(benchCaseId);
    assert.equal(new Set(ids).size, ids.length, name);
  }
  assert.equal(filterBenchCases(benchMatrix("headline"), "path=expanded;sq=1").length, 2);
  // run's words: heads= for h=, causal=true for causal=1 (a bench id says h=16;causal=1)
  assert.equal(
    filterBenchCases(benchMatrix("headline"), "heads=16;causal=true;path=expanded;sq=1").length,
    2,
  );
  assert.equal(filterBenchCases(benchMatrix("headline"), "causal=false").length, 0);
  assert.throws(() => parseBenchFilter("h=16;heads=16"), /filter key "h" appears twice/);
  assert.throws(
    () => filterBenchCases(benchMatrix("tiny"), "nope=1"),
    /unknown filter key "nope"; the keys of a bench case: preset, h, path, dtype, b, sq, sk/,
  );
  assert.throws(() => benchMatrix("nope"), /unknown benchmark matrix/);
  // Parsed once (bench/cases.ts parseBenchFilter) for the selection and its error message
  assert.equal(
    filterBenchCases(benchMatrix("headline"), " path = expanded , absorbed ; dtype = f16 ").length,
    2,
  );
  assert.throws(() => filterBenchCases(benchMatrix("tiny"), "path"), /bad filter part "path"/);
  assert.throws(() => filterBenchCases(benchMatrix("tiny"), "=x"), /bad filter part "=x"/);
  assert.throws(
    () => filterBenchCases(benchMatrix("tiny"), "path=absorbed,"),
    /filter part "path=absorbed," has an empty value/,
  );
  assert.throws(
    () => filterBenchCases(benchMatrix("tiny"), "path=absorbed;path=expanded"),
    /filter key "path" appears twice/,
  );
  assert.deepEqual(
    [...benchCaseParams(benchMatrix("tiny")[0]).keys()],
    ["preset", "h", "path", "dtype", "b", "sq", "sk", "causal", "page"],
  );
});

/** A report of these records, with every ceiling 1. */
function reportOf(
  records: BenchRecord[],
  targets: ReturnType<typeof evaluateTargets> = [],
  warnings: string[] = [],
): Parameters<typeof formatTable>[0] {
  return {
    machine: { cpu: "cpu", cores: 2, adapter: "a", deno: "2" },
    ceilings: {
      source: "timestamp-query" as const,
      copyGBps: 1,
      readGBps: 1,
      fmaGflops: 1,
      fma4Gflops: 1,
      fma32Gflops: 1,
      fmaF16Gflops: null,
      dispatchUs: 1,
      submitReadbackMs: 1,
      samples: {},
    },
    records,
    targets,
    warnings,
  };
}

/** A measured record of headline case i. */
function rec(i: number, ms: number, rf: number): BenchRecord {
  return {
    id: benchCaseId(HEADLINE[i]),
    case: HEADLINE[i],
    status: "ok",
    ms,
    roofline_fraction: rf,
  };
}

Deno.test("targets: shortfall and the absorbed/dense ratio", () => {
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

Deno.test("targets by device class: a GPU is held to issue 13's, lavapipe to its own", () => {
  // The gpu matrix is every target case: the headline and the 4096-token expanded prefill.
  assert.deepEqual(
    benchMatrix("gpu").map(benchCaseId),
    TARGET_CASES.map((c) => benchCaseId(c)),
  );
  assert.equal(benchMatrix("gpu").length, HEADLINE.length + 1);
  const rec = (c: (typeof TARGET_CASES)[number], ms: number, rf: number): BenchRecord => ({
    id: benchCaseId(c),
    case: c,
    status: "ok",
    ms,
    roofline_fraction: rf,
  });
  // Expanded prefill at 0.2 of its roofline; absorbed decode 2.8x faster than dense decode.
  const records = [
    rec(HEADLINE[0], 10, 0.35),
    rec(HEADLINE[2], 28, 0.7),
    rec(HEADLINE[5], 50, 0.2),
    rec(PREFILL_4096, 900, 0.2),
  ];
  const by = (t: ReturnType<typeof evaluateTargets>, name: string) =>
    t.find((x) => x.target === name);
  const cpu = evaluateTargets(records);
  assert.equal(by(cpu, "prefill-expanded")?.met, true); // 0.2 >= 0.15
  assert.equal(by(cpu, "prefill-expanded-4096"), undefined); // not a lavapipe target
  assert.equal(by(cpu, "absorbed-over-dense-f32")?.met, true); // 2.8 >= 2.5
  const gpu = evaluateTargets(records, { deviceClass: "gpu" });
  assert.equal(by(gpu, "prefill-expanded")?.want, 0.25);
  assert.equal(by(gpu, "prefill-expanded")?.met, false);
  assert.equal(by(gpu, "prefill-expanded-4096")?.met, false);
  assert.ok(Math.abs((by(gpu, "prefill-expanded-4096")?.shortfall ?? 0) - 0.2) < 1e-12);
  assert.equal(by(gpu, "absorbed-over-dense-f32")?.want, 3);
  assert.equal(by(gpu, "absorbed-over-dense-f32")?.met, false); // 2.8 < 3
  assert.equal(by(gpu, "absorbed-decode-f32")?.met, true);
});

Deno.test("a roofline fraction above 1 is neither met nor missed, and the run says why", async () => {
  // Dense decode at 1.7 (ceilings measured low); absorbed decode at 0.2.
  const records = [rec(0, 10, 0.2), rec(2, 30, 1.7)];
  const targets = evaluateTargets(records);
  const dense = targets.find((t) => t.target === "dense-decode-f32")!;
  assert.equal(dense.implausible, true);
  assert.equal(dense.met, false);
  assert.equal(dense.shortfall, null);
  const absorbed = targets.find((t) => t.target === "absorbed-decode-f32")!;
  assert.equal(absorbed.implausible, undefined);
  assert.ok(Math.abs((absorbed.shortfall ?? 0) - 1 / 3) < 1e-12);
  // The ratio of two times does not involve the ceilings: judged as usual.
  assert.equal(targets.find((t) => t.target === "absorbed-over-dense-f32")!.met, true);
  const warnings = benchWarnings(records);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /dtype=f32.*roofline fraction 1\.700 is above 1.*measured low/);
  const report = reportOf(records, targets, warnings);
  const table = formatTable(report);
  assert.match(table, /\?\?\?\? dense-decode-f32: 1\.700 \(target 0\.65\), not judged/);
  assert.match(table, /MISS absorbed-decode-f32: 0\.200/);
  assert.match(table, /warning: .*is above 1/);
  assert.match(toMarkdown(report, { title: "t" }), /\*\*Warning:\*\* .*is above 1/);
  // report.html says why too (it read a bare "not judged")
  assert.match(
    await benchReportHtml(report, { title: "t" }),
    /<td>not judged: above 1, faster than the measured ceilings \(see the warnings\)<\/td>/,
  );
  assert.deepEqual(benchWarnings([rec(0, 10, 0.99)]), []);
});

Deno.test("a wall-clock absorbed case is warned about: its ms is the whole step, its FLOPs the core", () => {
  const timestamped = [rec(0, 10, 0.2), rec(2, 30, 0.5)].map((r) => ({
    ...r,
    source: "timestamp-query",
  }));
  assert.deepEqual(benchWarnings(timestamped), []);
  const walled = timestamped.map((r) => ({ ...r, source: "wall-clock" }));
  const w = benchWarnings(walled);
  assert.equal(w.length, 1, w.join("\n"));
  assert.match(w[0], /^1 absorbed case timed by the wall clock .*whole decode step/);
  assert.match(w[0], /absorbed \/ dense ratio and crossover read low$/);
});

Deno.test("the table and the CSV name each record's kernel variant: family, tile, workgroup", () => {
  const variant = {
    family: "expanded-fa2",
    workgroupSize: 32,
    headsPerTile: 1,
    kvSplits: 1,
    queryTile: 16,
  };
  const r: BenchRecord = { ...rec(3, 12, 0.2), backend: "wgsl-expanded-tiled", variant };
  assert.equal(variantLabel(variant), "expanded-fa2 16q x 1h wg32");
  assert.equal(variantLabel({ ...variant, decodeStep: 4 }), "expanded-fa2 16q x 1h wg32 step4");
  assert.equal(variantLabel(undefined), "-");
  const table = formatTable(reportOf([r]));
  const lines = table.split("\n");
  const head = lines.findIndex((l) => l.startsWith("id "));
  assert.match(lines[head], /\bbackend\s+variant$/);
  assert.match(lines[head + 1], /wgsl-expanded-tiled\s+expanded-fa2 16q x 1h wg32$/);
  const [csvHead, csvLine] = toCsv([r]).trim().split("\n");
  const cols = csvHead.split(",");
  const vals = csvLine.split(",");
  assert.deepEqual(cols.slice(-4), ["family", "query_tile", "heads_per_tile", "workgroup_size"]);
  assert.deepEqual(vals.slice(-4), ["expanded-fa2", "16", "1", "32"]);
  assert.equal(vals.length, cols.length);
});

Deno.test("summary.md: each case's passes by role, slowest first; none without passes", () => {
  // headline case 0 is the absorbed decode; a user backend's own pass is "other"
  const r: BenchRecord = {
    ...rec(0, 0.58, 0.025),
    passes: {
      combine: 0.064,
      absorbed_tiled: 2.568,
      rope_q: 0.014,
      absorb_q: 0.263,
      up_proj: 0.628,
      rope_k: 0.025,
      my_pass: 1.5,
    },
  };
  const md = toMarkdown(reportOf([r, rec(2, 30, 0.7)]), { title: "t" });
  assert.match(md, /^### Passes$/m);
  assert.match(md, /^\| case \| core \| step \| construction \| other \|$/m);
  const id = benchCaseId(HEADLINE[0]).replace(/;causal=1;page=0$/, "");
  const row = md.split("\n").find((l) => l.startsWith(`| ${id} |`) && l.includes("absorbed_tiled"));
  assert.equal(
    row,
    `| ${id} | absorbed_tiled 2.57, combine 0.0640 | up_proj 0.628, absorb_q 0.263, rope_q 0.0140 | ` +
      "rope_k 0.0250 | my_pass 1.50 |",
  );
  // the record without passes has no row; a report without any has no section
  const passes = md.slice(md.indexOf("### Passes"));
  assert.ok(!passes.includes(benchCaseId(HEADLINE[2]).replace(/;causal=1;page=0$/, "")));
  assert.doesNotMatch(toMarkdown(reportOf([rec(2, 30, 0.7)]), { title: "t" }), /### Passes/);
});

Deno.test("targets: each carries its fraction at the fastest repetition, shown beside the median's, never judged", async () => {
  // absorbed decode: median 18 ms at 0.296, fastest 12 ms -> 0.296 x 18 / 12 = 0.444
  const a: BenchRecord = { ...rec(0, 18, 0.296), ms_min: 12 };
  const d: BenchRecord = { ...rec(2, 18.36, 0.635), ms_min: 17 };
  const t = evaluateTargets([a, d]);
  const abs = t.find((x) => x.target === "absorbed-decode-f32")!;
  assert.equal(abs.met, false, "judged on the median");
  assert.ok(Math.abs(abs.fastest! - 0.444) < 1e-9, String(abs.fastest));
  const ratio = t.find((x) => x.target === "absorbed-over-dense-f32")!;
  assert.ok(Math.abs(ratio.fastest! - 17 / 12) < 1e-12);
  const md = toMarkdown(reportOf([a, d], t), { title: "t" });
  assert.match(
    md,
    /^- MISS absorbed-decode-f32: 0\.296 \(target 0\.3\), short by 1%; fastest repetition 0\.444$/m,
  );
  assert.match(
    md,
    /^- MISS absorbed-over-dense-f32: 1\.020 \(target 2\.5\), short by 59%; fastest repetition 1\.417$/m,
  );
  // report.html gives it too (it gave the median alone)
  const html = await benchReportHtml(reportOf([a, d], t), { title: "t" });
  assert.match(html, /<td class="n">0\.296<br><small>fastest repetition 0\.444<\/small><\/td>/);
  // a median within the ceilings whose fastest repetition is not: said, not judged
  const fast: BenchRecord = { ...rec(0, 18, 0.9), ms_min: 13.5 };
  const over = evaluateTargets([fast, d]);
  assert.match(
    await benchReportHtml(reportOf([fast, d], over), { title: "t" }),
    /fastest repetition 1\.200 \(above 1: faster than the measured ceilings allow\)<\/small>/,
  );
  assert.equal(over[0].fastestImplausible, true);
  assert.equal(
    over.find((x) => x.target === "absorbed-over-dense-f32")?.fastestImplausible,
    undefined,
  );
  assert.match(
    toMarkdown(reportOf([fast, d], over), { title: "t" }),
    /^- met {2}absorbed-decode-f32: 0\.900 \(target 0\.3\); fastest repetition 1\.200 \(above 1: faster than the measured ceilings allow\)$/m,
  );
  // without a fastest repetition (ms_min absent): no such words
  const plain = evaluateTargets([rec(0, 10, 0.15)]);
  assert.equal(plain[0].fastest, undefined);
  assert.doesNotMatch(
    toMarkdown(reportOf([rec(0, 10, 0.15)], plain), { title: "t" }),
    /fastest repetition/,
  );
});

Deno.test("summary.md: an unsupported case keeps its status under ms and its whole reason in the last cell", () => {
  const reason = "backend.path-mismatch: backend wgsl-absorbed-gemm runs the absorbed path; this " +
    "case is on the expanded path | and says so at length";
  const unsupported: BenchRecord = {
    id: benchCaseId(HEADLINE[2]),
    case: HEADLINE[2],
    status: "unsupported",
    reason,
  };
  const md = toMarkdown(reportOf([rec(0, 10, 0.2), unsupported]), { title: "t" });
  const row = md.split("\n").find((l) => l.includes("| unsupported |"))!;
  const cells = row.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim());
  const header = md.split("\n").find((l) => l.startsWith("| case |"))!.slice(1, -1).split("|")
    .map((c) => c.trim());
  assert.equal(cells.length, header.length, row);
  assert.equal(cells[header.indexOf("ms")], "unsupported");
  assert.equal(cells[header.length - 1], reason.replace("|", "\\|"));
});

Deno.test("fmaWorkgroups: 256 on a CPU, 32 an SM on a GPU (64 SMs when unknown), by the class rules", () => {
  assert.equal(fmaWorkgroups(null), 256);
  assert.equal(fmaWorkgroups(LAVAPIPE_CAPS), 256);
  // the H100 of the SM table: 132 SMs, 2,048 invocations (32 workgroups of 64) each
  assert.equal(fmaWorkgroups(H100_CAPS), 132 * 32);
  assert.equal(fmaWorkgroups({ ...H100_CAPS, smCount: 16 }), 512);
  // a GPU the table does not know
  const unknown = { ...H100_CAPS, adapter: { ...H100_CAPS.adapter, device: "1" } };
  assert.equal(fmaWorkgroups(unknown), 64 * 32);
  // the device as its rules class it: lavapipe planned as a GPU (MLA_HARNESS_DEVICE_CLASS=gpu)
  // is still timed as a CPU, an H100 planned as a CPU as a GPU
  assert.equal(fmaWorkgroups({ ...LAVAPIPE_CAPS, deviceClass: "gpu" }), 256);
  assert.equal(fmaWorkgroups({ ...H100_CAPS, deviceClass: "cpu" }), 132 * 32);
});

// `MLA_HARNESS_DEVICE_CLASS=gpu bench` on lavapipe printed "targets of a gpu-class device:" and
// judged lavapipe's fractions by the H100/H200 targets of issue 13 (prefill 0.25, 3x dense).
Deno.test("targets follow the device's own class, not one set by hand, and say so", async () => {
  assert.deepEqual(targetClassOf(null), { targetClass: "cpu" });
  assert.deepEqual(targetClassOf(LAVAPIPE_CAPS), { targetClass: "cpu" });
  assert.deepEqual(targetClassOf(H100_CAPS), { targetClass: "gpu" });
  assert.deepEqual(
    targetClassOf({
      ...LAVAPIPE_CAPS,
      deviceClass: "gpu",
      deviceClassFrom: "MLA_HARNESS_DEVICE_CLASS",
    }),
    { targetClass: "cpu", plannedClass: { kind: "gpu", source: "MLA_HARNESS_DEVICE_CLASS" } },
  );
  assert.deepEqual(targetClassOf({ ...H100_CAPS, deviceClass: "cpu" }), {
    targetClass: "gpu",
    plannedClass: { kind: "cpu", source: "caps file" },
  });
  // a class set by hand to the device's own changes nothing
  assert.deepEqual(targetClassOf({ ...H100_CAPS, deviceClass: "gpu" }), { targetClass: "gpu" });
  const records = HEADLINE.map((_, i) => rec(i, 10 + i, 0.5));
  const report = {
    ...reportOf(records, evaluateTargets(records)),
    targetClass: "cpu" as const,
    plannedClass: { kind: "gpu" as const, source: "MLA_HARNESS_DEVICE_CLASS" },
  };
  const words = "a cpu-class device (its own class; its kernels were planned as gpu-class by " +
    "MLA_HARNESS_DEVICE_CLASS=gpu, and gpu-class targets would judge it as another device)";
  assert.ok(formatTable(report).split("\n").includes(`targets of ${words}:`));
  assert.ok(toMarkdown(report, { title: "t" }).split("\n").includes(`Targets (of ${words}):`));
  // report.html said "Targets of a cpu-class device" alone
  const html = await benchReportHtml(report, { title: "t" });
  assert.ok(html.includes(`<p class="note" id="targets-class">Targets of ${words}.</p>`), html);
  const own = await benchReportHtml({ ...report, plannedClass: undefined }, { title: "t" });
  assert.ok(!own.includes('id="targets-class"'));
});

// On an adapter without shader-f16 (Chromium's SwiftShader) the terminal and summary.md
// said "f16 n/a GFLOP/s": a unit on no figure. They now say it was not measured, and why.
Deno.test("an f16 FMA ceiling that was not measured is said so, with no unit", () => {
  const report = reportOf([]);
  const measured = { ...report, ceilings: { ...report.ceilings, fmaF16Gflops: 9.65 } };
  for (const text of [formatTable(report), toMarkdown(report, { title: "t" })]) {
    assert.match(text, /f16 not measured \(no shader-f16\)/);
    assert.doesNotMatch(text, /n\/a GFLOP\/s/);
  }
  for (const text of [formatTable(measured), toMarkdown(measured, { title: "t" })]) {
    assert.match(text, /f16 9\.65 GFLOP\/s/);
  }
});

// summary.md's row of a case that errored or was refused said "-" in its backend column
// while results.csv and report.json named the backend (a user backend's launch that threw).
Deno.test("summary.md names the backend of an errored or unsupported case", () => {
  const base = { case: benchCase({}) };
  const md = toMarkdown(
    reportOf([
      { ...base, id: "e", status: "error", reason: "launch() threw", backend: "naive" },
      { ...base, id: "u", status: "unsupported", reason: "mine.nope: no" },
    ]),
    { title: "t" },
  );
  assert.match(md, /\n\| e \| naive \| error \|/);
  assert.match(md, /\n\| u \| - \| unsupported \|/);
});

Deno.test("the terminal table: a refused case's reason sets no column's width, and names its backend", () => {
  const refused: BenchRecord = {
    ...rec(1, 0, 0),
    status: "unsupported",
    backend: "wgsl-absorbed",
    reason: "backend.path-mismatch: " + "x".repeat(120),
    ms: undefined,
    roofline_fraction: undefined,
  };
  const lines = formatTable(reportOf([rec(0, 10, 0.2), refused])).split("\n");
  const ok = lines.find((l) => l.startsWith(`${benchCaseId(HEADLINE[0])} `))!;
  // "ok" padded to the header "status", then the figures: not to the reason's length
  assert.match(ok, / ok {6}10\.00 /);
  const no = lines.find((l) => l.startsWith(`${benchCaseId(HEADLINE[1])} `))!;
  assert.match(no, / unsupported on wgsl-absorbed: backend\.path-mismatch: x+…$/);
  assert.ok(no.length <= benchCaseId(HEADLINE[1]).length + 2 + 110, no);
});

Deno.test("targets: a target case refused or failed on the device is n/a with its reason, not a MISS", async () => {
  // the GL fallback: no shader-f16, so the f16 absorbed decode is unsupported
  const f16: BenchRecord = {
    id: benchCaseId(HEADLINE[1]),
    case: HEADLINE[1],
    status: "unsupported",
    reason: "wgsl-absorbed-gemm:dtype.f16-unavailable: dtype f16 needs shader-f16; " +
      "wgsl-absorbed:dtype.f16-unavailable: dtype f16 needs shader-f16",
    reason_codes: [
      "wgsl-absorbed-gemm:dtype.f16-unavailable",
      "wgsl-absorbed:dtype.f16-unavailable",
    ],
  };
  const denseF16: BenchRecord = { ...rec(3, 30, 0.5) };
  const failed: BenchRecord = {
    id: benchCaseId(HEADLINE[0]),
    case: HEADLINE[0],
    status: "error",
    reason: "backend wgsl-absorbed-gemm: launch threw\nat line 2",
  };
  const t = evaluateTargets([failed, f16, denseF16]);
  const by = (name: string) => t.find((x) => x.target === name)!;
  assert.equal(by("absorbed-decode-f16").met, false);
  assert.equal(by("absorbed-decode-f16").shortfall, null);
  assert.deepEqual(by("absorbed-decode-f16").notRun?.codes, ["dtype.f16-unavailable"]);
  assert.equal(by("absorbed-decode-f32").notRun?.status, "error");
  assert.equal(by("dense-decode-f16").notRun, undefined);
  const lines = formatTable(reportOf([failed, f16, denseF16], t)).split("\n");
  assert.ok(
    lines.includes(
      "n/a  absorbed-decode-f16: not judged (target 0.3), the case did not run: unsupported on " +
        "this device (dtype.f16-unavailable)",
    ),
    lines.join("\n"),
  );
  assert.ok(lines.includes(
    "n/a  absorbed-decode-f32: not judged (target 0.3), the case did not run: failed " +
      "(backend wgsl-absorbed-gemm: launch threw)",
  ));
  // the ratio names which of its two cases did not run
  assert.ok(lines.includes(
    `n/a  absorbed-over-dense-f16: not judged (target 2.5), the case did not run: ${f16.id}: ` +
      "unsupported on this device (dtype.f16-unavailable)",
  ));
  assert.ok(!lines.some((l) => /^MISS .*did not run/.test(l)), lines.join("\n"));
  const html = await benchReportHtml(reportOf([failed, f16, denseF16], t), { title: "t" });
  // its words as the table's: report.html read "not judged: unsupported" and no reason
  assert.match(
    html,
    /<td>not judged: unsupported on this device \(dtype\.f16-unavailable\)<\/td>/,
  );
  assert.match(html, /<td>not judged: failed \(backend wgsl-absorbed-gemm: launch threw\)<\/td>/);
});

Deno.test("targets: a ratio whose two cases were both refused names both", async () => {
  const refused = (i: number, code: string): BenchRecord => ({
    id: benchCaseId(HEADLINE[i]),
    case: HEADLINE[i],
    status: "unsupported",
    reason: `wgsl:${code}: no`,
    reason_codes: [`wgsl:${code}`],
  });
  const a = refused(1, "dtype.f16-unavailable"), d = refused(3, "device.too-slow");
  const t = evaluateTargets([a, d]);
  const ratio = t.find((x) => x.target === "absorbed-over-dense-f16")!;
  assert.equal(ratio.notRun?.id, a.id);
  assert.equal(ratio.alsoNotRun?.id, d.id);
  const words = `${a.id}: unsupported on this device (dtype.f16-unavailable); ${d.id}: ` +
    "unsupported on this device (device.too-slow)";
  assert.ok(
    formatTable(reportOf([a, d], t)).split("\n").includes(
      `n/a  absorbed-over-dense-f16: not judged (target 2.5), its two cases did not run: ${words}`,
    ),
  );
  const html = await benchReportHtml(reportOf([a, d], t), { title: "t" });
  assert.ok(html.includes(`<td>not judged: ${words}</td>`), html);
});

Deno.test("targets: report.html says how far a missed target is short, as the table does", async () => {
  const t = evaluateTargets([rec(0, 10, 0.15), rec(2, 10, 0.7)]);
  const html = await benchReportHtml(reportOf([rec(0, 10, 0.15), rec(2, 10, 0.7)], t), {
    title: "t",
  });
  assert.match(html, /<td class="n">0\.150<\/td><td><b>no<\/b>, short by 50%<\/td><\/tr>/);
  assert.match(formatTable(reportOf([], t)), /short by 50%/);
});

Deno.test("a small figure that is not 0 does not read as 0 in the table and summary.md", () => {
  // a tiny case on a loaded lavapipe: 0.0038 GFLOP/s read "0.0", its fraction "0.000"
  const r: BenchRecord = { ...rec(0, 9.66, 0.00021), gflops: 0.0038, gbps: 0.0012 };
  const row = formatTable(reportOf([r])).split("\n").find((l) => l.startsWith(r.id))!;
  assert.match(row, / 9\.66 .* 0\.00380 +0\.00120 +0\.00021 /);
  const md = toMarkdown(reportOf([r]), { title: "t" });
  assert.match(md, /\| 9\.66 \| -.* \| 0\.00380 \| 0\.00120 \| 0\.00021 \|/);
  assert.equal(benchFigure(0, 3), "0.000");
  assert.equal(benchFigure(0.05, 1), "0.1");
  assert.equal(benchFigure(undefined), "-");
});

Deno.test("GFLOP/s: the table and summary.md keep three significant digits under 10, as report.html", async () => {
  // the GL fallback's tiny and deepseek-v2-lite cases, 0.184 and 0.161 GFLOP/s, both read 0.2
  const recs: BenchRecord[] = [
    { ...rec(0, 9.66, 0.1), gflops: 0.184 },
    { ...rec(2, 9.66, 0.1), gflops: 0.161 },
    { ...rec(1, 9.66, 0.1), gflops: 185.24 },
  ].map((r) => ({ ...r, ms_min: 9.5, ms_max: 9.8 }));
  const rate = (text: string, id: string) =>
    text.split("\n").find((l) =>
      l.startsWith(id) || l.startsWith(`| ${id.replace(/;causal=1;page=0$/, "")} |`)
    )!;
  const table = formatTable(reportOf(recs));
  const md = toMarkdown(reportOf(recs), { title: "t" });
  const html = await benchReportHtml(reportOf(recs), { title: "t" });
  for (const [r, want] of [[recs[0], "0.184"], [recs[1], "0.161"], [recs[2], "185.2"]] as const) {
    assert.match(rate(table, r.id), new RegExp(`-9\\.80 +${want.replace(".", "\\.")} `));
    assert.match(rate(md, r.id), new RegExp(`\\| ${want.replace(".", "\\.")} \\|`));
    assert.ok(html.includes(`<td class="n">${want}</td>`), want);
  }
});

Deno.test("the terminal table's spread column names its unit, as its other times do", () => {
  const header = formatTable(reportOf([{ ...rec(0, 9.66, 0.1), ms_min: 9.5, ms_max: 9.8 }]))
    .split("\n").find((l) => l.startsWith("id "))!;
  assert.match(header, /^id +status +ms +spread_ms +gflops /);
});

Deno.test("ms, GB/s and roofline fraction: one figure reads the same in the table, summary.md and report.html", async () => {
  // a 0.36 ms case read "0.36" in the table and summary.md, "0.360" in report.html; 0.0346
  // GB/s read "0.03" in all three beside "0.24"; a fraction 0.00021 read "2.10e-4" on the page
  const recs: BenchRecord[] = [
    { ...rec(0, 0.36, 0.00021), ms_min: 0.004, ms_max: 0.5, gflops: 1, gbps: 0.0346 },
    { ...rec(2, 12.345, 0.5), ms_min: 12, ms_max: 13, gflops: 1, gbps: 0.24 },
  ];
  const line = (text: string, id: string) =>
    text.split("\n").find((l) =>
      l.startsWith(id) || l.startsWith(`| ${id.replace(/;causal=1;page=0$/, "")} |`) ||
      l.startsWith(`<tr data-id="${id.replaceAll("&", "&amp;")}"`)
    )!;
  const table = formatTable(reportOf(recs));
  const md = toMarkdown(reportOf(recs), { title: "t" });
  const html = await benchReportHtml(reportOf(recs), { title: "t" });
  const want = [
    ["0.360", "0.00400", "0.500", "0.0346", "0.00021"],
    ["12.35", "12.00", "13.00", "0.240", "0.500"],
  ];
  recs.forEach((r, i) => {
    const [ms, lo, hi, gbps, rf] = want[i];
    const esc = (x: string) => x.replaceAll(".", "\\.");
    assert.match(
      line(table, r.id),
      new RegExp(` ${esc(ms)} +${esc(lo)}-${esc(hi)} +1\\.00 +${esc(gbps)} +${esc(rf)} `),
    );
    assert.match(
      line(md, r.id),
      new RegExp(
        `\\| ${esc(ms)} \\| ${esc(lo)}-${esc(hi)} \\| 1\\.00 \\| ${esc(gbps)} \\| ${esc(rf)} \\|`,
      ),
    );
    const row = line(html, r.id);
    for (const x of [ms, `${lo}–${hi}`, gbps, rf]) {
      assert.ok(row.includes(`<td class="n">${x}</td>`), `${x} in ${row}`);
    }
  });
});

Deno.test("a roofline fraction just above 1 does not read as 1.000 beside 'above 1'", async () => {
  // 1.0004: "roofline fraction 1.000 is above 1", "1.000 (target 0.3), not judged: above 1"
  const r: BenchRecord = { ...rec(0, 9.66, 1.0004), gflops: 1, gbps: 1 };
  const t = evaluateTargets([r]);
  const report = reportOf([r], t);
  const warning = benchWarnings([r]).join("\n");
  assert.match(warning, /roofline fraction 1\.0004 is above 1/);
  assert.match(formatTargets(t).join("\n"), /: 1\.0004 \(target /);
  assert.match(formatTable(report), / 1\.0004 /);
  assert.match(toMarkdown(report, { title: "t" }), /\| 1\.0004 \|/);
  const html = await benchReportHtml(report, { title: "t" });
  assert.ok(html.includes(`<td class="n">1.0004</td>`));
  assert.equal(benchFraction(1), "1.000");
  assert.equal(benchFraction(0.9994), "0.999");
});

Deno.test("targets: a shortfall under 1% is said in tenths, never 'short by 0%'", () => {
  const t = evaluateTargets([rec(0, 10, 0.299), rec(2, 10, 0.6499), rec(4, 10, 0.0001)]);
  const md = formatTable(reportOf([rec(0, 10, 0.299)], t));
  assert.match(md, /^MISS absorbed-decode-f32: 0\.299 \(target 0\.3\), short by 0\.3%$/m);
  assert.match(md, /^MISS dense-decode-f32: 0\.650 \(target 0\.65\), short by under 0\.1%$/m);
  // a fraction that is not 0 does not read "0.000"
  assert.match(md, /^MISS prefill-absorbed: 0\.00010 \(target 0\.15\), short by 99\.9%$/m);
  assert.doesNotMatch(md, /short by 0%/);
  assert.equal(shortfallWords(0.2), "20%");
  assert.equal(shortfallWords(1), "100%");
  assert.equal(shortfallWords(0.99999), "over 99.9%");
});

Deno.test("a ceiling or a case whose timestamps did not advance (0 ms) is said, not divided by", () => {
  // a 0 ms repetition is no time: the fastest one that took time is the ceiling's
  assert.equal(fastestTimedMs("copy", { source: "timestamp-query", ms: [0, 12.5, 11.8] }), 11.8);
  assert.throws(
    () => fastestTimedMs("copy", { source: "timestamp-query", ms: [0, 0, 0] }),
    (e: unknown) =>
      e instanceof CeilingNotTimedError &&
      e.message ===
        "the copy ceiling kernel's 3 repetitions all read 0 ms by timestamp-query (its " +
          "timestamps did not advance): no ceiling follows from them, and no roofline fraction " +
          "without it",
  );
  // the same error from a Chromium page comes back as another class of that name
  const paged = Object.assign(new Error("the copy ceiling kernel's ..."), {
    name: "CeilingNotTimedError",
  });
  assert.ok(isCeilingNotTimed(paged));
  assert.ok(!isCeilingNotTimed(new Error("x")));
  // devices --measure (and bench) say it in one line, exit 3: the device's clock failed
  assert.equal(exitCodeOf(new CeilingNotTimedError("the copy ceiling kernel's ...")), 3);
  assert.equal(untimedReason([0.4, 0, 0.5], "timestamp-query"), null);
  // such a case's figures are of the repetitions that took time: no ms_min of 0, whose
  // spread read "0.00-0.50" and whose crossover ratio was Infinity
  const st = timedStats([0.4, 0, 0.5]);
  assert.deepEqual([st.min, st.max, st.n], [0.4, 0.5, 2]);
  assert.equal(
    untimedReason([0, 0, 0.4], "timestamp-query"),
    "2 of 3 timed repetitions of the attention core read 0 ms by timestamp-query (its " +
      "timestamps did not advance): no time to judge, so no GFLOP/s, GB/s or roofline fraction",
  );
});

Deno.test("targets: those of the device class whose cases were not benched are named, not left out", async () => {
  // a GPU's `bench` (the headline matrix): every target but the 4096-token prefill
  const records = HEADLINE.map((_, i) => rec(i, 10 + i, 0.5));
  const gpu = evaluateTargets(records, { deviceClass: "gpu" });
  assert.deepEqual(targetsNotBenched({ targets: gpu, targetClass: "gpu" }), [
    "prefill-expanded-4096",
  ]);
  const report = { ...reportOf(records, gpu), targetClass: "gpu" as const };
  const line = "n/a  prefill-expanded-4096: not judged, its case was not benched " +
    "(bench --matrix gpu without --filter has it)";
  assert.ok(formatTable(report).split("\n").includes(line), formatTable(report));
  assert.ok(toMarkdown(report, { title: "t" }).split("\n").includes(`- ${line}`));
  assert.match(
    await benchReportHtml(report, { title: "t" }),
    /<tr><td>prefill-expanded-4096<\/td>.*<td>not judged: its case was not benched<\/td><\/tr>/,
  );
  // the same records on a CPU: every target of its class judged, no such line
  const cpu = evaluateTargets(records);
  assert.deepEqual(targetsNotBenched({ targets: cpu, targetClass: "cpu" }), []);
  assert.doesNotMatch(formatTable(reportOf(records, cpu)), /not benched/);
  // --filter path=absorbed: the dense targets and both ratios
  const absorbed = evaluateTargets([rec(0, 10, 0.5), rec(1, 10, 0.5), rec(4, 10, 0.5)]);
  assert.deepEqual(targetsNotBenched({ targets: absorbed }), [
    "dense-decode-f32",
    "dense-decode-f16",
    "prefill-expanded",
    "absorbed-over-dense-f32",
    "absorbed-over-dense-f16",
  ]);
  // more than two: one line naming them all, and the matrix without --filter (`bench --matrix
  // gpu --filter <one case>` was told that the matrix it ran has them)
  const lines = formatTable(reportOf([rec(0, 10, 0.5)], absorbed)).split("\n");
  assert.deepEqual(lines.filter((l) => l.includes("not benched")), [
    "n/a  5 targets not judged, their cases not benched: dense-decode-f32, dense-decode-f16, " +
    "prefill-expanded, absorbed-over-dense-f32, absorbed-over-dense-f16 (bench --matrix " +
    "headline without --filter has every one)",
  ]);
  // two: a line each (the ratio's cases, both)
  const noRatio = evaluateTargets([0, 1, 3, 4, 5].map((i) => rec(i, 10, 0.5)));
  assert.deepEqual(
    formatTable(reportOf([], noRatio)).split("\n").filter((l) => /not (both )?benched/.test(l)),
    [
      "n/a  dense-decode-f32: not judged, its case was not benched (bench --matrix headline without --filter has it)",
      "n/a  absorbed-over-dense-f32: not judged, its two cases were not both benched (bench " +
      "--matrix headline without --filter has them)",
    ],
  );
  // no target judged at all (a decode sweep): nothing said
  assert.deepEqual(targetsNotBenched({ targets: [] }), []);
});

Deno.test("a bench that measured no case says so in its warnings (the headline on the GL fallback)", () => {
  const refused = (i: number): BenchRecord => ({
    id: benchCaseId(HEADLINE[i]),
    case: HEADLINE[i],
    status: "unsupported",
    reason: "wgsl-absorbed-gemm:device.too-slow: too slow",
  });
  const failed: BenchRecord = { ...refused(2), status: "error", reason: "launch threw" };
  const w = benchWarnings([refused(0), refused(1), failed]);
  assert.deepEqual(w, [
    "none of the 3 cases was measured (2 unsupported, 1 error): this report has the device's " +
    "ceilings and no kernel figure; each case's reason is in its row",
  ]);
  assert.match(benchWarnings([refused(0)])[0], /^the 1 case was not measured \(1 unsupported\)/);
  assert.match(
    formatTable(reportOf([refused(0)], [], benchWarnings([refused(0)]))),
    /warning: the 1 case was not measured/,
  );
  // one measured case: nothing said
  assert.deepEqual(benchWarnings([refused(0), rec(2, 30, 0.5)]), []);
  assert.deepEqual(benchWarnings([]), []);
});

// bench's line as a case ends read "0.32 ms, roofline 0.008" above the table's "0.319" (and a
// fraction of 0.00021 "0.00021" there, where the table gives benchFraction's figure)
Deno.test("bench's progress line gives a case's ms as the table under it", () => {
  const r = { ...rec(0, 0.319315, 0.0074), ms_min: 0.3, ms_max: 0.4 };
  const line = benchProgressLine(r);
  assert.equal(line, `${r.id}: 0.319 ms, roofline 0.007 (provisional)`);
  assert.match(formatTable(reportOf([r])), / 0\.319 /);
  assert.match(benchProgressLine(rec(0, 12.345, 1.0004)), /: 12\.35 ms, roofline 1\.0004 /);
});
