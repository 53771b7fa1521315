/**
 * `merge`: combine shard output directories into the files an unsharded run writes.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { MAX_MISSING_ROWS } from "../report/markdown.ts";
import {
  type MergeResult,
  mergeRuns,
  RUN_FILES,
  RUN_REPORT_FILES,
  writeRunOutputs,
} from "../report/merge.ts";
import { sameFile } from "../report/output_overlap.ts";
import { finishCommands } from "../report/finish_commands.ts";
import { lockOutDir } from "../runner/out_lock.ts";
import {
  BENCH_ONLY_FILES,
  checkOutputFilesIn,
  OutputPathError,
  prepareOutputDir,
} from "../report/output_paths.ts";
import { CliError, EXIT } from "./errors.ts";
import { lockHeld } from "../util/fs.ts";
import { upgradeFolderProblem } from "../report/run_folder.ts";
import { runExitCode, uncaughtFaultLine } from "./run.ts";
import { faultSlipped, faultUncaught } from "../report/verdict.ts";
import { ALL_FAULTS } from "../parity/faults.ts";
import { plural } from "../util/plural.ts";
import { countsText } from "../report/totals.ts";

/**
 * Missing and duplicated cases `merge` names on the console at most, each; the rest are
 * counted (report.json has every missing id, summary.md lists 50 as here).
 */
export const MAX_MERGE_LINES = MAX_MISSING_ROWS;

/**
 * What `merge` prints: the totals line, the missing and duplicated cases (up to
 * {@link MAX_MERGE_LINES} of each, then a count: a merge of a few of many shards of a
 * 5000-case nightly printed thousands of lines), the rebuilt folders, dropped tails, host
 * differences and folders whose config files could not be checked.
 *
 * @example
 * ```ts ignore
 * import { mergeLines } from "./merge.ts";
 * for (const line of mergeLines(await mergeRuns(dirs), dirs.length)) console.log(line);
 * ```
 */
export function mergeLines(m: MergeResult, folders: number): string[] {
  // a case refused as the matrix expected counts as a pass in the totals; named apart, as
  // `run`'s line and summary.md do (the merged line said "18 pass" where the unsharded run
  // said "4 pass, ..., 14 skipped as expected")
  const lines = [
    `merged ${plural(folders, "dir")}: ${m.report.results.length}/${
      plural(m.report.matrixIds.length, "case")
    }; ${countsText(m.report.results)}`,
  ];
  const capped = (list: readonly string[], more: (n: number) => string) => {
    lines.push(...list.slice(0, MAX_MERGE_LINES));
    if (list.length > MAX_MERGE_LINES) lines.push(more(list.length - MAX_MERGE_LINES));
  };
  capped(
    m.missing.map((id) => `missing: ${id}`),
    (n) => `missing: … and ${n} more (report.json's missing lists every one)`,
  );
  capped(
    m.duplicated.map((d) => `duplicated: ${d.id} (in ${d.dirs.join(", ")})`),
    (n) => `duplicated: … and ${n} more (the first copy of each is kept)`,
  );
  for (const x of m.rebuilt) {
    // killed before its reports were all written (report.json among them, or not: a run
    // killed while writing report.html has one); interrupted only where cases are missing,
    // which the lines above name (it said "marked interrupted" of a folder with every case)
    lines.push(
      `rebuilt from results.jsonl: ${x} (its run was killed before it had written all its ` +
        "reports)",
    );
  }
  for (const x of m.unreported ?? []) {
    lines.push(
      `reports written from results.jsonl: ${x} (its run ended, but the folder has no ` +
        "report.json: removed, or a library run, runMatrix without writeReports, wrote none)",
    );
  }
  for (const x of m.otherModuleFiles ?? []) {
    // two copies of one module (shards run from two checkouts): one kernel, said
    lines.push(
      `backend module from another file: ${x}; their contents are the same (the kernel ` +
        "hashes agree), so one kernel ran: the merged report names the first folder's",
    );
  }
  for (const x of m.corruptTails) lines.push(`half-written last line dropped: ${x}`);
  for (const x of m.mismatched) lines.push(`environment differs: ${x}`);
  for (const x of m.uncheckedConfigs ?? []) {
    lines.push(
      `config files not checked: ${x} (its report does not record their digests, a harness ` +
        "from before it did): whether they changed between the shards is unknown",
    );
  }
  return lines;
}

