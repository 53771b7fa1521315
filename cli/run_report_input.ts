/**
 * A finished run given on the command line (`baseline update --from-report`,
 * `history --add`): its report.json, or the run output folder holding it. Read and checked
 * the same way by both, so a missing path, a folder whose run was killed before its
 * reports, or a folder that is no run are each named with what would be valid.
 *
 * @module
 */
import { readReportJson } from "../report/json.ts";
import { ReportFileError } from "../report/errors.ts";
import { runFolderReport } from "../report/run_folder.ts";
import type { RunReport } from "../results/types.ts";
import { missingPathWords, pathMissing } from "../util/fs.ts";

/** What a run input may be, as the messages of {@link readRunReportInput} say it. */
export const RUN_REPORT_INPUTS = "give a run's report.json or its output folder (run --out)";

/** A run read by {@link readRunReportInput}. */
export interface RunReportInput {
  /** The report.json read (`<folder>/report.json` for a folder). */
  readonly file: string;
  /** The checked report. */
  readonly report: RunReport;
}

/**
 * The report.json of a run given as that file or its output folder. A path that does not
 * exist, or a folder without report.json (its run killed before its reports: how to
 * rebuild them is said), throws a {@link ReportFileError} naming the path and what is
 * valid. `needs` ends the killed-run message: why a rebuilt, interrupted run may still not
 * do. The file itself is not read.
 *
 * @example
 * ```ts ignore
 * import { runReportFile } from "./run_report_input.ts";
 * await runReportFile("out/night-1"); // "out/night-1/report.json"
 * ```
 */
export async function runReportFile(
  path: string,
  options: { needs?: string } = {},
): Promise<string> {
  if (await pathMissing(path)) {
    throw new ReportFileError(path, `${missingPathWords(path)}; ${RUN_REPORT_INPUTS}`);
  }
  const found = await runFolderReport(path, { valid: RUN_REPORT_INPUTS, needs: options.needs });
  if (found.problem !== undefined) throw new ReportFileError(path, found.problem);
  return found.file;
}

/**
 * Read a run given as its report.json or its output folder: {@link runReportFile}, then
 * the file read and checked (report/json.ts readReportJson).
 *
 * @example
 * ```ts ignore
 * import { readRunReportInput } from "./run_report_input.ts";
 * const { file, report } = await readRunReportInput("out/night-1");
 * console.log(file, report.totals); // out/night-1/report.json { pass: 47, ... }
 * ```
 */
export async function readRunReportInput(
  path: string,
  options: { needs?: string } = {},
): Promise<RunReportInput> {
  const file = await runReportFile(path, options);
  return { file, report: await readReportJson(file) };
}
