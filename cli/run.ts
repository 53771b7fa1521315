/**
 * `run`: the main job. Runs a case matrix on the default WebGPU adapter and writes
 * results.jsonl (streamed), report.json, junit.xml, summary.md and report.html.
 *
 * @module
 */
import { DEFAULT_MAX_ROWS } from "../results/types.ts";
import {
  listenForStop,
  stopExitCode,
  stoppedAfterLastCase,
  type StopSignal,
} from "./stop_signals.ts";
import {
  BACKEND_MODULE_HELP,
  checkBackendId,
  collect,
  loadBackendModuleOptions,
} from "./backend_options.ts";
import { backendById, isBundledBackend } from "../adapter/registry.ts";
import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { ALL_FAULTS, faultBackendOf } from "../parity/faults.ts";
import { applyBackendChoice, formatBackendChoice } from "../gpu/backend_choice.ts";
import { notCoveredLine } from "../report/not_covered.ts";
import { unusedBackends } from "../report/unused_backends.ts";
import { countsText } from "../report/totals.ts";
import { PROGRESS_MODES } from "../report/progress.ts";
import { checkOutputFile, prepareOutputDir } from "../report/output_paths.ts";
import { lockOutDir } from "../runner/out_lock.ts";
import {
  absolutePath,
  finishCommands,
  runCommandFor,
  shellWord,
} from "../report/finish_commands.ts";
import { faultMissedBy, faultSlipped, faultUncaught, faultUncheckedBy } from "../report/verdict.ts";
import { writeRunReports } from "../report/run_reports.ts";
import { RUN_FILES } from "../report/merge.ts";
import { appendStepSummary } from "../report/markdown.ts";
import { DEFAULT_CASE_TIMEOUT_S, runMatrix, selectCases } from "../runner/run_matrix.ts";
import { backendsCompiling, mayCompile } from "../runner/fault_reach.ts";
import { checkOptionNeeds } from "./option_needs.ts";
import { CliError, EXIT } from "./errors.ts";
import {
  CONFIG_ROOT_HELP,
  MAX_CASES_HELP,
  MAX_REPEATS,
  MAX_WARMUP_MS,
  parseFilterOption,
  parsePositiveInt,
  parseRepeats,
  parseWarmupMs,
  refuseBenchMatrix,
} from "./options.ts";
import { GPU_WARMUP_MS } from "../kernels/replay.ts";
import { parseFailOn, THRESHOLDS_HELP } from "./compare.ts";
import {
  COMPARE_FILES,
  driftAfterRun,
  noteDriftSkipped,
  precheckBaseline,
} from "../drift/after_run.ts";
import { checkOutputsApart, type LabelledPath, runOutputFiles } from "../report/output_overlap.ts";
import { DEFAULT_THRESHOLDS, readThresholds } from "../drift/thresholds.ts";
import { DEFAULT_FAIL_ON } from "../drift/compare.ts";
import { DEFAULT_MAX_CASES, matrixFileOf } from "../matrix/expand.ts";
import { largeRunWarning } from "../matrix/select.ts";
import { checkHistoryFile } from "../drift/history.ts";
import { currentBackend, deviceKey } from "../drift/device_key.ts";
import { probeCaps } from "../gpu/device.ts";
import { isDirectory } from "../util/fs.ts";
import {
  checkRuntimeCombination,
  chromiumOption,
  exitOnStopDuringStart,
  runtimeOption,
  startChromiumRuntime,
  type StartStopListener,
} from "./runtime_options.ts";
import type { RunDevice } from "../gpu/runtime.ts";
import { plural } from "../util/plural.ts";
import { barrierEndLines } from "./backend_options.ts";
import type { RunReport } from "../results/types.ts";

/**
 * Parse `--shard i/n` (1 <= i <= n).
 *
 * @example
 * ```ts
 * import { parseShard } from "./run.ts";
 * parseShard("2/4"); // { index: 2, count: 4 }
 * ```
 */
export function parseShard(value: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  // past 2^53 a count is not the number written (1/99999999999999999999 was recorded as
  // 1/100000000000000000000)
  if (!m || count < 1 || index < 1 || index > count || !Number.isSafeInteger(count)) {
    throw new InvalidArgumentError(
      `"${value}" must look like i/n with 1 <= i <= n <= ${Number.MAX_SAFE_INTEGER}, e.g. 2/4`,
    );
  }
  return { index, count };
}

