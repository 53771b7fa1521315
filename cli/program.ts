/**
 * The `mla-harness` command-line program and its error handling: usage errors and
 * bad input exit 2 with one clear message, never a stack trace.
 *
 * @module
 */
import { Command, CommanderError } from "@commander-js/extra-typings";
import { ConfigError } from "../adapter/errors.ts";
import { CliError, EXIT, storageFullLine } from "./errors.ts";
import { closeName } from "../util/edit_distance.ts";
import { removeEmptyCreatedDirs } from "../report/output_paths.ts";
import { DeviceLostError, NoAdapterError } from "../gpu/errors.ts";
import { LayerUnsupportedError } from "../kernels/layer.ts";
import { isUserLaunchError } from "../kernels/backend_module.ts";
import { OutputWriteError, ReportFileError } from "../report/errors.ts";
import { OutputPathError } from "../report/output_paths.ts";
import { LayerInputError, SafetensorsError } from "../weights/errors.ts";
import { devicesCommand, type StrictCapsProbe } from "./devices.ts";
import { type CapsProbe, explainCommand } from "./explain.ts";
import { compileCommand } from "./compile.ts";
import { layerCommand } from "./layer.ts";
import { mergeCommand } from "./merge.ts";
import { runCommand } from "./run.ts";
import { benchCommand } from "./bench.ts";
import { CeilingNotTimedError } from "../bench/ceilings.ts";
import { DriftInputError } from "../drift/errors.ts";
import { baselineCommand } from "./baseline.ts";
import { compareCommand } from "./compare.ts";
import { historyCommand } from "./history.ts";
import { upgradeCheckCommand } from "./upgrade_check.ts";
import { compareRuntimesCommand } from "./compare_runtimes.ts";
import {
  ChromiumExitedError,
  ChromiumLaunchError,
  ChromiumNotFoundError,
  ChromiumPathError,
  ChromiumTimeoutError,
} from "../browser/chromium.ts";
import { BundleError } from "../browser/bundle.ts";
import { chromiumTimeoutFromEnv } from "../browser/chromium_gpu.ts";
import { PageCrashedError } from "../browser/page.ts";
import { checkChromiumFlag } from "./runtime_options.ts";
import {
  checkEmptyOptions,
  checkOptionLikeValues,
  refuseOptionWordsWhileParsing,
} from "./options.ts";
import { recordOptionValues, repeatedOptionNotes } from "./repeated_options.ts";
import { environmentCapsOverrides } from "../gpu/device.ts";
import { revisionFromEnv } from "../runner/fingerprint.ts";
import { isStorageFull } from "../util/fs.ts";

/** Dependencies the program needs from outside (the device probe). */
export interface ProgramDeps {
  /** Probe the default WebGPU adapter (null when there is none). */
  probeCaps: CapsProbe;
  /** Probe the default WebGPU adapter, throwing NoAdapterError when there is none. */
  probeCapsStrict: StrictCapsProbe;
}

/** The environment variables every command that plans for or runs on a device reads. */
export const ENVIRONMENT_HELP = `
Environment (for the device the harness runs on; a bad MLA_HARNESS_* value is exit 2 naming it):
  DENO_WEBGPU_BACKEND=vulkan|gl   the WebGPU backend (default: the harness picks vulkan when a
                                  Vulkan driver is installed, else gl; \`devices\` says why)
  MLA_HARNESS_SM_COUNT=<n>        the device's SMs (compute units), over the table of known GPUs
  MLA_HARNESS_DEVICE_CLASS=cpu|gpu  the device class over the rules (which kernels auto picks)
  MLA_HARNESS_TUNING=<file>       a plan-tuning file ({"knobs": {...}}, tools/tune_plan.ts writes
                                  one): knobs over the adapter's defaults for the GPU-shaped
                                  kernels' plans; explain, devices and the reports name it
  MLA_HARNESS_REVISION=<commit>   the harness revision to record where git gives none (a copy
                                  without .git: a container image, a tree sent to another
                                  machine); 7-40 hex digits, optionally -dirty
  MLA_HARNESS_CHROMIUM_TIMEOUT=<s>  with --runtime chromium: the time limit of each Chromium
                                  step outside a case (start-up, re-acquire, compile, a
                                  measurement: per 7 --reps; default 120, 0: none); past it
                                  the browser is killed and the command exits 3
  Every command checks each MLA_HARNESS_* value first, also one it does not apply (a bad
  MLA_HARNESS_CHROMIUM_TIMEOUT stops \`history\` too). \`explain --caps\` and \`--no-device\`
  decide for another device and do not apply the SM count, class and tuning (a caps file takes
  smCount, deviceClass and tuning keys).`;

/**
 * Say "(required)" in the help of each option a command cannot run without (merge --out,
 * layer --config, --input and --out): the help listed them as any other option, and only
 * leaving one out said it was required. Every command and subcommand under `cmd`.
 */
function markRequiredOptions(cmd: Command): void {
  for (const o of cmd.options) {
    if (o.mandatory && !o.description.endsWith("(required)")) {
      o.description = `${o.description} (required)`;
    }
  }
  for (const sub of cmd.commands) markRequiredOptions(sub as Command);
}

