/**
 * RoPE applied in float64 on the CPU: the reference rotation of the decoupled
 * `q_pe` / `k_pe` slices. Angles are formed here as `position * invFreq[i]` in
 * float64; which channels pair comes from `ropePairs` (adapter/rope.ts): pair i =
 * (a, b) becomes `(a cos - b sin, a sin + b cos)` at angle `position * invFreq[i]`,
 * with cos and sin both multiplied by the spec's `ropeCosSinScale`.
 *
 * @module
 */
import { ropePairs } from "../adapter/rope.ts";
import type { MlaSpec, RopePairing } from "../adapter/types.ts";
import { checkOptions, checkRowList, checkTensor, shown } from "./spec_check.ts";

/** The RoPE parameters of a rotation (see {@link ropeParams} to take them from a spec). */
export interface RopeParams {
  /** Inverse frequencies, one per pair (rope width = 2 * length). */
  readonly invFreq: readonly number[];
  /** Which channels pair. */
  readonly pairing: RopePairing;
  /** Multiplier on cos and sin (default 1). */
  readonly cosSinScale?: number;
}

const pairCache = new Map<string, [number, number][]>();

/** `ropePairs` of the adapter, memoized per (width, pairing). */
function pairsOf(dim: number, pairing: RopePairing): [number, number][] {
  const key = `${dim}:${pairing}`;
  let pairs = pairCache.get(key);
  if (!pairs) {
    // any other spelling ("inter", "NeoX") rotated silently as neox
    if (pairing !== "interleaved" && pairing !== "neox") {
      throw new RangeError(
        `pairing must be "interleaved" or "neox", found ${JSON.stringify(pairing)}`,
      );
    }
    pairs = ropePairs(dim, pairing);
    pairCache.set(key, pairs);
  }
  return pairs;
}

/** Options of {@link applyRope}. */
export interface ApplyRopeOptions extends RopeParams {
  /** Heads per row: the tensor is [rows, heads, ropeDim] (default 1: [rows, ropeDim]). */
  readonly heads?: number;
  /** Only rotate these rows; the others are copied unchanged (default: all rows). */
  readonly rows?: readonly number[];
}

/** Options of {@link rotateVector}. */
export interface RotateVectorOptions extends RopeParams {
  /** Index of the first channel of the rope slice in `vec` (default 0). */
  readonly offset?: number;
}

/**
 * The RoPE parameters of a spec: its inverse frequencies, pairing and cos/sin scale.
 *
 * @example
 * ```ts
 * import { presetSpec } from "../adapter/presets.ts";
 * import { ropeParams } from "./rope_apply.ts";
 * ropeParams(presetSpec("tiny")).invFreq.length; // 4
 * ```
 */
export function ropeParams(spec: MlaSpec): RopeParams {
  if (typeof spec !== "object" || spec === null) {
    throw new RangeError(`ropeParams: spec must be an MlaSpec, found ${shown(spec)}`);
  }
  return {
    invFreq: spec.invFreq,
    pairing: spec.ropePairing,
    cosSinScale: spec.ropeCosSinScale,
  };
}

/**
 * Throw a RangeError naming `where` unless `invFreq` is an array of finite numbers and
 * `cosSinScale` a finite number or absent: rotateVector rotated by a NaN frequency or scale
 * into NaN, and by a scale of "2" (a string) as 2, silently; a missing invFreq failed with
 * "Cannot read properties of undefined (reading 'length')".
 */
function checkRopeParams(params: RopeParams, where: string): void {
  const invFreq: unknown = params.invFreq;
  if (!Array.isArray(invFreq)) {
    throw new RangeError(
      `${where}: invFreq must be an array of finite numbers (one per rotated pair), found ${
        shown(invFreq)
      }`,
    );
  }
  for (let i = 0; i < invFreq.length; i++) {
    const f = invFreq[i];
    if (typeof f !== "number" || !Number.isFinite(f)) {
      throw new RangeError(`${where}: invFreq[${i}] must be a finite number, found ${shown(f)}`);
    }
  }
  const cs: unknown = params.cosSinScale;
  if (cs !== undefined && (typeof cs !== "number" || !Number.isFinite(cs))) {
    throw new RangeError(`${where}: cosSinScale must be a finite number, found ${shown(cs)}`);
  }
}

