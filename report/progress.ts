/**
 * Progress of a run on the console: a live line on a terminal, plain lines otherwise.
 *
 * @module
 */
import type { CaseResult } from "../results/types.ts";
import { isExpectedSkip, isNotCovered } from "./totals.ts";
import { cutText, visibleControls } from "./md_text.ts";
import { plural } from "../util/plural.ts";
import { wallSeconds } from "./figures.ts";

/** Where progress goes: `Deno.stdout`, `Deno.stderr`, or anything with the same two methods. */
export interface ProgressOutput {
  /** Writes bytes; returns how many were written. */
  writeSync(p: Uint8Array): number;
  /** Whether the output is a terminal. */
  isTerminal(): boolean;
}

/**
 * A progress output that discards everything (not a terminal): for a library caller or a
 * test that runs a matrix without console progress.
 *
 * @example
 * ```ts
 * import { ProgressReporter, SILENT_PROGRESS } from "./progress.ts";
 * const p = new ProgressReporter(1, { out: SILENT_PROGRESS });
 * p.finish(); // prints nothing
 * ```
 */
export const SILENT_PROGRESS: ProgressOutput = {
  writeSync: (p: Uint8Array) => p.length,
  isTerminal: () => false,
};

/** Options of {@link ProgressReporter}. */
export interface ProgressOptions {
  /** Where to write (default `Deno.stdout`). */
  readonly out?: ProgressOutput;
  /** Force live (terminal) or plain mode (default: `out.isTerminal()`). */
  readonly live?: boolean;
  /** Clock in ms (default `performance.now`); injectable for tests. */
  readonly now?: () => number;
  /** Width of the live line (default: the console width, else 100). */
  readonly columns?: number;
  /**
   * What plain (not live) mode prints: `cases` (default), a line per finished case;
   * `failures`, a line per case that is not a pass (nor an expected skip) and a count line
   * every {@link PROGRESS_COUNT_EVERY_MS} (a nightly of thousands of cases: its failures, not
   * its passes). {@link finish}'s line either way.
   */
  readonly plain?: PlainProgress;
}

/** What plain progress prints: every case, or the failures and a periodic count. */
export type PlainProgress = "cases" | "failures";

/** How often `failures` progress prints its count line (ms). */
export const PROGRESS_COUNT_EVERY_MS = 60_000;

/**
 * The `--progress` choice as {@link ProgressOptions}: `auto` (a live line on a terminal, a line
 * per case otherwise), `cases` (a line per case, also on a terminal) or `failures` (the
 * failures and, as cases finish, a count line at most once a minute, also on a terminal).
 *
 * @example
 * ```ts
 * import { progressOptions } from "./progress.ts";
 * progressOptions("failures"); // { live: false, plain: "failures" }
 * progressOptions("auto"); // {}
 * ```
 */
export function progressOptions(mode: ProgressMode): Pick<ProgressOptions, "live" | "plain"> {
  return mode === "auto" ? {} : { live: false, plain: mode };
}

/** `run --progress`'s choices. */
export type ProgressMode = "auto" | PlainProgress;

/** `run --progress`'s choices, in its help's order. */
export const PROGRESS_MODES: readonly ProgressMode[] = ["auto", "cases", "failures"];

/**
 * Formats a duration as `m:ss` (or `h:mm:ss`).
 *
 * @example
 * ```ts
 * import { formatDuration } from "./progress.ts";
 * formatDuration(95_000); // "1:35"
 * ```
 */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return `${h > 0 ? `${h}:` : ""}${mm}:${String(r).padStart(2, "0")}`;
}

// A case the matrix expects to run that the device refused is "not covered", as the run's
// last line and summary.md count it: the progress line called it a "skip" one line above.
function statusLabel(r: CaseResult): string {
  return isNotCovered(r) ? "not covered" : isExpectedSkip(r) ? "skip" : r.status;
}

/**
 * Reports progress as cases finish. On a terminal: one live line rewritten with `\r`
 * (done/total, failures so far, elapsed, ETA from the mean time per finished case), with
 * each failure printed above it as a line of its own. Otherwise: one plain line per
 * finished case (`[12/114] pass preset=...  (0.8 s)`). {@link finish} prints a final line.
 *
 * @example
 * ```ts
 * import { ProgressReporter } from "./progress.ts";
 * import type { CaseResult } from "../results/types.ts";
 * declare const results: CaseResult[];
 * const progress = new ProgressReporter(results.length);
 * for (const r of results) progress.caseDone(r);
 * progress.finish();
 * ```
 */
export class ProgressReporter {
  /** Cases expected in total. */
  readonly total: number;
  /** Whether the live (terminal) mode is on. */
  readonly live: boolean;
  #out: ProgressOutput;
  /** The output's reader has gone (a broken pipe): nothing more is written. */
  #closed = false;
  #now: () => number;
  #columns: number;
  #start: number;
  #done = 0;
  #resumed = 0;
  #bad = 0;
  #counts: Record<string, number> = {};
  #lineShown = false;
  #encoder = new TextEncoder();
  #plain: PlainProgress;
  #lastCount: number;

