/**
 * Distances in float32 units in the last place (ULP) between two runs' outputs: how many
 * representable float32 values lie between them. 0 means bit-identical (+0 and -0 count
 * as equal; two NaNs as equal); a NaN against a number, or an infinity against any other
 * value, is an infinite distance (the largest finite float32 read 1 ulp from +Infinity).
 *
 * @module
 */

const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);

/**
 * A float32's position on the number line as an integer: adjacent float32 values are
 * adjacent integers, -0 and +0 are both 0.
 *
 * @example
 * ```ts
 * import { orderedF32 } from "./ulp.ts";
 * orderedF32(1) - orderedF32(Math.fround(1 + 2 ** -23)); // -1
 * ```
 */
export function orderedF32(x: number): number {
  f32[0] = x;
  const bits = i32[0];
  // negative floats: sign-magnitude to two's complement order (-0 maps to 0)
  return bits >= 0 ? bits : -2147483648 - bits;
}

/**
 * The ULP distance between two float32 values.
 *
 * @example
 * ```ts
 * import { ulpDistance } from "./ulp.ts";
 * ulpDistance(1, Math.fround(1 + 2 ** -22)); // 2
 * ulpDistance(0, -0); // 0
 * ulpDistance(NaN, 1); // Infinity
 * ulpDistance(Infinity, 3.4028234663852886e38); // Infinity
 * ```
 */
export function ulpDistance(a: number, b: number): number {
  const na = Number.isNaN(a);
  const nb = Number.isNaN(b);
  if (na || nb) return na && nb ? 0 : Infinity;
  // an overflow in one runtime only is no rounding difference, whatever its neighbour
  if (a !== b && (!Number.isFinite(a) || !Number.isFinite(b))) return Infinity;
  return Math.abs(orderedF32(a) - orderedF32(b));
}

/** The largest ULP distance between two arrays, where, and how many elements differ. */
export interface UlpDiff {
  /** Largest distance (0: bit-identical up to the sign of zero and NaN payloads). */
  readonly maxUlp: number;
  /** Flat index of the largest distance (the first of equals), null when none differs. */
  readonly worstIndex: number | null;
  /** Values at the worst index: [a, b] (null when none differs). */
  readonly worstValues: readonly [number, number] | null;
  /** Elements with a distance above 0. */
  readonly differing: number;
  /** Elements compared. */
  readonly total: number;
}

/**
 * Compare two equally long float32 arrays element by element. Throws a RangeError when
 * the lengths differ.
 *
 * @example
 * ```ts
 * import { ulpDiff } from "./ulp.ts";
 * ulpDiff(new Float32Array([1, 2]), new Float32Array([1, Math.fround(2 + 2 ** -21)]));
 * // { maxUlp: 1, worstIndex: 1, worstValues: [2, 2.0000004768371582], differing: 1, total: 2 }
 * ```
 */
export function ulpDiff(a: ArrayLike<number>, b: ArrayLike<number>): UlpDiff {
  if (a.length !== b.length) {
    throw new RangeError(`cannot compare ${a.length} values with ${b.length}`);
  }
  let maxUlp = 0;
  let worstIndex: number | null = null;
  let differing = 0;
  for (let i = 0; i < a.length; i++) {
    const d = ulpDistance(a[i], b[i]);
    if (d > 0) {
      differing++;
      if (d > maxUlp) {
        maxUlp = d;
        worstIndex = i;
      }
    }
  }
  return {
    maxUlp,
    worstIndex,
    worstValues: worstIndex === null ? null : [a[worstIndex], b[worstIndex]],
    differing,
    total: a.length,
  };
}
