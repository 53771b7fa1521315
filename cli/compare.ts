/**
 * `compare`: classify every case of a run against a baseline and attribute what moved
 * (the logic, and the drift step of `run --baseline/--history`, is drift/after_run.ts).
 *
 * @module
 */
import { mdForTerminal } from "../report/md_text.ts";
import { checkOutputsApart } from "../report/output_overlap.ts";
import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import {
  checkCasesInCommon,
  checkInputExists,
  COMPARABLE_INPUTS,
  COMPARE_BASELINE_INPUTS,
  compareBaselines,
  currentBackend,
  DEFAULT_FAIL_ON,
  DEFAULT_THRESHOLDS,
  DRIFT_CLASSES,
  loadComparable,
  readThresholds,
  resolveBaselineArg,
  writeCompareOutputs,
} from "../drift/mod.ts";
import type { Baseline, CompareReport, DriftClass } from "../drift/mod.ts";
import { checkOutputFile } from "../report/output_paths.ts";
import { writeCompareHtml } from "../drift/drift_html.ts";
import { CliError, EXIT } from "./errors.ts";
import { plural } from "../util/plural.ts";

/**
 * Parse `--fail-on numeric-drift,support-drift` (class names; `none` for no class). An
 * empty value (`--fail-on ''`, `--fail-on ,`) is refused rather than read as no class:
 * counting nothing as a regression must be asked for with `none`.
 *
 * @example
 * ```ts
 * import { parseFailOn } from "./compare.ts";
 * parseFailOn("numeric-drift,support-drift"); // ["numeric-drift", "support-drift"]
 * parseFailOn("none"); // []
 * ```
 */
export function parseFailOn(value: string): DriftClass[] {
  if (value.trim() === "none") return [];
  const parts = value.split(",").map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) {
    throw new InvalidArgumentError(
      `no drift class given; use one or more of ${
        DRIFT_CLASSES.join(", ")
      } (comma-separated), or none to count no class as a regression`,
    );
  }
  if (parts.includes("none")) {
    throw new InvalidArgumentError(
      `"none" cannot be combined with drift classes (got ${JSON.stringify(value)})`,
    );
  }
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
  `${DEFAULT_THRESHOLDS.minSamples}, loadPerCpu ${DEFAULT_THRESHOLDS.loadPerCpu} (a side timed ` +
  "above this load a CPU is said to be so); see drift/thresholds.ts)";

/**
 * The console warning when both sides hold one run's measurements (the same start and device,
 * every case of the current side with the baseline's results and timing samples): `compare
 * out/run out/run`, or a run against the baseline made from it, read "No regressions" without
 * a word, a comparison in which nothing could have drifted. Null otherwise.
 *
 * @example
 * ```ts ignore
 * import { sameRunWarning } from "./compare.ts";
 * sameRunWarning(base, current, { baselineArg: "out/run", currentArg: "out/run/report.json" });
 * // "warning: out/run and out/run/report.json hold the same run (started ...) ..."
 * ```
 */
export function sameRunWarning(
  base: Pick<Baseline, "createdAt" | "deviceKey" | "cases">,
  current: Pick<Baseline, "createdAt" | "deviceKey" | "cases">,
  args: { baselineArg: string; currentArg: string },
): string | null {
  if (base.createdAt !== current.createdAt || base.deviceKey !== current.deviceKey) return null;
  const byId = new Map(base.cases.map((c) => [c.id, c]));
  const samples = (c: Baseline["cases"][number]) => JSON.stringify(c.timing?.samplesMs ?? null);
  const same = current.cases.every((c) => {
    const b = byId.get(c.id);
    return b !== undefined && b.outputDigest === c.outputDigest && samples(b) === samples(c);
  });
  if (!same) return null;
  return `warning: ${args.baselineArg} and ${args.currentArg} hold the same run (started ` +
    `${current.createdAt} on ${current.deviceKey}, the same results and timing samples): ` +
    "nothing can have drifted between them, so its verdict says nothing; compare another " +
    "run with it";
}

/**
 * The console warnings for a compared side's selected cases with no result (an interrupted
 * run, a merge missing shards): the baseline's first, then the current run's; none when both
 * sides are complete.
 *
 * @example
 * ```ts ignore
 * import { notRunWarnings } from "./compare.ts";
 * notRunWarnings(report, { base, current, baselineArg: "old.json", currentArg: "out/" });
 * // ["warning: old.json has no result for 1 of its 2 selected cases ..."]
 * ```
 */
