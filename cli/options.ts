/**
 * Option parsing shared by commands: integer lists, enums, and the layout flags.
 *
 * @module
 */
import { type CommandUnknownOpts, InvalidArgumentError } from "@commander-js/extra-typings";
import type { LayoutRequest } from "../adapter/types.ts";
import { AXIS_BOUNDS, MAX_LAYOUT_TOKENS } from "../matrix/schema.ts";
import { CliError, EXIT } from "./errors.ts";
import { BENCH_MATRICES } from "../bench/cases.ts";
import { BUNDLED_MATRICES } from "../matrix/expand.ts";
import { DEFAULT_THRESHOLDS } from "../drift/thresholds.ts";

/**
 * The integer spelled by plain decimal digits (surrounding blanks allowed), or null: Number()
 * would also take "1e1", "0x10", "0b1", "1.0" and "+3", which a count or a length never
 * needs and which hide typos.
 *
 * @example
 * ```ts
 * import { decimalDigits } from "./options.ts";
 * decimalDigits(" 12 "); // 12
 * decimalDigits("1e3"); // null
 * ```
 */
export function decimalDigits(value: string): number | null {
  const s = value.trim();
  return /^[0-9]+$/.test(s) ? Number(s) : null;
}

/** The longest untimed warm-up `--warmup-ms` takes (a minute). */
export const MAX_WARMUP_MS = 60000;

/** `--max-cases`, alike in every command that runs a matrix (`run`, `baseline update`, `upgrade-check`). */
export const MAX_CASES_HELP =
  "refuse a selection of more cases than this (counted before anything is expanded)";

/** `--config-root`, alike in every command that reads a matrix (explain prefixes "with --case:"). */
export const CONFIG_ROOT_HELP = "folder the matrix's config paths must resolve inside " +
  "(default: the matrix file's folder; bundled matrices: matrix/bundled/configs)";

/**
 * Parse `--warmup-ms <n|auto>` (`run`, `baseline update`, `bench`):
 * "auto", or whole milliseconds (plain decimal digits) from 0 to {@link MAX_WARMUP_MS}.
 * Anything else is a CliError (exit 2) naming the flag and the valid values. "auto" is
 * resolved on the device (kernels/replay.ts `warmupMsForClass`).
 *
 * @example
 * ```ts
 * import { parseWarmupMs } from "./options.ts";
 * parseWarmupMs("250"); // 250
 * parseWarmupMs("auto"); // "auto"
 * ```
 */
export function parseWarmupMs(value: string): number | "auto" {
  if (value === "auto") return "auto";
  const ms = decimalDigits(value);
  if (ms === null || !Number.isInteger(ms) || ms > MAX_WARMUP_MS) {
    throw new CliError(
      `--warmup-ms: ${value} must be auto or a whole number of milliseconds from 0 to ` +
        `${MAX_WARMUP_MS}`,
      EXIT.badInput,
    );
  }
  return ms;
}

/**
 * Parse "0,5,12" into integers (plain decimal digits only); commander reports a bad value
 * with the flag name.
 *
 * @example
 * ```ts
 * import { parseIntList } from "./options.ts";
 * parseIntList("0,5,12"); // [0, 5, 12]
 * ```
 */
export function parseIntList(value: string): number[] {
  return intList(value, "0,5,12");
}

/**
 * Parse a list of per-sequence lengths ("64,40", `--kv-lens`) as {@link parseIntList} does;
 * a bad entry's message gives a length list as its example, not cumulative offsets.
 *
 * @example
 * ```ts
 * import { parseLengthList } from "./options.ts";
 * parseLengthList("64,40"); // [64, 40]
 * ```
 */
export function parseLengthList(value: string): number[] {
  return intList(value, "64,40 (one length per sequence)");
}

function intList(value: string, example: string): number[] {
  const parts = value.split(",").map((s) => s.trim());
  const out = parts.map(decimalDigits);
  const bad = out.findIndex((v) => v === null || !Number.isSafeInteger(v));
  if (bad >= 0) {
    throw new InvalidArgumentError(
      `"${parts[bad]}" (entry ${bad}) is not a non-negative integer in decimal digits (below ` +
        `2^53); expected a list like ${example}`,
    );
  }
  return out as number[];
}

