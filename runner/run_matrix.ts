/**
 * Running a whole matrix: select (filter, shard), check the output folder (another
 * run's folder is never resumed into, a half-finished one never silently truncated),
 * resume, order cases so kernel variants compile once, stream each result to
 * results.jsonl as soon as it exists, survive a case that throws, hangs or loses the
 * device, stop cleanly on SIGINT/SIGTERM, and return the report. The reports and CI side
 * effects (report.json, junit.xml, summary.md, `$GITHUB_STEP_SUMMARY`) are the caller's:
 * it passes a writer (report/ `writeRunReports`) as `writeReports`.
 *
 * @module
 */
import { DEFAULT_CASE_TIMEOUT_S, DEFAULT_MAX_ROWS } from "../results/types.ts";
import type { BackendId, DeviceCaps } from "../adapter/types.ts";
import { deviceClassOf } from "../adapter/device_class.ts";
import { TIMING_RULES } from "../adapter/timing_scope.ts";
import { replayModeForClass, warmupMsForClass } from "../kernels/replay.ts";
import type { MlaSpec } from "../adapter/types.ts";
import { GpuContext, HARNESS_FEATURES } from "../gpu/device.ts";
import { DeviceLostError } from "../gpu/errors.ts";
import type { SourceMutation } from "../kernels/source.ts";
import type { Fault } from "../parity/faults.ts";
import { configFileOf } from "../matrix/config_paths.ts";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { caseDigest, selectionDigest } from "../matrix/selection_digest.ts";
import { selectMatrixCases } from "../matrix/select.ts";
import { matrixFileOf } from "../matrix/expand.ts";
import { sameMatrixHere } from "../matrix/matrix_name.ts";
import { sameFilter } from "../matrix/case_id.ts";
import type { Case } from "../matrix/types.ts";
import { OutputWriteError, ReportFileError } from "../report/errors.ts";
import { readReportJson } from "../report/json.ts";
import { formatJsonlLine, JsonlWriter, readJsonl, unwritableJson } from "../report/jsonl.ts";
import { isStorageFull, osErrorText, writeTextAtomic } from "../util/fs.ts";
import { headerlessResults, RUN_FILES, RUN_REPORT_FILES } from "../report/merge.ts";
import { BENCH_ONLY_FILES, BENCH_RECORDS, OutputPathError } from "../report/output_paths.ts";
import { checkOutputFilesIn, prepareOutputDir } from "../report/output_paths.ts";
import {
  backendText,
  changedConfigs,
  describeRun,
  readRunState,
  writeRunState,
} from "../report/run_state.ts";
import { environmentMix } from "../report/fingerprint_diff.ts";
import {
  type ProgressMode,
  progressOptions,
  type ProgressOutput,
  ProgressReporter,
} from "../report/progress.ts";
import { computeTotals } from "../report/totals.ts";
import { runCommandFor } from "../report/finish_commands.ts";
import { upgradeFolderProblem } from "../report/run_folder.ts";
import { profileLimitWarnings } from "./case_request.ts";
import { lockOutDir } from "./out_lock.ts";
import { collectFingerprint, hashConfigFiles } from "./fingerprint.ts";
import { fingerprintChangeText } from "../report/fingerprint_diff.ts";
import { busiestLoad, hostLoad, sampleLoad } from "../util/host_load.ts";
import { checkFaultReached, faultMisses, faultMissWarning } from "./fault_reach.ts";
import { cleanReasonCounts } from "../report/verdict.ts";
import { groupOf, runCase, type RunCaseOptions } from "./run_case.ts";
import { isRemoteDevice, remoteFingerprint, type RunDevice } from "../gpu/runtime.ts";
import type {
  BackendBarrierFinding,
  CaseResult,
  Fingerprint,
  LateGpuError,
  PlantedFaultClean,
  RunReport,
} from "../results/types.ts";
import { loadedBackendModules } from "../kernels/backend_module.ts";
import { checkRunMatrixOptions } from "./run_options.ts";
import { compiledBarrierFindings, mergeFindings } from "../kernels/module_barriers.ts";
import { raceTimeout, TIMED_OUT } from "../util/timeout.ts";
import { plural } from "../util/plural.ts";
import {
  LATE_ERRORS_SAID,
  lateGpuErrorLine,
  moreLateGpuErrorsLine,
  settleRunDevice,
  watchRunDevice,
} from "./late_gpu_errors.ts";

/** Default per-case timeout in seconds (`run --case-timeout`; results/types.ts). */
export { DEFAULT_CASE_TIMEOUT_S };

/**
 * The files `compare-runtimes` writes in its --out: a run refuses a folder holding them (its
 * `--force` removes them), as compare-runtimes refuses a run's folder.
 *
 * @example
 * ```ts
 * import { COMPARE_RUNTIMES_FILES } from "./run_matrix.ts";
 * COMPARE_RUNTIMES_FILES.json; // "compare-runtimes.json"
 * ```
 */
export const COMPARE_RUNTIMES_FILES = {
  json: "compare-runtimes.json",
  md: "compare-runtimes.md",
  // each case's comparison as it ends (synced): what a comparison killed halfway leaves
  jsonl: "compare-runtimes.jsonl",
} as const;

/**
 * Writes the reports of a run into its folder (report/ `writeRunReports`: report.json,
 * junit.xml, summary.md, `$GITHUB_STEP_SUMMARY`).
 */
export type ReportWriter = (out: string, report: RunReport) => Promise<void>;

/** Runs one case (the runner's {@link runCase}, or a test's stand-in). */
export type CaseRunner = (c: Case, options: RunCaseOptions) => Promise<CaseResult>;

/** Options of {@link runMatrix}. */
export interface RunMatrixOptions {
  /** Bundled matrix name or matrix file path. */
  matrix: string;
  /** Output directory (created). */
  out: string;
  /** `key=v1,v2;key2=v` selection. */
  filter?: string;
  /** This shard, 1-based ("2/4" = {index 2, count 4}). */
  shard?: { index: number; count: number };
  /** Refuse a selection of more cases than this (default 100000). */
  maxCases?: number;
  /** Folder the matrix's config paths must stay inside (default: the matrix's folder). */
  configRoot?: string;
  /**
   * Skip cases already in out/results.jsonl. The folder must hold a run of the same
   * matrix, filter, shard, planted fault and `backend` (or none), whose config files that its
   * finished cases read have not changed since it started (`RunReport.configDigests`; not
   * recorded: said on stderr),
   * whose finished cases the matrix still selects and says the same of (it may have gained
   * cases: `CaseResult.caseDigest`), and every line must be a result (a truncated last line
   * is dropped): else a ReportFileError.
   */
  resume?: boolean;
  /**
   * Start over even when `out` holds a half-finished run (without it, such a folder is a
   * ReportFileError; a finished run is replaced either way).
   */
  force?: boolean;
  /**
   * Milliseconds a case may take before it is recorded as an error and the device is
   * re-acquired (default {@link DEFAULT_CASE_TIMEOUT_S} s; 0: no limit). Only waits on the
   * GPU can be cut short: a case busy in synchronous JavaScript is noticed when it yields.
   */
  caseTimeoutMs?: number;
  /** Timed repetitions per case. */
  repeats?: number;
  /**
   * Untimed replays of each attention case for this long before its timed repetitions, ms
   * (`run --warmup-ms`), or "auto" (the default): {@link resolveWarmupMs} on the run's
   * device.
   */
  warmupMs?: number | "auto";
  /** Reference rows per case at most. */
  maxRows?: number;
  /** Rewrite kernel sources (fault injection). */
  mutate?: SourceMutation;
  /** Plant a fault in every case's kernel run (proves the checks catch it). */
  fault?: Fault;
  /** Run every case on this registered backend (`run --backend`, see runCase). */
  backend?: BackendId;
  /**
   * The user backend modules the caller loaded (`run --backend-module`, as given), recorded
   * in the report so that the commands finishing the run load them again. Recorded only:
   * runMatrix loads none of them (load each first, with loadBackendModule).
   */
  backendModules?: readonly string[];
  /** Where progress goes (default stdout). */
  progress?: ProgressOutput;
  /** What progress prints (`run --progress`; default `auto`: see `progressOptions`). */
  progressMode?: ProgressMode;
  /**
   * Other files a run writes into `out` after its reports (e.g. `--baseline`'s compare.md),
   * removed with the reports when the run claims the folder, so that none describes an
   * earlier run.
   */
  staleFiles?: readonly string[];
  /**
   * The device to run on instead of acquiring Deno's own: a GpuContext, or another
   * runtime's (gpu/runtime.ts; `run --runtime chromium`). The caller ends it.
   */
  ctx?: RunDevice;
  /** Stop after the current case when aborted (the CLI wires SIGINT to it). */
  signal?: AbortSignal;
  /**
   * Stop at once when aborted: the current case is abandoned (not recorded) and the reports
   * are written, marked interrupted (the CLI wires SIGTERM to it).
   */
  abandon?: AbortSignal;
  /**
   * Writes the reports at the end of the run: also when it was interrupted or stopped by
   * repeated device losses, and before run.json says how it ended. The CLI passes report/
   * `writeRunReports`; without it the run leaves results.jsonl and run.json only.
   */
  writeReports?: ReportWriter;
  /** Device losses or case timeouts in a row after which the run stops (default 3). */
  maxLosses?: number;
  /**
   * What a run stopped halfway (a full disk, once space is freed; the device lost for good)
   * tells the user to do, where the default is the `run ... --resume` that finishes the run.
   * `baseline update`, which takes no --resume and starts its run over, passes its own.
   */
  insteadOfResume?: string;
  /**
   * Words the `run ... --resume` that a stopped run names ends with, after those its report
   * records: `run`'s --baseline, --history, --thresholds and --fail-on, what it does once
   * its cases have run (a resume without them finished the run uncompared and unrecorded).
   */
  resumeWords?: readonly string[];
  /**
   * The cases, selected beforehand by {@link selectCases} with these options' matrix,
   * filter, shard, maxCases and configRoot (`run` refuses a bad --matrix or --filter before
   * it says which backend runs); selected here when absent.
   */
  selection?: Selection;
  /**
   * Called once the folder is claimed and a resume's checks are past, before the device is
   * opened: `run` prints its backend line here, so a refused folder ("holds a half-finished
   * run") is refused before anything that reads as a run started.
   */
  onClaimed?: () => void;
  /**
   * TEST ONLY: runs each case instead of {@link runCase} (tests inject a case that throws or
   * hangs). Not reachable from the CLI or a matrix file.
   */
  testOnlyCaseRunner?: CaseRunner;
  /**
   * TEST ONLY: called after run.json says "running" and before results.jsonl is first
   * changed (tests check what a kill at that moment leaves). Not reachable from the CLI.
   */
  testOnlyBeforeResults?: () => void | Promise<void>;
}

