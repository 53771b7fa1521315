/**
 * report.json: the {@link RunReport}, written atomically (util/fs.ts: a temp file in the
 * same folder, then a rename), so a reader never sees half a report; read and checked.
 *
 * @module
 */
import type { RunReport } from "../results/types.ts";
import { ReportFileError } from "./errors.ts";
import { runReportProblem } from "./validate.ts";
import { writeJsonAtomic } from "../util/fs.ts";
import { jsonFileProblem } from "./run_state.ts";

/**
 * Writes report.json atomically.
 *
 * @example
 * ```ts
 * import { writeReportJson } from "./json.ts";
 * import type { RunReport } from "../results/types.ts";
 * declare const report: RunReport;
 * await writeReportJson("out/report.json", report);
 * ```
 */
export function writeReportJson(path: string, report: RunReport): Promise<void> {
  return writeJsonAtomic(path, report);
}

/**
 * Reads and checks a report.json. A missing, unreadable or malformed file throws a
 * {@link ReportFileError} naming the file and what is wrong.
 *
 * @example
 * ```ts
 * import { readReportJson } from "./json.ts";
 * declare const out: string; // a run's output folder (run --out)
 * const report = await readReportJson(`${out}/report.json`);
 * console.log(report.matrix, report.totals);
 * ```
 */
export async function readReportJson(path: string): Promise<RunReport> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    const what = e instanceof Deno.errors.NotFound
      ? "missing (not a run output folder, or the run never started)"
      : `cannot read: ${(e as Error).message}`;
    throw new ReportFileError(path, what, { cause: e });
  }
  // a byte order mark (a file saved by a Windows editor) is no part of the JSON
  text = text.replace(/^\uFEFF/, "");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ReportFileError(path, jsonFileProblem(text), { cause: e });
  }
  const problem = runReportProblem(value);
  if (problem !== null) throw new ReportFileError(path, `not a run report: ${problem}`);
  return value as RunReport;
}
