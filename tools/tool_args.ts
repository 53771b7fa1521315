/**
 * The command line of a tool in tools/: `node:util` `parseArgs`, with a bad option (unknown,
 * or a value that reads as an option) said in a line with the tool's usage and exit 2, not
 * an uncaught TypeError with a stack trace, and `--help` / `-h` the usage and exit 0.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/**
 * `parseArgs(config)` (over the script's arguments unless `config.args` is given); on a bad option,
 * prints its message and `usage` to stderr and exits 2. `--help` or `-h` (where the tool does not
 * define a `help` option itself) prints `usage` to stdout and exits 0.
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
  const args = config.args ?? Deno.args;
  if (config.options?.help === undefined && args.some((a) => a === "--help" || a === "-h")) {
    console.log(usage);
    Deno.exit(0);
  }
  try {
    return parseArgs(config);
  } catch (e) {
    console.error(`${e instanceof Error ? e.message : String(e)}\n${usage}`);
    Deno.exit(2);
  }
}

/**
 * The positional counts of a tool (`tools/html_scale.ts 1000 5000`): each a whole number
 * from 1 up in decimal digits, else its message and `options.usage` on stderr and exit 2;
 * `--help` or `-h` prints the usage and exits 0.
 *
 * @example
 * ```ts ignore
 * import { toolCounts } from "./tool_args.ts";
 * const [runs, cases] = toolCounts(Deno.args, ["runs", "cases"], { usage: "usage: ..." });
 * ```
 */
export function toolCounts(
  args: readonly string[],
  names: readonly string[],
  options: { readonly usage: string },
): number[] {
  const usage = options.usage;
  if (args.some((a) => a === "--help" || a === "-h")) {
    console.log(usage);
    Deno.exit(0);
  }
  const bad = (why: string): never => {
    console.error(`${why}\n${usage}`);
    Deno.exit(2);
  };
  if (args.length > names.length) {
    bad(`${args.length} arguments; it takes at most ${names.length} (${names.join(", ")})`);
  }
  return args.map((a, i) => {
    const n = /^\d+$/.test(a) ? Number(a) : NaN;
    if (!Number.isSafeInteger(n) || n < 1) {
      bad(`${names[i]} ${JSON.stringify(a)}: expected a whole number, at least 1`);
    }
    return n;
  });
}