/** What a run selected. */
export interface Selection {
  /** Every case after the filter, in file order. */
  all: Case[];
  /** The ones this shard owns. */
  mine: Case[];
  /** Directory config paths in the matrix are relative to. */
  baseDir: string;
}

/**
 * Load, filter and shard a matrix.
 *
 * @example
 * ```ts
 * import { selectCases } from "./run_matrix.ts";
 * const { all, mine } = await selectCases({ matrix: "smoke", shard: { index: 1, count: 2 } });
 * mine.length < all.length; // true
 * ```
 */
export async function selectCases(
  options: Pick<RunMatrixOptions, "matrix" | "filter" | "shard" | "maxCases" | "configRoot">,
): Promise<Selection> {
  // matrix/select.ts checks the filter against the axes, the case count and config paths
  const { all, mine, baseDir, notes } = await selectMatrixCases(options);
  for (const note of notes) console.error(note);
  return { all, mine, baseDir };
}

/**
 * Group kernel variants: cases sharing path, dtype and shapes run next to each
 * other so each pipeline compiles once (0.4-3.5 s per compile on lavapipe).
 *
 * @example
 * ```ts ignore
 * import { orderForVariants } from "./run_matrix.ts";
 * const ordered = orderForVariants(cases);
 * ```
 */
export function orderForVariants(cases: readonly Case[]): Case[] {
  const key = (c: Case) =>
    [c.params.path, c.params.dtype, c.params.preset, c.params.heads, c.params.mode].join("|");
  const first = new Map<string, number>();
  cases.forEach((c, i) => first.has(key(c)) || first.set(key(c), i));
  return cases
    .map((c, i) => ({ c, i }))
    .sort((a, b) => first.get(key(a.c))! - first.get(key(b.c))! || a.i - b.i)
    .map((x) => x.c);
}

/**
 * The warm-up a run gives each case, ms: `asked` when a number; "auto",
 * kernels/replay.ts `warmupMsForClass`: 500 ms on a gpu-class device and 0 on a cpu-class one (adapter
 * `deviceClassOf`, MLA_HARNESS_DEVICE_CLASS included).
 *
 * @example
 * ```ts ignore
 * import { resolveWarmupMs } from "./run_matrix.ts";
 * resolveWarmupMs("auto", ctx.caps); // 500 on a GPU, 0 on lavapipe
 * resolveWarmupMs(0, ctx.caps); // 0
 * ```
 */
export function resolveWarmupMs(asked: number | "auto", caps: DeviceCaps): number {
  if (asked !== "auto") return asked;
  return warmupMsForClass(deviceClassOf(caps)?.kind);
}

async function acquire(): Promise<GpuContext> {
  // The device gets the adapter's buffer limits (GpuContext's default), which the plans use.
  return await GpuContext.create({ optionalFeatures: HARNESS_FEATURES });
}

/** What a run is of: compared with the run an output folder already holds. */
/**
 * Where a `--backend-module` is, as a report records it: a local file's absolute path
 * (resolved from `cwd`, the folder the run started in), a URL as given; so that a run can be
 * reproduced, resumed and compared from another folder.
 *
 * @example
 * ```ts
 * import { backendModulePath } from "./run_matrix.ts";
 * backendModulePath("b/mod.ts", "/work"); // "/work/b/mod.ts"
 * backendModulePath("https://example.com/m.ts", "/work"); // "https://example.com/m.ts"
 * ```
 */
export function backendModulePath(specifier: string, cwd: string = Deno.cwd()): string {
  if (/^file:/i.test(specifier)) return fileURLToPath(specifier);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(specifier)) return specifier;
  return resolve(cwd, specifier);
}

interface RunIdentity {
  matrix: string;
  filter: string | null;
  shard: string | null;
  /** The planted fault's id (`run --plant-fault`); absent when none. */
  plantedFault?: string;
  /** The backend every case runs on (`run --backend`); absent: the adapter's choice. */
  backend?: string;
}

function sameRun(a: RunIdentity, b: RunIdentity): boolean {
  return sameMatrixHere(a.matrix, b.matrix) && sameFilter(a.filter, b.filter) &&
    a.shard === b.shard && a.plantedFault === b.plantedFault && a.backend === b.backend;
}

/** What differs between two runs' options that change what a case computes, for messages. */
function optionDifference(held: RunIdentity, current: RunIdentity): string {
  return held.backend !== current.backend
    ? `; they differ in --backend: ${backendText(held.backend)} there, ` +
      `${backendText(current.backend)} here, and one report would hold cases of both`
    : "";
}