/**
 * Refuse, before anything is read or written, a merge that would misread or destroy its
 * inputs: a file given as a folder, a folder given twice (its cases would all read as duplicated, exit 0), an --out
 * that is one of several input folders (the merged results.jsonl and report.json would
 * replace that shard's, and its run.json would still describe the shard), and an --out
 * that holds another run (run.json: the merged reports would sit next to a run.json of a
 * different run, which the next merge of that folder reads). `merge <dir> --out <dir>`
 * (one folder, rebuilt in place) stays allowed. Throws CliError or OutputPathError (exit 2).
 *
 * @example
 * ```ts ignore
 * import { checkMergeFolders } from "./merge.ts";
 * await checkMergeFolders(["out/s1", "out/s2"], "out/s1"); // throws: --out is an input
 * ```
 */
export async function checkMergeFolders(dirs: readonly string[], out: string): Promise<void> {
  if (out === "") throw new OutputPathError("--out", out, "is empty; give a folder path");
  for (const d of dirs) {
    if (d === "") {
      throw new CliError(
        'merge: a folder argument is empty (""); give shard folders',
        EXIT.badInput,
      );
    }
    // a file would be read as <file>/run.json: "Not a directory" from the OS
    // (a file given with a folder's trailing slash is stat'ed as the file: "Not a directory"
    // was read as no answer, and the merge failed reading <file>/run.json)
    const info = await Deno.stat(d.replace(/(?<=.)\/+$/, "")).catch((e) =>
      e instanceof Deno.errors.NotFound ? e : null
    );
    if (info instanceof Deno.errors.NotFound) {
      throw new CliError(
        `merge: ${d}: the folder does not exist; give the output folders of \`run --shard\`` +
          " (each holds the run's run.json and results.jsonl)",
        EXIT.badInput,
      );
    }
    if (info !== null && !info.isDirectory) {
      throw new CliError(
        `merge: ${d} is a file, not a folder; give the output folders of \`run --shard\``,
        EXIT.badInput,
      );
    }
    // an upgrade-check's --out read "report.json: missing (not a run output folder, or the
    // run never started)": its sides' runs are named
    const upgrade = await upgradeFolderProblem(d);
    if (upgrade !== null) {
      throw new CliError(`merge: ${d}: ${upgrade.problem}`, EXIT.badInput);
    }
  }
  for (let i = 0; i < dirs.length; i++) {
    for (let j = 0; j < i; j++) {
      if (await sameFile(dirs[i], dirs[j])) {
        throw new CliError(
          `merge: ${dirs[i]} is the folder ${dirs[j]} given again (argument ${j + 1} and ` +
            `${i + 1}); give each shard folder once`,
          EXIT.badInput,
        );
      }
    }
  }
  // A folder whose run is still going (its run.lock held): merged now, its cases yet to run
  // would read as lost and the merge would say the run was killed. (Checked before this merge
  // takes --out's own lock, which an in-place rebuild's folder shares.)
  for (const d of dirs) {
    if (await lockHeld(`${d.replace(/\/+$/, "")}/run.lock`)) {
      throw new CliError(
        `merge: ${d} holds a run that is still going (its run.lock is held): merge it once ` +
          "it has finished or stopped",
        EXIT.badInput,
      );
    }
  }
  const input = [];
  for (const d of dirs) if (await sameFile(out, d)) input.push(d);
  if (input.length > 0 && dirs.length > 1) {
    throw new OutputPathError(
      "--out",
      out,
      `is the shard folder ${input[0]} being merged: the merged results.jsonl and reports ` +
        "would replace that shard's; give a new folder (only `merge <dir> --out <dir>`, one " +
        "folder, rebuilds in place)",
    );
  }
  if (input.length === 0) {
    // A bench's folder: the merged reports would replace its report.json, summary.md and
    // report.html and sit beside its records.jsonl and results.csv (run refuses it too).
    for (const f of BENCH_ONLY_FILES) {
      const there = await Deno.stat(`${out.replace(/\/+$/, "")}/${f}`).then(
        (i) => i.isFile,
        () => false,
      );
      if (there) {
        throw new OutputPathError(
          "--out",
          out,
          `holds ${f}: it is the output folder of a bench, whose reports the merged ones ` +
            "would replace; give a new folder",
        );
      }
    }
    const state = `${out.replace(/\/+$/, "")}/${RUN_FILES.state}`;
    const held = await Deno.stat(state).then((i) => i.isFile, () => false);
    if (held) {
      throw new OutputPathError(
        "--out",
        out,
        `holds another run (${RUN_FILES.state}), which is not among the folders merged: the ` +
          "merged reports would replace its results and sit next to its run.json; give a new " +
          "folder, or add it to the folders merged",
      );
    }
  }
}

