/**
 * Data types of the drift layer: a {@link Baseline} (one stored run, reduced to what
 * drift detection needs), the {@link Thresholds} that classify differences, and the
 * {@link CompareReport} that `compare`, `run --baseline` and `upgrade-check` print.
 *
 * @module
 */
import type { TimingScope } from "../adapter/timing_scope.ts";
import type { Reason } from "../adapter/types.ts";
import type { CaseParams } from "../matrix/types.ts";
import type { FingerprintChange } from "../report/fingerprint_diff.ts";
import type { CaseStatus, Fingerprint, HostLoad } from "../results/types.ts";
import type { SpeedLoad } from "./speed_load.ts";

/** The error metrics of one case (null: not measured, e.g. an unsupported case). */
export interface CaseMetrics {
  /** Output: max absolute error. */
  readonly outMaxAbs: number | null;
  /** Output: max relative error. */
  readonly outMaxRel: number | null;
  /** Output: cosine difference. */
  readonly outCosDiff: number | null;
  /** Output: normwise relative error. */
  readonly outNormRel: number | null;
  /** LSE: max absolute error. */
  readonly lseMaxAbs: number | null;
  /** LSE: max relative error. */
  readonly lseMaxRel: number | null;
}

/**
 * The names of {@link CaseMetrics}, in report order.
 *
 * @example
 * ```ts
 * import { METRIC_NAMES } from "./types.ts";
 * METRIC_NAMES[0]; // "outMaxAbs"
 * ```
 */
export const METRIC_NAMES = [
  "outMaxAbs",
  "outMaxRel",
  "outCosDiff",
  "outNormRel",
  "lseMaxAbs",
  "lseMaxRel",
] as const;

/** One of {@link METRIC_NAMES}. */
export type MetricName = typeof METRIC_NAMES[number];

/** Timing samples of one case as a baseline keeps them. */
export interface BaselineTiming {
  /** timestamp-query or wall-clock (samples of different sources are never compared). */
  readonly source: string;
  /**
   * What each sample covers (results/types.ts TimingRecord): "all" passes (also when
   * absent, as in baselines made before it was recorded) or the attention "core".
   */
  readonly scope?: TimingScope;
  /**
   * Untimed replays before the samples, ms (`run --warmup-ms`; absent: none). A GPU's clocks
   * differ with and without one, so samples of different warm-ups are not compared.
   */
  readonly warmupMs?: number;
  /**
   * The timing rules the samples were taken under (adapter/timing_scope.ts `TIMING_RULES`;
   * absent: before they were recorded). Samples of different rules are not compared.
   */
  readonly rules?: number;
  /** Every timed repetition, milliseconds. */
  readonly samplesMs: readonly number[];
  /** Median of the samples. */
  readonly medianMs: number;
  /** Spread: interquartile range of the samples, milliseconds. */
  readonly spreadMs: number;
  /** Number of samples. */
  readonly count: number;
}

/** One case of a baseline. */
export interface BaselineCase {
  /** Stable case id. */
  readonly id: string;
  /** Case parameters (history and filters select by them). */
  readonly params: CaseParams | null;
  /** Outcome of the case. */
  readonly status: CaseStatus;
  /** The support decision. */
  readonly decision: "supported" | "unsupported" | "invalid" | "not-reached";
  /** Backend that ran (supported cases), else null. */
  readonly backend: string | null;
  /** Digest of the plan (supported cases), else null. */
  readonly planDigest: string | null;
  /** Reasons of an unsupported decision (codes and messages), else null. */
  readonly reasons: readonly Reason[] | null;
  /** Whether output and LSE parity passed (null when not compared). */
  readonly parity: { readonly out: boolean; readonly lse: boolean } | null;
  /** Error metrics. */
  readonly metrics: CaseMetrics | null;
  /** The tolerance the case was checked against, as the runner recorded it. */
  readonly tolerance: unknown;
  /** Digest of the output bits (bit-exact drift is information, not failure). */
  readonly outputDigest: string | null;
  /** Timing samples (null without timed repetitions). */
  readonly timing: BaselineTiming | null;
  /** Kernel source files the case's backend runs (see `kernel_files.ts`). */
  readonly kernelFiles: readonly string[];
  /** Digest of those files' hashes (null for a case that ran no kernel). */
  readonly kernelHash: string | null;
  /** One-line message of the run (parity summary, reasons, error). */
  readonly message: string;
  /** The matrix's input seed (CaseResult.seed); absent in older baselines. */
  readonly seed?: number;
}

