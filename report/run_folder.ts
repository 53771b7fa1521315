/**
 * A run output folder given where a run's report is read (`compare`, `history --add`,
 * `baseline update --from-report`, ...): its report.json, or why it holds none, in one
 * wording for every command. A folder whose run was killed before its reports (run.json,
 * no report.json) is told how to rebuild them, and so is one whose run ended without writing
 * them (run.json `finished` or `interrupted`: a library `runMatrix` without a report writer);
 * an upgrade-check's output folder (a run in from/ and to/) names its sides' runs
 * ({@link upgradeFolderProblem}); any other folder without report.json is named as no run
 * output folder.
 *
 * @module
 */
import { runCommandFor, shellWord } from "./finish_commands.ts";
import type { RunReport } from "../results/types.ts";
import { isDirectory, lockHeld, pathExists } from "../util/fs.ts";

/** What {@link runFolderReport} found: the report file to read, or why there is none. */
export type RunFolderReport =
  | { readonly file: string; readonly problem?: undefined }
  | { readonly file?: undefined; readonly problem: string };

/**
 * The report.json to read for `path`: the path itself when it is no folder; for a folder,
 * `<folder>/report.json`, or the problem when that is missing. `valid` says what the
 * command takes (it ends the message on a folder that is no run's); `needs` ends the
 * killed-run message (why a rebuilt, interrupted run may still not do). Of the folder only
 * run.json's `state` is read.
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
    // A run still writing the folder (its run.lock held): it read as killed, and was told to
    // rebuild (merge refuses a running folder) or to resume (a second run of it)
    if (await lockHeld(`${dir}/run.lock`)) {
      return {
        problem: "the folder's run is still going (its run.lock is held): its reports are " +
          "written when it ends; give the folder once it has finished or stopped",
      };
    }
    // what the folder holds: run.json alone (results.jsonl copied or left out) was said to be
    // "run.json and results.jsonl"
    const there = await pathExists(`${dir}/results.jsonl`)
      ? "run.json and results.jsonl are there, no report.json"
      : "run.json is there, no results.jsonl (no case results) or report.json";
    const ended = await endedState(`${dir}/run.json`);
    if (ended !== null) {
      return {
        problem: `the folder's run ${ended} (its run.json says so) without writing its reports ` +
          "(runMatrix writes them only with `writeReports: writeRunReports`; " +
          `${there}); \`merge ${shellWord(dir)} --out ${shellWord(dir)}\` writes them`,
      };
    }
    return {
      problem: "the folder's run was killed before writing its reports (its " +
        `${there}); \`merge ${shellWord(dir)} --out ${
          shellWord(dir)
        }\` rebuilds them (marked interrupted` + (options.needs ? `: ${options.needs}` : "") +
        `), and ${await resumeCommand(dir)} finishes it`,
    };
  }
  // an upgrade-check's --out: its sides' runs named, where "not a run output folder" was all
  const upgrade = await upgradeFolderProblem(dir);
  if (upgrade !== null) return { problem: upgrade.problem };
  return { problem: `a folder without report.json, not a run output folder; ${options.valid}` };
}

/**
 * Why `path` is no run or baseline when it is an upgrade-check's output folder (no
 * report.json or run.json of its own, a side's run in from/ or to/), and the sides' folders
 * that hold a run; null for any other path. Given where one
 * run is read, such a folder read "a folder without report.json, not a run output folder"
 * (`history --add`, `compare`'s current side, `merge`, and whatever reads a run folder
 * through {@link runFolderReport}, which now says this) or "no baseline for this device (…); the folder
 * has compare" (`compare`'s baseline side, its compare.json taken for a baseline).
 *
 * @example
 * ```ts ignore
 * import { upgradeFolderProblem } from "./run_folder.ts";
 * (await upgradeFolderProblem("out/upgrade"))?.problem;
 * // "an upgrade-check's output folder, not one run's: its sides' runs are out/upgrade/from
 * // and out/upgrade/to; give one of them"
 * ```
 */
export async function upgradeFolderProblem(
  path: string,
): Promise<{ problem: string; sides: string[] } | null> {
  if (!(await isDirectory(path))) return null;
  const dir = path.replace(/\/+$/, "") || "/";
  const run = async (d: string) =>
    await pathExists(`${d}/report.json`) || await pathExists(`${d}/run.json`);
  if (await run(dir)) return null;
  const sides: string[] = [];
  for (const side of ["from", "to"]) if (await run(`${dir}/${side}`)) sides.push(`${dir}/${side}`);
  if (sides.length === 0) return null;
  const problem = `an upgrade-check's output folder, not one run's: ${
    sides.length === 1
      ? `its one side's run is ${sides[0]}; give that folder`
      : `its sides' runs are ${sides.join(" and ")}; give one of them`
  }`;
  return { problem, sides };
}

/**
 * The `run --resume` that finishes a killed run, with the run's own options as its run.json
 * records them (a bare `run --resume` is refused for another matrix or filter); the bare
 * words where run.json cannot be read.
 */
async function resumeCommand(dir: string): Promise<string> {
  try {
    const v: unknown = JSON.parse(await Deno.readTextFile(`${dir}/run.json`));
    const r = typeof v === "object" && v !== null ? (v as { report?: unknown }).report : null;
    const rec = typeof r === "object" && r !== null ? r as Record<string, unknown> : null;
    if (
      rec !== null && typeof rec.matrix === "string" &&
      (rec.filter === null || typeof rec.filter === "string") &&
      (rec.shard === null || typeof rec.shard === "string")
    ) {
      return `\`${runCommandFor(rec as unknown as RunReport, dir, true)}\``;
    }
  } catch {
    // unreadable: the bare words
  }
  return "`run --resume` with the run's own options";
}

/**
 * How run.json says its run ended ("finished" or "stopped early"), or null when it says the
 * run is still running (it was killed) or cannot be read as a run state: then the folder is
 * read as a killed run's, as before run.json's state was consulted here.
 */
async function endedState(path: string): Promise<string | null> {
  try {
    const v: unknown = JSON.parse(await Deno.readTextFile(path));
    const state = typeof v === "object" && v !== null ? (v as { state?: unknown }).state : null;
    if (state === "finished") return "finished";
    if (state === "interrupted") return "stopped early";
  } catch {
    // unreadable: told as a killed run's folder
  }
  return null;
}
