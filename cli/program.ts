/**
 * The `mla-harness` command-line program and its error handling: usage errors and
 * bad input exit 2 with one clear message, never a stack trace.
 *
 * @module
 */
import { Command, CommanderError } from "@commander-js/extra-typings";
import { ConfigError } from "../adapter/errors.ts";
import { CliError, EXIT } from "./errors.ts";
import { DeviceLostError, NoAdapterError } from "../gpu/errors.ts";
import { ReportFileError } from "../report/errors.ts";
import { devicesCommand, type StrictCapsProbe } from "./devices.ts";
import { type CapsProbe, explainCommand } from "./explain.ts";
import { compileCommand } from "./compile.ts";
import { mergeCommand } from "./merge.ts";
import { runCommand } from "./run.ts";

/** Dependencies the program needs from outside (the device probe). */
export interface ProgramDeps {
  /** Probe the default WebGPU adapter (null when there is none). */
  probeCaps: CapsProbe;
  /** Probe the default WebGPU adapter, throwing NoAdapterError when there is none. */
  probeCapsStrict: StrictCapsProbe;
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
        "explain, an unsupported case.",
    )
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  program.addCommand(runCommand().exitOverride());
  program.addCommand(mergeCommand().exitOverride());
  program.addCommand(explainCommand(deps.probeCaps).exitOverride());
  program.addCommand(devicesCommand(deps.probeCapsStrict).exitOverride());
  program.addCommand(compileCommand().exitOverride());
  return program;
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
    await buildProgram(deps).parseAsync([...args], { from: "user" });
    return typeof Deno.exitCode === "number" ? Deno.exitCode : EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version "errors" are successful exits; commander already printed the message.
      const okCodes = ["commander.helpDisplayed", "commander.help", "commander.version"];
      return okCodes.includes(e.code) ? EXIT.ok : EXIT.badInput;
    }
    if (e instanceof ConfigError) {
      console.error(`error: ${e.message}`);
      return EXIT.badInput;
    }
    if (e instanceof NoAdapterError) {
      console.error(`error: ${e.message}`);
      return EXIT.infra;
    }
    if (e instanceof ReportFileError) {
      console.error(`error: ${e.message}`);
      return EXIT.badInput;
    }
    if (e instanceof DeviceLostError) {
      console.error(`error: ${e.message}`);
      return EXIT.infra;
    }
    if (e instanceof RangeError && /filter/.test(e.message)) {
      console.error(`error: --filter: ${e.message}`);
      return EXIT.badInput;
    }
    if (e instanceof CliError) {
      console.error(`error: ${e.message}`);
      return e.exitCode;
    }
    console.error(`internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    return EXIT.failure;
  }
}