/**
 * Parse a `--filter` value (and history's case filter): one with no `key=value` term (empty,
 * blanks, or only `;`, as from an unset shell variable) would select every case without a
 * word, so it is an InvalidArgumentError, which commander reports naming the flag (exit 2).
 * The terms themselves are checked where the cases are known.
 *
 * @example
 * ```ts
 * import { parseFilterOption } from "./options.ts";
 * parseFilterOption("preset=tiny;dtype=f32"); // the same text; "" and ";" throw
 * ```
 */
export function parseFilterOption(value: string): string {
  if (value.split(";").every((part) => part.trim() === "")) {
    throw new InvalidArgumentError(
      `the filter is ${value.trim() === "" ? "empty" : "only ';'"}: it holds no key=value ` +
        "term; a filter looks like 'preset=tiny;dtype=f16,f32' (';' between keys, ',' between " +
        "alternative values); leave it out to select every case",
    );
  }
  return value;
}

/**
 * Parse a positive integer option value (plain decimal digits: not "1e3" nor "0x10").
 *
 * @example
 * ```ts
 * import { parsePositiveInt } from "./options.ts";
 * parsePositiveInt("4"); // 4
 * ```
 */
export function parsePositiveInt(value: string): number {
  const v = decimalDigits(value);
  if (v === null || !Number.isSafeInteger(v) || v < 1) {
    throw new InvalidArgumentError(
      `"${value}" is not an integer >= 1 (and below 2^53) in decimal digits`,
    );
  }
  return v;
}

/**
 * Parse a non-negative integer option value (plain decimal digits: not "1e3" nor "0x10").
 *
 * @example
 * ```ts
 * import { parseNonNegativeInt } from "./options.ts";
 * parseNonNegativeInt("0"); // 0
 * ```
 */
export function parseNonNegativeInt(value: string): number {
  const v = decimalDigits(value);
  if (v === null || !Number.isSafeInteger(v)) {
    throw new InvalidArgumentError(
      `"${value}" is not an integer >= 0 (and below 2^53) in decimal digits`,
    );
  }
  return v;
}

/** The most timed repetitions `--repeats` takes (and `bench --reps`): each is a full replay. */
export const MAX_REPEATS = 1000;

/** `--repeats` of `baseline update` and `upgrade-check` (run's adds "after the checked run"). */
export const REPEATS_HELP = `timed repetitions per case, 0 to ${MAX_REPEATS} (10 lets the ` +
  `speed test reach p < 0.01; under ${DEFAULT_THRESHOLDS.minSamples} it cannot test speed at all)`;

/**
 * Parse `--repeats` (run, baseline update, upgrade-check): a whole number from 0 to
 * {@link MAX_REPEATS} in decimal digits.
 *
 * @example
 * ```ts
 * import { parseRepeats } from "./options.ts";
 * parseRepeats("10"); // 10
 * ```
 */
export function parseRepeats(value: string): number {
  const v = decimalDigits(value);
  if (v === null || v > MAX_REPEATS) {
    throw new InvalidArgumentError(
      `"${value}" is not a whole number from 0 to ${MAX_REPEATS} (timed repetitions per ` +
        "case; 10 lets drift's speed test reach p < 0.01)",
    );
  }
  return v;
}

/**
 * A commander parser for a shape flag bounded as the matrix schema bounds its axis
 * (`AXIS_BOUNDS` in matrix/schema.ts: b from 1 to 4096, sq from 1 and sk from 0 to
 * 1,048,576): a value outside them would have explain build tables of billions of entries.
 * A bad value is an InvalidArgumentError, which commander reports with the flag (exit 2).
 *
 * @example
 * ```ts
 * import { parseAxisInt } from "./options.ts";
 * parseAxisInt("b")("8"); // 8; "99999999999" throws, naming 1 to 4096
 * ```
 */
export function parseAxisInt(axis: "b" | "sq" | "sk"): (value: string) => number {
  const { min, max } = AXIS_BOUNDS[axis];
  return (value: string): number => {
    const v = decimalDigits(value);
    if (v === null || v < min || v > max) {
      throw new InvalidArgumentError(
        `"${value}" is not an integer from ${min} to ${max} in decimal digits (the bound the ` +
          `matrix schema puts on ${axis})`,
      );
    }
    return v;
  };
}

