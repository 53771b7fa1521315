/**
 * Parity of a full-layer run: output [rows, hidden] and LSE [rows, heads] on the
 * logical rows the float64 reference computed, under a layer tolerance.
 *
 * @module
 */
import {
  compare,
  type CompareResult,
  scaledAllowance,
  summarize,
  unravelIndex,
} from "./compare.ts";
import type { AttentionTolerance } from "./tolerance.ts";

/** The parity of a layer run against the float64 reference. */
export interface LayerParity {
  /** Both checks passed. */
  readonly pass: boolean;
  /** Logical token rows compared. */
  readonly rows: readonly number[];
  /** Output [rows, hidden]. */
  readonly out: CompareResult;
  /** LSE [rows, heads]. */
  readonly lse: CompareResult;
}

/**
 * Compare a layer result with the float64 reference on some logical rows
 * (`want` holds all rows, NaN where not computed) under a layer tolerance. The LSE's atol
 * grows to the tolerance's `largestRel` times the largest |LSE| of the compared rows.
 *
 * Positions in the results count the compared rows ([i-th compared row, column]) unless
 * `rowShape` is given: then they name the files' elements, the output's as
 * [...the token's index in `rowShape`, hidden] (`[batch, seq]` for a BSHD input, `[tokens]`
 * for a packed one) and the LSE's as [token, head].
 *
 * @example
 * ```ts
 * import { compareLayer } from "./compare_layer.ts";
 * import { layerToleranceFor } from "./tolerance.ts";
 * const r = compareLayer(
 *   { out: new Float32Array(4), lse: new Float32Array(2) },
 *   { out: new Float64Array(4), lse: new Float64Array(2) },
 *   { rows: [0, 1], hidden: 2, heads: 1, tolerance: layerToleranceFor("f32") },
 * );
 * r.pass; // true
 * ```
 */
export function compareLayer(
  got: { out: ArrayLike<number>; lse: ArrayLike<number> },
  want: { out: ArrayLike<number>; lse: ArrayLike<number> },
  o: {
    rows: readonly number[];
    hidden: number;
    heads: number;
    tolerance: AttentionTolerance;
    rowShape?: readonly number[];
  },
): LayerParity {
  const pick = (a: ArrayLike<number>, w: number) => {
    const out = new Float64Array(o.rows.length * w);
    o.rows.forEach((r, i) => {
      for (let c = 0; c < w; c++) out[i * w + c] = a[r * w + c];
    });
    return out;
  };
  const out = compare(pick(got.out, o.hidden), pick(want.out, o.hidden), {
    ...o.tolerance.out,
    shape: [o.rows.length, o.hidden],
    label: "out",
  });
  const wantLse = pick(want.lse, o.heads);
  const lse = compare(pick(got.lse, o.heads), wantLse, {
    ...scaledAllowance(o.tolerance.lse, wantLse),
    shape: [o.rows.length, o.heads],
    label: "lse",
  });
  if (o.rowShape !== undefined) {
    const shape = o.rowShape;
    toTokens(out, o.rows, o.hidden, (row) => unravelIndex(row, shape));
    toTokens(lse, o.rows, o.heads, (row) => [row]);
  }
  return { pass: out.pass && lse.pass, rows: o.rows, out, lse };
}

/**
 * Rewrites a [compared row, column] result's positions as the full arrays' ones: the flat
 * indices as [token, column]'s, the multi-indices as [...at(token), column]; and its summary.
 */
function toTokens(
  r: CompareResult,
  rows: readonly number[],
  width: number,
  at: (row: number) => number[],
): void {
  const flat = (i: number): number => rows[Math.floor(i / width)] * width + (i % width);
  const multi = (i: number): number[] => [...at(rows[Math.floor(i / width)]), i % width];
  if (r.maxAbsIndex !== null) {
    r.maxAbsAt = multi(r.maxAbsIndex);
    r.maxAbsIndex = flat(r.maxAbsIndex);
  }
  if (r.maxRelIndex !== null) {
    r.maxRelAt = multi(r.maxRelIndex);
    r.maxRelIndex = flat(r.maxRelIndex);
  }
  const nf = r.nonfiniteMismatches;
  if (nf.firstIndex !== null) {
    nf.firstAt = multi(nf.firstIndex);
    nf.firstIndex = flat(nf.firstIndex);
  }
  for (const w of [r.witnesses.maxAbs, r.witnesses.worst, r.witnesses.firstNonfinite]) {
    if (w === null) continue;
    w.at = multi(w.index);
    w.index = flat(w.index);
  }
  r.summary = summarize(r);
}
