/**
 * The digest of what a run's matrix says of its cases beyond their ids: each case's group,
 * input seed, expectation and device profile. A case id names its parameters, not these; a
 * matrix file edited between the start of a run and its `--resume`, or between two shards, would
 * otherwise put results judged by two versions of the file into one report.
 *
 * @module
 */
import { sha256Hex16 } from "../util/hash.ts";
import type { Case } from "./types.ts";

/** JSON with every object's keys sorted: the same value, the same text. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

/**
 * SHA-256 (hex, 16) of every case's id, group, seed, expectation and device profile, in id
 * order: equal for two selections of one matrix file as it was, whatever the shard.
 *
 * @example
 * ```ts
 * import { loadMatrix, selectionDigest } from "./mod.ts";
 * const { cases } = await loadMatrix("smoke");
 * (await selectionDigest(cases)).length; // 16
 * ```
 */
export function selectionDigest(cases: readonly Case[]): Promise<string> {
  const rows = [...cases]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map(caseRow);
  return sha256Hex16(canonical(rows));
}

/** What the matrix says of one case that {@link selectionDigest} and {@link caseDigest} cover. */
function caseRow(c: Case): unknown[] {
  return [c.id, c.group ?? null, c.seed, c.expect, c.deviceProfile];
}

/**
 * SHA-256 (hex, 16) of what the matrix says of one case: its id, group, seed, expectation and
 * device profile (the row {@link selectionDigest} takes of it). Recorded with each result
 * (`CaseResult.caseDigest`), so that a resume after the matrix gained cases can tell that the
 * cases it keeps are still what they were.
 *
 * @example
 * ```ts
 * import { caseDigest, loadMatrix } from "./mod.ts";
 * const { cases } = await loadMatrix("smoke");
 * (await caseDigest(cases[0])).length; // 16
 * ```
 */
export function caseDigest(c: Case): Promise<string> {
  return sha256Hex16(canonical(caseRow(c)));
}