/** The most query or key tokens a layout may have (matrix/schema.ts, where matrices use it). */
export { MAX_LAYOUT_TOKENS };

const fmtInt = (n: number) => n.toLocaleString("en-US");

/**
 * Refuse a shape the layout flags describe that is over the matrix schema's bounds or
 * {@link MAX_LAYOUT_TOKENS}: a CliError (exit 2) naming the flag, its value and the valid
 * range. For thd, each --cu-seqlens / --cu-seqlens-k list may hold at most 4096 sequences
 * (the bound on b), each at most 1,048,576 tokens (sq, sk), and its largest offset (the
 * token count) at most MAX_LAYOUT_TOKENS. Malformed lists (decreasing offsets, ...) are left
 * to the layout's own checks. --batch, --seq-q and --seq-k are bounded by their parsers
 * ({@link parseAxisInt}); here their products are.
 *
 * @example
 * ```ts
 * import { checkLayoutSize } from "./options.ts";
 * checkLayoutSize({ layout: "bshd", batch: 4, seqQ: 1, seqK: 4096, causal: true }); // fine
 * ```
 */
export function checkLayoutSize(f: LayoutFlags): void {
  const tooMany = (what: string, n: number) =>
    new CliError(
      `${what} = ${fmtInt(n)} tokens; explain takes at most ${fmtInt(MAX_LAYOUT_TOKENS)} ` +
        "(it builds a table entry per token); give a smaller shape",
      EXIT.badInput,
    );
  if (f.layout !== "thd") {
    for (const [n, flag] of [[f.seqQ, "--seq-q"], [f.seqK, "--seq-k"]] as const) {
      if (f.batch * n > MAX_LAYOUT_TOKENS) {
        throw tooMany(`--batch ${f.batch} x ${flag} ${n}`, f.batch * n);
      }
    }
    return;
  }
  const lists = [
    [f.cuSeqlens, "--cu-seqlens", AXIS_BOUNDS.sq.max],
    [f.cuSeqlensK, "--cu-seqlens-k", AXIS_BOUNDS.sk.max],
  ] as const;
  for (const [cu, flag, maxLen] of lists) {
    if (!cu) continue;
    const maxSeqs = AXIS_BOUNDS.b.max;
    if (cu.length - 1 > maxSeqs) {
      throw new CliError(
        `${flag}: ${fmtInt(cu.length)} offsets are ${fmtInt(cu.length - 1)} sequences; at ` +
          `most ${maxSeqs} (the bound the matrix schema puts on b)`,
        EXIT.badInput,
      );
    }
    let largest = 0;
    for (let i = 0; i < cu.length; i++) {
      largest = Math.max(largest, cu[i]);
      const len = i > 0 ? cu[i] - cu[i - 1] : 0;
      if (len > maxLen) {
        throw new CliError(
          `${flag}: sequence ${i - 1} (offsets ${cu[i - 1]} to ${cu[i]}) has ${fmtInt(len)} ` +
            `tokens; at most ${fmtInt(maxLen)} (the bound the matrix schema puts on ` +
            `${flag === "--cu-seqlens" ? "sq" : "sk"})`,
          EXIT.badInput,
        );
      }
    }
    if (largest > MAX_LAYOUT_TOKENS) {
      throw tooMany(`${flag}: its largest offset (the token count)`, largest);
    }
  }
}

/** The layout flags as commander parses them. */
export interface LayoutFlags {
  /** bshd | sbhd | thd */
  layout: "bshd" | "sbhd" | "thd";
  /** Batch (bshd/sbhd). */
  batch: number;
  /** Query tokens per sequence (bshd/sbhd). */
  seqQ: number;
  /** Key tokens per sequence (bshd/sbhd). */
  seqK: number;
  /** Per-sequence key lengths (decode against a cache). */
  kvLens?: number[];
  /** Cumulative query lengths (thd). */
  cuSeqlens?: number[];
  /** Cumulative key lengths (thd). */
  cuSeqlensK?: number[];
  /** Causal. */
  causal: boolean;
}

