/**
 * `baseline update`: run a matrix (or take a finished run's report) and write
 * `baselines/<device-key>.json`; `baseline key`: print this device's key.
 *
 * @module
 */
import { DEFAULT_MAX_ROWS } from "../results/types.ts";
import { dirname } from "node:path";
import { Command, Option } from "@commander-js/extra-typings";
import {
  baselineFromReport,
  baselineLoadWarning,
  currentBackend,
  deviceKey,
  DriftInputError,
  HistoryOverlapError,
  HistoryStore,
  loadComparable,
  poolRounds,
  readBaseline,
  upgradeFolderProblem,
  writeBaseline,
} from "../drift/mod.ts";
import { probeCaps } from "../gpu/device.ts";
import { readRunReportInput } from "./run_report_input.ts";
import { backendModulePath, runMatrix } from "../runner/run_matrix.ts";
import { selectMatrixCases } from "../matrix/select.ts";
import { writeRunReports } from "../report/run_reports.ts";
import type { RunReport } from "../results/types.ts";
import type { Baseline } from "../drift/types.ts";
import { sameMatrixName } from "../matrix/matrix_name.ts";
import { type CaseFilter, matchesFilter, paramsOfCaseId, parseFilter } from "../matrix/case_id.ts";
import {
  OutputPathError,
  prepareOutputDir,
  removeOtherRounds,
  roundFolder,
  roundOutDir,
} from "../report/output_paths.ts";
import { checkOutputsApart, runOutputFiles, sameFile } from "../report/output_overlap.ts";
import { DEFAULT_MAX_CASES, matrixFileOf } from "../matrix/expand.ts";
import { computeTotals } from "../report/totals.ts";
import { checkHistoryFile } from "../drift/history.ts";
import { backendChoiceChanges, comparisonKey } from "../drift/compare.ts";
import { CliError, EXIT } from "./errors.ts";
import {
  listenForStop,
  stopExitCode,
  stoppedAfterLastCase,
  type StopSignals,
} from "./stop_signals.ts";
import { pathExists } from "../util/fs.ts";
import {
  CONFIG_ROOT_HELP,
  MAX_CASES_HELP,
  parseFilterOption,
  parsePositiveInt,
  parseRepeats,
  parseWarmupMs,
  refuseBenchMatrix,
  REPEATS_HELP,
} from "./options.ts";
import { PROGRESS_HELP, runExitCode, WARMUP_MS_HELP } from "./run.ts";
import { PROGRESS_MODES } from "../report/progress.ts";
import { DEFAULT_THRESHOLDS } from "../drift/thresholds.ts";
import { countsText, missingIds, notRunIds } from "../report/totals.ts";
import { nounFor, plural } from "../util/plural.ts";
import {
  BACKEND_MODULE_HELP,
  barrierEndLines,
  checkBackendId,
  collect,
  loadBackendModuleOptions,
} from "./backend_options.ts";
import { unusedBackends } from "../report/unused_backends.ts";
import { finishCommands } from "../report/finish_commands.ts";

/** Options of `baseline update` that only a run reads, with their flags. */
const RUN_ONLY: readonly [string, string][] = [
  ["matrix", "--matrix"],
  ["maxCases", "--max-cases"],
  ["configRoot", "--config-root"],
  ["repeats", "--repeats"],
  ["warmupMs", "--warmup-ms"],
  ["rounds", "--rounds"],
  ["maxRows", "--max-rows"],
  ["out", "--out"],
  ["progress", "--progress"],
  ["backend", "--backend"],
  ["backendModule", "--backend-module"],
];

/**
 * Refuse run options given with `--from-report` (no run happens, so they would be
 * ignored): a CliError (exit 2) naming them. `given(key)`: whether the user gave it.
 *
 * @example
 * ```ts
 * import { checkFromReportFlags } from "./baseline.ts";
 * checkFromReportFlags("out/run", () => false); // fine
 * ```
 */
export function checkFromReportFlags(fromReport: string, given: (key: string) => boolean): void {
  const stray = RUN_ONLY.filter(([key]) => given(key)).map(([, flag]) => flag);
  if (stray.length === 0) return;
  throw new CliError(
    `${stray.join(", ")} ${stray.length === 1 ? "sets" : "set"} up a run, and --from-report ` +
      `${fromReport} takes a finished one: drop ${stray.length === 1 ? "it" : "them"} (or ` +
      "--from-report to run the matrix)",
    EXIT.badInput,
  );
}