/** The longest timeout a timer can wait (2^31 - 1 ms), in whole seconds. */
const MAX_TIMEOUT_S = 2147483;

/**
 * Parse `--case-timeout <seconds>` (a non-negative decimal number, such as 90 or 0.5; 0: no
 * limit). As for the integer flags (options.ts `decimalDigits`), "0x10", "1e3", "+5" and
 * "Infinity" are refused, where Number() took the first two as 16 and 1000 seconds.
 *
 * @example
 * ```ts
 * import { parseSeconds } from "./run.ts";
 * parseSeconds("90"); // 90
 * ```
 */
export function parseSeconds(value: string): number {
  const s = value.trim();
  const n = /^([0-9]+\.?[0-9]*|\.[0-9]+)$/.test(s) ? Number(s) : NaN;
  // setTimeout takes at most 2^31 - 1 ms; past that it fires at once.
  if (!Number.isFinite(n) || n > MAX_TIMEOUT_S) {
    throw new InvalidArgumentError(
      `"${value}" must be a number of seconds from 0 to ${MAX_TIMEOUT_S} in decimal digits, ` +
        "e.g. 90 or 0.5 (0: no limit)",
    );
  }
  return n;
}

/**
 * What `--case-timeout 0` means, in the help of `run`, `bench` and `compare-runtimes`: it read
 * "(0: no limit)" alone, and a case that hung then waited forever without a word.
 */
export const NO_CASE_TIMEOUT_HELP = "0: no limit, and a case that hangs is then not caught: " +
  "the command waits on it until a second Ctrl-C or SIGTERM abandons it and writes the reports";

/**
 * The line `run`, `bench` and `compare-runtimes` start with under `--case-timeout 0`, and
 * null for a limit.
 *
 * @example
 * ```ts
 * import { noCaseTimeoutNote } from "./run.ts";
 * noCaseTimeoutNote(0); // "note: --case-timeout 0: no limit; a case that hangs is not caught ..."
 * noCaseTimeoutNote(600); // null
 * ```
 */
export function noCaseTimeoutNote(seconds: number): string | null {
  return seconds > 0 ? null : "note: --case-timeout 0: no limit; a case that hangs is not " +
    "caught, and the command waits on it until a second Ctrl-C or SIGTERM abandons it and " +
    "writes the reports";
}

/** The `--progress` help of `run` and `baseline update` (its choices: `PROGRESS_MODES`). */
export const PROGRESS_HELP =
  "what the console shows as cases finish: auto (a live line on a terminal, a line per " +
  "case otherwise), cases (a line per case), failures (a line per failure and a count " +
  "line at most once a minute: a nightly of thousands of cases)";

/** The `--warmup-ms` help of `run` and `baseline update`. */
export const WARMUP_MS_HELP =
  "before each attention case's timed repetitions, replay it untimed for this many " +
  `milliseconds, 0 to ${MAX_WARMUP_MS}; auto: ${GPU_WARMUP_MS} on a gpu-class device, 0 on a ` +
  "cpu-class one (results.jsonl records it as timing.warmupMs). A GPU that idled while the " +
  "case compiled and was checked runs its repetitions at lowered clocks (on the H200 of " +
  "docs/gpu_machine/h200-2026-12-04 the SM clock's median was 435-450 MHz without a warm-up, " +
  `1980 MHz with ${GPU_WARMUP_MS} ms)`;

/**
 * Refuse (exit 2) `--plant-fault` with a `--backend` that never compiles the kernel file
 * the fault rewrites: every case would run without the fault and pass.
 *
 * @example
 * ```ts
 * import { checkBackendCompiles } from "./run.ts";
 * checkBackendCompiles("kpe-left-out", "absorbed.wgsl", "wgsl-absorbed"); // no error
 * ```
 */
export function checkBackendCompiles(faultId: string, file: string, backend: string): void {
  if (mayCompile(backend, file)) return;
  throw new CliError(
    `--plant-fault ${faultId} rewrites ${file}, which --backend ${backend} never compiles, so ` +
      `every case would run without the fault; backends that compile it: ` +
      `${backendsCompiling(file).join(", ")} (or leave --backend out: a planted fault runs ` +
      "its cases on the backend it is planted in)",
    EXIT.badInput,
  );
}

