/**
 * `upgrade-check`: the same matrix under two Deno versions or two git revisions, then the
 * compare report of the second against the first.
 *
 * @module
 */
import { mdForTerminal } from "../report/md_text.ts";
import {
  BACKEND_MODULE_HELP,
  checkBackendId,
  collect,
  loadBackendModuleOptions,
} from "./backend_options.ts";
import { Command } from "@commander-js/extra-typings";
import { isAbsolute, resolve as resolvePath } from "node:path";
import { DEFAULT_MAX_CASES, matrixFileOf } from "../matrix/expand.ts";
import { pathExists } from "../util/fs.ts";
import {
  checkDenoVersionsOnNpm,
  checkUpgradeOutputs,
  COMPARE_FILES,
  compareSummaryLine,
  DriftInputError,
  missingProgram,
  precheckUpgradeSelection,
  readThresholds,
  upgradeCheck,
  UpgradeInterrupted,
  upgradeMode,
} from "../drift/mod.ts";
import { checkRuntimeCombination } from "./runtime_options.ts";
import {
  CONFIG_ROOT_HELP,
  MAX_CASES_HELP,
  parseFilterOption,
  parsePositiveInt,
  parseRepeats,
  refuseBenchMatrix,
  REPEATS_HELP,
} from "./options.ts";
import { CliError, EXIT } from "./errors.ts";
import { stopExitCode } from "../util/stop_signals.ts";
import { parseFailOn, THRESHOLDS_HELP } from "./compare.ts";
import { writeCompareOutputs } from "../drift/after_run.ts";
import { DEFAULT_FAIL_ON, loadComparable } from "../drift/mod.ts";
import { writeCompareHtml } from "../drift/drift_html.ts";
import { appendStepSummary } from "../report/markdown.ts";
import { parseRuntimeSpec, runtimeSpecLabel } from "../drift/runtime_spec.ts";
import {
  checkOutputFile,
  prepareOutputDir,
  refuseRunFolder,
  removeEmptyCreatedDirs,
} from "../report/output_paths.ts";

// The two sides' runs, for the drift plot's ratios of metrics that did not drift (the plot
// shows the drifted ones alone when the runs are not there).
async function sides(out: string) {
  try {
    return {
      base: await loadComparable(`${out}/from`),
      current: await loadComparable(`${out}/to`),
    };
  } catch {
    return {};
  }
}

/**
 * Appends to `$GITHUB_STEP_SUMMARY` (when set) that the check stopped without a comparison,
 * and why: the compare report it appends on success is not there.
 */
async function summarizeFailure(
  opts: { from?: string; to?: string; fromRef?: string; toRef?: string },
  failure: Error,
): Promise<void> {
  // the labels a successful check's headline gives its sides ("deno 2.9.5", "chromium",
  // "working tree", "ref v1"): a failed one read "2.9.5 → 99.0.0" as typed
  const side = (runtime: string | undefined, ref: string | undefined) => {
    if (runtime === undefined) return ref === "." ? "working tree" : `ref ${ref}`;
    try {
      return runtimeSpecLabel(parseRuntimeSpec(runtime, "--from"));
    } catch {
      return runtime.trim(); // not a runtime spec: the failure says so, the headline as typed
    }
  };
  const code = failure instanceof CliError
    ? failure.exitCode
    : failure instanceof DriftInputError
    ? EXIT.badInput
    : undefined;
  await appendStepSummary(
    `## upgrade-check: ${side(opts.from, opts.fromRef)} → ${side(opts.to, opts.toRef)}\n\n` +
      `**Not compared**${code === undefined ? "" : ` (exit ${code})`}: ${failure.message}\n`,
  );
}

async function requireRun(command: string): Promise<void> {
  const s = await Deno.permissions.query({ name: "run", command });
  if (s.state !== "granted") {
    throw new CliError(
      `upgrade-check starts subprocesses (${command}); run it with all permissions, e.g. ` +
        "`deno run -A main.ts upgrade-check ...` (the harness task lets it start only git, sh and deno)",
      EXIT.badInput,
    );
  }
}

