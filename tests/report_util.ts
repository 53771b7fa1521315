// Hand-built CaseResult / RunReport fixtures for the report tests.
import type { CaseResult, Fingerprint, ParityRecord, RunReport } from "../results/types.ts";
import { CASE_DEFAULTS, caseId } from "../matrix/mod.ts";
import type { CaseParams } from "../matrix/types.ts";
import { computeTotals } from "../report/mod.ts";

export function params(over: Partial<CaseParams> = {}): CaseParams {
  return { ...CASE_DEFAULTS, ...over };
}

export function parity(pass: boolean, summary = "max |err| 0 at [0,0,0]"): ParityRecord {
  return {
    pass,
    checks: pass ? [] : ["elementwise"],
    maxAbs: pass ? 0 : 0.05,
    maxAbsAt: pass ? null : [0, 3, 17],
    maxRel: pass ? 0 : 0.2,
    cosDiff: 0,
    normRel: 0,
    fractionPassing: pass ? 1 : 0.99,
    summary,
  };
}

export function result(
  p: Partial<CaseParams>,
  over: Partial<CaseResult> = {},
): CaseResult {
  const ps = params(p);
  return {
    id: caseId(ps),
    status: "pass",
    decision: "supported",
    expect: { support: "supported" },
    params: ps,
    message: "ok",
    backend: `wgsl-${ps.path}`,
    out: parity(true),
    wallMs: 100,
    ...over,
  };
}

export function fingerprint(over: Partial<Fingerprint> = {}): Fingerprint {
  return {
    runtime: { deno: "2.9.6", v8: "15.0.245.2-rusty", typescript: "6.0.3" },
    host: { os: "linux", arch: "x86_64", cpus: 16, cpuModel: "AMD EPYC" },
    adapter: {
      adapter: {
        vendor: "mesa",
        architecture: "",
        device: "",
        description: "llvmpipe (LLVM 15.0.7, 256 bits)",
        isFallbackAdapter: false,
      },
      features: ["shader-f16", "timestamp-query"],
      limits: {},
    },
    harnessRevision: "0123456789abcdef0123456789abcdef01234567",
    kernelHashes: { "absorbed.wgsl": "0011223344556677", "expanded.wgsl": "8899aabbccddeeff" },
    ...over,
  };
}

export function report(
  results: readonly CaseResult[],
  over: Partial<RunReport> = {},
): RunReport {
  const ids = results.map((r) => r.id);
  return {
    version: 1,
    matrix: "smoke",
    filter: null,
    shard: null,
    matrixIds: ids,
    shardIds: ids,
    results,
    fingerprint: fingerprint(),
    startedAt: "2025-01-01T00:00:00.000Z",
    endedAt: "2025-01-01T00:01:00.000Z",
    totals: computeTotals(results),
    interrupted: false,
    ...over,
  };
}

/** Four results: pass, fail (parity), skipped-as-expected, error. */
export function mixedResults(): CaseResult[] {
  return [
    result({ b: 1 }, { wallMs: 120 }),
    result({ b: 2 }, {
      status: "fail",
      message: "out failed",
      out: parity(false, `max |err| 0.05 at [0,3,17] <&"'> tol`),
      wallMs: 900,
    }),
    result({ dtype: "f16", device: "no-f16" }, {
      decision: "unsupported",
      expect: { support: "unsupported", codes: ["dtype.f16-unavailable"] },
      message: "unsupported as expected",
      out: undefined,
      backend: undefined,
      reasons: [{ code: "dtype.f16-unavailable", message: "shader-f16 is absent" }],
      wallMs: 5,
    }),
    result({ b: 4 }, {
      status: "error",
      message: "device lost: <reset>",
      out: undefined,
      wallMs: 50,
    }),
  ];
}

export async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mla_report_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