/**
 * Build the root command.
 *
 * @example
 * ```ts ignore
 * import { buildProgram } from "./program.ts";
 * await buildProgram({ probeCaps: async () => null, probeCapsStrict: probeCaps }).parseAsync(["explain", "tiny"], { from: "user" });
 * ```
 */
export function buildProgram(deps: ProgramDeps) {
  const program = new Command("mla-harness")
    .description(
      "Headless WebGPU test and benchmark harness for Multi-Latent Attention (MLA) kernels. " +
        "Exit codes: 0 success / supported; 1 parity failure, unexpected support decision or " +
        "regression; 2 bad input or usage; 3 infrastructure (no adapter, device lost) and, for " +
        "explain and layer, an unsupported case; 4 a run, merge or layer --plant-fault fault " +
        "not caught; 130 and 143 stopped by SIGINT (Ctrl-C) and SIGTERM (run, bench, " +
        "compare-runtimes, baseline update, upgrade-check); 129 stopped by SIGHUP, a terminal " +
        "closed (run, bench, compare-runtimes, baseline update: reports written as for " +
        "SIGTERM).",
    )
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText("after", ENVIRONMENT_HELP)
    .exitOverride()
    // --chromium without --runtime chromium would be ignored: refused for every command
    .hook("preAction", (_root, action) => {
      // `run --matrix a --matrix b` runs b (deno task bench --matrix X relies on it): said
      for (const note of repeatedOptionNotes(action)) console.error(note);
      checkChromiumFlag(action.name(), action.opts());
      // an empty --md "" or --caps "" would read as the option left out
      checkEmptyOptions(action);
      // run --out --resume would make a folder named --resume (commander takes any next word)
      checkOptionLikeValues(action);
      // A bad MLA_HARNESS_* value is exit 2 for every command, also where it would not be
      // applied (explain --caps, compare), rather than ignored there.
      environmentCapsOverrides();
      revisionFromEnv();
      // MLA_HARNESS_CHROMIUM_TIMEOUT too: a bad one was read only when a browser started
      // (after Deno's adapter in compare-runtimes), and ignored by every other command
      chromiumTimeoutFromEnv();
    });
  program.addCommand(runCommand().exitOverride());
  program.addCommand(mergeCommand().exitOverride());
  program.addCommand(explainCommand(deps.probeCaps).exitOverride());
  program.addCommand(devicesCommand(deps.probeCapsStrict).exitOverride());
  program.addCommand(compileCommand().exitOverride());
  program.addCommand(benchCommand().exitOverride());
  program.addCommand(layerCommand().exitOverride());
  program.addCommand(baselineCommand().exitOverride());
  program.addCommand(compareCommand().exitOverride());
  program.addCommand(historyCommand().exitOverride());
  program.addCommand(upgradeCheckCommand().exitOverride());
  program.addCommand(compareRuntimesCommand().exitOverride());
  markRequiredOptions(program);
  recordOptionValues(program);
  // layer --input --out y: refused as the words are parsed, before commander's check of the
  // required options would say --out was not given (after recordOptionValues, which reads
  // the parsers)
  refuseOptionWordsWhileParsing(program);
  return program;
}

/**
 * Errors that are one clear message (no stack trace) and the exit code each means:
 * bad input is 2, missing or lost devices are 3. The first matching class wins.
 */
const KNOWN_ERRORS: readonly [new (...args: never[]) => Error, number][] = [
  [ConfigError, EXIT.badInput],
  [ReportFileError, EXIT.badInput],
  [OutputPathError, EXIT.badInput],
  [SafetensorsError, EXIT.badInput],
  [LayerInputError, EXIT.badInput],
  [LayerUnsupportedError, EXIT.infra],
  [DriftInputError, EXIT.badInput],
  [NoAdapterError, EXIT.infra],
  // --runtime chromium: a --chromium file that cannot run (bad input), no browser (the
  // message has the install command), or it failed
  [ChromiumPathError, EXIT.badInput],
  [ChromiumNotFoundError, EXIT.infra],
  [ChromiumLaunchError, EXIT.infra],
  // a start-up, re-acquire, compile or measurement past MLA_HARNESS_CHROMIUM_TIMEOUT
  [ChromiumTimeoutError, EXIT.infra],
  // the browser, or its page's renderer, ended outside a case (a case records it as its
  // error and goes on): a lost device, as DeviceLostError; it was an internal error with
  // a stack trace, exit 1
  [ChromiumExitedError, EXIT.infra],
  [PageCrashedError, EXIT.infra],
  [BundleError, EXIT.infra],
  [DeviceLostError, EXIT.infra],
  // a ceiling kernel whose timestamps did not advance (devices --measure; bench says more)
  [CeilingNotTimedError, EXIT.infra],
  // an output that could not be written mid-run (a full disk): the machine's failure
  [OutputWriteError, EXIT.infra],
];

/**
 * The exit code of an error the CLI explains in one message, or null for an
 * unexpected (internal) error.
 *
 * @example
 * ```ts
 * import { exitCodeOf } from "./program.ts";
 * import { CliError } from "./errors.ts";
 * exitCodeOf(new CliError("bad", 2)); // 2
 * ```
 */
