/**
 * The absorbed / dense crossover of a benchmark: for every sweep (the cases that differ
 * only in path and s_k) where both paths ran, the times side by side per s_k and the
 * s_k from which the absorbed path is the faster one. `bench` prints it, and writes it to
 * report.json (`crossovers`), summary.md and report.html.
 *
 * @module
 */
import type { BenchCase } from "./cases.ts";
import { benchFigure } from "./figure.ts";
import type { BenchRecord } from "./run_bench.ts";

/** One s_k of a sweep where both paths ran. */
export interface CrossoverRow {
  /** Keys per sequence. */
  readonly sk: number;
  /** Median attention-core time of the absorbed path, ms. */
  readonly absorbedMs: number;
  /** Median attention-core time of the dense (expanded) path, ms. */
  readonly denseMs: number;
  /** denseMs / absorbedMs: above 1, the absorbed path is faster. */
  readonly denseOverAbsorbed: number;
  /** The absorbed path's fastest timed repetition, ms (its median where none is recorded). */
  readonly absorbedMinMs: number;
  /** The dense path's fastest timed repetition, ms (its median where none is recorded). */
  readonly denseMinMs: number;
  /** denseMinMs / absorbedMinMs. */
  readonly denseOverAbsorbedFastest: number;
}

/**
 * Which path is faster over a sweep's s_k values.
 * - `absorbed`: at every s_k measured; `dense`: at every s_k measured;
 * - `crosses`: dense below some s_k, absorbed from it on (one switch);
 * - `mixed`: more than one switch (neighbouring times within the host's noise, as a rule).
 */
export type CrossoverKind = "absorbed" | "dense" | "crosses" | "mixed";

/** Which path is faster where, judged on one pair of times per s_k. */
export interface CrossoverJudgement {
  /** Which path is faster where. */
  readonly kind: CrossoverKind;
  /** `crosses`: the smallest s_k from which the absorbed path is faster at every s_k. */
  readonly absorbedFromSk?: number;
  /** `crosses`: the largest s_k measured below it (dense faster there). */
  readonly denseUpToSk?: number;
  /**
   * `crosses`: where the ratio reaches 1, interpolated linearly in log(ratio) against
   * log(s_k) between those two points (an estimate between two measurements).
   */
  readonly estimatedSk?: number;
  /** One sentence: which path is faster where. */
  readonly verdict: string;
}

/**
 * The crossover of one sweep: judged on the medians (as the tables), and on each path's
 * fastest repetition. On a shared host a median can land on either side of a bimodal
 * spread (lavapipe sometimes runs a dispatch's workgroups on fewer threads: repetitions
 * exactly 2x slower), which flips the median verdict between runs; the fastest
 * repetitions say what each path does when it has the machine.
 */
export interface Crossover extends CrossoverJudgement {
  /** The sweep: every case field but path and s_k. */
  readonly sweep: string;
  /** The s_k values where both paths ran, ascending. */
  readonly rows: readonly CrossoverRow[];
  /** The same judgement on the fastest repetitions. */
  readonly fastest: CrossoverJudgement;
}

/**
 * The sweep a case belongs to: every field but path and s_k (causal and page only
 * when they differ from a bench matrix's usual causal, contiguous cache).
 *
 * @example
 * ```ts
 * import { sweepOf } from "./crossover.ts";
 * sweepOf({ preset: "deepseek-v3", heads: 128, path: "absorbed", dtype: "f32", b: 1, sq: 1,
 *   sk: 256, causal: true, page: 0 }); // "deepseek-v3 h=128 f32 b=1 sq=1"
 * ```
 */
export function sweepOf(c: BenchCase): string {
  return `${c.preset} h=${c.heads} ${c.dtype} b=${c.b} sq=${c.sq}` +
    (c.page ? ` page=${c.page}` : "") + (c.causal ? "" : " non-causal");
}

/**
 * The crossover of every sweep in which both paths ran at one s_k or more (in the
 * order the sweeps first appear). Records that did not run are left out.
 *
 * @example
 * ```ts
 * import { crossovers } from "./crossover.ts";
 * crossovers([]); // []
 * ```
 */
export function crossovers(records: readonly BenchRecord[]): Crossover[] {
  type Times = { ms: number; min: number };
  const sweeps = new Map<string, Map<number, { absorbed?: Times; dense?: Times }>>();
  for (const r of records) {
    if (r.status !== "ok" || r.ms === undefined) continue;
    const sweep = sweepOf(r.case);
    const bySk = sweeps.get(sweep) ?? new Map();
    const at = bySk.get(r.case.sk) ?? {};
    const times = { ms: r.ms, min: r.ms_min ?? r.ms };
    if (r.case.path === "absorbed") at.absorbed = times;
    else at.dense = times;
    bySk.set(r.case.sk, at);
    sweeps.set(sweep, bySk);
  }
  const out: Crossover[] = [];
  for (const [sweep, bySk] of sweeps) {
    const rows: CrossoverRow[] = [...bySk.entries()]
      .filter(([, t]) => t.absorbed !== undefined && t.dense !== undefined)
      .sort(([a], [b]) => a - b)
      .map(([sk, t]) => ({
        sk,
        absorbedMs: t.absorbed!.ms,
        denseMs: t.dense!.ms,
        denseOverAbsorbed: t.dense!.ms / t.absorbed!.ms,
        absorbedMinMs: t.absorbed!.min,
        denseMinMs: t.dense!.min,
        denseOverAbsorbedFastest: t.dense!.min / t.absorbed!.min,
      }));
    if (!rows.length) continue;
    const sks = rows.map((r) => r.sk);
    out.push({
      sweep,
      rows,
      ...judge(sks, rows.map((r) => r.denseOverAbsorbed)),
      fastest: judge(sks, rows.map((r) => r.denseOverAbsorbedFastest)),
    });
  }
  return out;
}

