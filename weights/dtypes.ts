/**
 * Conversions between IEEE binary16 (F16), bfloat16 (BF16) and numbers, written
 * out bit by bit (no reliance on Float16Array) so they can be checked on known
 * bit patterns: signed zeros, subnormals, infinities and NaN included.
 * Narrowing rounds to nearest, ties to even; NaN stays a (quiet) NaN.
 *
 * @module
 */

/**
 * The smallest magnitude F16 rounds to infinity: 65520, the tie between 65504 (the largest
 * finite F16) and 2^16, rounds to even, which is infinity.
 *
 * @example
 * ```ts
 * import { F16_OVERFLOW, numberToF16Bits } from "./dtypes.ts";
 * numberToF16Bits(F16_OVERFLOW); // 0x7c00 (Infinity)
 * ```
 */
export const F16_OVERFLOW = 65520;

const F32_VIEW = new Float32Array(1);
const U32_VIEW = new Uint32Array(F32_VIEW.buffer);

/**
 * The value of an F16 bit pattern.
 *
 * @example
 * ```ts
 * import { f16BitsToNumber } from "./dtypes.ts";
 * f16BitsToNumber(0x3c00); // 1
 * f16BitsToNumber(0x0001); // 2 ** -24 (smallest subnormal)
 * ```
 */
export function f16BitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero or subnormal
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * The value of a BF16 bit pattern (the top half of an f32).
 *
 * @example
 * ```ts
 * import { bf16BitsToNumber } from "./dtypes.ts";
 * bf16BitsToNumber(0x3f80); // 1
 * bf16BitsToNumber(0xff80); // -Infinity
 * ```
 */
export function bf16BitsToNumber(bits: number): number {
  U32_VIEW[0] = (bits & 0xffff) << 16;
  return F32_VIEW[0];
}

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * The F16 bit pattern nearest to `value` (ties to even; overflow to infinity;
 * NaN becomes 0x7e00 with the sign kept).
 *
 * @example
 * ```ts
 * import { numberToF16Bits } from "./dtypes.ts";
 * numberToF16Bits(65504); // 0x7bff (largest finite)
 * numberToF16Bits(1e-8); // 0x0000 (below half the smallest subnormal)
 * ```
 */
export function numberToF16Bits(value: number): number {
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  if (Number.isNaN(value)) return 0x7e00;
  const a = Math.abs(value);
  if (a >= F16_OVERFLOW) return sign | 0x7c00; // the tie between 65504 and 2^16: even = inf
  if (a < 2 ** -14) return sign | roundHalfEven(a * 2 ** 24); // subnormal (1024 = 0x0400 ok)
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  let m = roundHalfEven((a / 2 ** e - 1) * 1024); // exact: power-of-two scaling
  if (m === 1024) {
    m = 0;
    e++;
  }
  if (e > 15) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | m;
}

/**
 * The BF16 bit pattern nearest to `value` rounded first to f32 (ties to even;
 * NaN becomes a quiet NaN with the sign kept).
 *
 * @example
 * ```ts
 * import { numberToBf16Bits } from "./dtypes.ts";
 * numberToBf16Bits(1); // 0x3f80
 * numberToBf16Bits(1 + 2 ** -8); // 0x3f80 (tie, to even)
 * ```
 */
export function numberToBf16Bits(value: number): number {
  F32_VIEW[0] = value;
  const u = U32_VIEW[0];
  if (Number.isNaN(value)) return ((u >>> 16) & 0x8000) | 0x7fc0;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

let f16Table: Float32Array | null = null;

/**
 * Decode little-endian F16 values to Float32 (through a 65536-entry table).
 *
 * @example
 * ```ts
 * import { decodeF16 } from "./dtypes.ts";
 * decodeF16(new Uint16Array([0x3c00, 0xc000])); // Float32Array [1, -2]
 * ```
 */
export function decodeF16(bits: Uint16Array): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) f16Table[i] = f16BitsToNumber(i);
  }
  const t = f16Table;
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = t[bits[i]];
  return out;
}

/**
 * Decode BF16 values to Float32 (exact: a bf16 is the top half of an f32).
 *
 * @example
 * ```ts
 * import { decodeBf16 } from "./dtypes.ts";
 * decodeBf16(new Uint16Array([0x3f80])); // Float32Array [1]
 * ```
 */
export function decodeBf16(bits: Uint16Array): Float32Array {
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = bits[i] << 16;
  return new Float32Array(out.buffer);
}

/**
 * Encode numbers as F16 bit patterns.
 *
 * @example
 * ```ts
 * import { encodeF16 } from "./dtypes.ts";
 * encodeF16([1, -2]); // Uint16Array [0x3c00, 0xc000]
 * ```
 */
export function encodeF16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = numberToF16Bits(values[i]);
  return out;
}

/**
 * Encode numbers as BF16 bit patterns.
 *
 * @example
 * ```ts
 * import { encodeBf16 } from "./dtypes.ts";
 * encodeBf16([1]); // Uint16Array [0x3f80]
 * ```
 */
export function encodeBf16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = numberToBf16Bits(values[i]);
  return out;
}
