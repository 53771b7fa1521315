/**
 * Structural checks of parsed results and reports: enough to reject a file that is not
 * what it claims to be, with a message saying which field is wrong.
 *
 * @module
 */
import { CASE_STATUSES } from "./totals.ts";
import { isRecord } from "../util/is_record.ts";
import { wrongFileKind } from "../adapter/file_kind.ts";

const DECISIONS = ["supported", "unsupported", "invalid", "not-reached"];

const got = (v: unknown): string => v === undefined ? "nothing" : JSON.stringify(v);

const isMeasure = (v: unknown): v is number =>
  typeof v === "number" && Number.isFinite(v) && v >= 0;

const PARITY_METRICS = ["maxAbs", "maxRel", "cosDiff"] as const;

/**
 * What is wrong with an optional parity record (`out` or `lse`) of a case result: the
 * fields drift compares (pass, and the error metrics: finite numbers >= 0), or null.
 *
 * @example
 * ```ts
 * import { parityRecordProblem } from "./validate.ts";
 * parityRecordProblem("out", { pass: true, maxAbs: "big", maxRel: 0, cosDiff: 0, normRel: 0 });
 * // 'field "out.maxAbs" must be a finite number >= 0 (got "big")'
 * ```
 */
export function parityRecordProblem(side: "out" | "lse", v: unknown): string | null {
  if (v === undefined) return null;
  if (!isRecord(v)) return `field "${side}" must be an object (a parity record) or absent`;
  if (typeof v.pass !== "boolean") {
    return `field "${side}.pass" must be true or false (got ${got(v.pass)})`;
  }
  for (const k of PARITY_METRICS) {
    if (!isMeasure(v[k])) {
      return `field "${side}.${k}" must be a finite number >= 0 (got ${got(v[k])})`;
    }
  }
  if (v.normRel !== null && v.normRel !== undefined && !isMeasure(v.normRel)) {
    return `field "${side}.normRel" must be a finite number >= 0 or null (got ${got(v.normRel)})`;
  }
  // what the reports read of it: a null headroom (an Infinity through JSON) or a record
  // without its summary was "internal error: TypeError" from merge, its reports half-written
  if (v.headroom !== undefined && !isMeasure(v.headroom)) {
    return `field "${side}.headroom" must be a finite number >= 0 or absent (got ${
      got(v.headroom)
    })`;
  }
  if (!isStringArray(v.checks)) {
    return `field "${side}.checks" must be a list of strings (got ${got(v.checks)})`;
  }
  if (typeof v.summary !== "string") {
    return `field "${side}.summary" must be a string (got ${got(v.summary)})`;
  }
  if (v.maxAbsAt !== null && !isNumberArray(v.maxAbsAt)) {
    return `field "${side}.maxAbsAt" must be a list of numbers or null (got ${got(v.maxAbsAt)})`;
  }
  if (v.worst !== undefined && !(isRecord(v.worst) && isNumberArray(v.worst.at))) {
    return `field "${side}.worst" must be an object whose "at" is a list of numbers, or absent ` +
      `(got ${got(v.worst)})`;
  }
  if (v.nonfinite !== undefined && !(isRecord(v.nonfinite) && isNumberArray(v.nonfinite.firstAt))) {
    return `field "${side}.nonfinite" must be an object whose "firstAt" is a list of numbers, ` +
      `or absent (got ${got(v.nonfinite)})`;
  }
  return null;
}

function isNumberArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === "number");
}

/**
 * What is wrong with an optional timing record of a case result: source, scope, the
 * samples and their median (finite numbers >= 0, in milliseconds), or null.
 *
 * @example
 * ```ts
 * import { timingRecordProblem } from "./validate.ts";
 * timingRecordProblem({ source: "timestamp-query", samplesMs: [1, -1], medianMs: 1 });
 * // 'field "timing.samplesMs[1]" must be a finite number >= 0 (milliseconds; got -1)'
 * ```
 */
