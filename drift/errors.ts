/**
 * The error of the drift layer: a baseline, report or history input that is missing or
 * not what it claims to be. The CLI maps it to exit 2.
 *
 * @module
 */

/**
 * A drift input (baseline, report, thresholds, history database) is missing or malformed.
 * The message names the file and, where it applies, the field.
 *
 * @example
 * ```ts
 * import { DriftInputError } from "./errors.ts";
 * const e = new DriftInputError("baselines/x.json", 'field "cases" must be an array');
 * e.message; // 'baselines/x.json: field "cases" must be an array'
 * ```
 */
export class DriftInputError extends Error {
  /** The file (or option) at fault. */
  readonly path: string;

  /**
   * Build the error for a missing or malformed drift input.
   *
   * @param path the file or option at fault
   * @param problem what is wrong with it
   * @param options the cause
   */
  constructor(path: string, problem: string, options: { cause?: unknown } = {}) {
    super(
      `${path}: ${problem}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "DriftInputError";
    this.path = path;
  }
}
