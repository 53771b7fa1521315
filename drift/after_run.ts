/**
 * The drift step after a run (`run --baseline/--history`, and `compare`'s choice of
 * baseline): append the run to the history database, pick the baseline of this device,
 * compare, write compare.md/compare.json. Library logic: the CLI only maps the outcome to
 * an exit code.
 *
 * @module
 */
import { appendStepSummary, type MarkdownDriftNote, writeMarkdown } from "../report/markdown.ts";
import { absolutePath, finishCommands, shellWord } from "../report/finish_commands.ts";
import { notRunGroups } from "../report/case_groups.ts";
import { DEFAULT_THRESHOLDS } from "./thresholds.ts";
import type { RunReport } from "../results/types.ts";
import { isDirectory, pathExists, writeJsonAtomic, writeTextAtomic } from "../util/fs.ts";
import {
  baselineFromReport,
  type BaselineLocation,
  checkInputExists,
  loadComparable,
  locateBaseline,
  readBaseline,
  upgradeFolderProblem,
} from "./baseline.ts";
import { compareBaselines, comparisonKey } from "./compare.ts";
import { currentBackend, deviceKey } from "./device_key.ts";
import { DriftInputError } from "./errors.ts";
import { HistoryStore } from "./history.ts";
import { writeCompareHtml } from "./drift_html.ts";
import { RUN_FILES } from "../report/merge.ts";
import { writeRunHtml } from "../report/html/run_html.ts";
import { compareSummaryLine, compareToMarkdown, MARKDOWN_ROWS } from "./render.ts";
import type { Baseline, CompareReport, DriftClass, Thresholds } from "./types.ts";
import { plural } from "../util/plural.ts";

/**
 * The names of the compare report's files in a run folder (`run --baseline`: all three) or
 * an upgrade check's folder (Markdown and JSON).
 *
 * @example
 * ```ts
 * import { COMPARE_FILES } from "./after_run.ts";
 * COMPARE_FILES.md; // "compare.md"
 * ```
 */
export const COMPARE_FILES = {
  md: "compare.md",
  json: "compare.json",
  html: "compare.html",
} as const;

/** Where and how to write a compare report. */
export interface CompareOutputs {
  /** Markdown file. */
  md?: string;
  /** JSON file. */
  json?: string;
  /** HTML page (drift/drift_html.ts), with the drift plot. */
  html?: string;
  /** Also append the Markdown to $GITHUB_STEP_SUMMARY. */
  stepSummary?: boolean;
}

/**
 * Write a compare report's Markdown, JSON and HTML files (those asked for), each atomically,
 * after removing what an earlier comparison left at those paths; returns the Markdown. The
 * HTML page plots every metric's ratio when given both sides.
 *
 * @example
 * ```ts ignore
 * import { writeCompareOutputs } from "./after_run.ts";
 * await writeCompareOutputs(report, { md: "out/compare.md", json: "out/compare.json" });
 * ```
 */
export async function writeCompareOutputs(
  report: CompareReport,
  outputs: CompareOutputs,
  options: { title?: string; base?: Baseline; current?: Baseline } = {},
): Promise<string> {
  // the rows past the cap are in the JSON report: named where one is written, else how to
  // get one (compare.md said "see the JSON report" where compare wrote none)
  const more = outputs.json
    ? `${outputs.json.slice(outputs.json.lastIndexOf("/") + 1)} lists every one`
    : "compare --json <file> lists every one";
  const md = compareToMarkdown(report, { title: options.title, more });
  // An earlier comparison's files go first: one stopped halfway leaves some of its own, never
  // an older compare.html beside this compare.md (each is still written atomically).
  for (const f of [outputs.md, outputs.json, outputs.html]) {
    if (f) await Deno.remove(f).catch(() => {});
  }
  if (outputs.md) await writeTextAtomic(outputs.md, md + "\n");
  if (outputs.json) await writeJsonAtomic(outputs.json, report);
  if (outputs.html) await writeCompareHtml(outputs.html, report, options);
  if (outputs.stepSummary) await appendStepSummary(md + "\n");
  return md;
}

