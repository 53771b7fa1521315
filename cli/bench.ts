/**
 * `bench`: device ceilings, then the kernel benchmark cases of one or more
 * bundled matrices; a table on the terminal, `--json` for one record per case,
 * `--out` for report.json, results.csv and summary.md.
 *
 * @module
 */
import {
  BACKEND_MODULE_HELP,
  checkBackendId,
  collect,
  compiledBarrierLines,
  loadBackendModuleOptions,
} from "./backend_options.ts";
import { Command, Option } from "@commander-js/extra-typings";
import { deviceClassOf } from "../adapter/device_class.ts";
import { backendById } from "../adapter/registry.ts";
import type { AttentionPath } from "../adapter/types.ts";
import {
  BENCH_MATRICES,
  type BenchCase,
  benchCaseId,
  benchCaseParams,
  benchMatrix,
  filterBenchCases,
  parseBenchFilter,
  targetClassOf,
} from "../bench/cases.ts";
import { BUNDLED_MATRICES } from "../matrix/expand.ts";
import { upgradeFolderProblem } from "../report/run_folder.ts";
import { bestCeilings, isCeilingNotTimed, measureCeilings } from "../bench/ceilings.ts";
import { crossovers } from "../bench/crossover.ts";
import { machineInfo } from "../bench/machine.ts";
import {
  benchFraction,
  type BenchInterruption,
  benchMs,
  type BenchReport,
  benchWarnings,
  evaluateTargets,
  formatTable,
  interruptionWarning,
  type TimingChoice,
  timingChoiceWords,
  toCsv,
  toMarkdown,
} from "../bench/report.ts";
import { type BenchRecord, judgeRecord, runBenchCase } from "../bench/run_bench.ts";
import { GpuContext, HARNESS_FEATURES } from "../gpu/device.ts";
import {
  GPU_WARMUP_MS,
  REPLAY_MODES,
  replayModeForClass,
  warmupMsForClass,
} from "../kernels/replay.ts";
import { ChromiumGpu } from "../browser/chromium_gpu.ts";
import { ChromiumExitedError } from "../browser/chromium.ts";
import { PageCrashedError } from "../browser/page.ts";
import { DeviceLostError } from "../gpu/errors.ts";
import { isRemoteDevice, type RunDevice } from "../gpu/runtime.ts";
import { benchDeviceOf } from "../bench/remote.ts";
import {
  checkRuntimeCombination,
  chromiumOption,
  exitOnStopDuringStart,
  runtimeOption,
} from "./runtime_options.ts";
import {
  decimalDigits,
  MAX_REPEATS,
  MAX_WARMUP_MS,
  parseFilterOption,
  parseWarmupMs,
} from "./options.ts";
import { writeBenchHtml } from "../bench/bench_html.ts";
import {
  appendBenchRecord,
  type BenchDevice,
  benchDeviceDifferences,
  type BenchOptions,
  type BenchResume,
  checkBenchOut,
  checkUnfinishedBench,
  finishedBenchReport,
  readBenchResume,
  startBenchRecords,
} from "../bench/out_dir.ts";
import { unusedBenchBackends } from "../bench/unused_backends.ts";
import { checkOptionNeeds } from "./option_needs.ts";
import { lockOutDir, type OutLock } from "../runner/out_lock.ts";
import {
  checkReferenceAdapter,
  readReferenceCeilings,
  withReferenceCeilings,
} from "../bench/reference_ceilings.ts";
import { CliError, EXIT } from "./errors.ts";
import { addStopListener, removeStopListener, stopExitCode } from "./stop_signals.ts";
import { osErrorText, writeTextAtomic } from "../util/fs.ts";
import { raceTimeout, TIMED_OUT } from "../util/timeout.ts";
import { ConfigError, type ConfigIssue } from "../adapter/errors.ts";
import { OutputWriteError } from "../report/errors.ts";
import {
  BENCH_FILES,
  BENCH_RECORDS,
  checkOutputFilesIn,
  OutputPathError,
  prepareOutputDir,
  removeEmptyCreatedDirs,
} from "../report/output_paths.ts";
import { NO_CASE_TIMEOUT_HELP, noCaseTimeoutNote, parseSeconds } from "./run.ts";
import { liveDeviceKey } from "../drift/device_key.ts";
import { benchLoadWarnings } from "../drift/speed_load.ts";
import { busiestLoad, hostLoad, sampleLoad } from "../util/host_load.ts";
import { DEFAULT_CASE_TIMEOUT_S } from "../runner/run_matrix.ts";
import { compiledBarrierFindings } from "../kernels/module_barriers.ts";
import { plural } from "../util/plural.ts";

const join = (dir: string, file: string) => `${dir.replace(/\/+$/, "")}/${file}`;

/** The most repetitions `--reps` takes (each case and each ceiling is measured that often). */
const MAX_BENCH_REPS = MAX_REPEATS;

/** Timeouts in a row after which `bench` stops (as `run` stops after three device losses). */
const MAX_TIMEOUTS_IN_ROW = 3;

/**
 * The reason of a case that `--case-timeout` ended: the bench stopped (`inRow` timeouts in
 * a row, the last allowed), went on to the next case, or (the last case) only re-acquired
 * the device for the ceilings measured after the cases.
 *
 * @example
 * ```ts
 * import { caseTimeoutReason } from "./bench.ts";
 * caseTimeoutReason(1, { inRow: 0, more: false }); // "timed out after 1 s (--case-timeout); the device was re-acquired for the ceilings after the cases"
 * ```
 */
export function caseTimeoutReason(
  timeoutS: number,
  options: { inRow: number; more: boolean },
): string {
  return `timed out after ${timeoutS} s (--case-timeout); ` +
    (options.inRow > 0
      ? `${options.inRow} timeouts in a row: the bench stopped here`
      : options.more
      ? "the device was re-acquired and the bench went on"
      : "the device was re-acquired for the ceilings after the cases");
}

