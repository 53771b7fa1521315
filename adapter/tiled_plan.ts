/**
 * Planning of the GPU-shaped absorbed kernel (kernels/absorbed_tiled.wgsl): rows per
 * workgroup, keys per staged tile for a workgroup-memory tier, invocations, the loop
 * iterations one invocation runs (for devices with a loop budget) and the KV splits
 * that fill the device. Pure and GPU-free; the backend's check (adapter/backends.ts)
 * puts the results in the plan's variant and the launcher only reads them.
 *
 * @module
 */
import type { DeviceClass } from "./device_class.ts";
import type { Dtype, MlaSpec, NormalizedLayout } from "./types.ts";

/**
 * The tiers the tiled kernel has variants for. A 48 KiB device runs the 32 KiB one unless a
 * plan tuning asks for 49152 (adapter/plan_tuning.ts `tiledTier`: only a GPU can time it).
 */
export type TiledTier = 16384 | 32768 | 49152;

/** Rows (query x head) of one workgroup at most: 32 x ceil(v/WG) vec4s per invocation. */
export const TILED_MAX_ROWS = 32;
/** Smallest key share of one split: fewer keys per split cost more in combine than they gain. */
export const TILED_MIN_KEYS_PER_SPLIT = 128;
/** Workgroups per SM the splits aim for (latency hiding: one stages while another computes). */
export const TILED_WORKGROUPS_PER_SM = 2;
/** SMs assumed when the device class does not know them (a mid-size GPU). */
export const TILED_DEFAULT_SMS = 64;
/** At most this many splits (the partial buffers grow with them). */
export const TILED_MAX_SPLITS = 64;
/**
 * The most q vec4s one invocation holds in registers (its segment of a score row,
 * widened to f32): the workgroup grows (up to 256) until its segment fits. 16 vec4s is
 * 64 registers next to the value phase's accumulator vec4s. Measured with AMD's compiler
 * (tools/spirv_audit.ts --radv, session 33): at 32 (V2-Lite decode at 128 invocations, 18
 * q vec4s and 16 accumulator vec4s each) the kernel took all 256 VGPRs and spilled in
 * f32; at 16 (256 invocations, 9 q vec4s, two value row groups of 8 rows) 152, no spill.
 */
export const TILED_MAX_Q_VEC4 = 16;
/**
 * Trip counts up to which {@link tiledLoopIterations} takes a constant loop of
 * absorbed_tiled.wgsl as unrolled (free on a loop-budget device). Measured on lavapipe
 * (Mesa 22.3) by the loop budget at DeepSeek-V2-Lite widths: the 16-trip row loops and
 * the 18-trip q-segment loop were unrolled, while the value phase's 32-row loops (before
 * value row groups: two queries of 16 heads, or 32 of 128 heads; now a 32-row group
 * only where kv_lora_rank passes 512) were not and cost their trips at every key (Mesa
 * unrolls a loop only while its trips times its body's instructions stay small). A
 * longer constant loop is counted as a loop, so the count stays an upper bound.
 */
export const TILED_UNROLLED_TRIPS = 18;

/**
 * Chunks in one invocation's q segment: a row's `keyChunks` chunks dealt round robin
 * over `segments` invocations (QSEG of absorbed_tiled.wgsl).
 *
 * @example
 * ```ts
 * import { tiledQSegment } from "./tiled_plan.ts";
 * tiledQSegment(144, 8); // 18
 * ```
 */
export function tiledQSegment(keyChunks: number, segments: number): number {
  return Math.ceil(keyChunks / segments);
}

/** The shape of a tiled-kernel variant (all WGSL @param values). */
export interface TiledShape {
  /** Invocations per workgroup (WG). */
  readonly workgroupSize: number;
  /** Heads per workgroup (HT). */
  readonly headsPerTile: number;
  /** Queries per tile (QT). */
  readonly queryTile: number;
  /** Keys per staged tile (KT). */
  readonly keysPerTile: number;
  /** Key width in vec4s (KEY_VEC4). */
  readonly keyVec4: number;
  /** Value width in vec4s (VAL_VEC4). */
  readonly valueVec4: number;
  /** vec4s per 16-byte chunk: 1 (f32) or 2 (f16). */
  readonly vec4PerChunk: number;
  /** The tier it was sized for. */
  readonly tier: TiledTier;
  /** The subgroup variant (one more workgroup word: its subgroups' counter). */
  readonly subgroups?: boolean;
  /**
   * Row groups of the value phase (RG): invocation t owns output vec4 column
   * t % valueVec4 of the rows of group t / valueVec4 (default 1: every row).
   */
  readonly valueRowGroups?: number;
  /** Keys per trip of the partial scores' loop (KPT; {@link tiledKeysPerTrip}; default 1). */
  readonly keysPerTrip?: number;
}

/**
 * Keys the tiled kernel's partial-score loop takes a trip (its KPT): 2 where the plan
 * unrolls the constant loops (a gpu-class device: two independent fma chains on the same q
 * registers, two loads in flight), else 1; the subgroup variant has no such loop. The
 * planner sizes and counts the shape with it and the launcher passes it, so the two
 * agree.
 *
 * @example
 * ```ts
 * import { tiledKeysPerTrip } from "./tiled_plan.ts";
 * tiledKeysPerTrip({ unrolledLoops: true }); // 2
 * tiledKeysPerTrip({ unrolledLoops: true, subgroups: true }); // 1
 * tiledKeysPerTrip({}); // 1
 * ```
 */
export function tiledKeysPerTrip(
  form: { unrolledLoops?: boolean; subgroups?: boolean },
): 1 | 2 {
  return form.unrolledLoops === true && form.subgroups !== true ? 2 : 1;
}

/**
 * The longest key tile whose values the tiled kernel runs unrolled
 * ({@link tiledUnrolledValueKeys}).
 */
export const TILED_MAX_UNROLLED_VALUE_KEYS = 16;

