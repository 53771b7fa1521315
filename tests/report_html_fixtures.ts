// Small hand-built inputs of the HTML report tests (unit and browser): a run with a planted
// failure, a benchmark with one complete sweep, a comparison, history series.
import type { BenchReport } from "../bench/report.ts";
import type { BenchRecord } from "../bench/run_bench.ts";
import type { BenchCase } from "../bench/cases.ts";
import { benchCaseId } from "../bench/cases.ts";
import type { CaseResult, ParityRecord, RunReport } from "../results/types.ts";
import { parity, report, result } from "./report_util.ts";
import type { Series } from "../drift/history.ts";

export const PLANTED_ID_B = 7;

function side(pass: boolean, headroom: number, extra: Partial<ParityRecord> = {}): ParityRecord {
  return {
    ...parity(pass, pass ? "ok" : "max abs err 2.9e0 at [0,1,6] (got -2.15, want 0.743)"),
    headroom,
    worst: { at: [0, 3, 15], got: 2.95, want: 0.0747 },
    atol: 1e-5,
    rtol: 1e-4,
    ...extra,
  };
}

/**
 * Eight results in three groups: a planted parity failure (listed last on purpose: the page
 * must still put it first), an error, an expected skip, and passes with known headrooms.
 * Headroom points: every out and lse with a headroom = 5 passes x 2 + failure x 2 = 12.
 */
export function runFixture(): RunReport {
  const g1 = "tiny: decode", g2 = "tiny: prefill", g3 = "layer";
  const results: CaseResult[] = [
    result({ b: 1 }, { group: g1, out: side(true, 0.01), lse: side(true, 0.002) }),
    result({ b: 2 }, { group: g1, out: side(true, 0.2), lse: side(true, 0.05) }),
    result({ b: 3, dtype: "f16" }, { group: g1, out: side(true, 0.3), lse: side(true, 0) }),
    result({ b: 4, path: "expanded" }, { group: g2, out: side(true, 0.7), lse: side(true, 0.1) }),
    result({ b: 5, mode: "layer" }, { group: g3, out: side(true, 0.4), lse: side(true, 0.3) }),
    result({ b: 6 }, {
      group: g2,
      status: "error",
      decision: "not-reached",
      message: "GPUValidationError: <binding> & more",
      out: undefined,
    }),
    result({ dtype: "f16", device: "no-f16" }, {
      group: g3,
      decision: "unsupported",
      expect: { support: "unsupported", codes: ["dtype.f16-unavailable"] },
      message: "unsupported as expected",
      out: undefined,
      reasons: [{ code: "dtype.f16-unavailable", message: "no shader-f16" }],
    }),
    result({ b: PLANTED_ID_B }, {
      group: g2,
      status: "fail",
      message: "out: max abs err 2.9e0 at [0,1,6] (got -2.15, want 0.743) | lse: ...",
      out: side(false, 288000, { checks: ["elementwise", "cos_diff"], cosDiff: 0.82 }),
      lse: side(false, 647000, { nonfinite: { count: 2, firstAt: [1, 3] } }),
    }),
  ];
  return report(results);
}

/** How many headroom points {@link runFixture} has (counted by hand above). */
export const RUN_FIXTURE_HEADROOM_POINTS = 12;

/** A benchmark case: tiny, 4 heads, absorbed f32 decode at 64 keys, with `over` applied. */
export function benchCase(over: Partial<BenchCase>): BenchCase {
  return {
    preset: "tiny",
    heads: 4,
    path: "absorbed",
    dtype: "f32",
    b: 1,
    sq: 1,
    sk: 64,
    causal: true,
    page: 0,
    ...over,
  };
}

function record(c: BenchCase, ms: number, flop: number, bytes: number): BenchRecord {
  return {
    id: benchCaseId(c),
    case: c,
    status: "ok",
    ms,
    gflops: flop / ms / 1e6,
    gbps: bytes / ms / 1e6,
    roofline_fraction: 0.1,
    bound: "memory",
    flop,
    bytes,
  };
}

/**
 * A benchmark: a complete sweep (both paths at s_k 64, 256, 1024: 6 crossover points), a
 * sweep with one path only (not a crossover), one unsupported case. Roofline points: the 7
 * measured cases.
 */
export function benchFixture(): BenchReport {
  const records: BenchRecord[] = [];
  for (const sk of [64, 256, 1024]) {
    records.push(record(benchCase({ sk }), sk / 100, 1e6 * sk, 1e4 * sk));
    records.push(record(benchCase({ sk, path: "expanded" }), sk / 150, 3e5 * sk, 5e4 * sk));
  }
  records.push(record(benchCase({ b: 4, sk: 64 }), 1, 4e6, 4e4));
  records.push({
    id: benchCaseId(benchCase({ dtype: "f16" })),
    case: benchCase({ dtype: "f16" }),
    status: "unsupported",
    reason: "no shader-f16",
  });
  return {
    machine: {
      cpu: "AMD EPYC",
      cores: 2,
      adapter: "llvmpipe (LLVM 15.0.6, 256 bits)",
      deno: "2.9.6",
    },
    ceilings: {
      source: "timestamp-query",
      copyGBps: 20,
      readGBps: 25,
      textureReadGBps: 30,
      fmaGflops: 200,
      fma4Gflops: 100,
      fma32Gflops: 200,
      fmaF16Gflops: null,
      dispatchUs: 30,
      submitReadbackMs: 10,
      samples: {},
    },
    records,
    targets: [],
  };
}

export const BENCH_FIXTURE_ROOFLINE_POINTS = 7;
export const BENCH_FIXTURE_CROSSOVER_POINTS = 6;

/**
 * A history series of one case (`caseId`, default `preset=tiny;b=1`), its points the nightly
 * runs `runIds` (default 1, 2, ...) with `values`, and `steps`, as history --html draws it.
 */
export function historySeries(
  values: readonly number[],
  steps: Series["steps"],
  options: { runIds?: readonly number[]; caseId?: string } = {},
): Series {
  const runIds = options.runIds ?? values.map((_, i) => i + 1);
  return {
    caseId: options.caseId ?? "preset=tiny;b=1",
    points: values.map((value, i) => ({
      runId: runIds[i],
      startedAt: `2026-11-${String(runIds[i]).padStart(2, "0")}T02:17:00Z`,
      deno: "2.9.6",
      harnessRevision: "abc",
      deviceKey: "llvmpipe-65541-vulkan",
      value,
    })),
    steps,
  };
}
