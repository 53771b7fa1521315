/**
 * Merging the output folders of sharded runs into one report, and writing the files of a
 * run folder.
 *
 * @module
 */
import { mergeLabels } from "../util/merge_labels.ts";
import { busiestLoad } from "../util/host_load.ts";
import type {
  BackendBarrierFinding,
  CaseResult,
  EnvironmentDifference,
  PlantedFaultClean,
  RunReport,
} from "../results/types.ts";
import { sameMatrixName } from "../matrix/matrix_name.ts";
import { sameFilter } from "../matrix/case_id.ts";
import { environmentMix, fingerprintChangeText } from "./fingerprint_diff.ts";
import { ReportFileError } from "./errors.ts";
import { readReportJson, writeReportJson } from "./json.ts";
import { writeTextAtomic } from "../util/fs.ts";
import { formatJsonlLine, readJsonl } from "./jsonl.ts";
import { writeJunit } from "./junit.ts";
import { appendStepSummary, toMarkdown, writeMarkdown } from "./markdown.ts";
import { backendText, changedConfigs, readRunState } from "./run_state.ts";
import { isConfigPath } from "../matrix/config_paths.ts";
import { writeRunHtml } from "./html/run_html.ts";
import { computeTotals } from "./totals.ts";
import { finishCommands, type FinishFolder } from "./finish_commands.ts";
import { notRunGroups } from "./case_groups.ts";
import { timingRulesText } from "../adapter/timing_scope.ts";
import { plural } from "../util/plural.ts";

/** The files of a run folder. */
export const RUN_FILES = {
  /** One result per line, streamed during the run (authoritative). */
  results: "results.jsonl",
  /** The {@link RunReport}. */
  report: "report.json",
  /** JUnit XML. */
  junit: "junit.xml",
  /** Markdown summary. */
  summary: "summary.md",
  /** Self-contained HTML report with plots (report/html/). */
  html: "report.html",
  /** What the folder's run is of and how far it got (report/run_state.ts). */
  state: "run.json",
} as const;

/**
 * The reports written from a run's report at its end (report.json, junit.xml, summary.md,
 * report.html): a run or a merge starting in a folder removes an earlier one's first, so one
 * stopped halfway never leaves them beside its own files.
 */
export const RUN_REPORT_FILES: readonly string[] = [
  RUN_FILES.report,
  RUN_FILES.junit,
  RUN_FILES.summary,
  RUN_FILES.html,
];

/** A case id found in more than one place, its copies agreeing; the first is kept. */
export interface Duplicate {
  /** The case id. */
  readonly id: string;
  /** The folders holding it, in merge order (a folder twice: a repeated line). */
  readonly dirs: readonly string[];
}

/** What {@link mergeRuns} returns. */
export interface MergeResult {
  /**
   * The merged report: shard null, shardIds the whole matrix, results ordered as
   * matrixIds, and `missing` (the same ids as {@link MergeResult.missing}), so its
   * summary.md, junit.xml and report.html report the missing cases as not run.
   */
  readonly report: RunReport;
  /** Ids of the matrix that no folder has a result for. */
  readonly missing: string[];
  /** Ids with a result in more than one folder (or twice in one). */
  readonly duplicated: Duplicate[];
  /**
   * Host differences between the folders, one line each (`"<dir>: host.cpuModel A → B"`,
   * and a revision's `-dirty` mark): the shards ran on different hosts of one setup. A
   * difference of device, runtime, kernels or plans is refused instead (report/
   * `environmentMix`).
   */
  readonly mismatched: string[];
  /**
   * Folders whose run loaded its user backend modules (`--backend-module`) from other files
   * than the first folder's, one line each (`"<dir> loaded --backend-module /v/m.ts, <first>
   * --backend-module /w/m.ts"`): their contents are the same kernel (the fingerprints' kernel
   * hashes agree; other contents are refused), and the merged report names the first
   * folder's. Absent or empty: every folder loaded the same files.
   */
  readonly otherModuleFiles?: readonly string[];
  /** Folders whose results.jsonl ended in a truncated line (it was skipped). */
  readonly corruptTails: string[];
  /**
   * Folders whose run was killed before it wrote its reports (run.json still says
   * `running`): their report was rebuilt from run.json and results.jsonl.
   */
  readonly rebuilt: string[];
  /**
   * Folders whose run ended (run.json says `finished` or `interrupted`) without writing
   * report.json, as a library `runMatrix` without `writeReports` leaves them: their report
   * was built from run.json and results.jsonl, and is no killed run's.
   */
  readonly unreported?: string[];
  /** Each folder merged, in order: its shard and whether its run stopped early. */
  readonly folders?: readonly FinishFolder[];
  /**
   * Folders whose report does not record its config files' digests (`configDigests`: a
   * harness from before it was recorded) while the merged cases read config files: whether
   * those files changed between the shards could not be checked. Absent or empty: checked.
   */
  readonly uncheckedConfigs?: readonly string[];
}

