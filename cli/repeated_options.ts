/**
 * Single-valued options given more than once. Commander keeps the last value (`run --matrix a
 * --matrix b` runs b), and `deno task bench --matrix X` relies on it (the task passes its own
 * `--matrix` first), so a repeat is not an error; but the values before the last were dropped
 * without a word. Each such option gets one note on stderr naming the value used, which leaves
 * a command's stdout (`--json` included) as it was.
 *
 * @module
 */
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { collect } from "./backend_options.ts";

/** The values each single-valued option of a command was given, by its flag, in order. */
const given = new WeakMap<CommandUnknownOpts, Map<string, (string | null)[]>>();
/** The commands whose options are recorded (a second call records nothing twice). */
const recorded = new WeakSet<CommandUnknownOpts>();

/**
 * Record the values every single-valued option of `cmd` and of its subcommands is given on
 * the command line, for {@link repeatedOptionNotes}. Call it once the commands and their
 * options are all added. Options that take every value (variadic ones, and those collected
 * by `collect`: `--backend-module`) and flags without a value are left out.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import { recordOptionValues, repeatedOptionNotes } from "./repeated_options.ts";
 * const cmd = new Command("x").option("--matrix <m>");
 * recordOptionValues(cmd);
 * cmd.parse(["--matrix", "a", "--matrix", "b"], { from: "user" });
 * repeatedOptionNotes(cmd); // ['note: --matrix given twice; using the last ("b")']
 * ```
 */
export function recordOptionValues(cmd: CommandUnknownOpts): void {
  for (const sub of cmd.commands) recordOptionValues(sub);
  if (recorded.has(cmd)) return;
  recorded.add(cmd);
  for (const option of cmd.options) {
    const takesOne = (option.required || option.optional) && !option.variadic &&
      option.parseArg !== (collect as unknown);
    if (!takesOne) continue;
    const flag = option.long ?? option.short ?? option.flags;
    cmd.on(`option:${option.name()}`, (value: string | null | undefined) => {
      const values = given.get(cmd) ?? new Map<string, (string | null)[]>();
      given.set(cmd, values);
      values.set(flag, [...values.get(flag) ?? [], value ?? null]);
    });
  }
}

/**
 * One note per single-valued option of `cmd` given more than once, with different values, on
 * its command line (as {@link recordOptionValues} saw it parsed): `note: --matrix given twice; using the last
 * ("b")`, for stderr. Empty when none was.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import { recordOptionValues, repeatedOptionNotes } from "./repeated_options.ts";
 * const cmd = new Command("x").option("--out <dir>");
 * recordOptionValues(cmd);
 * cmd.parse(["--out", "a", "--out", "a"], { from: "user" });
 * repeatedOptionNotes(cmd); // []
 * ```
 */
export function repeatedOptionNotes(cmd: CommandUnknownOpts): string[] {
  const notes: string[] = [];
  for (const [flag, values] of given.get(cmd) ?? []) {
    // the same value each time drops nothing (`deno task run --out out/smoke`)
    if (new Set(values).size < 2) continue;
    const times = values.length === 2 ? "twice" : `${values.length} times`;
    const last = values[values.length - 1];
    notes.push(
      `note: ${flag} given ${times}; using the last (${
        last === null ? "without a value" : JSON.stringify(last)
      })`,
    );
  }
  return notes;
}
