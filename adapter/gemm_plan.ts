/**
 * Planning of the CPU-shaped absorbed kernel (kernels/absorbed_gemm.wgsl: scores, softmax
 * and values as three passes with per-lane register tiles): tile sizes, the score
 * buffer's row stride and the loop iterations each pass runs per invocation (for devices
 * with a loop budget). Pure and GPU-free; the backend's check (adapter/backends.ts) puts
 * the results in the plan and the launcher only reads them.
 *
 * @module
 */
import type { CacheTextureShape, Dtype, MlaSpec, NormalizedLayout } from "./types.ts";

/** Heads of one register tile at most (16 x 16 keys: 8 FMAs per loaded number). */
export const GEMM_MAX_HEADS_PER_TILE = 16;
/** Keys per invocation of the scores pass (KG of the kernel). */
export const GEMM_KEYS_PER_GROUP = 16;
/** Invocations per workgroup: one lavapipe SIMD row. */
export const GEMM_WORKGROUP_SIZE = 8;
/** Queries per register tile of the expanded gemm kernel (QT of expanded_gemm.wgsl). */
export const GEMM_QUERY_TILE = 16;
/**
 * Workgroups the absorbed values pass aims for: it splits the keys until its grid has
 * this many (work for every thread of a CPU driver with up to 16 threads; this
 * project's host has 2), as long as each split keeps {@link GEMM_MIN_KEYS_PER_VALUE_SPLIT} keys.
 */
export const GEMM_VALUE_WORKGROUPS = 16;
/** Keys one split of the absorbed values pass walks at least (its per-workgroup stores and the sum are per split). */
export const GEMM_MIN_KEYS_PER_VALUE_SPLIT = 256;

/** The shape of a gemm-kernel variant (its WGSL @param values). */
export interface GemmShape {
  /** Heads per register tile (HT: the heads, at most 16). */
  readonly headsPerTile: number;
  /** Key width in vec4s (KEY_VEC4). */
  readonly keyVec4: number;
  /** Value width in vec4s (VAL_VEC4). */
  readonly valueVec4: number;
  /**
   * Output vec4 columns per invocation of the values pass (EV): the most, up to 16, that
   * divide VAL_VEC4 and still give each of a workgroup's lanes its own columns, so one
   * workgroup reads the widest contiguous run of every key row ({@link gemmColumnsPerInvocation}).
   */
  readonly columnsPerInvocation: number;
  /** vec4s per row of the score buffer (KMAX4): ceil(most visible keys / 4), at least 1. */
  readonly scoreVec4PerRow: number;
  /**
   * Key splits of the values pass (1: it writes x itself; more: each split writes a
   * partial x of its keys, summed by split_sum.wgsl), see {@link gemmValueSplits}.
   */
  readonly valueSplits: number;
  /** Keys of one values split (a multiple of 4): ceil(scoreVec4PerRow / valueSplits) x 4. */
  readonly keysPerValueSplit: number;
}

/**
 * The shape for a spec and layout: tiles of up to 16 heads, up to 16 output vec4s per
 * invocation of the values pass (a workgroup of 8 then covers a 512-wide latent row),
 * score rows as long as the longest sequence's keys, and the values pass's key splits.
 *
 * @example
 * ```ts
 * import { gemmShape } from "./gemm_plan.ts";
 * import { normalizeLayout } from "./layout.ts";
 * const layout = normalizeLayout({ kind: "bshd", batch: 4, seqQ: 1, seqK: 4096, causal: true });
 * gemmShape({ numHeads: 16, kvLoraRank: 512, qkRopeHeadDim: 64 }, layout).scoreVec4PerRow; // 1024
 * ```
 */
