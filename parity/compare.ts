/**
 * Comparison of a computed tensor against its reference, FlashMLA-style:
 * non-finite positions must match exactly, every finite element must be within
 * `atol` or `rtol`, and whole-tensor `cos_diff` / relative L2 error catch small
 * systematic errors that hide inside a loose elementwise tolerance. Results are
 * plain JSON-serializable data with a one-line summary naming the worst index.
 *
 * All arithmetic is float64; nothing here touches files or the GPU.
 *
 * @module
 */

import type { AttentionOutputs } from "../adapter/types.ts";
import type { AttentionTolerance, ElementTolerance } from "./tolerance.ts";

/** A check that can fail; {@link CompareResult.checks} lists the failed ones. */
export type CompareCheck =
  | "length"
  | "nonfinite-mismatch"
  | "elementwise"
  | "cos_diff"
  | "norm_rel";

/** A float64 value as JSON can hold it: finite numbers as numbers, the rest spelled out. */
export type JsonNumber = number | "NaN" | "Infinity" | "-Infinity";

/** One element of the comparison: where it is, and what was got and wanted there. */
export interface ElementRef {
  /** Flat (row-major) index. */
  index: number;
  /** Multi-index, when a shape was given. */
  at?: number[];
  /** The actual value. */
  actual: JsonNumber;
  /** The expected value. */
  expected: JsonNumber;
}

/** The tolerances a comparison ran under (echoed into the result for the record). */
export interface CompareTolerance {
  /** Absolute tolerance. */
  atol: number;
  /** Relative tolerance. */
  rtol: number;
  /** Largest allowed cos_diff, when checked. */
  maxCosDiff?: number;
  /** Largest allowed relative L2 error, when checked. */
  maxNormRel?: number;
}

/** Options of {@link compare}. */
export interface CompareOptions extends CompareTolerance {
  /** Row-major shape of the expected tensor; enables multi-indices in the result. */
  shape?: readonly number[];
  /** Name printed at the start of the summary, e.g. "out" or "lse". */
  label?: string;
}

/** The outcome of {@link compare}: plain data, safe to `JSON.stringify`. */
export interface CompareResult {
  /** The label, when one was given. */
  label?: string;
  /** True when no check failed. */
  pass: boolean;
  /** The checks that failed (empty when passing). */
  checks: CompareCheck[];
  /** Tolerances used. */
  tolerance: CompareTolerance;
  /** Shape used for multi-indices, when given. */
  shape?: number[];
  /** Length of the actual array. */
  actualLength: number;
  /** Length of the expected array. */
  expectedLength: number;
  /** Elements compared: min(actualLength, expectedLength). */
  count: number;
  /** Elements that pass (matching non-finite positions count as passing). */
  passing: number;
  /** passing / count (1 when count is 0). */
  fractionPassing: number;
  /** Largest |a - e| over positions where both are finite (0 when there are none). */
  maxAbs: number;
  /** Flat index of {@link maxAbs}, or null when no position is finite in both. */
  maxAbsIndex: number | null;
  /** Multi-index of {@link maxAbs}, when a shape was given. */
  maxAbsAt?: number[];
  /** Largest |a - e| / |e| over positions where both are finite and e != 0. */
  maxRel: number;
  /** Flat index of {@link maxRel}, or null when there is no such position. */
  maxRelIndex: number | null;
  /** Multi-index of {@link maxRel}, when a shape was given. */
  maxRelAt?: number[];
  /** 1 - 2 sum(xy) / sum(x^2 + y^2) over positions finite in both (0/0 is 0). */
  cosDiff: number;
  /**
   * ||a - e||_2 / ||e||_2 over positions finite in both; 0/0 is 0, and null when the
   * reference has zero norm but the actual differs (the ratio is unbounded).
   */
  normRel: number | null;
  /** Positions where NaN / +inf / -inf of actual and expected do not match exactly. */
  nonfiniteMismatches: {
    /** How many. */
    count: number;
    /** Flat index of the first, or null. */
    firstIndex: number | null;
    /** Multi-index of the first, when a shape was given. */
    firstAt?: number[];
  };
  /** Values at the notable positions, for the summary and for reports. */
  witnesses: {
    /** The element with the largest absolute error. */
    maxAbs: ElementRef | null;
    /**
     * The element with the largest error relative to its allowance max(atol, rtol |e|):
     * the first to fail as tolerances tighten.
     */
    worst: ElementRef | null;
    /** The first non-finite mismatch. */
    firstNonfinite: ElementRef | null;
  };
  /** One line, e.g. "out: max abs err 3.2e-3 at [2,5,17] (got 0.113, want 0.116); ...". */
  summary: string;
}

