/**
 * The reports of a finished (or stopped) run and its CI side effects: report.json,
 * junit.xml, summary.md and report.html in the run folder, and the summary appended to
 * `$GITHUB_STEP_SUMMARY` when that is set. The runner only returns the report (and keeps
 * results.jsonl and run.json, what resume needs); the CLI hands this writer to it.
 *
 * @module
 */
import type { RunReport } from "../results/types.ts";
import { writeRunOutputs } from "./merge.ts";
import { finishCommands } from "./finish_commands.ts";

/** Options of {@link writeRunReports}. */
export interface RunReportsOptions {
  /** Append summary.md to `$GITHUB_STEP_SUMMARY` when it is set (default true). */
  stepSummary?: boolean;
  /**
   * Words each command that finishes a stopped run ends with, as the terminal gives them (run's
   * `--baseline`, `--history`, `--thresholds`, `--fail-on`, `--max-cases`, `--progress`): a
   * nightly resumed from summary.md's command was never compared nor stored in its history.
   */
  finishWords?: readonly string[];
}

/**
 * Writes report.json, junit.xml and summary.md into `out` (each atomically) and appends
 * the summary to `$GITHUB_STEP_SUMMARY` when set. results.jsonl is left alone (the runner
 * streamed it). Pass it to `runMatrix` as `writeReports`.
 *
 * @example
 * ```ts ignore
 * import { writeRunReports } from "./run_reports.ts";
 * import { runMatrix } from "../runner/run_matrix.ts";
 * await runMatrix({ matrix: "smoke", out: "out/smoke", writeReports: writeRunReports });
 * ```
 */
export async function writeRunReports(
  out: string,
  report: RunReport,
  options: RunReportsOptions = {},
): Promise<void> {
  // the step summary (what summary.md says) goes before report.html is written: a page that
  // could not be written (a full disk) took it with it
  await writeRunOutputs(out, report, {
    jsonl: false,
    stepSummary: options.stepSummary ?? true,
    finish: finishCommands(report, out, { runWords: options.finishWords }),
  });
}