  /**
   * @param total cases expected
   * @param options output, mode, clock
   */
  constructor(total: number, options: ProgressOptions = {}) {
    this.total = total;
    this.#out = options.out ?? Deno.stdout;
    this.live = options.live ?? this.#out.isTerminal();
    this.#now = options.now ?? (() => performance.now());
    this.#columns = options.columns ?? consoleColumns();
    this.#start = this.#now();
    this.#plain = options.plain ?? "cases";
    this.#lastCount = this.#start;
  }

  /** Cases finished so far. */
  get done(): number {
    return this.#done;
  }

  /** Failures so far (fail, unexpected, error). */
  get failures(): number {
    return this.#bad;
  }

  /**
   * Records a finished case and updates the display.
   *
   * @param result the case's result
   */
  caseDone(result: CaseResult): void {
    this.#done++;
    const label = statusLabel(result);
    this.#counts[label] = (this.#counts[label] ?? 0) + 1;
    const bad = result.status !== "pass";
    if (bad) this.#bad++;
    const line =
      `[${this.#done}/${this.total}] ${label} ${result.id}  (${wallSeconds(result.wallMs)} s)` +
      (bad ? `: ${consoleText(result.message)}` : "");
    if (!this.live) {
      if (this.#plain === "cases" || (bad && !isExpectedSkip(result))) this.#write(line + "\n");
      if (this.#plain === "failures" && this.#now() - this.#lastCount >= PROGRESS_COUNT_EVERY_MS) {
        this.#lastCount = this.#now();
        this.#write(`${this.#countLine()}\n`);
      }
      return;
    }
    if (bad) this.#write(`\r\x1b[K${line}\n`);
    this.#drawLive(result.id);
  }

  /**
   * Counts the cases an earlier, interrupted run finished (`run --resume`) without listing
   * them again: one line says how many there were and how many are left, and the ETA
   * is taken from the cases this run finishes.
   *
   * @param results the results already in the folder
   */
  resumed(results: readonly CaseResult[]): void {
    if (results.length === 0) return;
    const counts: Record<string, number> = {};
    for (const r of results) {
      this.#done++;
      this.#resumed++;
      const label = statusLabel(r);
      this.#counts[label] = (this.#counts[label] ?? 0) + 1;
      counts[label] = (counts[label] ?? 0) + 1;
      if (r.status !== "pass") this.#bad++;
    }
    const parts = Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(", ");
    this.#write(
      `resuming: ${results.length} of ${plural(this.total, "case")} already finished (${parts}); ` +
        `${this.total - this.#done} to run\n`,
    );
  }

  /** Clears the live line and prints the final line (counts per status and elapsed). */
  finish(): void {
    const elapsed = this.#now() - this.#start;
    const order = ["pass", "skip", "not covered", "fail", "unexpected", "error"];
    const parts = order.filter((k) => this.#counts[k]).map((k) => `${this.#counts[k]} ${k}`);
    const missing = this.total - this.#done;
    if (missing > 0) parts.push(`${missing} not run`);
    const line = `${this.#done}/${plural(this.total, "case")} in ${formatDuration(elapsed)}: ${
      parts.length ? parts.join(", ") : "nothing ran"
    }`;
    this.#write((this.#lineShown ? "\r\x1b[K" : "") + line + "\n");
    this.#lineShown = false;
  }

  /** `[done/total] N failed  m:ss elapsed  eta m:ss` (the live line's head). */
  #countLine(): string {
    const elapsed = this.#now() - this.#start;
    // Cases finished by an earlier run (resumed) took none of this run's time.
    const ran = this.#done - this.#resumed;
    const mean = ran > 0 ? elapsed / ran : 0;
    const eta = ran > 0 ? formatDuration(mean * (this.total - this.#done)) : "?";
    return `[${this.#done}/${this.total}] ${this.#bad} failed  ${
      formatDuration(elapsed)
    } elapsed  eta ${eta}`;
  }

  #drawLive(current: string): void {
    const head = `${this.#countLine()}  `;
    const room = Math.max(0, this.#columns - head.length - 1);
    const tail = current.length > room ? cutText(current, Math.max(0, room - 1)) + "…" : current;
    this.#write(`\r\x1b[K${head}${room > 0 ? tail : ""}`);
    this.#lineShown = true;
  }

  #write(text: string): void {
    if (this.#closed) return;
    const bytes = this.#encoder.encode(text);
    let off = 0;
    try {
      while (off < bytes.length) off += this.#out.writeSync(bytes.subarray(off));
    } catch (e) {
      // The reader went away (`run ... | head`): the run goes on and writes its reports, as
      // console.log goes on; only the progress lines are lost.
      if (!(e instanceof Deno.errors.BrokenPipe)) throw e;
      this.#closed = true;
    }
  }
}

/**
 * A message on one console line: line breaks folded into a space, tabs a space, other control
 * characters written as `\uXXXX` (md_text.ts {@link visibleControls}, as summary.md writes
 * them). A user backend's error with an ANSI colour code turned the terminal's text red for the
 * rest of the run, and a lone carriage return wrote the message over its id.
 */
function consoleText(message: string): string {
  return visibleControls(message.replace(/\s*[\r\n]+\s*/g, " ").replace(/\t/g, " "));
}

function consoleColumns(): number {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 100;
  }
}
