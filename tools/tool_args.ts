/**
 * The command line of a tool in tools/: `node:util` `parseArgs`, with a bad option (unknown,
 * or a value that reads as an option) said in a line with the tool's usage and exit 2, not
 * an uncaught TypeError with a stack trace.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/**
 * `parseArgs(config)` (over the script's arguments unless `config.args` is given); on a bad option,
 * prints its message and `usage` to stderr and exits 2.
 *
 * @example
 * ```ts ignore
 * import { toolArgs } from "./tool_args.ts";
 * const { values } = toolArgs(
 *   { options: { seeds: { type: "string", default: "8" } } },
 *   "usage: deno run -A tools/x.ts [--seeds <n>]",
 * );
 * ```
 */
export function toolArgs<T extends ParseArgsConfig>(
  config: T,
  usage: string,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (e) {
    console.error(`${e instanceof Error ? e.message : String(e)}\n${usage}`);
    Deno.exit(2);
  }
}
