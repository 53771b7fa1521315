/**
 * `history`: a metric of the matching cases over the runs of the history database, with
 * step changes flagged.
 *
 * @module
 */
import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import {
  DEFAULT_STEP_ALPHA,
  HISTORY_METRICS,
  HistoryOverlapError,
  HistoryStore,
  loadComparable,
  minSegmentOf,
  runList,
  shortRevision,
  STEP_CORRECTIONS,
  STEP_PERMUTATIONS,
  stepRunsNeeded,
  stepSearchRuns,
  tooShortForStep,
  upgradeFolderProblem,
} from "../drift/mod.ts";
import type {
  HistoryMetric,
  HistoryStep,
  Series,
  SeriesPoint,
  StepCorrection,
  StepTest,
} from "../drift/mod.ts";
import { readReportJson } from "../report/json.ts";
import { runReportFile } from "./run_report_input.ts";
import { COMPARE_RUNTIMES_FILES } from "../runner/run_matrix.ts";
import type { RunReport } from "../results/types.ts";
// one value format for the terminal and the page (a copy here could drift from it)
import { historyValue, writeHistoryHtml } from "../drift/history_html.ts";
import { checkOutputFile, prepareOutputDir } from "../report/output_paths.ts";
import { checkOutputsApart } from "../report/output_overlap.ts";
import { missingIds, notRunIds } from "../report/totals.ts";
import { paramsOfCaseId, parseFilter } from "../matrix/case_id.ts";
import { CliError, EXIT } from "./errors.ts";
import { pathExists } from "../util/fs.ts";
import { checkOptionNeeds } from "./option_needs.ts";
import { parseFilterOption, parsePositiveInt } from "./options.ts";
import { plural } from "../util/plural.ts";
import { spelledJson } from "../util/spelled_json.ts";

function parseFraction(value: string): number {
  const v = Number(value);
  if (!Number.isFinite(v) || v <= 0 || v >= 1) {
    throw new InvalidArgumentError(`"${value}" must be a number between 0 and 1, both excluded`);
  }
  return v;
}

/**
 * `--min-change`: the smallest relative change of the medians, |after / before - 1|, any
 * number above 0. Above 1 it asks for more than a doubling (2: three times slower), which
 * only a rise can meet (a fall is at most -100%, to 0): "only steps that doubled". It was
 * refused as "between 0 and 1", as if a change were a fraction of something.
 */
function parseMinChange(value: string): number {
  const v = Number(value);
  // decimal only, as the integer flags: Number() takes 0x10 and " 1 "
  if (!/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(value) || !Number.isFinite(v) || v <= 0) {
    throw new InvalidArgumentError(
      `"${value}" must be a relative change above 0 (0.05: 5%; 1: a doubling)`,
    );
  }
  return v;
}

/**
 * `--alpha`: a fraction above the permutation test's smallest p, 1 / (1 + shuffles). At or
 * below it no series can have a step flagged, so `--fail-on-step` could never fail and the
 * JSON said `"steps": []` for every series, read as "no step" by a nightly job.
 */
function parseAlpha(value: string): number {
  const v = parseFraction(value);
  const smallest = 1 / (1 + STEP_PERMUTATIONS);
  if (v <= smallest) {
    throw new InvalidArgumentError(
      `"${value}" is at or below the permutation test's smallest p, 1/${
        STEP_PERMUTATIONS + 1
      } (${smallest}): no number of runs could have a step flagged, and --fail-on-step would ` +
        `never fail; give a number above ${smallest} and below 1 (default ${DEFAULT_STEP_ALPHA})`,
    );
  }
  return v;
}

/** The nearest file that stands on `path` where a folder should (null: none). */
async function fileOnPath(path: string): Promise<string | null> {
  let up = path.replace(/\/+$/, "");
  for (;;) {
    const i = up.lastIndexOf("/");
    if (i <= 0) return null;
    up = up.slice(0, i);
    const info = await Deno.stat(up).catch(() => null);
    if (info !== null) return info.isDirectory ? null : up;
  }
}

/**
 * Text rendering of history series: one block per series with its values in run order and
 * every step flagged with where it happened, the medians before and after and the p-value;
 * a series with too few runs for a step (fewer than drift/history.ts `stepRunsNeeded` at
 * `minSegment` and `alpha`) says so, and how many it needs, instead of "no step change".
 *
 * @example
 * ```ts ignore
 * import { historyText } from "./history.ts";
 * console.log(historyText(series, "median_ms", { minSegment: 3 }));
 * ```
 */