/**
 * What upgrade-check says of words no option took (it takes no positional arguments):
 * the words, that each side is one option with one value, and, where one side's option is
 * given without its pair, the pair with the first word (`--from-ref X HEAD`: `--to-ref HEAD`).
 *
 * @example
 * ```ts
 * import { strayWordsMessage } from "./upgrade_check.ts";
 * strayWordsMessage(["HEAD"], { fromRef: "v1" });
 * // 'upgrade-check takes no positional arguments, but was given "HEAD" (--to-ref HEAD, ...'
 * ```
 */
export function strayWordsMessage(
  words: readonly string[],
  opts: { from?: string; to?: string; fromRef?: string; toRef?: string },
): string {
  const [first] = words;
  const pair = opts.fromRef !== undefined && opts.toRef === undefined
    ? "--to-ref"
    : opts.from !== undefined && opts.to === undefined
    ? "--to"
    : undefined;
  const hint = pair === undefined ? "" : ` (${pair} ${first}, the candidate side?)`;
  return `upgrade-check takes no positional arguments, but was given ${
    words.map((w) => `"${w}"`).join(", ")
  }${hint}: each side is one option with one value, --from <runtime> and --to <runtime> ` +
    "(Deno versions or chromium) or --from-ref <rev> and --to-ref <rev> (git revisions), " +
    "e.g. `upgrade-check --from-ref HEAD~1 --to-ref HEAD`; quote a --filter that has spaces " +
    "or ';' (upgrade-check --help lists the options)";
}

/**
 * Build the `upgrade-check` command.
 *
 * @example
 * ```ts ignore
 * import { upgradeCheckCommand } from "./upgrade_check.ts";
 * const cmd = upgradeCheckCommand();
 * ```
 */
