/**
 * Loop budgets: some WebGPU implementations end every loop of a shader invocation
 * once all its loops together have run a fixed number of iterations. Mesa's
 * llvmpipe/lavapipe does (its gallivm loop limiter: one counter per invocation,
 * 65535 iterations, shared by every loop; afterwards each loop runs once more and
 * exits). A kernel that needs more computes on a silently truncated range, so the
 * adapter counts the iterations a kernel variant would run, exactly as the device
 * counts them, and keeps every plan within the budget (more KV splits) or declares
 * it unsupported with the reason.
 *
 * How the device counts (measured with gpu/loop_budget.wgsl and at the attention
 * kernels' boundaries, see tests/gpu_loop_budget_test.ts): one run of a loop with n
 * trips costs n + 1 (the exiting pass counts too) when n depends on a runtime value
 * or a loop-carried variable; a loop with a constant trip count (the kernels' loops
 * over the QT queries of a tile) is unrolled by Mesa's compiler before the limiter
 * is inserted and costs nothing.
 *
 * @module
 */
import type { DeviceCaps } from "./types.ts";

/** The loop budget of Mesa's llvmpipe/lavapipe (gallivm's LP_MAX_TGSI_LOOP_ITERATIONS). */
export const LLVMPIPE_LOOP_BUDGET = 65535;

/**
 * The loop-iteration budget of a device: the measured one when the caps carry it
 * (`loopIterationBudget`, null = none found), else the known budget of its driver
 * (llvmpipe/lavapipe), else null (no budget known).
 *
 * @example
 * ```ts
 * import { loopBudgetOf } from "./loop_budget.ts";
 * loopBudgetOf(null); // null
 * ```
 */
export function loopBudgetOf(caps: DeviceCaps | null): number | null {
  if (caps === null) return null;
  if (caps.loopIterationBudget !== undefined) return caps.loopIterationBudget;
  const a = caps.adapter;
  const names = `${a.vendor} ${a.architecture} ${a.device} ${a.description}`;
  return /llvmpipe|lavapipe/i.test(names) ? LLVMPIPE_LOOP_BUDGET : null;
}

/**
 * Keys per block of the attention kernels' key loop: the one home of this rule. The
 * adapter puts it in the plan's variant (`keysPerBlock`), the launchers pass it to the
 * WGSL as the `BLOCK` parameter (absorbed.wgsl and expanded.wgsl check it against
 * their query tile with a `const_assert`), and the loop count below uses it. Decode
 * (one query per tile) walks 16 keys per block (four vec4s of scores per lane);
 * query tiles of 2 or more walk 4 (one vec4 of scores per query).
 *
 * @example
 * ```ts
 * import { keysPerBlock } from "./loop_budget.ts";
 * keysPerBlock(1); // 16
 * keysPerBlock(4); // 4
 * ```
 */
export function keysPerBlock(queryTile: number): number {
  return queryTile === 1 ? 16 : 4;
}

/** Cost of one run of a loop with `trips` iterations. */
function run(trips: number): number {
  return trips + 1;
}

/**
 * A d loop over `width` vec4s that advances `step` per iteration, then its tail loop (one
 * trip per vec4 left: exact for one vec4 per fetch, an upper bound for packed rows, whose
 * tail takes two per trip).
 */
function dLoop(width: number, step: number): number {
  return run(Math.floor(width / step)) + run(width % step);
}

/** Shape of one attention-kernel invocation, for {@link attentionLoopIterations}. */
export interface AttentionLoopShape {
  /** Keys the invocation walks (one split's share of the longest sequence). */
  readonly keys: number;
  /** Queries per tile (QT of the kernel): 1 (decode) or 4 (prefill). */
  readonly queryTile: number;
  /** Score width in vec4s (absorbed: (kv_lora + rope) / 4; expanded: (nope + rope) / 4). */
  readonly keyVec4: number;
  /** Value width in vec4s (absorbed: kv_lora / 4; expanded: v / 4). */
  readonly valueVec4: number;
  /**
   * Vec4s the score and value d loops advance per trip (default 4): expanded.wgsl's decode
   * tile takes the plan's `decodeStep` (see {@link expandedDecodeStep}). Below 4 the
   * invocation also copies its query row into private memory first, one loop of `keyVec4`
   * trips, counted as costing its trips + 1 (an upper bound should the compiler unroll it).
   */
  readonly dStep?: number;
  /**
   * The kernel accumulates its rows in place in its output buffer (absorbed.wgsl, and
   * expanded.wgsl's prefill tile): one zeroing d loop before the key loop and one
   * normalizing d loop after it, each of `valueVec4` trips with the rows unrolled inside,
   * instead of the store loop over the tile's queries (expanded.wgsl's decode tile).
   * Default false.
   */
  readonly inPlaceOutput?: boolean;
}

