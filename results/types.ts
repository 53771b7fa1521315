/**
 * Result types of a run: one {@link CaseResult} per case (a line of
 * results.jsonl), the environment {@link Fingerprint}, and the {@link RunReport}
 * (report.json).
 *
 * @module
 */
import type { TimingScope } from "../adapter/timing_scope.ts";
import type { Reason } from "../adapter/types.ts";
import type { CaseExpect, CaseParams } from "../matrix/types.ts";

/**
 * Outcome of one case:
 * - `pass`: supported as expected and parity passed (or an expected unsupported/invalid
 *   decision: then `decision` says which and the reasons are kept);
 * - `fail`: parity failed;
 * - `unexpected`: the support decision differs from the case's `expect`;
 * - `error`: an exception, shader error or lost device while running the case.
 */
export type CaseStatus = "pass" | "fail" | "unexpected" | "error";

/** One side of a parity comparison, trimmed for the record. */
export interface ParityRecord {
  /** Whether this side passed. */
  readonly pass: boolean;
  /** Failed checks. */
  readonly checks: readonly string[];
  /** Max absolute error and where (multi-index). */
  readonly maxAbs: number;
  /** Multi-index of the max absolute error. */
  readonly maxAbsAt: readonly number[] | null;
  /** Max relative error. */
  readonly maxRel: number;
  /** Cosine difference 1 - 2 sum(xy) / sum(x^2 + y^2). */
  readonly cosDiff: number;
  /** Normwise relative error (null when undefined). */
  readonly normRel: number | null;
  /** Fraction of elements within tolerance. */
  readonly fractionPassing: number;
  /** One-line summary naming the worst index. */
  readonly summary: string;
  /**
   * Headroom: the worst error over its allowance, |got - want| / max(atol, rtol |want|) at
   * the worst element (above 1 fails; absent in records written before it existed).
   */
  readonly headroom?: number;
  /** The worst element against its allowance: multi-index, got and want. */
  readonly worst?: {
    readonly at: readonly number[];
    readonly got: number | string;
    readonly want: number | string;
  };
  /** Absolute tolerance used. */
  readonly atol?: number;
  /** Relative tolerance used. */
  readonly rtol?: number;
  /** Non-finite mismatches (NaN/Inf where the reference differs): count and first position. */
  readonly nonfinite?: { readonly count: number; readonly firstAt: readonly number[] };
}

/** Timing samples of a case. */
export interface TimingRecord {
  /** timestamp-query or wall-clock. */
  readonly source: string;
  /**
   * Every timed repetition, milliseconds, but those of {@link TimingRecord.clockFaults}.
   */
  readonly samplesMs: readonly number[];
  /**
   * Timed repetitions left out of the samples: their GPU timestamps did not advance or went
   * backwards, no time (they read as 0 ms, and made the median low with no word); absent:
   * none. A case whose repetitions all failed so has no timing, its message says so.
   */
  readonly clockFaults?: number;
  /** Median of the samples. */
  readonly medianMs: number;
  /**
   * What each sample covers: "all", every pass of the submission but cache construction
   * (absent in records made before the scope was recorded: they timed every pass);
   * "core", the attention core only (the expanded path: its K/V expansion is cache
   * construction, timed once in `outsideCoreMs`). Samples of different scopes are never
   * compared.
   */
  readonly scope?: TimingScope;
  /**
   * What the samples leave out, ms, once: scope "core", the passes outside the core (K/V
   * expansion, q packing, RoPE); scope "all", cache construction (the gemm absorbed
   * path's cache texture).
   */
  readonly outsideCoreMs?: number;
  /**
   * The untimed warm-up before the samples, ms (`run --warmup-ms`; absent: none, as in
   * records made before it existed).
   */
  readonly warmupMs?: number;
  /**
   * The revision of the timing rules the samples were taken under (adapter/timing_scope.ts
   * `TIMING_RULES`); absent in records made before it was recorded. Samples of different
   * rules are never compared.
   */
  readonly rules?: number;
}