/** `baselines/<device-key>.json`: a run reduced to what drift detection compares. */
export interface Baseline {
  /** Marks the file as a baseline. */
  readonly format: "mla-harness-baseline";
  /** Format version. */
  readonly version: 1;
  /** Device key (see `device_key.ts`). */
  readonly deviceKey: string;
  /** WebGPU backend the run asked for (DENO_WEBGPU_BACKEND, or "default"). */
  readonly backend: string;
  /** When the run started (ISO). */
  readonly createdAt: string;
  /** Matrix name or path. */
  readonly matrix: string;
  /** Filter of the run (or null). */
  readonly filter: string | null;
  /** Shard of the run (or null). */
  readonly shard: string | null;
  /** Every case id the run selected (its scope; cases outside it are not "removed"). */
  readonly scope: readonly string[];
  /** Whether the run was interrupted. */
  readonly interrupted: boolean;
  /** The full environment fingerprint. */
  readonly fingerprint: Fingerprint;
  /** One entry per case that ran. */
  readonly cases: readonly BaselineCase[];
  /**
   * The planted fault the run ran with (`run --plant-fault`; the report's `plantedFault`):
   * its differences are the fault's, not drift. Absent for a run without one (and in every
   * baseline file: `baseline update` refuses such a run).
   */
  readonly plantedFault?: string;
  /**
   * The backend every case ran on (`run --backend`, `baseline update --backend`; the report's
   * `backend`): a compare names a change of it. Absent when each case ran on the backend the
   * adapter chose (and in baselines written before it was recorded).
   */
  readonly backendOverride?: string;
  /**
   * The user backend modules the run loaded (`--backend-module`, as given; the report's
   * `backendModules`): a compare names a change of them. Absent when none was loaded.
   */
  readonly backendModules?: readonly string[];
  /**
   * Where each of {@link Baseline.backendModules} is (the report's `backendModulePaths`):
   * a compare tells two spellings of one module from two modules by them. Absent in
   * baselines written before it was recorded.
   */
  readonly backendModulePaths?: readonly string[];
  /**
   * The most reference rows a case's parity was checked on (`run --max-rows`; the report's
   * `maxRows`): a case of more query rows is checked on a sample of that many, so a compare
   * names a change of it. Absent in baselines written before it was recorded.
   */
  readonly maxRows?: number;
  /**
   * The host's load as the run timed its cases (the report's `hostLoad`): a compare says when
   * a side's speed verdicts were measured under load that makes them untrustworthy
   * (speed_load.ts). Absent in baselines written before it was recorded.
   */
  readonly hostLoad?: HostLoad;
}

/** How each difference is judged. Every field is documented with its default in thresholds.ts. */
export interface Thresholds {
  /** An error metric drifts when it grew by more than this factor ... */
  readonly metricFactor: number;
  /** ... and exceeds this fraction of the case's tolerance for that metric ... */
  readonly floorFraction: number;
  /** ... (or these absolute floors when the case recorded no tolerance). */
  readonly absoluteFloors: Readonly<Record<MetricName, number>>;
  /** Significance level of the two-sided Mann-Whitney U test on timing samples. */
  readonly alpha: number;
  /** Median ratio beyond which a significant difference is a regression (1/x: improvement). */
  readonly speedRatio: number;
  /** Fewest samples per side for a speed verdict. */
  readonly minSamples: number;
  /**
   * Load per CPU (the 1-minute load average over the CPUs) above which a side's timings are
   * said to be taken under load (speed_load.ts; default 2). Absent in the thresholds of
   * reports written before it existed: the default.
   */
  readonly loadPerCpu?: number;
}

/** The class of a case in a comparison. */
export type DriftClass =
  | "unchanged"
  | "bits-changed"
  | "numeric-drift"
  | "support-drift"
  | "speed-regression"
  | "speed-improvement"
  | "new"
  | "removed";

/**
 * Every class, in severity order (the first that applies names a case).
 *
 * @example
 * ```ts
 * import { DRIFT_CLASSES } from "./types.ts";
 * DRIFT_CLASSES[0]; // "support-drift"
 * ```
 */
export const DRIFT_CLASSES: readonly DriftClass[] = [
  "support-drift",
  "numeric-drift",
  "speed-regression",
  "removed",
  "new",
  "speed-improvement",
  "bits-changed",
  "unchanged",
];

