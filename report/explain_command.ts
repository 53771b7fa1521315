/**
 * The command that explains a failed case as `run` resolved it (`explain --case`), for the
 * reports' failures.
 *
 * @module
 */
import type { RunReport } from "../results/types.ts";
import { absolutePath, backendWords, matrixWord, shellWord } from "./finish_commands.ts";

/**
 * The command that explains a case as `run` resolved it (`explain --case`), for a failure
 * card: a case id copied from a report, with no shape to retype. The run's matrix, its
 * `--config-root`, its `--backend-module`s (each where the report recorded it is: an absolute
 * path) and its `--backend` (when it had them) come along: the case is found where the run
 * found it and resolved on the backend it ran on. A matrix file and `--config-root` are named
 * by their absolute paths (`deno task harness` runs in the harness's folder).
 *
 * @example
 * ```ts
 * import { explainCommandFor } from "./explain_command.ts";
 * explainCommandFor("preset=tiny;b=2", { matrix: "smoke" });
 * // "deno task harness explain --case 'preset=tiny;b=2' --matrix smoke"
 * ```
 */
export function explainCommandFor(
  id: string,
  run:
    & Pick<RunReport, "matrix" | "configRoot" | "backend" | "backendModules">
    & Partial<Pick<RunReport, "backendModulePaths" | "matrixPath" | "configRootPath">>,
): string {
  return [
    "deno task harness explain --case",
    shellWord(id),
    "--matrix",
    shellWord(run.matrixPath ?? matrixWord(run.matrix)),
    ...(run.configRoot === undefined
      ? []
      : ["--config-root", shellWord(run.configRootPath ?? absolutePath(run.configRoot))]),
    ...backendWords(run),
  ].join(" ");
}