export function gemmShape(
  spec: Pick<MlaSpec, "numHeads" | "kvLoraRank" | "qkRopeHeadDim">,
  layout: NormalizedLayout,
): GemmShape {
  const valueVec4 = Math.max(1, Math.floor(spec.kvLoraRank / 4));
  const columnsPerInvocation = gemmColumnsPerInvocation(valueVec4);
  const longest = layout.seqs.reduce((m, s) => Math.max(m, s.kLen), 0);
  const headsPerTile = Math.max(1, Math.min(spec.numHeads, GEMM_MAX_HEADS_PER_TILE));
  const scoreVec4PerRow = Math.max(1, Math.ceil(longest / 4));
  const workgroups = layout.totalQ * Math.ceil(spec.numHeads / headsPerTile) *
    gemmValueColumnGroups(valueVec4, columnsPerInvocation, GEMM_WORKGROUP_SIZE);
  const valueSplits = gemmValueSplits(workgroups, longest);
  return {
    headsPerTile,
    keyVec4: Math.max(1, Math.floor((spec.kvLoraRank + spec.qkRopeHeadDim) / 4)),
    valueVec4,
    columnsPerInvocation,
    scoreVec4PerRow,
    valueSplits,
    keysPerValueSplit: 4 * Math.ceil(scoreVec4PerRow / valueSplits),
  };
}

/**
 * Workgroups along x of a gemm values pass (absorbed or expanded): `valueVec4` output
 * vec4s in blocks of `columnsPerInvocation`, `workgroupSize` blocks per workgroup. The
 * plan's split count and the launchers' grids both come from it.
 *
 * @example
 * ```ts
 * import { gemmValueColumnGroups } from "./gemm_plan.ts";
 * gemmValueColumnGroups(128, 16, 8); // 1: one workgroup covers a 512-wide latent row
 * gemmValueColumnGroups(32, 4, 8); // 1
 * gemmValueColumnGroups(128, 4, 8); // 4
 * ```
 */
export function gemmValueColumnGroups(
  valueVec4: number,
  columnsPerInvocation: number,
  workgroupSize: number,
): number {
  return Math.ceil(Math.ceil(valueVec4 / columnsPerInvocation) / workgroupSize);
}

/**
 * Key splits of the absorbed values pass for a grid of `workgroups` without splits and
 * `longest` visible keys: enough to reach {@link GEMM_VALUE_WORKGROUPS} workgroups, but
 * no split under {@link GEMM_MIN_KEYS_PER_VALUE_SPLIT} keys (at least 1).
 *
 * @example
 * ```ts
 * import { gemmValueSplits } from "./gemm_plan.ts";
 * gemmValueSplits(4, 4096); // 4: a V2-Lite decode of 4 tokens (one workgroup each)
 * gemmValueSplits(4, 300); // 1: too few keys to split
 * ```
 */
export function gemmValueSplits(workgroups: number, longest: number): number {
  const wanted = Math.ceil(GEMM_VALUE_WORKGROUPS / Math.max(1, workgroups));
  const most = Math.floor(longest / GEMM_MIN_KEYS_PER_VALUE_SPLIT);
  return Math.max(1, Math.min(wanted, most));
}

/** Loop iterations one invocation of each pass runs for `keys` visible keys. */
export interface GemmLoopIterations {
  /** The scores pass: its loop over the key width (one key group per invocation). */
  readonly scores: number;
  /** The softmax pass: two loops over the row's score vec4s. */
  readonly softmax: number;
  /** The values pass: one loop over the keys, 4 per trip. */
  readonly values: number;
}

/**
 * Loop iterations of each pass as a loop-budget device counts them (a loop run costs
 * its trips + 1; constant-trip loops the compiler unrolls cost none, see
 * adapter/loop_budget.ts).
 *
 * @example
 * ```ts
 * import { gemmLoopIterations } from "./gemm_plan.ts";
 * gemmLoopIterations({ keyVec4: 144 }, 4096); // { scores: 145, softmax: 2050, values: 1025 }
 * ```
 */
export function gemmLoopIterations(
  shape: Pick<GemmShape, "keyVec4">,
  keys: number,
): GemmLoopIterations {
  const vec4s = Math.ceil(keys / 4);
  return { scores: shape.keyVec4 + 1, softmax: 2 * (vec4s + 1), values: vec4s + 1 };
}

/**
 * The most visible keys one query may have within a loop budget (the softmax pass walks
 * its row twice, so it bounds them); 0 when not even the scores pass fits.
 *
 * @example
 * ```ts
 * import { gemmMaxKeys } from "./gemm_plan.ts";
 * gemmMaxKeys({ keyVec4: 144 }, 65535); // 131064
 * ```
 */
