/**
 * Output paths checked before any work starts: a run folder that is a file, a folder that
 * cannot be created or written, an output file that is a folder or whose folder is
 * missing. Each gives an {@link OutputPathError} naming the option, the path and the
 * reason (the CLI exits 2 on it), instead of an OS error after minutes of GPU work.
 *
 * @module
 */
import { RUN_FILES } from "./merge.ts";
import { lockHeld, osErrorText } from "../util/fs.ts";

/**
 * The folder round `round` of `rounds` runs in below its output folder (`baseline update
 * --rounds`, `upgrade-check --rounds`): none ("") for a single round, else `round-<round>`.
 * The commands run there ({@link roundOutDir}), and their output checks look there, by this
 * one rule.
 *
 * @example
 * ```ts
 * import { roundFolder } from "./output_paths.ts";
 * roundFolder(1, 1); // ""
 * roundFolder(2, 3); // "round-2"
 * ```
 */
export function roundFolder(round: number, rounds: number): string {
  return rounds === 1 ? "" : `round-${round}`;
}

/**
 * The output folder of round `round` of `rounds`: `out` itself for a single round, else
 * `<out>/round-<round>` ({@link roundFolder}).
 *
 * @example
 * ```ts
 * import { roundOutDir } from "./output_paths.ts";
 * roundOutDir("out/b", 1, 1); // "out/b"
 * roundOutDir("out/b/", 2, 3); // "out/b/round-2"
 * ```
 */
export function roundOutDir(out: string, round: number, rounds: number): string {
  const folder = roundFolder(round, rounds);
  return folder === "" ? out : `${out.replace(/\/+$/, "")}/${folder}`;
}

/**
 * Removes the run files in `out` that a command of `rounds` rounds ({@link roundOutDir})
 * would leave beside its own as if they were its: for several rounds, the files of a single
 * round's run in `out` itself; the `round-<n>` folders past `through` (default `rounds`) of
 * an earlier command of more rounds (for one round, every `round-<n>` folder) (a command stopped in round k gives `through` k: the
 * rounds it never reached are another run's). Only the run's files go (a `round-<n>` folder
 * then, if nothing else is in it), and nothing of a folder whose run.lock another run holds.
 * Returns the paths removed.
 *
 * @example
 * ```ts ignore
 * import { removeOtherRounds } from "./output_paths.ts";
 * await removeOtherRounds("out/baseline", 3); // ["out/baseline/report.json", ...]
 * ```
 */
export async function removeOtherRounds(
  out: string,
  rounds: number,
  options: { through?: number } = {},
): Promise<string[]> {
  const dir = out.replace(/\/+$/, "") || "/";
  // one round runs in `out` itself: every round-<n> folder is another command's
  const through = rounds === 1 ? 0 : options.through ?? rounds;
  const removed: string[] = [];
  const removeRunFiles = async (folder: string): Promise<void> => {
    if (await lockHeld(`${folder}/run.lock`)) return;
    for (const f of Object.values(RUN_FILES)) {
      const path = `${folder}/${f}`;
      if (await Deno.remove(path).then(() => true, () => false)) removed.push(path);
    }
  };
  if (rounds > 1) await removeRunFiles(dir);
  const folders: [number, string][] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      const m = e.isDirectory ? /^round-([1-9][0-9]*)$/.exec(e.name) : null;
      if (m !== null && Number(m[1]) > through) folders.push([Number(m[1]), `${dir}/${e.name}`]);
    }
  } catch {
    // no folder yet (or unreadable): nothing of an earlier run
  }
  for (const [, folder] of folders.sort((a, b) => a[0] - b[0])) {
    const before = removed.length;
    await removeRunFiles(folder);
    // emptied: the folder goes too; one with other files in it stays
    if (removed.length > before && await Deno.remove(folder).then(() => true, () => false)) {
      removed.splice(before, removed.length - before, `${folder}/`);
    }
  }
  return removed;
}

/**
 * An output path cannot be used. The message names the option (or what the path is for),
 * the path and the reason.
 *
 * @example
 * ```ts
 * import { OutputPathError } from "./output_paths.ts";
 * const e = new OutputPathError("--out", "out/x.json", "is a file; expected a folder");
 * e.message; // "--out out/x.json: is a file; expected a folder"
 * ```
 */
export class OutputPathError extends Error {
  /** The path. */
  readonly path: string;
  /**
   * @param label the option or role ("--out", "output folder")
   * @param path the path
   * @param reason what is wrong with it
   */
  constructor(label: string, path: string, reason: string) {
    super(`${label} ${path === "" ? '""' : path}: ${reason}`);
    this.name = "OutputPathError";
    this.path = path;
  }
}

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/**
 * Why a path could not be inspected, in the user's words: a path under a file ("Not a
 * directory" from the OS, which named no file) names the file it runs into.
 */
