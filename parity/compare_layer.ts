/**
 * Parity of a full-layer run: output [rows, hidden] and LSE [rows, heads] on the
 * logical rows the float64 reference computed, under a layer tolerance.
 *
 * @module
 */
import { compare, type CompareResult } from "./compare.ts";
import type { AttentionTolerance, ElementTolerance } from "./tolerance.ts";

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
  o: { rows: readonly number[]; hidden: number; heads: number; tolerance: AttentionTolerance },
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
    ...lseTolerance(o.tolerance.lse, wantLse),
    shape: [o.rows.length, o.heads],
    label: "lse",
  });
  return { pass: out.pass && lse.pass, rows: o.rows, out, lse };
}

/**
 * The LSE's atol and rtol for one comparison: the atol grows to `largestRel` times the
 * largest finite |LSE| of the reference's compared rows, when the tolerance has one. The
 * result echoes the atol in force.
 */
function lseTolerance(
  t: ElementTolerance,
  want: ArrayLike<number>,
): { atol: number; rtol: number } {
  if (t.largestRel === undefined) return { atol: t.atol, rtol: t.rtol };
  let largest = 0;
  for (let i = 0; i < want.length; i++) {
    const v = Math.abs(want[i]);
    if (Number.isFinite(v) && v > largest) largest = v;
  }
  return { atol: Math.max(t.atol, t.largestRel * largest), rtol: t.rtol };
}
