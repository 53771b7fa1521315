/**
 * How `history` scales with a year of nightly runs: a history database of N runs x M cases
 * (each run appended through `HistoryStore.append`, as `run --history` appends one; the
 * cases' median times are ±5% noise with one +30% step at 60% of the runs), then the time
 * `series()` takes for every case and for a filter that selects a few of them (step
 * detection included), and the database's size. The database is a temp file, removed (also
 * when the run is stopped with Ctrl-C or SIGTERM: exit 130 or 143).
 *
 * Usage: `deno run -A tools/history_scale.ts [runs] [cases]` (default 365 500).
 *
 * @module
 */
import { HistoryStore } from "../drift/history.ts";
import { caseId } from "../matrix/case_id.ts";
import { CASE_DEFAULTS, type CaseParams } from "../matrix/types.ts";
import type { CaseResult, RunReport } from "../results/types.ts";
import { SYNTHETIC_FINGERPRINT } from "./synthetic_fingerprint.ts";
import { toolCounts } from "./tool_args.ts";
import {
  addStopListener,
  STOP_SIGNALS,
  stopExitCode,
  type StopSignal,
} from "../util/stop_signals.ts";

/** What {@link historyScale} measured. */
export interface HistoryScale {
  /** Runs stored. */
  readonly runs: number;
  /** Cases per run. */
  readonly cases: number;
  /** Seconds to append every run. */
  readonly appendS: number;
  /** Database size, bytes. */
  readonly bytes: number;
  /** Seconds for `series(null, "median_ms")`: every case, and their geometric mean. */
  readonly allS: number;
  /** Series it returned (the cases and `*`). */
  readonly series: number;
  /** Steps it flagged. */
  readonly steps: number;
  /** Seconds for `series("sk=20,21")`: a few cases. */
  readonly filteredS: number;
  /** Series that returned. */
  readonly filteredSeries: number;
}

/**
 * Build a synthetic history of `runs` x `cases` in a temp folder and time its reads.
 *
 * @example
 * ```ts
 * import { historyScale } from "./history_scale.ts";
 * (await historyScale({ runs: 8, cases: 3 })).series; // 4
 * ```
 */
export async function historyScale(
  options: { runs?: number; cases?: number; signal?: AbortSignal } = {},
): Promise<HistoryScale> {
  const runs = options.runs ?? 365, cases = options.cases ?? 500;
  let s = 7;
  const uniform = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const params: CaseParams[] = Array.from({ length: cases }, (_, i) => ({
    ...CASE_DEFAULTS,
    b: 1 + (i % 4),
    sk: 16 + Math.floor(i / 4),
  }));
  const dir = await Deno.makeTempDir({ prefix: "history_scale_" });
  const path = `${dir}/history.sqlite`;
  const store = await HistoryStore.open(path);
  try {
    let t = performance.now();
    for (let night = 0; night < runs; night++) {
      // stopped (Ctrl-C): the finally below still removes the database
      options.signal?.throwIfAborted();
      const level = night >= runs * 0.6 ? 1.3 : 1;
      const results: CaseResult[] = params.map((p) => {
        const samplesMs = [0, 1, 2].map(() => level * (0.95 + 0.1 * uniform()));
        return {
          id: caseId(p),
          status: "pass",
          decision: "supported",
          expect: { support: "supported" },
          params: p,
          message: "ok",
          backend: "wgsl-absorbed",
          timing: { source: "timestamp-query", samplesMs, medianMs: [...samplesMs].sort()[1] },
          wallMs: 100,
        };
      });
      const startedAt = new Date(Date.UTC(2026, 0, 1) + night * 86_400_000).toISOString();
      const ids = results.map((r) => r.id);
      const report: RunReport = {
        version: 1,
        matrix: "nightly",
        filter: null,
        shard: null,
        matrixIds: ids,
        shardIds: ids,
        results,
        fingerprint: SYNTHETIC_FINGERPRINT,
        startedAt,
        endedAt: startedAt.replace("T00:", "T01:"),
        totals: { pass: results.length, fail: 0, unexpected: 0, error: 0 },
        interrupted: false,
      };
      await store.append(report, { backend: "vulkan" });
    }
    const appendS = (performance.now() - t) / 1000;
    t = performance.now();
    const all = store.series(null, "median_ms");
    const allS = (performance.now() - t) / 1000;
    t = performance.now();
    const filtered = store.series("sk=20,21", "median_ms");
    const filteredS = (performance.now() - t) / 1000;
    return {
      runs,
      cases,
      appendS,
      bytes: (await Deno.stat(path)).size,
      allS,
      series: all.length,
      steps: all.reduce((n, x) => n + x.steps.length, 0),
      filteredS,
      filteredSeries: filtered.length,
    };
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const [runs, cases] = toolCounts(
    Deno.args,
    ["runs", "cases"],
    {
      usage: "usage: deno run -A tools/history_scale.ts [runs] [cases]   (default: 365 nightly " +
        "runs of 500 cases)",
    },
  );
  // Ctrl-C or SIGTERM: the temp database (113 MiB at the default size) is removed, not left in
  // the temp folder as it was
  // (SIGHUP too: a closed terminal; util/stop_signals.ts's list and exit codes)
  const stop = new AbortController();
  for (const sig of STOP_SIGNALS) addStopListener(sig, () => stop.abort(sig));
  const stopped = () => {
    console.error(`history_scale: stopped by ${stop.signal.reason}; its temp database was removed`);
    Deno.exit(stopExitCode(stop.signal.reason as StopSignal));
  };
  let r: HistoryScale;
  try {
    r = await historyScale({ runs, cases, signal: stop.signal });
  } catch (e) {
    if (stop.signal.aborted) stopped();
    throw e;
  }
  if (stop.signal.aborted) stopped();
  console.log(
    `${r.runs} runs x ${r.cases} cases: appended in ${r.appendS.toFixed(1)} s, ` +
      `${(r.bytes / 1048576).toFixed(0)} MiB; series of every case ${r.allS.toFixed(1)} s ` +
      `(${r.series} series, ${r.steps} steps); filter sk=20,21 ${r.filteredS.toFixed(2)} s ` +
      `(${r.filteredSeries} series)`,
  );
  Deno.exit(0); // the signal listeners would keep the process waiting
}