/** Whether a record is of a case that `--case-timeout` ended ({@link caseTimeoutReason}). */
function isCaseTimeout(r: BenchRecord): boolean {
  return r.status === "error" && /^timed out after \S+ s \(--case-timeout\); /.test(r.reason ?? "");
}

/**
 * Build the `bench` command.
 *
 * @example
 * ```ts ignore
 * import { benchCommand } from "./bench.ts";
 * await benchCommand().parseAsync(["--matrix", "tiny", "--json"], { from: "user" });
 * ```
 */
export function benchCommand() {
  return new Command("bench")
    .description(
      "Benchmark the attention kernels: device ceilings (copy/read bandwidth, FMA peak, " +
        "overheads), then ms, GFLOP/s, GB/s and roofline fraction per case (FlashMLA's " +
        "formulas), and the ceilings again: each fraction is judged against the better of " +
        "the two measurements, and a fraction above 1 is reported as a warning, its target " +
        `not judged. Bundled matrices: ${BENCH_MATRICES.join(", ")} (default headline). ` +
        "Benchmarks print figures; they never fail on speed, and they do not compare a " +
        "kernel's output with the reference (run does): a kernel that computes the wrong " +
        "attention is timed as ok. Exit codes: 0 every case ran or " +
        "was reported unsupported; 1 a case error (a kernel that does not compile, a launch " +
        "that throws, a case past --case-timeout, a case whose timed repetitions read no time: " +
        "timestamps that did not advance or went backwards), or a --backend that benched none of the cases; 2 bad input (an unusable --out, " +
        "--reference-ceilings or --filter included); 3 no adapter, 3 --case-timeout " +
        "timeouts in a row, a file of --out that cannot be written (a full disk: " +
        "records.jsonl keeps the records written, and --resume benches the rest), or a " +
        "ceiling kernel whose timestamps did not advance (0 ms: no ceiling to judge by); 130 interrupted by SIGINT; 143 by SIGTERM; 129 by SIGHUP (a terminal closed: as SIGTERM).",
    )
    .option(
      "--matrix <names>",
      `comma-separated bundled matrices: ${BENCH_MATRICES.join(", ")}`,
      "headline",
    )
    .option(
      "--filter <expr>",
      "keep cases whose id matches key=v1,v2;key2=v3 (an empty one: exit 2)",
      parseFilterOption,
    )
    .option(
      "--reps <n>",
      `timed repetitions per case and per ceiling measurement, 1 to ${MAX_BENCH_REPS}; with ` +
        "fewer than 7 the medians and spreads are rough, and the report says so",
      "7",
    )
    .addOption(
      new Option(
        "--replay <mode>",
        "how a case's timed replays are spaced: queued (submitted back to back, their " +
          "timestamps read afterwards, so the device never idles between them), waited " +
          "(each submitted after the last one's timestamps are read back: the device idles " +
          "for a readback between replays, and a GPU may lower its clocks meanwhile), or " +
          "auto: queued on a gpu-class device, waited on a cpu-class one (there the next " +
          "submission's work would compete with the running replay for the same cores); " +
          "the class is the one the kernels are planned as, MLA_HARNESS_DEVICE_CLASS's where it " +
          "is set (as for run), and the report says which and why; " +
          "without timestamp-query replays are always waited",
      ).choices(["auto", ...REPLAY_MODES] as const).default("auto" as const),
    )
    .option(
      "--warmup-ms <n|auto>",
      "before each case's timed replays, replay it untimed for this many milliseconds, 0 to " +
        `${MAX_WARMUP_MS}; auto: ${GPU_WARMUP_MS} on a gpu-class device, 0 on a cpu-class one ` +
        "(the class --replay auto follows). " +
        "A GPU that idled while the case compiled and was checked runs its replays at lowered " +
        `clocks: on the H200 of docs/gpu_machine/h200-2026-12-04 the SM clock's median was ` +
        `435-450 MHz without a warm-up and 1980 MHz with ${GPU_WARMUP_MS} ms`,
      "auto",
    )
    .option(
      "--json",
      "print the report as JSON on stdout, nothing else there (ceilings, one record per case, " +
        "targets); the progress lines stay on stderr",
    )
    .option(
      "--out <dir>",
      "write report.json, results.csv, summary.md and report.html (roofline and crossover " +
        "plots) there when the run ends; each case's record is appended to records.jsonl " +
        "there as it ends (with the provisional roofline fraction of its progress line), so a " +
        "run that dies halfway keeps what it measured (--resume finishes it), and bench.json " +
        "names the bench; Ctrl-C (SIGINT) " +
        "stops after the current case (a second Ctrl-C: at once), SIGTERM and SIGHUP (a terminal " +
        "closed) at once, and all still write the reports " +
        "for the cases that ran (exit 130, 143 and 129)",
    )
    .option(
      "--title <text>",
      "title of summary.md and report.html (with --out; without it exit 2)",
      "Benchmark",
    )
    .option(
      "--force",
      "replace the records.jsonl of a bench that did not finish in --out (killed before its " +
        "report.json, stopped by a signal, or by --case-timeout timeouts in a row); without " +
        "it (or --resume) such a folder is " +
        "exit 2, so its measurements are not lost",
    )
    .addOption(
      new Option(
        "--resume",
        "finish the bench in --out that did not (killed, stopped by a signal, or by " +
          "--case-timeout timeouts in a row): keep the " +
          "records of its records.jsonl, bench the cases without one (and those --case-timeout " +
          "ended), and write the reports " +
          "of every case. Only the same bench is resumed: same --matrix selection, --filter, " +
          "--backend, --backend-module files, --runtime, --reps, --warmup-ms and --replay " +
          "(as they apply on the device), on the same device (else exit 2, naming what " +
          "differs). The ceilings are measured anew (before and after the cases this session " +
          "runs) and every fraction, kept records' included, is judged against them. A " +
          "bench that finished (every report written) is left as it is and its report shown, " +
          "exit 0, unless --reference-ceilings asks for its records to be judged again",
      ).conflicts("force"),
    )
    .option(
      "--reference-ceilings <report.json>",
      "an earlier bench report of the same adapter, measured at a quiet moment: each copy, " +
        "read, texture-read and FMA ceiling is the higher of its figure and this run's " +
        "(contention only " +
        "lowers a measurement), and a figure this run measured under half of it is reported " +
        "as a warning; a report of another adapter is exit 2",
    )
    .option(
      "--backend <id>",
      "run the cases of this registered backend's path on it (e.g. wgsl-absorbed-gemm, wgsl-absorbed-tiled, or a --backend-module id) instead of the backend the adapter chooses for the path; repeatable, one per path (--backend wgsl-absorbed-gemm --backend wgsl-expanded benches both paths); with a single --backend the other path's cases are reported unsupported (backend.path-mismatch)",
      collect,
      [] as string[],
    )
    .option("--backend-module <path>", BACKEND_MODULE_HELP, collect, [] as string[])
    .option(
      "--case-timeout <seconds>",
      "seconds a case may run (compile, warm-up and timed replays) before it is recorded as " +
        "an error and the device is re-acquired; after " +
        `${MAX_TIMEOUTS_IN_ROW} timeouts in a row the bench stops and reports what ran, exit 3 ` +
        `(${NO_CASE_TIMEOUT_HELP})`,
      parseSeconds,
      DEFAULT_CASE_TIMEOUT_S,
    )
    .addOption(runtimeOption())
    .addOption(chromiumOption())
    .action(async (opts, cmd) => {
      checkRuntimeCombination(opts.runtime, { backendModules: opts.backendModule });
      const loaded = await loadBackendModuleOptions(opts.backendModule);
      const backendOf = backendsByPath((opts.backend as string[]).map((id) => checkBackendId(id)));
      // Decimal digits only: Number() would take "1e3" and "0x10".
      const reps = decimalDigits(opts.reps) ?? NaN;
      if (!Number.isInteger(reps) || reps < 1 || reps > MAX_BENCH_REPS) {
        throw new CliError(
          `--reps: ${opts.reps} must be a whole number from 1 to ${MAX_BENCH_REPS} (each case ` +
            "and each ceiling is measured that many times; 7 to 50 is usual)",
          EXIT.badInput,
        );
      }
      checkOptionNeeds("bench", [{
        option: "--force",
        value: opts.force ? "" : undefined,
        needs: "--out",
        met: opts.out !== undefined,
        fix:
          "add --out <dir> (the folder whose unfinished bench --force replaces), or drop --force",
      }, {
        option: "--resume",
        value: opts.resume ? "" : undefined,
        needs: "--out",
        met: opts.out !== undefined,
        fix: "add --out <dir> (the folder whose unfinished bench --resume finishes), or drop " +
          "--resume",
      }, {
        // it titled nothing without a word: only summary.md and report.html carry it
        option: "--title",
        value: cmd.getOptionValueSource("title") === "cli" ? String(opts.title) : undefined,
        needs: "--out",
        met: opts.out !== undefined,
        fix: "add --out <dir> (its summary.md and report.html carry the title), or drop --title",
      }]);
      const warmupAsked = parseWarmupMs(opts.warmupMs);
      const cases = selectBenchCases(opts.matrix, opts.filter);
      // what makes this bench (bench.json): a resume keeps only the same bench's records
      const benchOptions: BenchOptions = {
        matrix: opts.matrix,
        filter: opts.filter ?? null,
        cases: cases.map(benchCaseId),
        backends: [...(opts.backend as string[])],
        modules: loaded.map((m) => ({ specifier: m.specifier, id: m.module.id, hashes: m.hashes })),
        runtime: opts.runtime,
        reps,
        warmupMs: warmupAsked,
        replay: opts.replay,
      };
      // The report names the CPU (bench/machine.ts reads sys "cpus" once the device is open):
      // asked before --out is made, so a bench without it stops at once, leaving nothing.
      if ((await Deno.permissions.query({ name: "sys", kind: "cpus" })).state !== "granted") {
        throw new CliError(
          'bench needs sys access to "cpus" (its report records the CPU model and core ' +
            "count): run again with --allow-sys=cpus, as the bench and harness tasks grant " +
            "(README: Permissions)",
          EXIT.badInput,
        );
      }
      let resume: BenchResume | undefined;
      // An unusable --out is exit 2 here, not an OS error after the measurements.
      // ... as is one that would overwrite a run's reports or the --reference-ceilings file.
      if (opts.out !== undefined) {
        // an upgrade-check's folder: bench's report.json was written beside its compare.md
        // and sides' runs, and the folder then read as one run's (its sides no longer named)
        const upgrade = await upgradeFolderProblem(opts.out);
        if (upgrade !== null) {
          throw new OutputPathError(
            "--out",
            opts.out,
            `holds an upgrade-check's output (its sides' runs: ${upgrade.sides.join(", ")}), ` +
              "beside which bench would write its report.json, summary.md and report.html; " +
              "give a new folder or a bench output folder",
          );
        }
        await checkBenchOut(opts.out, { referenceCeilings: opts.referenceCeilings });
        await prepareOutputDir(opts.out, { label: "--out" });
        // each a file: a folder named summary.md was an internal error with a stack trace
        // (exit 1) once the device had started
        await checkOutputFilesIn(opts.out, BENCH_FILES, { label: "--out" });
        if (opts.resume) {
          resume = await readBenchResume(opts.out, benchOptions);
          // a mistyped --out began a whole new bench without a word of it
          if (resume.state === null) {
            console.error(
              `resume: ${opts.out} holds no records of a bench (no ${BENCH_RECORDS}, or an ` +
                `empty one): nothing to resume; a new bench of ${
                  plural(cases.length, "case")
                } starts`,
            );
          }
        } else if (!opts.force) await checkUnfinishedBench(opts.out);
      }
      // the records a resume keeps, by case id (none: a new bench); a case that --case-timeout
      // ended is benched again, as `run --resume` runs a timed-out case again: the device's
      // trouble, not the case's (three in a row stopped the bench, exit 3)
      const kept = new Map(
        [...resume?.kept ?? []].filter(([, r]) => !isCaseTimeout(r)),
      );
      const retried = [...resume?.kept.values() ?? []].filter(isCaseTimeout).map((r) => r.id);
      if (retried.length > 0) {
        console.error(
          `resume: benching again ${plural(retried.length, "case")} that --case-timeout ` +
            `ended: ${retried.join(", ")}`,
        );
      }
      // A resume of a bench that finished (every case kept, every report there): nothing to
      // bench. It measured the ceilings anew and rewrote the reports, every fraction judged
      // against this session's ceilings and the report saying its records came from a session
      // "killed or stopped"; the finished reports are now left as they are, and shown (with
      // --reference-ceilings the resume judges them anew, against the reference joined).
      const finished = opts.resume && opts.out !== undefined && resume?.state &&
          cases.every((c) => kept.has(benchCaseId(c)))
        ? await finishedBenchReport(opts.out)
        : null;
      if (opts.referenceCeilings === undefined && opts.out !== undefined) {
        const done = finished;
        if (done !== null) {
          console.error(
            `resume: the bench in ${opts.out} finished (report.json of its ` +
              `${plural(cases.length, "case")}): nothing to resume; its reports are left as ` +
              "they are, and shown below (--force benches it anew; --reference-ceilings " +
              "judges its records again against a reference joined with new ceilings)",
          );
          console.log(opts.json ? done.trimEnd() : finishedTable(done, opts.out));
          if ([...kept.values()].some((r) => r.status === "error")) Deno.exitCode = EXIT.failure;
          return;
        }
      }
      // Read before the device starts: a wrong file is exit 2 at once.
      const reference = opts.referenceCeilings === undefined
        ? undefined
        : await readReferenceCeilings(opts.referenceCeilings);
      // One bench at a time in a folder (runner/out_lock.ts, as `run`): two would mix their
      // records and measure each other's load. Taken before the device starts: a bench
      // refused for a folder another bench writes started (and closed) Chromium first.
      let lock: OutLock | undefined = opts.out === undefined
        ? undefined
        : await lockOutDir(opts.out);
      let ctx: RunDevice;
      // a Ctrl-C or SIGTERM while the device starts (Chromium's start-up takes seconds): the
      // lock released, said, exit 130 / 143 (it exited unsaid, the lock left behind)
      const startup = exitOnStopDuringStart(async () => {
        await lock?.release();
        lock = undefined;
      });
      try {
        // --runtime chromium: measured in the page, with the same code (bench/run_bench.ts)
        ctx = opts.runtime === "chromium"
          ? await ChromiumGpu.start({ chromium: opts.chromium })
          : await GpuContext.create({ optionalFeatures: HARNESS_FEATURES });
      } catch (e) {
        startup.dispose();
        await lock?.release();
        throw e;
      }
      // SIGINT: finish the current case, then report; SIGTERM: report at once, abandoning
      // the current case (as `run` does). Either way the reports cover what ran.
      let stoppedBy: BenchInterruption["signal"] | null = null;
      const abandon = Promise.withResolvers<null>();
      // A second Ctrl-C abandons the current case (or ceiling measurement) as SIGTERM does,
      // still exit 130: a case that hangs kept the bench, and every Ctrl-C after the first,
      // waiting for --case-timeout, where kill -9 would have lost the reports.
      let ints = 0;
      // What a signal stops: the lines said "abandoning the current case, writing the
      // reports" while the ceilings were measured before any case, and then "no report".
      let phase: "before" | "cases" | "after" = "before";
      // the case running is the last: a Ctrl-C then stops nothing, the ceilings after the
      // cases are still measured (it said "then writing the reports", and measured them)
      let lastCase = false;
      const abandoning = () =>
        phase === "before"
          ? "abandoning the ceiling measurement: no case has run, so no report is written"
          : phase === "after"
          ? "abandoning the ceilings after the cases, writing the reports (the fractions use " +
            "the ceilings measured before the cases)"
          : "abandoning the current case, writing the reports";
      const onInt = () => {
        if (++ints > 1) {
          console.error(`\ninterrupt again: ${abandoning()}`);
          abandon.resolve(null);
          return;
        }
        console.error(`\ninterrupt: ${firstInterruptWords(phase, { lastCase })}`);
        stoppedBy ??= "SIGINT";
      };
      // what abandoned a measurement: SIGTERM, or a second Ctrl-C
      const abandonedBy = () =>
        stoppedBy === "SIGTERM" || stoppedBy === "SIGHUP" ? stoppedBy : "a second Ctrl-C (SIGINT)";
      // SIGHUP (a terminal closed, an ssh session dropped) as SIGTERM, exit 129: it killed
      // the bench at once, no report written
      const atOnceOn = (signal: "SIGTERM" | "SIGHUP") => () => {
        console.error(`\n${signal}: ${abandoning()}`);
        stoppedBy = signal;
        abandon.resolve(null);
      };
      const onTerm = atOnceOn("SIGTERM");
      const onHup = atOnceOn("SIGHUP");
      Deno.addSignalListener("SIGINT", onInt);
      Deno.addSignalListener("SIGTERM", onTerm);
      addStopListener("SIGHUP", onHup);
      startup.dispose();
      try {
        const measure = () =>
          isRemoteDevice(ctx)
            ? benchDeviceOf(ctx).measureCeilings({ reps })
            : measureCeilings(ctx, { reps });
        const machine = isRemoteDevice(ctx)
          ? {
            ...machineInfo(ctx),
            adapter: `${ctx.caps.adapter.description} in ${ctx.identity.version}`,
            browser: `${ctx.identity.name} ${ctx.identity.version}`,
            deviceKey: liveDeviceKey(ctx.caps, ctx.identity),
          }
          : { ...machineInfo(ctx), deviceKey: liveDeviceKey(ctx.caps) };
        if (reference) {
          checkReferenceAdapter(reference, machine.adapter, { deviceKey: machine.deviceKey });
        }
        // The class the kernels were planned as (set by hand or not) spaces and warms the replays
        const plannedKind = deviceClassOf(ctx.caps)?.kind ?? "cpu";
        // A GPU is held to issue 13's GPU targets, a CPU implementation to lavapipe's: by the
        // device's own class, not one set by hand (lavapipe planned as a GPU is no H100)
        const { targetClass, plannedClass } = targetClassOf(ctx.caps);
        const warmupMs = warmupAsked === "auto" ? warmupMsForClass(plannedKind) : warmupAsked;
        const replay = opts.replay === "auto" ? replayModeForClass(plannedKind) : opts.replay;
        // what the auto options followed, and why: a class set by hand (lavapipe planned as a GPU
        // to run the GPU-shaped kernels) warms and spaces the replays as that class's, as run
        // does, which the report and this line say, with the options that time it as its own
        const auto = [
          ...(warmupAsked === "auto" ? ["--warmup-ms" as const] : []),
          ...(opts.replay === "auto" ? ["--replay" as const] : []),
        ];
        const planned = deviceClassOf(ctx.caps);
        const timingChoice: TimingChoice | undefined = auto.length === 0 ? undefined : {
          auto,
          deviceClass: plannedKind,
          source: planned?.kindSource ?? "rules",
          ownClass: targetClass,
        };
        if (timingChoice !== undefined && timingChoice.deviceClass !== timingChoice.ownClass) {
          console.error(timingChoiceWords(timingChoice));
        }
        const device: BenchDevice = { key: machine.deviceKey, warmupMs, replay };
        if (resume?.state && opts.out !== undefined) {
          const differ = benchDeviceDifferences(resume.state, { options: benchOptions, device });
          if (differ.length) {
            throw new OutputPathError(
              "--out",
              opts.out,
              `holds a bench that differs from this one in ${differ.join("; ")}; --resume ` +
                "continues only the same bench on the same device (its records would be " +
                "reported beside figures of another): resume where it started, with its " +
                "options, pick another --out, or --force to replace it",
            );
          }
        }
        // SIGTERM abandons a ceiling measurement as it abandons a case.
        const raced = <T>(p: Promise<T>): Promise<T | null> => {
          p.catch(() => {});
          return Promise.race([p, abandon.promise]);
        };
        console.error(`measuring the device's ceilings (${plural(reps, "repetition")} each)`);
        // the host's load as the timed part starts (and, below, as it ends): a busy host's
        // timings can move several-fold, and the report says so
        const loadAtStart = sampleLoad();
        // The device lost here (the browser or its page ended, a GPU device lost) leaves no
        // case to record: exit 3 saying when, not an internal error with a stack trace.
        const measuredBefore = await raced(measure()).catch((e: unknown) => {
          // a ceiling kernel whose timestamps did not advance: said in one line, exit 3 (the
          // device's clock, not the input), where it was Infinity GB/s and fractions of 0
          if (isCeilingNotTimed(e)) {
            throw new CliError(`${e.message} (no case was benched)`, EXIT.infra);
          }
          const lost = e instanceof PageCrashedError || e instanceof ChromiumExitedError ||
            e instanceof DeviceLostError;
          if (!lost) throw e;
          throw new CliError(
            `the device was lost while measuring its ceilings, before any case (no report): ${
              (e as Error).message
            }`,
            EXIT.infra,
          );
        });
        if (measuredBefore === null) {
          console.error(
            `${abandonedBy()} while measuring the device's ceilings, before any case: no report`,
          );
          Deno.exitCode = stopExitCode(stoppedBy ?? "SIGINT");
          await lock?.release();
          lock = undefined;
          await removeEmptyCreatedDirs(); // an --out this run created holds nothing
          return;
        }
        // The provisional fractions of the progress lines are judged against these.
        const ceilings = withReferenceCeilings(measuredBefore, reference).ceilings;
        // the cases this session benches: those without a kept record
        const todo = cases.filter((c) => !kept.has(benchCaseId(c)));
        const fresh: BenchRecord[] = [];
        // Each record is appended to <out>/records.jsonl as its case ends, so a run that dies
        // halfway keeps what it measured (fractions there are the provisional ones).
        // (the earlier bench's reports in the folder go now, so a run killed halfway leaves
        // its records.jsonl alone there, which the next bench refuses to truncate)
        const stream = opts.out === undefined ? undefined : await startBenchRecords(opts.out, {
          state: { options: benchOptions, device },
          keep: cases.flatMap((c) => kept.get(benchCaseId(c)) ?? []),
        });
        if (kept.size > 0) {
          console.error(
            `resume: keeping the records of ${kept.size} of ${plural(cases.length, "case")} ` +
              `from ${opts.out}/records.jsonl (measured by an earlier session), benching the ` +
              `other ${todo.length}; the ceilings are this session's: every fraction, the kept ` +
              "records' included, is judged against them",
          );
        }
        // (said only where a case will run; with --json too: stderr is not the JSON)
        if (stoppedBy === null && todo.length > 0) {
          console.error(
            "roofline fractions while cases run are provisional (against the ceilings measured " +
              "so far); the table judges each case against the better of the ceilings measured " +
              "before and after the cases",
          );
        }
        phase = "cases";
        const timeoutS = opts.caseTimeout;
        const noLimit = todo.length > 0 ? noCaseTimeoutNote(timeoutS) : null;
        if (noLimit !== null) console.error(noLimit);
        let timeoutsInRow = 0;
        // Set when MAX_TIMEOUTS_IN_ROW timeouts stopped the bench: its warning line.
        let stoppedByTimeouts: string | null = null;
        for (const c of todo) {
          if (stoppedBy !== null) break;
          lastCase = c === todo[todo.length - 1];
          const running = runBenchCase(ctx, c, {
            ceilings,
            reps,
            backend: backendOf(c.path),
            replay,
            warmupMs,
          });
          // An abandoned or timed-out case may fail once the device is destroyed; nothing
          // waits for it.
          running.catch(() => {});
          const r = await raceTimeout([running, abandon.promise], timeoutS * 1000);
          if (r === null) break;
          const timedOut = r === TIMED_OUT;
          timeoutsInRow = timedOut ? timeoutsInRow + 1 : 0;
          const last = timeoutsInRow >= MAX_TIMEOUTS_IN_ROW;
          const measured: BenchRecord = timedOut
            ? {
              id: benchCaseId(c),
              case: c,
              status: "error",
              reason: caseTimeoutReason(timeoutS, {
                inRow: last ? timeoutsInRow : 0,
                more: fresh.length + 1 < todo.length,
              }),
            }
            : r;
          // the backend asked for, on an error or unsupported record too
          const asked = backendOf(c.path);
          const record: BenchRecord = measured.backend === undefined && asked !== undefined
            ? { ...measured, backend: asked }
            : measured;
          fresh.push(record);
          // with --json too: a CI reading the JSON on stdout saw nothing of a bench's cases on
          // stderr until its end, nor which case a job killed at its time limit was on
          console.error(benchProgressLine(record));
          if (stream !== undefined) {
            try {
              await appendBenchRecord(stream, record);
            } catch (e) {
              // A full disk, or a folder removed under the bench: it stops here, the folder
              // reads as a killed bench's (records.jsonl and bench.json, no report), and the
              // message says so, where it was an internal error with a stack trace, exit 1.
              throw new OutputWriteError(
                stream,
                `cannot write the record of ${record.id}: ${osErrorText(e)}; the bench stopped ` +
                  `there (${BENCH_RECORDS} holds the ${
                    plural(kept.size + fresh.length - 1, "record")
                  } before it): free space, then the same bench with --resume benches the rest`,
                { cause: e },
              );
            }
          }
          if (timedOut) {
            // A hung case's device is dropped; its late record, if any, is ignored.
            ctx.destroy();
            if (last) {
              const had = kept.size + fresh.length;
              const notRun = todo.slice(fresh.length).map(benchCaseId);
              stoppedByTimeouts = `stopped after ${timeoutsInRow} case timeouts in a row ` +
                `(--case-timeout ${timeoutS} s): ${had} of ${cases.length} cases ` +
                `have a record` + (notRun.length ? `; not run: ${notRun.join(", ")}` : "") +
                "; the ceilings after the cases were not measured";
              break;
            }
            await ctx.reacquire();
          } else if (ctx.lost) await ctx.reacquire();
        }
        // every record in the selection's order: the kept ones and this session's
        const ran = new Map(fresh.map((r) => [r.id, r]));
        const records = cases.flatMap((c) =>
          kept.get(benchCaseId(c)) ?? ran.get(benchCaseId(c)) ?? []
        );
        const notRun = cases.map(benchCaseId).filter((id) => !kept.has(id) && !ran.has(id));
        const interrupted: BenchInterruption | null = stoppedBy === null ||
            records.length === cases.length
          ? null
          : { signal: stoppedBy, selected: cases.length, notRun };
        // The ceilings again, after the cases: every fraction is judged against the best
        // of both measurements (bench/ceilings.ts bestCeilings). A failure here keeps the
        // first measurement rather than losing the run's records.
        // An interrupted run reports at once, with the first measurement, as does one that
        // timeouts stopped (its device was dropped).
        let best = measuredBefore;
        let ceilingsCut: string | null = null;
        phase = "after";
        try {
          const after = interrupted === null && stoppedByTimeouts === null
            ? await raced(measure())
            : null;
          if (after !== null) best = bestCeilings(measuredBefore, after);
          else if (interrupted === null && stoppedByTimeouts === null) {
            ceilingsCut = `stopped by ${abandonedBy()} while measuring the ceilings after the ` +
              "cases: " +
              "every case ran, and the fractions use the ceilings measured before them";
            console.error(ceilingsCut);
          }
        } catch (e) {
          console.error(
            `warning: the ceilings after the cases could not be measured (${
              (e as Error).message
            }); fractions use the ones measured before`,
          );
        }
        // A SIGINT during the last case (or the ceilings after it) stopped nothing: every case
        // ran. The exit is still 130; the reports say why, rather than read as a plain run.
        if (stoppedBy === "SIGINT" && interrupted === null && ceilingsCut === null) {
          ceilingsCut = "interrupted by SIGINT during the last case or the ceilings after " +
            "it: every case ran and the ceilings were measured after them; exit 130";
        }
        // with the load the kept records were timed under (a busy earlier session's)
        const load = busiestLoad([
          resume !== undefined && resume.kept.size > 0 ? resume.hostLoad : undefined,
          hostLoad(loadAtStart, sampleLoad()),
        ])!;
        const joined = withReferenceCeilings(best, reference);
        best = joined.ceilings;
        const judged = records.map((r) => judgeRecord(r, best));
        // a --backend that benched none of the cases measured nothing it was asked for (a
        // stopped bench may not have reached its cases: not judged then)
        const unused = interrupted || stoppedByTimeouts
          ? { lines: [], failed: false }
          : unusedBenchBackends(judged, opts.backend as string[], {
            modules: loaded.map((m) => ({ id: m.module.id, specifier: m.specifier })),
          });
        const warnings = [
          ...(interrupted ? [interruptionWarning(interrupted)] : []),
          ...(kept.size > 0
            ? [
              // a finished bench judged again (--reference-ceilings) was no session "killed or
              // stopped", as the warning said of it
              `resumed: the records of ${kept.size} of ${plural(cases.length, "case")} were ` +
              `measured by an earlier session of this bench (${
                finished === null ? "killed or stopped" : "which finished; judged again here"
              }); the ceilings are this session's, and every fraction is judged against them`,
            ]
            : []),
          ...(ceilingsCut ? [ceilingsCut] : []),
          ...(stoppedByTimeouts ? [stoppedByTimeouts] : []),
          ...(reps < 7
            ? [
              `measured with --reps ${reps}: with fewer than 7 repetitions the medians and ` +
              "spreads are rough",
            ]
            : []),
          ...joined.warnings,
          ...benchLoadWarnings(load),
          ...benchWarnings(judged),
          ...unused.lines,
        ];
        const crossing = crossovers(judged);
        const report: BenchReport = {
          machine,
          hostLoad: load,
          ...(timingChoice === undefined ? {} : { timingChoice }),
          ceilings: best,
          ...(reference ? { referenceCeilings: { ...reference, used: joined.used } } : {}),
          records: judged,
          targets: evaluateTargets(judged, { deviceClass: targetClass }),
          targetClass,
          ...(plannedClass ? { plannedClass } : {}),
          ...(crossing.length ? { crossovers: crossing } : {}),
          ...(warnings.length ? { warnings } : {}),
          ...(interrupted ? { interrupted } : {}),
          ...(kept.size > 0 ? { resumed: { kept: [...kept.keys()] } } : {}),
          ...((opts.backend as string[]).length > 0 || loaded.length > 0
            ? {
              backends: {
                overrides: [...(opts.backend as string[])],
                modules: loaded.map((m) => ({
                  specifier: m.specifier,
                  id: m.module.id,
                  hashes: m.hashes,
                })),
              },
            }
            : {}),
        };
        // the table (or JSON) first: a report that cannot be written still shows its figures
        console.log(opts.json ? JSON.stringify(report, null, 2) : formatTable(report));
        if (opts.out) {
          let file = join(opts.out, "report.json");
          try {
            await Deno.mkdir(opts.out, { recursive: true });
            await writeTextAtomic(file, JSON.stringify(report, null, 2));
            // the judged records: their fractions are the table's, not the provisional ones
            await writeTextAtomic(file = join(opts.out, "results.csv"), toCsv(judged));
            await writeTextAtomic(
              file = join(opts.out, "summary.md"),
              toMarkdown(report, { title: opts.title }),
            );
            file = join(opts.out, "report.html");
            await writeBenchHtml(file, report, { title: opts.title });
          } catch (e) {
            throw new OutputWriteError(
              file,
              // the OS error without the file's name again (an atomic write's error names it)
              `cannot write: ${
                osErrorText(e).replace(`${file}: `, "")
              }; ${BENCH_RECORDS} holds every record the bench ` +
                `measured, and the ${opts.json ? "JSON" : "table"} above shows them (free ` +
                "space, then the same bench with --resume writes the reports, benching " +
                "nothing again but the ceilings)",
              { cause: e },
            );
          }
        }
        // the cases a stopped bench did not reach: --resume benches them, keeping the rest
        if (opts.out !== undefined && notRun.length > 0) {
          console.error(
            `${plural(notRun.length, "case")} not run: the same bench with --resume ` +
              `(--out ${opts.out}) benches ${notRun.length === 1 ? "it" : "them"}` +
              (records.length ? ` and keeps the ${plural(records.length, "record")} measured` : ""),
          );
        }
        // a race in what a user backend's launch compiled, that its module's files did not show
        for (const line of compiledBarrierLines(compiledBarrierFindings(), loaded)) {
          console.error(line);
        }
        // A signal that came after the last case (during the second ceilings) still counts.
        const signal = interrupted?.signal ?? stoppedBy;
        if (signal !== null) Deno.exitCode = stopExitCode(signal);
        // A case that errored (a shader that does not compile, a launch that throws) is a
        // failure of the run, as in `run`; speed never is.
        // Repeated timeouts are the device's trouble, as `run`'s repeated losses (exit 3).
        else if (stoppedByTimeouts !== null) Deno.exitCode = EXIT.infra;
        else if (judged.some((r) => r.status === "error") || unused.failed) {
          Deno.exitCode = EXIT.failure;
        }
      } finally {
        Deno.removeSignalListener("SIGINT", onInt);
        Deno.removeSignalListener("SIGTERM", onTerm);
        removeStopListener("SIGHUP", onHup);
        await lock?.release();
        if (isRemoteDevice(ctx)) await ctx.close();
        else ctx.destroy();
      }
    });
}

