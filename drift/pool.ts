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
import type { CaseResult, RunReport } from "../results/types.ts";
import { median } from "../util/stats.ts";

/**
 * Pool rounds of the same selection into one report: every field from the first round,
 * each case's timing samples concatenated over the rounds that timed it (median
 * recomputed), the end time of the last round. Cases missing from later rounds keep the
 * first round's samples.
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
    if (!r.timing) return r;
    const samplesMs = [...r.timing.samplesMs];
    for (const round of byId) {
      const other = round.get(r.id)?.timing;
      // Only samples of the same clock and the same scope (absent: "all") are pooled.
      const sameScope = (other?.scope ?? "all") === (r.timing.scope ?? "all");
      if (other && other.source === r.timing.source && sameScope) {
        samplesMs.push(...other.samplesMs);
      }
    }
    return { ...r, timing: { ...r.timing, samplesMs, medianMs: median(samplesMs) } };
  });
  return { ...first, results, endedAt: rounds[rounds.length - 1].endedAt };
}