function join(dir: string, file: string): string {
  return dir.endsWith("/") ? dir + file : `${dir}/${file}`;
}

function sameIds(a: readonly string[], b: readonly string[]): string | null {
  if (a.length !== b.length) return `${b.length} case ids instead of ${a.length}`;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return `case id #${i + 1} is "${b[i]}" instead of "${a[i]}"`;
  }
  return null;
}

/**
 * How two results of one case disagree (status or output digest), or null when they agree;
 * `where` names the places of `a` and `b` (default "there" and "here").
 */
function copiesDisagree(
  a: CaseResult,
  b: CaseResult,
  where: readonly [string, string] = ["there", "here"],
): string | null {
  const [wa, wb] = where;
  if (a.status !== b.status) return `status ${a.status} ${wa}, ${b.status} ${wb}`;
  const da = a.outputDigest ?? null, db = b.outputDigest ?? null;
  if (da !== db) return `output digest ${da ?? "(none)"} ${wa}, ${db ?? "(none)"} ${wb}`;
  return null;
}

/**
 * The report of one run folder: report.json; or, when the run was killed before writing it
 * (run.json says `running`, or report.json is missing and run.json is there), run.json's
 * header marked interrupted, with no results (results.jsonl has them).
 */
async function readFolderReport(
  dir: string,
): Promise<{ report: RunReport; rebuilt: "killed" | "unreported" | null }> {
  const state = await readRunState(join(dir, RUN_FILES.state));
  if (state?.state === "running") {
    return { report: { ...state.report, interrupted: true }, rebuilt: "killed" };
  }
  try {
    return { report: await readReportJson(join(dir, RUN_FILES.report)), rebuilt: null };
  } catch (e) {
    const missing = e instanceof ReportFileError && e.cause instanceof Deno.errors.NotFound;
    if (missing && state === null) await throwIfHeaderless(dir);
    if (!missing || state === null) throw e;
    return {
      report: {
        ...state.report,
        interrupted: state.report.interrupted || state.state !== "finished",
      },
      rebuilt: "unreported",
    };
  }
}

/**
 * What a folder holds whose results.jsonl has `n` results that no run.json or report.json
 * describes (a killed run of a harness older than run.json, which wrote report.json at the end
 * only, or a folder whose run.json was removed): the start of the message of `merge` and of
 * `run --resume`, which each add what it means for them.
 *
 * @example
 * ```ts
 * import { headerlessResults } from "./merge.ts";
 * headerlessResults(3).startsWith("holds 3 results in results.jsonl but no run.json"); // true
 * ```
 */
export function headerlessResults(n: number): string {
  return `holds ${plural(n, "result")} in ${RUN_FILES.results} but no ${RUN_FILES.state} or ` +
    `${RUN_FILES.report} (a run of a harness older than ${RUN_FILES.state}, or its ` +
    `${RUN_FILES.state} removed): their matrix, filter and environment are unknown`;
}

/**
 * A folder whose results.jsonl holds results that no run.json or report.json describes
 * ({@link headerlessResults}): no report can be rebuilt from it. Said so, where "report.json
 * missing (the run never started)" was.
 */
async function throwIfHeaderless(dir: string): Promise<void> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(dir, RUN_FILES.results));
  } catch {
    return; // no results either: not a run folder
  }
  const n = text.split("\n").filter((l) => l.trim() !== "").length;
  if (n === 0) return;
  throw new ReportFileError(
    dir,
    `${headerlessResults(n)}, so no report can be rebuilt from them; run the matrix again ` +
      "into this folder with --force",
  );
}

