/**
 * The commands that finish a report that lacks cases: `run --resume` for an interrupted run,
 * and for a merge of some of the shards, each missing shard's `run --shard i/n --resume` (into
 * its folder, or one beside the others) and the merge again.
 *
 * @module
 */
import { DEFAULT_CASE_TIMEOUT_S, DEFAULT_MAX_ROWS } from "../results/types.ts";
import type { RunReport } from "../results/types.ts";
import { inShard } from "../matrix/case_id.ts";
import { matrixFileOf } from "../matrix/expand.ts";
import { isAbsolute, resolve } from "node:path";
import { notRunIds } from "./totals.ts";

/** A folder merged: its shard ("i/n", null: unsharded) and whether its run stopped early. */
export interface FinishFolder {
  /** The folder. */
  readonly dir: string;
  /** Its run's shard ("i/n"), or null for an unsharded run. */
  readonly shard: string | null;
  /** Whether its run stopped before its last case. */
  readonly interrupted: boolean;
}

/** Options of {@link finishCommands}. */
export interface FinishOptions {
  /** A merged report: the folders merged (report/merge.ts `MergeResult.folders`). */
  readonly folders?: readonly FinishFolder[];
  /**
   * Words a run's own resume ends with (run's `--baseline`, `--history`, `--thresholds`,
   * `--fail-on`, `--max-cases`, `--progress`: what the report does not record), for a run's
   * report; a merge's commands take none.
   */
  readonly runWords?: readonly string[];
}

/**
 * A word for a POSIX shell: as it is when it is safe, else in single quotes.
 *
 * @example
 * ```ts
 * import { shellWord } from "./finish_commands.ts";
 * shellWord("out/x"); // "out/x"
 * shellWord("preset=tiny;dtype=f16"); // "'preset=tiny;dtype=f16'"
 * ```
 */