/**
 * Exit code of a finished run: 1 when any case failed, was unexpected or errored.
 *
 * @example
 * ```ts
 * import { runExitCode } from "./run.ts";
 * runExitCode({ fail: 0, unexpected: 1, error: 0 }); // 1
 * ```
 */
export function runExitCode(totals: { fail: number; unexpected: number; error: number }): number {
  return totals.fail + totals.unexpected + totals.error > 0 ? EXIT.failure : EXIT.ok;
}

/**
 * What `run --plant-fault` says when no case failed: the fault slipped through (exit 4), and
 * the cases that ran with it and passed (the first five named), apart from those that ran
 * the clean kernels or a backend no input shows it on; where every case was such, a warning
 * (nothing slipped).
 *
 * @example
 * ```ts
 * import { uncaughtFaultLine } from "./run.ts";
 * uncaughtFaultLine(
 *   { plantedFault: "f", plantedFaultClean: [], results: [{ id: "a", status: "pass" }] },
 *   "what it changes",
 * ); // "error: --plant-fault f was not caught: no case failed; the 1 case that ran with it ..."
 * ```
 */
export function uncaughtFaultLine(
  report: Pick<RunReport, "plantedFault" | "plantedFaultClean"> & {
    readonly results: readonly Pick<RunReport["results"][number], "id" | "status">[];
    readonly interrupted?: boolean;
  },
  description: string,
  options: { stoppedBy?: StopSignal | null } = {},
): string {
  // a stopped run is exit 130: the cases not run may catch it ("exit 4" beside exit 130)
  if (report.interrupted) {
    return `warning: --plant-fault ${report.plantedFault}: no case failed of the ` +
      `${plural(report.results.length, "case")} run before the stop; the cases not run may ` +
      "catch it (--resume runs them)";
  }
  const missed = faultMissedBy(report);
  const unchecked = faultUncheckedBy(report);
  const five = (ids: string[]) =>
    ids.slice(0, 5).join(", ") + (ids.length > 5 ? ` and ${ids.length - 5} more` : "");
  const clean = report.results.length - missed.length - unchecked.length;
  // cases that ran the clean kernels (or a backend blind to it) cannot catch it: not a fault
  // that slipped through
  if (missed.length === 0 && unchecked.length === 0) {
    return `warning: --plant-fault ${report.plantedFault}: every case that ran (${clean}) ` +
      "could not show it, so this run says nothing of the checks catching it";
  }
  // a case that errored (a timeout, a compile error) was no check catching the fault: it
  // was exit 1, the self-test's "caught"
  const parts = [
    missed.length > 0
      ? `the ${plural(missed.length, "case")} that ran with it passed (${five(missed)})`
      : "",
    unchecked.length > 0
      ? `${plural(unchecked.length, "case")} errored or ${
        unchecked.length === 1 ? "was" : "were"
      } decided other than expected (${five(unchecked)}), which is not a check catching it`
      : "",
    clean > 0 ? `${clean} could not show it` : "",
  ].filter(Boolean).join(", ");
  return `error: --plant-fault ${report.plantedFault} was not caught: ` +
    `${unchecked.length > 0 ? "no parity check failed" : "no case failed"}; ${parts}, so ` +
    "this run does not show the checks catching it: " +
    (missed.length > 0
      ? "its cases may not reach the faulted code"
      : "fix what the errors say and run it again") +
    ` (the fault: ${description}); ` +
    // a signal during the last case stopped nothing, but the exit is the signal's: "exit 4"
    // stood beside "exit 130"
    (options.stoppedBy
      ? `exit ${stopExitCode(options.stoppedBy)} (${options.stoppedBy} came during the last case)`
      : "exit 4");
}

/**
 * The line `run` ends with: results over selected cases, the totals and where the reports
 * are. Its form ("156/156 cases: 156 pass, 0 fail, ...") is grepped by people and scripts;
 * a run of one case reads "1/1 case: ...". A case the adapter refused as it expected counts
 * as a pass in the totals (the exit code's rule); the line names those apart, as summary.md
 * does. A stopped run (SIGINT, SIGTERM) says so before where the reports are, with the
 * cases it did not run: "110/159 cases: 110 pass, ...; reports in out/" read as a whole run.
 *
 * @example
 * ```ts
 * import { runSummaryLine } from "./run.ts";
 * import type { RunReport } from "../results/types.ts";
 * declare const report: RunReport;
 * runSummaryLine(report, "out/smoke"); // e.g. "1/1 case: 1 pass, 0 fail, 0 unexpected, 0 error; reports in out/smoke/"
 * ```
 */