/** One line of results.jsonl. */
export interface CaseResult {
  /** Stable case id. */
  readonly id: string;
  /** Outcome. */
  readonly status: CaseStatus;
  /** What the adapter decided. */
  readonly decision: "supported" | "unsupported" | "invalid" | "not-reached";
  /** What the case expected. */
  readonly expect: CaseExpect;
  /** The case parameters. */
  readonly params: CaseParams;
  /** The matrix group of the case (its name, or `groups[i]`); absent in older records. */
  readonly group?: string;
  /** One-line explanation (the parity summary, the reasons, or the error). */
  readonly message: string;
  /** Backend that ran (supported cases). */
  readonly backend?: string;
  /**
   * The matrix's input seed the case ran with (mixed with the id for the case's inputs):
   * another seed is other inputs, so other output bits. Absent in older records.
   */
  readonly seed?: number;
  /** SHA-256 (hex, 16 chars) of the plan JSON. */
  readonly planDigest?: string;
  /**
   * What the matrix said of the case when it ran (matrix/ `caseDigest`: SHA-256, hex 16, of its
   * id, group, seed, expectation and device profile). A resume into a folder whose matrix
   * changed since the run started keeps the result when its case is still selected with the
   * same digest (the matrix only gained cases), and refuses it otherwise. Absent in records
   * written before it was recorded: such a resume is refused.
   */
  readonly caseDigest?: string;
  /** Reasons (unsupported cases). */
  readonly reasons?: readonly Reason[];
  /** Output comparison. */
  readonly out?: ParityRecord;
  /** LSE comparison. */
  readonly lse?: ParityRecord;
  /** Tolerances used. */
  readonly tolerance?: unknown;
  /** Which float64 formulation was the reference ("dense" or "absorbed-f64"). */
  readonly reference?: string;
  /** Query rows checked (all, or a sample including every sequence boundary). */
  readonly rowsChecked?: number;
  /** Total query rows. */
  readonly rowsTotal?: number;
  /** SHA-256 (hex, 16 chars) of the output bits (bit-exact drift is information). */
  readonly outputDigest?: string;
  /** Kernel timing. */
  readonly timing?: TimingRecord;
  /** Wall time of the whole case (ms), reference and compile included. */
  readonly wallMs: number;
  /**
   * An error or failure of the infrastructure, not of the case: its device was lost under it
   * (a GPU reset, the Chromium page or browser gone; a lost device's reads can come back as
   * zeros and fail the comparison) or it ran past `--case-timeout`. `run --resume` runs such a
   * case again. Absent otherwise, and in records written before it existed.
   */
  readonly deviceLoss?: true;
}

/** The environment of a run, so drift can be attributed. */
export interface Fingerprint {
  /** Deno, V8 and TypeScript versions. */
  readonly runtime: { deno: string; v8: string; typescript: string };
  /** OS and CPU. */
  readonly host: { os: string; arch: string; cpus: number; cpuModel: string };
  /** Adapter info, features and limits (null: none). */
  readonly adapter: unknown;
  /** Harness git revision (null when not a git checkout). */
  readonly harnessRevision: string | null;
  /** SHA-256 (hex, 16) of every kernel source, by file name. */
  readonly kernelHashes: Readonly<Record<string, string>>;
  /**
   * The browser whose WebGPU ran the kernels (`run --runtime chromium`); absent when
   * Deno's own WebGPU ran them. The device key then ends in `-chromium`.
   */
  readonly browser?: BrowserFingerprint;
  /**
   * The WebGPU backend this process's wgpu used (`DENO_WEBGPU_BACKEND`, or the harness's
   * own choice, gpu/backend_choice.ts); recorded so a report compared on another machine
   * keeps its own device key. Absent in reports written before it was recorded.
   */
  readonly backend?: string;
}

/** The browser of a run under another runtime (Fingerprint.browser). */
export interface BrowserFingerprint {
  /** Runtime name: `chromium`. */
  readonly name: string;
  /** Browser.getVersion's product, e.g. "HeadlessChrome/156.0.8078.114". */
  readonly version: string;
  /** The executable. */
  readonly path: string;
  /** The page's user agent. */
  readonly userAgent: string;
}

/** A case of a `run --plant-fault` run that does not execute the fault, and why. */
export interface PlantedFaultClean {
  /** The case id. */
  readonly id: string;
  /** Why its kernels do not execute the fault (`run`'s warning's words). */
  readonly reason: string;
}