async function nonEmptyLines(path: string): Promise<number> {
  try {
    return (await Deno.readTextFile(path)).split("\n").filter((l) => l.trim() !== "").length;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return 0;
    throw new ReportFileError(path, `cannot read: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * The results in a results.jsonl, counted as a resume keeps them: its lines but a last one
 * cut off partway (no newline, not JSON: the run was killed as it wrote it), which is said
 * apart (`half`); it was counted as a result ("with 6 results" of 5 and a fragment).
 */
async function resultLines(path: string): Promise<{ whole: number; half: boolean }> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { whole: 0, half: false };
    throw new ReportFileError(path, `cannot read: ${(e as Error).message}`, { cause: e });
  }
  const lines = text.split("\n");
  const tail = lines.pop() ?? "";
  const whole = lines.filter((l) => l.trim() !== "").length;
  if (tail.trim() === "") return { whole, half: false };
  try {
    JSON.parse(tail);
    return { whole: whole + 1, half: false }; // a whole record its newline did not follow
  } catch {
    return { whole, half: true };
  }
}

/** The run an output folder holds: from run.json, or report.json for older folders. */
async function folderRun(
  out: string,
): Promise<{ header: RunReport | null; finished: boolean; results: number; half: boolean }> {
  const { whole: results, half } = await resultLines(`${out}/${RUN_FILES.results}`);
  const statePath = `${out}/${RUN_FILES.state}`;
  // a damaged run.json (edited, or copied in part) names what to do, as a damaged
  // report.json does: it said what was wrong with the file only
  const state = await readRunState(statePath).catch((e: unknown) => {
    if (!(e instanceof ReportFileError) || /--force/.test(e.message)) throw e;
    throw new ReportFileError(
      statePath,
      `${e.message.slice(`${statePath}: `.length)}; --force replaces the folder's run, or ` +
        "pick another --out",
      { cause: e.cause },
    );
  });
  if (state) {
    return { header: state.report, finished: state.state === "finished", results, half };
  }
  try {
    const report = await readReportJson(`${out}/${RUN_FILES.report}`);
    return { header: report, finished: !report.interrupted, results, half };
  } catch (e) {
    if (e instanceof ReportFileError && e.cause instanceof Deno.errors.NotFound) {
      return { header: null, finished: false, results, half };
    }
    throw new ReportFileError(
      `${out}/${RUN_FILES.report}`,
      `${(e as Error).message.replace(/^.*?: /, "")}; --force replaces the folder's run`,
    );
  }
}

/** What a run keeps of the run its folder holds. */
interface Claimed {
  /** The results to keep (a resume's), by case id. */
  previous: Map<string, CaseResult>;
  /** The run being resumed (its header: matrix as it spelt it, fingerprint), if any. */
  resumed: RunReport | null;
  /**
   * A resume's results that a device loss or a timeout ended ({@link CaseResult.deviceLoss}),
   * not kept: their cases run again.
   */
  retried: CaseResult[];
}

/**
 * Check what `out` already holds against this run and return the results to keep
 * (resume). Refuses (ReportFileError): resuming another matrix's, filter's, shard's,
 * planted fault's or `--backend`'s folder, results with neither run.json nor report.json (their run
 * unknown), or results timed under other timing rules; a damaged line in results.jsonl when resuming (a truncated last
 * line is dropped, as merge does); truncating a half-finished run without resume or force.
 * The config files a resume reads are checked next ({@link checkResumeConfigs}), the
 * environment it runs in once the device is open ({@link checkResumeEnvironment}).
 */
async function claimFolder(
  out: string,
  current: RunIdentity,
  mine: readonly Case[],
  options: Pick<RunMatrixOptions, "resume" | "force">,
): Promise<Claimed> {
  const previous = new Map<string, CaseResult>();
  // An upgrade-check's --out (its sides' runs in from/ and to/, its compare.md and
  // compare.json): a run there removed the comparison and wrote its reports beside the
  // sides, with or without --resume or --force
  const upgrade = await upgradeFolderProblem(out);
  if (upgrade !== null) {
    throw new ReportFileError(
      out,
      `holds an upgrade-check's output (its sides' runs: ${upgrade.sides.join(", ")}), whose ` +
        "compare.md and compare.json this run would remove and whose sides its reports would " +
        "stand beside; pick another --out",
    );
  }
  // A bench killed before its reports leaves records.jsonl alone (its measurements), which
  // reads as an empty folder here: a run would leave it among its own files. --force
  // removes it, and the finished bench's results.csv, which a run does not write either.
  const benchRecords = await nonEmptyLines(`${out}/${BENCH_RECORDS}`);
  // A comparison's report (compare-runtimes) there was left among the run's files without a
  // word, where compare-runtimes refuses a run's folder: refused alike, and --force removes it.
  const compared: string[] = [];
  for (const f of Object.values(COMPARE_RUNTIMES_FILES)) {
    if (await Deno.stat(`${out}/${f}`).then((i) => i.isFile, () => false)) compared.push(f);
  }
  if (options.force) {
    for (const f of [...BENCH_ONLY_FILES, ...compared]) {
      await Deno.remove(`${out}/${f}`).catch(() => {});
    }
    return { previous, resumed: null, retried: [] };
  }
  if (compared.length > 0) {
    throw new ReportFileError(
      out,
      `holds ${compared.join(", ")}: the output of compare-runtimes, which this run would ` +
        "leave among its own files; move them away, pick another --out, or --force to remove " +
        "them and start over",
    );
  }
  if (benchRecords > 0) {
    // a finished bench's folder was called a bench "killed before its reports?" too
    const reported = await Deno.stat(`${out}/${RUN_FILES.report}`).then(
      (i) => i.isFile,
      () => false,
    );
    throw new ReportFileError(
      out,
      `holds ${BENCH_RECORDS} with ${plural(benchRecords, "record")}: ${
        reported
          ? "a bench's folder, whose report.json, summary.md and report.html this run would " +
            "replace, and whose records it would leave among its own files"
          : "the measurements of a bench killed before its reports (bench --resume finishes " +
            "it), which this run would leave among its own files"
      }; move them away, pick another --out, or --force to remove them and start over`,
    );
  }
  const held = await folderRun(out);
  const resultsPath = `${out}/${RUN_FILES.results}`;
  if (!options.resume) {
    if ((held.results > 0 || held.half) && !held.finished) {
      // Results no run.json describes (a harness older than run.json, or a run killed as it
      // replaced a finished one: that run.json goes first): --resume refuses them, so it is
      // not offered ("--resume finishes it" was, and --resume then refused)
      if (held.header === null && held.results > 0) {
        throw new ReportFileError(
          out,
          `${headerlessResults(held.results)}, so --resume cannot finish their run; ` +
            "--force starts over, or pick another --out",
        );
      }
      const what = held.header
        ? `a half-finished run of ${describeRun(held.header)}`
        : `a half-finished run (no ${RUN_FILES.state} or ${RUN_FILES.report}: matrix unknown)`;
      throw new ReportFileError(
        out,
        `holds ${what} with ${plural(held.results, "result")} in ${RUN_FILES.results}${
          held.half ? " and a half-written last line (the run was killed as it wrote it)" : ""
        }; ` +
          `--resume finishes it (same matrix, filter and shard${
            held.header ? `: ${runCommandFor(held.header, out, true)}` : ""
          }), --force starts over, or pick another --out`,
      );
    }
    return { previous, resumed: null, retried: [] }; // empty, or a finished run: replaced
  }
  // Results with neither run.json nor report.json: a folder of a harness from before run.json
  // (its killed runs left results.jsonl alone), or one whose run.json was removed. Their
  // matrix and environment are unknown, so neither check below could run: kept, they would be
  // credited to this run's fingerprint (another harness's kernels and plans).
  if (held.header === null && held.results > 0) {
    throw new ReportFileError(
      out,
      `${headerlessResults(held.results)}, so --resume would credit them to this run; ` +
        "--force starts over, or pick another --out",
    );
  }
  // A merge's output (its report.json lists `missing`; no run.json): resumed, it was
  // rewritten as one run of this machine, its `missing` and `environmentDiffers` dropped
  if (held.header?.missing !== undefined) {
    // a complete merge was said to list its missing cases and to want finishing
    const missing = held.header.missing.length;
    throw new ReportFileError(
      out,
      "holds the output of `merge` (its report.json has the merge's list of missing cases: " +
        `${missing === 0 ? "none, the merge is complete" : plural(missing, "case")}), not ` +
        "a run: --resume continues a run; " +
        (missing === 0
          ? "nothing is left to run; "
          : "to finish the merge, resume its shards' folders (`run ... --out <shard folder> " +
            "--resume`) and merge them again, or ") +
        "pick another --out (a run without --resume replaces the merged reports)",
    );
  }
  if (held.header && !sameRun(held.header, current)) {
    throw new ReportFileError(
      out,
      `holds a run of ${describeRun(held.header)}, but this run is of ${describeRun(current)}` +
        `${optionDifference(held.header, current)}; --resume continues only the same ` +
        "matrix, filter, shard, planted fault and --backend: give the run's own options " +
        `(${runCommandFor(held.header, out, true)}), pick another --out, or --force to ` +
        "replace that run",
    );
  }
  let results: CaseResult[];
  try {
    const contents = await readJsonl(resultsPath);
    results = contents.results;
    // dropped as merge drops it, which says so; the resume said only "N of M finished"
    if (contents.corruptTail) {
      console.error(
        `resume: ${resultsPath} ends in a half-written line (the run was killed as it wrote ` +
          "a result): dropped, and its case runs again",
      );
    }
  } catch (e) {
    if (e instanceof ReportFileError && e.cause instanceof Deno.errors.NotFound) {
      return { previous, resumed: held.header, retried: [] };
    }
    if (e instanceof ReportFileError && e.line !== null) {
      throw new ReportFileError(
        resultsPath,
        `${e.message.slice(`${resultsPath}:${e.line}: `.length)}; ` +
          `a damaged line before the last is not skipped (merge refuses it too): repair or ` +
          `remove the line, or --force to start over`,
        { line: e.line },
      );
    }
    throw e;
  }
  const owned = new Map(mine.map((c) => [c.id, c]));
  // every finished case the matrix no longer selects, named (it named the first alone)
  const gone = [...new Set(results.filter((r) => !owned.has(r.id)).map((r) => r.id))];
  if (gone.length > 0) {
    throw new ReportFileError(
      resultsPath,
      `${plural(gone.length, "finished case")} ${gone.length === 1 ? "is" : "are"} not in ` +
        `this run's selection (${describeRun(current)}; removed from the matrix since the ` +
        `run started?): ${idList(gone)}; --resume keeps a run's finished cases only while ` +
        "the matrix still selects them: restore them and resume, --force starts over, or " +
        "pick another --out",
    );
  }
  const retried: CaseResult[] = [];
  for (const r of results) {
    const c = owned.get(r.id)!;
    // Another seed is other inputs: the kept results would not be this matrix's (a record
    // without a seed is older than the field and is kept).
    if (r.seed !== undefined && r.seed !== c.seed) {
      throw new ReportFileError(
        resultsPath,
        `case "${r.id}" ran with the matrix seed ${r.seed}, but the matrix now says ` +
          `${c.seed}: its inputs would differ from the rest of the run's; --force starts ` +
          `over, or pick another --out`,
      );
    }
    // Samples of other timing rules time other work (adapter/timing_scope.ts): a report's
    // results are timed alike. A harness revision that differs is refused later too, but
    // an unknown one (git absent or not permitted) is not.
    if (r.timing && r.timing.rules !== TIMING_RULES) {
      throw new ReportFileError(
        resultsPath,
        `case "${r.id}" was timed under timing rules ${
          r.timing.rules ?? "not recorded (a harness from before they were)"
        }, and this harness times under rules ${TIMING_RULES}: its samples would not compare ` +
          "with the rest of the run's; resume with the harness that started the run, " +
          "--force starts over, or pick another --out",
      );
    }
    // an error of the device, not of the case (a loss, a timeout): run again, not kept
    if (r.deviceLoss === true) retried.push(r);
    else if (!previous.has(r.id)) previous.set(r.id, r);
  }
  return { previous, resumed: held.header, retried };
}