/**
 * The table of a finished bench's report.json text; a report this harness cannot lay out (one
 * written by hand, or by a harness before a field it reads) names its summary.md instead.
 */
function finishedTable(text: string, out: string): string {
  try {
    return formatTable(JSON.parse(text) as BenchReport);
  } catch {
    return `(its report.json is not laid out here: see ${join(out, "summary.md")})`;
  }
}

/**
 * The cases of the comma-separated bundled matrices that pass `filter`, each once (a case in
 * two of the matrices is said on stderr and kept at its first place). An unknown matrix
 * or a malformed filter is a CliError (exit 2); a filter that selects nothing, or names a
 * value no case has (beside values that select), a ConfigError (exit 2) naming each value
 * no case has and the values there are.
 *
 * @example
 * ```ts
 * import { selectBenchCases } from "./bench.ts";
 * selectBenchCases("tiny", "path=absorbed").length; // 1
 * ```
 */
export function selectBenchCases(matrix: string, filter?: string): BenchCase[] {
  const all: BenchCase[] = [];
  let cases: BenchCase[];
  const names = matrix.split(",").map((n) => n.trim());
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) {
    throw new CliError(
      `--matrix ${matrix}: ${twice} is given twice (each case would be measured twice); ` +
        "name each matrix once",
      EXIT.badInput,
    );
  }
  // a run matrix's name read "unknown benchmark matrix", not saying which command runs it
  const run = names.find((n) => BUNDLED_MATRICES.includes(n) && !BENCH_MATRICES.includes(n));
  if (run !== undefined) {
    throw new CliError(
      `--matrix ${run}: a run matrix (\`run --matrix ${run}\` runs it), not a bench matrix; ` +
        `bench reads the bundled bench matrices: ${BENCH_MATRICES.join(", ")}`,
      EXIT.badInput,
    );
  }
  try {
    for (const name of names) all.push(...benchMatrix(name));
    cases = filter ? filterBenchCases(all, filter) : all;
  } catch (e) {
    throw new CliError((e as Error).message, EXIT.badInput);
  }
  // A case in two of the matrices (gpu holds every headline case; decode and presets share
  // V3's, prefill and headline one) was benched twice, two rows of one id in every report
  const ids = new Set<string>();
  const once = cases.filter((c) => !ids.has(benchCaseId(c)) && ids.add(benchCaseId(c)));
  if (once.length < cases.length) {
    console.error(
      `--matrix ${matrix}: ${plural(cases.length - once.length, "case")} ${
        cases.length - once.length === 1 ? "is" : "are"
      } in more than one of these matrices; each case is benched once (${
        plural(once.length, "case")
      })`,
    );
  }
  if (once.length === 0 && filter) throw noBenchCaseError(all, filter, matrix);
  // A value no case has beside one that selects (dtype=f16,f61): the typo's cases would be
  // left out without a word, and a bench takes minutes; refused as one selecting nothing is.
  const unmatched = filter ? unmatchedValues(all, filter, matrix) : [];
  if (unmatched.length) {
    throw new ConfigError("--filter", unmatched, `names values no case of matrix ${matrix} has`);
  }
  return once;
}