/**
 * Keys of the tiled kernel's unrolled value form (its VU_N): the key tile's KT where the plan
 * unrolls the constant loops (a gpu-class device), KT <= {@link TILED_MAX_UNROLLED_VALUE_KEYS}
 * and each value row group is one query's rows (RPG <= heads per tile) in whole vec4s of
 * probabilities (RPG a multiple of 4); else 0. A tile that every row of a group sees whole
 * (in a decode every tile but a split's last) then runs as KT unrolled keys without the mask
 * (RADV's assembly, session 37: 47 instructions a key against 80 in the loop).
 *
 * @example
 * ```ts
 * import { tiledUnrolledValueKeys } from "./tiled_plan.ts";
 * // V2-Lite decode at gpu class: 16 rows in 2 groups of 8, 8-key tiles
 * tiledUnrolledValueKeys({ unrolledLoops: true, keysPerBlock: 8, headsPerTile: 16,
 *   queryTile: 1, valueRowGroups: 2 }); // 8
 * tiledUnrolledValueKeys({ keysPerBlock: 8, headsPerTile: 16, queryTile: 1 }); // 0
 * ```
 */
export function tiledUnrolledValueKeys(
  form: {
    unrolledLoops?: boolean;
    keysPerBlock: number;
    headsPerTile: number;
    queryTile: number;
    valueRowGroups?: number;
  },
): number {
  const rpg = (form.headsPerTile * form.queryTile) / (form.valueRowGroups ?? 1);
  return form.unrolledLoops === true && form.keysPerBlock <= TILED_MAX_UNROLLED_VALUE_KEYS &&
      rpg <= form.headsPerTile && rpg % 4 === 0
    ? form.keysPerBlock
    : 0;
}

/**
 * Row groups of the tiled kernel's value phase: the largest power of two with
 * valueVec4 x RG <= WG invocations and RG <= rows, so that every invocation takes a
 * share of the value phase where the workgroup has room (32 rows, 256 invocations,
 * 128 value vec4s: 2 groups of 16 rows) and no invocation holds more rows than it must.
 *
 * @example
 * ```ts
 * import { tiledValueRowGroups } from "./tiled_plan.ts";
 * tiledValueRowGroups(256, 32, 128); // 2
 * tiledValueRowGroups(128, 16, 128); // 1
 * tiledValueRowGroups(64, 4, 8); // 4 (tiny: one row each)
 * ```
 */
export function tiledValueRowGroups(
  workgroupSize: number,
  rows: number,
  valueVec4: number,
): number {
  return pow2floor(Math.min(Math.floor(workgroupSize / valueVec4), rows));
}

const pow2ceil = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));
const pow2floor = (n: number) => 2 ** Math.floor(Math.log2(Math.max(1, n)));

/**
 * Workgroup-memory elements of a shape (an array element of any width counts one): what
 * the GL fallback zero-fills with one store each (adapter/slow_device.ts
 * GL_FALLBACK_MAX_WORKGROUP_ELEMENTS). The staged tile with its padding chunk per row,
 * the score tile (a row of vec4s of 4 rows per key), four per-row arrays (alpha, row_lim,
 * row_l, row_max), and the partial scores or the subgroup counter.
 *
 * @example
 * ```ts
 * import { tiledWorkgroupElements } from "./tiled_plan.ts";
 * // tiny (4 heads, 12 chunks a row), 8 keys: 8 x 13 + 8 x 1 + 4 x 4 + 8 x 64
 * tiledWorkgroupElements({ workgroupSize: 64, headsPerTile: 4, queryTile: 1, keysPerTile: 8,
 *   keyVec4: 12, valueVec4: 8, vec4PerChunk: 1, tier: 32768 }); // 640
 * ```
 */
export function tiledWorkgroupElements(s: TiledShape): number {
  const rows = s.headsPerTile * s.queryTile;
  return s.keysPerTile * tiledRowChunks(s) + s.keysPerTile * Math.ceil(rows / 4) + rows * 4 +
    (s.subgroups ? 1 : s.keysPerTile * s.workgroupSize);
}

/**
 * 16-byte chunks of one staged key row of absorbed_tiled.wgsl (its `KRow`): the key width
 * rounded up to whole score segments (SEG_W = workgroup size / rows, or the key width where
 * that is wider; the row is indexed [chunk / SEG_W][chunk % SEG_W]), plus one chunk of bank
 * padding.
 *
 * @example
 * ```ts
 * import { tiledRowChunks } from "./tiled_plan.ts";
 * // V2-Lite f32: 144 chunks in 16 segments of 9, + 1; f16: 72 chunks, 16 segments of 5, + 1
 * tiledRowChunks({ workgroupSize: 256, headsPerTile: 16, queryTile: 1, keysPerTile: 8,
 *   keyVec4: 144, valueVec4: 128, vec4PerChunk: 1, tier: 32768 }); // 145
 * tiledRowChunks({ workgroupSize: 256, headsPerTile: 16, queryTile: 1, keysPerTile: 8,
 *   keyVec4: 144, valueVec4: 128, vec4PerChunk: 2, tier: 32768 }); // 81
 * ```
 */
export function tiledRowChunks(s: TiledShape): number {
  const keyChunks = s.keyVec4 / s.vec4PerChunk;
  const width = Math.min(s.workgroupSize / (s.headsPerTile * s.queryTile), keyChunks);
  return Math.ceil(keyChunks / width) * width + 1;
}

/**
 * Workgroup-memory bytes of a shape: the staged tile (one chunk of padding per row),
 * the score/probability tile (per key, the rows in whole vec4s), four per-row arrays
 * (alpha, row_lim, row_l, row_max; until session 37 counted as three, 4 bytes a row short),
 * and either the partial scores (one f32 per key of the tile and invocation) or, in the
 * subgroup variant, which sums a score within a subgroup instead, the subgroups' atomic
 * counter.
 *
 * @example
 * ```ts
 * import { tiledWorkgroupBytes } from "./tiled_plan.ts";
 * // 8 x 145 x 16 + 8 x 4 x 16 + 16 x 16 + 8 x 128 x 4
 * tiledWorkgroupBytes({ workgroupSize: 128, headsPerTile: 16, queryTile: 1, keysPerTile: 8,
 *   keyVec4: 144, valueVec4: 128, vec4PerChunk: 1, tier: 32768 }); // 23424
 * ```
 */
export function tiledWorkgroupBytes(s: TiledShape): number {
  const rows = s.headsPerTile * s.queryTile;
  return s.keysPerTile * tiledRowChunks(s) * 16 + s.keysPerTile * Math.ceil(rows / 4) * 16 +
    rows * 16 +
    (s.subgroups ? 4 : s.keysPerTile * s.workgroupSize * 4);
}