export function historyText(
  series: readonly Series[],
  metric: HistoryMetric,
  options: { readonly minSegment?: number; readonly alpha?: number } = {},
): string {
  const minSegment = minSegmentOf(options.minSegment);
  const need = stepRunsNeeded(options);
  const lines: string[] = [];
  const rev = (r: string | null) => r === null ? "-" : shortRevision(r);
  const allRuns = [...new Set(series.flatMap((s) => s.points.map((p) => p.runId)))]
    .sort((a, b) => a - b);
  const test = series[0]?.stepTest;
  if (test?.correction === "benjamini-hochberg") lines.push(correctionText(test));
  for (const s of series) {
    const title = s.caseId === "*" ? "all matched cases (geometric mean per run)" : s.caseId;
    lines.push(`${title}: ${metric} over ${plural(s.points.length, "run")}`);
    // nights where every matched case gave exactly 0 have no geometric mean: said, not dropped
    if (s.noMean !== undefined && s.noMean.length > 0) {
      lines.push(
        `  left out: run${runList(s.noMean)}, where every matched case's ${metric} is 0 (no ` +
          "geometric mean; each case's own series has them)",
      );
    }
    const devices = [...new Set(s.points.map((p) => p.deviceKey))];
    const mixed = devices.length > 1;
    if (mixed) {
      lines.push(
        `  runs of ${devices.length} devices (${devices.join(", ")}): steps are looked for ` +
          "within each device's runs; --device picks one",
      );
    }
    // samples that time other work (an upgrade across timing scope, warm-up or rules)
    const timings = [...new Set(s.points.flatMap((p) => p.timing ?? []))];
    if (timings.length > 1) {
      lines.push(
        `  runs timed ${timings.length} ways: steps are looked for within each (drift does not ` +
          "compare their speed either)",
        ...timings.map((t) =>
          `    ${t}: run${runList(s.points.filter((p) => p.timing === t).map((p) => p.runId))}`
        ),
      );
    }
    // error metrics of other inputs (the matrix's seed edited; rows of an older harness)
    const inputs = [...new Set(s.points.flatMap((p) => p.inputs ?? []))];
    if (inputs.length > 1) {
      lines.push(
        `  runs on ${inputs.length} sets of inputs: steps are looked for within each (other ` +
          "inputs have other errors; drift does not compare their bits either)",
        ...inputs.map((t) =>
          `    ${t}: run${runList(s.points.filter((p) => p.inputs === t).map((p) => p.runId))}`
        ),
      );
    }
    // the mean over other case sets (a case added, or one that stopped giving the metric)
    const sets = [...new Set(s.points.flatMap((p) => p.cases ?? []))];
    if (sets.length > 1) {
      lines.push(
        `  runs of ${sets.length} sets of cases: steps are looked for within each (a mean over ` +
          "other cases moves without any case changing)",
        ...sets.map((t) =>
          `    ${t}: run${runList(s.points.filter((p) => p.cases === t).map((p) => p.runId))}`
        ),
      );
    }
    const detailed = s.caseId === "*" || series.length === 1;
    if (detailed) {
      // the runs' labels (history --add --label), where any has one: stored, shown nowhere
      const labelled = s.points.some((p) => p.label !== undefined);
      lines.push(
        "  run  started                   deno      revision           value" +
          (mixed ? "       device" : "") + (labelled ? "  label" : ""),
      );
      for (const p of s.points) {
        lines.push(
          `  ${String(p.runId).padEnd(4)} ${p.startedAt.padEnd(25)} ${p.deno.padEnd(9)} ${
            rev(p.harnessRevision).padEnd(18)
          } ${historyValue(p.value)}${mixed ? `  ${p.deviceKey}` : ""}${
            labelled ? `  ${p.label ?? "-"}` : ""
          }`,
        );
      }
    } else {
      // a case missing from some runs listed its values with nothing to say which runs they
      // are: run 2's value read as run 1's neighbour
      const ids = s.points.map((p) => p.runId);
      const absent = allRuns.filter((r) => !ids.includes(r));
      if (absent.length > 0) {
        lines.push(
          `  run${runList(ids)} (not in run${runList(absent)}, where the case gave no ${metric}):`,
        );
      }
      lines.push(`  ${s.points.map((p) => historyValue(p.value)).join(" ")}`);
    }
    for (const st of s.steps) {
      const p = s.points[st.index];
      const pct = Number.isFinite(st.change)
        ? `${st.change >= 0 ? "+" : ""}${(st.change * 100).toFixed(1)}%`
        : "from 0";
      lines.push(
        `  STEP at run ${p.runId} (${p.startedAt}, Deno ${p.deno}${
          mixed ? `, ${p.deviceKey}` : ""
        }): ${historyValue(st.before)} → ${historyValue(st.after)} (${pct}, permutation p = ${
          st.p.toPrecision(2)
        })`,
      );
      // What changed from the run before it among those searched with it (a step after a Deno
      // upgrade, a new driver, an edited kernel or a new harness revision says so; the STEP
      // line's Deno is only the run's own)
      if (st.since !== undefined) lines.push(`    ${sinceText(st.since)}`);
      else {
        const prev = s.points.slice(0, st.index).filter((q) => q.deviceKey === p.deviceKey)
          .at(-1);
        if (prev) lines.push(`    ${stepChangeText(prev, p)}`);
      }
      // Samples that do not say how they were timed (rows of history schema 1, reports of a
      // harness before timing.rules): at a change of harness revision, what was timed may
      // have changed (the expanded path's scope, the cached k_pe's RoPE), not the speed.
      const before = s.points.slice(0, st.index).filter((q) =>
        q.deviceKey === p.deviceKey && q.timing === p.timing
      ).at(-1);
      if (
        p.timing?.endsWith("rules not recorded") && before &&
        before.harnessRevision !== p.harnessRevision
      ) {
        lines.push(
          `    the harness revision changed here (${rev(before.harnessRevision)} → ${
            rev(p.harnessRevision)
          }) and these runs do not record how they were timed: the step may be a change in ` +
            "what the harness timed, not in speed",
        );
      }
    }
    const searched = stepSearchRuns(s);
    if (tooShortForStep(s, options)) {
      lines.push(
        `  too few runs to detect a step: ${searched}${
          searched === s.points.length ? "" : " of one device, timed alike and on one input"
        }; ${stepRunsText(need, minSegment, options.alpha)}`,
      );
    } else if (s.steps.length === 0) lines.push("  no step change");
  }
  return lines.join("\n");
}