/** The layout flags only thd reads, and those only bshd/sbhd read, with their spelling. */
const THD_FLAGS: readonly [keyof LayoutFlags, string][] = [
  ["cuSeqlens", "--cu-seqlens"],
  ["cuSeqlensK", "--cu-seqlens-k"],
];
const DENSE_FLAGS: readonly [keyof LayoutFlags, string][] = [
  ["batch", "--batch"],
  ["seqQ", "--seq-q"],
  ["seqK", "--seq-k"],
  ["kvLens", "--kv-lens"],
];
const LIST_FLAGS: ReadonlySet<keyof LayoutFlags> = new Set(["kvLens", "cuSeqlens", "cuSeqlensK"]);

/**
 * Refuse layout flags the chosen --layout does not read (they would be dropped without
 * a word): a CliError with exit code 2 naming them. `given(key)` says whether the user
 * gave a flag; flags with defaults (--batch, --seq-q, --seq-k) cannot be told apart by
 * their value, so by default only the list flags count, when their value is defined.
 *
 * @example
 * ```ts
 * import { checkLayoutFlags } from "./options.ts";
 * const f = { layout: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true } as const;
 * checkLayoutFlags(f); // fine; with cuSeqlens: [0, 5] it throws
 * ```
 */
export function checkLayoutFlags(
  f: LayoutFlags,
  given: (key: keyof LayoutFlags) => boolean = (key) => LIST_FLAGS.has(key) && f[key] !== undefined,
): void {
  const thd = f.layout === "thd";
  const stray = (thd ? DENSE_FLAGS : THD_FLAGS).filter(([key]) => given(key));
  if (stray.length === 0) return;
  const names = stray.map(([, flag]) => flag).join(", ");
  const [verb, them] = stray.length === 1 ? ["does", "it"] : ["do", "them"];
  throw new CliError(
    thd
      ? `${names} ${verb} not apply to --layout thd (its sequences come from --cu-seqlens and ` +
        `--cu-seqlens-k); drop ${them}, or use --layout bshd or sbhd`
      : `${names} ${verb} not apply to --layout ${f.layout} (only thd reads ${them}; ${f.layout} ` +
        `takes --batch, --seq-q, --seq-k, --kv-lens); drop ${them}, or add --layout thd`,
    EXIT.badInput,
  );
}

/**
 * Turn layout flags into a LayoutRequest; thd without --cu-seqlens is a usage error
 * (a CliError with exit code 2), and so are a flag the layout does not read (see
 * {@link checkLayoutFlags}; `given` as there) and a shape over the bounds
 * ({@link checkLayoutSize}).
 *
 * @example
 * ```ts
 * import { layoutFromFlags } from "./options.ts";
 * layoutFromFlags({ layout: "thd", batch: 1, seqQ: 1, seqK: 1, cuSeqlens: [0, 5], causal: true });
 * ```
 */
export function layoutFromFlags(
  f: LayoutFlags,
  given?: (key: keyof LayoutFlags) => boolean,
): LayoutRequest {
  checkLayoutFlags(f, given);
  checkLayoutSize(f);
  if (f.layout === "thd") {
    if (!f.cuSeqlens) {
      throw new CliError(
        "--layout thd needs --cu-seqlens, e.g. --cu-seqlens 0,5,12",
        EXIT.badInput,
      );
    }
    return {
      kind: "thd",
      cuSeqlensQ: f.cuSeqlens,
      ...(f.cuSeqlensK ? { cuSeqlensK: f.cuSeqlensK } : {}),
      causal: f.causal,
    };
  }
  return {
    kind: f.layout,
    batch: f.batch,
    seqQ: f.seqQ,
    seqK: f.seqK,
    ...(f.kvLens ? { kvLens: f.kvLens } : {}),
    causal: f.causal,
  };
}

/**
 * Placeholders of options whose own parser refuses an empty value with their valid values
 * (`--warmup-ms <n|auto>`, bench's `--reps <n>`), and free text (`--title <text>`), which may
 * be empty: {@link checkEmptyOptions} leaves them to it.
 */
