/**
 * FP8 weights with block scales, as DeepSeek-V3/R1 and Kimi K2 release them: each Linear
 * weight `W` [out, in] is stored as `F8_E4M3` (the "fn" variant: bias 7, no infinities, the
 * only NaN is S.1111.111, largest 448) beside `weight_scale_inv` [ceil(out/b0), ceil(in/b1)]
 * (F32; F16, BF16, or F8_E8M0 powers of two, read as the f32 they equal), one scale per
 * b0 x b1 block (`quantization_config.weight_block_size`, [128, 128]).
 * Dequantized as DeepSeek's `inference/kernel.py` `weight_dequant` does:
 * `W[r][c] = e4m3(q[r][c]) * scale_inv[floor(r / b0)][floor(c / b1)]`, in f32 (the product of
 * an e4m3 value and an f32 scale is rounded once; `fp8_cast_bf16.py` would further round it to
 * BF16).
 *
 * @module
 */

/** DeepSeek-V3's and Kimi K2's `quantization_config.weight_block_size`. */
export const FP8_BLOCK_SIZE: readonly [number, number] = [128, 128];

/**
 * The value of an FP8 E4M3 ("e4m3fn") bit pattern.
 *
 * @example
 * ```ts
 * import { e4m3BitsToNumber } from "./fp8.ts";
 * e4m3BitsToNumber(0x38); // 1
 * e4m3BitsToNumber(0x7e); // 448 (largest finite)
 * e4m3BitsToNumber(0x01); // 0.001953125 (2 ** -9, smallest subnormal)
 * ```
 */
export function e4m3BitsToNumber(bits: number): number {
  const sign = bits & 0x80 ? -1 : 1;
  const exp = (bits >> 3) & 0xf;
  const frac = bits & 0x7;
  if (exp === 0xf && frac === 0x7) return NaN;
  if (exp === 0) return sign * frac * 2 ** -9; // zero or subnormal
  return sign * (1 + frac / 8) * 2 ** (exp - 7);
}

/**
 * The value of an FP8 E8M0 bit pattern (OCP microscaling's scale: a power of two, no sign, no
 * mantissa): 2^(bits - 127), and 0xFF is NaN. A block scale stored so (`weight_scale_inv` of
 * dtype F8_E8M0 beside F8_E4M3 weights) is exactly an f32 scale of that power of two.
 *
 * @example
 * ```ts
 * import { e8m0BitsToNumber } from "./fp8.ts";
 * e8m0BitsToNumber(127); // 1
 * e8m0BitsToNumber(120); // 0.0078125 (2 ** -7)
 * e8m0BitsToNumber(0xff); // NaN
 * ```
 */
export function e8m0BitsToNumber(bits: number): number {
  return bits === 0xff ? NaN : 2 ** (bits - 127);
}

/**
 * Decode F8_E8M0 bytes to Float32 (exact: 2^-127 is an f32 subnormal, 2^127 its largest power
 * of two).
 *
 * @example
 * ```ts
 * import { decodeE8m0 } from "./fp8.ts";
 * decodeE8m0(new Uint8Array([127, 128, 126])); // Float32Array [1, 2, 0.5]
 * ```
 */
export function decodeE8m0(bytes: Uint8Array): Float32Array {
  return Float32Array.from(bytes, e8m0BitsToNumber);
}

let e4m3Table: Float64Array | null = null;

/**
 * Throw a RangeError unless `shape` is [out, in] of whole numbers >= 0 and `block` two whole
 * numbers >= 1: a 1-D shape made [2, NaN] scales, a block of 1.5 or -1 indexed scales
 * between or before the blocks (wrong numbers or NaN, silently).
 */
function checkShapeAndBlock(shape: readonly number[], block: readonly number[]): void {
  const whole = (n: number, min: number) => Number.isSafeInteger(n) && n >= min;
  if (shape.length !== 2 || !shape.every((d) => whole(d, 0))) {
    throw new RangeError(
      `an FP8 block-scaled weight is 2-D [out, in] of whole numbers >= 0, found shape ` +
        `[${shape.join(", ")}]`,
    );
  }
  if (block.length !== 2 || !block.every((b) => whole(b, 1))) {
    throw new RangeError(
      `an FP8 scale block is two whole numbers >= 1 [rows, columns] (weight_block_size), ` +
        `found [${block.join(", ")}]`,
    );
  }
}