/**
 * The line that says how the series of a query were tested together: Benjamini-Hochberg
 * across the step searches, the level a step was held to, and how many runs a lone step
 * among them needs (a nightly of 10 runs over 2,000 cases can show none: it says so).
 *
 * @example
 * ```ts
 * import { correctionText } from "./history.ts";
 * correctionText({
 *   correction: "benjamini-hochberg",
 *   searches: 40,
 *   alpha: 0.05,
 *   threshold: 0,
 *   loneStepRuns: 14,
 * }); // "steps tested across 40 series at once (Benjamini-Hochberg ...)..."
 * ```
 */
export function correctionText(test: StepTest): string {
  const lone = test.alpha / test.searches;
  return `steps tested across ${test.searches} series at once (Benjamini-Hochberg, ` +
    `false-discovery rate ${test.alpha}): ` +
    (test.threshold > 0
      ? `a step is flagged where its p <= ${test.threshold.toPrecision(2)}`
      : "no series passed, so no step is flagged") +
    `; a lone step among them needs p <= ${lone.toPrecision(2)}, ` +
    (test.loneStepRuns === null
      ? "which no number of runs up to 64 reaches"
      : `which takes at least ${test.loneStepRuns} runs`) +
    " (--correction none tests each series alone)";
}

/**
 * What changed between two runs of a series on one device, from the points alone: the Deno
 * version and the harness revision, or that neither did. A step's second line is
 * {@link sinceText} of what the runs record; this is its fallback for a step without it.
 *
 * @example
 * ```ts
 * import { stepChangeText } from "./history.ts";
 * const a = { runId: 5, deno: "2.9.5", harnessRevision: "aaaa" };
 * const changed = stepChangeText(a, { runId: 6, deno: "2.9.6", harnessRevision: "bbbb" });
 * changed; // "since run 5: Deno 2.9.5 → 2.9.6, harness revision aaaa → bbbb"
 * const same = stepChangeText(a, { ...a, runId: 6 });
 * same; // "since run 5: the same Deno and harness revision ..."
 * ```
 */