/** report.json */
export interface RunReport {
  /** Format version. */
  readonly version: 1;
  /** Matrix name or path. */
  readonly matrix: string;
  /** Filter used (or null). */
  readonly filter: string | null;
  /** Shard "i/n" (or null). */
  readonly shard: string | null;
  /** Every case id of the matrix after the filter (all shards). */
  readonly matrixIds: readonly string[];
  /** The ids this shard owns. */
  readonly shardIds: readonly string[];
  /** Results, one per case run. */
  readonly results: readonly CaseResult[];
  /** Environment. */
  readonly fingerprint: Fingerprint;
  /** When the run started and ended (ISO). */
  readonly startedAt: string;
  /** When the run ended (ISO). */
  readonly endedAt: string;
  /** Counts per status. */
  readonly totals: Readonly<Record<CaseStatus, number>>;
  /** Whether the run was interrupted (SIGINT) before finishing. */
  readonly interrupted: boolean;
  /**
   * A merged report (`merge`): the ids of the matrix that no merged folder had a result
   * for, in matrix order (empty when nothing is missing). A merge owns the whole matrix
   * (`shardIds` is `matrixIds`), so these are also its cases without a result, reported as
   * not run as an interrupted run's are. Absent in the report of a run (and in reports
   * written before it existed).
   */
  readonly missing?: readonly string[];
  /**
   * The fault `run --plant-fault` planted in the cases' kernels (parity/faults.ts id): the
   * run's failures are the fault's, shown to be caught, not a regression (the cases whose
   * kernels do not execute it are `plantedFaultClean`). Absent when
   * none was planted (and in reports written before it was recorded).
   */
  readonly plantedFault?: string;
  /**
   * With `plantedFault`: the cases of the run that cannot show the fault (their kernels do
   * not execute it and ran clean, or their backend runs it where no input shows it, so their
   * passes say nothing about the checks), each with why
   * (`run` warns of them as it starts), in matrix order; empty when every case executes it.
   * Absent without a planted fault, and in reports written before it was recorded.
   */
  readonly plantedFaultClean?: readonly PlantedFaultClean[];
  /**
   * The backend `run --backend` ran every case on (a registered backend id). Absent when
   * none was given, each case running on the backend the adapter chose, and in reports
   * written before it was recorded, which read as that choice. A resume or a merge of runs
   * that differ in it is refused: one report would hold cases of two backends.
   */
  readonly backend?: string;
  /**
   * The folder the run's matrix read its config paths inside (`run --config-root`), as it was
   * given. Absent when none was given (the matrix file's folder; bundled matrices: their
   * configs folder) and in reports written before it was recorded. The commands that finish
   * the run name it again, and the cases not run find their matrix groups through it.
   */
  readonly configRoot?: string;
  /**
   * The matrix file's absolute path (resolved from the folder the run started in); absent for
   * a bundled matrix and in reports written before it was recorded. `matrix` keeps the path
   * as typed, which read from another folder (a `merge` of shards run elsewhere) named
   * another file: what reads the matrix again from the report reads it here.
   */
  readonly matrixPath?: string;
  /**
   * {@link RunReport.configRoot} as an absolute path (resolved as {@link RunReport.matrixPath}
   * is); absent when none was given and in reports written before it was recorded.
   */
  readonly configRootPath?: string;
  /**
   * The user backend modules the run loaded (`run --backend-module`), as given. Absent when
   * none was, and in reports written before it was recorded. The commands that finish the
   * run and explain a case load them again (a `--backend` of theirs is unknown without).
   */
  readonly backendModules?: readonly string[];
  /**
   * Where each of {@link RunReport.backendModules} is, one for one: a local file's absolute
   * path (resolved from the folder the run started in), a URL as given. `b/mod.ts` typed in
   * one folder and `/abs/b/mod.ts` are one module; the same `b/mod.ts` typed in two folders
   * is two. Absent in reports written before it was recorded.
   */
  readonly backendModulePaths?: readonly string[];
  /**
   * What the static barrier check (docs/backends.md "Checking a kernel's barriers") found in
   * the WGSL files of the user backend modules the run loaded and in what their launches
   * compiled (a resume keeps those of the run it resumes): a race or a divergent barrier
   * that parity on a device running a workgroup in lock step (lavapipe) cannot catch. Present,
   * maybe empty, when the run loaded a module; absent when it loaded none (the bundled
   * kernels are checked by the project's tests) and in reports written before it existed.
   */
  readonly barrierFindings?: readonly BackendBarrierFinding[];
  /**
   * SHA-256 (hex, 16) of each config file the run's selection reads (a matrix `preset` that
   * is a path), keyed by the path as case ids write it; taken when the run starts. A resume or
   * a merge of runs whose config file differs is refused (the case ids name the file, not its
   * contents: one report would hold two models). `{}` when the selection reads none; absent
   * in reports written before it was recorded (the configs cannot be checked).
   */
  readonly configDigests?: Readonly<Record<string, string>>;
  /**
   * What the matrix said of every selected case (all shards) beyond its id: its group, seed,
   * expectation and device profile (matrix/ `selectionDigest`), taken when the run starts. A
   * resume or a merge of runs whose digests differ is refused: the matrix file was edited in
   * between, and one report would hold results judged by two versions of it. Absent in reports
   * written before it was recorded (not checked).
   */
  readonly matrixDigest?: string;
  /**
   * GPU errors WebGPU raised outside every case's error scope during the run (a pass a user
   * backend's `launch()` left floating, not awaited, that landed once its case had ended), each
   * with the case that had last started: no case's result includes them. Absent when none (and
   * in reports written before they were recorded).
   */
  readonly lateGpuErrors?: readonly LateGpuError[];
  /**
   * The run's timed repetitions per case (`run --repeats`) and warm-up (`--warmup-ms` as given:
   * milliseconds or "auto"): the commands that finish the report repeat them, and a resume
   * that would time otherwise is refused. Absent in reports written before they were recorded.
   */
  readonly repeats?: number;
  /** See {@link RunReport.repeats}. */
  readonly warmupMs?: number | "auto";
  /**
   * The query rows the float64 reference checked at most per case (`run --max-rows`; a case
   * of more rows is checked on a sample of that many): the commands that finish the report
   * repeat it, and a resume or a merge that would check otherwise is refused. Absent in reports
   * written before it was recorded.
   */
  readonly maxRows?: number;
  /**
   * The run's `--case-timeout` in seconds (0: no limit): the commands that finish the report
   * repeat it where it is not the default {@link DEFAULT_CASE_TIMEOUT_S} (a resume of a run
   * stopped by timeouts at a longer limit, named with the default, timed the same cases out
   * again). A merge keeps the longest of its shards'. Absent in reports written before it was
   * recorded.
   */
  readonly caseTimeoutS?: number;
  /**
   * A merged report (`merge`) of shards whose environments differ where a merge allows it
   * (the host; a revision unknown on one side or differing only in its `-dirty` mark): one
   * entry per folder and field, against the first folder's, whose fingerprint the report
   * carries. Absent when they match, in a run's report, and in reports written before it
   * existed.
   */
  readonly environmentDiffers?: readonly EnvironmentDifference[];
  /**
   * The host's load as the run's timed part started and as its report was last written
   * (util/host_load.ts samples it): a compare says that speed verdicts of a run timed under
   * load may be the load's (drift/speed_load.ts). A merge keeps its busiest shard's, a pooled
   * run (`--rounds`) its busiest round's. Absent in reports written before it was recorded.
   */
  readonly hostLoad?: HostLoad;
}