/**
 * The tiled variant for a spec, layout, dtype and tier: HT = heads rounded up to a
 * power of two (at most 32); QT = the widest query count of a sequence, rounded up
 * to a power of two, while QT x HT <= 32 rows; WG = VAL_VEC4 rounded up to a power
 * of two in [64, 256] (one output vec4 column per invocation: the kernel needs
 * VAL_VEC4 <= WG, so kv_lora_rank <= 1024), doubled up to 256 while an invocation's q
 * segment (the key width over WG / rows invocations) exceeds {@link TILED_MAX_Q_VEC4}
 * vec4s (V2-Lite's 16 rows: 256, 9 chunks each; DeepSeek-V3's 32 rows: 256, the
 * ceiling); KT = the largest power of two in [2, 64] whose tile fits the tier (with the
 * subgroup variant's counter when `options.subgroups`) and, where
 * `options.maxWorkgroupElements` is set (the GL fallback), declares at most that many
 * workgroup-memory elements.
 *
 * @example
 * ```ts
 * import { normalizeLayout } from "./layout.ts";
 * import { presetSpec } from "./presets.ts";
 * import { tiledShape } from "./tiled_plan.ts";
 * const l = normalizeLayout({ kind: "bshd", batch: 4, seqQ: 1, seqK: 4096, causal: true });
 * const s = tiledShape(presetSpec("deepseek-v2-lite"), l, "f32", 32768);
 * [s.workgroupSize, s.headsPerTile, s.queryTile, s.keysPerTile]; // [256, 16, 1, 8]
 * ```
 */
export function tiledShape(
  spec: MlaSpec,
  layout: NormalizedLayout,
  dtype: Dtype,
  tier: TiledTier,
  options: {
    subgroups?: boolean;
    /** The plan unrolls the kernel's constant loops (gpu class; {@link tiledKeysPerTrip}). */
    unrolledLoops?: boolean;
    /**
     * The most invocations a workgroup may have on the device (default 256, WebGPU's
     * default limit): the q-segment growth stops there (a compatibility-mode device
     * offers 128), never below the one-column-per-invocation size.
     */
    maxWorkgroupSize?: number;
    /**
     * The most workgroup-memory elements the shape may declare
     * ({@link tiledWorkgroupElements}; adapter/slow_device.ts workgroupElementCap: the GL
     * fallback's): the key tile stops growing there (it is 2 keys at least). Default: no cap.
     */
    maxWorkgroupElements?: number | null;
    /** Rows a workgroup holds at most (a power of two; default {@link TILED_MAX_ROWS}). */
    maxRows?: number;
    /** q vec4s an invocation holds at most (default {@link TILED_MAX_Q_VEC4}). */
    maxQVec4?: number;
  } = {},
): TiledShape {
  const maxRows = options.maxRows ?? TILED_MAX_ROWS;
  const maxQVec4 = options.maxQVec4 ?? TILED_MAX_Q_VEC4;
  const headsPerTile = Math.min(pow2ceil(spec.numHeads), maxRows);
  const widestQ = layout.seqs.reduce((m, s) => Math.max(m, s.qLen), 1);
  const queryTile = Math.min(pow2ceil(widestQ), pow2floor(maxRows / headsPerTile));
  const keyVec4 = (spec.kvLoraRank + spec.qkRopeHeadDim) / 4;
  const valueVec4 = spec.kvLoraRank / 4;
  const rows = headsPerTile * queryTile;
  const vec4PerChunk = dtype === "f16" ? 2 : 1;
  // One output vec4 column per invocation; then, up to 256, enough invocations that the
  // q segment each holds in registers stays within TILED_MAX_Q_VEC4 (a subgroup plan
  // holds none, but its WG is kept the same so both variants share one shape).
  let workgroupSize = Math.min(256, Math.max(64, pow2ceil(valueVec4)));
  const growTo = Math.min(256, options.maxWorkgroupSize ?? 256);
  while (
    workgroupSize < growTo &&
    tiledQSegment(keyVec4 / vec4PerChunk, workgroupSize / rows) * vec4PerChunk > maxQVec4
  ) {
    workgroupSize *= 2;
  }
  const base = {
    workgroupSize,
    valueRowGroups: tiledValueRowGroups(workgroupSize, rows, valueVec4),
    headsPerTile,
    queryTile,
    keyVec4,
    valueVec4,
    vec4PerChunk,
    tier,
    ...(options.subgroups ? { subgroups: true } : {}),
    ...(tiledKeysPerTrip(options) === 2 ? { keysPerTrip: 2 } : {}),
  };
  const cap = options.maxWorkgroupElements ?? Infinity;
  let keysPerTile = 2;
  while (
    keysPerTile < 64 && tiledWorkgroupBytes({ ...base, keysPerTile: keysPerTile * 2 }) <= tier &&
    tiledWorkgroupElements({ ...base, keysPerTile: keysPerTile * 2 }) <= cap
  ) {
    keysPerTile *= 2;
  }
  return { ...base, keysPerTile };
}

/**
 * Loop iterations per tile added to the count of {@link tiledLoopIterations} as a
 * margin: on lavapipe a DeepSeek-V2-Lite f32 tile measured about 2 iterations more
 * than its loops account for (the last key of one split was reached at 6553 keys and
 * not at 6554, where the loops alone allow 6720); twice that keeps the count an upper
 * bound.
 */
export const TILED_LOOP_MARGIN = 4;

/**
 * What a constant loop of `trips` trips costs a loop-budget device: nothing while it is
 * unrolled (up to {@link TILED_UNROLLED_TRIPS}), else its trips + 1 like any loop.
 */
const constantLoop = (trips: number) => trips > TILED_UNROLLED_TRIPS ? trips + 1 : 0;

