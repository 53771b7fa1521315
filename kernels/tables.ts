/**
 * Host-side tables the kernels read: per-query metadata (buffer row, first key,
 * visible key count) from a normalized layout, and per-buffer-row RoPE cos/sin
 * tables built in float64.
 *
 * @module
 */
import { ropeCosSin } from "../adapter/rope.ts";
import { visibleKeyCount } from "../adapter/layout.ts";
import type { NormalizedLayout, PlanRope } from "../adapter/types.ts";

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
      out.set([layout.qRowOf[t], s.kStart, visibleKeyCount(layout, t), 0], 4 * t);
    }
  }
  return out;
}

/**
 * RoPE cos/sin per buffer row: row `rowOf[t]` gets the float64 table entry of
 * `positions[t]` (via `ropeCosSin`, scaled by the RoPE's cos/sin scale: a plan's
 * `attention.rope`); rows no token maps to (padding) get the identity rotation (cos 1,
 * sin 0). Shape [rows, rope] with cos of pair i at i and sin at rope/2 + i.
 *
 * @example
 * ```ts
 * import { rowCosSin } from "./tables.ts";
 * const rope = { invFreq: [1, 0.1, 0.01, 0.001], cosSinScale: 1 };
 * const t = rowCosSin(rope, { rows: 3, rowOf: [0, 2], positions: [0, 5] });
 * t.length; // 3 * 8
 * ```
 */