/**
 * The device keys a baselines folder holds (file names without `.json`, sorted; an
 * unreadable folder holds none).
 *
 * @example
 * ```ts
 * import { baselineKeys } from "./after_run.ts";
 * await baselineKeys("/nonexistent"); // []
 * ```
 */
export async function baselineKeys(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.endsWith(".json")) names.push(e.name.replace(/\.json$/, ""));
    }
  } catch {
    // unreadable: listed as none
  }
  return names.sort();
}

/** A baseline found under the key an older harness gave it: compared, and said so. */
function warnRenamed(loc: BaselineLocation, key: string): void {
  if (loc.writtenAs === undefined) return;
  const dir = loc.path.slice(0, loc.path.lastIndexOf("/"));
  console.error(
    `warning: ${loc.path} is this device's baseline under the key an older harness gave it ` +
      `(${loc.writtenAs}; this harness's key is ${key}): compared with it; rename it to ` +
      `${dir}/${key}.json to keep it found`,
  );
}

/** What `compare`'s <baseline> may be. */
export const COMPARE_BASELINE_INPUTS =
  "give a baseline file, a baselines folder, a report.json or a run output folder";

/**
 * Read the baseline side of `compare`: a baselines directory picks the current run's
 * device key; anything else is read with `loadComparable`. Throws DriftInputError naming
 * the keys the folder has when none is this device's.
 *
 * @example
 * ```ts ignore
 * import { resolveBaselineArg } from "./after_run.ts";
 * const base = await resolveBaselineArg("baselines/", current);
 * ```
 */
export async function resolveBaselineArg(path: string, current: Baseline): Promise<Baseline> {
  await checkInputExists(path, COMPARE_BASELINE_INPUTS);
  const dir = path.replace(/\/+$/, "") || "/";
  // a run's folder (report.json, or run.json alone: a killed run's, or one still going) is
  // read as a run, which says what it is; as a folder of baselines it read "no baseline for
  // this device (...); the folder has run"
  if (
    (await isDirectory(path)) && !(await pathExists(`${dir}/${RUN_FILES.report}`)) &&
    !(await pathExists(`${dir}/${RUN_FILES.state}`))
  ) {
    // the key under this harness's rules: a current baseline file an older harness wrote
    // records its own (…-fallback-vulkan), and the folder's file of that device was "none"
    const key = comparisonKey(current);
    const loc = await locateBaseline(path, key);
    // an upgrade-check's --out: its compare.json read as the baseline of a device "compare"
    const upgrade = loc.exists ? null : await upgradeFolderProblem(path);
    if (upgrade !== null) {
      const [from, to] = upgrade.sides.map(shellWord);
      throw new DriftInputError(
        path,
        upgrade.problem + (to === undefined ? "" : ` (\`compare ${from} ${to}\` compares them)`),
      );
    }
    if (!loc.exists) {
      const have = await baselineKeys(path);
      throw new DriftInputError(
        path,
        `no baseline for this device (${key}); the folder has ${
          have.length ? have.join(", ") : "none"
        }`,
      );
    }
    warnRenamed(loc, key);
    return await readBaseline(loc.path);
  }
  return await loadComparable(path);
}

/**
 * Refuse (DriftInputError, exit 2) a comparison of two sides with no case in common: every
 * case would be new or removed, and "no regressions" would pass a comparison never made.
 * A current side without cases (nothing ran) is left to the comparison. `labels` name the
 * two sides in the message (the paths the user gave). `compare` and `run --baseline` call it.
 *
 * @example
 * ```ts ignore
 * import { checkCasesInCommon } from "./after_run.ts";
 * checkCasesInCommon(base, current, { base: "baselines/x.json", current: "out/run" });
 * // throws: out/run: none of its 4 cases is in baselines/x.json (...): nothing to compare. ...
 * ```
 */