/**
 * Compares `actual` with `expected` elementwise and as whole vectors.
 *
 * Checks, each reported in `checks` when it fails:
 * - `length`: the arrays differ in length (the common prefix is still compared);
 * - `nonfinite-mismatch`: NaN / +inf / -inf positions differ (a NaN where the
 *   reference is finite fails; -inf must meet -inf);
 * - `elementwise`: some finite element has |a - e| > atol AND |a - e| > rtol |e|;
 * - `cos_diff`: cos_diff > maxCosDiff (only when `maxCosDiff` is given);
 * - `norm_rel`: ||a - e|| / ||e|| > maxNormRel (only when `maxNormRel` is given).
 *
 * cos_diff is evaluated as sum((x - y)^2) / sum(x^2 + y^2), which equals
 * 1 - 2 sum(xy) / sum(x^2 + y^2) exactly in real arithmetic and avoids the
 * cancellation of the latter when x is close to y.
 *
 * Throws RangeError for invalid options (negative or non-finite tolerances, or a
 * shape whose product is not the expected length); data problems never throw.
 *
 * @example
 * ```ts
 * import { compare } from "./compare.ts";
 * const r = compare([1, 2, 3.1], [1, 2, 3], { atol: 1e-3, rtol: 1e-3, shape: [3] });
 * r.pass; // false
 * r.maxAbsIndex; // 2
 * r.summary; // "max abs err 1e-1 at [2] (got 3.1, want 3); ...; 66.6% within tol (2/3); ..."
 * ```
 */