export function stepChangeText(
  before: Pick<SeriesPoint, "runId" | "deno" | "harnessRevision">,
  at: Pick<SeriesPoint, "runId" | "deno" | "harnessRevision">,
): string {
  const changes: string[] = [];
  if (before.deno !== at.deno) changes.push(`Deno ${before.deno} → ${at.deno}`);
  if (before.harnessRevision !== at.harnessRevision) {
    const rev = (r: string | null) => r === null ? "not recorded" : shortRevision(r);
    changes.push(`harness revision ${rev(before.harnessRevision)} → ${rev(at.harnessRevision)}`);
  }
  return `since run ${before.runId}: ` +
    (changes.length > 0
      ? changes.join(", ")
      : "the same Deno and harness revision (the device, its driver or its load changed, or " +
        "what the runs do not record)");
}

/**
 * A step's second line from what the runs record ({@link HistoryStep} `since`): every group
 * of the environment that changed since the run before it (Deno, adapter or driver, plan
 * tuning, kernel source, harness revision, host), or that none did.
 *
 * @example
 * ```ts
 * import { sinceText } from "./history.ts";
 * sinceText({ runId: 8, changes: ["adapter or driver: description a → b"] });
 * // "since run 8: adapter or driver: description a → b"
 * ```
 */
export function sinceText(since: NonNullable<HistoryStep["since"]>): string {
  return `since run ${since.runId}: ` +
    (since.changes.length > 0
      ? since.changes.join("; ")
      : "nothing the runs record changed (the same Deno, adapter and driver, plan tuning, " +
        "kernel sources, harness revision and host: the device's load, or what the runs do not " +
        "record)");
}

/**
 * What `history --json` prints of each series: the series, then whether it has too few runs
 * for a step to be found (the text's "too few runs to detect a step") and how many a step
 * needs at these options (null: none is enough). Its `"steps": []` alone read as "no step"
 * for a 5-run series the text says could have none.
 *
 * @example
 * ```ts
 * import { historyJson } from "./history.ts";
 * historyJson([{ caseId: "*", points: [], steps: [] }])[0].tooFewRuns; // true
 * ```
 */
export function historyJson(
  series: readonly Series[],
  options: { readonly minSegment?: number; readonly alpha?: number } = {},
): (Series & { readonly tooFewRuns: boolean; readonly runsNeeded: number | null })[] {
  const runsNeeded = stepRunsNeeded(options);
  return series.map((s) => ({ ...s, tooFewRuns: tooShortForStep(s, options), runsNeeded }));
}

/**
 * How many runs a step needs, in words: "a step needs at least 8 (fewer cannot reach p < 0.05
 * in the permutation test with --min-segment 3)", or that no number of runs can.
 */
function stepRunsText(need: number | null, minSegment: number, alpha = DEFAULT_STEP_ALPHA) {
  return need === null
    ? `no number of runs can show a step at --alpha ${alpha} (the permutation test's smallest p ` +
      `is 1/${STEP_PERMUTATIONS + 1})`
    : `a step needs at least ${need} (fewer cannot reach p < ${alpha} in the permutation ` +
      `test with --min-segment ${minSegment})`;
}

/**
 * The error (exit 2) of a case filter or `--device` that selects nothing in the database,
 * as `run` refuses a filter that selects no case: it names what matched nothing and what
 * the database holds (its device keys; the values of each filter key among the cases of
 * the metric), or null when neither was given (an empty database is a plain answer).
 *
 * @example
 * ```ts ignore
 * import { noMatchError } from "./history.ts";
 * const e = noMatchError(store, { filter: "preset=nosuch", metric: "median_ms" });
 * e?.message; // 'case filter preset=nosuch matches no median_ms value in ...; its values of preset: tiny'
 * ```
 */