export function runSummaryLine(
  report: Pick<RunReport, "results" | "shardIds" | "totals"> & { interrupted?: boolean },
  out: string,
): string {
  const left = report.shardIds.length - report.results.length;
  const stopped = report.interrupted === true
    ? `; interrupted, ${left > 0 ? `${plural(left, "case")} not run` : "every case run"}`
    : "";
  return `${report.results.length}/${plural(report.shardIds.length, "case")}: ` +
    `${countsText(report.results)}${stopped}; reports in ${out}/`;
}

/**
 * The options among `inputs` that name a file (not a folder, not a URL): the inputs a
 * command's outputs must not overwrite ({@link checkOutputsApart}). A folder (a baselines
 * folder) is left out: the run writes none of its files.
 *
 * @example
 * ```ts
 * import { fileInputs } from "./run.ts";
 * await fileInputs([["--baseline", "/"], ["--thresholds", undefined]]); // []
 * ```
 */
export async function fileInputs(inputs: readonly LabelledPath[]): Promise<LabelledPath[]> {
  const files: LabelledPath[] = [];
  for (const [label, path] of inputs) {
    if (path === undefined || path.includes("://")) continue;
    const folder = await Deno.stat(path).then((i) => i.isDirectory, () => false);
    if (!folder) files.push([label, path]);
  }
  return files;
}

/**
 * Build the `run` command.
 *
 * @example
 * ```ts ignore
 * import { runCommand } from "./run.ts";
 * const cmd = runCommand();
 * ```
 */