/** The speed verdict of one case. */
export interface SpeedVerdict {
  /** regression / improvement (significant and beyond the ratio), or why not. */
  readonly verdict: "regression" | "improvement" | "not-significant" | "not-comparable";
  /** Current median / baseline median (> 1: slower), or null. */
  readonly ratio: number | null;
  /** Two-sided Mann-Whitney U p-value, or null. */
  readonly p: number | null;
  /** Baseline median (ms). */
  readonly baseMedianMs: number | null;
  /** Current median (ms). */
  readonly currentMedianMs: number | null;
  /** Samples on each side. */
  readonly counts: readonly [number, number];
  /** Why the samples were not compared (not-comparable), if so. */
  readonly note?: string;
  /**
   * True when both sides were timed but too few samples for the significance test
   * (thresholds' `minSamples`): a slowdown of any size reads not-significant.
   */
  readonly tooFewSamples?: boolean;
}

/** A metric that grew beyond the thresholds. */
export interface MetricDrift {
  /** Which metric. */
  readonly metric: MetricName;
  /** Baseline value. */
  readonly from: number | null;
  /** Current value. */
  readonly to: number | null;
  /** The floor it had to exceed. */
  readonly floor: number;
}

/** The comparison of one case. */
export interface CaseComparison {
  /** Stable case id. */
  readonly id: string;
  /** The most severe class that applies. */
  readonly class: DriftClass;
  /** Every class that applies (e.g. bits-changed and speed-regression). */
  readonly classes: readonly DriftClass[];
  /** Human-readable findings, one per line. */
  readonly details: readonly string[];
  /** Metrics that drifted. */
  readonly metrics: readonly MetricDrift[];
  /** Speed verdict (null: no timing on one side). */
  readonly speed: SpeedVerdict | null;
  /** Whether the output bits differ. */
  readonly bitsChanged: boolean;
  /** What in the environment may explain it (empty for unchanged cases). */
  readonly attributedTo: readonly string[];
  /**
   * The recorded tolerance's figures that moved between the sides ("out.atol": 0.0038 →
   * 0.00095), as a harness upgrade tightens or loosens a case's bar; the class is unaffected.
   * Absent when the tolerance is the same (or a side recorded none).
   */
  readonly toleranceChanges?: readonly ToleranceChange[];
}

/** One figure of a case's recorded tolerance that moved between the two sides. */
export interface ToleranceChange {
  /** The figure's path in the tolerance record, e.g. "out.atol". */
  readonly key: string;
  /** The baseline's value (null: the baseline recorded none). */
  readonly from: number | null;
  /** The current run's value (null: the current run recorded none). */
  readonly to: number | null;
}

/** Environment changes grouped by what they mean. */
export interface Attribution {
  /** Every changed fingerprint field. */
  readonly changes: readonly FingerprintChange[];
  /**
   * One line per group that changed: Deno, adapter or driver, kernel source, harness, host (in a
   * compare report also an `Inputs:` line when cases ran with another matrix seed).
   */
  readonly summary: readonly string[];
  /** The same lines by group (absent: that group did not change). */
  readonly groups: Readonly<Partial<Record<ChangeGroup, string>>>;
}

/** What a fingerprint change is about. */
export type ChangeGroup = "deno" | "adapter" | "tuning" | "kernel" | "harness" | "host";

/** Which side of a comparison: a few identifying fields. */
export interface CompareSide {
  /** Device key (under this harness's rules, from the side's fingerprint). */
  readonly deviceKey: string;
  /**
   * The key the side's file records where it is another (an older harness's key rules: before
   * d25df28 lavapipe's was `llvmpipe-65541-fallback-vulkan`); absent when the same.
   */
  readonly recordedKey?: string;
  /** When the run started. */
  readonly createdAt: string;
  /** Matrix. */
  readonly matrix: string;
  /** Filter. */
  readonly filter: string | null;
  /** The run's shard ("1/2"); absent for a run of the whole selection. */
  readonly shard?: string;
  /** Deno version. */
  readonly deno: string;
  /**
   * The browser whose WebGPU ran the kernels (`run --runtime chromium`), e.g. "chromium
   * HeadlessChrome/156.0.8078.114"; absent for Deno's own WebGPU.
   */
  readonly browser?: string;
  /** Harness revision. */
  readonly harnessRevision: string | null;
  /** Cases. */
  readonly cases: number;
  /**
   * Cases this side's run selected but has no result for (a run stopped early, or a merge
   * missing shards); absent when none.
   */
  readonly missing?: number;
  /** True when this side's run was interrupted; absent otherwise. */
  readonly interrupted?: true;
  /**
   * The planted fault this side ran with (`run --plant-fault`), with its description (null
   * when this harness does not know the id); absent for a side without one.
   */
  readonly plantedFault?: PlantedFaultInfo;
  /** The host's load as this side timed its cases; absent when not recorded. */
  readonly hostLoad?: HostLoad;
}