/** The ConfigError of a filter that keeps none of `all`: each value no case has, listed. */
function noBenchCaseError(all: readonly BenchCase[], filter: string, matrix: string): ConfigError {
  const issues = unmatchedValues(all, filter, matrix);
  if (issues.length === 0) {
    issues.push({
      path: "(filter)",
      value: filter,
      message: "every value occurs in the matrix, but no case has them all",
    });
  }
  return new ConfigError("--filter", issues, `selects no case of matrix ${matrix}`);
}

/** Each filter value that no case of `all` has, with the values its key has there. */
function unmatchedValues(all: readonly BenchCase[], filter: string, matrix: string): ConfigIssue[] {
  const values = new Map<string, Set<string>>();
  for (const c of all) {
    for (const [k, v] of benchCaseParams(c)) {
      if (!values.has(k)) values.set(k, new Set());
      values.get(k)!.add(v);
    }
  }
  const issues: ConfigIssue[] = [];
  for (const [key, wanted] of parseBenchFilter(filter)) {
    const has = values.get(key) ?? new Set<string>();
    const missing = [...wanted].filter((v) => !has.has(v));
    if (missing.length === 0) continue;
    issues.push({
      path: key,
      value: missing.join(","),
      message: `occurs in no case of matrix ${matrix}; its values of ${key}: ${
        [...has].join(", ")
      }`,
    });
  }
  return issues;
}