/**
 * Refuse (ReportFileError) a resume whose device, runtime, kernels or plans differ from
 * those of the results it keeps: one report carries one fingerprint, so the kept results
 * would be credited to this environment (report/ `environmentMix`). Host differences are
 * returned as warnings.
 */
function checkResumeEnvironment(
  out: string,
  resumed: RunReport,
  kept: number,
  now: Fingerprint,
): string[] {
  const mix = environmentMix(resumed.fingerprint, now);
  // in words: "harnessRevision 1a2b → 3c4d" named an internal field
  const text = fingerprintChangeText;
  if (mix.blocking.length > 0) {
    // a changed checkout alone: which commit to go back to ("where the run started" said
    // nothing of git)
    const rev = mix.blocking.find((c) => c.field === "harnessRevision")?.from;
    const where = mix.blocking.every((c) => c.field === "harnessRevision") && rev
      ? `resume in a checkout of the commit the run started at (git checkout ${
        rev.replace(/-dirty$/, "")
      }${rev.endsWith("-dirty") ? ", with the same uncommitted changes" : ""})`
      : "resume where the run started";
    const changes = mix.blocking.map((c) => text(c)).join("; ");
    throw new ReportFileError(
      out,
      `holds ${plural(kept, "result")} of a run in another environment than this one ` +
        `(${changes}); a report has one environment, so --resume would credit those ` +
        `results to this one: ${where}, or --force to start over`,
    );
  }
  return mix.warnings.map((c) => `resume: the environment differs: ${text(c)}`);
}

/**
 * Refuse (ReportFileError) a resume whose config files (`RunReport.configDigests`) that a kept
 * result's case reads changed since the run started: its kept results and its new ones would
 * be of two models under one case id. A changed file no kept result reads (its cases not run
 * yet) is said on stderr: those cases run on it as it is now. Returns the digests the resumed
 * run records: these, or none (unknown) when the run being resumed recorded none (a harness
 * from before they were) and the selection reads a config file; that resume is said on
 * stderr, not refused.
 */
function checkResumeConfigs(
  out: string,
  resumed: RunReport,
  { now, baseDir, kept }: {
    now: Record<string, string>;
    baseDir: string;
    kept: ReadonlyMap<string, CaseResult>;
  },
): Record<string, string> | undefined {
  const read = new Set([...kept.values()].map((r) => r.params.preset));
  const [changed, unread] = partition(
    changedConfigs(resumed.configDigests, now),
    (p) => read.has(p),
  );
  if (changed.length > 0) {
    throw new ReportFileError(
      out,
      `holds a run whose config file${changed.length > 1 ? "s" : ""} ${
        changed.map((p) =>
          `${configFileOf(p, baseDir)} (sha-256 ${resumed.configDigests?.[p]} → ${now[p]})`
        )
          .join(", ")
      } changed since it started; its cases name a config by its path, so --resume would ` +
        "report two models as one: restore the file as the run read it, or --force to start " +
        "over with the file as it is",
    );
  }
  if (unread.length > 0) {
    console.error(
      `resume: ${unread.map((p) => configFileOf(p, baseDir)).join(", ")} changed since the ` +
        `run in ${out} started; no finished case reads ${
          unread.length > 1 ? "them" : "it"
        }: the cases not run yet read ${unread.length > 1 ? "them" : "it"} as ${
          unread.length > 1 ? "they are" : "it is"
        } now`,
    );
  }
  if (resumed.configDigests !== undefined || Object.keys(now).length === 0) return now;
  console.error(
    `resume: the run in ${out} did not record its config files' digests (a harness from ` +
      `before they were): ${Object.keys(now).join(", ")} could not be checked for changes ` +
      "since it started",
  );
  return undefined;
}

/** The items of `xs` that `keep` holds of, and the rest. */
function partition<T>(xs: readonly T[], keep: (x: T) => boolean): [T[], T[]] {
  return [xs.filter(keep), xs.filter((x) => !keep(x))];
}

/**
 * Refuse (ReportFileError) a resume that would time its cases otherwise than the results it
 * keeps were timed: another number of timed repetitions (`--repeats`: each timed result holds
 * that many samples) or another warm-up (`--warmup-ms`, recorded in each timing). One
 * report's cases are timed alike; a resume that took the default --repeats 3 after a run of
 * 10 left part of a nightly with too few samples for drift's speed test, without a word.
 */