export function rowCosSin(
  rope: Pick<PlanRope, "invFreq" | "cosSinScale">,
  options: { rows: number; rowOf: readonly number[]; positions: readonly number[] },
): Float64Array {
  const half = rope.invFreq.length;
  const table = ropeCosSin(rope.invFreq, rope.cosSinScale, options.positions);
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

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * Row chunks [row0, rows] of the expanded K/V for expand_kv.wgsl: each chunk's k
 * binding (rows x rowK bytes) and v binding (rows x rowV bytes) fit `maxBinding`,
 * and row0 x rowK, row0 x rowV are multiples of `align` (binding offsets must be).
 * One chunk [0, rows] whenever the whole buffers fit.
 *
 * @example
 * ```ts
 * import { expandChunks } from "./tables.ts";
 * expandChunks(10, 256, 256, 1024, 256); // [[0, 4], [4, 4], [8, 2]]
 * ```
 */
export function expandChunks(
  rows: number,
  rowK: number,
  rowV: number,
  maxBinding: number,
  align: number,
): [number, number][] {
  const widest = Math.max(rowK, rowV);
  if (rows * widest <= maxBinding) return [[0, rows]];
  const stepK = align / gcd(align, rowK);
  const stepV = align / gcd(align, rowV);
  const step = (stepK * stepV) / gcd(stepK, stepV);
  const per = Math.max(step, Math.floor(maxBinding / widest / step) * step);
  const out: [number, number][] = [];
  for (let r = 0; r < rows; r += per) out.push([r, Math.min(per, rows - r)]);
  return out;
}

/**
 * Query tiles of the attention kernels: pairs (first query t, count), consecutive
 * queries of one sequence, at most `qt` each, in increasing t (so increasing
 * visible-key count under the causal rule); sequences without queries add none.
 *
 * @example
 * ```ts
 * import { normalizeLayout } from "../adapter/layout.ts";
 * import { queryTiles } from "./tables.ts";
 * const l = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 5, seqK: 5, causal: true });
 * Array.from(queryTiles(l, 4)); // [0, 4, 4, 1]
 * ```
 */
export function queryTiles(layout: NormalizedLayout, qt: number): number[] {
  const tiles: number[] = [];
  for (const s of layout.seqs) {
    for (let i = 0; i < s.qLen; i += qt) tiles.push(s.qStart + i, Math.min(qt, s.qLen - i));
  }
  return tiles;
}

/**
 * Byte range [offset, offset + size) of the rows [minRow, maxRow] of a buffer, the offset
 * rounded down to `align`.
 *
 * @example
 * ```ts
 * import { rowBinding } from "./tables.ts";
 * rowBinding(3, 4, 100, 256); // { offset: 256, size: 244 }
 * ```
 */
export function rowBinding(
  minRow: number,
  maxRow: number,
  rowBytes: number,
  align: number,
): { offset: number; size: number } {
  const offset = Math.floor((minRow * rowBytes) / align) * align;
  return { offset, size: (maxRow + 1) * rowBytes - offset };
}

/** One dispatch of the dense kernel: its query tiles and its K/V bindings. */
export interface DenseGroup {
  /** First tile (index into the tile table). */
  tileBegin: number;
  /** Number of tiles. */
  tiles: number;
  /** Byte offset of the k binding. */
  kOffset: number;
  /** Byte size of the k binding. */
  kSize: number;
  /** Byte offset of the v binding. */
  vOffset: number;
  /** Byte size of the v binding. */
  vSize: number;
}

/**
 * Query tiles (pairs first query, count: consecutive queries of one sequence, QT
 * at most) and dispatch groups of the dense kernel: consecutive sequences are
 * grouped while the rows they read fit one k and one v binding of `maxBinding`
 * bytes. A sequence that alone exceeds it throws (the backend's support check
 * reports it first as limits.buffer-too-large).
 *
 * @example
 * ```ts
 * import { normalizeLayout } from "../adapter/layout.ts";
 * import { denseGroups } from "./tables.ts";
 * const l = normalizeLayout({ kind: "bshd", batch: 2, seqQ: 1, seqK: 4, causal: true });
 * denseGroups(l, 1, { rowK: 256, rowV: 256, maxBinding: 1024, align: 256 }).groups.length; // 2
 * ```
 */
export function denseGroups(
  layout: NormalizedLayout,
  qt: number,
  o: { rowK: number; rowV: number; maxBinding: number; align: number },
): { tiles: number[]; groups: DenseGroup[] } {
  const tiles: number[] = [];
  const groups: DenseGroup[] = [];
  let cur: { begin: number; lo: number; hi: number } | null = null;
  const close = () => {
    if (!cur) return;
    const kb = rowBinding(cur.lo, cur.hi, o.rowK, o.align);
    const vb = rowBinding(cur.lo, cur.hi, o.rowV, o.align);
    const n = tiles.length / 2 - cur.begin;
    if (n > 0) {
      groups.push({
        tileBegin: cur.begin,
        tiles: n,
        kOffset: kb.offset,
        kSize: kb.size,
        vOffset: vb.offset,
        vSize: vb.size,
      });
    }
    cur = null;
  };
  const fits = (lo: number, hi: number) =>
    rowBinding(lo, hi, o.rowK, o.align).size <= o.maxBinding &&
    rowBinding(lo, hi, o.rowV, o.align).size <= o.maxBinding;
  for (const s of layout.seqs) {
    if (s.qLen === 0) continue;
    let lo = Infinity;
    let hi = -Infinity;
    for (let j = s.kStart; j < s.kStart + s.kLen; j++) {
      lo = Math.min(lo, layout.kRowOf[j]);
      hi = Math.max(hi, layout.kRowOf[j]);
    }
    if (s.kLen === 0) lo = hi = cur ? cur.lo : 0; // reads no key: any valid range
    if (!fits(lo, hi)) {
      throw new RangeError(
        `a sequence's K/V rows ${lo}..${hi} exceed one binding of ${o.maxBinding} bytes`,
      );
    }
    if (cur && fits(Math.min(cur.lo, lo), Math.max(cur.hi, hi))) {
      cur.lo = Math.min(cur.lo, lo);
      cur.hi = Math.max(cur.hi, hi);
    } else {
      close();
      cur = { begin: tiles.length / 2, lo, hi };
    }
    tiles.push(...queryTiles({ ...layout, seqs: [s] }, qt));
  }
  close();
  return { tiles, groups };
}

/**
 * An order of work items in which every run of consecutive items carries about the
 * same work: the heaviest item, the lightest, the second heaviest, the second
 * lightest, and so on (ties in index order). Returns a permutation of the indices
 * of `weights`.
 *
 * Why: lavapipe hands each of its threads one contiguous run of a dispatch's
 * workgroups (Mesa's compute thread pool gives a thread `iterations / threads`
 * consecutive ones), so a grid laid out in increasing work, as the tiles of a causal
 * prefill are, leaves the last thread with most of it. Interleaved, each pair of
 * neighbours sums to about the same, and so does each run. On a GPU, whose
 * scheduler hands out workgroups as SMs free up, the order costs nothing.
 *
 * @example
 * ```ts
 * import { balancedOrder } from "./tables.ts";
 * balancedOrder([1, 2, 3, 4, 5, 6]); // [5, 0, 4, 1, 3, 2]
 * ```
 */
export function balancedOrder(weights: readonly number[]): number[] {
  const byWeight = weights.map((_, i) => i).sort((a, b) => weights[b] - weights[a] || a - b);
  const out: number[] = [];
  for (let lo = 0, hi = byWeight.length - 1; lo <= hi; lo++, hi--) {
    out.push(byWeight[lo]);
    if (lo !== hi) out.push(byWeight[hi]);
  }
  return out;
}

/**
 * The tile table of {@link denseGroups} with each group's tiles in
 * {@link balancedOrder} of their work: the keys their last query sees (which bound
 * both loops of a tile, and the key groups a causal tile scores). Tiles never leave
 * their group, and a kernel that reads its tile from the table computes the same
 * outputs in any order.
 *
 * @example
 * ```ts
 * import { normalizeLayout } from "../adapter/layout.ts";
 * import { balancedTiles, denseGroups } from "./tables.ts";
 * const l = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 6, seqK: 6, causal: true });
 * const { tiles, groups } = denseGroups(l, 2, { rowK: 64, rowV: 64, maxBinding: 1 << 20, align: 256 });
 * balancedTiles(l, tiles, groups); // [4, 2, 0, 2, 2, 2]: the tile of 6 keys, of 2, then of 4
 * ```
 */
export function balancedTiles(
  layout: NormalizedLayout,
  tiles: readonly number[],
  groups: readonly DenseGroup[],
): number[] {
  const meta = queryMeta(layout);
  const out = tiles.slice();
  for (const g of groups) {
    const weights: number[] = [];
    for (let i = 0; i < g.tiles; i++) {
      const j = 2 * (g.tileBegin + i);
      weights.push(meta[4 * (tiles[j] + tiles[j + 1] - 1) + 2]);
    }
    balancedOrder(weights).forEach((from, i) => {
      out[2 * (g.tileBegin + i)] = tiles[2 * (g.tileBegin + from)];
      out[2 * (g.tileBegin + i) + 1] = tiles[2 * (g.tileBegin + from) + 1];
    });
  }
  return out;
}