/**
 * The line `bench` prints as a case ends: its ms and provisional roofline fraction as the
 * table under it writes them (benchMs, benchFraction: a case's 0.319 ms read "0.32 ms" above
 * the table's "0.319").
 *
 * @example
 * ```ts ignore
 * benchProgressLine(record); // "preset=tiny;...: 0.319 ms, roofline 0.008 (provisional)"
 * ```
 */
export function benchProgressLine(r: BenchRecord): string {
  return `${r.id}: ${
    r.status === "ok"
      ? `${benchMs(r.ms)} ms, roofline ${benchFraction(r.roofline_fraction)} (provisional)`
      : `${r.status}: ${r.reason ?? ""}`
  }`;
}

/**
 * The backend each path's cases run on, from the `--backend` ids (at most one per path,
 * else exit 2): the id of the case's path; with ids for one path only, that id for the
 * other path's cases too (they are then reported unsupported, backend.path-mismatch);
 * with none, undefined (the bundled backend of the path).
 */
function backendsByPath(ids: readonly string[]): (path: AttentionPath) => string | undefined {
  const byPath = new Map<AttentionPath, string>();
  for (const id of ids) {
    const path = backendById(id)!.path;
    const other = byPath.get(path);
    if (other !== undefined && other !== id) {
      throw new CliError(
        `--backend: ${other} and ${id} both compute the ${path} path; give at most one ` +
          "backend per path",
        EXIT.badInput,
      );
    }
    byPath.set(path, id);
  }
  return (path) => byPath.get(path) ?? ids[0];
}

/**
 * What bench's first Ctrl-C says it will do, by what runs: a Ctrl-C during the last case
 * stops nothing, and the ceilings after the cases are still measured (it said "then writing
 * the reports", and measured them, for minutes at a large --reps).
 *
 * @example
 * ```ts
 * import { firstInterruptWords } from "./bench.ts";
 * firstInterruptWords("cases", { lastCase: false });
 * // "finishing the current case, then writing the reports (Ctrl-C again: at once)"
 * ```
 */
export function firstInterruptWords(
  phase: "before" | "cases" | "after",
  options: { lastCase: boolean },
): string {
  if (phase === "before") {
    return "finishing the ceiling measurement, then writing the reports (no case will run; " +
      "Ctrl-C again: at once)";
  }
  const finishing = phase === "after"
    ? "finishing the ceilings after the cases"
    : options.lastCase
    ? "finishing the current case, the last, then measuring the ceilings after the cases"
    : "finishing the current case";
  return `${finishing}, then writing the reports (Ctrl-C again: at once)`;
}
