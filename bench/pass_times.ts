/**
 * Per-pass times of a benchmark case: each pass's time in one step (the sum of its dispatches
 * in a replay: a launcher may dispatch one pass several times, once per group of sequences or
 * per chunk of the grid), then the median over the replays.
 *
 * @module
 */
import type { Timing } from "../gpu/timing.ts";
import { summarize } from "./stats.ts";

/**
 * Per pass name, the median over the replays of the pass's time in a replay (all its
 * dispatches there), ms, in the order the passes first ran. A replay where a dispatch of the
 * pass has no time (wall clock, or timestamps that stood still or went backwards) gives no
 * sample; a pass with none is left out.
 *
 * @example
 * ```ts
 * import { passMedians } from "./pass_times.ts";
 * const t = (a: number, b: number) => ({ source: "timestamp-query" as const, totalMs: a + b,
 *   passes: [{ name: "expanded", ms: a }, { name: "expanded", ms: b }] });
 * passMedians([t(1, 1), t(1, 2), t(2, 2)]); // { expanded: 3 }
 * ```
 */
export function passMedians(timings: readonly Timing[]): Record<string, number> {
  const samples = new Map<string, number[]>();
  for (const t of timings) {
    const step = new Map<string, number | null>();
    for (const p of t.passes) {
      const sum = step.get(p.name);
      // a dispatch whose timestamps stood still or went backwards has no time either
      step.set(
        p.name,
        p.ms === null || p.clock !== undefined || sum === null ? null : (sum ?? 0) + p.ms,
      );
    }
    for (const [name, ms] of step) {
      const list = samples.get(name) ?? [];
      if (ms !== null) list.push(ms);
      samples.set(name, list);
    }
  }
  const out: Record<string, number> = {};
  for (const [name, xs] of samples) if (xs.length > 0) out[name] = summarize(xs).median;
  return out;
}
