// Synthetic baselines and reports for the drift tests: a lavapipe-like fingerprint and
// cases built from a few fields, so each test states only what it changes.
import type { Baseline, BaselineCase } from "../drift/mod.ts";
import type { CaseResult, Fingerprint, RunReport } from "../results/types.ts";
import { CASE_DEFAULTS } from "../matrix/types.ts";
import { median } from "../util/stats.ts";

/** A lavapipe fingerprint as `run` records it on the CI machine kind. */
export function lavapipeFingerprint(over: Partial<Fingerprint> = {}): Fingerprint {
  return {
    runtime: { deno: "2.9.6", v8: "15.0.245.2-rusty", typescript: "6.0.3" },
    host: { os: "linux", arch: "x86_64", cpus: 2, cpuModel: "AMD EPYC" },
    adapter: {
      adapter: {
        vendor: "65541",
        architecture: "",
        device: "0",
        description: "llvmpipe (LLVM 15.0.6, 256 bits)",
        isFallbackAdapter: true,
      },
      features: ["shader-f16", "timestamp-query"],
      limits: { maxStorageBufferBindingSize: 134217728 },
    },
    harnessRevision: "b738ab613d488369b9dea3f8aa5e472d955afd21",
    kernelHashes: {
      "absorbed.wgsl": "6a9b739d7529ea3d",
      "expanded.wgsl": "77610df33e0c793d",
      "rope.wgsl": "4f6e5caf8f5b9e5e",
      "up_proj.wgsl": "412cb9513e716239",
    },
    ...over,
  };
}

/** Deterministic pseudo-random samples around a median (spread ±20%). */
export function samples(medianMs: number, n: number, seed = 1): number[] {
  let s = seed >>> 0 || 1;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(medianMs * (0.8 + 0.4 * (s / 2 ** 32)));
  }
  return out;
}

/** A supported, passing case; override any field. */
export function supportedCase(id: string, over: Partial<BaselineCase> = {}): BaselineCase {
  const backend = over.backend ?? "wgsl-absorbed";
  return {
    id,
    params: null,
    status: "pass",
    decision: "supported",
    backend,
    planDigest: "plan0000000000" + id.length,
    reasons: null,
    parity: { out: true, lse: true },
    metrics: {
      outMaxAbs: 2e-7,
      outMaxRel: 3e-6,
      outCosDiff: 1e-14,
      outNormRel: 1.5e-7,
      lseMaxAbs: 3e-7,
      lseMaxRel: 1e-7,
    },
    tolerance: {
      out: { atol: 1e-4, rtol: 1e-3, maxCosDiff: 1e-8 },
      lse: { atol: 1e-4, rtol: 1e-5 },
    },
    outputDigest: "bits" + id.length,
    timing: timing(samples(1, 10, id.length)),
    kernelFiles: backend === "wgsl-absorbed" ? ["absorbed.wgsl", "rope.wgsl", "up_proj.wgsl"] : [
      "expanded.wgsl",
      "rope.wgsl",
    ],
    kernelHash: "k" + backend,
    message: "ok",
    ...over,
  };
}

/** A timing record from samples. */
export function timing(samplesMs: number[], source = "timestamp-query"): BaselineCase["timing"] {
  return {
    source,
    samplesMs,
    medianMs: samplesMs.length === 0 ? 0 : median(samplesMs),
    spreadMs: 0,
    count: samplesMs.length,
  };
}

/** A baseline around some cases. */
export function baselineOf(cases: BaselineCase[], over: Partial<Baseline> = {}): Baseline {
  return {
    format: "mla-harness-baseline",
    version: 1,
    deviceKey: "llvmpipe-65541-vulkan",
    backend: "vulkan",
    createdAt: "2026-01-01T00:00:00.000Z",
    matrix: "smoke",
    filter: null,
    shard: null,
    scope: cases.map((c) => c.id),
    interrupted: false,
    fingerprint: lavapipeFingerprint(),
    cases,
    ...over,
  };
}

/** A run report around some case results. */
export function reportOf(
  results: CaseResult[],
  over: Partial<RunReport> = {},
): RunReport {
  return {
    version: 1,
    matrix: "smoke",
    filter: null,
    shard: null,
    matrixIds: results.map((r) => r.id),
    shardIds: results.map((r) => r.id),
    results,
    fingerprint: lavapipeFingerprint(),
    startedAt: "2026-01-01T00:00:00.000Z",
    endedAt: "2026-01-01T00:01:00.000Z",
    totals: { pass: results.length, fail: 0, unexpected: 0, error: 0 },
    interrupted: false,
    ...over,
  };
}

/** A passing case result with timing samples and params of the tiny preset. */
export function caseResult(id: string, medianMs: number, seed: number): CaseResult {
  return {
    id,
    status: "pass",
    decision: "supported",
    expect: { support: "supported" },
    params: {
      ...CASE_DEFAULTS,
      preset: "tiny",
      path: id.includes("expanded") ? "expanded" : "absorbed",
      b: 2,
      sk: 20,
    },
    message: "ok",
    backend: id.includes("expanded") ? "wgsl-expanded" : "wgsl-absorbed",
    planDigest: "p" + id.length,
    outputDigest: "o" + id.length,
    timing: { source: "timestamp-query", samplesMs: samples(medianMs, 10, seed), medianMs },
    wallMs: 10,
  };
}

/** Where the repository is. */
export const repoRoot = new URL("../", import.meta.url).pathname;