/** A planted fault a compared side ran with. */
export interface PlantedFaultInfo {
  /** The fault's id (parity/faults.ts). */
  readonly id: string;
  /** What the fault does, or null for an id this harness does not know. */
  readonly description: string | null;
}

/** The result of comparing a run with a baseline. */
export interface CompareReport {
  /** Marks the JSON. */
  readonly format: "mla-harness-compare";
  /** Format version. */
  readonly version: 1;
  /** The baseline side. */
  readonly baseline: CompareSide;
  /** The current side. */
  readonly current: CompareSide;
  /** Thresholds used. */
  readonly thresholds: Thresholds;
  /** Classes that count as regressions (exit 1). */
  readonly failOn: readonly DriftClass[];
  /**
   * Present when the two sides are of different device keys (a compare of two devices): the
   * classes of the default --fail-on that were not counted as regressions because they differ
   * by device (support: the adapter's choice of backend and plan per device; speed), empty when
   * --fail-on was given and counts what it names.
   */
  readonly acrossDevices?: { readonly uncounted: readonly DriftClass[] };
  /** What changed in the environment. */
  readonly environment: Attribution;
  /** Counts per class (by each case's most severe class). */
  readonly counts: Readonly<Record<DriftClass, number>>;
  /**
   * Cases per class by every class a case has (`classes`): a case with support drift that also
   * crossed its tolerance counts under both. What `--fail-on` gates on: `regressions` counts
   * the cases with any of its classes.
   */
  readonly classCounts: Readonly<Record<DriftClass, number>>;
  /** Baseline cases outside the current run's scope (filter or shard), not compared. */
  readonly outOfScope: number;
  /**
   * Current cases the baseline's run would not select from the same matrix (outside its
   * filter or shard: a baseline made from one shard's report): counted as new, but no case
   * added to the matrix, and not compared. Absent when none (and in reports of an older
   * harness).
   */
  readonly newOutOfScope?: number;
  /** Speed summary. */
  readonly speed: {
    /** Geometric mean of current/baseline median ratios over comparable cases (null: none). */
    readonly geomeanRatio: number | null;
    /** Cases with comparable timings. */
    readonly compared: number;
    /** Significant regressions / improvements (whatever their primary class). */
    readonly regressions: number;
    /** Significant improvements. */
    readonly improvements: number;
    /**
     * Timed cases whose speed could not be tested: too few samples on a side (e.g. `run
     * --repeats 3` against the minimum of 5), so no slowdown can be flagged there.
     */
    readonly untested: number;
    /** The fewest samples a side of those cases had (null when none is untested). */
    readonly fewestSamples: number | null;
    /**
     * Which sides had too few samples in those cases (the baseline's run, the current run, or
     * both); absent when none is untested, and in reports of an older harness.
     */
    readonly shortSides?: readonly ("baseline" | "current")[];
    /**
     * Timed cases whose samples were not compared, by why (the speed verdict's note: another
     * timing source, scope, warm-up or timing rules, as against a baseline of an older
     * harness), most cases first. Absent in reports written before it existed.
     */
    readonly notComparable?: readonly { readonly note: string; readonly cases: number }[];
    /**
     * The load the two sides were timed under, judged against a limit per CPU: `trusted`
     * false when a side's host was busier than it (its speed verdicts stand, and may be the
     * load's), null when a side did not record it. Absent in reports of an older harness.
     */
    readonly load?: SpeedLoad;
  };
  /** Cases whose most severe class is in failOn. */
  readonly regressions: number;
  /**
   * Set when either side ran with a planted fault (`run --plant-fault`): the sentence that
   * compare.md and compare.html say first, that side X ran with planted fault <id>
   * (<description>) so its differences are the fault's, not drift. Absent otherwise.
   */
  readonly plantedFault?: string;
  /** One entry per case (baseline and current), regressions first. */
  readonly cases: readonly CaseComparison[];
}
