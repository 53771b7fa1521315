/**
 * Structural checks of parsed results and reports: enough to reject a file that is not
 * what it claims to be, with a message saying which field is wrong.
 *
 * @module
 */
import { CASE_STATUSES } from "./totals.ts";

const DECISIONS = ["supported", "unsupported", "invalid", "not-reached"];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * What is wrong with a value that should be a `CaseResult` (results/types.ts), or null when it looks
 * like one (the required fields and their types; optional fields are not inspected).
 *
 * @example
 * ```ts
 * import { caseResultProblem } from "./validate.ts";
 * caseResultProblem({ id: 1 }); // 'field "id" must be a non-empty string'
 * ```
 */
export function caseResultProblem(v: unknown): string | null {
  if (!isRecord(v)) return "not a JSON object";
  if (typeof v.id !== "string" || v.id === "") return 'field "id" must be a non-empty string';
  if (typeof v.status !== "string" || !(CASE_STATUSES as readonly string[]).includes(v.status)) {
    return `field "status" must be one of ${CASE_STATUSES.join(", ")} (got ${
      JSON.stringify(v.status)
    })`;
  }
  if (typeof v.decision !== "string" || !DECISIONS.includes(v.decision)) {
    return `field "decision" must be one of ${DECISIONS.join(", ")} (got ${
      JSON.stringify(v.decision)
    })`;
  }
  if (!isRecord(v.params)) return 'field "params" must be an object';
  if (!isRecord(v.expect)) return 'field "expect" must be an object';
  if (typeof v.message !== "string") return 'field "message" must be a string';
  if (typeof v.wallMs !== "number") return 'field "wallMs" must be a number';
  return null;
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === "string");
}

/**
 * What is wrong with a value that should be a `RunReport` (results/types.ts), or null when it looks
 * like one. Each result is checked with {@link caseResultProblem}.
 *
 * @example
 * ```ts
 * import { runReportProblem } from "./validate.ts";
 * runReportProblem({ version: 2 }); // "unsupported version 2 (expected 1)"
 * ```
 */
export function runReportProblem(v: unknown): string | null {
  if (!isRecord(v)) return "not a JSON object";
  if (v.version !== 1) return `unsupported version ${JSON.stringify(v.version)} (expected 1)`;
  if (typeof v.matrix !== "string") return 'field "matrix" must be a string';
  if (v.filter !== null && typeof v.filter !== "string") {
    return 'field "filter" must be a string or null';
  }
  if (v.shard !== null && typeof v.shard !== "string") {
    return 'field "shard" must be a string or null';
  }
  if (!isStringArray(v.matrixIds)) return 'field "matrixIds" must be an array of strings';
  if (!isStringArray(v.shardIds)) return 'field "shardIds" must be an array of strings';
  if (!Array.isArray(v.results)) return 'field "results" must be an array';
  for (let i = 0; i < v.results.length; i++) {
    const p = caseResultProblem(v.results[i]);
    if (p !== null) return `results[${i}]: ${p}`;
  }
  if (!isRecord(v.fingerprint)) return 'field "fingerprint" must be an object';
  if (typeof v.startedAt !== "string") return 'field "startedAt" must be a string';
  if (typeof v.endedAt !== "string") return 'field "endedAt" must be a string';
  if (!isRecord(v.totals)) return 'field "totals" must be an object';
  if (typeof v.interrupted !== "boolean") return 'field "interrupted" must be a boolean';
  return null;
}