/**
 * The part of a finished run that passes `--filter` (parsed and checked as `run` does):
 * its results, the scope (the ids of the run that the filter keeps, finished or not),
 * totals recounted, and the filter recorded. A filter that keeps none of the run's cases
 * is a CliError (exit 2).
 *
 * @example
 * ```ts ignore
 * import { filterReport } from "./baseline.ts";
 * const tinyOnly = filterReport(report, "preset=tiny;dtype=f32", "out/run");
 * ```
 */
export function filterReport(report: RunReport, filter: string, source: string): RunReport {
  const f: CaseFilter = parseFilter(filter);
  const results = report.results.filter((r) => matchesFilter(r.params, f));
  const shardIds = report.shardIds.filter((id) => matchesFilter(paramsOfCaseId(id), f));
  if (results.length === 0 && shardIds.length === 0) {
    throw new CliError(
      `--filter ${filter} selects none of the ${
        plural(report.shardIds.length, "case")
      } of the run in ` +
        `${source} (matrix ${report.matrix}${report.filter ? `, filter ${report.filter}` : ""})`,
      EXIT.badInput,
    );
  }
  return {
    ...report,
    // the run's own filter, then the clauses it does not already have
    filter: report.filter
      ? [report.filter, ...filter.split(";").filter((c) => !report.filter!.split(";").includes(c))]
        .join(";")
      : filter,
    shardIds,
    results,
    totals: computeTotals(results),
  };
}

/**
 * Refuse (CliError, exit 2) writing `baseline` over this device's baseline in `dir` where
 * that would lose cases: the existing one has cases outside the new one's scope (a
 * narrower `--filter`, fewer cases), is of another matrix, or of other backends (`--backend`,
 * `--backend-module`: the device's one file held a user backend's baseline, which an update of
 * the adapter's kernels replaced without a word). A baseline of the same cases and backends, or
 * one that adds cases, replaces it. `baseline update --replace` skips the check.
 *
 * @example
 * ```ts ignore
 * import { checkBaselineReplace } from "./baseline.ts";
 * await checkBaselineReplace("baselines", baseline); // throws when cases would be dropped
 * ```
 */
export async function checkBaselineReplace(
  dir: string,
  baseline:
    & Pick<Baseline, "deviceKey" | "scope" | "matrix" | "filter">
    & Partial<Pick<Baseline, "backendOverride" | "backendModules" | "backendModulePaths">>,
): Promise<void> {
  const path = `${dir.replace(/\/+$/, "")}/${baseline.deviceKey}.json`;
  let old: Baseline;
  try {
    old = await readBaseline(path);
  } catch (e) {
    if (e instanceof DriftInputError && !(await pathExists(path))) return; // none yet
    // An unreadable or malformed file is replaced: nothing in it could be compared.
    console.error(`warning: ${path} is replaced: ${(e as Error).message}`);
    return;
  }
  // A file named for this device that holds another device's baseline (copied or renamed by
  // hand): replaced without a word, that device's baseline lost (an older harness's key for
  // this device is this device's: comparisonKey)
  const oldKey = comparisonKey(old);
  if (oldKey !== baseline.deviceKey) {
    throw new CliError(
      `${path} holds the baseline of another device (${oldKey}), not this one's ` +
        `(${baseline.deviceKey}): writing this one would lose it; move it to ${oldKey}.json ` +
        "(its device's name), give --replace to write over it anyway, or another --dir (no " +
        "baseline written)",
      EXIT.badInput,
    );
  }
  const scope = new Set(baseline.scope);
  const dropped = old.scope.filter((id) => !scope.has(id));
  const otherMatrix = !sameMatrixName(old.matrix, baseline.matrix);
  const what = (b: Pick<Baseline, "scope" | "matrix" | "filter">) =>
    `matrix ${b.matrix}${b.filter ? `, filter ${b.filter}` : ""}, ${
      plural(b.scope.length, "case")
    }`;
  if (dropped.length > 0 || otherMatrix) {
    throw new CliError(
      `${path} holds this device's baseline (${what(old)}); the new one (${what(baseline)}) ` +
        (otherMatrix
          ? "is of another matrix"
          : `leaves out ${dropped.length} of its cases (e.g. ${dropped[0]})`) +
        ": writing it would lose them, and a later compare would read their regressions as " +
        "new cases. Give --replace to write it anyway, or another --dir (no baseline written)",
      EXIT.badInput,
    );
  }
  const backends = backendChoiceChanges(old, baseline);
  if (backends !== null) {
    throw new CliError(
      `${path} holds this device's baseline of other backends than the new one's (${
        backends.replace(/^Backends: /, "")
      }): writing it would lose that baseline, and a run of those backends would be compared ` +
        "with this one's kernels. Give --replace to write it anyway, or another --dir (one " +
        "per backend choice) (no baseline written)",
      EXIT.badInput,
    );
  }
}