async function inspectProblem(path: string, e: unknown): Promise<string> {
  if (e instanceof Deno.errors.NotADirectory) {
    for (let up = parentOf(path); up !== "/" && up !== "."; up = parentOf(up)) {
      const info = await Deno.stat(up).catch(() => null);
      if (info?.isFile) {
        return `runs into ${up}, which is a file, not a folder; give a path of folders`;
      }
    }
  }
  return `cannot be inspected (${osErrorText(e)})`;
}

/** Creates and removes a hidden file in `dir`; returns the OS reason when that fails. */
async function writeProbe(dir: string): Promise<string | null> {
  try {
    const probe = await Deno.makeTempFile({ dir, prefix: ".mla-harness-write-check-" });
    await Deno.remove(probe);
    return null;
  } catch (e) {
    return osErrorText(e);
  }
}

/**
 * Makes sure `path` is a folder the harness can write in: creates it (and its parents)
 * when absent, then creates and removes a hidden probe file in it. Throws an
 * {@link OutputPathError} when the path is a file, cannot be created, or is not writable.
 *
 * @example
 * ```ts
 * import { prepareOutputDir } from "./output_paths.ts";
 * const dir = await Deno.makeTempDir();
 * await prepareOutputDir(`${dir}/smoke`, { label: "--out" }); // created, and writable
 * ```
 */
export async function prepareOutputDir(
  path: string,
  options: { label?: string } = {},
): Promise<void> {
  const label = options.label ?? "output folder";
  // "" would be the current folder: the run's files would land wherever the shell is
  if (path === "") throw new OutputPathError(label, path, "is empty; give a folder path");
  let info: Deno.FileInfo | null;
  try {
    info = await statOrNull(path);
  } catch (e) {
    throw new OutputPathError(label, path, await inspectProblem(path, e));
  }
  if (info && !info.isDirectory) {
    throw new OutputPathError(label, path, "exists and is not a folder; give a folder path");
  }
  if (!info) {
    // the folder and each missing parent, deepest first, to remove again if left empty
    const missing = [path];
    for (let p = parentOf(path); p !== path && (await statOrNull(p).catch(() => null)) === null;) {
      missing.push(p);
      const up = parentOf(p);
      if (up === p) break;
      p = up;
    }
    try {
      await Deno.mkdir(path, { recursive: true });
    } catch (e) {
      throw new OutputPathError(label, path, `cannot create the folder (${osErrorText(e)})`);
    }
    created.push(...missing);
  }
  const problem = await writeProbe(path);
  if (problem !== null) {
    throw new OutputPathError(label, path, `cannot write in the folder (${problem})`);
  }
}

/** Folders {@link prepareOutputDir} created in this process (not the ones it found). */
const created: string[] = [];

/**
 * Removes the folders {@link prepareOutputDir} created in this process that are still
 * empty: a command refused for bad input after checking its output folder leaves none
 * behind, nor the parents it created for them (the CLI calls this on exit 2). A folder that
 * existed before, or that now holds anything, is left alone.
 *
 * @example
 * ```ts ignore
 * import { removeEmptyCreatedDirs } from "./output_paths.ts";
 * await removeEmptyCreatedDirs();
 * ```
 */
export async function removeEmptyCreatedDirs(): Promise<void> {
  for (const dir of created.splice(0)) {
    try {
      for await (const _ of Deno.readDir(dir)) throw new Error("not empty");
      await Deno.remove(dir);
    } catch {
      // not empty, gone already, or not ours to remove: leave it
    }
  }
}

function parentOf(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  const i = trimmed.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : trimmed.slice(0, i);
}

/**
 * {@link checkOutputFile} for each file a command writes in its output folder `dir` (made
 * by {@link prepareOutputDir}), labelled `<label> (<name>)`: a folder named as one of them
 * (a `summary.md/`) is refused before the command's work, where writing it failed after.
 *
 * @example
 * ```ts
 * import { checkOutputFilesIn } from "./output_paths.ts";
 * const dir = await Deno.makeTempDir();
 * await checkOutputFilesIn(dir, ["report.json", "summary.md"], { label: "--out" });
 * ```
 */
export async function checkOutputFilesIn(
  dir: string,
  names: readonly string[],
  options: { label?: string } = {},
): Promise<void> {
  const label = options.label ?? "output folder";
  const prefix = dir.replace(/\/+$/, "");
  for (const name of names) {
    await checkOutputFile(`${prefix}/${name}`, { label: `${label} (${name})` });
  }
}

