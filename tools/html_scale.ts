/**
 * How large the HTML reports grow with the number of cases, and how long they take to write:
 * report.html of a run of N passing cases (the headroom plot has 2 points a case; past 5 MiB
 * the passing rows are dropped) and of a run whose N cases all fail (past 5 MiB the failures
 * past the first 200 lose their cards, and past 5,000 their rows; with thousands of failing
 * groups, past 1,000), and compare.html of two such runs (the drift plot has up to
 * 7 points a case: speed and 6 error metrics; past 5 MiB rows are left out). Past 2,000 points a plot is
 * thinned (report/html/thin.ts). The cases are
 * synthetic (tiny-preset ids, 20 matrix groups or `--groups N`, seeded headrooms and timings).
 *
 * Usage: `deno run -A tools/html_scale.ts [--groups N] [cases...]` (default 1000 5000; with
 * `--groups` as many as the cases, one case a group, the page's cuts of thousands of groups
 * are measured: `--groups 20000 20000`).
 *
 * @module
 */
import { baselineFromReport } from "../drift/baseline.ts";
import { compareBaselines } from "../drift/compare.ts";
import { compareReportHtml } from "../drift/drift_html.ts";
import { caseId } from "../matrix/case_id.ts";
import { CASE_DEFAULTS } from "../matrix/types.ts";
import { runReportHtml } from "../report/html/run_html.ts";
import type { CaseResult, ParityRecord, RunReport } from "../results/types.ts";
import { SYNTHETIC_FINGERPRINT } from "./synthetic_fingerprint.ts";
import { toolCounts } from "./tool_args.ts";

/** What {@link htmlScale} measured for one number of cases. */
export interface HtmlScale {
  /** Cases per run. */
  readonly cases: number;
  /** report.html: bytes. */
  readonly runBytes: number;
  /** report.html: seconds to build. */
  readonly runS: number;
  /** Whether report.html hit its 5 MiB cap (passing rows dropped). */
  readonly capped: boolean;
  /** report.html of a run whose every case fails: bytes. */
  readonly failingBytes: number;
  /** Whether that page cut failure cards (past CAPPED_FAILURE_CARDS). */
  readonly failingCut: boolean;
  /** compare.html: bytes. */
  readonly compareBytes: number;
  /** Whether compare.html hit its 5 MiB cap (rows of unchanged or moved cases left out). */
  readonly compareCapped: boolean;
  /** compare.html: seconds to build (the comparison included). */
  readonly compareS: number;
}

/**
 * A synthetic run of `n` cases, passing (or each failing its out side, `failing`); `seed`
 * varies the headrooms and timings.
 */
function syntheticRun(n: number, seed: number, failing = false, groups = 20): RunReport {
  let s = seed;
  const uniform = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const parity = (headroom: number): ParityRecord => ({
    pass: true,
    checks: [],
    maxAbs: headroom * 1e-4,
    maxAbsAt: [0, 1, 2],
    maxRel: headroom * 1e-3,
    cosDiff: 1e-12,
    normRel: headroom * 1e-5,
    fractionPassing: 1,
    summary: "ok",
    headroom,
    atol: 1e-4,
    rtol: 1e-3,
  });
  const results: CaseResult[] = Array.from({ length: n }, (_, i) => {
    const params = {
      ...CASE_DEFAULTS,
      dtype: i % 2 ? "f16" : "f32",
      b: 1 + (i >> 1) % 4,
      sk: 16 + (i >> 3),
    } as const;
    const samplesMs = [0, 1, 2].map(() => 1 + 0.1 * uniform());
    return {
      id: caseId(params),
      status: failing ? "fail" : "pass",
      decision: "supported",
      expect: { support: "supported" },
      params,
      group: `group ${i % groups}`,
      message: failing ? "out failed elementwise" : "ok",
      backend: "wgsl-absorbed",
      seed: 1,
      out: failing
        ? { ...parity(1 + uniform()), pass: false, checks: ["elementwise"], summary: "failed" }
        : parity(0.01 + 0.5 * uniform()),
      lse: parity(0.01 + 0.5 * uniform()),
      tolerance: { out: { atol: 1e-4, rtol: 1e-3 }, lse: { atol: 1e-4, rtol: 1e-3 } },
      outputDigest: `digest${i}`,
      timing: { source: "timestamp-query", samplesMs, medianMs: [...samplesMs].sort()[1] },
      wallMs: 100,
    };
  });
  const ids = results.map((r) => r.id);
  return {
    version: 1,
    matrix: "scale",
    filter: null,
    shard: null,
    matrixIds: ids,
    shardIds: ids,
    results,
    fingerprint: SYNTHETIC_FINGERPRINT,
    startedAt: "2026-01-01T00:00:00.000Z",
    endedAt: "2026-01-01T01:00:00.000Z",
    totals: failing
      ? { pass: 0, fail: n, unexpected: 0, error: 0 }
      : { pass: n, fail: 0, unexpected: 0, error: 0 },
    interrupted: false,
  };
}

/**
 * Build report.html of a synthetic run of `cases` and compare.html of two, and measure them.
 *
 * @example
 * ```ts
 * import { htmlScale } from "./html_scale.ts";
 * (await htmlScale(20)).capped; // false
 * ```
 */
export async function htmlScale(
  cases: number,
  options: { groups?: number } = {},
): Promise<HtmlScale> {
  const groups = options.groups ?? 20;
  const a = syntheticRun(cases, 1, false, groups), b = syntheticRun(cases, 2, false, groups);
  const bytes = (s: string) => new TextEncoder().encode(s).length;
  let t = performance.now();
  const run = await runReportHtml(a);
  const runS = (performance.now() - t) / 1000;
  const failing = await runReportHtml(syntheticRun(cases, 3, true, groups));
  t = performance.now();
  const base = await baselineFromReport(a, { backend: "vulkan" });
  const current = await baselineFromReport(b, { backend: "vulkan" });
  const page = await compareReportHtml(compareBaselines(base, current), { base, current });
  const compareS = (performance.now() - t) / 1000;
  return {
    cases,
    runBytes: bytes(run),
    runS,
    capped: run.includes('id="size-note"'),
    failingBytes: bytes(failing),
    failingCut: failing.includes('id="uncarded"'),
    compareBytes: bytes(page),
    compareCapped: page.includes('id="size-note"'),
    compareS,
  };
}

if (import.meta.main) {
  const usage = "usage: deno run -A tools/html_scale.ts [--groups N] [cases ...]   " +
    "(default: 1000 5000 cases in 20 matrix groups)";
  const args = [...Deno.args];
  const at = args.indexOf("--groups");
  const groups = at < 0 ? 20 : toolCounts([args[at + 1] ?? ""], ["--groups"], { usage })[0];
  if (at >= 0) args.splice(at, 2);
  const asked = toolCounts(args, args.map(() => "cases"), { usage });
  const sizes = asked.length ? asked : [1000, 5000];
  const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
  for (const n of sizes) {
    const r = await htmlScale(n, { groups });
    console.log(
      `${n} cases in ${Math.min(n, groups)} groups: report.html ${mib(r.runBytes)} in ${
        r.runS.toFixed(1)
      } s` +
        `${r.capped ? " (capped: passing rows dropped)" : ""}; every case failing: ` +
        `${mib(r.failingBytes)}${
          r.failingCut ? " (capped: failures past 200 without a card)" : ""
        }` +
        `; compare.html ` +
        `${mib(r.compareBytes)} in ${r.compareS.toFixed(1)} s` +
        `${r.compareCapped ? " (capped: rows left out)" : ""}`,
    );
  }
}