/**
 * The exit-2 error for a run `--history` refuses to store (its measurements are there
 * already), naming the database and the run's folder or report; any other error as it is.
 *
 * @example
 * ```ts ignore
 * throw historyRefusal(e, "out/h.sqlite", "out/merged", "no baseline written");
 * ```
 */
function historyRefusal(e: unknown, db: string, run: string, baseline: string): unknown {
  if (!(e instanceof HistoryOverlapError)) return e;
  return new CliError(`--history ${db}: ${run}: ${e.problem}; ${baseline}`, EXIT.badInput);
}

/**
 * Refuse (OutputPathError, exit 2) a `baseline update --history` that names a file the
 * update writes: one of the run's files in `--out` (in `round-<i>/` with `--rounds`), a
 * `.json` file in `--dir` (where `<device-key>.json` goes; the key is known only after the
 * run), or an input (`--from-report`, a `--matrix` file). Checked before the run.
 *
 * @example
 * ```ts ignore
 * import { checkBaselineOutputs } from "./baseline.ts";
 * await checkBaselineOutputs({ out: "out/b", dir: "baselines", rounds: 1, matrix: "smoke", history: "out/b/report.json" });
 * // throws: --history out/b/report.json: is the file --out (report.json) writes too; ...
 * ```
 */
export async function checkBaselineOutputs(o: {
  out: string;
  dir: string;
  rounds: number;
  matrix: string;
  history?: string;
  fromReport?: string;
}): Promise<void> {
  if (o.history === undefined) return;
  if (o.history.endsWith(".json") && (await sameFile(dirname(o.history), o.dir))) {
    throw new OutputPathError(
      "--history",
      o.history,
      `is a .json file in --dir ${o.dir}, where baseline update writes this device's ` +
        "<device-key>.json (and compare looks for baselines); give the database a path " +
        "outside --dir or another extension (e.g. history.sqlite)",
    );
  }
  // the run's files, in round-<i>/ with --rounds: "--out (round-2/report.json)"
  const rounds = o.fromReport ? 0 : o.rounds;
  const runFiles = Array.from({ length: rounds }, (_, i) =>
    runOutputFiles(o.out, {
      label: "--out",
      under: roundFolder(i + 1, rounds),
    })).flat();
  await checkOutputsApart([...runFiles, ["--history", o.history]], [
    ["--from-report", o.fromReport],
    ["--matrix", o.fromReport ? undefined : matrixFileOf(o.matrix)],
  ]);
}

/**
 * Build the `baseline` command (`update`, `key`).
 *
 * @example
 * ```ts ignore
 * import { baselineCommand } from "./baseline.ts";
 * const cmd = baselineCommand();
 * ```
 */