export function noMatchError(
  store: HistoryStore,
  query: { filter?: string; device?: string; metric: HistoryMetric },
): CliError | null {
  const { filter, device, metric } = query;
  if (filter === undefined && device === undefined) return null;
  if (device !== undefined) {
    const keys = [...new Set(store.runs().map((r) => r.deviceKey))];
    if (!keys.includes(device)) {
      return new CliError(
        `--device ${device} matches no run of ${store.path}; its device keys: ` +
          `${keys.length > 0 ? keys.join(", ") : "none (no run stored)"}`,
        EXIT.badInput,
      );
    }
  }
  const scope = device === undefined ? "" : ` of device ${device}`;
  if (filter === undefined) {
    return new CliError(
      `--device ${device} has runs in ${store.path} but no ${metric} value; try another --metric`,
      EXIT.badInput,
    );
  }
  const ids = store.caseIds(metric, { deviceKey: device });
  // Nothing to name values of: "its values of preset: none" read as a filter's typo.
  if (ids.length === 0) {
    const none = store.runs().length === 0
      ? "it holds no run yet (record runs with run --history, or add them with history --add)"
      : `its runs${scope} record no ${metric} value (try another --metric)`;
    return new CliError(
      `case filter ${filter} matches no ${metric} value${scope} in ${store.path}: ${none}`,
      EXIT.badInput,
    );
  }
  const values = [...parseFilter(filter).keys()].map((key) => {
    const seen = new Set<string>();
    for (const id of ids) {
      const v = paramsOfCaseId(id)[key as keyof ReturnType<typeof paramsOfCaseId>];
      seen.add(typeof v === "boolean" ? (v ? "1" : "0") : String(v));
    }
    return `its values of ${key}: ${seen.size > 0 ? [...seen].sort().join(", ") : "none"}`;
  });
  return new CliError(
    `case filter ${filter} matches no ${metric} value${scope} in ${store.path}; ` +
      values.join("; "),
    EXIT.badInput,
  );
}

/**
 * What `history` says when no case of the database has a value of the metric (no filter, no
 * `--device`): how many runs it holds, and the metrics they do record. "no median_ms values
 * for any case" was all, where every run was a `run --repeats 0` (no timing) and the error
 * metrics were there.
 */
function noValuesLine(store: HistoryStore, metric: HistoryMetric, db: string): string {
  const runs = store.runs().length;
  if (runs === 0) {
    return `no ${metric} values for any case in ${db}: it holds no run yet (record runs with ` +
      "run --history, or add them with history --add)";
  }
  const others = HISTORY_METRICS.filter((m) => m !== metric && store.caseIds(m).length > 0);
  const [its, they] = runs === 1
    ? ["its 1 run records", "it records"]
    : [`its ${runs} runs record`, "they record"];
  return `no ${metric} values for any case in ${db}: ${its} none` +
    (metric === "median_ms" ? " (a run with --repeats 0 times nothing)" : "") +
    (others.length > 0 ? `; ${they} ${others.join(", ")}: give --metric <name>` : "");
}

/** A run to append with `--add`: its report.json and the report read from it. */
export interface RunToAdd {
  /** The report.json file. */
  readonly file: string;
  /** The checked report. */
  readonly report: RunReport;
}

/**
 * The compare-runtimes file a folder holds without a report.json (a `compare-runtimes --out`),
 * or null: any other path.
 */
async function compareRuntimesFolder(path: string): Promise<string | null> {
  const dir = path.replace(/\/+$/, "") || "/";
  const isFile = (f: string) => Deno.stat(`${dir}/${f}`).then((i) => i.isFile, () => false);
  if (await isFile("report.json")) return null;
  for (const f of Object.values(COMPARE_RUNTIMES_FILES)) if (await isFile(f)) return f;
  return null;
}

/**
 * Read and check the runs of `--add` (report.json files or run folders), every one before
 * anything is written: a bad file throws naming it and the field, and adds nothing.
 *
 * @example
 * ```ts ignore
 * import { readRunsToAdd } from "./history.ts";
 * const runs = await readRunsToAdd(["out/night1", "out/night2/report.json"]);
 * ```
 */
