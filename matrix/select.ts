/**
 * Selecting the cases of a run: load the matrix, apply `--filter` (checked against the
 * axes: a filter that selects nothing from the whole matrix is an error, not a green run
 * that tested nothing, and so is a matrix whose excludes remove every case) and `--shard`
 * (an empty shard of a non-empty selection is normal, and gets a note).
 *
 * @module
 */
import { ConfigError, type ConfigIssue } from "../adapter/errors.ts";
import { dirname, resolve } from "node:path";
import { type CaseFilter, inShard, matchesFilter, parseFilter } from "./case_id.ts";
import { isConfigPath } from "./config_paths.ts";
import { BUNDLED_MATRICES, type CaseExclusion, excludeOfCase, loadMatrix } from "./expand.ts";
import { type Case, CASE_DEFAULTS, type CaseParams, type MatrixFile } from "./types.ts";

/** Options of {@link selectMatrixCases}. */
export interface SelectOptions {
  /** Bundled matrix name or matrix file path. */
  matrix: string;
  /** `key=v1,v2;key2=v` selection. */
  filter?: string;
  /** This shard, 1-based. */
  shard?: { index: number; count: number };
  /** Refuse more selected cases than this (default: matrix/expand.ts DEFAULT_MAX_CASES). */
  maxCases?: number;
  /** Folder the matrix's config paths must stay inside (default: the matrix's folder). */
  configRoot?: string;
}

/** What a run selected. */
export interface MatrixSelection {
  /** Every case after the filter, in file order. */
  all: Case[];
  /** The ones this shard owns. */
  mine: Case[];
  /** Directory config paths in the matrix are relative to. */
  baseDir: string;
  /** Things worth saying that are not errors (an empty shard, a filter value never used). */
  notes: string[];
}

/**
 * What is wrong with a shard, or null: `index` and `count` are whole numbers with
 * 1 <= index <= count (`run --shard i/n`). A shard outside them owns no case, so a run of it
 * would pass having run nothing.
 *
 * @example
 * ```ts
 * import { shardProblem } from "./select.ts";
 * shardProblem({ index: 2, count: 2 }); // null
 * shardProblem({ index: 3, count: 2 }); // "must be { index, count }, whole numbers with 1 <= index <= count (run --shard i/n)"
 * ```
 */
export function shardProblem(shard: { index: number; count: number }): string | null {
  const { index, count } = shard;
  if (Number.isSafeInteger(index) && Number.isSafeInteger(count) && 1 <= index && index <= count) {
    return null;
  }
  return "must be { index, count }, whole numbers with 1 <= index <= count (run --shard i/n)";
}

/** Every value an axis takes in some group of a matrix (ignoring excludes), as ids show it. */
function axisValues(file: MatrixFile, key: keyof CaseParams): string[] {
  const seen = new Set<string>();
  for (const g of file.groups) {
    const v = g.axes[key];
    for (const x of v === undefined ? [CASE_DEFAULTS[key]] : [v].flat()) {
      // the backend axis left out is "" (the bundled backend of the path), which printed as
      // nothing: "its values of backend: " read as a cut-off message
      seen.add(
        typeof x === "boolean"
          ? (x ? "1" : "0")
          : x === ""
          ? "(none set: each case runs on the bundled backend of its path)"
          : String(x),
      );
    }
  }
  return [...seen];
}

/** Whether a filter value of `key` matches some value the matrix gives that axis. */
function occurs(file: MatrixFile, key: keyof CaseParams, value: string): boolean {
  const only: CaseFilter = new Map([[key, [value]]]);
  return file.groups.some((g) => {
    const v = g.axes[key];
    return (v === undefined ? [CASE_DEFAULTS[key]] : [v].flat()).some((x) =>
      matchesFilter({ ...CASE_DEFAULTS, [key]: x }, only)
    );
  });
}

/**
 * A run's case count above which `run` warns before it starts ({@link largeRunWarning}):
 * over 4 times the bundled nightly matrix (336 cases), the largest matrix written on
 * purpose, so what crosses it is most likely an axis product larger than its author meant
 * (10 b x 10 sq x 20 sk x 5 heads is 10,000 cases), well below the 100,000 refused
 * (DEFAULT_MAX_CASES).
 */
export const LARGE_RUN_CASES = 1500;

/**
 * The one-line warning (stderr) for a run of `count` cases over {@link LARGE_RUN_CASES}, with
 * the count and how to narrow it; null at or below it. A 10,000-case matrix started at once
 * with only a `[1/10000]` counter.
 *
 * @example
 * ```ts
 * import { largeRunWarning } from "./select.ts";
 * largeRunWarning(300); // null
 * largeRunWarning(10_000)?.startsWith("warning: this run has 10000 cases"); // true
 * ```
 */
export function largeRunWarning(count: number): string | null {
  if (count <= LARGE_RUN_CASES) return null;
  return `warning: this run has ${count} cases (over ${LARGE_RUN_CASES}, about 4 times the ` +
    "bundled nightly matrix): narrow it with --filter (e.g. --filter 'sq=1,2') or split it " +
    "with --shard i/n; --max-cases <n> makes a selection over n an error";
}