export function notRunWarnings(
  report: Pick<CompareReport, "baseline" | "current">,
  sides: {
    base: Pick<Baseline, "scope">;
    current: Pick<Baseline, "scope">;
    baselineArg: string;
    currentArg: string;
  },
): string[] {
  const out: string[] = [];
  const lead = (name: string, missing: number, scope: number) =>
    `warning: ${name} has no result for ${missing} of its ${
      plural(scope, "selected case")
    } (an interrupted run, or a merge missing shards); ${missing === 1 ? "it is" : "they are"} `;
  const baseMissing = report.baseline.missing ?? 0;
  if (baseMissing > 0) {
    out.push(
      lead(sides.baselineArg, baseMissing, sides.base.scope.length) +
        "not run there: the current run's results for them are not compared (not counted as new)",
    );
  }
  const curMissing = report.current.missing ?? 0;
  if (curMissing > 0) {
    out.push(
      lead(sides.currentArg, curMissing, sides.current.scope.length) +
        "not run: not compared (not counted as removed)",
    );
  }
  return out;
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
        "source, harness revision, host) is attributed. Exit 1 on regressions (--fail-on; " +
        "two runs of different device keys are two devices, and by default only numeric-drift " +
        "counts there: support and speed differ by device), " +
        "2 on bad input (an unusable --md, --json or --html path, one naming an input, and two " +
        "runs with no case in common included), 3 when an output cannot be written (a full disk: " +
        "the line names the file).",
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
    .option(
      "--html <file>",
      "also write a self-contained HTML report with the drift plot (current / baseline per case)",
    )
    .option("--thresholds <file>", THRESHOLDS_HELP)
    .option(
      "--fail-on <classes>",
      `drift classes that are regressions (exit 1), or none (default ${
        DEFAULT_FAIL_ON.join(",")
      }; across two device keys numeric-drift)`,
      parseFailOn,
    )
    .action(async (baselineArg, currentArg, opts) => {
      // an empty argument failed as ": cannot read (Empty path is not allowed)", naming neither
      for (const [name, value] of [["<baseline>", baselineArg], ["<current>", currentArg]]) {
        if (value.trim() === "") {
          throw new CliError(
            `compare ${name} "": is empty; give a baseline file, a baselines folder, a ` +
              "report.json or a run folder",
            EXIT.badInput,
          );
        }
      }
      if (opts.md) await checkOutputFile(opts.md, { label: "--md" });
      if (opts.json) await checkOutputFile(opts.json, { label: "--json" });
      if (opts.html) await checkOutputFile(opts.html, { label: "--html" });
      // No output may be an input (the current report.json, a baseline) or another output.
      await checkOutputsApart([["--md", opts.md], ["--json", opts.json], ["--html", opts.html]], [
        ["<baseline>", baselineArg],
        ["<current>", currentArg],
        ["--thresholds", opts.thresholds],
      ]);
      // a missing input is named as given, <baseline> first (the current side is read first)
      await checkInputExists(baselineArg, COMPARE_BASELINE_INPUTS);
      await checkInputExists(currentArg, COMPARABLE_INPUTS);
      const thresholds = opts.thresholds ? await readThresholds(opts.thresholds) : undefined;
      const current = await loadComparable(currentArg, { backend: currentBackend() });
      const base = await resolveBaselineArg(baselineArg, current);
      // Nothing in common: "no regressions" would be a pass for a comparison never made.
      checkCasesInCommon(base, current, { base: baselineArg, current: currentArg });
      const report = compareBaselines(base, current, { thresholds, failOn: opts.failOn });
      // Both sides: a side's selected cases with no result are not compared (compare.md and
      // the summary line say both; the console said only the current side's).
      for (const warning of notRunWarnings(report, { base, current, baselineArg, currentArg })) {
        console.error(warning);
      }
      const same = sameRunWarning(base, current, { baselineArg, currentArg });
      if (same !== null) console.error(same);
      const md = await writeCompareOutputs(report, { md: opts.md, json: opts.json });
      if (opts.html) await writeCompareHtml(opts.html, report, { base, current });
      console.log(opts.format === "json" ? JSON.stringify(report, null, 2) : mdForTerminal(md));
      Deno.exitCode = report.regressions > 0 ? EXIT.failure : EXIT.ok;
    });
}