export function timingRecordProblem(v: unknown): string | null {
  if (v === undefined) return null;
  if (!isRecord(v)) return 'field "timing" must be an object or absent';
  if (typeof v.source !== "string") return `field "timing.source" must be a string`;
  if (v.scope !== undefined && v.scope !== "all" && v.scope !== "core") {
    return `field "timing.scope" must be "all" or "core" (or absent: "all"; got ${got(v.scope)})`;
  }
  if (!Array.isArray(v.samplesMs)) {
    return `field "timing.samplesMs" must be an array of numbers (got ${got(v.samplesMs)})`;
  }
  const bad = v.samplesMs.findIndex((x) => !isMeasure(x));
  if (bad >= 0) {
    return `field "timing.samplesMs[${bad}]" must be a finite number >= 0 (milliseconds; got ${
      got(v.samplesMs[bad])
    })`;
  }
  if (!isMeasure(v.medianMs)) {
    return `field "timing.medianMs" must be a finite number >= 0 (milliseconds; got ${
      got(v.medianMs)
    })`;
  }
  if (v.warmupMs !== undefined && !isMeasure(v.warmupMs)) {
    return `field "timing.warmupMs" must be a finite number >= 0 or absent (milliseconds of ` +
      `untimed replays before the samples; got ${got(v.warmupMs)})`;
  }
  if (v.rules !== undefined && !(Number.isSafeInteger(v.rules) && (v.rules as number) > 0)) {
    return `field "timing.rules" must be a positive integer or absent (the revision of the ` +
      `timing rules the samples were taken under; got ${got(v.rules)})`;
  }
  return null;
}

/** The numbers a side of a recorded tolerance may hold (parity/tolerance.ts). */
const TOLERANCE_FIELDS = ["atol", "rtol", "maxCosDiff", "maxNormRel"] as const;

/**
 * What is wrong with an optional tolerance record of a case result (`{ out, lse }` sides of
 * parity/tolerance.ts, each with `atol`, `rtol`, `maxCosDiff`, `maxNormRel` where checked), or
 * null. Drift judges a metric against a fraction of it: a value that is not a finite number
 * >= 0 (a string edited in) was passed over for the absolute floor without a word.
 *
 * @example
 * ```ts
 * import { toleranceRecordProblem } from "./validate.ts";
 * toleranceRecordProblem({ out: { atol: 1e-4, rtol: 1e-3 }, lse: { atol: 1e-5, rtol: 0 } }); // null
 * toleranceRecordProblem({ out: { atol: "1e-4" } });
 * // 'field "tolerance.out.atol" must be a finite number >= 0 or absent (got "1e-4")'
 * ```
 */
export function toleranceRecordProblem(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (!isRecord(v)) return `field "tolerance" must be an object, null or absent (got ${got(v)})`;
  for (const side of ["out", "lse"] as const) {
    const s = v[side];
    if (s === undefined) continue;
    if (!isRecord(s)) {
      return `field "tolerance.${side}" must be an object or absent (got ${got(s)})`;
    }
    for (const k of TOLERANCE_FIELDS) {
      if (s[k] !== undefined && !isMeasure(s[k])) {
        return `field "tolerance.${side}.${k}" must be a finite number >= 0 or absent (got ${
          got(s[k])
        })`;
      }
    }
  }
  return null;
}

function optionalStringProblem(v: Record<string, unknown>, k: string): string | null {
  if (v[k] === undefined || typeof v[k] === "string") return null;
  return `field "${k}" must be a string or absent (got ${got(v[k])})`;
}

function reasonsProblem(v: unknown): string | null {
  if (v === undefined) return null;
  if (!Array.isArray(v)) return `field "reasons" must be an array or absent (got ${got(v)})`;
  const bad = v.findIndex((r) =>
    !isRecord(r) || typeof r.code !== "string" || typeof r.message !== "string"
  );
  return bad < 0
    ? null
    : `field "reasons[${bad}]" must be an object with string "code" and "message"`;
}

/**
 * What drift reads from a case result beyond the required fields: the optional backend,
 * digests, reasons, parity records, timing and tolerance; null when they are absent or well formed.
 *
 * @example
 * ```ts
 * import { caseDriftFieldsProblem } from "./validate.ts";
 * caseDriftFieldsProblem({ backend: 7 }); // 'field "backend" must be a string or absent (got 7)'
 * ```
 */
export function caseDriftFieldsProblem(v: Record<string, unknown>): string | null {
  for (const k of ["backend", "planDigest", "outputDigest"]) {
    const p = optionalStringProblem(v, k);
    if (p !== null) return p;
  }
  return reasonsProblem(v.reasons) ?? parityRecordProblem("out", v.out) ??
    parityRecordProblem("lse", v.lse) ?? timingRecordProblem(v.timing) ??
    toleranceRecordProblem(v.tolerance);
}

/**
 * What is wrong with a value that should be a `CaseResult` (results/types.ts), or null when it looks
 * like one (the required fields and their types, and the optional fields drift compares:
 * see {@link caseDriftFieldsProblem}).
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
  if (v.seed !== undefined && !Number.isSafeInteger(v.seed)) {
    return 'field "seed" must be an integer or absent';
  }
  // `run --resume` runs a case so marked again: a wrong value must not read as the mark
  if (
    v.deviceLoss !== undefined &&
    (v.deviceLoss !== true || (v.status !== "error" && v.status !== "fail"))
  ) {
    return 'field "deviceLoss" must be true on an error or fail result, or absent (got ' +
      `${JSON.stringify(v.deviceLoss)} on status ${JSON.stringify(v.status)})`;
  }
  return caseDriftFieldsProblem(v);
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === "string");
}

/**
 * The first id that occurs twice in a list: its index, the index of its first occurrence
 * and the id; null when every id is distinct.
 *
 * @example
 * ```ts
 * import { repeatedId } from "./validate.ts";
 * repeatedId(["a", "b", "a"]); // { id: "a", first: 0, at: 2 }
 * ```
 */