function checkResumeTiming(
  out: string,
  resumed: RunReport,
  previous: ReadonlyMap<string, CaseResult>,
  now: { repeats: number; warmupMs: number; resolve: (asked: number | "auto") => number },
): void {
  // What the run recorded it was started with (run.json): a result records no warm-up of 0,
  // and a run of --repeats 0 no timing at all, so the results alone miss those.
  if (resumed.repeats !== undefined || resumed.warmupMs !== undefined) {
    const repeats = resumed.repeats ?? now.repeats;
    const warm = resumed.warmupMs === undefined ? now.warmupMs : now.resolve(resumed.warmupMs);
    if (repeats === now.repeats && warm === now.warmupMs) return;
    // Only what differs is named: "--warmup-ms auto" there beside "0" here read as a
    // warm-up mismatch where auto is 0 (a cpu-class device) and only --repeats differed.
    const asked = resumed.warmupMs ?? warm;
    const there: string[] = [];
    const here: string[] = [];
    if (repeats !== now.repeats) {
      there.push(`--repeats ${repeats}`);
      here.push(`--repeats ${now.repeats}`);
    }
    if (warm !== now.warmupMs) {
      there.push(`--warmup-ms ${asked}${asked === warm ? "" : ` (${warm} ms on this device)`}`);
      here.push(`--warmup-ms ${now.warmupMs}`);
    }
    throw new ReportFileError(
      out,
      `holds a run started with ${there.join(" and ")}, but this resume would time with ` +
        `${here.join(" and ")}: one report's cases are timed alike; resume with --repeats ` +
        `${repeats} --warmup-ms ${asked}, or --force to start over`,
    );
  }
  for (const r of previous.values()) {
    const t = r.timing;
    if (!t) continue;
    // a full layer is never warmed up (its timing records 0 whatever --warmup-ms says)
    const warm = r.params.mode === "layer" ? now.warmupMs : t.warmupMs ?? now.warmupMs;
    // repetitions left out for a failed GPU clock were timed all the same
    const timed = t.samplesMs.length + (t.clockFaults ?? 0);
    if (timed === now.repeats && warm === now.warmupMs) continue;
    throw new ReportFileError(
      out,
      `holds results timed with --repeats ${timed} and --warmup-ms ${warm} ` +
        `(case "${r.id}"), but this resume would time with --repeats ${now.repeats} and ` +
        `--warmup-ms ${now.warmupMs}: one report's cases are timed alike; resume with ` +
        `--repeats ${timed} --warmup-ms ${warm}, or --force to start over`,
    );
  }
}

/**
 * Refuse (ReportFileError) a resume that would check its cases on another number of reference
 * rows (`--max-rows`) than the run it resumes: a case of more rows is checked on a sample of
 * that many, so one report would hold cases checked in full beside their like checked on a
 * sample (the report's own resume command left --max-rows out, and a resume checked the rest
 * on 64 rows without a word). A run that did not record it (a harness from before) is not
 * checked.
 */
function checkResumeRows(out: string, resumed: RunReport, maxRows: number): void {
  if (resumed.maxRows === undefined || resumed.maxRows === maxRows) return;
  throw new ReportFileError(
    out,
    `holds a run started with --max-rows ${resumed.maxRows}, but this resume would check ` +
      `its cases on --max-rows ${maxRows} reference rows: one report's cases are checked ` +
      `alike; resume with --max-rows ${resumed.maxRows}, or --force to start over`,
  );
}

/**
 * Refuse (ReportFileError) a resume whose matrix says other things of its cases than when the
 * run started (`RunReport.matrixDigest`: an expectation, a device profile, a seed or a group
 * edited, cases added or removed), unless every result it keeps recorded what the matrix said
 * of its case (`CaseResult.caseDigest`) and the matrix still says that (it only gained cases,
 * or changed cases not run yet): then the resume keeps them and runs the rest, said on stderr.
 * A kept case the matrix now says otherwise of is refused by id. Results that recorded no
 * digest (a harness from before they did) are refused as any change was; a run that recorded
 * no matrix digest at all is said on stderr.
 */
function checkResumeMatrix(
  out: string,
  resumed: RunReport,
  { now, all, previous, digests }: {
    now: string;
    all: readonly Case[];
    previous: ReadonlyMap<string, CaseResult>;
    digests: ReadonlyMap<string, string>;
  },
): void {
  if (resumed.matrixDigest === undefined) {
    console.error(
      `resume: the run in ${out} did not record its matrix's digest (a harness from before ` +
        "it was): edits to the matrix's expectations, device profiles or seeds since it " +
        "started could not be checked",
    );
    return;
  }
  if (resumed.matrixDigest === now) return;
  const changed = changedCases(resumed.matrixIds, all);
  const kept = [...previous.values()];
  const undigested = kept.filter((r) => typeof r.caseDigest !== "string").length;
  if (undigested === 0) {
    const edited = kept.filter((r) => r.caseDigest !== digests.get(r.id)).map((r) => r.id);
    if (edited.length === 0) {
      console.error(
        `resume: the matrix changed since the run in ${out} started (${
          changed === "" ? "cases not run yet edited" : changed
        }); the ${plural(kept.length, "finished case")} ${
          kept.length === 1 ? "is" : "are"
        } unchanged and kept, and the cases without a result run as the matrix now says`,
      );
      return;
    }
    throw new ReportFileError(
      out,
      `holds a run whose matrix changed since it started${
        changed === "" ? "" : ` (${changed})`
      }, and it now says otherwise of ${plural(edited.length, "finished case")} (an ` +
        `expectation, a device profile, a seed or a group): ${idList(edited)}; --resume ` +
        "keeps only finished cases the matrix still says the same of: restore them as the " +
        "run read them and resume, or --force to start over",
    );
  }
  const older = `${plural(undigested, "result")} of it recorded no per-case digest (a ` +
    "harness from before they did), so the cases kept cannot be told unchanged";
  if (changed !== "") {
    throw new ReportFileError(
      out,
      `holds a run whose matrix changed since it started: ${changed}; ${older}: restore the ` +
        "matrix as the run read it and resume, then run the new cases into another folder " +
        "(a matrix file of them, or --filter); or --force to start over with every case",
    );
  }
  throw new ReportFileError(
    out,
    `holds a run whose matrix changed since it started (what it says of the cases beyond ` +
      `their ids: an expectation, a device profile, a seed or a group; digest ` +
      `${resumed.matrixDigest} → ${now}); ${older}: --resume would judge the kept results ` +
      "and the new ones by two versions of the file; restore the matrix as the run read it, " +
      "or --force to start over",
  );
}

/** `"a", "b", "c" and 2 more`: the first ids of a list, for a message. */
function idList(ids: readonly string[]): string {
  const shown = ids.slice(0, 3).map((id) => JSON.stringify(id)).join(", ");
  return ids.length > 3 ? `${shown} and ${ids.length - 3} more` : shown;
}

/**
 * The cases added to and removed from a matrix since a run of it started ("2 cases added
 * (group \"extra\": tiny;...), 1 removed (...)"), or "" when its case ids are the same.
 */
function changedCases(started: readonly string[], all: readonly Case[]): string {
  const before = new Set(started);
  const nowIds = new Set(all.map((c) => c.id));
  const added = all.filter((c) => !before.has(c.id));
  const removed = started.filter((id) => !nowIds.has(id));
  const parts: string[] = [];
  if (added.length > 0) {
    const groups = [...new Set(added.map((c) => c.group))];
    const named = groups.filter((g) => g !== undefined).map((g) => JSON.stringify(g));
    const where = named.length === 0
      ? ""
      : `${named.length === 1 ? "group" : "groups"} ${named.join(", ")}${
        named.length < groups.length ? " and cases of no group" : ""
      }: `;
    parts.push(
      `${plural(added.length, "case")} added (${where}${added[0].id}${
        added.length > 1 ? ", ..." : ""
      })`,
    );
  }
  if (removed.length > 0) {
    parts.push(
      `${plural(removed.length, "case")} removed (${removed[0]}${
        removed.length > 1 ? ", ..." : ""
      })`,
    );
  }
  return parts.join(" and ");
}

/** "RangeError: Invalid array length (at adapter/rope.ts:78)": no stack, one place. */
function describeException(e: unknown): string {
  if (!(e instanceof Error)) return `exception: ${String(e)}`;
  const root = new URL("../", import.meta.url).href;
  const at = (e.stack ?? "").split("\n").find((l) => l.includes(root));
  const where = at ? /^[^:)]+:\d+/.exec(at.slice(at.indexOf(root) + root.length)) : null;
  const place = where ? ` (at ${where[0]})` : "";
  return `${e.name}: ${e.message}${place}`;
}

/** The result of a case that threw or hung instead of returning one. */
function errorResult(c: Case, message: string, wallMs: number): CaseResult {
  return {
    id: c.id,
    status: "error",
    decision: "not-reached",
    expect: c.expect,
    params: c.params,
    seed: c.seed,
    ...groupOf(c),
    message,
    wallMs: Math.round(wallMs * 10) / 10,
  };
}

type Outcome =
  | { kind: "done"; result: CaseResult }
  | { kind: "threw"; error: unknown }
  | { kind: "timeout" }
  | { kind: "abandoned" };