/**
 * Loop iterations one invocation of absorbed.wgsl or expanded.wgsl runs, counted as
 * the device's loop limiter counts them. Both kernels have the same key loop: the
 * key-block loop ({@link keysPerBlock} keys per block), in each block the score d loop
 * and the value d loop (`dStep` vec4s per trip, default 4, then a tail loop). Around it,
 * expanded.wgsl's decode tile has the store loop over the tile's queries (a runtime
 * count, up to QT), each with a value-width loop (and, with a `dStep` below 4, a copy
 * loop over the query row before the key loop); absorbed.wgsl
 * and expanded.wgsl's prefill tile (`inPlaceOutput`) a zeroing and a normalizing
 * value-width loop. The constant-trip loops over the QT
 * queries and the heads of an invocation cost nothing.
 *
 * @example
 * ```ts
 * import { attentionLoopIterations } from "./loop_budget.ts";
 * // DeepSeek-V2-Lite absorbed decode over 4096 keys: 256 blocks x 73 + 2 x 129.
 * attentionLoopIterations({
 *   keys: 4096,
 *   queryTile: 1,
 *   keyVec4: 144,
 *   valueVec4: 128,
 *   inPlaceOutput: true,
 * }); // 18946
 * ```
 */
export function attentionLoopIterations(shape: AttentionLoopShape): number {
  const { keys, queryTile: qt, keyVec4, valueVec4 } = shape;
  const block = keysPerBlock(qt);
  const blocks = Math.ceil(keys / block);
  const step = shape.dStep ?? 4;
  const perBlock = 1 + dLoop(keyVec4, step) + dLoop(valueVec4, step);
  const store = shape.inPlaceOutput ? 2 * run(valueVec4) : run(qt) + qt * run(valueVec4);
  const copy = step < 4 ? run(keyVec4) : 0;
  return blocks * perBlock + store + copy;
}

/**
 * The most keys one invocation may walk within `budget` loop iterations (0 when even
 * one block does not fit).
 *
 * @example
 * ```ts
 * import { maxKeysWithinBudget } from "./loop_budget.ts";
 * maxKeysWithinBudget(65535, { queryTile: 1, keyVec4: 144, valueVec4: 128 }); // 14320
 * ```
 */
export function maxKeysWithinBudget(
  budget: number,
  shape: Omit<AttentionLoopShape, "keys">,
): number {
  const block = keysPerBlock(shape.queryTile);
  const fixed = attentionLoopIterations({ ...shape, keys: 0 });
  const perBlock = attentionLoopIterations({ ...shape, keys: block }) - fixed;
  return Math.max(0, Math.floor((budget - fixed) / perBlock)) * block;
}

/**
 * Vec4s per trip of expanded.wgsl's decode-tile d loops (its DSTEP): one fetch per key per
 * trip (`vec4PerFetch`: 1, or 2 for packed f16 rows) wherever the invocation's keys fit
 * the loop budget that way (with the query-row copy that step brings), else 4 (no copy).
 * Fewer vec4s per trip ran faster on lavapipe (the kernel says why) but cost up to 4 times
 * the loop iterations. A prefill tile (`queryTile` > 1) always walks 4.
 *
 * @example
 * ```ts
 * import { expandedDecodeStep } from "./loop_budget.ts";
 * const shape = { queryTile: 1, keyVec4: 48, valueVec4: 32 };
 * expandedDecodeStep(65535, { ...shape, keys: 4096 }, 1); // 1
 * expandedDecodeStep(65535, { ...shape, keys: 16384 }, 1); // 4
 * expandedDecodeStep(null, { ...shape, keys: 16384 }, 2); // 2
 * ```
 */
export function expandedDecodeStep(
  budget: number | null,
  shape: Omit<AttentionLoopShape, "dStep">,
  vec4PerFetch: number,
): number {
  if (shape.queryTile !== 1) return 4;
  if (budget === null) return vec4PerFetch;
  return attentionLoopIterations({ ...shape, dStep: vec4PerFetch }) <= budget ? vec4PerFetch : 4;
}
