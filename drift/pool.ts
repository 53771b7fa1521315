/**
 * Pooling rounds: the same selection run several times, the timing samples of each case
 * concatenated. On a shared or loaded machine the speed of a whole run drifts with the
 * machine's state (seconds-long bursts of contention shift every sample of a case
 * together), so samples from one run are not independent of the moment it ran.
 * Alternating rounds of the two sides of a comparison (A1 B1 A2 B2 ...) and pooling each
 * side's rounds spreads both over the same states; `upgrade-check --rounds` and
 * `baseline update --rounds` do that.
 *
 * @module
 */
import { computeTotals } from "../report/totals.ts";
import type { CaseResult, CaseStatus, RunReport } from "../results/types.ts";
import { median } from "../util/stats.ts";
import { busiestLoad } from "../util/host_load.ts";

/** How bad a status is: a pooled case stands as its worst round. */
const STATUS_RANK: Readonly<Record<CaseStatus, number>> = {
  pass: 0,
  unexpected: 1,
  fail: 2,
  error: 3,
};

/**
 * Pool rounds of the same selection into one report: each case stands as its worst round (a
 * case that failed or errored in any round fails or errors pooled, with that round's record;
 * before, round 1's verdict stood and a later round's failure was dropped), its timing samples
 * concatenated over the rounds that timed it (median recomputed); the run is interrupted when
 * any round was; totals are recounted; the end time is the last round's; every other field is
 * the first round's. Cases missing from later rounds keep the first round's record.
 *
 * @example
 * ```ts ignore
 * import { poolRounds } from "./pool.ts";
 * const pooled = poolRounds([round1, round2, round3]);
 * pooled.results[0].timing?.samplesMs.length; // 3 x --repeats
 * ```
 */
export function poolRounds(rounds: readonly RunReport[]): RunReport {
  if (rounds.length === 0) throw new RangeError("poolRounds needs at least one round");
  if (rounds.length === 1) return rounds[0];
  const [first, ...rest] = rounds;
  // Each later round's results by id (the first of an id, as a search from the start finds
  // it): looked up per case, where a search of the round per case was quadratic.
  const byId = rest.map((round) => {
    const m = new Map<string, CaseResult>();
    for (const x of round.results) if (!m.has(x.id)) m.set(x.id, x);
    return m;
  });
  const results: CaseResult[] = first.results.map((r) => {
    const later = byId.map((round) => round.get(r.id)).filter((x) => x !== undefined);
    // The worst round's record (the earliest of equally bad ones).
    const worst = later.reduce(
      (w, x) => STATUS_RANK[x.status] > STATUS_RANK[w.status] ? x : w,
      r,
    );
    if (!worst.timing) return worst;
    const samplesMs: number[] = [];
    for (const x of [r, ...later]) {
      const t = x.timing;
      // Only samples of the same clock and the same scope (absent: "all") are pooled.
      const sameScope = (t?.scope ?? "all") === (worst.timing.scope ?? "all");
      if (t && t.source === worst.timing.source && sameScope) samplesMs.push(...t.samplesMs);
    }
    return { ...worst, timing: { ...worst.timing, samplesMs, medianMs: median(samplesMs) } };
  });
  return {
    ...first,
    results,
    totals: computeTotals(results),
    interrupted: rounds.some((x) => x.interrupted),
    endedAt: rounds[rounds.length - 1].endedAt,
    // the busiest round's load (the first round's alone hid a later round timed under load)
    ...(busiestLoad(rounds.map((r) => r.hostLoad)) === undefined
      ? {}
      : { hostLoad: busiestLoad(rounds.map((r) => r.hostLoad)) }),
  };
}