/**
 * Build the `merge` command.
 *
 * @example
 * ```ts ignore
 * import { mergeCommand } from "./merge.ts";
 * const cmd = mergeCommand();
 * ```
 */
export function mergeCommand() {
  return new Command("merge")
    .description(
      "Merge the output directories of `run --shard` into one: results.jsonl, report.json, " +
        "junit.xml, summary.md and report.html, as an unsharded run writes them. Reports missing and " +
        "duplicated cases; missing cases (shards not given, or not finished) are named in " +
        "report.json's `missing` and reported as not run in summary.md, junit.xml and " +
        "report.html. A folder whose run was killed before writing its reports (SIGKILL, " +
        "a crash) is rebuilt from its run.json and results.jsonl, and said so; `merge <dir> " +
        "--out <dir>` rebuilds one folder in place. Exit 1 when cases are missing or any case " +
        "failed (4: shards of run --plant-fault where none failed, as run), 2 on unreadable " +
        "input or an unusable --out (a folder given twice, a case in " +
        "two folders whose copies disagree in status or output digest, shards of another " +
        "matrix, filter, matrix seed, planted fault or --backend, or run in another " +
        "environment (device, WebGPU backend, runtime, kernel sources, plan caps, harness revision), shards timed with " +
        "another --repeats or --warmup-ms or checked with another --max-rows, an --out that " +
        "is one of several folders merged or holds another run's run.json included).",
    )
    .argument("<dirs...>", "shard output directories")
    .requiredOption("--out <dir>", "merged output directory")
    .action(async (dirs, opts) => {
      await checkMergeFolders(dirs, opts.out);
      await prepareOutputDir(opts.out, { label: "--out" });
      // each a file: a folder named summary.md was an internal error with a stack trace as
      // the reports were written
      await checkOutputFilesIn(opts.out, Object.values(RUN_FILES), { label: "--out" });
      // One writer at a time in --out (run.lock, as run and bench): two merges into one
      // folder mixed their files.
      const lock = await lockOutDir(opts.out);
      let m: MergeResult;
      let finish: string[];
      try {
        m = await mergeRuns(dirs);
        // the commands that run the missing cases and merge again, on the pages and here
        finish = finishCommands(m.report, opts.out, { folders: m.folders });
        // An earlier merge's reports go before this one's are written: a merge stopped
        // halfway leaves some of its own files, never one of another merge beside them.
        for (const f of RUN_REPORT_FILES) {
          await Deno.remove(`${opts.out.replace(/\/+$/, "")}/${f}`).catch(() => {});
        }
        await writeRunOutputs(opts.out, m.report, { finish, stepSummary: true });
      } finally {
        await lock.release();
      }
      for (const line of mergeLines(m, dirs.length)) console.log(line);
      if (finish.length > 0) console.log(`to complete the merge:\n  ${finish.join("\n  ")}`);
      // shards of `run --plant-fault` where no case failed: the fault slipped through, as an
      // unsharded run says it (exit 4), where the merge read as a clean pass (exit 0)
      const slipped = m.missing.length === 0 && faultUncaught(m.report);
      if (slipped) {
        const fault = ALL_FAULTS.find((f) => f.id === m.report.plantedFault);
        console.error(
          // every case is there: a covered shard's interrupted mark makes nothing partial
          uncaughtFaultLine(
            { ...m.report, interrupted: false },
            fault?.description ?? "not a fault of this harness",
          ),
        );
      }
      Deno.exitCode = m.missing.length > 0
        ? 1
        : slipped && faultSlipped(m.report)
        ? EXIT.faultUncaught
        : runExitCode(m.report.totals);
    });
}