export async function readRunsToAdd(paths: readonly string[]): Promise<RunToAdd[]> {
  const runs: RunToAdd[] = [];
  for (const path of paths) {
    // `--add <reports...>` takes every word after it: a case filter given last lands here
    if (/^[a-z_]+=/.test(path) && !(await pathExists(path))) {
      throw new CliError(
        `--add ${path}: not a report file or folder; it reads as a case filter, which --add ` +
          "took as one of its reports: give the filter before --add (history <case-filter> " +
          "--add <reports...>)",
        EXIT.badInput,
      );
    }
    // an upgrade-check's --out: it read "a folder without report.json, not a run output folder"
    const upgrade = await upgradeFolderProblem(path);
    if (upgrade !== null) throw new CliError(`--add ${path}: ${upgrade.problem}`, EXIT.badInput);
    // a compare-runtimes --out: it read "a folder without report.json, not a run output
    // folder", naming nothing it holds
    const comparison = await compareRuntimesFolder(path);
    if (comparison !== null) {
      throw new CliError(
        `--add ${path}: a compare-runtimes output folder (it holds ${comparison}, no ` +
          "report.json), not a run's: a comparison of two runtimes is no run for a history; " +
          "give a `run --out` folder or its report.json (nothing added)",
        EXIT.badInput,
      );
    }
    const file = await runReportFile(path);
    await loadComparable(file); // checks the file, names it on error
    const report = await readReportJson(file);
    if (report.plantedFault !== undefined) {
      throw new CliError(
        `--add ${file}: a run with planted fault ${report.plantedFault} (run --plant-fault): ` +
          "its results and timings are the fault's, not the kernels'; a history holds the " +
          "kernels' runs (nothing added)",
        EXIT.badInput,
      );
    }
    runs.push({ file, report });
  }
  return runs;
}

/**
 * Append checked runs, all in one transaction (HistoryStore.appendAll: a process killed
 * halfway stores none of them); a run the database already holds (the same report.json
 * added again) is not added twice. After the commit, a line on stderr for each run says
 * what became of it.
 *
 * @example
 * ```ts ignore
 * import { addRuns, readRunsToAdd } from "./history.ts";
 * addRuns(store, await readRunsToAdd(["out/night1"]), "nightly");
 * ```
 */
export async function addRuns(
  store: HistoryStore,
  runs: readonly RunToAdd[],
  label: string | undefined,
): Promise<void> {
  let done: Awaited<ReturnType<HistoryStore["appendAll"]>>;
  try {
    done = await store.appendAll(runs.map((r) => r.report), { label, relabel: true });
  } catch (e) {
    // the run refused is named by its file, not its start
    if (!(e instanceof HistoryOverlapError)) throw e;
    const run = runs.find((r) => r.report === e.report);
    if (!run) throw e;
    throw new CliError(`--add ${run.file}: ${e.problem}`, EXIT.badInput);
  }
  runs.forEach(({ file, report }, i) => {
    const { id, outcome, relabeled } = done[i];
    if (outcome === "stored") {
      console.error(
        `history: ${file} is already run ${id} of ${store.path} (same start ${report.startedAt}, ` +
          "matrix, filter, shard and environment); not added again" +
          // quoted: "its label is now again (was night 1)" read as prose
          (relabeled
            ? `; its label is now ${JSON.stringify(label)} (was ${
              relabeled.from === null ? "none" : JSON.stringify(relabeled.from)
            })`
            : ""),
      );
      return;
    }
    // A run without results for some of its cases adds no point to their series; nor does a
    // case that errored (a night whose device was lost read "appended" and its charts had a
    // hole without a word).
    const lacking = notRunIds(report).length;
    const errored = report.results.filter((r) => r.status === "error").length;
    console.error(
      (outcome === "appended"
        ? `history: ${file} appended as run ${id}`
        : `history: ${file} replaces run ${id}, its earlier stop (a resumed run: the same ` +
          "start, its finished cases and the rest)") +
        (lacking === 0
          ? ""
          : `; it has no result for ${lacking} of its ${plural(report.shardIds.length, "case")} (${
            missingIds(report).length > 0 ? "a merge missing shards" : "interrupted"
          }): ${lacking === 1 ? "its series gets" : "their series get"} no point for this run`) +
        (errored === 0
          ? ""
          : `; ${errored} of its cases errored (no time or error metric): ${
            errored === 1 ? "its series gets" : "their series get"
          } no point for this run`) +
        // a shard the hash gave none of the selection (run exits 0: a shard may be empty)
        // read as a run added like any other
        (report.shardIds.length === 0
          ? `; it holds no case (${
            report.shard === null
              ? "its selection is empty"
              : `shard ${report.shard} holds none of ` +
                `the ${plural(report.matrixIds.length, "case")} of its matrix and filter`
          }): no series gets a point from it`
          : ""),
    );
  });
}