export function baselineCommand() {
  const update = new Command("update")
    .description(
      "Run a matrix and write <dir>/<device-key>.json: per case the support decision, plan " +
        "digest and reasons, error metrics (max abs, max rel, cos_diff, norm_rel, LSE), output " +
        "digest, timing samples (median, spread, count) and kernel source hash, plus the full " +
        "environment fingerprint. The device key is derived from the adapter (description " +
        "without its version, vendor, device id) and the backend the harness uses " +
        "(DENO_WEBGPU_BACKEND, else its own choice). A user backend is baselined as `run` runs " +
        "it (--backend-module, --backend; the baseline records both, and a compare names a " +
        "change of them). Exit 1 when a " +
        "case of the run failed (the baseline is written anyway), or a --backend ran none of the " +
        "cases expected to run, for reasons other than what the device lacks (no baseline " +
        "written; a --backend-module whose backend ran none is a warning); 2 on bad input (an " +
        "unusable --dir or --out, a module that does not load, included, refused before the " +
        "run); 3 no adapter, repeated device losses or case timeouts, or a full disk (no " +
        "baseline written: run the update again, it takes no --resume). Ctrl-C stops it after " +
        "the current case (a second Ctrl-C, or SIGTERM: at once): the run's reports are " +
        "written marked interrupted, no baseline is, exit 130 (143 for SIGTERM, 129 for " +
        "SIGHUP, which stops as SIGTERM does); one during " +
        "the last case lets the baseline be written, and exits 130 too.",
    )
    .option(
      "--matrix <name|file>",
      "bundled matrix (smoke, nightly, adapter) or a JSON file",
      "smoke",
    )
    .option(
      "--filter <query>",
      "select cases, e.g. 'preset=tiny;dtype=f32' (with --from-report: the run's cases kept)",
      parseFilterOption,
    )
    .option(
      "--max-cases <n>",
      MAX_CASES_HELP,
      parsePositiveInt,
      DEFAULT_MAX_CASES,
    )
    .option("--config-root <dir>", CONFIG_ROOT_HELP)
    .option(
      "--repeats <n>",
      REPEATS_HELP,
      parseRepeats,
      10,
    )
    .option("--warmup-ms <n|auto>", WARMUP_MS_HELP, "auto")
    .option(
      "--rounds <n>",
      "run the selection n times and pool each case's timing samples (spreads them over the " +
        "machine's states; outputs in <out>/round-<i>); a case stands as its worst round, and " +
        "a round that was interrupted leaves no baseline",
      parsePositiveInt,
      1,
    )
    .option(
      "--max-rows <n>",
      "query rows the float64 reference computes at most",
      parsePositiveInt,
      DEFAULT_MAX_ROWS,
    )
    .addOption(
      new Option("--progress <mode>", PROGRESS_HELP).choices(PROGRESS_MODES).default("auto"),
    )
    .option(
      "--out <dir>",
      "run output directory (a half-finished run there, an update stopped by Ctrl-C, is " +
        "started over: it made no baseline)",
      "out/baseline",
    )
    .option("--dir <dir>", "baselines directory", "baselines")
    .option(
      "--from-report <file|dir>",
      "take this finished run (report.json or its folder) instead of running (the run " +
        "options --matrix, --max-cases, --config-root, --repeats, --warmup-ms, --rounds, --max-rows, --progress, --out, " +
        "--backend and --backend-module are then refused: the baseline records the run's own)",
    )
    .option(
      "--backend <id>",
      "run every case on this registered backend instead of the backend the adapter chooses " +
        "for its path (cases it refuses are recorded as not run by it, with its reasons)",
    )
    .option("--backend-module <path>", BACKEND_MODULE_HELP, collect, [] as string[])
    .option(
      "--history <db>",
      "also append the run to this history database (with --from-report, a run whose " +
        "measurements it holds already, a merged run whose shards are stored or the other " +
        "way, is exit 2 before the baseline is written)",
    )
    .option(
      "--replace",
      "write the baseline even where it drops cases of this device's baseline in --dir, or " +
        "replaces one of another matrix, of other backends (--backend, --backend-module) or " +
        "of another device (a file named for this one) " +
        "(without it: exit 2, nothing written)",
    )
    .action(async (opts, cmd) => {
      const given = (key: string) => cmd.getOptionValueSource(key) === "cli";
      if (opts.fromReport) checkFromReportFlags(opts.fromReport, given);
      else await refuseBenchMatrix(opts.matrix, "baseline update");
      const warmupMs = parseWarmupMs(opts.warmupMs);
      // as run: the modules loaded (exit 2 naming one that does not load) and --backend
      // checked before anything is written
      const loaded = await loadBackendModuleOptions(opts.backendModule);
      const backend = opts.backend === undefined ? undefined : checkBackendId(opts.backend);
      // unusable output paths are exit 2 before the run, not an OS error after it
      await prepareOutputDir(opts.dir, { label: "--dir" });
      if (!opts.fromReport) await prepareOutputDir(opts.out, { label: "--out" });
      // --history naming a file the run writes (or an input) is exit 2 before the run
      await checkBaselineOutputs(opts);
      if (opts.history) await checkHistoryFile(opts.history);
      let report: RunReport;
      let stop: StopSignals | undefined;
      // The run as it ran, for --history: a --filter of --from-report narrows the baseline,
      // not the run (appended filtered, it was a second run of that night beside the one
      // `run --history` or `history --add` stored)
      let ran: RunReport;
      // the round a signal stopped (its number and run): its results and folder are the ones
      // to name, where the pooled report counted every case of the finished rounds
      let stopped: { round: number; run: RunReport } | undefined;
      // --from-report's folder: an interrupted run there is finished by its resume into it
      let fromFolder: string | undefined;
      if (opts.fromReport) {
        // an upgrade-check's --out: it read "a folder without report.json, not a run output
        // folder", where the baseline wanted is one of its sides' runs
        const upgrade = await upgradeFolderProblem(opts.fromReport);
        if (upgrade !== null) throw new DriftInputError(opts.fromReport, upgrade.problem);
        const input = await readRunReportInput(opts.fromReport, {
          needs: "a baseline needs the run finished",
        });
        report = input.report;
        fromFolder = dirname(input.file);
        ran = report;
        // A report whose measurements --history holds already (a merged run whose shards
        // `run --history` stored) is refused before the baseline is written, not after it
        if (opts.history && (await pathExists(opts.history))) {
          const store = await HistoryStore.open(opts.history);
          try {
            await store.checkAppend(ran, { backend: currentBackend() });
          } catch (e) {
            throw historyRefusal(e, opts.history, `${opts.fromReport}`, "no baseline written");
          } finally {
            store.close();
          }
        }
        if (opts.filter) report = filterReport(report, opts.filter, opts.fromReport);
        // Said as a run's --repeats is: a case of too few samples can never show a slowdown.
        const min = DEFAULT_THRESHOLDS.minSamples;
        const few = report.results.filter((r) => r.timing && r.timing.samplesMs.length < min);
        if (few.length > 0) {
          console.error(
            `warning: ${plural(few.length, "case")} of ${opts.fromReport} ${
              few.length === 1 ? "has" : "have"
            } fewer than ${min} timed ` +
              `samples (${few[0].timing!.samplesMs.length} in ${few[0].id}); drift's speed test ` +
              `needs ${min} a side, so compares against this baseline say "speed not tested" ` +
              `for ${few.length === 1 ? "it" : "them"} (run with --repeats 5 or more)`,
          );
        }
      } else {
        // Known before the run: the device's key and the selection, so a baseline this update
        // would refuse to write over is refused before the matrix runs, not after it (minutes
        // at --repeats 10).
        if (!opts.replace) {
          const caps = await probeCaps().catch(() => null); // none: the run says so
          if (caps !== null) {
            // its notes are the run's to say
            const { mine } = await selectMatrixCases({
              matrix: opts.matrix,
              filter: opts.filter,
              maxCases: opts.maxCases,
              configRoot: opts.configRoot,
            });
            await checkBaselineReplace(opts.dir, {
              deviceKey: deviceKey({ adapter: caps }, { backend: currentBackend() }),
              scope: mine.map((c) => c.id),
              matrix: opts.matrix,
              filter: opts.filter ?? null,
              // as the run will record them
              ...(opts.backend === undefined ? {} : { backendOverride: opts.backend }),
              ...(opts.backendModule.length > 0
                ? {
                  backendModules: opts.backendModule,
                  backendModulePaths: opts.backendModule.map((m) => backendModulePath(m)),
                }
                : {}),
            });
          }
        }
        // Said before the run: a baseline of too few samples a case can never show a slowdown.
        const samples = opts.repeats * opts.rounds;
        if (samples < DEFAULT_THRESHOLDS.minSamples) {
          console.error(
            `warning: --repeats ${opts.repeats} x --rounds ${opts.rounds} gives ${samples} timed ` +
              `${
                nounFor(samples, "sample")
              } a case; drift's speed test needs ${DEFAULT_THRESHOLDS.minSamples} a ` +
              'side, so compares against this baseline say "speed not tested" for every case ' +
              "(--repeats 5 or more; 10 let a smaller shift reach p < 0.01)",
          );
        }
        // An earlier update's runs that this one does not replace: with --rounds 2 after an
        // update of one round, its report.json and summary.md stayed in --out beside round-1/
        // and round-2/, read as this update's run; a round-3/ of an update of three stayed
        // whole, of another run.
        const gone = await removeOtherRounds(opts.out, opts.rounds);
        if (gone.length > 0) {
          console.error(
            `note: removed what an earlier update left in ${opts.out} that this one (--rounds ` +
              `${opts.rounds}) does not replace: ${gone.join(", ")}`,
          );
        }
        const rounds: RunReport[] = [];
        // Ctrl-C: after the current case, as run; a second Ctrl-C or SIGTERM: at once. Either
        // way the round's reports are written (marked interrupted) and no baseline is; it
        // killed the update at once, leaving the round's run.json saying "running"
        stop = listenForStop();
        try {
          for (let i = 1; i <= opts.rounds; i++) {
            const r = await runMatrix({
              matrix: opts.matrix,
              filter: opts.filter,
              maxCases: opts.maxCases,
              configRoot: opts.configRoot,
              out: roundOutDir(opts.out, i, opts.rounds),
              // An update stopped halfway leaves a half-finished run in its folder, which made no
              // baseline; without this every later update there was refused (it takes neither
              // --resume nor --force).
              force: true,
              repeats: opts.repeats,
              warmupMs,
              maxRows: opts.maxRows,
              progressMode: opts.progress,
              backend,
              backendModules: opts.backendModule,
              signal: stop.afterCase,
              abandon: stop.atOnce,
              writeReports: writeRunReports,
              // it said "run the rest with deno task harness run ... --resume": a run, which
              // writes no baseline (and baseline update takes no --resume)
              insteadOfResume: "run this baseline update again: it runs every case again (no " +
                "baseline was written)",
            });
            rounds.push(r);
            if (r.interrupted) {
              stopped = { round: i, run: r };
              // the rounds it never reaches: an earlier update's stood whole beside its own
              await removeOtherRounds(opts.out, opts.rounds, { through: i });
              break;
            }
          }
        } finally {
          stop.dispose();
        }
        report = ran = poolRounds(rounds);
      }
      const stoppedBy = stop?.stoppedBy() ?? null;
      if (stoppedBy !== null && report.interrupted) {
        // with --rounds: the round stopped, its results and its folder (it said "with 2
        // results for its 2 selected cases" of a round stopped after 1, counting the rounds
        // before it, and named --out, which holds a folder a round)
        const k = stopped?.round ?? 1;
        const run = stopped?.run ?? report;
        const round = opts.rounds === 1 ? "" : ` in round ${k} of ${opts.rounds},`;
        const before = k === 1
          ? ""
          : k === 2
          ? " (round 1 finished)"
          : ` (rounds 1-${k - 1} finished)`;
        throw new CliError(
          `the run: interrupted by ${stoppedBy}${round} with ${
            plural(run.results.length, "result")
          } for its ${plural(run.shardIds.length, "selected case")}${before}; its reports ` +
            `are in ${roundOutDir(opts.out, k, opts.rounds)} (marked interrupted); no baseline ` +
            "written (run this baseline update again: it runs every case again)",
          stopExitCode(stoppedBy),
        );
      }
      // A baseline stands for every case it selected: an interrupted run or a partial merge
      // would replace a good baseline with fewer cases (or none). Nothing is written.
      const lacking = notRunIds(report).length;
      if (report.interrupted || missingIds(report).length > 0 || report.results.length === 0) {
        // a run's report (not a merge's): the command that finishes it, which it did not name
        const finish = fromFolder === undefined ? [] : finishCommands(report, fromFolder);
        throw new CliError(
          `${opts.fromReport ?? "the run"}: ${
            report.interrupted ? "an interrupted run" : "a run"
          } with ${plural(report.results.length, "result")} for its ${
            plural(report.shardIds.length, "selected case")
          }${lacking > 0 ? ` (${lacking} missing)` : ""}; a baseline needs a finished ` +
            `run of every selected case (no baseline written)${
              finish.length === 1
                ? `; finish the run with ${finish[0]}, then make the baseline again`
                : ""
            }`,
          EXIT.badInput,
        );
      }
      if (lacking > 0) {
        console.error(
          `warning: ${plural(lacking, "selected case")} ${
            lacking === 1 ? "has" : "have"
          } no result; the baseline records ${lacking === 1 ? "it" : "them"} in its ` +
            "scope, without figures",
        );
      }
      if (report.plantedFault !== undefined) {
        throw new CliError(
          `${opts.fromReport ?? "the run"}: a run with planted fault ${report.plantedFault} (run ` +
            "--plant-fault): its failures are the fault's; a baseline of it would hold them as " +
            "the kernels' (no baseline written)",
          EXIT.badInput,
        );
      }
      if (!opts.fromReport) {
        // as run ends: what the user backends' launches compiled that their listed files did
        // not show, the count again, then a backend asked for that no case ran on
        const races = report.barrierFindings ?? [];
        for (const line of barrierEndLines(races, loaded, 'summary.md under "Barrier check"')) {
          console.error(line);
        }
        // A baseline of cases none of which ran on the backend asked for holds nothing of it
        // to compare, and would replace this device's baseline with that.
        const unused = unusedBackends(report.results, {
          backend,
          modules: loaded.map((m) => ({ id: m.module.id, specifier: m.specifier })),
          consequence: "no baseline was written",
        });
        for (const line of unused.lines) console.error(line);
        if (unused.backendRanNothing) {
          Deno.exitCode = EXIT.failure;
          return;
        }
      }
      const baseline = await baselineFromReport(report, { backend: currentBackend() });
      if (!opts.replace) await checkBaselineReplace(opts.dir, baseline);
      const path = await writeBaseline(opts.dir, baseline);
      if (opts.history) {
        const store = await HistoryStore.open(opts.history);
        try {
          // said as run --history says it (the same report given twice was not added again,
          // without a word)
          const known = store.findRun(ran);
          const earlier = known === null ? store.findEarlierStop(ran) : null;
          const id = await store.append(ran, { label: "baseline", backend: baseline.backend });
          console.error(
            known === null
              ? earlier === null
                ? `history: run ${id} appended to ${opts.history}`
                : `history: run ${id} of ${opts.history} replaced by its resumed run`
              : `history: ${
                opts.fromReport ?? opts.out
              } is already run ${id} of ${opts.history}; not added again`,
          );
        } catch (e) {
          throw historyRefusal(e, opts.history, opts.fromReport ?? opts.out, `${path} written`);
        } finally {
          store.close();
        }
      }
      const t = report.totals;
      // counted as run's line counts them: an expected skip is no pass ("24 pass" read as
      // every case run, for a backend that refused 6 of them)
      console.log(
        `baseline: ${path} (${
          plural(baseline.cases.length, "case")
        }, device ${baseline.deviceKey}, ` +
          `Deno ${report.fingerprint.runtime.deno}); ${countsText(report.results)}`,
      );
      if (t.fail + t.unexpected + t.error > 0) {
        console.error("warning: the baseline records failing cases as they are");
      }
      // a baseline timed on a busy host is the reference of every compare to come
      const busy = baselineLoadWarning(baseline.hostLoad);
      if (busy !== null) console.error(busy);
      // a Ctrl-C during the last case stopped nothing (the run was whole, the baseline is
      // written): exit 130 still, as run's, said so
      if (stoppedBy !== null) {
        console.error(stoppedAfterLastCase(stoppedBy, { cases: report.results.length }));
        Deno.exitCode = stopExitCode(stoppedBy);
        return;
      }
      Deno.exitCode = runExitCode(t);
    });
  const key = new Command("key")
    .description(
      "Print this device's key (the baseline file name without .json): from the default " +
        "adapter, or from a run's report.json / folder / baseline file (one an older harness " +
        "wrote: this harness's key for it, the key it records in a note). Exit 3 without an " +
        "adapter.",
    )
    .argument("[source]", "report.json, run folder or baseline file (default: probe the adapter)")
    .action(async (source) => {
      // an empty source ("$UNSET") would read as none given and probe this machine's adapter
      if (source !== undefined && source.trim() === "") {
        throw new CliError(
          'baseline key: the source is empty (""); give a report.json, run folder or baseline ' +
            "file, or leave it out to probe the adapter",
          EXIT.badInput,
        );
      }
      const backend = currentBackend();
      let k: string;
      if (source) {
        // the key under this harness's rules, the file name baseline update writes: a baseline
        // an older harness wrote records its own (lavapipe's `-fallback-vulkan` before d25df28),
        // which printed here named no file this harness writes or looks for
        const b = await loadComparable(source, { backend });
        k = comparisonKey(b);
        if (k !== b.deviceKey) {
          console.error(
            `note: ${source} records the key ${b.deviceKey}, by an older harness's key rules; ` +
              `this harness's is ${k}`,
          );
        }
      } else {
        k = deviceKey({ adapter: await probeCaps() }, { backend });
      }
      console.log(k);
      Deno.exitCode = EXIT.ok;
    });
  return new Command("baseline")
    .description(
      "Baselines per device class: baselines/<device-key>.json (see `baseline update --help`)",
    )
    .addCommand(update.exitOverride())
    .addCommand(key.exitOverride());
}
