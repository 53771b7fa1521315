/**
 * run.json: what a run folder holds and how far its run got. `run` writes it before the
 * first case (state `running`) and rewrites it with the reports (`finished`, or
 * `interrupted`), so a folder whose run was killed still says which matrix, filter and
 * shard it belongs to: `run` refuses to resume another matrix's folder or to truncate a
 * half-finished one, and `merge` can rebuild the reports of a killed run from
 * results.jsonl.
 *
 * @module
 */
import type { RunReport } from "../results/types.ts";
import { ReportFileError } from "./errors.ts";
import { writeJsonAtomic } from "../util/fs.ts";
import { runReportProblem, versionProblem } from "./validate.ts";
import { jsonSyntaxProblem } from "../adapter/json_scan.ts";
import { wrongFileKind } from "../adapter/file_kind.ts";

/** How far the run of a folder got. */
export type RunStateName = "running" | "interrupted" | "finished";

const STATES: readonly RunStateName[] = ["running", "interrupted", "finished"];

/** The contents of run.json. */
export interface RunState {
  /** Format version. */
  readonly version: 1;
  /**
   * `running`: written before the first case (still there: the run was killed);
   * `interrupted`: stopped early (a signal, repeated device loss), reports written;
   * `finished`: every case of the shard ran, reports written.
   */
  readonly state: RunStateName;
  /** The run's report without its results (matrix, filter, shard, ids, fingerprint, start). */
  readonly report: RunReport;
}

/**
 * The header of a report: the report with no results and zero totals (what run.json keeps;
 * the results live in results.jsonl).
 *
 * @example
 * ```ts
 * import { reportHeader } from "./run_state.ts";
 * import type { RunReport } from "../results/types.ts";
 * declare const report: RunReport;
 * reportHeader(report).results.length; // 0
 * ```
 */
export function reportHeader(report: RunReport): RunReport {
  return {
    ...report,
    results: [],
    totals: { pass: 0, fail: 0, unexpected: 0, error: 0 },
  };
}

/**
 * Writes run.json atomically.
 *
 * @example
 * ```ts
 * import { writeRunState } from "./run_state.ts";
 * import type { RunReport } from "../results/types.ts";
 * declare const report: RunReport;
 * await writeRunState("out/smoke/run.json", { version: 1, state: "running", report });
 * ```
 */
export function writeRunState(path: string, state: RunState): Promise<void> {
  return writeJsonAtomic(path, { ...state, report: reportHeader(state.report) });
}

/**
 * What is wrong with a JSON file the harness wrote (run.json, report.json) that does not
 * parse: a file that ends partway through its JSON is said to be half-written (cut short),
 * as results.jsonl's half-written last line is, where "not valid JSON (unexpected end of
 * input; ...)" read as a file someone had edited wrongly.
 *
 * @example
 * ```ts
 * import { jsonFileProblem } from "./run_state.ts";
 * jsonFileProblem('{"version": 1, "sta');
 * // "half-written: it ends partway through its JSON (a copy of part of it, or a write lost ..."
 * ```
 */
export function jsonFileProblem(text: string): string {
  const problem = jsonSyntaxProblem(text);
  const at = /^not valid JSON \(unexpected end of input; (.*)\)$/.exec(problem);
  if (at === null) return problem;
  return `half-written: it ends partway through its JSON (a copy of part of it, or a write ` +
    `lost in a crash; ${at[1]}), so it cannot be read`;
}

/**
 * Reads run.json: null when the file does not exist (a folder written before run.json
 * existed, or no run at all); a {@link ReportFileError} naming the file when it is
 * unreadable or malformed.
 *
 * @example
 * ```ts
 * import { readRunState } from "./run_state.ts";
 * const s = await readRunState("out/smoke/run.json");
 * if (s?.state === "running") console.log("the run in out/smoke was killed");
 * ```
 */
export async function readRunState(path: string): Promise<RunState | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new ReportFileError(path, `cannot read: ${(e as Error).message}`, { cause: e });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ReportFileError(path, jsonFileProblem(text), { cause: e });
  }
  const v = value as Partial<Record<keyof RunState, unknown>> | null;
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new ReportFileError(path, "not a run state: not a JSON object");
  }
  const other = wrongFileKind(v, "run-state");
  if (other !== null) throw new ReportFileError(path, `not a run state: ${other}`);
  const version = versionProblem(v.version, "start the run over with this one (--force)");
  if (version !== null) throw new ReportFileError(path, `not a run state: ${version}`);
  if (!STATES.includes(v.state as RunStateName)) {
    throw new ReportFileError(
      path,
      `not a run state: field "state" must be one of ${STATES.join(", ")} (got ${
        JSON.stringify(v.state)
      })`,
    );
  }
  const problem = runReportProblem(v.report);
  if (problem !== null) throw new ReportFileError(path, `not a run state: report: ${problem}`);
  return value as RunState;
}

/**
 * How a run's selection is named in messages: `matrix "smoke", filter "preset=tiny", shard
 * 2/4, planted fault lse-offset, --backend wgsl-absorbed` ("no filter" when there is none;
 * the shard, the planted fault and the backend only when set).
 *
 * @example
 * ```ts
 * import { describeRun } from "./run_state.ts";
 * describeRun({ matrix: "smoke", filter: null, shard: "1/2" }); // 'matrix "smoke", no filter, shard 1/2'
 * ```
 */
export function describeRun(
  r: {
    matrix: string;
    filter: string | null;
    shard: string | null;
    plantedFault?: string;
    backend?: string;
  },
): string {
  return [
    `matrix "${r.matrix}"`,
    r.filter === null ? "no filter" : `filter "${r.filter}"`,
    ...(r.shard === null ? [] : [`shard ${r.shard}`]),
    ...(r.plantedFault === undefined ? [] : [`planted fault ${r.plantedFault}`]),
    ...(r.backend === undefined ? [] : [`--backend ${r.backend}`]),
  ].join(", ");
}

/**
 * A run's `--backend` in messages: `--backend <id>`, or, absent, that the adapter chose
 * each case's backend (a report from before the field was recorded reads so too).
 *
 * @example
 * ```ts
 * import { backendText } from "./run_state.ts";
 * backendText("wgsl-absorbed"); // "--backend wgsl-absorbed"
 * backendText(undefined); // "no --backend (the adapter's choice per case)"
 * ```
 */
export function backendText(backend: string | undefined): string {
  return backend === undefined
    ? "no --backend (the adapter's choice per case)"
    : `--backend ${backend}`;
}

/**
 * The config files whose digest differs between two runs' `configDigests`
 * (results/types.ts `RunReport.configDigests`), in path order: only paths both record
 * (a path one run does not read is no difference); none when either is absent (not
 * recorded: unknown).
 *
 * @example
 * ```ts
 * import { changedConfigs } from "./run_state.ts";
 * changedConfigs({ "cfg.json": "aa", "b.json": "bb" }, { "cfg.json": "cc" }); // ["cfg.json"]
 * changedConfigs(undefined, { "cfg.json": "cc" }); // []
 * ```
 */
export function changedConfigs(
  a: Readonly<Record<string, string>> | undefined,
  b: Readonly<Record<string, string>> | undefined,
): string[] {
  if (a === undefined || b === undefined) return [];
  return Object.keys(a).filter((p) => Object.hasOwn(b, p) && a[p] !== b[p]).sort();
}