/**
 * Merges the output folders of the shards of one run (one folder: rebuilds its reports).
 * Each folder's report.json gives the matrix, filter, matrix ids and fingerprint; when its
 * run was killed before writing report.json, run.json gives them and the folder is listed
 * in `rebuilt` (in `unreported` when its run ended without writing it: a library
 * `runMatrix` without `writeReports`). Its results.jsonl holds the results (when absent, report.json's results are
 * used; a report.json result that results.jsonl lacks or contradicts is a
 * {@link ReportFileError}: the folder's two files disagree). All folders must have run the
 * same matrix, filter, planted fault, `--backend`, matrix ids and config file contents
 * (`configDigests`, where recorded: a folder without them is listed in `uncheckedConfigs`),
 * with the same `--repeats` and `--warmup-ms` (where recorded), in one environment, else a
 * {@link ReportFileError} names the folder that differs.
 * Results are united (a case in two folders is kept from the first and listed in
 * `duplicated`; when the copies disagree, in status or output digest, a
 * {@link ReportFileError} names the case and both folders) and ordered as the matrix ids; `missing` lists the ids nobody ran. The
 * merged report owns the whole matrix (shard null, `shardIds` = `matrixIds`) and records
 * `missing`, so the reports written from it count those cases as not run: a merge of
 * some of the shards never reads as a complete run.
 *
 * @example
 * ```ts
 * import { mergeRuns, writeRunOutputs } from "./merge.ts";
 * declare const shards: string[]; // the --out folders of `run --shard 1/2` and `2/2`
 * const { report, missing } = await mergeRuns(shards);
 * if (missing.length) console.warn(`${missing.length} cases were never run`);
 * await writeRunOutputs("out/merged", report);
 * ```
 */