export function runCommand() {
  return new Command("run")
    .description(
      "Run a matrix of MLA cases on the default WebGPU adapter: adapter decision, kernels, " +
        "float64 reference, parity, timings. Each result is appended to <out>/results.jsonl as " +
        "soon as it exists; report.json, junit.xml, summary.md (also appended to " +
        "$GITHUB_STEP_SUMMARY when set) and report.html (plots) are written at the end; run.json (which matrix, filter " +
        "and shard, and how far the run got) at the start and the end, and before a case when " +
        "GPU errors raised outside every case's error scope have arrived (its lateGpuErrors: a " +
        "run killed halfway keeps them). A case that throws " +
        "or exceeds --case-timeout is recorded as that case's error and the run goes on. " +
        "Ctrl-C (SIGINT) stops after the current case (a second Ctrl-C: at once), SIGTERM and " +
        "SIGHUP (a terminal closed, an ssh session dropped) at once; all keep everything " +
        "finished and write the reports, marked interrupted. A folder holding a half-finished " +
        "run needs --resume or --force; a finished run there is replaced. Exit codes: 0 all " +
        "pass; 1 a parity failure, an unexpected support decision, a case error (with " +
        "--plant-fault and no parity failure, either of the last two is 4), or a --backend " +
        "that ran none of the cases expected to run, for reasons other than what the device " +
        "lacks (a --backend-module whose backend ran none is a warning); " +
        "2 bad input " +
        "(an unusable --out included); 3 no adapter, repeated device loss or timeouts, or a " +
        "full disk (results.jsonl keeps what was written: --resume runs the rest); 4 a " +
        "--plant-fault no parity check caught; 130 interrupted by SIGINT (also during the last case, " +
        "which then finishes and the reports are complete, said so); 143 by SIGTERM; 129 by SIGHUP.",
    )
    .option(
      "--matrix <name|file>",
      "bundled matrix (smoke, nightly, adapter) or a JSON file; one matrix (a comma list, " +
        "as bench --matrix takes: exit 2)",
      "smoke",
    )
    .option(
      "--filter <query>",
      "select cases, e.g. 'preset=deepseek-v2-lite;dtype=f16,f32' (an empty one: exit 2)",
      parseFilterOption,
    )
    .option(
      "--shard <i/n>",
      "run only shard i of n (cases assigned by a hash of their id)",
      parseShard,
    )
    .option("--out <dir>", "output directory", "out/run")
    .option(
      "--max-cases <n>",
      MAX_CASES_HELP,
      parsePositiveInt,
      DEFAULT_MAX_CASES,
    )
    .option(
      "--config-root <dir>",
      CONFIG_ROOT_HELP,
    )
    .addOption(
      new Option(
        "--resume",
        "skip cases already in <out>/results.jsonl (the folder must hold a run of the same " +
          "matrix, filter, shard, --plant-fault, --backend, --repeats, --warmup-ms and " +
          "--max-rows, whose config files its finished cases read have not changed since it " +
          "started, in the same " +
          "environment: device, WebGPU backend, runtime, kernel sources, plan caps and harness " +
          "revision; a matrix file that has since gained cases, or changed cases not run yet, " +
          "keeps the finished cases and runs the rest as it now says, but a finished case it " +
          "removed or now says otherwise of, or one recorded by a harness from before per-case " +
          "digests, is refused, named)",
      ).conflicts("force"),
    )
    .option("--force", "start over even when <out> holds a half-finished run")
    .option(
      "--case-timeout <seconds>",
      "seconds a case may run before it is recorded as an error and the device re-acquired " +
        `(${NO_CASE_TIMEOUT_HELP})`,
      parseSeconds,
      DEFAULT_CASE_TIMEOUT_S,
    )
    .option(
      "--repeats <n>",
      `timed repetitions per case after the checked run, 0 to ${MAX_REPEATS} (drift's speed ` +
        `test needs ${DEFAULT_THRESHOLDS.minSamples} a side, which fully apart reach p 0.008; ` +
        "more let a smaller shift reach p < 0.01)",
      parseRepeats,
      3,
    )
    .option("--warmup-ms <n|auto>", WARMUP_MS_HELP, "auto")
    .addOption(
      new Option("--progress <mode>", PROGRESS_HELP).choices(PROGRESS_MODES).default("auto"),
    )
    .option(
      "--max-rows <n>",
      "query rows the float64 reference computes at most",
      parsePositiveInt,
      DEFAULT_MAX_ROWS,
    )
    .addOption(
      new Option(
        "--plant-fault <id>",
        "run the cases with a planted fault, on the backend of the fault's kernel family " +
          "(a fault that rewrites a kernel file refuses another --backend); the run must turn " +
          "red: proves the checks work (exit 1: caught, its cases failed; exit 4: no case " +
          "failed, the fault slipped through, the cases that ran with it named, or those " +
          "that errored: an error is not a check catching it). A case that " +
          "cannot show it (its kernels do not execute it, or its backend runs it where no " +
          "input shows it) is warned of and counted in the reports; a selection where none " +
          "can is exit 2",
      ).choices(ALL_FAULTS.map((f) => f.id)),
    )
    .option(
      "--baseline <file|dir>",
      "compare with a baseline after the run (a folder picks <dir>/<device-key>.json; none " +
        "there: 'drift not checked' on the last line and atop summary.md and report.html, " +
        "exit unchanged); writes <out>/compare.md, compare.json and " +
        "compare.html, exit 1 on regressions",
    )
    .option(
      "--backend <id>",
      "run every case on this registered backend instead of the backend the adapter chooses for its path " +
        "(cases it refuses are reported as not run by it, with its reasons)",
    )
    .option("--backend-module <path>", BACKEND_MODULE_HELP, collect, [] as string[])
    .option("--history <db>", "append the run to this history database (SQLite)")
    .option("--thresholds <file>", `${THRESHOLDS_HELP}; read with --baseline (alone: exit 2)`)
    .option(
      "--fail-on <classes>",
      `drift classes that are regressions (exit 1), or none (default ${
        DEFAULT_FAIL_ON.join(",")
      }); ` +
        "read with --baseline (alone: exit 2)",
      parseFailOn,
    )
    .addOption(runtimeOption())
    .addOption(chromiumOption())
    .action(async (opts) => {
      // --fail-on and --thresholds shape the compare with --baseline: alone they would be
      // ignored, and a CI gate meant to fail would pass
      const baseline = { needs: "--baseline", met: opts.baseline !== undefined } as const;
      checkOptionNeeds("run", [
        {
          option: "--fail-on",
          value: opts.failOn === undefined ? undefined : opts.failOn.join(",") || "none",
          ...baseline,
        },
        { option: "--thresholds", value: opts.thresholds, ...baseline },
      ]);
      const warmupMs = parseWarmupMs(opts.warmupMs);
      // a bench matrix's name read as a file that cannot be read ("readfile 'headline'")
      await refuseBenchMatrix(opts.matrix, "run");
      checkRuntimeCombination(opts.runtime, { backendModules: opts.backendModule });
      const loaded = await loadBackendModuleOptions(opts.backendModule);
      const backend = opts.backend === undefined ? undefined : checkBackendId(opts.backend);
      if (opts.plantFault && backend !== undefined && !isBundledBackend(backend)) {
        throw new CliError(
          `--plant-fault plants faults in the bundled kernels only; backend ${backend} is a ` +
            "user backend (check it can fail with a fault of your own)",
          EXIT.badInput,
        );
      }
      const fault = opts.plantFault ? ALL_FAULTS.find((f) => f.id === opts.plantFault) : undefined;
      if (fault && opts.history) {
        throw new CliError(
          `--plant-fault ${fault.id} with --history ${opts.history}: the run's results and ` +
            "timings would be the fault's, stored as the kernels' history; drop one of them",
          EXIT.badInput,
        );
      }
      // A source fault rewrites one backend's kernel: another --backend would never run it.
      // A plan fault changes what any backend is given.
      const pinned = fault?.apply.kind === "source" && backend !== undefined
        ? faultBackendOf(fault, backendById(backend)?.path ?? "absorbed")
        : undefined;
      if (fault && pinned !== undefined && pinned !== backend) {
        throw new CliError(
          `--plant-fault ${fault.id} is planted in the kernels of ${pinned}; --backend ` +
            `${backend} would not run them (leave --backend out: a planted fault runs its ` +
            "cases on the backend it is planted in)",
          EXIT.badInput,
        );
      }
      if (fault?.apply.kind === "source" && backend !== undefined) {
        checkBackendCompiles(fault.id, fault.apply.file, backend);
      }
      await prepareOutputDir(opts.out, { label: "--out" });
      const outputs = runOutputFiles(opts.out, {
        label: "--out",
        also: opts.baseline ? Object.values(COMPARE_FILES) : [],
      });
      // each a file: a folder named summary.md was an internal error with a stack trace when
      // the reports were written, after every case had run
      for (const [label, path] of outputs) await checkOutputFile(path, { label });
      // --history naming <out>/report.json (or another file the run writes), or a file
      // input the run overwrites, is exit 2 naming both, before the run rather than after
      await checkOutputsApart(
        [...outputs, ["--history", opts.history]],
        await fileInputs([
          ["--baseline", opts.baseline],
          ["--thresholds", opts.thresholds],
          ["--matrix", matrixFileOf(opts.matrix)],
          ...opts.backendModule.map((m): LabelledPath => ["--backend-module", m]),
        ]),
      );
      // In a baselines folder, this device's file is checked before the run too (a truncated
      // one was found after it): its key from the adapter, as `baseline update` knows it
      // before its run; Chromium's adapter is known only once the browser runs.
      const key = opts.baseline !== undefined && opts.runtime !== "chromium" &&
          await isDirectory(opts.baseline)
        ? await probeCaps().then(
          (caps) => deviceKey({ adapter: caps }, { backend: currentBackend() }),
          () => undefined, // no adapter: the run says so
        )
        : undefined;
      await precheckBaseline(opts.baseline, { key });
      // a bad --history file is refused before the run, not after it
      if (opts.history) await checkHistoryFile(opts.history);
      const thresholds = opts.thresholds ? await readThresholds(opts.thresholds) : undefined;
      // the matrix, filter, shard and --max-cases, checked before the header: a refused run
      // printed "backend: ..." first, reading as a run that had started
      const selection = await selectCases({
        matrix: opts.matrix,
        filter: opts.filter,
        shard: opts.shard,
        maxCases: opts.maxCases,
        configRoot: opts.configRoot,
      });
      // the run header: which backend (or browser), why
      let device: RunDevice | undefined;
      let header: string | undefined;
      let startup: StartStopListener | undefined;
      if (opts.runtime === "chromium") {
        // the folder's lock held while the browser starts (runMatrix takes it again): a run
        // refused for a folder another run writes started and closed a browser first
        const lock = await lockOutDir(opts.out);
        let held = true;
        const release = async () => {
          if (held) await lock.release();
          held = false;
        };
        // a Ctrl-C or SIGTERM meanwhile: the browser closed, the lock released, said
        startup = exitOnStopDuringStart(async () => {
          await release();
          if (device && "close" in device) await device.close();
        });
        try {
          device = await startChromiumRuntime({ chromium: opts.chromium });
        } catch (e) {
          startup.dispose();
          throw e;
        } finally {
          await release();
        }
      } else header = formatBackendChoice(applyBackendChoice());
      const noLimit = noCaseTimeoutNote(opts.caseTimeout);
      // what the run does once its cases have run: the resume of a stopped run names them
      // too (it named the run's selection alone, and a nightly resumed as told was neither
      // compared with its baseline nor stored in its history); and its --max-cases (a run of
      // more than the default's cases resumed as told was refused) and --progress
      const resumeWords = [
        ...(opts.maxCases === DEFAULT_MAX_CASES ? [] : ["--max-cases", String(opts.maxCases)]),
        ...(opts.progress === "auto" ? [] : ["--progress", opts.progress]),
        // (their paths absolute: `deno task harness` runs in the harness's folder)
        ...(opts.baseline === undefined
          ? []
          : ["--baseline", shellWord(absolutePath(opts.baseline))]),
        ...(opts.thresholds === undefined
          ? []
          : ["--thresholds", shellWord(absolutePath(opts.thresholds))]),
        ...(opts.failOn === undefined ? [] : ["--fail-on", opts.failOn.join(",") || "none"]),
        ...(opts.history === undefined ? [] : ["--history", shellWord(absolutePath(opts.history))]),
      ];
      // Ctrl-C: after the current case; a second Ctrl-C or SIGTERM: at once (cli/stop_signals.ts)
      // `run --baseline`: summary.md goes to $GITHUB_STEP_SUMMARY once the drift step has
      // written its verdict into it (appended before, its ✅ stood above compare.md's
      // regressions in a step that failed on them); once, however the command ends
      const deferSummary = opts.baseline !== undefined;
      let summaryAppended = false;
      // (only a summary.md this run wrote: a refused folder's is another run's)
      let reportsWritten = false;
      const appendRunSummary = async () => {
        if (!deferSummary || !reportsWritten || summaryAppended) return;
        summaryAppended = true;
        const text = await Deno.readTextFile(`${opts.out}/${RUN_FILES.summary}`).catch(() => null);
        if (text !== null) await appendStepSummary(text);
      };
      const stop = listenForStop();
      startup?.dispose();
      const exitOnStop = () => stopExitCode(stop.stoppedBy() ?? "SIGINT");
      try {
        const report = await runMatrix({
          selection,
          // said once the folder is claimed: a folder refused (a half-finished run, another
          // run's) printed "backend: ..." first, as if the run had started
          onClaimed: () => {
            if (header !== undefined) console.log(header);
            if (noLimit !== null) console.error(noLimit);
            const large = largeRunWarning(selection.mine.length);
            if (large !== null) console.error(large);
          },
          matrix: opts.matrix,
          out: opts.out,
          filter: opts.filter,
          shard: opts.shard,
          maxCases: opts.maxCases,
          configRoot: opts.configRoot,
          resume: opts.resume,
          force: opts.force,
          caseTimeoutMs: opts.caseTimeout * 1000,
          repeats: opts.repeats,
          warmupMs,
          progressMode: opts.progress,
          maxRows: opts.maxRows,
          fault,
          backend,
          backendModules: opts.backendModule,
          signal: stop.afterCase,
          abandon: stop.atOnce,
          ctx: device,
          // the groups of cases not run are looked up in the matrix, as the run read it
          // summary.md's and report.html's resume carry the words the terminal's does
          // with --baseline the step summary waits for the drift verdict (appendRunSummary)
          writeReports: (out, r) =>
            writeRunReports(out, r, { finishWords: resumeWords, stepSummary: !deferSummary }),
          // a compare.md of an earlier run's --baseline is not this run's
          staleFiles: Object.values(COMPARE_FILES),
          resumeWords,
        });
        reportsWritten = true;
        const t = report.totals;
        console.log(runSummaryLine(report, opts.out));
        // a planted fault no case failed on proves nothing: said, where a green line read as
        // the checks having caught it
        const missed = fault !== undefined && faultUncaught(report);
        if (missed) {
          const stoppedBy = report.interrupted ? null : stop.stoppedBy();
          console.error(uncaughtFaultLine(report, fault.description, { stoppedBy }));
        }
        const uncaught = !report.interrupted && faultSlipped(report);
        // a stopped run: the command that finishes it, which summary.md and report.html give
        // (the terminal said only how many cases were not run)
        if (report.interrupted) {
          // with the run's own --case-timeout, which the report records
          for (const cmd of finishCommands(report, opts.out, { runWords: resumeWords })) {
            console.error(`to finish the run: ${cmd}`);
          }
        } else {
          // cases a device loss or a --case-timeout ended, not their kernels: --resume runs
          // them again (README), which a run that went on to its end did not say
          const ended = report.results.filter((r) => r.deviceLoss === true);
          const lost = ended.map((r) => r.id);
          if (lost.length > 0) {
            const them = lost.length === 1 ? "it" : "them";
            const timedOut = ended.some((r) => r.message?.startsWith("timed out after"));
            console.error(
              `${plural(lost.length, "case")} ended by a device loss or --case-timeout, not by ` +
                `${lost.length === 1 ? "its" : "their"} kernels (${lost.slice(0, 3).join(", ")}${
                  lost.length > 3 ? `, and ${lost.length - 3} more` : ""
                }): to run ${them} again, keeping the rest: ${
                  [runCommandFor(report, opts.out, true), ...resumeWords].join(" ")
                }${timedOut ? " (with a longer --case-timeout for a case that timed out)" : ""}`,
            );
          }
        }
        const gap = notCoveredLine(report.results, { runtime: opts.runtime });
        if (gap !== null) console.log(gap);
        // A backend asked for that no case ran on: said, and with --backend the run fails
        // (a finished run only: an interrupted one may not have reached its cases).
        const unused = report.interrupted
          ? { lines: [], backendRanNothing: false }
          : unusedBackends(report.results, {
            backend,
            modules: loaded.map((m) => ({ id: m.module.id, specifier: m.specifier })),
          });
        for (const line of unused.lines) console.error(line);
        // what the backends' launches compiled that their listed files did not show, then
        // the count again, where a long run's reader looks (the load's lines scrolled away)
        const races = report.barrierFindings ?? [];
        for (const line of barrierEndLines(races, loaded, 'summary.md under "Barrier check"')) {
          console.error(line);
        }
        if (report.interrupted && stop.atOnce.aborted) {
          // stopped at once: what the run does after its cases is not done, said (a nightly's
          // compare.md and history row were missing without a word)
          const skipped = [
            ...(opts.baseline === undefined
              ? []
              : [`not compared with --baseline ${opts.baseline}`]),
            ...(opts.history === undefined ? [] : [`not stored in --history ${opts.history}`]),
          ];
          if (skipped.length > 0) {
            console.error(
              `stopped at once: ${skipped.join(", ")}; the resume above does it once the run is ` +
                "finished",
            );
          }
          // and the pages say it (summary.md had no drift line, report.html's verdict none)
          await noteDriftSkipped(report, {
            baseline: opts.baseline,
            history: opts.history,
            out: opts.out,
            finishWords: resumeWords,
          });
          await appendRunSummary();
          Deno.exitCode = exitOnStop();
          return;
        }
        const drift = await driftAfterRun(report, {
          baseline: opts.baseline,
          history: opts.history,
          thresholds,
          failOn: opts.failOn,
          out: opts.out,
          stepSummary: true,
          finishWords: resumeWords,
          beforeStepSummary: appendRunSummary,
        }).finally(appendRunSummary);
        // a Ctrl-C during the last case stopped nothing (the case finished, the reports are
        // whole): exit 130 still, as bench's and compare-runtimes', said so, where it was 0
        const lateStop = report.interrupted ? null : stop.stoppedBy();
        if (lateStop !== null) {
          console.error(stoppedAfterLastCase(lateStop, { cases: report.results.length }));
        }
        // a --baseline folder without this device's: said last, where a nightly's log ends
        // (the warning above scrolled away; the exit code is the run's own, README)
        if (drift.notChecked !== undefined) console.error(drift.notChecked);
        Deno.exitCode = report.interrupted
          ? (stop.afterCase.aborted || stop.atOnce.aborted ? exitOnStop() : EXIT.infra)
          : lateStop !== null
          ? stopExitCode(lateStop)
          : uncaught
          // the self-test's answer: a fault no case caught is 4, apart from a caught one's 1
          ? EXIT.faultUncaught
          : Math.max(
            runExitCode(t),
            drift.regressions > 0 || unused.backendRanNothing ? EXIT.failure : EXIT.ok,
          );
      } finally {
        // whatever ended the command after the reports were written, the step has its summary
        await appendRunSummary();
        stop.dispose();
        if (device && "close" in device) await device.close();
      }
    });
}