export function compare(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  options: CompareOptions,
): CompareResult {
  const { atol, rtol, maxCosDiff, maxNormRel, shape, label } = options;
  checkTolerance("atol", atol);
  checkTolerance("rtol", rtol);
  if (maxCosDiff !== undefined) checkTolerance("maxCosDiff", maxCosDiff);
  if (maxNormRel !== undefined) checkTolerance("maxNormRel", maxNormRel);
  if (shape !== undefined) checkShape(shape, expected.length);

  const count = Math.min(actual.length, expected.length);
  let passing = 0;
  let elementFailures = 0;
  let maxAbs = 0;
  let maxAbsIndex = -1;
  let maxRel = 0;
  let maxRelIndex = -1;
  let worstRatio = -1;
  let worstIndex = -1;
  let nonfiniteCount = 0;
  let firstNonfinite = -1;
  let sumSqDiff = 0;
  let sumSqBoth = 0;
  let sumSqExpected = 0;

  for (let i = 0; i < count; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!Number.isFinite(a) || !Number.isFinite(e)) {
      // Object.is: NaN matches NaN, and +inf / -inf match only themselves.
      if (Object.is(a, e)) {
        passing++;
      } else {
        nonfiniteCount++;
        if (firstNonfinite < 0) firstNonfinite = i;
      }
      continue;
    }
    const d = Math.abs(a - e);
    const allowed = Math.max(atol, rtol * Math.abs(e));
    if (d <= allowed) passing++;
    else elementFailures++;
    const ratio = d === 0 ? 0 : d / allowed;
    if (ratio > worstRatio) {
      worstRatio = ratio;
      worstIndex = i;
    }
    if (d > maxAbs || maxAbsIndex < 0) {
      maxAbs = d;
      maxAbsIndex = i;
    }
    if (e !== 0) {
      const rel = d / Math.abs(e);
      if (rel > maxRel || maxRelIndex < 0) {
        maxRel = rel;
        maxRelIndex = i;
      }
    }
    sumSqDiff += (a - e) * (a - e);
    sumSqBoth += a * a + e * e;
    sumSqExpected += e * e;
  }

  const cosDiff = sumSqBoth === 0 ? 0 : sumSqDiff / sumSqBoth;
  const normRel = sumSqExpected === 0
    ? (sumSqDiff === 0 ? 0 : null)
    : Math.sqrt(sumSqDiff) / Math.sqrt(sumSqExpected);

  const checks: CompareCheck[] = [];
  if (actual.length !== expected.length) checks.push("length");
  if (nonfiniteCount > 0) checks.push("nonfinite-mismatch");
  if (elementFailures > 0) checks.push("elementwise");
  if (maxCosDiff !== undefined && !(cosDiff <= maxCosDiff)) checks.push("cos_diff");
  if (maxNormRel !== undefined && (normRel === null || !(normRel <= maxNormRel))) {
    checks.push("norm_rel");
  }

  const at = (i: number): number[] | undefined =>
    shape === undefined ? undefined : unravelIndex(i, shape);
  const ref = (i: number): ElementRef | null => {
    if (i < 0) return null;
    const r: ElementRef = {
      index: i,
      actual: toJsonNumber(actual[i]),
      expected: toJsonNumber(expected[i]),
    };
    const multi = at(i);
    if (multi !== undefined) r.at = multi;
    return r;
  };

  const tolerance: CompareTolerance = { atol, rtol };
  if (maxCosDiff !== undefined) tolerance.maxCosDiff = maxCosDiff;
  if (maxNormRel !== undefined) tolerance.maxNormRel = maxNormRel;

  const result: CompareResult = {
    pass: checks.length === 0,
    checks,
    tolerance,
    actualLength: actual.length,
    expectedLength: expected.length,
    count,
    passing,
    fractionPassing: count === 0 ? 1 : passing / count,
    maxAbs,
    maxAbsIndex: maxAbsIndex < 0 ? null : maxAbsIndex,
    maxRel,
    maxRelIndex: maxRelIndex < 0 ? null : maxRelIndex,
    cosDiff,
    normRel,
    nonfiniteMismatches: {
      count: nonfiniteCount,
      firstIndex: firstNonfinite < 0 ? null : firstNonfinite,
    },
    witnesses: {
      maxAbs: ref(maxAbsIndex),
      worst: ref(worstIndex),
      firstNonfinite: ref(firstNonfinite),
    },
    summary: "",
  };
  if (label !== undefined) result.label = label;
  if (shape !== undefined) {
    result.shape = [...shape];
    if (maxAbsIndex >= 0) result.maxAbsAt = unravelIndex(maxAbsIndex, shape);
    if (maxRelIndex >= 0) result.maxRelAt = unravelIndex(maxRelIndex, shape);
    if (firstNonfinite >= 0) {
      result.nonfiniteMismatches.firstAt = unravelIndex(firstNonfinite, shape);
    }
  }
  result.summary = summarize(result);
  return result;
}

/**
 * Renders the one-line summary of a result (what {@link compare} stores in
 * `summary`); useful after a result's indices were remapped.
 *
 * @example
 * ```ts
 * import { compare, summarize } from "./compare.ts";
 * const r = compare([0.113], [0.116], { atol: 1e-3, rtol: 0, label: "out" });
 * summarize(r); // "out: max abs err 3e-3 at [0] (got 0.113, want 0.116); ...; 0.0% within tol (0/1); ..."
 * ```
 */