export async function mergeRuns(dirs: readonly string[]): Promise<MergeResult> {
  if (dirs.length === 0) throw new Error("mergeRuns: no folders given");
  const reports: RunReport[] = [];
  const rebuilt: string[] = [];
  const unreported: string[] = [];
  for (const dir of dirs) {
    const r = await readFolderReport(dir);
    reports.push(r.report);
    if (r.rebuilt === "killed") rebuilt.push(dir);
    if (r.rebuilt === "unreported") unreported.push(dir);
  }
  const first = reports[0];
  const firstDir = dirs[0];
  for (let i = 1; i < dirs.length; i++) {
    const r = reports[i];
    const path = join(dirs[i], RUN_FILES.report);
    if (!sameMatrixName(r.matrix, first.matrix)) {
      throw new ReportFileError(
        path,
        `ran matrix "${r.matrix}" but ${firstDir} ran "${first.matrix}"; shards of one run must share the matrix`,
      );
    }
    if (r.plantedFault !== first.plantedFault) {
      const f = (x: string | undefined) =>
        x === undefined ? "no planted fault" : `planted fault ${x}`;
      throw new ReportFileError(
        path,
        `ran with ${f(r.plantedFault)} but ${firstDir} with ${f(first.plantedFault)}; ` +
          "shards of one run must plant the same fault (or none)",
      );
    }
    // One report carries one fingerprint: shards of another device, runtime, kernel or plan
    // would be credited to the first folder's.
    const mix = environmentMix(first.fingerprint, r.fingerprint);
    if (mix.blocking.length > 0) {
      // a user backend's files (kernel.<id>:<file>) or modules that differ: which file each
      // loaded, where the hashes alone named a file by its base name only
      const modules = mix.blocking.some((c) => /^kernel\.[^:]+:/.test(c.field)) ||
          !sameList(moduleFiles(r), moduleFiles(first))
        ? `; this folder's run loaded ${modulesText(r)}, ${firstDir}'s ${modulesText(first)}`
        : "";
      throw new ReportFileError(
        path,
        `ran in another environment than ${firstDir} (${
          mix.blocking.map(fingerprintChangeText).join("; ")
        }${modules}); a merged report has one environment: rerun the shards on one`,
      );
    }
    if (r.backend !== first.backend) {
      throw new ReportFileError(
        path,
        `ran with ${backendText(r.backend)} but ${firstDir} with ${
          backendText(first.backend)
        }; shards of one run must share --backend (one report would hold cases of both): ` +
          "rerun the shard with the other's --backend",
      );
    }
    if (!sameFilter(r.filter, first.filter)) {
      throw new ReportFileError(
        path,
        `ran with filter ${JSON.stringify(r.filter)} but ${firstDir} used ${
          JSON.stringify(first.filter)
        }; shards of one run must share the filter`,
      );
    }
    const diff = sameIds(first.matrixIds, r.matrixIds);
    if (diff !== null) {
      throw new ReportFileError(
        path,
        `its matrix has ${diff} compared with ${firstDir} (the matrix file changed between shards?)`,
      );
    }
  }
  // The same ids, but the matrix said other things of them (an expectation, a device profile,
  // a seed or a group edited between the shards): one report, two matrices. Each folder that
  // recorded a digest against the first that did (a folder from before it is not checked).
  const digested = reports.findIndex((r) => r.matrixDigest !== undefined);
  for (let i = digested + 1; digested >= 0 && i < reports.length; i++) {
    const [d, ref] = [reports[i].matrixDigest, reports[digested].matrixDigest];
    if (d === undefined || d === ref) continue;
    throw new ReportFileError(
      join(dirs[i], RUN_FILES.report),
      `its matrix said other things of its cases than ${dirs[digested]}'s (an expectation, a ` +
        `device profile, a seed or a group; digest ${d} against ${ref}): the matrix file ` +
        "changed between the shards; rerun the shard with the matrix as the other read it",
    );
  }
  // Shards timed with another --repeats or --warmup-ms: one report's cases are timed alike
  // (the merged report recorded neither, and its finish commands then used the defaults).
  // Each folder that recorded them against the first that did (one from before: not checked).
  checkTimedAlike(dirs, reports);
  checkRowsAlike(dirs, reports);
  // The merged report's digest, repeats and warm-up: the shards' ones, where every shard
  // recorded the same.
  const same = <K extends "matrixDigest" | "repeats" | "warmupMs" | "maxRows">(k: K) =>
    reports.every((r) => r[k] === first[k]) ? first[k] : undefined;
  const matrixDigest = same("matrixDigest");
  const repeats = same("repeats");
  const warmupMs = same("warmupMs");
  const maxRows = same("maxRows");
  // the longest limit of the shards (0: none), for the commands that finish the merged run:
  // a shorter one could time out again a case a shard ran under the longer
  const timeouts = reports.map((r) => r.caseTimeoutS);
  const caseTimeoutS = timeouts.some((t) => t === undefined)
    ? undefined
    : timeouts.includes(0)
    ? 0
    : Math.max(...(timeouts as number[]));
  const hostLoad = busiestLoad(reports.map((r) => r.hostLoad));

  const configDigests = mergedConfigDigests(dirs, reports);

  const inMatrix = new Set(first.matrixIds);
  const byId = new Map<string, CaseResult>();
  const seenIn = new Map<string, string[]>();
  const corruptTails: string[] = [];
  // a merged folder merged again keeps the differences its report recorded
  const recorded: EnvironmentDifference[] = reports.flatMap((r) => r.environmentDiffers ?? []);
  // and this merge's own, which the terminal says too (MergeResult.mismatched)
  const found: EnvironmentDifference[] = [];
  // The matrix seed of the first result that records one: shards run with another seed
  // computed other inputs, so their results are not one run's.
  let seeded: { seed: number; dir: string } | null = null;
  // The timing rules of the first timed result (adapter/timing_scope.ts): samples of other
  // rules time other work. Folders of two harness revisions are refused above, but not where
  // git gave no revision.
  let timed: { rules: number | undefined; dir: string } | null = null;
  for (let i = 0; i < dirs.length; i++) {
    const dir = dirs[i];
    const jsonlPath = join(dir, RUN_FILES.results);
    let results: readonly CaseResult[];
    try {
      const contents = await readJsonl(jsonlPath);
      results = contents.results;
      if (contents.corruptTail) corruptTails.push(dir);
    } catch (e) {
      if (!(e instanceof ReportFileError && e.cause instanceof Deno.errors.NotFound)) throw e;
      results = reports[i].results;
    }
    checkReportAgrees(dir, reports[i].results, results);
    for (const r of results) {
      if (!inMatrix.has(r.id)) {
        throw new ReportFileError(jsonlPath, `case "${r.id}" is not in the matrix of the run`);
      }
      if (r.seed !== undefined) {
        if (seeded === null) seeded = { seed: r.seed, dir };
        else if (r.seed !== seeded.seed) {
          throw new ReportFileError(
            jsonlPath,
            `case "${r.id}" ran with the matrix seed ${r.seed}, but ${seeded.dir} ran with ` +
              `${seeded.seed}; shards of one run must share the seed (the matrix file ` +
              "changed between shards?)",
          );
        }
      }
      if (r.timing) {
        if (timed === null) timed = { rules: r.timing.rules, dir };
        else if (r.timing.rules !== timed.rules) {
          throw new ReportFileError(
            jsonlPath,
            `case "${r.id}" was timed under timing rules ${timingRulesText(r.timing.rules)}, ` +
              `but ${timed.dir} under ${
                timingRulesText(timed.rules)
              }; a merged report's samples are ` +
              "timed alike: rerun the shards under one harness",
          );
        }
      }
      const where = seenIn.get(r.id);
      if (where) {
        const kept = byId.get(r.id) as CaseResult;
        const differs = copiesDisagree(kept, r);
        if (differs !== null) {
          const other = where[0] === dir ? "earlier in the same file" : `in ${where[0]}`;
          throw new ReportFileError(
            jsonlPath,
            `case "${r.id}" is here and ${other}, and the two copies disagree (${differs}); ` +
              "merging would keep one and hide the other: rerun the case's shard, or leave " +
              "out the folder with the stale copy",
          );
        }
        where.push(dir);
      } else {
        seenIn.set(r.id, [dir]);
        byId.set(r.id, r);
      }
    }
    if (i > 0) {
      for (const c of environmentMix(first.fingerprint, reports[i].fingerprint).warnings) {
        found.push({ dir, field: c.field, from: c.from, to: c.to });
      }
    }
  }

  const results: CaseResult[] = [];
  const missing: string[] = [];
  const duplicated: Duplicate[] = [];
  for (const id of first.matrixIds) {
    const r = byId.get(id);
    if (r) results.push(r);
    else missing.push(id);
    const where = seenIn.get(id);
    if (where && where.length > 1) duplicated.push({ id, dirs: where });
  }
  const times = (key: "startedAt" | "endedAt") =>
    reports.map((r) => r[key]).filter((t) => Number.isFinite(Date.parse(t))).sort();
  const starts = times("startedAt"), ends = times("endedAt");
  const report: RunReport = {
    version: 1,
    matrix: first.matrix,
    filter: first.filter,
    shard: null,
    matrixIds: first.matrixIds,
    // The merge stands for the whole matrix: a case no folder ran is not run, as in an
    // interrupted run, and named in `missing`, whichever shards were given.
    shardIds: first.matrixIds,
    results,
    fingerprint: first.fingerprint,
    startedAt: starts[0] ?? first.startedAt,
    endedAt: ends[ends.length - 1] ?? first.endedAt,
    totals: computeTotals(results),
    // Interrupted only where a case is missing: an interrupted shard whose cases another
    // folder holds leaves a complete merge.
    interrupted: missing.length > 0 && reports.some((r) => r.interrupted),
    missing,
    ...(first.plantedFault !== undefined ? { plantedFault: first.plantedFault } : {}),
    // each shard's cases that ran the clean kernels, once each (known only where every shard
    // recorded them)
    ...(first.plantedFault !== undefined && reports.every((r) => r.plantedFaultClean)
      ? {
        plantedFaultClean: unionClean(
          reports.flatMap((r) => r.plantedFaultClean ?? []),
          first.matrixIds,
        ),
      }
      : {}),
    ...(first.backend !== undefined ? { backend: first.backend } : {}),
    // named again by the commands that finish the merge: only when every shard read there
    // (the configs themselves are checked by their digests)
    ...(first.configRoot !== undefined && reports.every((r) => r.configRoot === first.configRoot)
      ? {
        configRoot: first.configRoot,
        ...(first.configRootPath !== undefined ? { configRootPath: first.configRootPath } : {}),
      }
      : {}),
    // where the first shard read its matrix file: its `matrix` as typed, read from the
    // merge's folder, named another file (the not-run cases' groups, the finish commands)
    ...(first.matrixPath !== undefined ? { matrixPath: first.matrixPath } : {}),
    // the modules a --backend of theirs comes from (the backend itself must agree, above):
    // the first folder's. Shards that loaded other files have the same kernel hashes (their
    // contents are one kernel: else refused above), and `otherModuleFiles` says which
    // folder loaded which; dropping them left the merge's commands without the module.
    ...(first.backendModules !== undefined
      ? {
        backendModules: first.backendModules,
        ...(first.backendModulePaths !== undefined
          ? { backendModulePaths: first.backendModulePaths }
          : {}),
      }
      : {}),
    // every shard's barrier-check findings, each once (shards of one run load the same modules,
    // but each compiles its own cases' specializations: one finding, the labels of both)
    ...(reports.some((r) => r.barrierFindings !== undefined)
      ? { barrierFindings: unionFindings(reports.flatMap((r) => r.barrierFindings ?? [])) }
      : {}),
    // every shard's GPU errors outside every case's error scope: the merge dropped them, and
    // its summary.md and report.html said nothing of errors a shard's own reports gave
    ...(reports.some((r) => (r.lateGpuErrors ?? []).length > 0)
      ? { lateGpuErrors: reports.flatMap((r) => r.lateGpuErrors ?? []) }
      : {}),
    ...(configDigests !== undefined ? { configDigests } : {}),
    ...(matrixDigest !== undefined ? { matrixDigest } : {}),
    ...(repeats !== undefined ? { repeats } : {}),
    ...(warmupMs !== undefined ? { warmupMs } : {}),
    ...(maxRows !== undefined ? { maxRows } : {}),
    ...(caseTimeoutS !== undefined ? { caseTimeoutS } : {}),
    // the busiest shard's host load: a compare of the merged run says when it was timed busy
    ...(hostLoad !== undefined ? { hostLoad } : {}),
    // what the terminal says as "environment differs", kept with the report (its pages show it)
    ...(recorded.length + found.length > 0 ? { environmentDiffers: [...recorded, ...found] } : {}),
  };
  const folders = dirs.map((dir, i) => ({
    dir,
    shard: reports[i].shard,
    interrupted: reports[i].interrupted,
  }));
  // Config files the merged cases read, where a folder did not record their digests.
  const readsConfigs = results.some((r) => isConfigPath(r.params.preset));
  const uncheckedConfigs = readsConfigs
    ? dirs.filter((_, i) => reports[i].configDigests === undefined)
    : [];
  const otherModuleFiles = dirs.flatMap((dir, i) =>
    sameList(moduleFiles(reports[i]), moduleFiles(first))
      ? []
      : [`${dir} loaded ${modulesText(reports[i])}, ${firstDir} ${modulesText(first)}`]
  );
  return {
    report,
    missing,
    duplicated,
    otherModuleFiles,
    mismatched: found.map((c) => `${c.dir}: ${fingerprintChangeText(c)}`),
    corruptTails,
    rebuilt,
    unreported,
    folders,
    uncheckedConfigs,
  };
}