/**
 * Checks that `path` can be written as a file: it is not a folder, nor a device, pipe or
 * socket (the atomic write would replace it), its folder exists and is writable (a hidden probe file is created and removed there). Nothing is created at
 * `path` itself. Throws an {@link OutputPathError}.
 *
 * @example
 * ```ts
 * import { checkOutputFile } from "./output_paths.ts";
 * const dir = await Deno.makeTempDir();
 * await checkOutputFile(`${dir}/compare.md`, { label: "--md" }); // nothing created
 * const e = await checkOutputFile(`${dir}/no/compare.md`, { label: "--md" }).catch((e) => e);
 * e.message; // "--md .../no/compare.md: its folder ... does not exist"
 * ```
 */
export async function checkOutputFile(
  path: string,
  options: { label?: string } = {},
): Promise<void> {
  const label = options.label ?? "output file";
  if (path === "") throw new OutputPathError(label, path, "is empty; give a file path");
  if (path.endsWith("/")) {
    throw new OutputPathError(label, path, "is a folder path; give a file path");
  }
  let info: Deno.FileInfo | null;
  try {
    info = await statOrNull(path);
  } catch (e) {
    throw new OutputPathError(label, path, await inspectProblem(path, e));
  }
  if (info?.isDirectory) {
    throw new OutputPathError(label, path, "is a folder; give a file path");
  }
  // The file is written atomically (a temporary file renamed over it): a device such as
  // /dev/null was replaced by a regular file (as root), and nothing reached a pipe.
  if (info !== null && !info.isFile) {
    throw new OutputPathError(
      label,
      path,
      "is not a regular file (a device, pipe or socket), which the atomic write would " +
        "replace; give a file path",
    );
  }
  const dir = parentOf(path);
  let dirInfo: Deno.FileInfo | null;
  try {
    dirInfo = await statOrNull(dir);
  } catch (e) {
    throw new OutputPathError(
      label,
      path,
      `its folder ${dir} cannot be inspected (${osErrorText(e)})`,
    );
  }
  if (!dirInfo) throw new OutputPathError(label, path, `its folder ${dir} does not exist`);
  if (!dirInfo.isDirectory) throw new OutputPathError(label, path, `${dir} is not a folder`);
  const problem = await writeProbe(dir);
  if (problem !== null) {
    throw new OutputPathError(label, path, `cannot write in its folder ${dir} (${problem})`);
  }
}

/** The files only a run or a merge writes into its folder: a folder holding one is theirs. */
export const RUN_FOLDER_FILES: readonly string[] = [RUN_FILES.state, RUN_FILES.results];

/**
 * Refuse (OutputPathError, exit 2) an `--out` folder that holds a run or a merge
 * (`run.json` or `results.jsonl`), whose files the command's would replace or sit beside as
 * if they were its; `why` ends the message, naming them and what to do. A missing folder is
 * fine.
 *
 * @example
 * ```ts ignore
 * import { refuseRunFolder } from "./output_paths.ts";
 * await refuseRunFolder("out/smoke", "whose compare.md this would replace; give a new folder");
 * // throws: --out out/smoke: holds run.json: it is the output folder of a run or a merge, ...
 * ```
 */
export async function refuseRunFolder(
  out: string,
  why: string,
  options: { label?: string } = {},
): Promise<void> {
  const dir = out.replace(/\/+$/, "") || "/";
  for (const f of RUN_FOLDER_FILES) {
    const held = await Deno.stat(`${dir}/${f}`).then((i) => i.isFile, () => false);
    if (held) {
      throw new OutputPathError(
        options.label ?? "--out",
        out,
        `holds ${f}: it is the output folder of a run or a merge, ${why}`,
      );
    }
  }
}

/** The file a bench streams its records into (the measurements a killed bench keeps). */
export const BENCH_RECORDS = "records.jsonl";

/**
 * The file that names the bench a folder's records.jsonl belongs to (its matrices, filter,
 * backends, runtime, repetitions, warm-up and device), written when the records start:
 * what `bench --resume` checks before it keeps them.
 */
export const BENCH_STATE = "bench.json";

/** The files of a bench output folder (`bench --out`; bench/out_dir.ts checks it). */
export const BENCH_FILES = [
  "report.json",
  "results.csv",
  "summary.md",
  "report.html",
  BENCH_RECORDS,
  BENCH_STATE,
] as const;

/**
 * The files of {@link BENCH_FILES} that `run` does not write (records.jsonl, results.csv,
 * bench.json): a run refuses a folder holding bench records, and its `--force` removes them.
 *
 * @example
 * ```ts
 * import { BENCH_ONLY_FILES } from "./output_paths.ts";
 * BENCH_ONLY_FILES.includes("records.jsonl"); // true
 * ```
 */
export const BENCH_ONLY_FILES: readonly string[] = BENCH_FILES.filter((f) =>
  !(Object.values(RUN_FILES) as string[]).includes(f)
);