export function summarize(result: CompareResult): string {
  const parts: string[] = [];
  const { witnesses: w } = result;
  if (result.actualLength !== result.expectedLength) {
    parts.push(
      `length mismatch: got ${result.actualLength}, want ${result.expectedLength} ` +
        `(compared first ${result.count})`,
    );
  }
  if (w.maxAbs === null) {
    parts.push(result.count === 0 ? "no elements" : "no position finite in both");
  } else {
    parts.push(`max abs err ${sci(result.maxAbs)} at ${location(w.maxAbs)} ${gotWant(w.maxAbs)}`);
  }
  if (result.maxRelIndex !== null) {
    const loc = result.maxRelAt ?? [result.maxRelIndex];
    parts.push(`max rel err ${sci(result.maxRel)} at [${loc.join(",")}]`);
  }
  parts.push(
    `${percent(result.passing, result.count)} within tol (${result.passing}/${result.count})`,
  );
  if (
    result.checks.includes("elementwise") && w.worst !== null && w.maxAbs !== null &&
    w.worst.index !== w.maxAbs.index
  ) {
    parts.push(`worst vs tol at ${location(w.worst)} ${gotWant(w.worst)}`);
  }
  if (w.firstNonfinite !== null) {
    const n = result.nonfiniteMismatches.count;
    parts.push(
      `${n} nonfinite mismatch${n === 1 ? "" : "es"}, first at ${location(w.firstNonfinite)} ` +
        gotWant(w.firstNonfinite) + noKeyHint(result.label, w.firstNonfinite),
    );
  }
  parts.push(`cos_diff ${sci(result.cosDiff)}`);
  parts.push(
    `norm_rel ${result.normRel === null ? "unbounded (zero reference)" : sci(result.normRel)}`,
  );
  if (!result.pass) parts.push(`FAILED ${result.checks.join(", ")}`);
  const line = parts.join("; ");
  return result.label === undefined ? line : `${result.label}: ${line}`;
}

/** Options of {@link compareAttention}. */
export interface CompareAttentionOptions {
  /** Tolerances of the (dtype, path) cell, e.g. from `toleranceFor`. */
  tolerance: AttentionTolerance;
  /**
   * Logical query indices to compare (the reference computed only these). The
   * expected arrays then hold either only these rows, in this order
   * ([rows.length, numHeads, vDim] and [rows.length, numHeads]), or all rows like
   * the actual ones; the compact reading wins when both lengths agree.
   */
  rows?: readonly number[];
  /** Query heads per token. */
  numHeads: number;
  /** Value width per head. */
  vDim: number;
}

/** The outcome of {@link compareAttention}. */
export interface AttentionCompareResult {
  /** True when both output and LSE pass. */
  pass: boolean;
  /** Output comparison, shape [rows, numHeads, vDim]. */
  out: CompareResult;
  /** LSE comparison, shape [rows, numHeads]. */
  lse: CompareResult;
}

/**
 * Compares attention output and LSE separately, each under its own tolerance.
 * With `rows`, only those logical query rows are compared; indices in the
 * results (flat and multi) still refer to the full actual arrays, so a failure
 * names the logical query row.
 *
 * @example
 * ```ts
 * import { compareAttention } from "./compare.ts";
 * import { toleranceFor } from "./tolerance.ts";
 * const got = { out: new Float32Array(2 * 4 * 8), lse: new Float32Array(2 * 4) };
 * const want = { out: new Float64Array(4 * 8), lse: new Float64Array(4) };
 * const r = compareAttention(got, want, {
 *   tolerance: toleranceFor("f32", "absorbed"),
 *   rows: [1],
 *   numHeads: 4,
 *   vDim: 8,
 * });
 * r.pass; // true
 * ```
 */
export function compareAttention(
  actual: AttentionOutputs,
  expected: AttentionOutputs,
  options: CompareAttentionOptions,
): AttentionCompareResult {
  const { tolerance, rows, numHeads, vDim } = options;
  checkPositiveInt("numHeads", numHeads);
  checkPositiveInt("vDim", vDim);
  const outWidth = numHeads * vDim;

  if (rows === undefined) {
    const n = expectedRows(expected, numHeads, outWidth);
    const out = compare(actual.out, expected.out, {
      ...tolerance.out,
      shape: [n, numHeads, vDim],
      label: "out",
    });
    const lse = compare(actual.lse, expected.lse, {
      ...scaledAllowance(tolerance.lse, expected.lse),
      shape: [n, numHeads],
      label: "lse",
    });
    return { pass: out.pass && lse.pass, out, lse };
  }

  for (const r of rows) {
    if (!Number.isInteger(r) || r < 0) {
      throw new RangeError(`rows must hold non-negative integers, got ${r}`);
    }
  }
  const compact = expected.out.length === rows.length * outWidth &&
    expected.lse.length === rows.length * numHeads;
  let wantOut: ArrayLike<number> = expected.out;
  let wantLse: ArrayLike<number> = expected.lse;
  if (!compact) {
    const n = expectedRows(expected, numHeads, outWidth);
    const tooHigh = rows.find((r) => r >= n);
    if (tooHigh !== undefined) {
      throw new RangeError(`row ${tooHigh} is outside the expected arrays (${n} rows)`);
    }
    wantOut = gatherRows(expected.out, rows, outWidth);
    wantLse = gatherRows(expected.lse, rows, numHeads);
  }
  const out = compare(gatherRows(actual.out, rows, outWidth), wantOut, {
    ...tolerance.out,
    shape: [rows.length, numHeads, vDim],
    label: "out",
  });
  const lse = compare(gatherRows(actual.lse, rows, numHeads), wantLse, {
    ...scaledAllowance(tolerance.lse, wantLse),
    shape: [rows.length, numHeads],
    label: "lse",
  });
  remapRows(out, rows, outWidth);
  remapRows(lse, rows, numHeads);
  return { pass: out.pass && lse.pass, out, lse };
}