/**
 * Refuse (ReportFileError) a folder whose run recorded another `--repeats` or `--warmup-ms`
 * (as given: "auto" and a number differ) than the first folder that recorded them; a folder
 * that recorded neither (a harness from before they were) is not checked.
 */
function checkTimedAlike(dirs: readonly string[], reports: readonly RunReport[]): void {
  const timed = (r: RunReport) => r.repeats !== undefined || r.warmupMs !== undefined;
  const ref = reports.findIndex(timed);
  if (ref < 0) return;
  const words = (r: RunReport) =>
    `--repeats ${r.repeats ?? "(not recorded)"} --warmup-ms ${r.warmupMs ?? "(not recorded)"}`;
  for (let i = ref + 1; i < reports.length; i++) {
    const r = reports[i];
    if (!timed(r)) continue;
    if (r.repeats === reports[ref].repeats && r.warmupMs === reports[ref].warmupMs) continue;
    const shard = r.shard === null ? "its run" : `shard ${r.shard}`;
    throw new ReportFileError(
      join(dirs[i], RUN_FILES.report),
      `timed with ${words(r)}, but ${dirs[ref]} with ${words(reports[ref])}; one report's ` +
        "cases are timed alike: rerun the shards timed otherwise than the rest with the " +
        `others' --repeats and --warmup-ms (if that is ${shard}: with ${words(reports[ref])}, ` +
        "into its folder with --force or a new one), then merge again",
    );
  }
}