export function checkCasesInCommon(
  base: Baseline,
  current: Baseline,
  labels: { base: string; current: string },
): void {
  const baseIds = new Set(base.cases.map((c) => c.id));
  if (current.cases.length === 0 || current.cases.some((c) => baseIds.has(c.id))) return;
  // the shard too: a baseline of shard 1/2 and a run of shard 2/2 read alike without it
  const of = (b: Baseline) =>
    `matrix ${b.matrix}${b.filter ? `, filter ${b.filter}` : ""}${
      b.shard ? `, shard ${b.shard}` : ""
    }`;
  throw new DriftInputError(
    labels.current,
    `none of its ${plural(current.cases.length, "case")} is in ${labels.base} (${
      plural(base.cases.length, "case")
    }, ${of(base)}; this run: ${of(current)}): nothing to compare. Compare runs of one ` +
      `matrix and filter${
        base.shard || current.shard ? " (a baseline of the whole selection, not one shard)" : ""
      }, or make a baseline of this run (baseline update --from-report)`,
  );
}

/** What `run --baseline` may name. */
const BASELINE_ARG_INPUTS = "give a baseline file or a folder of baselines (e.g. baselines/)";

/**
 * Check `run --baseline` before the run: a file must be a readable baseline; in a directory,
 * this device's baseline (`key`, when the caller knows it before the run) must be one when
 * the folder has it (none there is the run's warning after it, as before). Without `key` a
 * directory is resolved after the run. Throws DriftInputError.
 *
 * @example
 * ```ts ignore
 * import { precheckBaseline } from "./after_run.ts";
 * await precheckBaseline("baselines/"); // fine
 * await precheckBaseline("baselines/", { key: "llvmpipe-65541-vulkan" }); // reads that file
 * await precheckBaseline("nope.json"); // throws: nope.json: the file does not exist; give ...
 * ```
 */
export async function precheckBaseline(
  path: string | undefined,
  options: { key?: string } = {},
): Promise<void> {
  if (path === undefined) return;
  await checkInputExists(path, BASELINE_ARG_INPUTS);
  if (await isDirectory(path)) {
    // A run's output folder is no folder of baselines: it held none for this device, so the
    // run warned "(it has report, run); drift not checked", exit 0, and offered to write a
    // baseline into that run's folder.
    const dir = path.replace(/\/+$/, "") || "/";
    let runFile: string | undefined;
    for (const f of [RUN_FILES.report, RUN_FILES.state]) {
      if (runFile === undefined && await pathExists(`${dir}/${f}`)) runFile = f;
    }
    if (runFile !== undefined) {
      throw new DriftInputError(
        path,
        `is a run's output folder (it has ${runFile}), not a folder of baselines; ` +
          `${BASELINE_ARG_INPUTS}. To compare with that run: compare ${shellWord(path)} ` +
          "<this run's --out> after this run, or make a baseline of it first: baseline update " +
          `--from-report ${shellWord(path)} --dir <folder>`,
      );
    }
    if (options.key === undefined) return;
    // a truncated or hand-broken baseline was found only after the whole run
    const loc = await locateBaseline(path, options.key);
    if (loc.exists) await readBaseline(loc.path);
    return;
  }
  await readBaseline(path);
}

/**
 * Regressed cases `run --baseline` lists on the console at most, as compare.md lists 40 per
 * section; the rest are counted (a driver update that moves every case of a 5000-case
 * nightly printed 5000 lines, about 1 MB of log).
 */
export const MAX_REGRESSION_LINES: number = MARKDOWN_ROWS;