/**
 * The block-scale shape a weight of `shape` [out, in] needs: [ceil(out/b0), ceil(in/b1)].
 * Throws a RangeError when the shape is not 2-D or the block not two positive integers.
 *
 * @example
 * ```ts
 * import { blockScaleShape } from "./fp8.ts";
 * blockScaleShape([576, 7168]); // [5, 56]
 * ```
 */
export function blockScaleShape(
  shape: readonly number[],
  block: readonly [number, number] = FP8_BLOCK_SIZE,
): [number, number] {
  checkShapeAndBlock(shape, block);
  return [Math.ceil(shape[0] / block[0]), Math.ceil(shape[1] / block[1])];
}

/**
 * Dequantize an F8_E4M3 weight [out, in] (row-major bytes) with its block scales
 * (row-major, {@link blockScaleShape}): each value times its block's scale, rounded once to
 * f32. Throws a RangeError when the sizes do not match the shapes (or the shape is not 2-D,
 * the block not two positive integers).
 *
 * @example
 * ```ts
 * import { dequantBlockFp8 } from "./fp8.ts";
 * // [2, 3] weight, 2x2 blocks: scales [1, 2] for columns 0-1 and column 2
 * const w = dequantBlockFp8(new Uint8Array([0x38, 0x40, 0x38, 0xb8, 0x38, 0x40]), [2, 3], new Float32Array([1, 2]), [2, 2]);
 * [...w]; // [1, 2, 2, -1, 1, 4]
 * ```
 */
export function dequantBlockFp8(
  bytes: Uint8Array,
  shape: readonly number[],
  scale: ArrayLike<number>,
  block: readonly [number, number] = FP8_BLOCK_SIZE,
): Float32Array {
  const [rows, cols] = shape;
  const [sr, sc] = blockScaleShape(shape, block);
  if (bytes.length !== rows * cols || scale.length !== sr * sc) {
    throw new RangeError(
      `FP8 weight [${shape.join(", ")}] needs ${rows * cols} bytes and ${sr * sc} block ` +
        `scales, found ${bytes.length} and ${scale.length}`,
    );
  }
  if (!e4m3Table) {
    e4m3Table = new Float64Array(256);
    for (let i = 0; i < 256; i++) e4m3Table[i] = e4m3BitsToNumber(i);
  }
  const t = e4m3Table;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const srow = Math.floor(r / block[0]) * sc;
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      out[i] = t[bytes[i]] * scale[srow + Math.floor(c / block[1])];
    }
  }
  return out;
}

/**
 * The FP8 scale block a model config states: `quantization_config.weight_block_size` (at the
 * top or in `text_config` / `language_config`, a multimodal config's), or undefined where no
 * config states one. Throws a RangeError naming the key when it is not two positive integers.
 *
 * @example
 * ```ts
 * import { fp8BlockSizeOf } from "./fp8.ts";
 * fp8BlockSizeOf({ quantization_config: { quant_method: "fp8", weight_block_size: [128, 128] } }); // [128, 128]
 * fp8BlockSizeOf({ hidden_size: 64 }); // undefined
 * ```
 */
export function fp8BlockSizeOf(config: unknown): [number, number] | undefined {
  const obj = (v: unknown): Record<string, unknown> | undefined =>
    typeof v === "object" && v !== null && !Array.isArray(v)
      ? v as Record<string, unknown>
      : undefined;
  const top = obj(config);
  for (
    const [path, c] of [
      ["", top],
      ["text_config.", obj(top?.text_config)],
      ["language_config.", obj(top?.language_config)],
    ] as const
  ) {
    const q = obj(c?.quantization_config);
    if (q === undefined || !("weight_block_size" in q) || q.weight_block_size === null) continue;
    const b = q.weight_block_size;
    if (
      !Array.isArray(b) || b.length !== 2 ||
      !b.every((n) => typeof n === "number" && Number.isSafeInteger(n) && n > 0)
    ) {
      throw new RangeError(
        `${path}quantization_config.weight_block_size must be two positive integers ` +
          `[rows, columns], found ${JSON.stringify(b)}`,
      );
    }
    return [b[0], b[1]];
  }
  return undefined;
}
