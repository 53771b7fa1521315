/**
 * The result types of a run, shared by runner/ (which produces them), report/ (which
 * writes them), drift/ (which compares them) and any reader of results.jsonl or
 * report.json: {@link CaseResult}, {@link Fingerprint}, {@link RunReport}. Types only.
 *
 * @example
 * ```ts
 * import type { CaseResult } from "./mod.ts";
 * const failed = (r: CaseResult) => r.status === "fail" || r.status === "error";
 * ```
 *
 * @module
 */
export * from "./types.ts";