export function repeatedId(
  ids: readonly string[],
): { id: string; first: number; at: number } | null {
  const seen = new Map<string, number>();
  for (let i = 0; i < ids.length; i++) {
    const first = seen.get(ids[i]);
    if (first !== undefined) return { id: ids[i], first, at: i };
    seen.set(ids[i], i);
  }
  return null;
}

/**
 * What is wrong with a file format's `version` (null: 1, the one this harness writes): a
 * later version names the newer harness and what to do (`remake`, e.g. "remake it with this
 * one (baseline update)"), anything else is unsupported.
 *
 * @example
 * ```ts
 * import { versionProblem } from "./validate.ts";
 * versionProblem(1, "run it again"); // null
 * versionProblem(2, "run it again"); // "version 2, written by a newer harness (this one reads version 1): read it with that harness, or run it again"
 * versionProblem("1", "run it again"); // 'unsupported version "1" (expected 1)'
 * ```
 */
export function versionProblem(version: unknown, remake: string): string | null {
  if (version === 1) return null;
  if (typeof version === "number" && Number.isSafeInteger(version) && version > 1) {
    return `version ${version}, written by a newer harness (this one reads version 1): read ` +
      `it with that harness, or ${remake}`;
  }
  return `unsupported version ${JSON.stringify(version)} (expected 1)`;
}

/**
 * What is wrong with a value that should be a `RunReport` (results/types.ts), or null when it looks
 * like one. Another of the harness's files (a bench report, a baseline, a caps file, a model
 * config.json, ...) is named for what it is (adapter/file_kind.ts). Each result is checked
 * with {@link caseResultProblem}, and no case id may repeat.
 * `missing` (a merged report's ids without a result) may be absent, as in a run's report and
 * in reports written before it existed; so may `plantedFault`, `backend` and `configRoot`.
 *
 * @example
 * ```ts
 * import { runReportProblem } from "./validate.ts";
 * runReportProblem({ version: 0 }); // "unsupported version 0 (expected 1)"
 * ```
 */
export function runReportProblem(v: unknown): string | null {
  const other = wrongFileKind(v, "run-report");
  if (other !== null) return other;
  if (!isRecord(v)) return "not a JSON object";
  const version = versionProblem(v.version, "run its matrix again with this one");
  if (version !== null) return version;
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
  const dup = repeatedId(v.results.map((r) => (r as { id: string }).id));
  if (dup !== null) {
    return `results[${dup.at}]: id ${JSON.stringify(dup.id)} repeats results[${dup.first}] ` +
      "(each case has one result in a report; which one would count is ambiguous)";
  }
  if (!isRecord(v.fingerprint)) return 'field "fingerprint" must be an object';
  if (typeof v.startedAt !== "string") return 'field "startedAt" must be a string';
  if (typeof v.endedAt !== "string") return 'field "endedAt" must be a string';
  if (!isRecord(v.totals)) return 'field "totals" must be an object';
  if (typeof v.interrupted !== "boolean") return 'field "interrupted" must be a boolean';
  if (v.plantedFault !== undefined && (typeof v.plantedFault !== "string" || !v.plantedFault)) {
    return 'field "plantedFault" must be a fault id or absent';
  }
  if (
    v.plantedFaultClean !== undefined && (!Array.isArray(v.plantedFaultClean) ||
      !v.plantedFaultClean.every((c) =>
        isRecord(c) && typeof c.id === "string" && typeof c.reason === "string"
      ))
  ) {
    return 'field "plantedFaultClean" must be a list of { id, reason } or absent';
  }
  if (v.backend !== undefined && (typeof v.backend !== "string" || !v.backend)) {
    return 'field "backend" must be a backend id or absent (absent: the adapter chose)';
  }
  if (
    v.backendModules !== undefined &&
    (!isStringArray(v.backendModules) || v.backendModules.some((m) => m === ""))
  ) {
    return 'field "backendModules" must be the --backend-module paths or absent';
  }
  if (
    v.backendModulePaths !== undefined &&
    (!isStringArray(v.backendModulePaths) ||
      v.backendModulePaths.length !==
        (Array.isArray(v.backendModules) ? v.backendModules.length : 0))
  ) {
    return 'field "backendModulePaths" must be where each of "backendModules" is, or absent';
  }
  const barriers = barrierFindingsProblem(v.barrierFindings);
  if (barriers !== null) return barriers;
  if (v.configRoot !== undefined && (typeof v.configRoot !== "string" || !v.configRoot)) {
    return 'field "configRoot" must be a folder (run --config-root) or absent';
  }
  for (const k of ["matrixPath", "configRootPath"]) {
    if (v[k] !== undefined && (typeof v[k] !== "string" || !String(v[k]).startsWith("/"))) {
      return `field "${k}" must be an absolute path or absent`;
    }
  }
  const configs = configDigestsProblem(v.configDigests);
  if (configs !== null) return configs;
  if (v.matrixDigest !== undefined && (typeof v.matrixDigest !== "string" || !v.matrixDigest)) {
    return 'field "matrixDigest" must be a digest string or absent';
  }
  if (v.repeats !== undefined && !(Number.isSafeInteger(v.repeats) && Number(v.repeats) >= 0)) {
    return 'field "repeats" must be a whole number >= 0 or absent';
  }
  if (
    v.warmupMs !== undefined && v.warmupMs !== "auto" &&
    !(typeof v.warmupMs === "number" && Number.isFinite(v.warmupMs) && v.warmupMs >= 0)
  ) {
    return 'field "warmupMs" must be a number of ms >= 0, "auto" or absent';
  }
  if (v.maxRows !== undefined && !(Number.isSafeInteger(v.maxRows) && Number(v.maxRows) >= 1)) {
    return 'field "maxRows" must be a whole number >= 1 or absent';
  }
  if (
    v.caseTimeoutS !== undefined &&
    !(typeof v.caseTimeoutS === "number" && Number.isFinite(v.caseTimeoutS) && v.caseTimeoutS >= 0)
  ) {
    return 'field "caseTimeoutS" must be a number of seconds >= 0 (0: no limit) or absent';
  }
  const env = environmentDiffersProblem(v.environmentDiffers);
  if (env !== null) return env;
  return missingProblem(v.missing, v.results as { id: string }[]);
}

