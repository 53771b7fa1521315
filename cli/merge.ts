/**
 * `merge`: combine shard output directories into the files an unsharded run writes.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { appendStepSummary, toMarkdown } from "../report/markdown.ts";
import { mergeRuns, writeRunOutputs } from "../report/merge.ts";
import { prepareOutputDir } from "../report/output_paths.ts";
import { runExitCode } from "./run.ts";

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
        "failed, 2 on unreadable input or an unusable --out.",
    )
    .argument("<dirs...>", "shard output directories")
    .requiredOption("--out <dir>", "merged output directory")
    .action(async (dirs, opts) => {
      await prepareOutputDir(opts.out, { label: "--out" });
      const m = await mergeRuns(dirs);
      await writeRunOutputs(opts.out, m.report);
      await appendStepSummary(toMarkdown(m.report));
      const t = m.report.totals;
      console.log(
        `merged ${dirs.length} dirs: ${m.report.results.length}/${m.report.matrixIds.length} cases; ` +
          `${t.pass} pass, ${t.fail} fail, ${t.unexpected} unexpected, ${t.error} error`,
      );
      for (const id of m.missing) console.log(`missing: ${id}`);
      for (const d of m.duplicated) console.log(`duplicated: ${d.id} (in ${d.dirs.join(", ")})`);
      for (const x of m.rebuilt) {
        console.log(
          `rebuilt from results.jsonl: ${x} (its run was killed before writing report.json; ` +
            `marked interrupted)`,
        );
      }
      for (const x of m.corruptTails) console.log(`half-written last line dropped: ${x}`);
      for (const x of m.mismatched) console.log(`environment differs: ${x}`);
      Deno.exitCode = m.missing.length > 0 ? 1 : runExitCode(t);
    });
}