/**
 * Loop iterations one invocation of absorbed_tiled.wgsl runs over `keys` keys, counted
 * as a loop-budget device (lavapipe) counts them: one run of a loop costs its trips + 1.
 * The loops with a runtime trip count always count; the constant ones (over rows, chunk
 * halves, a q segment, a pair's partials, a tile's staged chunks) cost nothing while
 * unrolled and count as loops past {@link TILED_UNROLLED_TRIPS} trips.
 *
 * - Once: the q segment's load (counted as a loop of QSEG trips whether unrolled or not,
 *   a margin), the first tile's fetch, the store loop (rows), the tile loop's exit.
 * - Per tile of nk keys: the tile loop's pass; the staging loops (the fetch one tile
 *   ahead and the store into workgroup memory, STAGE_N = KT x key chunks / WG trips
 *   each); the partial scores' key loop; the pair loop (ROWS x KT pairs over WG) and the
 *   softmax's pair loop (the same trips; since session 34 no row walks its keys); the
 *   value phase's key loop; the rescale's row loop; and {@link TILED_LOOP_MARGIN}.
 * - Per key: the values' key loop's trip and the row loop inside it; per KPT keys the
 *   partial scores' trip and the q-segment loop inside it
 *   (the value phase's row loop is RPG / 4 trips of four rows where a row group is one
 *   query's and RPG a multiple of 4).
 *
 * Invocation 0 runs the most (it has a softmax row and a value column). The subgroup
 * variant has no q segment and no partial-score loop; each of its pairs walks the score
 * d loops instead (four chunks per trip, then a tail loop). Checked at the boundary on
 * lavapipe (tests/kernels_absorbed_tiled_test.ts).
 *
 * @example
 * ```ts
 * import { tiledLoopIterations } from "./tiled_plan.ts";
 * // tiny (10 key chunks, 4 rows, 64 keys per tile, WG 64: 16 segments of 1 chunk)
 * // over 100 keys: 2 tiles.
 * const s = { workgroupSize: 64, headsPerTile: 4, queryTile: 1, keysPerTile: 64,
 *   keyVec4: 10, valueVec4: 8, vec4PerChunk: 1, tier: 32768 } as const;
 * tiledLoopIterations(s, 100); // 2 + 2 * (1 + 1 + 2 * 5 + 1 + 4) + 2 * 100 + 1 = 237
 * tiledLoopIterations({ ...s, keysPerTrip: 2 }, 100); // 187: the 100 keys scored in 50 trips, not 100
 * ```
 */
export function tiledLoopIterations(s: TiledShape, keys: number): number {
  const tiles = Math.ceil(keys / s.keysPerTile);
  const keyChunks = s.keyVec4 / s.vec4PerChunk;
  const rows = s.headsPerTile * s.queryTile;
  const pairTrips = Math.ceil((rows * s.keysPerTile) / s.workgroupSize);
  const stage = constantLoop(Math.ceil((s.keysPerTile * keyChunks) / s.workgroupSize));
  const rpg = rows / (s.valueRowGroups ?? 1);
  const rowLoop = constantLoop(rpg);
  // The value phase's row loop at every key: a group of one query's rows (RPG <= HT) reads
  // its probabilities four rows a load when RPG is a multiple of 4 (RPG / 4 trips, a loop
  // of 4 inside), else a row a trip; a group of several queries selects row by row. Mesa
  // unrolls the four-row loop (8 trips at 32 rows), but at 32 rows the boundary test's
  // shape (kv_lora_rank 1024, 4-key tiles) reached 1302 keys where counting it as unrolled
  // allowed 1308 (and as a loop, 9 a key, 1109): 1 iteration a key there keeps the count
  // an upper bound (1276), as TILED_LOOP_MARGIN does per tile (session 34, the softmax's
  // key loops gone: reached 1360, count 1335).
  const keyRowLoop = rpg <= s.headsPerTile && rpg % 4 === 0
    ? (rpg > TILED_UNROLLED_TRIPS ? 1 : constantLoop(rpg / 4))
    : rowLoop;
  // What the two score forms share: per tile the tile pass, two staging loops, the pair
  // loop and the softmax's pair loop, the +1 of the values' key loop, the rescale and the
  // margin; once, the first fetch, the stores and the sums' publication (rows), the exit.
  const perTile = 1 + 2 * stage + 2 * (pairTrips + 1) + 1 + rowLoop + TILED_LOOP_MARGIN;
  const once = stage + 2 * rowLoop + 1;
  if (s.subgroups) {
    const dLoop = Math.floor(keyChunks / 4) + 1 + (keyChunks % 4) + 1;
    return once + tiles * (perTile + pairTrips * dLoop) + (1 + keyRowLoop) * keys;
  }
  const segments = s.workgroupSize / rows;
  const qSeg = tiledQSegment(keyChunks, segments);
  // The partial scores' key loop (+1 a tile; a trip per KPT keys: KT is a multiple of
  // KPT, so over whole tiles and the last one's nk that is ceil(keys / KPT); the q
  // segment's loop inside it, whose body is KPT keys long: counted as a loop past
  // TILED_UNROLLED_TRIPS / KPT trips, Mesa unrolling by body size) and a pair's partials
  // inside the pair loop.
  const kpt = s.keysPerTrip ?? 1;
  return once + qSeg + 1 +
    tiles * (perTile + 1 + pairTrips * constantLoop(segments)) +
    (1 + (qSeg * kpt > TILED_UNROLLED_TRIPS ? qSeg + 1 : 0)) * Math.ceil(keys / kpt) +
    (1 + keyRowLoop) * keys;
}

/**
 * The most keys one invocation may walk within a loop budget (0 when not one fits).
 *
 * @example
 * ```ts
 * import { tiledMaxKeys } from "./tiled_plan.ts";
 * const s = { workgroupSize: 64, headsPerTile: 4, queryTile: 1, keysPerTile: 64,
 *   keyVec4: 10, valueVec4: 8, vec4PerChunk: 1, tier: 32768 } as const;
 * tiledMaxKeys(s, 237); // 100
 * ```
 */
