/**
 * The judgement a compare adds to its speed verdicts from the load its two sides were timed
 * under (util/host_load.ts records it): a side timed above {@link LOAD_PER_CPU_LIMIT} may owe
 * its speed verdicts to the load.
 *
 * Why: the speed thresholds (thresholds.ts) were measured on a 2-core lavapipe host at load
 * ~4. On the same host at load 15-24, identical code moved x0.23-x15 with p < 0.01, so a
 * nightly on a loaded machine (CI runners share hosts) reported speed regressions of code
 * that had not changed. The load does not change a verdict (a real regression measured on a
 * busy host is still one); it says that the verdicts may be the load's.
 *
 * Measured (session 62, 2 CPUs, lavapipe, shared with other jobs): `run --matrix smoke
 * --filter preset=tiny --repeats 10` (75 cases) of one revision, a quiet run (load 0.4 → 1.6,
 * at most 0.8 a CPU) as the baseline, compared with runs of the same code whose host was busy
 * (other jobs, and busy-loop processes of the measurement's own):
 *
 * | current run's load (start → end) | a CPU, at most | false speed regressions | p < 0.01 | median ratios |
 * | --- | ---: | ---: | ---: | --- |
 * | 1.3 → 1.1 | 0.7 | 0 | 11 of 75 | x0.71 - x2.03 |
 * | 2.2 → 1.5 | 1.1 | 0 | 18 of 75 | x0.72 - x2.31 |
 * | 10.8 → 11.7 | 5.9 | 1 (x5.4) | 27 of 75 | x0.61 - x5.4 |
 * | 15.6 → 13.0 | 7.8 | 0 | 27 of 75 | x0.46 - x2.97 |
 * | 3.9 → 16.9 | 8.5 | 3 | 20 of 75 | x0.60 - x12.9 |
 * | 14.6 → 18.2 (+4 busy loops) | 9.1 | 8 | 22 of 75 | x0.43 - x7.8 |
 * | 18.4 → 15.3 (+2 busy loops) | 9.2 | 9 | 23 of 75 | x0.50 - x156 |
 *
 * (the two quiet runs against each other: 0, 12 of 75, x0.57 - x1.62). A run adds to the load it
 * is sampled under: the quiet run took its host from 0.4 to 1.6.
 * The limit, 2 a CPU, is the load the thresholds were measured at (thresholds.ts: load ~4 on
 * 2 CPUs, where a rerun's largest significant move, x2.6, stayed under `speedRatio` 3); the
 * runs here at 1.1 a CPU or less flagged none, with no ratio past x2.4, and those at 5.9 or
 * more had 20-27 of 75 cases significant at 1% and four of five flagged cases past x3.
 *
 * @module
 */
import type { HostLoad, LoadSample } from "../results/types.ts";

/**
 * Load per CPU (the 1-minute load average over the CPU count) above which a side's timings
 * are not to be trusted for a speed verdict. Measured on a 2-CPU lavapipe host: see the
 * module doc. A run's own work adds to the load it is sampled under (a quiet 2-CPU host
 * read 0.4 as a run started and 1.6 as it ended, 0.8 per CPU), so the limit sits above what
 * a run makes on its own.
 *
 * @example
 * ```ts
 * import { LOAD_PER_CPU_LIMIT } from "./speed_load.ts";
 * LOAD_PER_CPU_LIMIT; // 2
 * ```
 */
export const LOAD_PER_CPU_LIMIT = 2;

/**
 * The highest load per CPU of a side's samples (null when neither was taken).
 *
 * @example
 * ```ts
 * import { peakLoadPerCpu } from "./speed_load.ts";
 * const s = (load1: number) => ({ at: "", load1, load5: load1, cpus: 2 });
 * peakLoadPerCpu({ start: s(1), end: s(6) }); // 3
 * ```
 */
export function peakLoadPerCpu(load: HostLoad | undefined): number | null {
  const per = [load?.start, load?.end].flatMap((s) => s ? [s.load1 / s.cpus] : []);
  return per.length === 0 ? null : Math.max(...per);
}

/** How a compared side's load reads ({@link speedLoad}). */
export interface SideLoad {
  /** The side. */
  readonly side: "baseline" | "current";
  /** Its highest load per CPU at the start or end of its timed part (null: not recorded). */
  readonly perCpu: number | null;
  /** The 1-minute load average at that sample (null: not recorded). */
  readonly load1: number | null;
  /** Its CPU count (null: not recorded). */
  readonly cpus: number | null;
  /** Why nothing was recorded (a run without the permission, a report of an older harness). */
  readonly unrecorded?: string;
}

/**
 * A compare's judgement of the load its two sides were timed under (`speed.load` of a
 * compare report): `trusted` false when either side's load per CPU was above `limitPerCpu`
 * (its speed verdicts may be the load's: they are kept, and said to be so), true when both
 * were recorded and within it, null when a side's was not recorded.
 */
export interface SpeedLoad {
  /** The limit (load per CPU) the sides were held to ({@link LOAD_PER_CPU_LIMIT}). */
  readonly limitPerCpu: number;
  /** Whether the speed verdicts can be trusted as to load (null: a side did not record it). */
  readonly trusted: boolean | null;
  /** The sides above the limit. */
  readonly loaded: readonly ("baseline" | "current")[];
  /** Both sides' loads, the baseline first. */
  readonly sides: readonly SideLoad[];
}