const OWN_EMPTY_CHECK = /<(n|n\|auto|text)>$/;

/** What an empty option asks for, by its placeholder. */
function emptyHint(flags: string): string {
  if (/<dir>$/.test(flags)) return "a folder path";
  if (/<(file|db|report\.json)>$/.test(flags)) return "a file path";
  if (/<(path|file\|dir|reports\.\.\.)>$/.test(flags)) return "a path";
  return "a value";
}

/**
 * Refuse an option given an empty (or blank) value on the command line, such as
 * `--md ""` or `--caps "$UNSET"`: a CliError (exit 2) naming the option. Without this check
 * an empty value reads as the option left out, so the option was silently dropped: `compare
 * --md ""` wrote no report, `explain --caps ""` probed this machine's adapter, `run --history
 * ""` appended nothing, and `baseline update --from-report ""` ran the whole matrix. Options
 * whose parser already names the valid values of an empty one are left to it
 * (`OWN_EMPTY_CHECK`), as are options the user did not give (defaults).
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import { checkEmptyOptions } from "./options.ts";
 * const cmd = new Command("x").option("--md <file>");
 * cmd.parse(["--md", "r.md"], { from: "user" });
 * checkEmptyOptions(cmd); // fine; with --md "" it throws
 * ```
 */
export function checkEmptyOptions(cmd: CommandUnknownOpts): void {
  const opts = cmd.opts() as Record<string, unknown>;
  for (const option of cmd.options) {
    if (!option.long || OWN_EMPTY_CHECK.test(option.flags)) continue;
    const key = option.attributeName();
    if (cmd.getOptionValueSource(key) !== "cli") continue;
    const value = opts[key];
    const blank = (Array.isArray(value) ? value : [value]).find((v) =>
      typeof v === "string" && v.trim() === ""
    );
    if (blank === undefined) continue;
    throw new CliError(
      `${option.long} ${JSON.stringify(blank)}: is empty; give ${emptyHint(option.flags)}`,
      EXIT.badInput,
    );
  }
}

/**
 * Refuse an option whose value is another option of the command, such as `run --out
 * --resume` or `compare --md --json`: commander takes the word after an option that needs a
 * value as that value, whatever it is, so these created a folder named `--resume` (and ran
 * without resuming) or wrote the Markdown report to a file named `--json`, exit 0. A CliError
 * (exit 2) naming both. A value that is `--name=...` of an option counts too; other values
 * starting with `-` (a negative number, a file named so) are left to the option's parser.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import { checkOptionLikeValues } from "./options.ts";
 * const cmd = new Command("x").option("--md <file>").option("--json <file>");
 * cmd.parse(["--md", "r.md"], { from: "user" });
 * checkOptionLikeValues(cmd); // fine; with --md --json it throws
 * ```
 */
export function checkOptionLikeValues(cmd: CommandUnknownOpts): void {
  const isOption = optionWordTest(cmd);
  const opts = cmd.opts() as Record<string, unknown>;
  for (const option of cmd.options) {
    if (!option.long) continue;
    const key = option.attributeName();
    if (cmd.getOptionValueSource(key) !== "cli") continue;
    const value = opts[key];
    const word = (Array.isArray(value) ? value : [value]).find(isOption);
    if (word === undefined) continue;
    throw new CliError(
      `${option.long} ${JSON.stringify(word)}: ${word} is an option of ${cmd.name()}, not a ` +
        `value: ${option.flags} needs its value right after it`,
      EXIT.badInput,
    );
  }
}

/** Whether a value is one of the command's option names (or `--name=...` of one). */
function optionWordTest(cmd: CommandUnknownOpts): (v: unknown) => boolean {
  const names = new Set(["-h", "--help"]);
  for (const option of cmd.options) {
    if (option.long) names.add(option.long);
    if (option.short) names.add(option.short);
  }
  return (v) => typeof v === "string" && names.has(v.trim().replace(/^(--[^=]+)=.*$/, "$1"));
}

