/**
 * Small shared helpers with one home each, importing nothing of the harness: SHA-256 hex
 * digests, median and quantile, atomic file writes and existence checks, near-miss names, the
 * JSON-object test, the race of work against a time limit, the seeded generator of every
 * random draw (test inputs, the step test's shuffles), a count with its noun in the right number,
 * records of one key merged with their labels joined, JSON with its non-finite numbers spelled,
 * the signals a long command stops on and their exit codes.
 *
 * @example
 * ```ts
 * import { median, sha256Hex16 } from "./mod.ts";
 * median([3, 1, 2]); // 2
 * await sha256Hex16("plan"); // 16 hex digits
 * ```
 *
 * @module
 */
export * from "./hash.ts";
export * from "./stats.ts";
export * from "./fs.ts";
export * from "./edit_distance.ts";
export * from "./is_record.ts";
export * from "./timeout.ts";
export * from "./prng.ts";
export * from "./wgpu_backends.ts";
export * from "./error_site.ts";
export * from "./plural.ts";
export * from "./merge_labels.ts";
export * from "./spelled_json.ts";
export * from "./stop_signals.ts";
