/**
 * report.json: the {@link RunReport}, written atomically (a temp file in the same folder,
 * then a rename), so a reader never sees half a report.
 *
 * @module
 */
import type { RunReport } from "../runner/types.ts";
import { ReportFileError } from "./errors.ts";
import { runReportProblem } from "./validate.ts";

function dirAndBase(path: string): { dir: string; base: string } {
  const i = path.lastIndexOf("/");
  return i < 0
    ? { dir: ".", base: path }
    : { dir: path.slice(0, i) || "/", base: path.slice(i + 1) };
}

/**
 * Writes a text file atomically: the text goes to a temp file next to `path`, is flushed to
 * disk, and is then renamed over `path` (a rename within one folder is atomic on POSIX).
 * On failure the temp file is removed and `path` is left as it was.
 *
 * @example
 * ```ts
 * import { writeTextAtomic } from "./json.ts";
 * await writeTextAtomic("out/summary.md", "# Summary\n");
 * ```
 */
export async function writeTextAtomic(path: string, text: string): Promise<void> {
  const { dir, base } = dirAndBase(path);
  const tmp = `${dir}/.${base}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true });
    try {
      const bytes = new TextEncoder().encode(text);
      let off = 0;
      while (off < bytes.length) off += await file.write(bytes.subarray(off));
      await file.syncData();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/**
 * Writes a value as pretty JSON (two-space indent, trailing newline) atomically.
 *
 * @example
 * ```ts
 * import { writeJsonAtomic } from "./json.ts";
 * await writeJsonAtomic("out/plan.json", { backend: "wgsl-absorbed" });
 * ```
 */
export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeTextAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/**
 * Writes report.json atomically.
 *
 * @example
 * ```ts
 * import { writeReportJson } from "./json.ts";
 * import type { RunReport } from "../runner/types.ts";
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
 * const report = await readReportJson("out/report.json");
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
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ReportFileError(path, `not valid JSON (${(e as Error).message})`, { cause: e });
  }
  const problem = runReportProblem(value);
  if (problem !== null) throw new ReportFileError(path, `not a run report: ${problem}`);
  return value as RunReport;
}

/**
 * Whether a path exists and is a directory (false when it does not exist).
 *
 * @example
 * ```ts
 * import { isDirectory } from "./json.ts";
 * await isDirectory("."); // true
 * ```
 */
export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/**
 * Whether a path exists.
 *
 * @example
 * ```ts
 * import { pathExists } from "./json.ts";
 * await pathExists("/nonexistent"); // false
 * ```
 */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
