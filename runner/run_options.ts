/**
 * The numbers and names of {@link RunMatrixOptions} checked before a run starts: the CLI
 * parses its flags into valid values, while a library caller's values reach the runner as
 * given (a shard 3/2 selected nothing and the run passed; an unknown `backend` recorded every
 * case as a skip, a pass; a repeats of -1 was written into the report).
 *
 * @module
 */
import { ConfigError, type ConfigIssue } from "../adapter/errors.ts";
import { backendById, registeredBackendIds } from "../adapter/registry.ts";
import { parseFilter } from "../matrix/case_id.ts";
import { shardProblem } from "../matrix/select.ts";
import type { RunMatrixOptions } from "./run_matrix.ts";

const isCount = (v: number, min: number) => Number.isSafeInteger(v) && v >= min;

/**
 * Every problem of the options' numbers and backend: `shard` (1 <= index <= count, whole
 * numbers), `repeats` (a whole number from 0), `warmupMs` ("auto" or a whole number of ms from
 * 0), `caseTimeoutMs` (a finite number from 0; 0: no limit), `maxCases`, `maxRows` and
 * `maxLosses` (whole numbers from 1), `filter` (key=value terms as `--filter` takes them: an
 * empty one would select every case), and `backend` (a registered id). Empty: all valid.
 *
 * @example
 * ```ts
 * import { runMatrixOptionIssues } from "./run_options.ts";
 * runMatrixOptionIssues({ matrix: "smoke", out: "out/smoke", repeats: 10 }).length; // 0
 * runMatrixOptionIssues({ matrix: "smoke", out: "o", shard: { index: 3, count: 2 } })[0].path; // "shard"
 * ```
 */
export function runMatrixOptionIssues(options: RunMatrixOptions): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const { shard } = options;
  const problem = shard === undefined ? null : shardProblem(shard);
  if (problem !== null) issues.push({ path: "shard", value: shard, message: problem });
  const counts: [keyof RunMatrixOptions, number | undefined, number, string][] = [
    ["repeats", options.repeats, 0, "timed repetitions per case"],
    ["maxCases", options.maxCases, 1, "the most cases the selection may hold"],
    ["maxRows", options.maxRows, 1, "the most reference rows per case"],
    ["maxLosses", options.maxLosses, 1, "device losses or timeouts in a row before the run stops"],
  ];
  for (const [path, value, min, what] of counts) {
    if (value !== undefined && !isCount(value, min)) {
      issues.push({ path, value, message: `must be a whole number from ${min} (${what})` });
    }
  }
  // the CLI refuses --filter '' and a malformed one; a caller's "" was read as no filter and
  // ran the whole matrix
  if (options.filter !== undefined) {
    try {
      parseFilter(options.filter);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      issues.push({ path: "filter", value: options.filter, message: e.message });
    }
  }
  const warm = options.warmupMs;
  if (warm !== undefined && warm !== "auto" && !isCount(warm, 0)) {
    issues.push({
      path: "warmupMs",
      value: warm,
      message: 'must be "auto" or a whole number of milliseconds from 0',
    });
  }
  const timeout = options.caseTimeoutMs;
  if (timeout !== undefined && !(Number.isFinite(timeout) && timeout >= 0)) {
    issues.push({
      path: "caseTimeoutMs",
      value: timeout,
      message: "must be a finite number of milliseconds from 0 (0: no limit)",
    });
  }
  if (options.backend !== undefined && !backendById(options.backend)) {
    issues.push({
      path: "backend",
      value: options.backend,
      message: `is not a registered backend; registered: ${registeredBackendIds().join(", ")} ` +
        "(register a user backend with registerBackendModule or loadBackendModule first)",
    });
  }
  return issues;
}

/**
 * Throws one ConfigError listing every problem {@link runMatrixOptionIssues} finds; a bad
 * filter first throws the RangeError its parsing gives (the words of `run --filter`).
 *
 * @example
 * ```ts
 * import { checkRunMatrixOptions } from "./run_options.ts";
 * checkRunMatrixOptions({ matrix: "smoke", out: "out/smoke", warmupMs: "auto" }); // fine
 * ```
 */
export function checkRunMatrixOptions(options: RunMatrixOptions): void {
  // a bad filter throws the RangeError its parsing gives, as selectMatrixCases and `run
  // --filter` say it (wrapped here, `run` and `upgrade-check` worded it otherwise)
  if (options.filter !== undefined) parseFilter(options.filter);
  const issues = runMatrixOptionIssues(options);
  if (issues.length > 0) throw new ConfigError("runMatrix options", issues, "invalid options");
}