/** Options of {@link driftAfterRun}. */
export interface DriftAfterRunOptions {
  /** `--baseline <file|dir>`. */
  baseline?: string;
  /** `--history <db>`. */
  history?: string;
  /** Thresholds. */
  thresholds?: Thresholds;
  /** Classes that count as regressions. */
  failOn?: readonly DriftClass[];
  /** Run output folder: compare.md and compare.json go there. */
  out: string;
  /** Also append compare.md to `$GITHUB_STEP_SUMMARY` when set (the CLI does; default false). */
  stepSummary?: boolean;
  /**
   * Words each command that runs the cases not run ends with, as the run wrote its pages with
   * (report/run_reports.ts `finishWords`): the pages written again here lost them.
   */
  finishWords?: readonly string[];
  /**
   * Called once summary.md and report.html carry the drift verdict, before compare.md goes to
   * `$GITHUB_STEP_SUMMARY`: `run --baseline` appends its summary.md there then, where it
   * appended the ✅ of the parity checks before the comparison (a run that exits 1 on drift).
   */
  beforeStepSummary?: () => Promise<void>;
}

/** What {@link driftAfterRun} found. */
export interface DriftAfterRunResult {
  /** The comparison (null: no --baseline, or no baseline for this device in the folder). */
  readonly compare: CompareReport | null;
  /** Cases with a class in `failOn` (0 without a comparison). */
  readonly regressions: number;
  /**
   * `--baseline <dir>` without this device's baseline: "drift not checked: no baseline for
   * device X in DIR (baselines there: ...)", which summary.md and report.html say at their
   * top and `run` prints last; absent otherwise.
   */
  readonly notChecked?: string;
}

/**
 * The sentence that says a run's drift was not checked: no baseline for its device in the
 * `--baseline` folder, and the keys the folder has.
 *
 * @example
 * ```ts
 * import { driftNotCheckedLine } from "./after_run.ts";
 * driftNotCheckedLine("llvmpipe-65541-vulkan", "baselines", ["h200-vulkan"]);
 * // "drift not checked: no baseline for device llvmpipe-65541-vulkan in baselines (baselines there: h200-vulkan)"
 * ```
 */
export function driftNotCheckedLine(key: string, dir: string, have: readonly string[]): string {
  return `drift not checked: no baseline for device ${key} in ${dir} (baselines there: ${
    have.length ? have.join(", ") : "none"
  })`;
}

/**
 * The warning of `run --baseline <dir>` when the folder has no baseline for this device: the
 * key, the keys it has, and the command that makes one from this run (`baseline update
 * --from-report`, its paths absolute, which keeps its matrix, filter, backend and runtime: a `baseline update
 * --dir` alone would run the whole smoke matrix on the bundled backends), its paths quoted
 * for a shell; a run of fewer timed repetitions than `minSamples` is told that such a
 * baseline cannot test speed, and an interrupted run (whose report `baseline update` refuses)
 * to finish it first.
 *
 * @example
 * ```ts
 * import { noBaselineWarning } from "./after_run.ts";
 * noBaselineWarning({ repeats: 10 }, {
 *   baseline: "/data/my baselines", out: "/data/out/x", key: "llvmpipe-65541-vulkan", have: [],
 * });
 * // "warning: no baseline for this device (llvmpipe-65541-vulkan) in /data/my baselines (it has none);
 * //  drift not checked. Create one from this run with: deno task harness baseline update
 * //  --from-report /data/out/x --dir '/data/my baselines'"
 * ```
 */
export function noBaselineWarning(
  report: Partial<Pick<RunReport, "repeats" | "interrupted">>,
  where: {
    baseline: string;
    out: string;
    key: string;
    have: readonly string[];
    /** The run's `--thresholds` minSamples, where it gave one (default 5). */
    minSamples?: number;
  },
): string {
  const repeats = report.repeats ?? 3;
  const min = where.minSamples ?? DEFAULT_THRESHOLDS.minSamples;
  return `warning: no baseline for this device (${where.key}) in ${where.baseline} ` +
    `(it has ${where.have.length ? where.have.join(", ") : "none"}); drift not checked. ` +
    // baseline update refuses an interrupted run's report: first the resume that finishes it
    (report.interrupted
      ? "Once this run is finished (its resume, 'to finish the run'), create one from it with: "
      : "Create one from this run with: ") +
    "deno task harness baseline update --from-report " +
    `${shellWord(absolutePath(where.out))} --dir ${shellWord(absolutePath(where.baseline))}` +
    (repeats < min
      ? ` (its ${repeats} timed repetitions a case cannot test speed: run with --repeats ` +
        `${Math.max(10, min)} first for a baseline that does)`
      : "");
}