/**
 * Rotate one rope slice of width `2 * invFreq.length` in place, at `position`. Throws a
 * RangeError when `position` is not a whole number >= 0, the slice is not inside `vec` or
 * `pairing` is not "interleaved" or "neox".
 *
 * @example
 * ```ts
 * import { rotateVector } from "./rope_apply.ts";
 * const v = new Float64Array([1, 0]);
 * rotateVector(v, 1, { invFreq: [Math.PI / 2], pairing: "interleaved" }); // v ~ [0, 1]
 * ```
 */
export function rotateVector(
  vec: Float64Array,
  position: number,
  options: RotateVectorOptions,
): Float64Array {
  checkOptions(options, "rotateVector", "{ invFreq, pairing, cosSinScale?, offset? }");
  checkRopeParams(options, "rotateVector");
  const { invFreq, pairing } = options;
  const scale = options.cosSinScale ?? 1;
  const offset = options.offset ?? 0;
  const pairs = pairsOf(2 * invFreq.length, pairing);
  // A NaN position gave NaN silently, a negative one rotated backwards; a slice past the end
  // of `vec` read undefined and dropped its writes, silently.
  if (!Number.isSafeInteger(position) || position < 0) {
    throw new RangeError(`position must be a whole number >= 0, found ${shown(position)}`);
  }
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + 2 * pairs.length > vec.length) {
    throw new RangeError(
      `the rope slice [offset ${offset}, + ${2 * pairs.length}) is not inside vec ` +
        `(${vec.length} values)`,
    );
  }
  for (let i = 0; i < pairs.length; i++) {
    const angle = position * invFreq[i];
    const c = Math.cos(angle) * scale;
    const s = Math.sin(angle) * scale;
    const ia = offset + pairs[i][0];
    const ib = offset + pairs[i][1];
    const a = vec[ia];
    const b = vec[ib];
    vec[ia] = a * c - b * s;
    vec[ib] = a * s + b * c;
  }
  return vec;
}

/**
 * RoPE of a [rows, heads, ropeDim] (or [rows, ropeDim]) tensor with one position per
 * row, as a new Float64Array; ropeDim = 2 * invFreq.length.
 *
 * @example
 * ```ts
 * import { applyRope } from "./rope_apply.ts";
 * const x = new Float64Array([1, 2, 3, 4]); // 1 row, ropeDim 4
 * const y = applyRope(x, [2], { invFreq: [1, 0.5], pairing: "interleaved" });
 * // y[0] = 1 cos 2 - 2 sin 2, y[1] = 1 sin 2 + 2 cos 2, y[2] = 3 cos 1 - 4 sin 1, ...
 * ```
 */
export function applyRope(
  x: Float64Array | Float32Array,
  positions: readonly number[],
  options: ApplyRopeOptions,
): Float64Array {
  // missing options, tensor or positions failed with "Cannot read properties of undefined"
  checkOptions(options, "applyRope", "{ invFreq, pairing, cosSinScale?, heads?, rows? }");
  checkTensor(x, "applyRope", "x");
  if (!Array.isArray(positions)) {
    throw new RangeError(
      `applyRope: positions must be an array of whole numbers >= 0 (one per row), found ${
        shown(positions)
      }`,
    );
  }
  const heads = options.heads ?? 1;
  if (typeof heads !== "number" || !Number.isInteger(heads) || heads < 1) {
    throw new RangeError(`heads must be an integer >= 1, got ${shown(heads)}`);
  }
  // a NaN or infinite frequency or scale made NaN rows, silently
  checkRopeParams(options, "applyRope");
  const dim = 2 * options.invFreq.length;
  const rowWidth = heads * dim;
  positions.forEach((p, i) => {
    if (!Number.isSafeInteger(p) || p < 0) {
      throw new RangeError(`positions[${i}] must be a whole number >= 0, found ${shown(p)}`);
    }
  });
  if (x.length !== positions.length * rowWidth) {
    throw new RangeError(
      `tensor has ${x.length} values; expected rows ${positions.length} * heads ${heads} * ` +
        `ropeDim ${dim} = ${positions.length * rowWidth}`,
    );
  }
  const out = Float64Array.from(x);
  if (options.rows !== undefined) {
    checkRowList(options.rows, "applyRope", "rows", {
      n: positions.length,
      what: "positions.length",
    });
  }
  const rows = options.rows ?? positions.map((_, r) => r);
  for (const r of rows) {
    for (let h = 0; h < heads; h++) {
      rotateVector(out, positions[r], { ...options, offset: r * rowWidth + h * dim });
    }
  }
  return out;
}