export function gemmMaxKeys(shape: Pick<GemmShape, "keyVec4">, budget: number): number {
  if (shape.keyVec4 + 1 > budget) return 0;
  // softmax: 2 x (ceil(keys / 4) + 1) <= budget; the values pass (ceil(keys / 4) + 1) fits
  // whenever the softmax does.
  return Math.max(0, 4 * (Math.floor(budget / 2) - 1));
}

/**
 * Output vec4 columns per invocation of the absorbed values pass over `valueVec4`
 * vec4s: the largest of 16, 8, 4, 2 and 1 that divides it and leaves every lane of a
 * workgroup of {@link GEMM_WORKGROUP_SIZE} its own columns (1 when it is narrower).
 * Wide: each key row is then read in runs of 8 x EV vec4s by one workgroup, which on
 * lavapipe gave a 1.2-1.7x faster median values pass than four workgroups reading 512-byte
 * slices of the same rows (docs/benchmarks.md, session 11).
 *
 * @example
 * ```ts
 * import { gemmColumnsPerInvocation } from "./gemm_plan.ts";
 * gemmColumnsPerInvocation(128); // 16 (r = 512)
 * gemmColumnsPerInvocation(64); // 8
 * gemmColumnsPerInvocation(8); // 1 (r = 32: one vec4 for each of 8 lanes)
 * ```
 */
export function gemmColumnsPerInvocation(valueVec4: number): number {
  return [16, 8, 4, 2, 1].find((e) =>
    valueVec4 % e === 0 && valueVec4 / e >= GEMM_WORKGROUP_SIZE
  ) ?? 1;
}

/**
 * Output vec4 columns per invocation of the expanded values pass (EV of
 * expanded_gemm.wgsl) over `valueVec4` vec4s: 4, or the largest of 2 and 1 that divides it.
 *
 * @example
 * ```ts
 * import { gemmExpandedColumnsPerInvocation } from "./gemm_plan.ts";
 * gemmExpandedColumnsPerInvocation(32); // 4
 * gemmExpandedColumnsPerInvocation(6); // 2
 * ```
 */
export function gemmExpandedColumnsPerInvocation(valueVec4: number): number {
  return [4, 2, 1].find((e) => valueVec4 % e === 0) ?? 1;
}

/** WebGPU's default maxTextureDimension2D, for planning without a device. */
export const DEFAULT_MAX_TEXTURE_DIMENSION_2D = 8192;

/**
 * The texture a gemm kernel reads rows of vec4s through (the latent cache, a query, the
 * expanded K or V), or null when no texture of the device holds them: `keyVec4` texels per
 * row, as many rows per texture row as it takes to keep the height within `maxDimension`
 * (both sides must stay within it). On lavapipe a texel fetch costs far less than a
 * storage vec4, which Mesa 22.3 loads lane by lane and component by component
 * (docs/benchmarks.md, sessions 12 and 13).
 *
 * With `packed` (f16 rows of an even number of vec4s) two vec4s of halves share one
 * rgba32uint texel, so a row is `keyVec4 / 2` texels: on lavapipe a texel fetch costs the
 * same whatever its width, and eight halves per fetch read 1.3-1.5x more halves per second
 * than four (`tools/bandwidth_probe.ts`, docs/benchmarks.md, session 15). Elsewhere
 * `packed` is ignored.
 *
 * @example
 * ```ts
 * import { gemmCacheTexture } from "./gemm_plan.ts";
 * gemmCacheTexture(144, 16384, "f32", 8192);
 * // { format: "rgba32float", rowsPerTexelRow: 2, width: 288, height: 8192 }
 * gemmCacheTexture(144, 4096, "f16", 8192, { packed: true });
 * // { format: "rgba32uint", rowsPerTexelRow: 1, width: 72, height: 4096 }
 * ```
 */