export function tiledMaxKeys(s: TiledShape, budget: number): number {
  if (tiledLoopIterations(s, 1) > budget) return 0;
  let lo = 1;
  let hi = 2;
  while (tiledLoopIterations(s, hi) <= budget) hi *= 2;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (tiledLoopIterations(s, mid) <= budget) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * KV splits of the tiled kernel: enough for {@link TILED_WORKGROUPS_PER_SM} workgroups
 * per SM (the class's SM count, else {@link TILED_DEFAULT_SMS}), but no fewer than
 * {@link TILED_MIN_KEYS_PER_SPLIT} keys per split; and always at least as many as the
 * loop budget needs (`maxKeysPerSplit`). Filling the device never takes more splits than
 * `maxSplitsByBuffer` (the partial outputs must fit one storage binding); the budget's
 * minimum does, and the check then reports the buffer.
 *
 * @example
 * ```ts
 * import { tiledKvSplits } from "./tiled_plan.ts";
 * // V2-Lite headline decode on an H100: 4 workgroups, 4096 keys: 32 splits of 128 keys.
 * tiledKvSplits({ workgroups: 4, maxKLen: 4096, smCount: 132, maxKeysPerSplit: Infinity }); // 32
 * tiledKvSplits({ workgroups: 4, maxKLen: 100, smCount: 132, maxKeysPerSplit: Infinity }); // 1
 * tiledKvSplits({ workgroups: 4, maxKLen: 4096, smCount: 132, maxKeysPerSplit: Infinity,
 *   maxSplitsByBuffer: 8 }); // 8
 * ```
 */
export function tiledKvSplits(
  o: {
    workgroups: number;
    maxKLen: number;
    smCount: number | null;
    maxKeysPerSplit: number;
    /** Most splits whose partial buffers fit one binding (default: no limit). */
    maxSplitsByBuffer?: number;
    /** Keys per split at least (default {@link TILED_MIN_KEYS_PER_SPLIT}). */
    minKeysPerSplit?: number;
    /** Workgroups per SM to aim for (default {@link TILED_WORKGROUPS_PER_SM}). */
    workgroupsPerSm?: number;
  },
): number {
  const target = (o.workgroupsPerSm ?? TILED_WORKGROUPS_PER_SM) *
    (o.smCount ?? TILED_DEFAULT_SMS);
  const fill = Math.min(
    Math.ceil(target / Math.max(1, o.workgroups)),
    Math.floor(o.maxKLen / (o.minKeysPerSplit ?? TILED_MIN_KEYS_PER_SPLIT)),
    TILED_MAX_SPLITS,
    o.maxSplitsByBuffer ?? Infinity,
  );
  const budget = Number.isFinite(o.maxKeysPerSplit) && o.maxKeysPerSplit > 0
    ? Math.ceil(o.maxKLen / o.maxKeysPerSplit)
    : 1;
  return Math.max(1, fill, budget);
}

/**
 * The tier the tiled kernel runs at: a plan tuning's `tiledTier` where it sets one (whether
 * the device holds it is the backend's check); else on a device class 32 KiB at or above it
 * (a 48 KiB device too: that tier can only be timed on a GPU, so only a tuning asks for it),
 * 16 KiB at or above that, null below (the device cannot hold a tile); without a device
 * class (no caps), 32 KiB.
 *
 * @example
 * ```ts
 * import { tiledTierOf } from "./tiled_plan.ts";
 * const h100 = { kind: "gpu", reasons: [], kindSource: "rules", workgroupStorageBytes: 49152,
 *   workgroupMemoryTier: 49152, smCount: 132, smCountSource: "table" } as const;
 * tiledTierOf(h100); // 32768
 * tiledTierOf(h100, 49152); // 49152
 * ```
 */
export function tiledTierOf(c: DeviceClass | null, tuned?: TiledTier): TiledTier | null {
  if (tuned !== undefined) return tuned;
  if (c === null) return 32768;
  if (c.workgroupMemoryTier === null) return null;
  return c.workgroupMemoryTier >= 32768 ? 32768 : 16384;
}

/** The query tiles expanded_fa2.wgsl is built for (its BQ), largest first. */
export const FA2_QUERY_TILES: readonly number[] = [64, 32, 16];
/** Queries per tile of expanded_fa2.wgsl: the largest tile, taken unless the grid is too small. */
export const FA2_QUERY_TILE = FA2_QUERY_TILES[0];
/** Keys per tile of expanded_fa2.wgsl. */
export const FA2_KEY_TILE = 32;
/** Workgroups per SM the FA2 grid should reach before a smaller query tile is taken. */
export const FA2_WORKGROUPS_PER_SM = 2;
/** Smallest key share of one FA2 KV split: 8 key tiles (fewer cost more in combine). */
export const FA2_MIN_KEYS_PER_SPLIT = 256;

/**
 * KV splits of expanded_fa2.wgsl on a device of `smCount` SMs (null: a cpu-class device,
 * which gets 1): where the grid of query tiles x heads is under
 * {@link FA2_WORKGROUPS_PER_SM} workgroups per SM (a decode: one tile per sequence and
 * head), enough splits to reach it, each at least {@link FA2_MIN_KEYS_PER_SPLIT} keys, at
 * most {@link TILED_MAX_SPLITS}.
 *
 * @example
 * ```ts
 * import { fa2KvSplits } from "./tiled_plan.ts";
 * // V2-Lite dense decode, b 4 (64 workgroups), 4096 keys, 132 SMs: 264 / 64 -> 5.
 * fa2KvSplits({ workgroups: 64, maxKLen: 4096, smCount: 132 }); // 5
 * fa2KvSplits({ workgroups: 1024, maxKLen: 4096, smCount: 132 }); // 1 (a 4096 prefill)
 * fa2KvSplits({ workgroups: 64, maxKLen: 300, smCount: 132 }); // 1 (too few keys)
 * ```
 */
export function fa2KvSplits(
  o: {
    workgroups: number;
    maxKLen: number;
    smCount: number | null;
    /** Keys per split at least (default {@link FA2_MIN_KEYS_PER_SPLIT}). */
    minKeysPerSplit?: number;
    /** Workgroups per SM to aim for (default {@link FA2_WORKGROUPS_PER_SM}). */
    workgroupsPerSm?: number;
  },
): number {
  if (o.smCount === null) return 1;
  const target = (o.workgroupsPerSm ?? FA2_WORKGROUPS_PER_SM) * o.smCount;
  if (o.workgroups >= target) return 1;
  return Math.max(
    1,
    Math.min(
      Math.ceil(target / Math.max(1, o.workgroups)),
      Math.floor(o.maxKLen / (o.minKeysPerSplit ?? FA2_MIN_KEYS_PER_SPLIT)),
      TILED_MAX_SPLITS,
    ),
  );
}

/**
 * Keys one split of expanded_fa2.wgsl walks at most: all of them in one split, else the
 * keys shared in whole key tiles (as the kernel's `share`), never more than there are.
 *
 * @example
 * ```ts
 * import { fa2KeysPerSplit } from "./tiled_plan.ts";
 * fa2KeysPerSplit(300, 3); // 128 (100 rounded up to 4 tiles of 32)
 * fa2KeysPerSplit(300, 1); // 300
 * ```
 */
export function fa2KeysPerSplit(keys: number, splits: number): number {
  if (splits <= 1) return keys;
  return Math.min(keys, Math.ceil(Math.ceil(keys / splits) / FA2_KEY_TILE) * FA2_KEY_TILE);
}

/**
 * The fewest KV splits of expanded_fa2.wgsl whose share ({@link fa2KeysPerSplit}: whole key
 * tiles) of `keys` keys is at most `maxKeysPerSplit` (the loop budget's, {@link fa2MaxKeys});
 * null where no count does (the budget fits less than one key tile).
 *
 * @example
 * ```ts
 * import { fa2BudgetKvSplits } from "./tiled_plan.ts";
 * fa2BudgetKvSplits(200000, 41936); // 5 (shares of 40000 keys)
 * fa2BudgetKvSplits(100, 41936); // 1
 * fa2BudgetKvSplits(100, 20); // null
 * ```
 */
export function fa2BudgetKvSplits(keys: number, maxKeysPerSplit: number): number | null {
  if (keys <= maxKeysPerSplit) return 1;
  const tileKeys = Math.floor(maxKeysPerSplit / FA2_KEY_TILE) * FA2_KEY_TILE;
  if (tileKeys < FA2_KEY_TILE) return null;
  return Math.ceil(keys / tileKeys);
}

/**
 * Invocations of expanded_fa2.wgsl at a query tile: BQ / 4 query micro-rows x 8 key
 * micro-columns (each a 4 x 4 register tile).
 *
 * @example
 * ```ts
 * import { fa2WorkgroupSize } from "./tiled_plan.ts";
 * fa2WorkgroupSize(16); // 32
 * ```
 */
export function fa2WorkgroupSize(queryTile: number): number {
  return (queryTile / 4) * (FA2_KEY_TILE / 4);
}

/**
 * Workgroups of an expanded_fa2.wgsl grid: one per query tile of each sequence and head.
 *
 * @example
 * ```ts
 * import { fa2Grid } from "./tiled_plan.ts";
 * fa2Grid([256, 70], 16, 64); // (4 + 2) x 16 = 96
 * ```
 */
export function fa2Grid(queryLens: readonly number[], heads: number, queryTile: number): number {
  return queryLens.reduce((n, len) => n + Math.ceil(len / queryTile), 0) * heads;
}

/**
 * Staged vec4s of expanded_fa2.wgsl at a query tile and chunk width: the q chunk (`qs`,
 * BQ x chunk) and the array the k chunk and then the V tile share (`kv`, rows of VR x 8
 * vec4s, VR = the value width in groups of 8 vec4s: max(32 keys, the k chunk's 4 x chunk
 * elements in rows of VR) rows).
 *
 * @example
 * ```ts
 * import { fa2StagedVec4 } from "./tiled_plan.ts";
 * // V2-Lite, 64 queries, chunks of 16: 64 x 16 + max(32, 64 / 4) x 4 x 8
 * fa2StagedVec4({ qkVec4: 48, vVec4: 32 }, 64, 16); // 1024 + 1024 = 2048
 * // tiny (v 16: VR 1), 16 queries, chunks of 6: 16 x 6 + max(32, 24) x 1 x 8
 * fa2StagedVec4({ qkVec4: 6, vVec4: 4 }, 16, 6); // 96 + 256 = 352
 * ```
 */
export function fa2StagedVec4(s: Fa2Shape, queryTile: number, chunkVec4: number): number {
  const vr = Math.ceil(s.vVec4 / 8);
  const rows = Math.max(FA2_KEY_TILE, Math.ceil((4 * chunkVec4) / vr));
  return queryTile * chunkVec4 + rows * vr * 8;
}

/**
 * Workgroup-memory elements of expanded_fa2.wgsl at a query tile and chunk width (an array
 * element of any width counts one; what the GL fallback zero-fills with one store each):
 * the staged vec4s ({@link fa2StagedVec4}), the score tile (32 keys of BQ / 4 + 1 vec4s),
 * three per-row arrays (keys seen, q offset, running max) and the row minimum.
 *
 * @example
 * ```ts
 * import { fa2WorkgroupElements } from "./tiled_plan.ts";
 * // tiny (v 16), 16 queries, chunks of 6 vec4s: 352 + 32 x 5 + 3 x 16 + 1
 * fa2WorkgroupElements({ qkVec4: 6, vVec4: 4 }, 16, 6); // 561
 * ```
 */
export function fa2WorkgroupElements(
  s: Fa2Shape,
  queryTile: number,
  chunkVec4: number,
): number {
  const k = FA2_KEY_TILE;
  return fa2StagedVec4(s, queryTile, chunkVec4) + k * (queryTile / 4 + 1) + 3 * queryTile + 1;
}

/** The widest chunk of the head width expanded_fa2.wgsl stages at once, in vec4s. */
export const FA2_MAX_CHUNK_VEC4 = 16;

/**
 * The chunk width of expanded_fa2.wgsl's score GEMM (its DKV, the plan's `chunkVec4`): the
 * widest divisor of the head width in vec4s, at most {@link FA2_MAX_CHUNK_VEC4}, whose
 * workgroup memory fits `maxBytes` and `maxElements` (null: no such limit); 1 where none
 * does (the plan is then refused on its bytes). Wider chunks mean fewer barriers per key
 * tile (two per chunk) and fewer, longer runs of FMAs between them; a divisor keeps every
 * chunk whole, so the column loop's trip count is a constant the driver can unroll.
 *
 * @example
 * ```ts
 * import { fa2ChunkVec4 } from "./tiled_plan.ts";
 * // DeepSeek-V2-Lite (48 and 32 vec4s), 64 queries: 6 at 32 KiB (8 chunks), 16 at 48.
 * fa2ChunkVec4({ qkVec4: 48, vVec4: 32 }, 64, { maxBytes: 32768 }); // 6
 * fa2ChunkVec4({ qkVec4: 48, vVec4: 32 }, 64, { maxBytes: 49152 }); // 16
 * // tiny (6 vec4s) within the GL fallback's 1024 elements: 1 at 64 queries, 6 at 32.
 * fa2ChunkVec4({ qkVec4: 6, vVec4: 4 }, 64, { maxElements: 1024 }); // 1
 * fa2ChunkVec4({ qkVec4: 6, vVec4: 4 }, 32, { maxElements: 1024 }); // 6
 * ```
 */
export function fa2ChunkVec4(
  s: Fa2Shape,
  queryTile: number,
  bound: {
    maxBytes?: number | null;
    maxElements?: number | null;
    /** The widest chunk to consider (default {@link FA2_MAX_CHUNK_VEC4}). */
    maxChunkVec4?: number;
  } = {},
): number {
  for (let d = Math.min(bound.maxChunkVec4 ?? FA2_MAX_CHUNK_VEC4, s.qkVec4); d > 1; d--) {
    if (s.qkVec4 % d !== 0) continue;
    if (bound.maxBytes != null && fa2WorkgroupBytes(s, queryTile, d) > bound.maxBytes) continue;
    if (
      bound.maxElements != null &&
      fa2WorkgroupElements(s, queryTile, d) > bound.maxElements
    ) continue;
    return d;
  }
  return 1;
}

/** The query tile of an expanded_fa2.wgsl plan, and its grid. */
export interface Fa2QueryTileChoice {
  /** Queries per tile (BQ). */
  readonly queryTile: number;
  /** Workgroups of the grid at that tile (query tiles x heads). */
  readonly workgroups: number;
  /** Workgroups the grid should reach (SMs x {@link FA2_WORKGROUPS_PER_SM}); null: SMs unknown. */
  readonly target: number | null;
  /**
   * The workgroup-element cap the tile was held to (the GL fallback's,
   * adapter/slow_device.ts), or null: none.
   */
  readonly elementCap: number | null;
  /**
   * The workgroup memory (bytes) that held the tile below the largest the element cap
   * allows, or null: none did.
   */
  readonly bytesCap: number | null;
}

/**
 * expanded_fa2.wgsl's query tile: the largest of {@link FA2_QUERY_TILES} whose grid (one
 * workgroup per query tile and head) reaches {@link FA2_WORKGROUPS_PER_SM} workgroups per
 * SM, else the smallest; the largest when the SM count is unknown (a CPU implementation,
 * or a GPU missing from adapter/device_class.ts's table: it then runs as before). On a GPU
 * a causal prefill's time is its longest tile's (the last queries see every key), so on a
 * grid that leaves SMs idle a smaller tile both fills them and shortens that tile; a
 * long prefill keeps 64 queries, which stage each key tile for more rows. With
 * `maxWorkgroupElements` (the GL fallback, adapter/slow_device.ts) only the tiles within
 * that many workgroup-memory elements are candidates, the smallest tile if none is; with
 * `maxWorkgroupBytes` only those whose narrowest chunk fits that many bytes, where one does.
 *
 * @example
 * ```ts
 * import { fa2QueryTile } from "./tiled_plan.ts";
 * // DeepSeek-V2-Lite (16 heads) on an H100 (132 SMs): 256 queries, then 4096.
 * fa2QueryTile({ queryLens: [256], heads: 16, smCount: 132 }).queryTile; // 16
 * fa2QueryTile({ queryLens: [4096], heads: 16, smCount: 132 }).queryTile; // 64
 * fa2QueryTile({ queryLens: [256], heads: 16, smCount: null }).queryTile; // 64
 * // tiny widths on the GL fallback (1024 elements at most): 64 queries do not fit.
 * fa2QueryTile({ queryLens: [4], heads: 4, smCount: null, shape: { qkVec4: 6, vVec4: 4 },
 *   maxWorkgroupElements: 1024 }).queryTile; // 32
 * // MiniCPM3's widths (24 and 16 vec4s) on a 16 KiB device: 64 queries need 18692 bytes.
 * fa2QueryTile({ queryLens: [4096], heads: 40, smCount: null, shape: { qkVec4: 24, vVec4: 16 },
 *   maxWorkgroupBytes: 16384 }).queryTile; // 32
 * ```
 */
export function fa2QueryTile(
  o: {
    queryLens: readonly number[];
    heads: number;
    smCount: number | null;
    /** With `maxWorkgroupElements` or `maxWorkgroupBytes`: the kernel's widths. */
    shape?: Fa2Shape;
    /** Only tiles within this many workgroup-memory elements (else the smallest tile). */
    maxWorkgroupElements?: number | null;
    /**
     * Only tiles whose narrowest chunk fits this many bytes of workgroup memory (the device's
     * maxComputeWorkgroupStorageSize), where one does: else the tiles as without it, and the
     * plan is refused on its bytes.
     */
    maxWorkgroupBytes?: number | null;
    /** Workgroups per SM the grid should reach (default {@link FA2_WORKGROUPS_PER_SM}). */
    workgroupsPerSm?: number;
  },
): Fa2QueryTileChoice {
  const grid = (qt: number) => fa2Grid(o.queryLens, o.heads, qt);
  const cap = o.maxWorkgroupElements ?? null;
  const bytes = o.maxWorkgroupBytes ?? null;
  const smallest = FA2_QUERY_TILES[FA2_QUERY_TILES.length - 1];
  const shape = o.shape;
  const byElements = cap === null || shape === undefined
    ? FA2_QUERY_TILES
    : FA2_QUERY_TILES.filter((qt) => fa2WorkgroupElements(shape, qt, 1) <= cap);
  const elementTiles = byElements.length > 0 ? byElements : [smallest];
  // A 64-query tile whose V tile and probabilities pass a 16 KiB device (MiniCPM3's widths:
  // 18692 bytes at the narrowest chunk) was refused, where 32 queries fit (13700).
  const byBytes = bytes === null || shape === undefined
    ? elementTiles
    : elementTiles.filter((qt) => fa2WorkgroupBytes(shape, qt, 1) <= bytes);
  const tiles = byBytes.length > 0 ? byBytes : elementTiles;
  const elementCap = elementTiles[0] === FA2_QUERY_TILE ? null : cap;
  const bytesCap = tiles[0] === elementTiles[0] ? null : bytes;
  if (o.smCount === null) {
    return { queryTile: tiles[0], workgroups: grid(tiles[0]), target: null, elementCap, bytesCap };
  }
  const target = (o.workgroupsPerSm ?? FA2_WORKGROUPS_PER_SM) * o.smCount;
  const queryTile = tiles.find((qt) => grid(qt) >= target) ?? tiles[tiles.length - 1];
  return { queryTile, workgroups: grid(queryTile), target, elementCap, bytesCap };
}
/** Loop iterations per key tile added to {@link fa2LoopIterations} as a margin. */
export const FA2_LOOP_MARGIN = 4;

/** Widths of an expanded_fa2.wgsl variant. */
export interface Fa2Shape {
  /** (nope + rope) / 4. */
  readonly qkVec4: number;
  /** v / 4. */
  readonly vVec4: number;
}

/**
 * Workgroup-memory bytes of expanded_fa2.wgsl at a query tile and chunk width: the staged
 * vec4s ({@link fa2StagedVec4}: the q chunk, and the k chunk then the V tile in one
 * array), the probability tile (32 keys of BQ / 4 vec4s, padded by one so the stores
 * spread over the banks), three per-row arrays and the row minimum.
 *
 * @example
 * ```ts
 * import { fa2WorkgroupBytes } from "./tiled_plan.ts";
 * // V2-Lite, 64 queries, chunks of 6: 16 x (384 + 1024) + 16 x 32 x 17 + 12 x 64 + 4
 * fa2WorkgroupBytes({ qkVec4: 48, vVec4: 32 }, 64, 6); // 22528 + 8704 + 768 + 4 = 32004
 * fa2WorkgroupBytes({ qkVec4: 48, vVec4: 32 }, 16, 12); // 19456 + 2560 + 192 + 4 = 22212
 * ```
 */
export function fa2WorkgroupBytes(
  s: Fa2Shape,
  queryTile: number,
  chunkVec4: number,
): number {
  const k = FA2_KEY_TILE;
  return 16 * fa2StagedVec4(s, queryTile, chunkVec4) + 16 * k * (queryTile / 4 + 1) +
    12 * queryTile + 4;
}

/**
 * Loop iterations one invocation of expanded_fa2.wgsl runs over `keys` keys at a query
 * tile and chunk width, counted as a loop-budget device counts them. Per key tile: its
 * pass, the chunk loop (C = QK_VEC4 / chunk chunks) with 4 per chunk (the staging loops,
 * loads then stores of BQ * chunk / WG and 32 * chunk / WG trips, have constant trip counts
 * since session 34 and cost nothing while unrolled, up to {@link TILED_UNROLLED_TRIPS}
 * trips), the head width's column loops (QK_VEC4 over the chunks; a device that unrolls
 * them counts less: lavapipe at tiny's 6 columns), the V staging (2 constant loops of 32 *
 * V_VEC4 / WG trips, + 1), the +1 of the P V key loop, and {@link FA2_LOOP_MARGIN}; the P V
 * key loop adds the keys over all tiles (since session 34 the softmax walks no keys: each
 * invocation exponentiates its own micro-tile).
 *
 * @example
 * ```ts
 * import { fa2LoopIterations } from "./tiled_plan.ts";
 * // DeepSeek-V2-Lite widths over 64 keys, chunks of 4: 2 tiles of 3 + 4 * 12 + 48 + 1 + 4, + 64 + 1.
 * fa2LoopIterations({ qkVec4: 48, vVec4: 32 }, 64, 64, 4); // 273
 * // chunks of 12: 2 tiles of 3 + 4 * 4 + 48 + 1 + 4, + 64 + 1.
 * fa2LoopIterations({ qkVec4: 48, vVec4: 32 }, 64, 64, 12); // 209
 * // 16-query tiles (32 invocations: V staged in 32 trips, loops): 2 tiles of
 * // 3 + 4 * 12 + 48 + (2 * 33 + 1) + 4, + 64 + 1.
 * fa2LoopIterations({ qkVec4: 48, vVec4: 32 }, 64, 16, 4); // 405
 * ```
 */
export function fa2LoopIterations(
  s: Fa2Shape,
  keys: number,
  queryTile: number,
  chunkVec4: number,
): number {
  const wg = fa2WorkgroupSize(queryTile);
  const tiles = Math.ceil(keys / FA2_KEY_TILE);
  const chunks = Math.ceil(s.qkVec4 / chunkVec4);
  // The staging loops (loads, then stores) have constant trip counts since session 34:
  // nothing while unrolled.
  const perChunk = 2 * constantLoop(Math.ceil((queryTile * chunkVec4) / wg)) +
    2 * constantLoop(Math.ceil((FA2_KEY_TILE * chunkVec4) / wg)) + 4;
  const vStage = 2 * constantLoop(Math.ceil((FA2_KEY_TILE * s.vVec4) / wg)) + 1;
  const perTile = 3 + perChunk * chunks + s.qkVec4 + vStage + FA2_LOOP_MARGIN;
  return tiles * perTile + keys + 1;
}

/**
 * The most keys one expanded_fa2.wgsl invocation may walk within a loop budget, at a
 * query tile and chunk width.
 *
 * @example
 * ```ts
 * import { fa2MaxKeys } from "./tiled_plan.ts";
 * fa2MaxKeys({ qkVec4: 48, vVec4: 32 }, 361, 64, 4); // 64
 * fa2MaxKeys({ qkVec4: 48, vVec4: 32 }, 361, 16, 4); // 32
 * ```
 */
export function fa2MaxKeys(
  s: Fa2Shape,
  budget: number,
  queryTile: number,
  chunkVec4: number,
): number {
  const n = (keys: number) => fa2LoopIterations(s, keys, queryTile, chunkVec4);
  if (n(1) > budget) return 0;
  let lo = 1;
  let hi = 2;
  while (n(hi) <= budget) hi *= 2;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (n(mid) <= budget) lo = mid;
    else hi = mid;
  }
  return lo;
}