/**
 * Refuse (ReportFileError) a folder whose run checked its cases on another `--max-rows` than
 * the first folder that recorded it: one report's cases are checked alike (a folder that did
 * not record it, a harness from before, is not checked).
 */
function checkRowsAlike(dirs: readonly string[], reports: readonly RunReport[]): void {
  const ref = reports.findIndex((r) => r.maxRows !== undefined);
  for (let i = ref + 1; ref >= 0 && i < reports.length; i++) {
    const r = reports[i];
    if (r.maxRows === undefined || r.maxRows === reports[ref].maxRows) continue;
    const shard = r.shard === null ? "its run" : `shard ${r.shard}`;
    throw new ReportFileError(
      join(dirs[i], RUN_FILES.report),
      `checked with --max-rows ${r.maxRows}, but ${dirs[ref]} with --max-rows ` +
        `${reports[ref].maxRows}; one report's cases are checked alike: rerun ${shard} with ` +
        `--max-rows ${reports[ref].maxRows} (into its folder with --force or a new one), then ` +
        "merge again",
    );
  }
}

/**
 * The config digests of the merged report: every folder's, united, or undefined when a
 * folder recorded none (unknown). Two folders that read one config file with other contents
 * are a {@link ReportFileError} naming the file and both folders.
 */
function mergedConfigDigests(
  dirs: readonly string[],
  reports: readonly RunReport[],
): Record<string, string> | undefined {
  // every digest seen so far, and the folder it was first seen in
  const united: Record<string, string> = {};
  const firstIn = new Map<string, string>();
  for (let i = 0; i < dirs.length; i++) {
    const digests = reports[i].configDigests ?? {};
    // the check a resume makes of its run's configs (report/run_state.ts)
    const [path] = changedConfigs(united, digests);
    if (path !== undefined) {
      throw new ReportFileError(
        join(dirs[i], RUN_FILES.report),
        `read config file ${path} with sha-256 ${digests[path]}, but ${
          firstIn.get(path)
        } read it with ${united[path]}: the file changed between the shards, and their ` +
          "cases name a config by its path, so one report would hold two models; rerun the " +
          "shards with one version of it",
      );
    }
    for (const p of Object.keys(digests)) {
      if (!Object.hasOwn(united, p)) {
        united[p] = digests[p];
        firstIn.set(p, dirs[i]);
      }
    }
  }
  if (reports.some((r) => r.configDigests === undefined)) return undefined;
  return Object.fromEntries(Object.keys(united).sort().map((p) => [p, united[p]]));
}