/**
 * Build the `history` command.
 *
 * @example
 * ```ts ignore
 * import { historyCommand } from "./history.ts";
 * const cmd = historyCommand();
 * ```
 */
export function historyCommand() {
  return new Command("history")
    .description(
      "Show a metric of the cases matching a filter over the runs stored in the history " +
        "database (runs are appended by `run --history <db>`, `baseline update --history` or " +
        "--add here), and flag step changes: binary segmentation with an L1 cost, a step kept " +
        "when the medians on its two sides differ by at least --min-change and a permutation test " +
        "at --alpha (the best Mann-Whitney z over every split, against seeded shuffles of the " +
        "runs) says they are not in random order, each side at least --min-segment runs " +
        "(drift/step_detect.ts). With more than one series, the series are tested together " +
        "(--correction, default bh: Benjamini-Hochberg false-discovery control at --alpha; " +
        "tested one by one, 3 to 5% of 2,000 series of pure noise had a step, so " +
        "--fail-on-step over a large filter failed most nights; a lone step among N series " +
        "is held to p <= alpha / N, which 2,000 series of 10 runs cannot reach: the output " +
        "says how many runs it takes). A slow " +
        "creep shows as a step even when no single night moved much. With several matching " +
        "cases, their geometric mean per run is a series too. Exit 0 (1 with --fail-on-step " +
        "when a step is flagged), 2 on bad input (a case filter or --device that matches no " +
        "value of the metric included).",
    )
    .argument(
      "[case-filter]",
      "cases to show, --filter syntax, e.g. 'preset=tiny;dtype=f32' (default: all)",
      parseFilterOption,
    )
    .option(
      "--db <file>",
      "history database (SQLite; with --add, created with its folder when missing)",
      "out/history.sqlite",
    )
    .addOption(
      new Option("--metric <name>", "metric to show").choices(HISTORY_METRICS).default(
        "median_ms" as HistoryMetric,
      ),
    )
    .option("--device <key>", "only runs of this device key")
    .option(
      "--add <reports...>",
      "first append these runs (report.json files or run folders; all are checked first and stored in one transaction, all or none, and a run already stored is not added again)",
    )
    .option(
      "--label <text>",
      "label of the runs added with --add, put on a run stored already too (without --add: exit 2)",
    )
    .option(
      "--min-change <ratio>",
      "smallest relative step, |after / before - 1| of the medians (default 0.05: 5%; 1: a " +
        "doubling, and above 1 only a rise can reach it, a fall being at most -100%)",
      parseMinChange,
    )
    .option(
      "--alpha <p>",
      "significance of the step's permutation test (default 0.05; above 1/2000, its smallest p)",
      parseAlpha,
    )
    .addOption(
      new Option(
        "--correction <method>",
        "how the series of one query are tested together: bh (Benjamini-Hochberg: of the steps flagged, at " +
          "most a share --alpha are noise on average; its level rises with the steps found, " +
          "where Holm's would stay at alpha / series for an upgrade that moved many cases) or " +
          "none (each series alone at --alpha, as with one series)",
      ).choices(STEP_CORRECTIONS).default("bh" as StepCorrection),
    )
    .option(
      "--min-segment <n>",
      "fewest runs on each side of a step (default 3)",
      // decimal digits, as every integer flag: Number() took 0x3 and 1e1
      parsePositiveInt,
    )
    .option("--json", "print the series as JSON")
    .option(
      "--html <file>",
      "also write a self-contained HTML report: one chart per series with its steps marked " +
        "(its folder is created when missing, as --db's)",
    )
    .option("--fail-on-step", "exit 1 when a step is flagged")
    // more than one word is refused below, naming the filter they would make (commander said
    // "too many arguments ... got 2: preset=tiny, dtype=f32" and no more)
    .allowExcessArguments()
    .action(async (filter, opts, cmd) => {
      if (cmd.args.length > 1) {
        throw new CliError(
          `history takes one case filter, but was given ${
            cmd.args.map((w) => `"${w}"`).join(", ")
          }: join a filter's terms with ';' and quote it, e.g. '${
            cmd.args.join(";")
          }' (history --help lists the options)`,
          EXIT.badInput,
        );
      }
      // a label with no run to put it on would be dropped without a word
      checkOptionNeeds("history", [{
        option: "--label",
        value: opts.label,
        needs: "--add",
        met: opts.add !== undefined,
        fix: "add --add <reports...> to label the runs it adds (or relabel them, where " +
          "stored already), or drop --label",
      }]);
      if (opts.html) {
        // Its folder is created as --db's and run --out's are (a nightly job's dated folder
        // was refused, "its folder ... does not exist", while --db beside it was made); one
        // left empty by a refusal is removed again on exit 2.
        // (a folder there already is left to checkOutputFile, whose messages name the file)
        const slash = opts.html.lastIndexOf("/");
        const folder = slash > 0 ? opts.html.slice(0, slash) : null;
        if (folder !== null && await Deno.lstat(folder).then(() => false, () => true)) {
          await prepareOutputDir(folder, { label: "--html's folder" });
        }
        await checkOutputFile(opts.html, { label: "--html" });
      }
      // The chart may not overwrite the database or a report being added.
      await checkOutputsApart([["--html", opts.html]], [
        ["--db", opts.db],
        ...(opts.add ?? []).map((a) => ["--add", a] as const),
      ]);
      if (!opts.add) {
        // A query reads: a missing or empty file is no database (opening it would make one).
        let size: number;
        try {
          size = (await Deno.stat(opts.db)).size;
        } catch (e) {
          // a file on the way (--db <a file>/h.sqlite): no run could make a database there,
          // and "record runs with run --history" sent the user to a path that cannot be one
          const file = e instanceof Deno.errors.NotADirectory ? await fileOnPath(opts.db) : null;
          if (file !== null) {
            throw new CliError(
              `${opts.db}: no such history database, nor can there be one: ${file} is a file, ` +
                "not a folder; give a path of folders",
              EXIT.badInput,
            );
          }
          throw new CliError(
            `${opts.db}: no such history database (record runs with run --history ${opts.db})`,
            EXIT.badInput,
          );
        }
        if (size === 0) {
          throw new CliError(
            `${opts.db}: an empty file, not a history database (record runs with run ` +
              `--history ${opts.db}, or add them here with --add)`,
            EXIT.badInput,
          );
        }
      }
      const runs = await readRunsToAdd(opts.add ?? []);
      // a query stores nothing: a database on a read-only filesystem is read as it is
      const store = await HistoryStore.open(opts.db, {
        readOnly: opts.add ? undefined : "when-needed",
      });
      try {
        await addRuns(store, runs, opts.label);
        let series: Series[];
        try {
          series = store.series(filter ?? null, opts.metric, {
            deviceKey: opts.device,
            minChange: opts.minChange,
            alpha: opts.alpha,
            minSegment: opts.minSegment,
            correction: opts.correction,
          });
        } catch (e) {
          if (e instanceof RangeError) {
            throw new CliError(`case filter: ${e.message}`, EXIT.badInput);
          }
          throw e;
        }
        if (series.length === 0) {
          // a filter or --device that matches nothing is bad input, as in run
          const e = noMatchError(store, { filter, device: opts.device, metric: opts.metric });
          if (e !== null) throw e;
        }
        if (opts.html) {
          await writeHistoryHtml(opts.html, series, opts.metric, {
            db: opts.db,
            filter: filter ?? null,
            minSegment: opts.minSegment,
            alpha: opts.alpha,
          });
        }
        // A step from 0 changes by Infinity, which JSON.stringify writes as null: spelled
        // out, as the reports spell non-finite numbers.
        if (opts.json) {
          console.log(spelledJson(
            historyJson(series, { minSegment: opts.minSegment, alpha: opts.alpha }),
            2,
          ));
        } else if (series.length === 0) {
          console.log(noValuesLine(store, opts.metric, opts.db));
        } else {
          console.log(
            historyText(series, opts.metric, { minSegment: opts.minSegment, alpha: opts.alpha }),
          );
        }
        const steps = series.reduce((n, s) => n + s.steps.length, 0);
        Deno.exitCode = opts.failOnStep && steps > 0 ? EXIT.failure : EXIT.ok;
      } finally {
        store.close();
      }
    });
}