/**
 * The atol and rtol an elementwise comparison runs under: the tolerance's own, with the atol
 * grown to its `largestRel` times the largest finite |value| of `expected` (the compared
 * elements) when it has one. An LSE's error grows with the scores of the whole tensor, not
 * with its own value, so an LSE near 0 in a row of large scores is allowed its neighbours'
 * error. The atol returned is the one in force (results echo it).
 *
 * @example
 * ```ts
 * import { scaledAllowance } from "./compare.ts";
 * scaledAllowance({ atol: 1e-3, rtol: 1e-4, largestRel: 2 ** -10 }, [2, -64, 5]); // { atol: 0.0625, rtol: 1e-4 }
 * scaledAllowance({ atol: 1e-3, rtol: 1e-4 }, [2, -64, 5]); // { atol: 1e-3, rtol: 1e-4 }
 * ```
 */
export function scaledAllowance(
  t: ElementTolerance,
  expected: ArrayLike<number>,
): { atol: number; rtol: number } {
  if (t.largestRel === undefined) return { atol: t.atol, rtol: t.rtol };
  let largest = 0;
  for (let i = 0; i < expected.length; i++) {
    const v = Math.abs(expected[i]);
    if (Number.isFinite(v) && v > largest) largest = v;
  }
  return { atol: Math.max(t.atol, t.largestRel * largest), rtol: t.rtol };
}

/**
 * Row-major multi-index of flat index `index` in `shape`.
 *
 * @example
 * ```ts
 * import { unravelIndex } from "./compare.ts";
 * unravelIndex(17, [2, 3, 4]); // [1, 1, 1]
 * ```
 */
export function unravelIndex(index: number, shape: readonly number[]): number[] {
  const at = new Array<number>(shape.length);
  let rest = index;
  for (let k = shape.length - 1; k >= 0; k--) {
    at[k] = rest % shape[k];
    rest = Math.floor(rest / shape[k]);
  }
  return at;
}

// ---------------------------------------------------------------------------
// helpers

