/**
 * The files `bench --out <dir>` writes, and the check that they destroy nothing: not the
 * `--reference-ceilings` report the run reads, not another command's output folder.
 *
 * @module
 */
import { checkOutputsApart } from "../report/output_overlap.ts";
import { OutputPathError, refuseRunFolder } from "../report/output_paths.ts";
import { BENCH_FILES, BENCH_RECORDS } from "../report/output_paths.ts";
import { plural } from "../util/plural.ts";

/**
 * Refuse (OutputPathError, exit 2) a `bench --out` folder whose writing would destroy an
 * input or another command's output: a folder holding `run.json` or `results.jsonl` (a
 * run's or a merge's: bench's report.json, summary.md and report.html would replace
 * theirs), and a `--reference-ceilings` file that is one of the files bench writes
 * there. Checked before the device starts; a missing folder is fine.
 *
 * @example
 * ```ts ignore
 * import { checkBenchOut } from "./out_dir.ts";
 * await checkBenchOut("out/bench", { referenceCeilings: "out/bench/report.json" });
 * // throws: --out out/bench: bench writes report.json there, and that file is the
 * // --reference-ceilings out/bench/report.json it reads: writing it would destroy ...
 * ```
 */
export async function checkBenchOut(
  out: string,
  options: { referenceCeilings?: string } = {},
): Promise<void> {
  const dir = out.replace(/\/+$/, "") || "/";
  await refuseRunFolder(
    out,
    "whose report.json, summary.md and report.html bench would replace; give a new folder " +
      "or a bench output folder",
  );
  const files = BENCH_FILES.map((f) => `${dir}/${f}`);
  try {
    await checkOutputsApart(
      files.map((f) => ["--out", f] as const),
      [["--reference-ceilings", options.referenceCeilings]],
    );
  } catch (e) {
    // said of the folder the user gave, not of the file inside it bench would write
    if (!(e instanceof OutputPathError) || !files.includes(e.path)) throw e;
    throw new OutputPathError(
      "--out",
      out,
      `bench writes ${e.path.slice(dir.length + 1)} there, and that file is the ` +
        `--reference-ceilings ${options.referenceCeilings} it reads: writing it would destroy ` +
        "the reference; give another --out folder, or copy the reference elsewhere first",
    );
  }
}

/**
 * Refuse (OutputPathError, exit 2) a `bench --out` folder holding the records of a bench
 * that did not finish: records.jsonl with lines and no report.json (a bench killed
 * halfway, whose measurements the file keeps). A new bench would truncate it; `bench
 * --force` skips this check. A finished bench's folder (report.json present) is replaced.
 *
 * @example
 * ```ts ignore
 * import { checkUnfinishedBench } from "./out_dir.ts";
 * await checkUnfinishedBench("out/bench"); // throws when a killed bench's records are there
 * ```
 */
export async function checkUnfinishedBench(out: string): Promise<void> {
  const dir = out.replace(/\/+$/, "") || "/";
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/${BENCH_RECORDS}`);
  } catch {
    return; // none
  }
  const lines = text.split("\n").filter((l) => l.trim() !== "").length;
  if (lines === 0) return;
  const finished = await Deno.stat(`${dir}/report.json`).then((i) => i.isFile, () => false);
  if (finished) return;
  throw new OutputPathError(
    "--out",
    out,
    `holds ${BENCH_RECORDS} with ${
      plural(lines, "record")
    } and no report.json: a bench that did not ` +
      "finish (killed?) measured them, and a new bench would truncate the file; move it " +
      "away, pick another --out, or give --force to replace it",
  );
}

/**
 * Start a bench's records in `--out`: remove the reports of the bench that wrote the folder
 * before (report.json, results.csv, summary.md, report.html: they are replaced when this
 * run ends) and create an empty records.jsonl. Without the removal a bench killed halfway
 * (SIGKILL, an out-of-memory kill, a CI job's time limit) left the earlier run's reports
 * beside its own records.jsonl: the folder read as a finished bench of the earlier cases,
 * and the next bench, seeing report.json, truncated the killed run's records without
 * `--force`.
 *
 * @example
 * ```ts ignore
 * import { startBenchRecords } from "./out_dir.ts";
 * const stream = await startBenchRecords("out/bench"); // "out/bench/records.jsonl", empty
 * ```
 */
export async function startBenchRecords(out: string): Promise<string> {
  const dir = out.replace(/\/+$/, "") || "/";
  await Deno.mkdir(dir, { recursive: true });
  for (const file of BENCH_FILES) {
    if (file === BENCH_RECORDS) continue;
    await Deno.remove(`${dir}/${file}`).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
  const stream = `${dir}/${BENCH_RECORDS}`;
  await Deno.writeTextFile(stream, "");
  return stream;
}
