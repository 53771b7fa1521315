/**
 * A run output folder given where a run's report is read (`compare`, `history --add`,
 * `baseline update --from-report`, ...): its report.json, or why it holds none, in one
 * wording for every command. A folder whose run was killed before its reports (run.json,
 * no report.json) is told how to rebuild them; any other folder without report.json is
 * named as no run output folder.
 *
 * @module
 */
import { shellWord } from "./finish_commands.ts";
import { isDirectory, pathExists } from "../util/fs.ts";

/** What {@link runFolderReport} found: the report file to read, or why there is none. */
export type RunFolderReport =
  | { readonly file: string; readonly problem?: undefined }
  | { readonly file?: undefined; readonly problem: string };

/**
 * The report.json to read for `path`: the path itself when it is no folder; for a folder,
 * `<folder>/report.json`, or the problem when that is missing. `valid` says what the
 * command takes (it ends the message on a folder that is no run's); `needs` ends the
 * killed-run message (why a rebuilt, interrupted run may still not do). Nothing is read.
 *
 * @example
 * ```ts ignore
 * import { runFolderReport } from "./run_folder.ts";
 * await runFolderReport("out/night-1", { valid: "give a run output folder" });
 * // { file: "out/night-1/report.json" }
 * ```
 */
export async function runFolderReport(
  path: string,
  options: { valid: string; needs?: string },
): Promise<RunFolderReport> {
  if (!(await isDirectory(path))) return { file: path };
  const dir = path.replace(/\/+$/, "");
  const file = `${dir}/report.json`;
  if (await pathExists(file)) return { file };
  if (await pathExists(`${dir}/run.json`)) {
    return {
      problem: "the folder's run was killed before writing its reports (its run.json and " +
        `results.jsonl are there, no report.json); \`merge ${shellWord(dir)} --out ${
          shellWord(dir)
        }\` rebuilds them (marked interrupted` + (options.needs ? `: ${options.needs}` : "") +
        "), `run --resume` finishes it",
    };
  }
  return { problem: `a folder without report.json, not a run output folder; ${options.valid}` };
}