function checkTolerance(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a finite non-negative number, got ${value}`);
  }
}

function checkPositiveInt(name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}

function checkShape(shape: readonly number[], length: number): void {
  let n = 1;
  for (const s of shape) {
    if (!Number.isInteger(s) || s <= 0) {
      throw new RangeError(`shape entries must be positive integers, got [${shape.join(",")}]`);
    }
    n *= s;
  }
  if (n !== length) {
    throw new RangeError(
      `shape [${shape.join(",")}] holds ${n} elements but expected has ${length}`,
    );
  }
}

/** Rows of the expected arrays, checking out and lse agree with numHeads and vDim. */
function expectedRows(expected: AttentionOutputs, numHeads: number, outWidth: number): number {
  const n = expected.lse.length / numHeads;
  if (!Number.isInteger(n) || expected.out.length !== n * outWidth) {
    throw new RangeError(
      `expected arrays disagree with numHeads ${numHeads} and vDim ${outWidth / numHeads}: ` +
        `out has ${expected.out.length} elements, lse ${expected.lse.length}`,
    );
  }
  return n;
}

/**
 * The given rows of a [rows, width] array, in order. Rows that do not fit in
 * `data` are left out, so a short actual array shows up as a length failure.
 */
function gatherRows(data: ArrayLike<number>, rows: readonly number[], width: number): Float64Array {
  const fit = rows.filter((r) => (r + 1) * width <= data.length);
  const out = new Float64Array(fit.length * width);
  fit.forEach((r, k) => {
    for (let j = 0; j < width; j++) out[k * width + j] = data[r * width + j];
  });
  return out;
}

/** Maps indices of a gathered comparison back onto the full arrays' logical rows. */
function remapRows(result: CompareResult, rows: readonly number[], width: number): void {
  const flat = (i: number): number => rows[Math.floor(i / width)] * width + (i % width);
  const multi = (at: number[]): number[] => [rows[at[0]], ...at.slice(1)];
  if (result.maxAbsIndex !== null) result.maxAbsIndex = flat(result.maxAbsIndex);
  if (result.maxRelIndex !== null) result.maxRelIndex = flat(result.maxRelIndex);
  if (result.maxAbsAt !== undefined) result.maxAbsAt = multi(result.maxAbsAt);
  if (result.maxRelAt !== undefined) result.maxRelAt = multi(result.maxRelAt);
  const nf = result.nonfiniteMismatches;
  if (nf.firstIndex !== null) nf.firstIndex = flat(nf.firstIndex);
  if (nf.firstAt !== undefined) nf.firstAt = multi(nf.firstAt);
  for (
    const w of [result.witnesses.maxAbs, result.witnesses.worst, result.witnesses.firstNonfinite]
  ) {
    if (w === null) continue;
    w.index = flat(w.index);
    if (w.at !== undefined) w.at = multi(w.at);
  }
  result.summary = summarize(result);
}

function toJsonNumber(x: number): JsonNumber {
  if (Number.isFinite(x)) return x;
  if (Number.isNaN(x)) return "NaN";
  return x > 0 ? "Infinity" : "-Infinity";
}

/**
 * Why an LSE of -Infinity is wanted where the actual one is +Infinity: a query that sees no
 * key, whose LSE FlashMLA writes as +inf and the harness (the log-sum-exp of nothing) as -inf.
 */
function noKeyHint(label: string | undefined, ref: ElementRef): string {
  return label === "lse" && ref.actual === "Infinity" && ref.expected === "-Infinity"
    ? " (a query that sees no key: its LSE is -Infinity here, +inf in FlashMLA's convention)"
    : "";
}

function location(ref: ElementRef): string {
  return `[${(ref.at ?? [ref.index]).join(",")}]`;
}

/** "(got 0.113, want 0.116)" with enough significant digits to show the difference. */
function gotWant(ref: ElementRef): string {
  const { actual: a, expected: e } = ref;
  if (typeof a !== "number" || typeof e !== "number") {
    return `(got ${String(a)}, want ${String(e)})`;
  }
  const d = Math.abs(a - e);
  const mag = Math.max(Math.abs(a), Math.abs(e));
  let digits = 3;
  if (d > 0 && mag > 0) digits = Math.ceil(Math.log10(mag / d)) + 2;
  digits = Math.min(17, Math.max(3, digits));
  return `(got ${precise(a, digits)}, want ${precise(e, digits)})`;
}

/** toPrecision without trailing zeros: 0.1130 -> 0.113, 1.200e-7 -> 1.2e-7. */
function precise(x: number, digits: number): string {
  const s = x.toPrecision(digits);
  const [mantissa, exponent] = s.split("e");
  const m = mantissa.includes(".") ? mantissa.replace(/\.?0+$/, "") : mantissa;
  return exponent === undefined ? m : `${m}e${exponent.replace("+", "")}`;
}

/** Two-significant-digit scientific notation: 3.2e-3, 4e-7, 0. */
function sci(x: number): string {
  if (x === 0) return "0";
  if (!Number.isFinite(x)) return String(x);
  return x.toExponential(1).replace(".0e", "e").replace("e+", "e");
}

/** Percentage with one decimal, floored so that any failure shows below 100%. */
function percent(passing: number, count: number): string {
  if (count === 0 || passing === count) return "100%";
  return `${(Math.floor((passing / count) * 1000) / 10).toFixed(1)}%`;
}