function sideLoad(side: SideLoad["side"], load: HostLoad | undefined): SideLoad {
  const samples = [load?.start, load?.end].filter((s): s is LoadSample => !!s);
  if (samples.length === 0) {
    return {
      side,
      perCpu: null,
      load1: null,
      cpus: null,
      unrecorded: load?.unavailable ??
        "not recorded (a run of a harness before session 62)",
    };
  }
  const top = samples.reduce((a, b) => (b.load1 / b.cpus > a.load1 / a.cpus ? b : a));
  return { side, perCpu: top.load1 / top.cpus, load1: top.load1, cpus: top.cpus };
}

/**
 * Judge the load the two sides of a compare were timed under.
 *
 * @example
 * ```ts
 * import { speedLoad } from "./speed_load.ts";
 * const s = (load1: number) => ({ at: "", load1, load5: load1, cpus: 2 });
 * speedLoad({ start: s(0.5), end: s(1) }, { start: s(1), end: s(12) }).loaded; // ["current"]
 * ```
 */
export function speedLoad(
  base: HostLoad | undefined,
  current: HostLoad | undefined,
  options: { limitPerCpu?: number } = {},
): SpeedLoad {
  const limitPerCpu = options.limitPerCpu ?? LOAD_PER_CPU_LIMIT;
  const sides = [sideLoad("baseline", base), sideLoad("current", current)];
  const loaded = sides.filter((s) => s.perCpu !== null && s.perCpu > limitPerCpu).map((s) =>
    s.side
  );
  return {
    limitPerCpu,
    trusted: loaded.length > 0 ? false : sides.some((s) => s.perCpu === null) ? null : true,
    loaded,
    sides,
  };
}

const sideWords = { baseline: "the baseline's run", current: "the current run" } as const;

/**
 * The sentence that says a compare's speed verdicts were measured under too much load, or
 * null when neither side was: which side, its load on how many CPUs, and that its verdicts
 * stand but may be the load's.
 *
 * @example
 * ```ts
 * import { loadWarning, speedLoad } from "./speed_load.ts";
 * const s = (load1: number) => ({ at: "", load1, load5: load1, cpus: 2 });
 * loadWarning(speedLoad({ start: s(1), end: s(1) }, { start: s(9), end: s(12) }));
 * // "speed measured under load: the current run's host had load 12.0 on 2 CPUs (6.0 a CPU), above 2 a CPU: ..."
 * ```
 */
export function loadWarning(load: SpeedLoad | undefined): string | null {
  if (!load || load.loaded.length === 0) return null;
  const parts = load.sides.filter((s) => load.loaded.includes(s.side)).map((s) =>
    `${sideWords[s.side]}'s host had load ${s.load1!.toFixed(1)} on ${s.cpus} CPUs (${
      s.perCpu!.toFixed(1)
    } a CPU)`
  );
  return `speed measured under load: ${parts.join(" and ")}, above ${load.limitPerCpu} a CPU: ` +
    "timings on a host that busy move several-fold with no change of code, so a speed " +
    "verdict here may be the load's (the verdicts stand; rerun on a quiet host to confirm them)";
}

/**
 * The warning a bench's report carries when it was timed under load above
 * {@link LOAD_PER_CPU_LIMIT} (as a compare says of a side), or none.
 *
 * @example
 * ```ts
 * import { benchLoadWarnings } from "./speed_load.ts";
 * const s = (load1: number) => ({ at: "", load1, load5: load1, cpus: 2 });
 * benchLoadWarnings({ start: s(1), end: s(1.2) }); // []
 * benchLoadWarnings({ start: s(1), end: s(9) })[0];
 * // "timed under load: the host had load 9.0 on 2 CPUs (4.5 a CPU, above 2) ..."
 * ```
 */
export function benchLoadWarnings(
  load: HostLoad | undefined,
  options: { limitPerCpu?: number } = {},
): string[] {
  const limit = options.limitPerCpu ?? LOAD_PER_CPU_LIMIT;
  const s = sideLoad("current", load);
  if (s.perCpu === null || s.perCpu <= limit) return [];
  return [
    `timed under load: the host had load ${s.load1!.toFixed(1)} on ${s.cpus} CPUs (${
      s.perCpu.toFixed(1)
    } a CPU, above ${limit}) as the timing started or ended: on a busy host timings move ` +
    "several-fold with no change of code; bench again on a quiet host before trusting them",
  ];
}

/**
 * The warning `baseline update` gives when the run it writes a baseline of was timed under
 * load above {@link LOAD_PER_CPU_LIMIT}: the baseline is the reference of every compare to
 * come, each of which will say its speed verdicts may be the load's. Null otherwise.
 *
 * @example
 * ```ts
 * import { baselineLoadWarning } from "./speed_load.ts";
 * const s = (load1: number) => ({ at: "", load1, load5: load1, cpus: 2 });
 * baselineLoadWarning({ start: s(1), end: s(1) }); // null
 * baselineLoadWarning({ start: s(1), end: s(9) });
 * // "warning: the baseline's timings were taken under load: the host had load 9.0 on 2 CPUs ..."
 * ```
 */
export function baselineLoadWarning(
  load: HostLoad | undefined,
  options: { limitPerCpu?: number } = {},
): string | null {
  const limit = options.limitPerCpu ?? LOAD_PER_CPU_LIMIT;
  const s = sideLoad("baseline", load);
  if (s.perCpu === null || s.perCpu <= limit) return null;
  return `warning: the baseline's timings were taken under load: the host had load ${
    s.load1!.toFixed(1)
  } on ${s.cpus} CPUs (${s.perCpu.toFixed(1)} a CPU, above ${limit}), and timings on a host ` +
    "that busy move several-fold with no change of code: every compare against it will say " +
    "so of its speed verdicts; update it on a quiet host";
}
