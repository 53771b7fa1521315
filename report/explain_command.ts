/**
 * The command that explains a failed case as `run` resolved it (`explain --case`), for the
 * reports' failures.
 *
 * @module
 */
import { shellWord } from "./finish_commands.ts";

/**
 * The command that explains a case as `run` resolved it (`explain --case`), for a failure
 * card: a case id copied from a report, with no shape to retype.
 *
 * @example
 * ```ts
 * import { explainCommandFor } from "./explain_command.ts";
 * explainCommandFor("preset=tiny;b=2", "smoke");
 * // "deno task harness explain --case 'preset=tiny;b=2' --matrix smoke"
 * ```
 */
export function explainCommandFor(id: string, matrix: string): string {
  return `deno task harness explain --case ${shellWord(id)} --matrix ${shellWord(matrix)}`;
}