/**
 * Write the run's report.html and summary.md again with the drift verdict at their top (a run
 * that exits 1 on drift, or whose drift was not checked, must not read green there), with what
 * the run wrote them with: the cases not run in their groups, and the commands that run them,
 * which a page written again without them lost. A page the run did not write is left unwritten.
 */
async function rewritePages(
  report: RunReport,
  options: DriftAfterRunOptions,
  verdict: MarkdownDriftNote,
  html: { page?: string } = {},
): Promise<void> {
  const pages = {
    notRunGroups: await notRunGroups(report),
    finish: finishCommands(report, options.out, { runWords: options.finishWords }),
  };
  const page = `${options.out}/${RUN_FILES.html}`;
  if (await pathExists(page)) {
    await writeRunHtml(page, report, { ...pages, drift: { ...verdict, ...html } });
  }
  // summary.md too: it read ✅ while the run exited 1 on drift
  const summary = `${options.out}/${RUN_FILES.summary}`;
  if (await pathExists(summary)) await writeMarkdown(summary, report, { ...pages, drift: verdict });
}

/**
 * The drift step of a run stopped at once (SIGTERM, a second Ctrl-C), which is not done: its
 * sentence ("drift not checked: the run was stopped at once: not compared with --baseline X;
 * its resume compares it once the run is finished"; with `--history` and no `--baseline`:
 * "history not stored: ... not stored in --history h.db; ..."), said at the top of summary.md
 * and report.html as a drift not checked, or a history not stored (only the console said it);
 * null with neither `--baseline` nor `--history`.
 *
 * @example
 * ```ts ignore
 * import { noteDriftSkipped } from "./after_run.ts";
 * await noteDriftSkipped(report, { baseline: "baselines/", out: "out/smoke" });
 * // "drift not checked: the run was stopped at once: not compared with --baseline baselines/; ..."
 * ```
 */
export async function noteDriftSkipped(
  report: RunReport,
  options: DriftAfterRunOptions,
): Promise<string | null> {
  if (options.baseline === undefined && options.history === undefined) return null;
  const resume = "its resume ('to finish the run') does it once the run is finished";
  const history = options.history === undefined ? "" : `not stored in --history ${options.history}`;
  // --history alone: the pages said nothing of the run not stored (the console only)
  const line = options.baseline === undefined
    ? `history not stored: the run was stopped at once: ${history}; ${resume}`
    : `drift not checked: the run was stopped at once: not compared with --baseline ${options.baseline}${
      history === "" ? "" : `, ${history}`
    }; ${resume}`;
  await rewritePages(report, options, {
    title: options.baseline === undefined ? "History" : "Drift",
    summary: line,
    regressions: 0,
    notChecked: true,
    ...(options.baseline === undefined ? { notCheckedWords: "history not stored" } : {}),
  });
  return line;
}

/**
 * The drift step after `run`: append the run to the history database (`history`), and
 * compare it with its baseline (`baseline`), writing `<out>/compare.md` and
 * `<out>/compare.json` (the Markdown also to `$GITHUB_STEP_SUMMARY` with `stepSummary`)
 * and printing a summary line. A baselines directory without a file for this device
 * prints a warning, says "drift not checked" in summary.md and report.html (and in the
 * result's `notChecked`), and compares nothing (a new device class has no baseline yet: create it
 * with `baseline update`); a baseline file that is missing or malformed, or a baseline
 * with no case in common with the run ({@link checkCasesInCommon}), throws DriftInputError
 * (compare.md and compare.json are then not written).
 *
 * @example
 * ```ts ignore
 * import { driftAfterRun } from "./after_run.ts";
 * const { regressions } = await driftAfterRun(report, { baseline: "baselines/", out: "out/smoke" });
 * ```
 */
