/**
 * `compare`: classify every case of a run against a baseline and attribute what moved;
 * and the drift step of `run --baseline/--history` ({@link driftAfterRun}).
 *
 * @module
 */
import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import {
  baselineFromReport,
  compareBaselines,
  compareSummaryLine,
  compareToMarkdown,
  currentBackend,
  DEFAULT_FAIL_ON,
  DEFAULT_THRESHOLDS,
  deviceKey,
  DRIFT_CLASSES,
  DriftInputError,
  HistoryStore,
  loadComparable,
  locateBaseline,
  readBaseline,
  readThresholds,
} from "../drift/mod.ts";
import type { Baseline, CompareReport, DriftClass, Thresholds } from "../drift/mod.ts";
import { isDirectory, pathExists, writeJsonAtomic, writeTextAtomic } from "../report/json.ts";
import { appendStepSummary } from "../report/markdown.ts";
import { checkOutputFile } from "../report/output_paths.ts";
import type { RunReport } from "../runner/types.ts";
import { EXIT } from "./errors.ts";

/**
 * Parse `--fail-on numeric-drift,support-drift` (class names; `none` for no class).
 *
 * @example
 * ```ts
 * import { parseFailOn } from "./compare.ts";
 * parseFailOn("numeric-drift,support-drift"); // ["numeric-drift", "support-drift"]
 * ```
 */
export function parseFailOn(value: string): DriftClass[] {
  if (value.trim() === "none") return [];
  const parts = value.split(",").map((s) => s.trim()).filter(Boolean);
  for (const p of parts) {
    if (!(DRIFT_CLASSES as readonly string[]).includes(p)) {
      throw new InvalidArgumentError(
        `"${p}" is not a drift class; valid: ${DRIFT_CLASSES.join(", ")}, or none`,
      );
    }
  }
  return parts as DriftClass[];
}

/**
 * The thresholds option's help text (the defaults and what they mean).
 *
 * @example
 * ```ts
 * import { THRESHOLDS_HELP } from "./compare.ts";
 * THRESHOLDS_HELP.includes("speedRatio"); // true
 * ```
 */
export const THRESHOLDS_HELP =
  `JSON file overriding drift thresholds (defaults: metricFactor ${DEFAULT_THRESHOLDS.metricFactor}, ` +
  `floorFraction ${DEFAULT_THRESHOLDS.floorFraction} of the tolerance, alpha ${DEFAULT_THRESHOLDS.alpha} ` +
  `(Mann-Whitney U, two-sided), speedRatio ${DEFAULT_THRESHOLDS.speedRatio}, minSamples ` +
  `${DEFAULT_THRESHOLDS.minSamples}; see drift/thresholds.ts)`;

/** Where and how to write a compare report. */
export interface CompareOutputs {
  /** Markdown file. */
  md?: string;
  /** JSON file. */
  json?: string;
  /** Also append the Markdown to $GITHUB_STEP_SUMMARY. */
  stepSummary?: boolean;
}

/**
 * Write a compare report's Markdown and JSON files (those asked for).
 *
 * @example
 * ```ts ignore
 * import { writeCompareOutputs } from "./compare.ts";
 * await writeCompareOutputs(report, { md: "out/compare.md", json: "out/compare.json" });
 * ```
 */
export async function writeCompareOutputs(
  report: CompareReport,
  outputs: CompareOutputs,
  options: { title?: string } = {},
): Promise<string> {
  const md = compareToMarkdown(report, { title: options.title });
  if (outputs.md) await writeTextAtomic(outputs.md, md + "\n");
  if (outputs.json) await writeJsonAtomic(outputs.json, report);
  if (outputs.stepSummary) await appendStepSummary(md + "\n");
  return md;
}

async function baselineKeys(dir: string): Promise<string[]> {
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

/**
 * Read the baseline side of `compare`: a baselines directory picks the current run's
 * device key; anything else is read with `loadComparable`.
 *
 * @example
 * ```ts ignore
 * import { resolveBaselineArg } from "./compare.ts";
 * const base = await resolveBaselineArg("baselines/", current);
 * ```
 */
export async function resolveBaselineArg(path: string, current: Baseline): Promise<Baseline> {
  if ((await isDirectory(path)) && !(await pathExists(`${path.replace(/\/+$/, "")}/report.json`))) {
    const loc = await locateBaseline(path, current.deviceKey);
    if (!loc.exists) {
      const have = await baselineKeys(path);
      throw new DriftInputError(
        path,
        `no baseline for this device (${current.deviceKey}); the folder has ${
          have.length ? have.join(", ") : "none"
        }`,
      );
    }
    return await readBaseline(loc.path);
  }
  return await loadComparable(path);
}

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
}

/**
 * Check `run --baseline` before the run: a file must be a readable baseline (a directory
 * is resolved after the run, when the device key is known). Throws DriftInputError.
 *
 * @example
 * ```ts ignore
 * import { precheckBaseline } from "./compare.ts";
 * await precheckBaseline("baselines/"); // fine
 * await precheckBaseline("nope.json"); // throws: nope.json: no such file
 * ```
 */
