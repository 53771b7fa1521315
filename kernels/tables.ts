/**
 * Host-side tables the kernels read: per-query metadata (buffer row, first key,
 * visible key count) from a normalized layout, and per-buffer-row RoPE cos/sin
 * tables built in float64.
 *
 * @module
 */
import { ropeCosSin } from "../adapter/rope.ts";
import type { MlaSpec, NormalizedLayout } from "../adapter/types.ts";

/**
 * Per logical query t, four u32: (buffer row, first logical key of its sequence,
 * number of keys it sees, 0). Under the causal rule query i of a sequence sees the
 * keys j <= i + causalOffset (bottom-right alignment), i.e. min(kLen, max(0, i +
 * causalOffset + 1)) keys; without it, all kLen keys of its sequence.
 *
 * @example
 * ```ts
 * import { normalizeLayout } from "../adapter/layout.ts";
 * import { queryMeta } from "./tables.ts";
 * const l = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 2, seqK: 4, causal: true });
 * Array.from(queryMeta(l)); // [0, 0, 3, 0, 1, 0, 4, 0]
 * ```
 */
export function queryMeta(layout: NormalizedLayout): Uint32Array {
  const out = new Uint32Array(4 * Math.max(1, layout.totalQ));
  for (const s of layout.seqs) {
    for (let i = 0; i < s.qLen; i++) {
      const t = s.qStart + i;
      const seen = layout.causal ? Math.min(s.kLen, Math.max(0, i + s.causalOffset + 1)) : s.kLen;
      out.set([layout.qRowOf[t], s.kStart, seen, 0], 4 * t);
    }
  }
  return out;
}

/**
 * RoPE cos/sin per buffer row: row `rowOf[t]` gets the float64 table entry of
 * `positions[t]` (via `ropeCosSin`, scaled by the spec's cos/sin scale); rows no
 * token maps to (padding) get the identity rotation (cos 1, sin 0). Shape [rows,
 * rope] with cos of pair i at i and sin at rope/2 + i.
 *
 * @example
 * ```ts
 * import { presetSpec } from "../adapter/presets.ts";
 * import { rowCosSin } from "./tables.ts";
 * const t = rowCosSin(presetSpec("tiny"), { rows: 3, rowOf: [0, 2], positions: [0, 5] });
 * t.length; // 3 * 8
 * ```
 */
export function rowCosSin(
  spec: MlaSpec,
  options: { rows: number; rowOf: readonly number[]; positions: readonly number[] },
): Float64Array {
  const half = spec.invFreq.length;
  const table = ropeCosSin(spec.invFreq, spec.ropeCosSinScale, options.positions);
  const out = new Float64Array(options.rows * 2 * half);
  for (let r = 0; r < options.rows; r++) out.fill(1, r * 2 * half, r * 2 * half + half);
  options.rowOf.forEach((row, t) => {
    out.set(table.subarray(t * 2 * half, (t + 1) * 2 * half), row * 2 * half);
  });
  return out;
}

/**
 * Interleave per-row blocks of several tensors into one packed tensor: row i of
 * the result is [a[i] (width wa) | b[i] (width wb) | ...]. Used to pack the
 * latent cache [c | k_pe] and per-head query rows.
 *
 * @example
 * ```ts
 * import { packRows } from "./tables.ts";
 * Array.from(packRows(2, [[new Float64Array([1, 2]), 1], [new Float64Array([3, 4]), 1]]));
 * // [1, 3, 2, 4]
 * ```
 */
export function packRows(
  rows: number,
  parts: readonly (readonly [ArrayLike<number> | null, number])[],
): Float64Array {
  const width = parts.reduce((s, [, w]) => s + w, 0);
  const out = new Float64Array(rows * width);
  for (let i = 0; i < rows; i++) {
    let off = i * width;
    for (const [src, w] of parts) {
      if (src) { for (let j = 0; j < w; j++) out[off + j] = src[i * w + j]; }
      off += w;
    }
  }
  return out;
}
