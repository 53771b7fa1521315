/**
 * The signals a long command stops on (SIGINT: a Ctrl-C; SIGTERM: a CI runner's time limit;
 * SIGHUP: a terminal closed, an ssh session dropped) and the exit code each gives, 128 + the
 * signal's number: one list, which `run`, `bench`, `compare-runtimes`, `baseline update`,
 * `upgrade-check` (drift/upgrade_check.ts), tools/test_runner.ts, tools/history_scale.ts and
 * tools/gl_exit_abort_repro.ts listen for and exit by,
 * where each wrote its own.
 *
 * @module
 */

/** A signal a long command stops on. */
export type StopSignal = "SIGINT" | "SIGTERM" | "SIGHUP";

/** Every signal a long command stops on, in the order they are listened for. */
export const STOP_SIGNALS: readonly StopSignal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** The exit code of a command each signal stopped: 128 + the signal's number. */
export const STOP_EXIT_CODES: Readonly<Record<StopSignal, number>> = {
  SIGINT: 130,
  SIGTERM: 143,
  SIGHUP: 129,
};

/**
 * The exit code of a command a signal came to: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP.
 *
 * @example
 * ```ts
 * import { stopExitCode } from "./stop_signals.ts";
 * stopExitCode("SIGTERM"); // 143
 * ```
 */
export function stopExitCode(signal: StopSignal): number {
  return STOP_EXIT_CODES[signal];
}

/**
 * The stop signals the platform `os` can listen for: Windows has no SIGHUP
 * (Deno.addSignalListener throws there), every other system all of {@link STOP_SIGNALS}.
 *
 * @example
 * ```ts
 * import { listenableStopSignals } from "./stop_signals.ts";
 * listenableStopSignals("windows"); // ["SIGINT", "SIGTERM"]
 * listenableStopSignals("linux"); // ["SIGINT", "SIGTERM", "SIGHUP"]
 * ```
 */
export function listenableStopSignals(os: string = Deno.build.os): readonly StopSignal[] {
  return os === "windows" ? STOP_SIGNALS.filter((s) => s !== "SIGHUP") : STOP_SIGNALS;
}

/**
 * Deno.addSignalListener, where the platform has the signal (Windows has no SIGHUP there:
 * nothing is listened for).
 *
 * @example
 * ```ts ignore
 * import { addStopListener } from "./stop_signals.ts";
 * addStopListener("SIGHUP", () => {});
 * ```
 */
export function addStopListener(signal: StopSignal, handler: () => void): void {
  if (!listenableStopSignals().includes(signal)) return;
  Deno.addSignalListener(signal, handler);
}

/**
 * Deno.removeSignalListener, as {@link addStopListener} added it.
 *
 * @example
 * ```ts ignore
 * import { removeStopListener } from "./stop_signals.ts";
 * removeStopListener("SIGHUP", () => {});
 * ```
 */
export function removeStopListener(signal: StopSignal, handler: () => void): void {
  if (!listenableStopSignals().includes(signal)) return;
  Deno.removeSignalListener(signal, handler);
}

/**
 * The line upgrade-check writes first into the stdin pipe of each side's run (drift/
 * upgrade_check.ts), which it holds open until it ends: a run whose stdin began with this
 * line stops at once, as on SIGHUP, when that pipe closes (the check gone, even by a SIGKILL
 * no signal of which reaches the side, which runs in a process group of its own).
 * A run whose stdin is anything else (a terminal, /dev/null, a CI's pipe) ignores it.
 */
export const STOP_WHEN_STDIN_CLOSES = "mla-harness: stop this run when this pipe closes\n";
