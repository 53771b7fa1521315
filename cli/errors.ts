/**
 * Exit codes and the CLI's error type. Documented in `--help` and the README.
 *
 * @module
 */
import { STOP_EXIT_CODES } from "../util/stop_signals.ts";

/** Process exit codes of the harness. */
export const EXIT = {
  /** Everything passed / the case is supported. */
  ok: 0,
  /** A parity failure, an unexpected support decision or a regression. */
  failure: 1,
  /** Bad input or usage. */
  badInput: 2,
  /** Infrastructure: no adapter, device lost repeatedly; for `explain`, unsupported. */
  infra: 3,
  /**
   * `run --plant-fault` (and `merge` of its shards) where no case failed a parity check (some
   * passed with it, or errored), `layer --plant-fault` whose check passed: the fault slipped
   * through the checks (a caught fault is 1, as any failing case).
   */
  faultUncaught: 4,
} as const;

/** Exit code of a run or bench stopped by SIGINT (128 + 2). */
export const EXIT_SIGINT: number = STOP_EXIT_CODES.SIGINT;
/** Exit code of a run or bench stopped by SIGTERM (128 + 15). */
export const EXIT_SIGTERM: number = STOP_EXIT_CODES.SIGTERM;
/** Exit code of a run stopped by SIGHUP (128 + 1): its terminal closed, its ssh session dropped. */
export const EXIT_SIGHUP: number = STOP_EXIT_CODES.SIGHUP;

/**
 * An error the CLI prints as one message (no stack trace) and exits with.
 *
 * @example
 * ```ts
 * import { CliError, EXIT } from "./errors.ts";
 * const e = new CliError("--dtype: bf17 must be f32 or f16", EXIT.badInput);
 * e.exitCode; // 2
 * ```
 */
export class CliError extends Error {
  /** The exit code to use. */
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/**
 * The line a full disk (or quota) is said in, from the OS error's message: the file it names
 * and what to do, where Deno's own text stood beside the harness's ("No space left on device
 * (os error 28): the disk (or a quota) is full; ...").
 *
 * @example
 * ```ts
 * import { storageFullLine } from "./errors.ts";
 * storageFullLine("out/run.json: No space left on device (os error 28)");
 * // "out/run.json: the disk (or a quota) is full; free space and run the command again"
 * ```
 */
export function storageFullLine(message: string): string {
  const what = "the disk (or a quota) is full; free space and run the command again";
  const text = message.replace(/\s*\(os error \d+\)\s*$/, "").trim();
  const os = /^(?:(.*):\s*)?(?:no space left on device|disk quota exceeded)$/i.exec(text);
  // a message of the harness's own that says more than the OS error: kept whole
  if (os === null) return `${text}: ${what}`;
  return os[1] ? `${os[1]}: ${what}` : what;
}