export async function precheckBaseline(path: string | undefined): Promise<void> {
  if (path === undefined || (await isDirectory(path))) return;
  await readBaseline(path);
}

/**
 * The drift step after `run`: append the run to the history database (`--history`), and
 * compare it with its baseline (`--baseline`), writing `<out>/compare.md` and
 * `<out>/compare.json` and printing a summary line. Returns 1 when the comparison found
 * regressions, else 0. A baselines directory without a file for this device prints a
 * warning and returns 0 (a new device class has no baseline yet: create it with
 * `baseline update`); a baseline file that is missing or malformed throws DriftInputError.
 *
 * @example
 * ```ts ignore
 * import { driftAfterRun } from "./compare.ts";
 * const code = await driftAfterRun(report, { baseline: "baselines/", out: "out/smoke" });
 * ```
 */
export async function driftAfterRun(
  report: RunReport,
  options: DriftAfterRunOptions,
): Promise<number> {
  if (options.history) {
    const store = await HistoryStore.open(options.history);
    try {
      const id = await store.append(report, { backend: currentBackend() });
      console.log(`history: run ${id} appended to ${options.history}`);
    } finally {
      store.close();
    }
  }
  if (!options.baseline) return EXIT.ok;
  const key = deviceKey(report.fingerprint, { backend: currentBackend() });
  const loc = await locateBaseline(options.baseline, key);
  if (!loc.exists) {
    if (!loc.fromDir) throw new DriftInputError(loc.path, "no such file");
    const have = await baselineKeys(options.baseline);
    console.error(
      `warning: no baseline for this device (${key}) in ${options.baseline} ` +
        `(it has ${have.length ? have.join(", ") : "none"}); drift not checked. ` +
        `Create one with: deno task harness baseline update --dir ${options.baseline}`,
    );
    return EXIT.ok;
  }
  const base = await readBaseline(loc.path);
  const current = await baselineFromReport(report, { backend: currentBackend() });
  const cmp = compareBaselines(base, current, {
    thresholds: options.thresholds,
    failOn: options.failOn,
  });
  await writeCompareOutputs(cmp, {
    md: `${options.out}/compare.md`,
    json: `${options.out}/compare.json`,
    stepSummary: true,
  }, { title: `Drift against ${loc.path}` });
  console.log(`${compareSummaryLine(cmp)}; details in ${options.out}/compare.md`);
  for (const line of cmp.environment.summary) console.log(`  changed: ${line}`);
  for (const c of cmp.cases.filter((x) => x.classes.some((k) => cmp.failOn.includes(k)))) {
    console.log(`  ${c.class}: ${c.id}: ${c.details.join("; ")}`);
  }
  return cmp.regressions > 0 ? EXIT.failure : EXIT.ok;
}

/**
 * Build the `compare` command.
 *
 * @example
 * ```ts ignore
 * import { compareCommand } from "./compare.ts";
 * const cmd = compareCommand();
 * ```
 */
export function compareCommand() {
  return new Command("compare")
    .description(
      "Compare a run with a baseline. Every case is classified: unchanged; bits-changed " +
        "(output bits differ within tolerance: information); numeric-drift (an error metric grew " +
        "beyond the thresholds, or the case crossed its tolerance); support-drift (decision, " +
        "reasons, plan or backend changed, or the case now errors); speed-regression / " +
        "speed-improvement (Mann-Whitney U significant AND median ratio beyond the threshold); " +
        "new; removed. What changed in the environment (Deno, adapter or driver, kernel " +
        "source, harness revision, host) is attributed. Exit 1 on regressions (--fail-on), " +
        "2 on bad input (an unusable --md or --json path included).",
    )
    .argument(
      "<baseline>",
      "baseline file, baselines folder (picks the current run's device key), report.json or run folder",
    )
    .argument("<current>", "report.json, run output folder or baseline file")
    .addOption(
      new Option("--format <format>", "what to print").choices(["md", "json"] as const)
        .default("md" as const),
    )
    .option("--md <file>", "also write the Markdown report here")
    .option("--json <file>", "also write the JSON report here")
    .option("--thresholds <file>", THRESHOLDS_HELP)
    .option(
      "--fail-on <classes>",
      `drift classes that are regressions (exit 1), or none (default ${DEFAULT_FAIL_ON.join(",")})`,
      parseFailOn,
    )
    .action(async (baselineArg, currentArg, opts) => {
      if (opts.md) await checkOutputFile(opts.md, { label: "--md" });
      if (opts.json) await checkOutputFile(opts.json, { label: "--json" });
      const thresholds = opts.thresholds ? await readThresholds(opts.thresholds) : undefined;
      const current = await loadComparable(currentArg, { backend: currentBackend() });
      const base = await resolveBaselineArg(baselineArg, current);
      const report = compareBaselines(base, current, { thresholds, failOn: opts.failOn });
      const md = await writeCompareOutputs(report, { md: opts.md, json: opts.json });
      console.log(opts.format === "json" ? JSON.stringify(report, null, 2) : md);
      Deno.exitCode = report.regressions > 0 ? EXIT.failure : EXIT.ok;
    });
}