/**
 * In a command with a required option (`layer --out`, `merge --out`), refuse an option's
 * value that is another of its options while the arguments are parsed, as
 * {@link checkOptionLikeValues} does after: commander checks required options before any
 * hook runs, so `layer --config tiny --input --out y.safetensors` said "required option
 * '--out <file>' not specified" of the --out the user gave, where --input had taken it.
 * Wraps each value-taking option's parser, in `cmd` and its subcommands; a command without a
 * required option is left as it is. Call it after `recordOptionValues`, which tells
 * repeatable options by their parser.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import { refuseOptionWordsWhileParsing } from "./options.ts";
 * const cmd = new Command("x").exitOverride().option("--in <file>").requiredOption("--out <file>");
 * refuseOptionWordsWhileParsing(cmd);
 * cmd.parse(["--in", "a", "--out", "b"], { from: "user" }); // fine; --in --out b throws
 * ```
 */
export function refuseOptionWordsWhileParsing(cmd: CommandUnknownOpts): void {
  for (const sub of cmd.commands) refuseOptionWordsWhileParsing(sub);
  if (!cmd.options.some((o) => o.mandatory)) return;
  const isOption = optionWordTest(cmd);
  for (const option of cmd.options) {
    if (!option.required && !option.optional) continue;
    const inner = option.parseArg as ((value: string, previous: unknown) => unknown) | undefined;
    // commander collects a variadic option's values itself only where it has no parser
    if (option.variadic && !inner) continue;
    const parse = (value: string, previous: unknown): unknown => {
      if (isOption(value)) {
        throw new InvalidArgumentError(
          `${value} is an option of ${cmd.name()}, not a value: ${option.flags} needs its ` +
            "value right after it",
        );
      }
      return inner ? inner(value, previous) : value;
    };
    option.parseArg = parse as typeof option.parseArg;
  }
}

/**
 * Refuse a bundled bench matrix's name (headline, tiny, ...) given as `--matrix` where a run
 * matrix is read (run, baseline update, upgrade-check, explain --case, compare-runtimes): it
 * read as a file that cannot be read ("readfile 'headline'"), naming the run matrices but not what the name is. A file of that
 * name in the current folder is still read. A comma list of matrices (`bench --matrix` takes one)
 * is refused too, saying that the command takes one.
 *
 * @example
 * ```ts ignore
 * import { refuseBenchMatrix } from "./options.ts";
 * await refuseBenchMatrix("headline", "compare-runtimes"); // throws CliError (exit 2)
 * ```
 */
export async function refuseBenchMatrix(name: string, command: string): Promise<void> {
  const exists = (path: string) => Deno.lstat(path).then(() => true, () => false);
  // `bench --matrix tiny,smoke` takes a comma list; a run matrix is one: "tiny,smoke" read as
  // a file that cannot be read, with no word that the command takes one matrix
  const parts = name.split(",").map((p) => p.trim());
  if (parts.length > 1 && !(await exists(name))) {
    const known = async (p: string) =>
      BUNDLED_MATRICES.includes(p) || BENCH_MATRICES.includes(p) || await exists(p);
    if ((await Promise.all(parts.map(known))).every(Boolean)) {
      const bench = parts.filter((p) =>
        BENCH_MATRICES.includes(p) && !BUNDLED_MATRICES.includes(p)
      );
      throw new CliError(
        `--matrix ${name}: ${command} takes one matrix, not a comma list as \`bench --matrix\` ` +
          `does; give one run matrix (${BUNDLED_MATRICES.join(", ")} or a matrix JSON file) ` +
          `and run each in turn${
            bench.length > 0
              ? `; ${bench.join(", ")} ${
                bench.length === 1 ? "is a bench matrix" : "are bench matrices"
              } (\`bench\` runs ${bench.length === 1 ? "it" : "them"})`
              : ""
          }`,
        EXIT.badInput,
      );
    }
  }
  if (!BENCH_MATRICES.includes(name) || BUNDLED_MATRICES.includes(name)) return;
  if (await exists(name)) return;
  throw new CliError(
    `--matrix ${name}: a bench matrix (\`bench --matrix ${name}\` runs it), not a run ` +
      `matrix; ${command} reads a run matrix: ${BUNDLED_MATRICES.join(", ")} or a matrix JSON ` +
      "file",
    EXIT.badInput,
  );
}