/** Which path is faster where, from dense / absorbed ratios per s_k (ascending). */
function judge(sks: number[], ratios: number[]): CrossoverJudgement {
  // Absorbed is faster only when strictly faster; a tie counts for dense.
  const faster = ratios.map((r) => r > 1);
  const list = (keep: (i: number) => boolean) => sks.filter((_, i) => keep(i)).join(", ");
  if (faster.every((x) => x)) {
    return {
      kind: "absorbed",
      verdict: `absorbed faster at every s_k measured (${list(() => true)})`,
    };
  }
  if (faster.every((x) => !x)) {
    return { kind: "dense", verdict: `dense faster at every s_k measured (${list(() => true)})` };
  }
  const switches = faster.slice(1).filter((x, i) => x !== faster[i]).length;
  if (switches === 1 && !faster[0]) {
    const hi = faster.indexOf(true);
    const lo = hi - 1;
    const t = -Math.log(ratios[lo]) / (Math.log(ratios[hi]) - Math.log(ratios[lo]));
    const estimatedSk = Math.round(
      Math.exp(Math.log(sks[lo]) + t * (Math.log(sks[hi]) - Math.log(sks[lo]))),
    );
    return {
      kind: "crosses",
      absorbedFromSk: sks[hi],
      denseUpToSk: sks[lo],
      estimatedSk,
      verdict: `dense faster up to s_k ${sks[lo]}, absorbed from s_k ${sks[hi]} on ` +
        `(the times meet near s_k ${estimatedSk}, interpolated)`,
    };
  }
  return {
    kind: "mixed",
    verdict: `no single crossover: absorbed faster at s_k ${list((i) => faster[i])}, dense at ${
      list((i) => !faster[i])
    } (neighbouring times within noise?)`,
  };
}

/**
 * The crossovers as terminal lines, one per sweep (nothing when there are none).
 *
 * @example
 * ```ts
 * import { crossoverLines } from "./crossover.ts";
 * crossoverLines([]); // []
 * ```
 */
export function crossoverLines(list: readonly Crossover[]): string[] {
  if (!list.length) return [];
  const ratios = (c: Crossover, fastest: boolean) =>
    c.rows.map((r) =>
      `${r.sk}: ${(fastest ? r.denseOverAbsorbedFastest : r.denseOverAbsorbed).toFixed(2)}x`
    ).join(", ");
  return [
    "absorbed / dense crossover (attention-core medians, then fastest repetitions):",
    ...list.flatMap((c) => [
      `  ${c.sweep}: ${c.verdict}; dense / absorbed ${ratios(c, false)}`,
      `    fastest repetitions: ${c.fastest.verdict}; ${ratios(c, true)}`,
    ]),
  ];
}

/**
 * The crossovers as a Markdown section: one row per sweep and s_k, then each verdict.
 *
 * @example
 * ```ts
 * import { crossoverMarkdown } from "./crossover.ts";
 * crossoverMarkdown([]); // []
 * ```
 */
export function crossoverMarkdown(list: readonly Crossover[]): string[] {
  if (!list.length) return [];
  // ms as the bench table writes them: a GPU's tiny case (0.004 ms) read "0.00" here
  const f = (x: number) => benchFigure(x);
  return [
    "### Absorbed / dense crossover",
    "",
    "Attention-core medians of the sweeps where both paths ran, then each path's fastest " +
    "repetition; above 1, the absorbed path is faster.",
    "",
    "| sweep | s_k | absorbed ms | dense ms | dense / absorbed | fastest absorbed ms | fastest dense ms | fastest dense / absorbed |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...list.flatMap((c) =>
      c.rows.map((r) =>
        `| ${c.sweep} | ${r.sk} | ${f(r.absorbedMs)} | ${f(r.denseMs)} | ${
          f(r.denseOverAbsorbed)
        } | ${f(r.absorbedMinMs)} | ${f(r.denseMinMs)} | ${f(r.denseOverAbsorbedFastest)} |`
      )
    ),
    "",
    ...list.map((c) =>
      `- ${c.sweep}: ${c.verdict} (medians); ${c.fastest.verdict} (fastest repetitions).`
    ),
  ];
}