/** `RunReport.configDigests`: absent (not recorded), or config paths to digest strings. */
function configDigestsProblem(v: unknown): string | null {
  if (v === undefined) return null;
  const bad = 'field "configDigests" must be an object of config paths to digests, or absent';
  if (!isRecord(v)) return bad;
  const path = Object.keys(v).find((k) => typeof v[k] !== "string" || v[k] === "");
  return path === undefined ? null : `${bad} (${JSON.stringify(path)} has no digest string)`;
}

/** `RunReport.barrierFindings`: absent (no user module loaded), or the barrier check's findings. */
function barrierFindingsProblem(v: unknown): string | null {
  if (v === undefined) return null;
  if (!Array.isArray(v)) {
    return `field "barrierFindings" must be an array or absent (got ${got(v)})`;
  }
  const text = (x: unknown) => typeof x === "string" && x !== "";
  const i = v.findIndex((e) =>
    !isRecord(e) || !text(e.backend) || !text(e.location) || !isStringArray(e.labels) ||
    !text(e.kind) || !text(e.message)
  );
  return i < 0 ? null : `barrierFindings[${i}] must have non-empty string backend, location, ` +
    "kind and message, and labels (an array of strings)";
}

/** `RunReport.environmentDiffers`: absent, or entries of a folder, a field and two values. */
function environmentDiffersProblem(v: unknown): string | null {
  if (v === undefined) return null;
  if (!Array.isArray(v)) return 'field "environmentDiffers" must be an array or absent';
  const value = (x: unknown) => x === null || typeof x === "string";
  const i = v.findIndex((e) =>
    !isRecord(e) || typeof e.dir !== "string" || typeof e.field !== "string" || !value(e.from) ||
    !value(e.to)
  );
  return i < 0 ? null : `environmentDiffers[${i}] must have a string dir and field, and from ` +
    "and to strings or null";
}

/** `RunReport.missing`: absent (a run's report, or an older one) or distinct ids without a result. */
function missingProblem(v: unknown, results: readonly { id: string }[]): string | null {
  if (v === undefined) return null;
  if (!isStringArray(v)) {
    return `field "missing" must be an array of case ids or absent (got ${got(v)})`;
  }
  const dup = repeatedId(v);
  if (dup !== null) {
    return `missing[${dup.at}]: id ${JSON.stringify(dup.id)} repeats missing[${dup.first}]`;
  }
  const ran = new Set(results.map((r) => r.id));
  const i = v.findIndex((id) => ran.has(id));
  return i < 0 ? null : `missing[${i}]: id ${JSON.stringify(v[i])} has a result in "results"`;
}