/** Settles a case: its result, its exception, a timeout or an abandon, whichever is first. */
async function settle(
  run: Promise<CaseResult>,
  timeoutMs: number,
  abandoned: Promise<Outcome>,
): Promise<Outcome> {
  const outcome = await raceTimeout<Outcome>([
    run.then((result) => ({ kind: "done", result }), (error) => ({ kind: "threw", error })),
    abandoned,
  ], timeoutMs);
  return outcome === TIMED_OUT ? { kind: "timeout" } : outcome;
}

/**
 * Run a matrix: results.jsonl (streamed) and run.json go into `out` (locked meanwhile by
 * `run.lock`, runner/out_lock.ts: a second run into it is a ReportFileError), and the reports
 * through `options.writeReports` (report.json, junit.xml, summary.md when the caller passes
 * report/ `writeRunReports`). Returns the report; the caller maps it to an exit code. A
 * case that throws or exceeds the timeout is recorded as that case's error and the run
 * goes on (a timed-out case's device is re-acquired). Throws
 * OutputPathError for an unusable `out`, ReportFileError for a folder this run must not
 * touch (see {@link RunMatrixOptions.resume}), ConfigError for options out of range or an
 * unregistered `backend` (runner/run_options.ts, before anything is read), for a planted fault that no
 * selected case would execute (runner/fault_reach.ts), NoAdapterError when there is no adapter,
 * DeviceLostError after repeated device losses or timeouts (the results so far are kept),
 * OutputWriteError when a result cannot be written to results.jsonl (a full disk: the lines
 * before it are kept).
 *
 * @example
 * ```ts ignore
 * import { runMatrix } from "./run_matrix.ts";
 * import { writeRunReports } from "../report/run_reports.ts";
 * const report = await runMatrix({ matrix: "smoke", out: "out/smoke", writeReports: writeRunReports });
 * report.totals.fail; // 0
 * ```
 */
export async function runMatrix(options: RunMatrixOptions): Promise<RunReport> {
  checkRunMatrixOptions(options);
  const startedAt = new Date().toISOString();
  const selection = options.selection ?? await selectCases(options);
  await prepareOutputDir(options.out);
  // each a file: a folder named summary.md was an internal error with a stack trace as the
  // reports were written, after every case had run (`baseline update`'s run)
  await checkOutputFilesIn(options.out, Object.values(RUN_FILES));
  await checkResultsWritable(options.out);
  // One run at a time in a folder: a second one meanwhile is refused, not interleaved.
  const lock = await lockOutDir(options.out);
  try {
    return await runInFolder(options, selection, startedAt);
  } finally {
    await lock.release();
  }
}

/**
 * Throws an OutputPathError (exit 2) when `<out>/results.jsonl` exists and this process may not
 * write it (read-only, another user's, or --deny-write): the run appends to it in place, and
 * such a file stopped the run with an internal error and a stack trace, after it had removed
 * the reports (and, resuming, run.json) of the run the folder held. Nothing is changed.
 */