export function upgradeCheckCommand() {
  return new Command("upgrade-check")
    .description(
      "Is this upgrade safe for our kernels? Runs the same matrix under two Deno versions " +
        "(--from/--to, each fetched from npm with `npx --yes deno@X`, DENO_TLS_CA_STORE=system,mozilla " +
        "set for them; a version `npm view deno versions` does not list is exit 2 before " +
        "anything runs, naming the nearest ones, and where npm cannot be asked a line says so and " +
        "the check goes on) or two git revisions of the harness and kernels (--from-ref/--to-ref, each " +
        "checked out with `git worktree add` into a temporary folder and removed afterwards), " +
        "one after the other, then prints the compare report of the second against the first " +
        "(also in <out>/compare.md and <out>/compare.json, and appended to $GITHUB_STEP_SUMMARY " +
        "when set, in place of the sides' run summaries; a check that stops without a " +
        "comparison appends why there). Needs run permission: --from/--to " +
        "start npm and npx, so `deno run -A main.ts upgrade-check ...`; --from-ref/--to-ref start git " +
        "and deno, which `deno task harness` allows. Exit 1 on regressions, or a --backend " +
        "that ran none of the cases expected to run on a side (as run fails), 2 on bad input " +
        "(checked before any side starts: --matrix and --filter as run checks them with " +
        "--from/--to, and a Deno version npm does not list; with --from-ref/--to-ref the filter's shape, that each revision exists " +
        "and has the matrix and the --config-root folder (a relative --matrix file or --config-root " +
        "is read in each revision's checkout, an absolute one on disk), and run's full check " +
        "where a revision selects a bundled " +
        "matrix's cases with this checkout's matrix/ code, each revision's run checking the " +
        "filter's keys and values otherwise; --html against the check's own outputs; after " +
        "both sides: two runs with no case in common, nothing compared), 3 when " +
        "a side's run failed, npx (Deno versions) or git (revisions) is not on PATH, or an " +
        "output cannot be written (a full disk: the line names the file), 130 / " +
        "143 when stopped by SIGINT / SIGTERM, 129 by SIGHUP (the side's run, in a process group of its " +
        "own, is passed the signal once and waited for, the worktrees removed, no comparison " +
        "written; a check killed outright, SIGKILL, leaves no run behind: the side's run stops " +
        "when its stdin, a pipe from the check, closes).",
    )
    .option(
      "--from <runtime>",
      "runtime of the baseline side: a Deno version (2.9.5 or deno@2.9.5), chromium, or " +
        "chromium:<path>",
    )
    .option(
      "--to <runtime>",
      "runtime of the candidate side, e.g. 2.9.6, chromium or chromium:/opt/chrome-beta/chrome " +
        "(deno@X against chromium: a port check)",
    )
    .option("--from-ref <rev>", "git revision of the baseline side")
    .option(
      "--to-ref <rev>",
      "git revision of the candidate side; `.` is this checkout as it is (uncommitted edits " +
        "and untracked files included: a kernel being changed), run here with no worktree",
    )
    .option("--matrix <name|file>", "bundled matrix or JSON file", "smoke")
    .option("--filter <query>", "select cases, e.g. 'preset=tiny;dtype=f32'", parseFilterOption)
    .option(
      "--max-cases <n>",
      MAX_CASES_HELP,
      parsePositiveInt,
      DEFAULT_MAX_CASES,
    )
    .option("--config-root <dir>", CONFIG_ROOT_HELP)
    .option(
      "--repeats <n>",
      REPEATS_HELP,
      parseRepeats,
      10,
    )
    .option(
      "--rounds <n>",
      "rounds per side, alternated from/to/from/to and pooled (3 on a loaded machine: both " +
        "sides then see the same machine states)",
      parsePositiveInt,
      1,
    )
    .option("--max-rows <n>", "query rows the float64 reference computes at most", parsePositiveInt)
    .option("--out <dir>", "output folder (from/, to/, compare.md, compare.json)", "out/upgrade")
    .option("--thresholds <file>", THRESHOLDS_HELP)
    .option(
      "--fail-on <classes>",
      `drift classes that are regressions (exit 1), or none (default ${DEFAULT_FAIL_ON.join(",")})`,
      parseFailOn,
    )
    .option("--json", "print the JSON report instead of Markdown")
    .option("--html <file>", "also write a self-contained HTML report with the drift plot")
    .option("--backend <id>", "run every case on this backend on both sides")
    .option("--backend-module <path>", BACKEND_MODULE_HELP, collect, [] as string[])
    // a stray word is refused below, naming what would be valid (commander's own refusal
    // said only "too many arguments")
    .allowExcessArguments()
    .action(async (opts, cmd) => {
      if (cmd.args.length > 0) {
        throw new CliError(strayWordsMessage(cmd.args, opts), EXIT.badInput);
      }
      // a bench matrix's name read as a file that cannot be read ("readfile 'headline'")
      await refuseBenchMatrix(opts.matrix, "upgrade-check");
      // A side in Chromium bundles each module for its page: one given by a remote URL is
      // refused here, as `run --runtime chromium` refuses it (it was that side's run's exit 2,
      // after the other side had run).
      for (const [flag, spec] of [["--from", opts.from], ["--to", opts.to]] as const) {
        if (spec?.trim().startsWith("chromium")) {
          checkRuntimeCombination("chromium", {
            backendModules: opts.backendModule,
            command: `upgrade-check ${flag} ${spec.trim()}`,
          });
        }
      }
      // Checked here (exit 2 on a broken module), then loaded again by each side's run.
      const modules = await loadBackendModuleOptions(opts.backendModule);
      if (opts.backend !== undefined) checkBackendId(opts.backend);
      for (const spec of [opts.from, opts.to]) {
        if (spec === undefined) continue;
        // a Deno version runs through npx; a chromium side through this Deno
        await requireRun(spec.trim().startsWith("chromium") ? Deno.execPath() : "npx");
      }
      if (opts.fromRef !== undefined || opts.toRef !== undefined) {
        await requireRun("git");
        await requireRun(Deno.execPath());
      }
      // both pairs, or neither, is exit 2 (not a failed side, 3); an unusable --out too
      const mode = upgradeMode(opts);
      // --from/--to run this checkout's harness in the repository: a relative matrix file
      // that is there where the command was given is that one, as `run` reads it (it was
      // looked for in the repository: "unreadable matrix <repo>/my.json"). Two revisions
      // read a relative file of each revision's checkout.
      if (
        mode === "versions" && matrixFileOf(opts.matrix) !== undefined &&
        !isAbsolute(opts.matrix) && await pathExists(opts.matrix)
      ) {
        opts.matrix = resolvePath(opts.matrix);
      }
      // likewise --config-root, which bounds that matrix's config paths
      if (mode === "versions" && opts.configRoot !== undefined && !isAbsolute(opts.configRoot)) {
        opts.configRoot = resolvePath(opts.configRoot);
      }
      // a bad --matrix or --filter is exit 2 here, as run gives it, not after a Deno download
      // (revisions: what both revisions agree on, before any worktree is made)
      await precheckUpgradeSelection(opts);
      // a Deno version npm does not have is exit 2 now, not when its side runs (after the
      // other side's minutes); offline, a line says it could not be checked
      await checkDenoVersionsOnNpm(opts);
      // a run's folder: its compare.md and compare.json (run --baseline) would be replaced
      await refuseRunFolder(
        opts.out,
        "whose compare.md and compare.json (run --baseline) upgrade-check would replace, and " +
          "whose run.json would stand beside its from/ and to/ runs; give a new folder",
      );
      await prepareOutputDir(opts.out, { label: "--out" });
      // --html may not overwrite compare.md or a side's report.json, nor any output an input
      await checkUpgradeOutputs({
        out: opts.out,
        rounds: opts.rounds,
        html: opts.html,
        thresholds: opts.thresholds,
        matrix: opts.matrix,
        backendModules: opts.backendModule,
      });
      // after --out exists: an --html naming it is a folder
      if (opts.html) await checkOutputFile(opts.html, { label: "--html" });
      const thresholds = opts.thresholds ? await readThresholds(opts.thresholds) : undefined;
      // without npx or git the first side would stop with an OS error; say which and why
      const missing = await missingProgram(opts);
      if (missing !== null) {
        await removeEmptyCreatedDirs();
        throw new CliError(missing, EXIT.infra);
      }
      // an earlier check's page there would read as this check's when a side fails (upgradeCheck
      // removes the earlier compare.md and compare.json likewise)
      if (opts.html) {
        await Deno.remove(opts.html).catch((e) => {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
        });
      }
      let result;
      try {
        result = await upgradeCheck({
          from: opts.from,
          to: opts.to,
          fromRef: opts.fromRef,
          toRef: opts.toRef,
          matrix: opts.matrix,
          filter: opts.filter,
          // only where given: a revision's run before --max-cases (400bb47) refused it, so
          // the default passed on made every check against such a revision exit 2
          maxCases: cmd.getOptionValueSource("maxCases") === "cli" ? opts.maxCases : undefined,
          configRoot: opts.configRoot,
          backendModules: modules.map((m) => m.url),
          backend: opts.backend,
          repeats: opts.repeats,
          rounds: opts.rounds,
          maxRows: opts.maxRows,
          out: opts.out,
          thresholds,
          failOn: opts.failOn,
        });
      } catch (e) {
        // bad input (exit 2) keeps its class; the "upgrade-check: " prefix is a failed side
        const failure = e instanceof DriftInputError
          ? e
          : e instanceof UpgradeInterrupted
          ? new CliError(
            e.message.slice("upgrade-check: ".length),
            stopExitCode(e.signal),
          )
          : e instanceof Error && e.message.startsWith("upgrade-check: ")
          ? new CliError(e.message.slice("upgrade-check: ".length), EXIT.infra)
          : e;
        // the job's summary says the check did not compare (the sides' runs write none there,
        // so a failed check left the step's summary empty, as if it had not run)
        if (failure instanceof Error) await summarizeFailure(opts, failure);
        throw failure;
      }
      const { report, labels } = result;
      const title = `upgrade-check: ${labels[0]} → ${labels[1]}`;
      const md = await writeCompareOutputs(report, {
        md: `${opts.out}/${COMPARE_FILES.md}`,
        json: `${opts.out}/${COMPARE_FILES.json}`,
        // the check's verdict, not its sides' run summaries (their runs get it empty)
        stepSummary: true,
      }, { title });
      if (opts.html) await writeCompareHtml(opts.html, report, { title, ...await sides(opts.out) });
      console.log(opts.json ? JSON.stringify(report, null, 2) : mdForTerminal(md));
      console.error(compareSummaryLine(report));
      const none = result.backendRanNothing ?? [];
      if (none.length > 0) {
        console.error(
          `error: --backend ${opts.backend} ran none of the cases expected to run on ${
            none.length === 1 ? `the ${none[0]} side` : `both sides (${none.join(", ")})`
          } (the side's run said why, above): nothing of it was compared there, so the ` +
            "check fails",
        );
      }
      Deno.exitCode = report.regressions > 0 || none.length > 0 ? EXIT.failure : EXIT.ok;
    });
}