export function exitCodeOf(e: unknown): number | null {
  if (e instanceof CliError) return e.exitCode;
  for (const [cls, code] of KNOWN_ERRORS) if (e instanceof cls) return code;
  // a full disk or quota (a bench's records, a report, a merge): the machine's failure, said
  // in one line where it was an internal error with a stack trace, exit 1
  if (isStorageFull(e)) return EXIT.infra;
  // matrix/case_id.ts parseFilter rejects a bad --filter with a RangeError naming the key
  if (e instanceof RangeError && /^filter /.test(e.message)) return EXIT.badInput;
  // a user backend's launch() threw outside a case (layer): the user's kernel failed, as a
  // case's error is a failure in run; its message names the backend, the module and the line
  // (it was an internal error with the harness's stack)
  if (isUserLaunchError(e)) return EXIT.failure;
  return null;
}

/**
 * The refusal of `help <name>` (also `baseline help <name>`) where no such command exists,
 * or null: commander printed the whole usage to stderr, exit 2, without a word saying the
 * name was unknown (`help explian` read as a page of help and a failure).
 *
 * @example
 * ```ts ignore
 * import { buildProgram, unknownHelpTopic } from "./program.ts";
 * declare const program: ReturnType<typeof buildProgram>;
 * unknownHelpTopic(program, ["help", "explian"]); // "error: unknown command 'explian' ..."
 * ```
 */
export function unknownHelpTopic(program: Command, args: readonly string[]): string | null {
  let cmd = program;
  let path = "";
  for (const [i, word] of args.entries()) {
    const names = (c: Command) => [c.name(), ...c.aliases()];
    // a command without subcommands has no help command: its "help" is an argument
    if (word === "help" && cmd.commands.length > 0) {
      const topic = args[i + 1];
      if (topic === undefined || topic.startsWith("-")) return null;
      const known = cmd.commands.flatMap((c) => names(c as Command));
      if (known.includes(topic)) return null;
      const near = closeName(topic, known.filter((k) => k !== "help"));
      return `error: unknown command '${topic}'${path === "" ? "" : ` of ${path}`}` +
        `${near === undefined ? "" : ` (did you mean ${near}?)`}; the commands: ${
          known.filter((k) => k !== "help").join(", ")
        }`;
    }
    const sub = cmd.commands.find((c) => names(c as Command).includes(word));
    if (sub === undefined) return null;
    cmd = sub as Command;
    path = `${path} ${word}`.trim();
  }
  return null;
}

/**
 * Run the program on `args` and return the exit code (printing errors to stderr).
 *
 * @example
 * ```ts ignore
 * import { runProgram } from "./program.ts";
 * Deno.exit(await runProgram(Deno.args, { probeCaps: async () => null, probeCapsStrict: probeCaps }));
 * ```
 */
export async function runProgram(args: readonly string[], deps: ProgramDeps): Promise<number> {
  try {
    const program = buildProgram(deps);
    const unknown = unknownHelpTopic(program, args);
    if (unknown !== null) {
      console.error(unknown);
      return EXIT.badInput;
    }
    await program.parseAsync([...args], { from: "user" });
    const code = typeof Deno.exitCode === "number" ? Deno.exitCode : EXIT.ok;
    // bad input, or no adapter, leaves no empty output folder behind (one this created)
    if (code === EXIT.badInput || code === EXIT.infra) await removeEmptyCreatedDirs();
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version "errors" are successful exits; commander already printed the message.
      // A missing (sub)command prints the usage to stderr as an error (help with exit code 1
      // from commander): a usage error, exit 2, so a script missing a word does not pass.
      const okCodes = ["commander.helpDisplayed", "commander.help", "commander.version"];
      if (e.code === "commander.help" && e.exitCode !== 0) return EXIT.badInput;
      return okCodes.includes(e.code) ? EXIT.ok : EXIT.badInput;
    }
    const code = exitCodeOf(e);
    if (code !== null) {
      const message = e instanceof Error ? e.message : String(e);
      // one line naming the file and what to do, without Deno's words beside it
      console.error(`error: ${isStorageFull(e) ? storageFullLine(message) : message}`);
      // bad input, or no adapter, leaves no empty output folder behind (one this invocation
      // created)
      if (code === EXIT.badInput || code === EXIT.infra) await removeEmptyCreatedDirs();
      return code;
    }
    if (e instanceof Deno.errors.NotCapable) {
      // Deno's message names the resource and the flag ("Requires env access to "X", run
      // again with the --allow-env flag"): say so without a stack trace.
      console.error(
        `error: a permission is missing: ${e.message}. The deno.json tasks grant what each ` +
          "command needs (README: Permissions); `deno run -A main.ts ...` grants everything.",
      );
      // bad input too: an --out this invocation created and left empty goes (a bench
      // stopped by a permission it lacked left its empty folder)
      await removeEmptyCreatedDirs();
      return EXIT.badInput;
    }
    console.error(`internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    return EXIT.failure;
  }
}