async function checkResultsWritable(out: string): Promise<void> {
  const path = `${out.replace(/\/+$/, "")}/${RUN_FILES.results}`;
  let file: Deno.FsFile;
  try {
    // append, not create: an absent file is created by the run, and one there is not changed
    file = await Deno.open(path, { write: true, append: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw new OutputPathError(
      `--out (${RUN_FILES.results})`,
      path,
      `cannot be written (${osErrorText(e).replace(/, run again with .*$/, "")}): a run ` +
        "appends its results to it in place; make it writable, or pick another --out " +
        "(nothing in the folder was changed)",
    );
  }
  file.close();
}

/** {@link runMatrix} once its selection is made and its folder locked. */
async function runInFolder(
  options: RunMatrixOptions,
  { all, mine, baseDir }: Selection,
  startedAt: string,
): Promise<RunReport> {
  const asked: RunIdentity = {
    matrix: options.matrix,
    filter: options.filter ?? null,
    shard: options.shard ? `${options.shard.index}/${options.shard.count}` : null,
    ...(options.fault ? { plantedFault: options.fault.id } : {}),
    ...(options.backend !== undefined ? { backend: options.backend } : {}),
  };
  const { previous, resumed, retried } = await claimFolder(options.out, asked, mine, options);
  // The config files the selection reads, as they are now: a case id names a config by its
  // path, so a resume after the file changed would join results of two models.
  const configs = await hashConfigFiles(all.map((c) => c.params.preset), baseDir);
  const configDigests = resumed && previous.size > 0
    ? checkResumeConfigs(options.out, resumed, { now: configs, baseDir, kept: previous })
    : configs;
  // What the matrix says of its cases beyond their ids (expectations, device profiles, seeds,
  // groups), as it is now: a resume after the file was edited would judge its kept and new
  // results by two versions of it.
  const digestNow = await selectionDigest(all);
  // ... and of each case of this shard, recorded with its result (`CaseResult.caseDigest`)
  const caseDigests = new Map<string, string>();
  for (const c of mine) caseDigests.set(c.id, await caseDigest(c));
  if (resumed && previous.size > 0) {
    checkResumeMatrix(options.out, resumed, {
      now: digestNow,
      all,
      previous,
      digests: caseDigests,
    });
    checkResumeRows(options.out, resumed, options.maxRows ?? DEFAULT_MAX_ROWS);
  }
  // A run resumed from before the digest keeps none: its kept results were never checked
  // against it (as configDigests).
  const matrixDigest = resumed && previous.size > 0 && resumed.matrixDigest === undefined
    ? undefined
    : digestNow;
  // A resume keeps the run's own matrix spelling and start: its report is that run's, so
  // merge and history see one run, not two.
  const identity: RunIdentity = resumed ? { ...asked, matrix: resumed.matrix } : asked;
  const runStartedAt = resumed && previous.size > 0 ? resumed.startedAt : startedAt;
  const resultsPath = `${options.out}/${RUN_FILES.results}`;
  const todo = orderForVariants(mine.filter((c) => !previous.has(c.id)));
  options.onClaimed?.();
  const ctx = options.ctx ?? await acquire();
  // the listeners the run adds to its devices, removed as it ends (a caller's device goes on)
  const unwatch: (() => void)[] = [];
  // Whatever ends the run (a refused resume or fault, a writer that throws, a fatal loss),
  // a device the run acquired itself is destroyed; the caller's own `ctx` is the caller's.
  try {
    // Once per run: a re-acquired device (after a loss or a timeout) is of the same class.
    const warmupMs = resolveWarmupMs(options.warmupMs ?? "auto", ctx.caps);
    // Queued on a GPU, waited on a CPU implementation (kernels/replay.ts replayModeForClass).
    const replay = replayModeForClass(deviceClassOf(ctx.caps)?.kind);
    // A profile cannot make the device bigger than it is: said once per profile and limit.
    for (const line of profileLimitWarnings(mine, ctx.caps)) console.error(line);
    const specCache = new Map<string, Promise<MlaSpec>>();
    // the cases of this shard that run the clean kernels (recorded in report.json)
    let faultClean: PlantedFaultClean[] = [];
    if (options.fault) {
      // A planted fault no case would execute could only give a green run: refused before
      // anything is written (the plans are resolved on the device's caps, nothing runs).
      // Asked of the whole selection, not this shard: a shard of a run that reaches the
      // fault is part of that run, whatever its own cases are.
      await checkFaultReached(all, options.fault, ctx.caps, {
        baseDir,
        specCache,
        backend: options.backend,
      });
      // This shard's cases that do not execute it run clean: said, or their passes read as
      // the checks missing the fault.
      faultClean = await faultMisses(mine, options.fault, ctx.caps, {
        baseDir,
        specCache,
        backend: options.backend,
      });
      const warning = faultMissWarning(
        options.fault.id,
        mine.length,
        cleanReasonCounts(faultClean),
      );
      if (warning !== null) console.error(warning);
    }
    // another runtime's adapter (its caps with every info field it reports) and browser
    const remote = isRemoteDevice(ctx) ? remoteFingerprint(ctx.caps, ctx.identity) : null;
    const collected = await collectFingerprint({
      adapter: remote?.adapter ?? ctx.caps,
      kernelDir: new URL("../kernels/", import.meta.url),
    });
    const fingerprint = remote ? { ...collected, browser: remote.browser } : collected;
    // the host's load as the cases start, and as each report is written (a loaded host's
    // timings can move several-fold: a compare says so of its speed verdicts)
    const loadAtStart = sampleLoad();
    if (resumed && previous.size > 0) {
      const notes = checkResumeEnvironment(options.out, resumed, previous.size, fingerprint);
      for (const note of notes) console.error(note);
      checkResumeTiming(options.out, resumed, previous, {
        repeats: options.repeats ?? 3,
        warmupMs,
        resolve: (asked) => resolveWarmupMs(asked, ctx.caps),
      });
    }
    // The barrier findings of the run resumed: what its launches compiled in the cases kept
    // (another process's, so not in this one's list) is still this run's.
    const keptFindings = resumed && previous.size > 0 ? resumed.barrierFindings ?? [] : [];
    // GPU errors raised outside every case's error scope (see watchDevice below)
    const lateGpuErrors: LateGpuError[] = [];
    // ... and those of the run resumed, in the cases it keeps (or before any case): the
    // resumed report listed this session's only, as if the earlier one had raised none
    const keptLate = resumed && previous.size > 0
      ? (resumed.lateGpuErrors ?? []).filter((l) =>
        l.afterCase === null || previous.has(l.afterCase)
      )
      : [];
    // ... and its host's load: the kept results were timed then, so the busiest of the
    // sessions' loads is the run's (this session's alone made a busy first session's
    // timings look quiet)
    const keptLoad = resumed && previous.size > 0 ? resumed.hostLoad : undefined;
    let lastCase: string | null = null;
    let previousCase: string | null = null;
    const header = (results: CaseResult[], interrupted: boolean): RunReport => ({
      version: 1,
      ...identity,
      matrixIds: all.map((c) => c.id),
      shardIds: mine.map((c) => c.id),
      results,
      fingerprint,
      startedAt: runStartedAt,
      endedAt: new Date().toISOString(),
      totals: computeTotals(results),
      interrupted,
      ...(options.fault ? { plantedFault: options.fault.id, plantedFaultClean: faultClean } : {}),
      ...(matrixFileOf(options.matrix) !== undefined
        ? { matrixPath: resolve(options.matrix) }
        : {}),
      ...(options.configRoot !== undefined
        ? { configRoot: options.configRoot, configRootPath: resolve(options.configRoot) }
        : {}),
      ...(options.backendModules?.length
        ? {
          backendModules: options.backendModules,
          backendModulePaths: options.backendModules.map((m) => backendModulePath(m)),
          barrierFindings: userBarrierFindings(keptFindings),
        }
        : {}),
      ...(configDigests !== undefined ? { configDigests } : {}),
      ...(matrixDigest !== undefined ? { matrixDigest } : {}),
      ...(keptLate.length + lateGpuErrors.length > 0
        ? { lateGpuErrors: [...keptLate, ...lateGpuErrors] }
        : {}),
      repeats: options.repeats ?? 3,
      warmupMs: options.warmupMs ?? "auto",
      maxRows: options.maxRows ?? DEFAULT_MAX_ROWS,
      caseTimeoutS: (options.caseTimeoutMs ?? DEFAULT_CASE_TIMEOUT_S * 1000) / 1000,
      hostLoad: busiestLoad([keptLoad, hostLoad(loadAtStart, sampleLoad())])!,
    });
    const statePath = `${options.out}/${RUN_FILES.state}`;
    // A file there this process may not remove or replace (an immutable one, another user's in
    // a sticky folder, --deny-write): exit 2 naming it, where it was an internal error with a
    // stack trace, after the reports had been removed (run.json first: the folder still reads
    // as the run it held, through run.json or its report.json).
    const unreplaceable = (f: string) => (e: unknown): never => {
      if (!(e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable)) {
        throw e;
      }
      throw new OutputPathError(
        `--out (${f})`,
        `${options.out}/${f}`,
        `cannot be replaced (${osErrorText(e).replace(/, run again with .*$/, "")}): a run ` +
          "replaces the run.json and reports of the run the folder holds; make it writable " +
          "and removable, or pick another --out",
      );
    };
    // results.jsonl is changed below (a retried case's lines dropped, a replaced run's
    // emptied) only once run.json no longer says the run before finished: a kill in between
    // left a run.json "finished" over no results, or over a finished run's with cases missing.
    // A resume says "running" at once (its results are this run's); a replaced run's run.json
    // goes first (its results, left without it, are refused as a run unknown, not taken for
    // this run's), and this run's is written once they are emptied.
    const running = () =>
      writeRunState(statePath, { version: 1, state: "running", report: header([], true) });
    if (options.resume) await running().catch(unreplaceable(RUN_FILES.state));
    else {
      await Deno.remove(statePath).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) unreplaceable(RUN_FILES.state)(e);
      });
    }
    // Reports of the run being replaced, or of a resumed run's earlier stop, would describe a
    // run that is no longer there (a resume killed before its end would leave them standing).
    for (const f of [...RUN_REPORT_FILES, ...(options.staleFiles ?? [])]) {
      await Deno.remove(`${options.out}/${f}`).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) unreplaceable(f)(e);
      });
    }
    await options.testOnlyBeforeResults?.();
    if (retried.length > 0) {
      // results.jsonl keeps one line per case: the lines of the cases run again go (the file
      // replaced whole, so a resume killed here leaves the kept lines, and those cases missing)
      await writeTextAtomic(resultsPath, [...previous.values()].map(formatJsonlLine).join(""));
      const ids = [...new Set(retried.map((r) => r.id))];
      console.error(
        `resume: ${plural(ids.length, "case")} that a device loss or a timeout ended ` +
          `${ids.length === 1 ? "runs" : "run"} again: ${ids.slice(0, 5).join(", ")}${
            ids.length > 5 ? `, and ${ids.length - 5} more` : ""
          }`,
      );
    }
    const writer = await JsonlWriter.open(resultsPath, { truncate: !options.resume });
    if (!options.resume) await running();
    const progress = new ProgressReporter(mine.length, {
      out: options.progress,
      ...progressOptions(options.progressMode ?? "auto"),
    });
    progress.resumed([...previous.values()]);
    // A resume with nothing to keep (an --out mistyped, a folder emptied) ran every case again
    // without a word: said (the commands that finish a merge resume a shard's absent folder)
    if (options.resume && previous.size === 0 && retried.length === 0) {
      console.error(
        resumed === null
          ? `resume: ${options.out} holds no run to resume: every case runs, as a new run`
          : `resume: the run in ${options.out} had finished no case: every case runs`,
      );
    }
    const fresh: CaseResult[] = [];
    const runOne = options.testOnlyCaseRunner ?? runCase;
    const timeoutMs = options.caseTimeoutMs ?? DEFAULT_CASE_TIMEOUT_S * 1000;
    // the resume a stopped run names, with the run's own --case-timeout (the report records
    // it): after timeouts in a row it named the default, which times them out again
    const resumeCommand = (r: Parameters<typeof runCommandFor>[0]) =>
      [runCommandFor(r, options.out, true), ...(options.resumeWords ?? [])].join(" ");
    const abandon = options.abandon;
    const abandoned = new Promise<Outcome>((res) => {
      if (abandon?.aborted) res({ kind: "abandoned" });
      abandon?.addEventListener("abort", () => res({ kind: "abandoned" }), { once: true });
    });
    // A GPU error outside every case's error scope (a pass a launch() left floating, that
    // landed after its case ended): WebGPU raises it on the device as "uncapturederror", which
    // nothing listened to, so it was lost without a word. Each device of the run is watched.
    const watched = new WeakSet<object>();
    const watchDevice = () => {
      // the Chromium page's too: it hands each back with the next case's reply
      const stop = watchRunDevice(ctx, watched, (message, beforeCase) => {
        const late = { afterCase: beforeCase ? previousCase : lastCase, message };
        lateGpuErrors.push(late);
        // the first few said as they come (a module that leaves a pass floating in every case
        // would fill the terminal); the rest counted as the run ends
        if (lateGpuErrors.length <= LATE_ERRORS_SAID) console.error(lateGpuErrorLine(late));
      });
      if (stop !== null) unwatch.push(stop);
    };
    let lateWritten = 0;
    let losses = 0;
    const maxLosses = options.maxLosses ?? 3;
    let interrupted = false;
    let fatal: Error | null = null;
    let writeFailed = false;
    try {
      for (const c of todo) {
        if (options.signal?.aborted || abandon?.aborted) {
          interrupted = true;
          break;
        }
        // the GPU errors outside every case's error scope so far, in run.json "running": a
        // run killed halfway kept none (run.json was written as it started, results.jsonl
        // holds results), and its resume's report lacked them
        if (lateGpuErrors.length > lateWritten) {
          lateWritten = lateGpuErrors.length;
          await running().catch(() => {});
        }
        watchDevice();
        [previousCase, lastCase] = [lastCase, c.id];
        const t0 = performance.now();
        const outcome = await settle(
          // async wrapper: a runner that throws synchronously rejects like any other
          (async () =>
            await runOne(c, {
              ctx,
              baseDir,
              repeats: options.repeats,
              warmupMs,
              replay,
              maxRows: options.maxRows,
              mutate: options.mutate,
              fault: options.fault,
              backend: options.backend,
              specCache,
            }))(),
          timeoutMs,
          abandoned,
        );
        if (outcome.kind === "abandoned") {
          interrupted = true;
          // The case goes on in the background: a device of the run's own goes now, so that
          // its compiles and GPU work stop, where they held up the reports (nightly on lavapipe:
          // 0.8-3.6 s from SIGTERM to exit, where a CI runner's SIGKILL can follow within
          // seconds; with the device gone, 0.1-0.4 s). A caller's device is the caller's.
          if (!options.ctx) ctx.destroy();
          break;
        }
        // The last loss the run allows stops it: that case's message says so.
        const lastLoss = (ctx.lost || outcome.kind === "timeout") &&
          losses + 1 >= maxLosses;
        const result = outcome.kind === "done"
          ? outcome.result
          : outcome.kind === "threw"
          ? errorResult(c, describeException(outcome.error), performance.now() - t0)
          : errorResult(
            c,
            `timed out after ${timeoutMs / 1000} s (--case-timeout); ` +
              (lastLoss
                ? `${
                  plural(losses + 1, "device loss or timeout", "device losses or timeouts")
                } in a row: the run stopped here`
                : options.signal?.aborted
                // Ctrl-C came during the case: the run stops after it (it said "went on")
                ? "the device was re-acquired and the run stopped here, interrupted"
                : "the device was re-acquired and the run went on"),
            performance.now() - t0,
          );
        // an error or a failure on a device lost under it (reads of a lost device can come back
        // as zeros and fail the comparison), or a timeout: marked, so that --resume runs it again
        const marked: CaseResult = (ctx.lost || outcome.kind === "timeout") &&
            (result.status === "error" || result.status === "fail")
          ? { ...result, deviceLoss: true }
          : result;
        // A result JSON cannot write (a bigint or a cycle a backend put in it) is that
        // case's error, naming what; it was written as a full disk (exit 3, "free space").
        const unwritable = unwritableJson(marked);
        const recorded: CaseResult = {
          ...(unwritable === null ? marked : errorResult(
            c,
            `its result cannot be written to ${RUN_FILES.results}: ${unwritable}, which JSON ` +
              `cannot write (the case ended ${marked.status}${
                marked.message === undefined || typeof marked.message !== "string"
                  ? ""
                  : `: ${marked.message}`
              })`,
            performance.now() - t0,
          )),
          // what the matrix said of the case: a resume after the matrix grew keeps it by this
          caseDigest: caseDigests.get(c.id),
        };
        try {
          await writer.write(recorded);
        } catch (e) {
          // A full disk (or quota, or an I/O error): the run stops here, what results.jsonl
          // holds is kept (a half-written last line is dropped on resume), and the message
          // says so, where it was an internal error with a stack trace, exit 1
          const kept = previous.size + fresh.length;
          fatal = new OutputWriteError(
            resultsPath,
            `cannot write the result of ${c.id}: ${osErrorText(e)}; the run stopped there and ` +
              `the ${plural(kept, "result")} before it are kept: free space, then ` +
              (options.insteadOfResume ??
                // the run's own options: a bare `--resume` is refused for another filter
                `run the rest with ${resumeCommand(header([], true))}`),
            { cause: e },
          );
          writeFailed = true;
          break;
        }
        fresh.push(recorded);
        progress.caseDone(recorded);
        if (ctx.lost || outcome.kind === "timeout") {
          losses++;
          if (losses >= maxLosses) {
            // what is kept and what to do (it said neither: the exit 3 line was the last)
            fatal = new DeviceLostError(
              "repeated",
              `the device was lost or a case timed out ${losses} times in a row; ` +
                (options.insteadOfResume ??
                  `the reports are written, marked interrupted, and ${
                    resumeCommand(header([], true))
                  } runs the rest`),
            );
            break;
          }
          // A hung case's device is dropped; its late result, if any, is ignored.
          if (outcome.kind === "timeout") ctx.destroy();
          try {
            await ctx.reacquire();
          } catch (e) {
            // No device for the next case: the run stops here, and its reports (what it
            // measured, the cases not run) are written as for any other stop.
            fatal = e instanceof Error ? e : new Error(String(e));
            fatal.message = `no device after the loss in ${c.id} (the run stopped there; ` +
              (options.insteadOfResume ?? "--resume runs it again and the rest") +
              `): ${fatal.message}`;
            break;
          }
        } else {
          losses = 0;
        }
      }
    } finally {
      await writer.close();
      progress.finish();
    }
    // What the cases submitted lands before the run closes: an error of a floating pass is
    // raised by then (not on a device a stop destroyed, lost, or that a timeout left hung).
    if (fatal === null && !abandon?.aborted && todo.length > 0) await settleRunDevice(ctx);
    const more = moreLateGpuErrorsLine(
      lateGpuErrors.length,
      `${RUN_FILES.state} and ${RUN_FILES.report}`,
    );
    if (more !== null) console.error(more);
    const byId = new Map<string, CaseResult>([
      ...previous,
      ...fresh.map((r) => [r.id, r] as const),
    ]);
    const results = mine.map((c) => byId.get(c.id)).filter((r): r is CaseResult => r !== undefined);
    const report = header(results, interrupted || fatal !== null);
    try {
      await options.writeReports?.(options.out, report);
      await writeRunState(statePath, {
        version: 1,
        state: report.interrupted ? "interrupted" : "finished",
        report,
      });
    } catch (e) {
      // on the disk that results.jsonl could not be written to, the reports most likely
      // cannot be either: the folder reads as a killed run (run.json "running"), which
      // --resume and merge take, and the error that stopped the run is the one said
      if (writeFailed) {
        // said below
      } else if (isStorageFull(e)) {
        // "free space and run the command again" was refused: the folder holds a
        // half-finished run (run.json "running"); a resume writes the reports
        throw new OutputWriteError(
          options.out,
          `cannot write the run's reports (${osErrorText(e)}); its ${
            plural(results.length, "result")
          } are kept in results.jsonl: free space, then ` +
            (options.insteadOfResume ??
              `${resumeCommand(report)} writes them (running any case not run)`),
          { cause: e },
        );
      } else {
        throw e;
      }
    }
    if (fatal) throw fatal;
    return report;
  } finally {
    for (const f of unwatch) f();
    if (!options.ctx) ctx.destroy();
  }
}

/**
 * What the static barrier check found in the user backends' WGSL: the files their modules
 * list (checked on load, kernels/backend_module.ts) and what their launches compiled so far
 * (kernels/module_barriers.ts; under Chromium, what the page sent back), with `kept` (a
 * resumed run's), each finding once. Kept with the report, where a nightly job's reader
 * looks, and in compare-runtimes.json.
 *
 * @example
 * ```ts
 * import { userBarrierFindings } from "./run_matrix.ts";
 * userBarrierFindings([]).length; // 0 before any module is loaded
 * ```
 */
export function userBarrierFindings(
  kept: readonly BackendBarrierFinding[] = [],
): BackendBarrierFinding[] {
  return mergeFindings([
    ...kept.map((f) => ({ ...f, labels: [...f.labels] })),
    ...loadedBackendModules().flatMap((l) =>
      l.barriers.findings.map((f) => ({ backend: l.module.id, ...f }))
    ),
    ...compiledBarrierFindings(),
  ]);
}

/** Moved to ./late_gpu_errors.ts (shared with compare-runtimes); still exported here. */
export { lateGpuErrorLine };