/**
 * Load, filter and shard a matrix. A shard outside 1..count throws a ConfigError
 * ({@link shardProblem}). A malformed or empty filter throws RangeError (from
 * {@link parseFilter}); a filter that selects no case of the matrix throws a ConfigError
 * naming each filter value the matrix never uses and listing the values it has, and so does
 * a matrix that expands to no case at all (its excludes remove everything).
 *
 * @example
 * ```ts ignore
 * import { selectMatrixCases } from "./select.ts";
 * const { all, mine, notes } = await selectMatrixCases({ matrix: "smoke", shard: { index: 1, count: 2 } });
 * ```
 */
export async function selectMatrixCases(options: SelectOptions): Promise<MatrixSelection> {
  const problem = options.shard === undefined ? null : shardProblem(options.shard);
  if (problem !== null) {
    throw new ConfigError(
      "shard",
      [{ path: "shard", value: options.shard, message: problem }],
      "invalid shard",
    );
  }
  // an empty filter is refused as --filter '' is (parseFilter: it would select every case),
  // not read as no filter: a caller's empty selection ran the whole matrix
  const parsed = options.filter !== undefined ? parseFilter(options.filter) : null;
  // the filter comes back with its config paths normalized as the matrix's are
  const { file, cases: all, filter } = await loadMatrix(options.matrix, {
    maxCases: options.maxCases,
    filter: parsed,
    configRoot: options.configRoot,
    shard: options.shard,
  });
  const notes: string[] = [];
  // a bundled name wins over a file of that name in the current folder: a user who wrote
  // `--matrix smoke` for their own ./smoke ran the bundled matrix and was never told
  if (BUNDLED_MATRICES.includes(options.matrix)) {
    const local = await Deno.lstat(options.matrix).then(() => true, () => false);
    if (local) {
      notes.push(
        `note: --matrix ${options.matrix} runs the bundled matrix ${options.matrix}, not the ` +
          `file ./${options.matrix} in this folder; give --matrix ./${options.matrix} to run ` +
          "that file",
      );
    }
  }
  if (filter) {
    const unused: ConfigIssue[] = [];
    for (const [key, values] of filter) {
      const k = key as keyof CaseParams;
      const missing = values.filter((v) => !occurs(file, k, v));
      if (missing.length === 0) continue;
      // a config path written from the current folder (`m/cfg.json` for the matrix's
      // `cfg.json`) was told only the values, not where the path is read from
      const fromHere = key === "preset" && missing.some(isConfigPath) &&
          !BUNDLED_MATRICES.includes(options.matrix)
        ? `; a config path in --filter is read from the matrix file's folder (${
          resolve(dirname(options.matrix))
        }), as the matrix's are`
        : "";
      unused.push({
        path: key,
        value: missing.join(","),
        message: `occurs in no group of matrix ${file.name}; its values of ${key}: ${
          axisValues(file, k).join(", ")
        }${fromHere}`,
      });
    }
    if (all.length === 0) {
      if (unused.length === 0) {
        unused.push({
          path: "(filter)",
          value: options.filter,
          message: "every value occurs in the matrix, but no case has them all (or those " +
            "cases are excluded)",
        });
      }
      throw new ConfigError("--filter", unused, `selects no case of matrix ${file.name}`);
    }
    for (const u of unused) notes.push(`note: --filter ${u.path}=${u.value} ${u.message}`);
  } else if (all.length === 0) {
    // loadMatrix (checkExcludes) refuses a group its excludes empty when it can count them exactly;
    // this is the rest (many excludes): a run must never be green having tested nothing.
    throw new ConfigError(options.matrix, [{
      path: "groups",
      value: file.groups.length,
      message: `${file.groups.length === 1 ? "group expands" : "groups expand"} to no case: ` +
        "the exclude lists remove every case of every group; narrow the excludes",
    }], `selects no case of matrix ${file.name}`);
  }
  const shard = options.shard;
  const mine = shard ? all.filter((c) => inShard(c.id, shard)) : all;
  if (shard && mine.length === 0 && all.length > 0) {
    notes.push(
      // worded as the report's verdict says it ("1 selected cases" read wrong)
      `note: shard ${shard.index}/${shard.count} holds none of the ${all.length} ` +
        `${all.length === 1 ? "case" : "cases"} of its matrix and filter (cases go to shards ` +
        "by a hash of their id); nothing to run here",
    );
  }
  const bundled = BUNDLED_MATRICES.includes(options.matrix);
  const baseDir = bundled
    ? new URL("./bundled", import.meta.url).pathname
    : options.matrix.includes("/")
    ? options.matrix.slice(0, options.matrix.lastIndexOf("/"))
    : ".";
  return { all, mine, baseDir, notes };
}

/**
 * The exclude entry of a matrix that removes case `id` (matrix/expand.ts `excludeOfCase`), or
 * null when none does or the matrix cannot be read (its refusal is said elsewhere):
 * `explain --case` names it rather than "has no case".
 *
 * @example
 * ```ts ignore
 * import { excludedCase } from "./select.ts";
 * (await excludedCase({ matrix: "m.json" }, "preset=tiny;...;dtype=f16;..."))?.path;
 * // "groups[0].exclude[0]"
 * ```
 */
export async function excludedCase(
  options: Pick<SelectOptions, "matrix" | "configRoot">,
  id: string,
): Promise<CaseExclusion | null> {
  try {
    // the id as a filter: only its combination is walked (the file comes back normalized)
    const { file } = await loadMatrix(options.matrix, {
      filter: parseFilter(id),
      configRoot: options.configRoot,
    });
    return excludeOfCase(file, id);
  } catch {
    return null;
  }
}
