/**
 * Parity of a full-layer run: output [rows, hidden] and LSE [rows, heads] on the
 * logical rows the float64 reference computed, under a layer tolerance.
 *
 * @module
 */
import { compare, type CompareResult } from "./compare.ts";
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
 * (`want` holds all rows, NaN where not computed) under a layer tolerance.
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
  const lse = compare(pick(got.lse, o.heads), pick(want.lse, o.heads), {
    ...o.tolerance.lse,
    shape: [o.rows.length, o.heads],
    label: "lse",
  });
  return { pass: out.pass && lse.pass, rows: o.rows, out, lse };
}