export async function driftAfterRun(
  report: RunReport,
  options: DriftAfterRunOptions,
): Promise<DriftAfterRunResult> {
  const none: DriftAfterRunResult = { compare: null, regressions: 0 };
  if (options.history) {
    const store = await HistoryStore.open(options.history);
    try {
      const earlier = store.findEarlierStop(report);
      const id = await store.append(report, { backend: currentBackend() });
      console.log(
        earlier === null
          ? `history: run ${id} appended to ${options.history}`
          : `history: run ${id} of ${options.history} replaced by its resumed run`,
      );
    } finally {
      store.close();
    }
  }
  if (!options.baseline) return none;
  const key = deviceKey(report.fingerprint, { backend: currentBackend() });
  const loc = await locateBaseline(options.baseline, key);
  if (!loc.exists) {
    if (!loc.fromDir) {
      await checkInputExists(loc.path, BASELINE_ARG_INPUTS);
      throw new DriftInputError(loc.path, "cannot be read");
    }
    const have = await baselineKeys(options.baseline);
    console.error(
      noBaselineWarning(report, {
        baseline: options.baseline,
        out: options.out,
        key,
        have,
        minSamples: options.thresholds?.minSamples,
      }),
    );
    // the pages say it too: a nightly that lost its baseline file read ✅ in summary.md and
    // report.html, the warning on stderr only
    const notChecked = driftNotCheckedLine(key, options.baseline, have);
    await rewritePages(report, options, {
      title: "Drift",
      summary: notChecked,
      regressions: 0,
      notChecked: true,
    });
    return { ...none, notChecked };
  }
  warnRenamed(loc, key);
  const base = await readBaseline(loc.path);
  const current = await baselineFromReport(report, { backend: currentBackend() });
  // nothing in common: exit 2 as `compare` does, before compare.md says "no regressions"
  checkCasesInCommon(base, current, { base: loc.path, current: options.out });
  const cmp = compareBaselines(base, current, {
    thresholds: options.thresholds,
    failOn: options.failOn,
  });
  const title = `Drift against ${loc.path}`;
  // compare.md, .json and .html first (the pages below link compare.html), the step summary's
  // copy of compare.md after the run's own summary, which the caller appends once it says the
  // drift verdict
  const compareMd = await writeCompareOutputs(cmp, {
    md: `${options.out}/${COMPARE_FILES.md}`,
    json: `${options.out}/${COMPARE_FILES.json}`,
    html: `${options.out}/${COMPARE_FILES.html}`,
  }, { title, base, current });
  // the verdict both pages put at their top
  await rewritePages(report, options, {
    title,
    summary: compareSummaryLine(cmp),
    regressions: cmp.regressions,
    // the fault's differences: not said as drift regressions at the page's top
    ...(cmp.plantedFault === undefined ? {} : { fault: true }),
  }, { page: COMPARE_FILES.html });
  await options.beforeStepSummary?.();
  if (options.stepSummary) {
    await appendStepSummary(compareMd + "\n");
  }
  console.log(`${compareSummaryLine(cmp)}; details in ${options.out}/compare.md`);
  for (const line of cmp.environment.summary) console.log(`  changed: ${line}`);
  const regressed = cmp.cases.filter((x) => x.classes.some((k) => cmp.failOn.includes(k)));
  for (const c of regressed.slice(0, MAX_REGRESSION_LINES)) {
    console.log(`  ${c.class}: ${c.id}: ${c.details.join("; ")}`);
  }
  if (regressed.length > MAX_REGRESSION_LINES) {
    console.log(
      `  … and ${
        plural(regressed.length - MAX_REGRESSION_LINES, "more regression", "more regressions")
      } (every case in ` +
        `${options.out}/${COMPARE_FILES.json} and ${COMPARE_FILES.html})`,
    );
  }
  return { compare: cmp, regressions: cmp.regressions };
}
