/**
 * The values a kernel holds after storing float64 data in its storage dtype: the rounding
 * the float64 references apply with their `storedAs` option (attention.ts, layer.ts), so
 * that parity measures a kernel's own arithmetic and not the rounding every kernel of that
 * dtype shares.
 *
 * It rounds to nearest, ties to even, as JavaScript's typed arrays store a number (and as
 * lavapipe and NVIDIA's driver store an f32 as f16 in a shader, by the committed baselines'
 * f16 errors). WGSL leaves that conversion's rounding to the implementation: a device that
 * rounds otherwise reads a little further from this reference.
 *
 * @module
 */
import type { Dtype } from "../adapter/types.ts";

/**
 * `t` as storage of `dtype` holds it, back in float64 (ties to even, as `Float32Array`
 * and `Float16Array` store a number; NaN stays NaN, past float16's range is ±Infinity).
 * Without a dtype, `t` itself; any dtype but "f32" and "f16" is a RangeError. The references' loops read float64 arrays, not
 * Float16Array's converted elements.
 *
 * @example
 * ```ts
 * import { stored } from "./stored.ts";
 * stored([1 / 3], "f16")[0]; // 0.333251953125
 * stored([1 / 3], undefined)[0]; // 1 / 3
 * ```
 */
export function stored<T extends ArrayLike<number>>(
  t: T,
  dtype: Dtype | undefined,
): T | Float64Array {
  if (dtype === undefined) return t;
  // any other spelling ("F16", "bf16") rounded as f32, silently
  if (dtype !== "f32" && dtype !== "f16") {
    throw new RangeError(
      `dtype must be "f32", "f16" or absent (float64), found ${JSON.stringify(dtype)}`,
    );
  }
  return Float64Array.from(dtype === "f16" ? Float16Array.from(t) : Float32Array.from(t));
}

/**
 * Round `t` in place to `dtype` (none: unchanged), as {@link stored} does.
 *
 * @example
 * ```ts
 * import { storeInPlace } from "./stored.ts";
 * const t = new Float64Array([1 / 3]);
 * storeInPlace(t, "f32");
 * t[0] === Math.fround(1 / 3); // true
 * ```
 */
export function storeInPlace(t: Float64Array, dtype: Dtype | undefined): void {
  if (dtype !== undefined) t.set(stored(t, dtype));
}