/**
 * Refuse (ReportFileError) a folder whose report.json holds a result its results.jsonl lacks
 * or contradicts (status, output digest): the two files of one run disagree (results.jsonl
 * cut short or edited, or report.json of another run), and neither can be trusted over the
 * other without saying so. results.jsonl may hold more (the results of a run killed after
 * its report.json was written by an older harness).
 */
function checkReportAgrees(
  dir: string,
  reported: readonly CaseResult[],
  streamed: readonly CaseResult[],
): void {
  if (reported.length === 0) return;
  const lines = new Map<string, CaseResult>();
  for (const r of streamed) if (!lines.has(r.id)) lines.set(r.id, r);
  const absent = reported.filter((r) => !lines.has(r.id));
  const places = [`in ${RUN_FILES.report}`, `in ${RUN_FILES.results}`] as const;
  const contradicted = reported
    .map((r) => ({ r, d: copiesDisagree(r, lines.get(r.id) ?? r, places) }))
    .find((x) => x.d !== null);
  if (absent.length === 0 && contradicted === undefined) return;
  const what = absent.length > 0
    ? `${absent.length} of them (case "${absent[0].id}" first) not in ${RUN_FILES.results}`
    : `case "${contradicted?.r.id}" disagreeing (${contradicted?.d})`;
  throw new ReportFileError(
    join(dir, RUN_FILES.results),
    `holds ${plural(lines.size, "result")}, but ${RUN_FILES.report} beside it holds ` +
      `${reported.length}, ${what}: the two files of the run disagree, so the merge cannot ` +
      `tell which is right. If ${RUN_FILES.results} was cut short (copied mid-run, a full ` +
      `disk), move it out of the folder and merge again to use ${RUN_FILES.report}'s ` +
      `results; else run the folder's run again into it with --resume (it runs the cases ` +
      `${RUN_FILES.results} lacks)`,
  );
}