export function gemmCacheTexture(
  keyVec4: number,
  cacheRows: number,
  dtype: Dtype,
  maxDimension: number = DEFAULT_MAX_TEXTURE_DIMENSION_2D,
  options: { packed?: boolean } = {},
): CacheTextureShape | null {
  const texelsPerRow = gemmTexelsPerRow(keyVec4, dtype, options);
  const packed = texelsPerRow !== keyVec4;
  const rows = Math.max(1, cacheRows);
  const rowsPerTexelRow = Math.ceil(rows / maxDimension);
  const width = texelsPerRow * rowsPerTexelRow;
  if (width > maxDimension) return null;
  return {
    format: packed ? "rgba32uint" : dtype === "f16" ? "rgba16float" : "rgba32float",
    rowsPerTexelRow,
    width,
    height: Math.ceil(rows / rowsPerTexelRow),
  };
}

/**
 * Texels per row of {@link gemmCacheTexture}'s texture: `keyVec4`, or half of it where
 * `packed` puts two vec4s of halves in one rgba32uint texel (f16 and an even `keyVec4`).
 *
 * @example
 * ```ts
 * import { gemmTexelsPerRow } from "./gemm_plan.ts";
 * gemmTexelsPerRow(144, "f16", { packed: true }); // 72
 * gemmTexelsPerRow(144, "f32", { packed: true }); // 144
 * ```
 */
export function gemmTexelsPerRow(
  keyVec4: number,
  dtype: Dtype,
  options: { packed?: boolean } = {},
): number {
  return options.packed === true && dtype === "f16" && keyVec4 % 2 === 0 ? keyVec4 / 2 : keyVec4;
}

/**
 * Whether a plan packs its f16 texture rows two vec4s of halves per rgba32uint texel
 * ({@link gemmCacheTexture}): only f16, and only when every count its kernel walks in
 * pairs (row widths in vec4s, output vec4s per invocation) is even. One rule for every
 * backend that reads rows through such textures, so a plan never packs some of its
 * textures and not others.
 *
 * @example
 * ```ts
 * import { packsF16Rows } from "./gemm_plan.ts";
 * packsF16Rows("f16", [144, 16]); // true
 * packsF16Rows("f16", [10, 1]); // false: one output vec4 per invocation
 * packsF16Rows("f32", [144, 16]); // false
 * ```
 */
export function packsF16Rows(dtype: Dtype, pairedCounts: readonly number[]): boolean {
  return dtype === "f16" && pairedCounts.every((n) => n % 2 === 0);
}

/**
 * Vec4s of a row per texel of a row texture ({@link gemmCacheTexture}): 2 for packed f16
 * rows (rgba32uint), else 1. The kernels' `CPT`.
 *
 * @example
 * ```ts
 * import { texelVec4s } from "./gemm_plan.ts";
 * texelVec4s({ format: "rgba32uint" }); // 2
 * ```
 */
export function texelVec4s(shape: Pick<CacheTextureShape, "format">): 1 | 2 {
  return shape.format === "rgba32uint" ? 2 : 1;
}

/**
 * Bytes of one texel of a row texture: 16 for rgba32float and rgba32uint, 8 for
 * rgba16float.
 *
 * @example
 * ```ts
 * import { texelBytes } from "./gemm_plan.ts";
 * texelBytes({ format: "rgba16float" }); // 8
 * ```
 */
export function texelBytes(shape: Pick<CacheTextureShape, "format">): number {
  return shape.format === "rgba16float" ? 8 : 16;
}

/**
 * How `wgsl-expanded` binds its K/V textures: read-only storage textures in its decode tile
 * (one query per tile; lavapipe reads them 1.2-1.3x faster there), sampled ones in its
 * prefill tile (the storage form compiled 30% longer there; docs/benchmarks.md, session 16).
 * The launcher picks its line switch from it and `explain` prints it.
 *
 * @example
 * ```ts
 * import { expandedTextureBinding } from "./gemm_plan.ts";
 * expandedTextureBinding({ queryTile: 1 }); // "storage"
 * expandedTextureBinding({ queryTile: 4 }); // "sampled"
 * ```
 */
export function expandedTextureBinding(variant: { queryTile: number }): "storage" | "sampled" {
  return variant.queryTile === 1 ? "storage" : "sampled";
}
