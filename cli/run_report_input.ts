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
import { shellWord } from "../report/finish_commands.ts";
import type { RunReport } from "../results/types.ts";
import { missingPathWords, pathExists, pathMissing } from "../util/fs.ts";

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
  let file = path;
  try {
    if ((await Deno.stat(path)).isDirectory) file = `${path.replace(/\/+$/, "")}/report.json`;
  } catch {
    // not stat-able for another reason: the reader below names it
  }
  if (file !== path && !(await pathExists(file))) {
    const dir = path.replace(/\/+$/, "");
    // A folder whose run was killed before its reports (run.json, no report.json): say so.
    if (await pathExists(`${dir}/run.json`)) {
      throw new ReportFileError(
        path,
        "the folder's run was killed before writing its reports (its run.json and " +
          `results.jsonl are there, no report.json); \`merge ${shellWord(dir)} --out ${
            shellWord(dir)
          }\` rebuilds them (marked interrupted` + (options.needs ? `: ${options.needs}` : "") +
          "), `run --resume` finishes it",
      );
    }
    throw new ReportFileError(
      path,
      `a folder without report.json, not a run output folder; ${RUN_REPORT_INPUTS}`,
    );
  }
  return file;
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