/** Options of {@link writeRunOutputs}. */
export interface RunOutputOptions {
  /**
   * Rewrite results.jsonl from `report.results` (default true). The runner, which has
   * streamed results.jsonl during the run, may pass false to leave it as it is.
   */
  readonly jsonl?: boolean;
  /**
   * The commands that run the cases the report lacks (report/finish_commands.ts
   * `finishCommands`); default: for a run's report, `run --resume` into `dir`.
   */
  readonly finish?: readonly string[];
  /**
   * Append summary.md to `$GITHUB_STEP_SUMMARY` (when set) as soon as it is written, before
   * report.html (default false): the largest file, the slowest to write and the likeliest to
   * meet a full disk. Appended after it, a report.html that could not be written took the
   * step summary with it.
   */
  readonly stepSummary?: boolean;
}

/** What {@link writeRunOutputs} gave the pages for the cases the report lacks. */
export interface NotRunPages {
  /** Their matrix groups, by id (report/case_groups.ts `notRunGroups`). */
  readonly notRunGroups: ReadonlyMap<string, string>;
  /** The commands that run them (`RunOutputOptions.finish`, or a run's resume). */
  readonly finish: readonly string[];
}

/**
 * Writes the files of a run folder: results.jsonl, report.json, junit.xml, summary.md and
 * report.html (each atomically; the folder is created when absent), and with
 * `options.stepSummary` appends summary.md to `$GITHUB_STEP_SUMMARY` before report.html. An
 * unsharded run, a shard and a merge all end with this. Returns what the pages said of the
 * cases not run.
 *
 * @example
 * ```ts
 * import { writeRunOutputs } from "./merge.ts";
 * import type { RunReport } from "../results/types.ts";
 * declare const report: RunReport;
 * await writeRunOutputs("out/smoke", report, { jsonl: false });
 * ```
 */
export async function writeRunOutputs(
  dir: string,
  report: RunReport,
  options: RunOutputOptions = {},
): Promise<NotRunPages> {
  await Deno.mkdir(dir, { recursive: true });
  if (options.jsonl ?? true) {
    await writeTextAtomic(
      join(dir, RUN_FILES.results),
      report.results.map(formatJsonlLine).join(""),
    );
  }
  await writeReportJson(join(dir, RUN_FILES.report), report);
  await writeJunit(join(dir, RUN_FILES.junit), report);
  // cases not run: counted in their matrix groups, with the commands that run them
  const pages = {
    notRunGroups: await notRunGroups(report),
    finish: options.finish ?? finishCommands(report, dir),
  };
  await writeMarkdown(join(dir, RUN_FILES.summary), report, pages);
  if (options.stepSummary) await appendStepSummary(toMarkdown(report, pages));
  await writeRunHtml(join(dir, RUN_FILES.html), report, pages);
  return pages;
}

/** Whether two optional lists hold the same strings in the same order. */
/**
 * Where a report's user backend modules are: their recorded paths (absolute), else as typed
 * (a report from before the paths were recorded).
 */
function moduleFiles(r: RunReport): readonly string[] {
  return r.backendModulePaths ?? r.backendModules ?? [];
}

/** A report's user backend modules, for a message: "--backend-module /w/b/mod.ts". */
function modulesText(r: RunReport): string {
  const files = moduleFiles(r);
  return files.length === 0
    ? "no --backend-module"
    : files.map((f) => `--backend-module ${f}`).join(" ");
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  return (a ?? []).length === (b ?? []).length && (a ?? []).every((x, i) => x === b?.[i]);
}

/**
 * Each finding once (by backend, location, kind and message), in first-seen order, with the
 * labels every copy names (as kernels/module_barriers.ts `mergeFindings` joins them in a run).
 */
function unionFindings(items: readonly BackendBarrierFinding[]): BackendBarrierFinding[] {
  return mergeLabels(items, (f) => JSON.stringify([f.backend, f.location, f.kind, f.message]));
}

/** Cases that ran the clean kernels, each id once (the first shard's reason), in matrix order. */
function unionClean(
  clean: readonly PlantedFaultClean[],
  matrixIds: readonly string[],
): PlantedFaultClean[] {
  const at = new Map(matrixIds.map((id, i) => [id, i]));
  const seen = new Set<string>();
  return clean.filter((c) => !seen.has(c.id) && seen.add(c.id) !== undefined)
    .sort((a, b) => (at.get(a.id) ?? Infinity) - (at.get(b.id) ?? Infinity));
}
