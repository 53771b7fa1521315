/**
 * Planning of the CPU-shaped absorbed kernel (kernels/absorbed_gemm.wgsl: scores, softmax
 * and values as three passes with per-lane register tiles): tile sizes, the score
 * buffer's row stride and the loop iterations each pass runs per invocation (for devices
 * with a loop budget). Pure and GPU-free; the backend's check (adapter/backends.ts) puts
 * the results in the plan and the launcher only reads them.
 *
 * @module
 */
import type { MlaSpec, NormalizedLayout } from "./types.ts";

/** Heads of one register tile at most (16 x 16 keys: 8 FMAs per loaded number). */
export const GEMM_MAX_HEADS_PER_TILE = 16;
/** Keys per invocation of the scores pass (KG of the kernel). */
export const GEMM_KEYS_PER_GROUP = 16;
/** Invocations per workgroup: one lavapipe SIMD row. */
export const GEMM_WORKGROUP_SIZE = 8;
/** Queries per register tile of the expanded gemm kernel (QT of expanded_gemm.wgsl). */
export const GEMM_QUERY_TILE = 16;

/** The shape of a gemm-kernel variant (its WGSL @param values). */
export interface GemmShape {
  /** Heads per register tile (HT: the heads, at most 16). */
  readonly headsPerTile: number;
  /** Key width in vec4s (KEY_VEC4). */
  readonly keyVec4: number;
  /** Value width in vec4s (VAL_VEC4). */
  readonly valueVec4: number;
  /** Output vec4 columns per invocation of the values pass (EV: 4, or 2 or 1 to divide VAL_VEC4). */
  readonly columnsPerInvocation: number;
  /** vec4s per row of the score buffer (KMAX4): ceil(most visible keys / 4), at least 1. */
  readonly scoreVec4PerRow: number;
}

/**
 * The shape for a spec and layout: tiles of up to 16 heads, 4 output vec4s per
 * invocation (fewer when the value width needs it), score rows as long as the longest
 * sequence's keys.
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
  return {
    headsPerTile: Math.max(1, Math.min(spec.numHeads, GEMM_MAX_HEADS_PER_TILE)),
    keyVec4: Math.max(1, Math.floor((spec.kvLoraRank + spec.qkRopeHeadDim) / 4)),
    valueVec4,
    columnsPerInvocation,
    scoreVec4PerRow: Math.max(1, Math.ceil(longest / 4)),
  };
}

/** Loop iterations one invocation of each pass runs for `keys` visible keys. */
export interface GemmLoopIterations {
  /** The scores pass: its loop over the key width (one key group per invocation). */
  readonly scores: number;
  /** The softmax pass: three loops over the row's score vec4s. */
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
 * gemmLoopIterations({ keyVec4: 144 }, 4096); // { scores: 145, softmax: 3075, values: 1025 }
 * ```
 */
export function gemmLoopIterations(
  shape: Pick<GemmShape, "keyVec4">,
  keys: number,
): GemmLoopIterations {
  const vec4s = Math.ceil(keys / 4);
  return { scores: shape.keyVec4 + 1, softmax: 3 * (vec4s + 1), values: vec4s + 1 };
}

/**
 * The most visible keys one query may have within a loop budget (the softmax pass walks
 * its row three times, so it bounds them); 0 when not even the scores pass fits.
 *
 * @example
 * ```ts
 * import { gemmMaxKeys } from "./gemm_plan.ts";
 * gemmMaxKeys({ keyVec4: 144 }, 65535); // 87376
 * ```
 */
export function gemmMaxKeys(shape: Pick<GemmShape, "keyVec4">, budget: number): number {
  if (shape.keyVec4 + 1 > budget) return 0;
  // softmax: 3 x (ceil(keys / 4) + 1) <= budget; the values pass (ceil(keys / 4) + 1) fits
  // whenever the softmax does.
  return Math.max(0, 4 * (Math.floor(budget / 3) - 1));
}

/**
 * Output vec4 columns per invocation of a values pass over `valueVec4` vec4s: 4, or the
 * largest of 2 and 1 that divides it.
 *
 * @example
 * ```ts
 * import { gemmColumnsPerInvocation } from "./gemm_plan.ts";
 * gemmColumnsPerInvocation(32); // 4
 * gemmColumnsPerInvocation(6); // 2
 * ```
 */
export function gemmColumnsPerInvocation(valueVec4: number): number {
  return [4, 2, 1].find((e) => valueVec4 % e === 0) ?? 1;
}