export function shellWord(s: string): string {
  return /^[\w.\/,:@%+=-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

/**
 * A path as a command the harness prints names it: absolute, resolved from `cwd` (the folder
 * the command runs in) where it was relative, so that it finds the file from the harness's
 * folder, where `deno task harness` runs (a run started elsewhere printed a resume that
 * pointed nowhere); an absolute path as it is.
 *
 * @example
 * ```ts
 * import { absolutePath } from "./finish_commands.ts";
 * absolutePath("out/x", "/tmp/w"); // "/tmp/w/out/x"
 * absolutePath("/data/b", "/tmp/w"); // "/data/b"
 * ```
 */
export function absolutePath(path: string, cwd: string = Deno.cwd()): string {
  return isAbsolute(path) ? path : resolve(cwd, path);
}

/**
 * A `--matrix` value as a printed command names it: a bundled matrix's name as it is, a
 * matrix file's path absolute ({@link absolutePath}).
 *
 * @example
 * ```ts
 * import { matrixWord } from "./finish_commands.ts";
 * matrixWord("smoke", "/tmp/w"); // "smoke"
 * matrixWord("m.json", "/tmp/w"); // "/tmp/w/m.json"
 * ```
 */
export function matrixWord(matrix: string, cwd: string = Deno.cwd()): string {
  return matrixFileOf(matrix) === undefined ? matrix : absolutePath(matrix, cwd);
}

/**
 * The `run` command of a report's selection (matrix, its config root, filter, shard, planted
 * fault, backend) into `out`, with `--resume` when `resume` is true: what finishes an
 * interrupted run. Its paths (a matrix file, `--config-root`, `--out`) are absolute, resolved
 * from the current folder where they were relative ({@link absolutePath}).
 *
 * @example
 * ```ts
 * import { runCommandFor } from "./finish_commands.ts";
 * runCommandFor({ matrix: "smoke", filter: "preset=tiny", shard: null }, "/w/out/z", true);
 * // "deno task harness run --matrix smoke --filter preset=tiny --out /w/out/z --resume"
 * runCommandFor({ matrix: "smoke", filter: null, shard: null, repeats: 10 }, "/w/out/z", true);
 * // "deno task harness run --matrix smoke --repeats 10 --out /w/out/z --resume"
 * ```
 *
 * A run in Chromium (its fingerprint names the browser) resumes with `--runtime chromium
 * --chromium <the browser it ran in>`.
 */
export function runCommandFor(
  r:
    & Pick<
      RunReport,
      "matrix" | "filter" | "shard" | "plantedFault" | "backend" | "configRoot" | "backendModules"
    >
    & Partial<Pick<RunReport, "backendModulePaths" | "matrixPath" | "configRootPath">>
    & Partial<Pick<RunReport, "repeats" | "warmupMs" | "maxRows" | "caseTimeoutS">>
    & { readonly fingerprint?: Pick<RunReport["fingerprint"], "browser"> },
  out: string,
  resume: boolean,
): string {
  const browser = r.fingerprint?.browser;
  return [
    "deno task harness run --matrix",
    shellWord(r.matrixPath ?? matrixWord(r.matrix)),
    // a run in Chromium's WebGPU resumes there, in the same browser (in Deno's it is refused:
    // another environment)
    ...(browser === undefined
      ? []
      : ["--runtime", "chromium", "--chromium", shellWord(browser.path)]),
    // the matrix's config paths resolve inside it: else the resume is refused or reads others
    ...(r.configRoot === undefined
      ? []
      : ["--config-root", shellWord(r.configRootPath ?? absolutePath(r.configRoot))]),
    ...(r.filter === null ? [] : ["--filter", shellWord(r.filter)]),
    ...(r.shard === null ? [] : ["--shard", r.shard]),
    ...(r.plantedFault === undefined ? [] : ["--plant-fault", shellWord(r.plantedFault)]),
    // a resume or shard of a run made with --backend must name it too (else it is refused),
    // and load the module that registers it
    ...backendWords(r),
    // timed as the run was (a resume with other ones is refused): the defaults left out
    ...(r.repeats === undefined || r.repeats === 3 ? [] : ["--repeats", String(r.repeats)]),
    ...(r.warmupMs === undefined || r.warmupMs === "auto"
      ? []
      : ["--warmup-ms", String(r.warmupMs)]),
    // checked as the run was (a resume that checks more or fewer rows is refused)
    ...(r.maxRows === undefined || r.maxRows === DEFAULT_MAX_ROWS
      ? []
      : ["--max-rows", String(r.maxRows)]),
    // with the run's own limit: a run stopped by timeouts at a longer one, resumed at the
    // default, timed the same cases out again
    ...(r.caseTimeoutS === undefined || r.caseTimeoutS === DEFAULT_CASE_TIMEOUT_S
      ? []
      : ["--case-timeout", String(r.caseTimeoutS)]),
    "--out",
    shellWord(absolutePath(out)),
    ...(resume ? ["--resume"] : []),
  ].join(" ");
}

/**
 * `--backend-module <path>` for each user module a run loaded, then `--backend <id>` when it
 * ran every case on one: the words a command needs to run or explain its cases as it did.
 * Each module is named where the report recorded it is (`backendModulePaths`: a local file's
 * absolute path, a URL as given), so the command finds it from the harness's folder, where
 * `deno task harness` runs: the path as typed was read from the folder the run started in,
 * and from another named nothing. A report from before the paths were recorded: as typed.
 *
 * @example
 * ```ts
 * import { backendWords } from "./finish_commands.ts";
 * backendWords({ backend: "naive", backendModules: ["b/mod.ts"] }).join(" ");
 * // "--backend-module b/mod.ts --backend naive"
 * backendWords({
 *   backend: "naive",
 *   backendModules: ["b/mod.ts"],
 *   backendModulePaths: ["/work/b/mod.ts"],
 * }).join(" ");
 * // "--backend-module /work/b/mod.ts --backend naive"
 * ```
 */
export function backendWords(
  r: Pick<RunReport, "backend" | "backendModules"> & Partial<Pick<RunReport, "backendModulePaths">>,
): string[] {
  const typed = r.backendModules ?? [];
  const paths = r.backendModulePaths?.length === typed.length ? r.backendModulePaths : typed;
  return [
    ...paths.flatMap((m) => ["--backend-module", shellWord(m)]),
    ...(r.backend === undefined ? [] : ["--backend", shellWord(r.backend)]),
  ];
}

/**
 * The commands that run the cases a report lacks and leave a complete report in `out` (empty
 * when it lacks none): for a run's report, `run --resume` of its selection into `out`; for a
 * merged one (`options.folders`), the `run --shard i/n --resume` of each shard with a missing
 * case (into the folder given for that shard, else a folder beside the others: `--resume`
 * starts an absent or empty one and finishes a run of that shard already there),
 * then the `merge` of every folder into `out`. A merge whose folders are unsharded resumes
 * those that stopped early (none did: the first folder).
 *
 * @example
 * ```ts
 * import { finishCommands } from "./finish_commands.ts";
 * import type { RunReport } from "../results/types.ts";
 * declare const report: RunReport;
 * for (const c of finishCommands(report, "out/z")) console.log(c);
 * ```
 */
export function finishCommands(
  report: RunReport,
  out: string,
  options: FinishOptions = {},
): string[] {
  const notRun = notRunIds(report);
  if (notRun.length === 0) return [];
  const folders = options.folders;
  if (folders === undefined) {
    // a merged report written again without its folders: only its own shards know
    return report.missing === undefined
      ? [[runCommandFor(report, out, true), ...(options.runWords ?? [])].join(" ")]
      : [];
  }
  const sharded = folders.map((f) => ({ ...f, at: /^(\d+)\/(\d+)$/.exec(f.shard ?? "") }));
  const count = sharded.find((f) => f.at !== null)?.at?.[2];
  const runs: string[] = [];
  const dirs = folders.map((f) => f.dir);
  if (count === undefined) {
    // Each folder holds the whole selection, so the cases not run are in none of them: the
    // folders stopped early are resumed, or where none was (a finished run whose results.jsonl
    // lost its last lines), the first; the merge alone was given, which runs nothing.
    const stopped = folders.filter((f) => f.interrupted);
    for (const f of stopped.length > 0 ? stopped : folders.slice(0, 1)) {
      runs.push(runCommandFor({ ...report, shard: null }, f.dir, true));
    }
  } else {
    const n = Number(count);
    const needed = new Set<number>();
    for (const id of notRun) {
      for (let k = 1; k <= n; k++) if (inShard(id, { index: k, count: n })) needed.add(k);
    }
    for (const k of [...needed].sort((a, b) => a - b)) {
      const given = sharded.find((f) => f.shard === `${k}/${n}`);
      if (given !== undefined) {
        runs.push(runCommandFor({ ...report, shard: `${k}/${n}` }, given.dir, true));
        continue;
      }
      const dir = shardFolder(sharded, k, out);
      dirs.push(dir);
      // --resume: the guessed folder may hold that shard's run already (one not given to the
      // merge): without it a half-finished one is refused and a finished one started over;
      // with it an absent or empty folder is run from the start as well
      runs.push(runCommandFor({ ...report, shard: `${k}/${n}` }, dir, true));
    }
  }
  // A folder rebuilt in place (`merge <dir> --out <dir>`) is one of several merged now, which
  // merge refuses as --out: the merge goes to a folder beside it.
  const trim = (d: string) => d.replace(/\/+$/, "");
  const mergeOut = dirs.length > 1 && dirs.some((d) => trim(d) === trim(out))
    ? `${trim(out)}-merged`
    : out;
  return [
    ...runs,
    `deno task harness merge ${dirs.map((d) => shellWord(absolutePath(d))).join(" ")} --out ${
      shellWord(absolutePath(mergeOut))
    }`,
  ];
}

/**
 * A folder for shard `k` that no folder merged holds: a merged folder's name with its shard
 * number swapped for `k` (out/shard-1 → out/shard-2), else `<out>-shard-<k>`.
 */
function shardFolder(
  folders: readonly { dir: string; at: RegExpExecArray | null }[],
  k: number,
  out: string,
): string {
  for (const f of folders) {
    if (f.at === null) continue;
    const m = /^(.*?)(\d+)(\/*)$/.exec(f.dir);
    if (m !== null && Number(m[2]) === Number(f.at[1])) return `${m[1]}${k}`;
  }
  return `${out.replace(/\/+$/, "")}-shard-${k}`;
}