/** One sample of the host's load (the shape util/host_load.ts `sampleLoad` gives). */
export interface LoadSample {
  /** When it was taken (ISO). */
  readonly at: string;
  /** The 1-minute load average. */
  readonly load1: number;
  /** The 5-minute load average. */
  readonly load5: number;
  /** Logical CPUs. */
  readonly cpus: number;
}

/** The host's load at the start and end of a run's timed part ({@link RunReport.hostLoad}). */
export interface HostLoad {
  /** As the timed part started (null: not sampled, see `unavailable`). */
  readonly start: LoadSample | null;
  /** As it ended (null: not sampled). */
  readonly end: LoadSample | null;
  /** Why a sample is null (no sys permission for loadavg); absent when both were taken. */
  readonly unavailable?: string;
}

/** A GPU error raised outside every case's error scope (RunReport.lateGpuErrors). */
export interface LateGpuError {
  /** The case that had last started when it arrived (null: before any case). */
  readonly afterCase: string | null;
  /** WebGPU's message. */
  readonly message: string;
}

/** A finding of the static barrier check in a user backend's WGSL (RunReport.barrierFindings). */
export interface BackendBarrierFinding {
  /** The backend id whose module lists the file, or whose launch compiled the source. */
  readonly backend: string;
  /**
   * `file.wgsl:LINE`: the file as the module's `files` names it, or the `fileName` its launch
   * gave `LaunchKit.compile`.
   */
  readonly location: string;
  /** The specializations it was found in ("f32", "f16, subgroups"). */
  readonly labels: readonly string[];
  /** "hazard" or "divergent barrier". */
  readonly kind: string;
  /** What is wrong, naming the variable and the lines. */
  readonly message: string;
}

/** One field in which a merged shard's environment differs from the first shard's. */
export interface EnvironmentDifference {
  /** The folder merged. */
  readonly dir: string;
  /** The fingerprint field (report/ `FingerprintChange.field`), e.g. `host.cpuModel`. */
  readonly field: string;
  /** The first folder's value (null: absent). */
  readonly from: string | null;
  /** This folder's value (null: absent). */
  readonly to: string | null;
}

/**
 * The query rows the float64 reference checks at most per case when `--max-rows` is not
 * given ({@link RunReport.maxRows}): `run`, `baseline update` and `compare-runtimes` default
 * to it, and a report's finish commands name `--max-rows` only when it differs.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_ROWS } from "./types.ts";
 * DEFAULT_MAX_ROWS; // 64
 * ```
 */
export const DEFAULT_MAX_ROWS = 64;

/**
 * Seconds a case may take before it is recorded as an error and the run goes on, when
 * `--case-timeout` is not given ({@link RunReport.caseTimeoutS}); 0 means no limit.
 *
 * @example
 * ```ts
 * import { DEFAULT_CASE_TIMEOUT_S } from "./types.ts";
 * DEFAULT_CASE_TIMEOUT_S; // 600
 * ```
 */
export const DEFAULT_CASE_TIMEOUT_S = 600;
