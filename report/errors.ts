/**
 * The error thrown when a report file (results.jsonl, report.json) is missing or malformed.
 *
 * @module
 */

/**
 * A report file is missing, unreadable or malformed. The message names the file (and the
 * line, for JSONL) and what is wrong.
 *
 * @example
 * ```ts
 * import { ReportFileError } from "./errors.ts";
 * const e = new ReportFileError("out/results.jsonl", "not valid JSON", { line: 3 });
 * e.message; // "out/results.jsonl:3: not valid JSON"
 * ```
 */
export class ReportFileError extends Error {
  /** The file. */
  readonly path: string;
  /** 1-based line number (JSONL), or null. */
  readonly line: number | null;

  /**
   * The error of a report file: its message is `<path>[:<line>]: <problem>`.
   *
   * @param path the file
   * @param problem what is wrong with it
   * @param options line number and cause
   */
  constructor(path: string, problem: string, options: { line?: number; cause?: unknown } = {}) {
    const where = options.line === undefined ? path : `${path}:${options.line}`;
    super(
      `${where}: ${problem}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "ReportFileError";
    this.path = path;
    this.line = options.line ?? null;
  }
}

/**
 * An output file could not be written while a command ran (the disk or a quota full, an I/O
 * error): the machine's failure, not the input's (exit 3). The message names the file, what
 * the OS said and what was kept.
 *
 * @example
 * ```ts
 * import { OutputWriteError } from "./errors.ts";
 * const e = new OutputWriteError("out/results.jsonl", "No space left on device");
 * e.message; // "out/results.jsonl: No space left on device"
 * ```
 */
export class OutputWriteError extends Error {
  /** The file. */
  readonly path: string;

  /**
   * @param path the file
   * @param problem what went wrong, and what was kept
   * @param options the OS error
   */
  constructor(path: string, problem: string, options: { cause?: unknown } = {}) {
    super(
      `${path}: ${problem}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "OutputWriteError";
    this.path = path;
  }
}
