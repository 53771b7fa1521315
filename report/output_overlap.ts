/**
 * Outputs that would overwrite what a command reads, or each other: `compare --md` naming
 * the current report.json, `history --html` naming the database, `--md` and `--html`
 * naming one file, `run --history` naming a file the run writes in `--out`. Checked before
 * any work, each an {@link OutputPathError} (exit 2).
 *
 * @module
 */
import { resolve as resolvePath } from "node:path";
import { RUN_FILES } from "./merge.ts";
import { OutputPathError } from "./output_paths.ts";

/** An option and its path; an absent option is skipped. */
export type LabelledPath = readonly [label: string, path: string | undefined];

/**
 * Whether two paths name one file: equal once resolved, or the same inode (a link, `a//b`).
 * A path that does not exist yet is no existing file.
 *
 * @example
 * ```ts
 * import { sameFile } from "./output_overlap.ts";
 * await sameFile("out/a.md", "./out/a.md"); // true
 * ```
 */
export async function sameFile(a: string, b: string): Promise<boolean> {
  if (resolvePath(a) === resolvePath(b)) return true;
  try {
    const [x, y] = await Promise.all([Deno.stat(a), Deno.stat(b)]);
    return x.dev === y.dev && x.ino !== null && x.ino === y.ino;
  } catch {
    return false;
  }
}

/**
 * The files a run writes in its output folder `dir` (report/merge.ts RUN_FILES: report.json,
 * results.jsonl, run.json, summary.md, junit.xml, report.html; plus the names in `also`,
 * e.g. compare.md), each labelled `<label> (<name>)`, for {@link checkOutputsApart}: a
 * `--history` that names one is refused before the run, not after it. With `under` (a
 * folder below `dir` where the run writes, e.g. `round-2` or `from`), the files are there
 * and labelled by their place in `dir`: `<label> (round-2/report.json)`.
 *
 * @example
 * ```ts
 * import { runOutputFiles } from "./output_overlap.ts";
 * runOutputFiles("out/run", { label: "--out" })[0]; // ["--out (results.jsonl)", "out/run/results.jsonl"]
 * runOutputFiles("out/up", { label: "--out", under: "from" })[0];
 * // ["--out (from/results.jsonl)", "out/up/from/results.jsonl"]
 * ```
 */
export function runOutputFiles(
  dir: string,
  options: { label?: string; also?: readonly string[]; under?: string } = {},
): (readonly [label: string, path: string])[] {
  const label = options.label ?? "the run";
  const base = dir.replace(/\/+$/, "") || "/";
  const prefix = base === "/" ? "" : base;
  const under = options.under ? `${options.under.replace(/^\/+|\/+$/g, "")}/` : "";
  return [...Object.values(RUN_FILES), ...(options.also ?? [])]
    .map((name) => [`${label} (${under}${name})`, `${prefix}/${under}${name}`] as const);
}

/** The files an input stands for: itself, or a folder's run files and baselines. */
async function filesOf(path: string): Promise<string[]> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch {
    return [path];
  }
  if (!info.isDirectory) return [path];
  const dir = path.replace(/\/+$/, "") || "/";
  // A run folder's files (what compare and history read, and the run's own reports), and
  // in a baselines folder the baselines (*.json).
  const files = Object.values(RUN_FILES).map((f) => `${dir}/${f}`);
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.endsWith(".json")) files.push(`${dir}/${e.name}`);
    }
  } catch {
    // unreadable: the command's own read reports it
  }
  return files;
}

/**
 * Refuse (OutputPathError) an output that names the same file as another output, or as
 * an input: an input file itself, or in an input folder one of a run's files
 * (report.json, results.jsonl, run.json, summary.md, junit.xml, report.html) or a `.json`
 * file (a baseline). A new file in an input folder (say `compare.md` in the run's folder)
 * is fine.
 *
 * @example
 * ```ts ignore
 * import { checkOutputsApart } from "./output_overlap.ts";
 * await checkOutputsApart([["--md", "out/run/report.json"]], [["<current>", "out/run"]]);
 * // throws: --md out/run/report.json: is out/run/report.json, which <current> reads ...
 * ```
 */
export async function checkOutputsApart(
  outputs: readonly LabelledPath[],
  inputs: readonly LabelledPath[],
): Promise<void> {
  const given = outputs.filter((o): o is readonly [string, string] => o[1] !== undefined);
  for (let i = 0; i < given.length; i++) {
    for (let j = 0; j < i; j++) {
      if (await sameFile(given[i][1], given[j][1])) {
        throw new OutputPathError(
          given[i][0],
          given[i][1],
          `is the file ${given[j][0]} writes too; give each output its own path`,
        );
      }
    }
  }
  for (const [inLabel, inPath] of inputs) {
    if (inPath === undefined) continue;
    const files = await filesOf(inPath);
    for (const [label, path] of given) {
      for (const f of files) {
        if (await sameFile(path, f)) {
          throw new OutputPathError(
            label,
            path,
            `is ${f === inPath ? "" : `${f}, a file of `}${inPath}, which ${inLabel} ` +
              "reads: writing it would destroy an input; give another path",
          );
        }
      }
    }
  }
}
