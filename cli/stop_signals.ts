/**
 * How a long command (`run`, `compare-runtimes`, `baseline update`) stops on a signal: the
 * first Ctrl-C (SIGINT) finishes the current case, then the reports are written; a second
 * Ctrl-C, or SIGTERM (a CI runner's time limit), abandons the current case at once, and the
 * reports are written for the cases before it. A case that hangs kept every Ctrl-C after the
 * first waiting for --case-timeout, where kill -9 would have lost the reports. SIGHUP (a
 * terminal closed, an ssh session dropped) stops as SIGTERM does, exit 129: it killed the
 * command at once with no reports written. A run upgrade-check started stops as on SIGHUP
 * when the check's pipe to its stdin closes (the check killed outright: no signal reaches the
 * side's run, in a process group of its own, and it went on alone).
 *
 * @module
 */

import {
  addStopListener,
  removeStopListener,
  STOP_SIGNALS,
  STOP_WHEN_STDIN_CLOSES,
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
  /**
   * The pipe from the process that started this command (default: stdin, unless it is a
   * terminal, where `listen` is not given; null: none). When it begins with
   * {@link STOP_WHEN_STDIN_CLOSES} (upgrade-check's side runs), its close stops the command
   * at once, as SIGHUP does (exit 129): the check is gone, killed where no signal reached
   * the side. Anything else on it is ignored.
   */
  parent?: ReadableStream<Uint8Array> | null;
}

/** Stdin's stream, unless it is a terminal or cannot be read (then null). */
function stdinUnlessTerminal(): ReadableStream<Uint8Array> | null {
  try {
    return Deno.stdin.isTerminal() ? null : Deno.stdin.readable;
  } catch {
    return null;
  }
}

/**
 * Calls `onClose` when `parent` closes after it began with {@link STOP_WHEN_STDIN_CLOSES};
 * the returned function stops watching (a pending read would keep the process alive).
 */
function watchParent(
  parent: ReadableStream<Uint8Array>,
  onClose: () => void,
): () => void {
  let reader: ReadableStreamDefaultReader<Uint8Array>;
  try {
    reader = parent.getReader();
  } catch {
    // locked: another watcher has it
    return () => {};
  }
  let disposed = false;
  (async () => {
    const decoder = new TextDecoder();
    let head = "";
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) break;
        if (head.length < STOP_WHEN_STDIN_CLOSES.length) {
          head += decoder.decode(value, { stream: true });
        }
      }
    } catch {
      // a read error is not the check's end
      return;
    }
    if (!disposed && head.startsWith(STOP_WHEN_STDIN_CLOSES)) onClose();
  })();
  return () => {
    disposed = true;
    reader.cancel().catch(() => {}).finally(() => reader.releaseLock());
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
  const parent = options.parent !== undefined
    ? options.parent
    : options.listen === undefined
    ? stdinUnlessTerminal()
    : null;
  const unwatch = parent === null ? () => {} : watchParent(parent, () => {
    log(
      "\nstdin closed: the upgrade-check that started this run has ended; abandoning the " +
        "current case, writing the reports",
    );
    stoppedBy = "SIGHUP";
    atOnce.abort();
  });
  return {
    afterCase: afterCase.signal,
    atOnce: atOnce.signal,
    stoppedBy: () => stoppedBy,
    dispose: () => {
      for (const s of STOP_SIGNALS) listen.remove(s, handlers[s]);
      unwatch();
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
