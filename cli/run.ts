/**
 * `run`: the main job. Runs a case matrix on the default WebGPU adapter and writes
 * results.jsonl (streamed), report.json, junit.xml and summary.md.
 *
 * @module
 */
import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { FAULTS } from "../parity/faults.ts";
import { runMatrix } from "../runner/run_matrix.ts";
import { EXIT } from "./errors.ts";
import { parseNonNegativeInt, parsePositiveInt } from "./options.ts";
import { driftAfterRun, parseFailOn, precheckBaseline, THRESHOLDS_HELP } from "./compare.ts";
import { readThresholds } from "../drift/thresholds.ts";
import { DEFAULT_MAX_CASES } from "../matrix/expand.ts";
import { checkHistoryFile } from "../drift/history.ts";

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
  if (!m || count < 1 || index < 1 || index > count) {
    throw new InvalidArgumentError(`"${value}" must look like i/n with 1 <= i <= n, e.g. 2/4`);
  }
  return { index, count };
}

/** Exit code of a finished run: 1 when any case failed, was unexpected or errored. */
export function runExitCode(totals: { fail: number; unexpected: number; error: number }): number {
  return totals.fail + totals.unexpected + totals.error > 0 ? EXIT.failure : EXIT.ok;
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
        "soon as it exists; report.json, junit.xml and summary.md (also appended to " +
        "$GITHUB_STEP_SUMMARY when set) are written at the end. Ctrl-C stops after the current " +
        "case and keeps everything finished. Exit codes: 0 all pass; 1 a parity failure, an " +
        "unexpected support decision or a case error; 2 bad input; 3 no adapter or repeated " +
        "device loss; 130 interrupted.",
    )
    .option(
      "--matrix <name|file>",
      "bundled matrix (smoke, nightly, adapter) or a JSON file",
      "smoke",
    )
    .option("--filter <query>", "select cases, e.g. 'preset=deepseek-v2-lite;dtype=f16,f32'")
    .option(
      "--shard <i/n>",
      "run only shard i of n (cases assigned by a hash of their id)",
      parseShard,
    )
    .option("--out <dir>", "output directory", "out/run")
    .option(
      "--max-cases <n>",
      "refuse a selection of more cases than this (counted before anything is expanded)",
      parsePositiveInt,
      DEFAULT_MAX_CASES,
    )
    .option(
      "--config-root <dir>",
      "folder the matrix's config paths must resolve inside (default: the matrix file's " +
        "folder; bundled matrices: matrix/bundled/configs)",
    )
    .option("--resume", "skip cases already in <out>/results.jsonl")
    .option(
      "--repeats <n>",
      "timed repetitions per case after the checked run",
      parseNonNegativeInt,
      3,
    )
    .option(
      "--max-rows <n>",
      "query rows the float64 reference computes at most",
      parsePositiveInt,
      64,
    )
    .addOption(
      new Option(
        "--plant-fault <id>",
        "run every kernel with a planted fault (the run must turn red: proves the checks work)",
      ).choices(FAULTS.map((f) => f.id)),
    )
    .option(
      "--baseline <file|dir>",
      "compare with a baseline after the run (a folder picks <dir>/<device-key>.json; none " +
        "there: a warning, exit unchanged); writes <out>/compare.md and compare.json, exit 1 on " +
        "regressions",
    )
    .option("--history <db>", "append the run to this history database (SQLite)")
    .option("--thresholds <file>", THRESHOLDS_HELP)
    .option(
      "--fail-on <classes>",
      "drift classes that are regressions (exit 1), or none",
      parseFailOn,
    )
    .action(async (opts) => {
      await precheckBaseline(opts.baseline);
      // a bad --history file is refused before the run, not after it
      if (opts.history) await checkHistoryFile(opts.history);
      const thresholds = opts.thresholds ? await readThresholds(opts.thresholds) : undefined;
      const controller = new AbortController();
      const onInt = () => {
        console.error("\ninterrupt: finishing the current case, then writing the reports");
        controller.abort();
      };
      Deno.addSignalListener("SIGINT", onInt);
      try {
        const report = await runMatrix({
          matrix: opts.matrix,
          out: opts.out,
          filter: opts.filter,
          shard: opts.shard,
          maxCases: opts.maxCases,
          configRoot: opts.configRoot,
          resume: opts.resume,
          repeats: opts.repeats,
          maxRows: opts.maxRows,
          fault: opts.plantFault ? FAULTS.find((f) => f.id === opts.plantFault) : undefined,
          signal: controller.signal,
        });
        const t = report.totals;
        console.log(
          `${report.results.length}/${report.shardIds.length} cases: ${t.pass} pass, ${t.fail} fail, ` +
            `${t.unexpected} unexpected, ${t.error} error; reports in ${opts.out}/`,
        );
        const drift = await driftAfterRun(report, {
          baseline: opts.baseline,
          history: opts.history,
          thresholds,
          failOn: opts.failOn,
          out: opts.out,
        });
        Deno.exitCode = report.interrupted ? 130 : Math.max(runExitCode(t), drift);
      } finally {
        Deno.removeSignalListener("SIGINT", onInt);
      }
    });
}
