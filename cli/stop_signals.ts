/**
 * How a long command (`run`, `compare-runtimes`, `baseline update`) stops on a signal: the
 * first Ctrl-C (SIGINT) finishes the current case, then the reports are written; a second
 * Ctrl-C, or SIGTERM (a CI runner's time limit), abandons the current case at once, and the
 * reports are written for the cases before it. A case that hangs kept every Ctrl-C after the
 * first waiting for --case-timeout, where kill -9 would have lost the reports. SIGHUP (a
 * terminal closed, an ssh session dropped) stops as SIGTERM does, exit 129: it killed the
 * command at once with no reports written.
 *
 * @module
 */

import {
  addStopListener,
  removeStopListener,
  STOP_SIGNALS,
  stopExitCode,
  type StopSignal,
} from "../util/stop_signals.ts";

// the list of signals and their exit codes is util/stop_signals.ts's
export { addStopListener, removeStopListener, stopExitCode, type StopSignal };

/** The listeners of {@link listenForStop}, and what they have seen. */
export interface StopSignals {
  /** Aborted by the first Ctrl-C: stop after the current case. */
  readonly afterCase: AbortSignal;
  /** Aborted by a second Ctrl-C, SIGTERM or SIGHUP: abandon the current case. */
  readonly atOnce: AbortSignal;
  /** The signal that stopped the command (SIGTERM or SIGHUP once seen), or null when none came. */
  stoppedBy(): StopSignal | null;
  /** Remove the listeners. */
  dispose(): void;
}

/** Options of {@link listenForStop}. */
export interface ListenForStopOptions {
  /** Where the lines that say what each signal does go (default: stderr). */
  log?: (line: string) => void;
  /** Add the listeners to this (default: Deno's; tests pass their own). */
  listen?: {
    add(signal: StopSignal, handler: () => void): void;
    remove(signal: StopSignal, handler: () => void): void;
  };
}

/**
 * Listen for SIGINT, SIGTERM and SIGHUP as a long command stops on them (see the module's text),
 * saying on each what happens; `dispose()` removes the listeners.
 *
 * @example
 * ```ts
 * import { listenForStop } from "./stop_signals.ts";
 * const handlers = new Map<string, () => void>();
 * const lines: string[] = [];
 * const stop = listenForStop({
 *   log: (l) => lines.push(l),
 *   listen: { add: (s, h) => handlers.set(s, h), remove: (s) => handlers.delete(s) },
 * });
 * handlers.get("SIGINT")!();
 * stop.afterCase.aborted; // true
 * stop.atOnce.aborted; // false
 * handlers.get("SIGINT")!();
 * stop.atOnce.aborted; // true
 * stop.stoppedBy(); // "SIGINT"
 * stop.dispose();
 * ```
 */
export function listenForStop(options: ListenForStopOptions = {}): StopSignals {
  const log = options.log ?? ((l: string) => console.error(l));
  const listen = options.listen ?? {
    add: (s: StopSignal, h: () => void) => addStopListener(s, h),
    remove: (s: StopSignal, h: () => void) => removeStopListener(s, h),
  };
  const afterCase = new AbortController();
  const atOnce = new AbortController();
  let stoppedBy: StopSignal | null = null;
  const onInt = () => {
    stoppedBy ??= "SIGINT";
    if (afterCase.signal.aborted) {
      log("\ninterrupt again: abandoning the current case, writing the reports");
      atOnce.abort();
      return;
    }
    log(
      "\ninterrupt: finishing the current case, then writing the reports (Ctrl-C again: " +
        "at once)",
    );
    afterCase.abort();
  };
  const atOnceOn = (signal: "SIGTERM" | "SIGHUP") => () => {
    log(`\n${signal}: abandoning the current case, writing the reports`);
    stoppedBy = signal;
    atOnce.abort();
  };
  const onTerm = atOnceOn("SIGTERM");
  const onHup = atOnceOn("SIGHUP");
  const handlers: Record<StopSignal, () => void> = {
    SIGINT: onInt,
    SIGTERM: onTerm,
    SIGHUP: onHup,
  };
  for (const s of STOP_SIGNALS) listen.add(s, handlers[s]);
  return {
    afterCase: afterCase.signal,
    atOnce: atOnce.signal,
    stoppedBy: () => stoppedBy,
    dispose: () => {
      for (const s of STOP_SIGNALS) listen.remove(s, handlers[s]);
    },
  };
}

/**
 * What a command says when a signal came during its last case (or after it) and stopped
 * nothing: every case ran and the reports are whole, not marked interrupted, yet the exit is
 * the signal's (130 or 143), as `bench`'s: the same answer from `run`, `compare-runtimes`,
 * `bench` and `baseline update`, where `run` and `compare-runtimes` exited 0 as if no Ctrl-C
 * had come.
 *
 * @example
 * ```ts
 * import { stoppedAfterLastCase } from "./stop_signals.ts";
 * stoppedAfterLastCase("SIGINT", { cases: 3 });
 * // "interrupted by SIGINT during the last case or after it: it finished, all 3 cases ran ..."
 * ```
 */
export function stoppedAfterLastCase(
  signal: StopSignal,
  options: { cases: number },
): string {
  const all = options.cases === 1 ? "the 1 case" : `all ${options.cases} cases`;
  return `interrupted by ${signal} during the last case or after it: it finished, ${all} ` +
    `ran and the reports are complete (not marked interrupted); exit ${stopExitCode(signal)}`;
}
