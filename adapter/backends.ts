/**
 * The backend registry. Each backend declares its support as a predicate over
 * (spec, layout, dtype, device capabilities) that returns EVERY failing reason,
 * and, when supported, the kernel variant and buffers it would use.
 *
 * @module
 */
import { DEFAULT_TUNING, resolvedTuning } from "./plan_tuning.ts";
import type {
  AttentionPath,
  BackendId,
  BufferSpec,
  CacheTextureShape,
  DeviceCaps,
  Dtype,
  ExpandTextures,
  KernelVariant,
  KvSplitsBudget,
  MlaSpec,
  NormalizedLayout,
  Reason,
} from "./types.ts";
import {
  attentionLoopIterations,
  type AttentionLoopShape,
  expandedDecodeStep,
  keysPerBlock,
  loopBudgetOf,
  maxKeysWithinBudget,
} from "./loop_budget.ts";
import { kRowRange } from "./layout.ts";
import { type DeviceClassName, deviceClassOf } from "./device_class.ts";
import { grid1dReason, gridReason as deviceGridReason } from "./grids.ts";
import {
  DEFAULT_MAX_TEXTURE_DIMENSION_2D,
  GEMM_KEYS_PER_GROUP,
  GEMM_QUERY_TILE,
  GEMM_WORKGROUP_SIZE,
  gemmCacheTexture,
  gemmExpandedColumnsPerInvocation,
  gemmLoopIterations,
  gemmMaxKeys,
  gemmShape,
  gemmTexelsPerRow,
  gemmValueColumnGroups,
  packsF16Rows,
  texelBytes,
} from "./gemm_plan.ts";
import {
  FA2_KEY_TILE,
  fa2BudgetKvSplits,
  fa2ChunkVec4,
  fa2Grid,
  fa2KeysPerSplit,
  fa2KvSplits,
  fa2LoopIterations,
  fa2MaxKeys,
  fa2QueryTile,
  fa2WorkgroupBytes,
  fa2WorkgroupSize,
  TILED_DEFAULT_SMS,
  tiledKvSplits,
  tiledLoopIterations,
  tiledMaxKeys,
  tiledShape,
  type TiledTier,
  tiledTierOf,
  tiledWorkgroupBytes,
} from "./tiled_plan.ts";

/**
 * The harness's loop-iteration helpers, handed to every backend's check so a user
 * backend can keep its plans within the device's loop budget without importing the
 * harness (see docs/backends.md).
 */
export interface LoopHelpers {
  /** The device's loop budget (null: none). */
  readonly budget: number | null;
  /** Keys per block of a query tile (the bundled kernels' rule). */
  keysPerBlock(queryTile: number): number;
  /** Iterations one invocation of a bundled-shaped attention kernel runs. */
  iterations(shape: AttentionLoopShape): number;
  /** The most keys one invocation may walk within a budget. */
  maxKeys(budget: number, shape: Omit<AttentionLoopShape, "keys">): number;
}

/**
 * The loop helpers for a device.
 *
 * @example
 * ```ts
 * import { loopHelpers } from "./backends.ts";
 * loopHelpers(null).budget; // null
 * ```
 */
export function loopHelpers(caps: DeviceCaps | null): LoopHelpers {
  return {
    budget: loopBudgetOf(caps),
    keysPerBlock,
    iterations: attentionLoopIterations,
    maxKeys: maxKeysWithinBudget,
  };
}

/** What a backend is asked about. */
export interface SupportQuery {
  /** The layer. */
  readonly spec: MlaSpec;
  /** The normalized layout. */
  readonly layout: NormalizedLayout;
  /** Storage dtype. */
  readonly dtype: Dtype;
  /** The device, or null when no adapter exists. */
  readonly caps: DeviceCaps | null;
  /** Force a number of KV splits (absorbed only); otherwise chosen by rule. */
  readonly kvSplits?: number;
  /** Loop-budget helpers for this device (filled in by resolve). */
  readonly loop: LoopHelpers;
  /**
   * The most workgroup-memory elements a kernel should declare on this device, or null
   * for no cap (filled in by resolve: 1024 on the GL fallback, whose compile of WebGPU's
   * zero fill grows with the square of the elements; adapter/slow_device.ts).
   */
  readonly workgroupElementCap: number | null;
}

/** A backend's answer: reasons (empty = supported), and what it would run. */
export interface SupportAnswer {
  /** Every failed check. */
  readonly reasons: Reason[];
  /** The path it computes. */
  readonly path: AttentionPath;
  /** Variant it would run. */
  readonly variant: KernelVariant;
  /** Buffers it would allocate. */
  readonly buffers: BufferSpec[];
  /** Key width per cached row the kernel reads. */
  readonly keyWidth: number;
  /** Value width the kernel accumulates. */
  readonly valueWidth: number;
}

/**
 * The GPU-free half of a backend: its identity and its support predicate. The
 * launcher half lives with the GPU code (kernels/launch.ts); a backend module
 * (docs/backends.md) exports both.
 */
export interface Backend {
  /** Identifier. */
  readonly id: BackendId;
  /** One-line description for `explain`. */
  readonly description: string;
  /** The attention path the backend computes. */
  readonly path: AttentionPath;
  /** Where it computes: "gpu" backends need a launcher, "cpu" ones never reach the GPU. */
  readonly runsOn: "gpu" | "cpu";
  /** Support predicate: every failing reason, or (no reasons) the variant and buffers. */
  check(query: SupportQuery): SupportAnswer;
}

const bytesOf = (dtype: Dtype) => (dtype === "f16" ? 2 : 4);

/**
 * The standard buffers the harness allocates for every GPU backend (docs/backends.md):
 * q_nope, q_pe, the latent cache (latent | k_pe), kv_b_proj, out and LSE. Every
 * backend lists them with its own, so the device limits are checked for all of them.
 *
 * @example
 * ```ts
 * import { normalizeLayout } from "./layout.ts";
 * import { presetSpec } from "./presets.ts";
 * import { standardBuffers } from "./backends.ts";
 * const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true });
 * standardBuffers(presetSpec("tiny"), layout, "f32").map((b) => b.name)[2]; // "latent_cache"
 * ```
 */
export function standardBuffers(
  spec: MlaSpec,
  layout: NormalizedLayout,
  dtype: Dtype,
): BufferSpec[] {
  const eb = bytesOf(dtype);
  const h = spec.numHeads;
  return [
    { name: "q_nope", bytes: layout.qRows * h * spec.qkNopeHeadDim * eb },
    { name: "q_pe", bytes: layout.qRows * h * spec.qkRopeHeadDim * eb },
    { name: "latent_cache", bytes: layout.kRows * (spec.kvLoraRank + spec.qkRopeHeadDim) * eb },
    { name: "w_kv_b", bytes: h * (spec.qkNopeHeadDim + spec.vHeadDim) * spec.kvLoraRank * eb },
    { name: "out", bytes: layout.totalQ * h * spec.vHeadDim * 4 },
    { name: "lse", bytes: layout.totalQ * h * 4 },
  ];
}

/**
 * Heads one absorbed workgroup handles: each cached latent row is read once per tile of heads.
 * The absorbed kernel runs one invocation per head, so its workgroup size is the tile size,
 * rounded up to a multiple of {@link ABSORBED_HEAD_TILE_STEP}.
 */
export const ABSORBED_MAX_HEADS_PER_TILE = 16;
/** Head tiles are multiples of 8: lavapipe runs 8 invocations as the lanes of one AVX2 register. */
export const ABSORBED_HEAD_TILE_STEP = 8;
/**
 * The head tile of the lane-per-head kernels (`wgsl-absorbed`, `wgsl-expanded`): the heads
 * rounded up to a multiple of {@link ABSORBED_HEAD_TILE_STEP}, at most
 * {@link ABSORBED_MAX_HEADS_PER_TILE}.
 *
 * @example
 * ```ts
 * import { laneHeadTile } from "./backends.ts";
 * laneHeadTile(4); // 8
 * laneHeadTile(128); // 16
 * ```
 */
export function laneHeadTile(heads: number): number {
  return Math.min(
    Math.ceil(heads / ABSORBED_HEAD_TILE_STEP) * ABSORBED_HEAD_TILE_STEP,
    ABSORBED_MAX_HEADS_PER_TILE,
  );
}
/**
 * Heads per workgroup of the dense kernel (`wgsl-expanded`, one invocation per head):
 * {@link laneHeadTile}; but a decode (one query per tile) whose grid that
 * way would be a single workgroup (one sequence with one query, 9 to 16 heads) takes tiles
 * of 8 heads, two workgroups. A CPU implementation runs each workgroup on one thread, so
 * one workgroup leaves every other core idle: on lavapipe (2 threads here) the V2-Lite
 * decode at b 1 and 4096 keys took 4.8-5.2 ms in its fastest repetitions against 8.4-8.9
 * ms, the medians never longer (lavapipe does not always give the second workgroup its
 * own thread; docs/benchmarks.md, session 18). With more workgroups (64 heads: 4 of 16)
 * 8-head tiles measured slower, so the rule is only for the one-workgroup grid.
 *
 * @example
 * ```ts
 * import { normalizeLayout } from "./layout.ts";
 * import { expandedHeadsPerTile } from "./backends.ts";
 * const one = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 4096, causal: true });
 * expandedHeadsPerTile(16, one); // 8
 * const four = normalizeLayout({ kind: "bshd", batch: 4, seqQ: 1, seqK: 4096, causal: true });
 * expandedHeadsPerTile(16, four); // 16
 * ```
 */
export function expandedHeadsPerTile(heads: number, layout: NormalizedLayout): number {
  const tile = laneHeadTile(heads);
  const oneWorkgroup = queryTileOf(layout) === 1 && layout.totalQ === 1 && heads <= tile;
  return oneWorkgroup && tile > ABSORBED_HEAD_TILE_STEP ? ABSORBED_HEAD_TILE_STEP : tile;
}

/** {@link deviceReasons} of a latent (absorbed) kernel: its widths are the latent's. */
function latentDeviceReasons(q: SupportQuery): Reason[] {
  return deviceReasons(q, {
    kv_lora_rank: q.spec.kvLoraRank,
    qk_rope_head_dim: q.spec.qkRopeHeadDim,
  });
}

/**
 * {@link deviceReasons} of a dense (expanded) kernel: K and V widths, and the latent cache it
 * expands. expand_kv.wgsl (and, on cpu-class devices, the cache's texture copy) reads each
 * cache row [latent | k_pe] as (r + rope) / 4 vec4s, so the RoPE width must be a multiple of 4
 * too: a k_channels of 4 = 2 + 2 passed, and the expansion then read rows at a truncated
 * stride (a wrong answer on a GPU) or threw on a fractional KEY_VEC4 (lavapipe).
 */
function denseDeviceReasons(q: SupportQuery): Reason[] {
  return deviceReasons(q, {
    k_channels: q.spec.kChannels,
    v_channels: q.spec.vChannels,
    kv_lora_rank: q.spec.kvLoraRank,
    qk_rope_head_dim: q.spec.qkRopeHeadDim,
  });
}

/** Invocations per workgroup of the attention kernels (lavapipe prefers 8-32). */
export const ATTENTION_WORKGROUP_SIZE = 32;

/** The most KV splits a bundled kernel takes (its split-merge pass and buffers are sized for it). */
export const MAX_BUNDLED_KV_SPLITS = 64;

/** Whether `n` is a KV-split count the bundled kernels take: an integer in [1, 64]. */
function bundledKvSplits(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= MAX_BUNDLED_KV_SPLITS;
}

// The reason a split count outside [1, 64] is refused; one the case did not ask for (`forced`
// false) is the loop budget's, said with its numbers: the budget, the keys one split fits and
// the longest sequence's.
function kvSplitsRangeReason(
  kvSplits: number,
  forced: boolean,
  budget: { budget: number | null; maxKeys: number; longest: number },
): Reason {
  return {
    code: "variant.kv-splits",
    message: `kvSplits = ${kvSplits} must be an integer in [1, ${MAX_BUNDLED_KV_SPLITS}]` +
      (forced ? "" : ` (the adapter's choice: this device's loop budget of ${budget.budget} ` +
        `iterations fits at most ${budget.maxKeys} keys per split, and the longest sequence ` +
        `has ${budget.longest} keys: shorter sequences)`),
  };
}

// The advice of a loop-budget refusal whose keys fit in `need` splits: that count where a
// bundled kernel runs it, else that none does.
function splitsAdvice(need: number): string {
  return bundledKvSplits(need)
    ? `use kvSplits >= ${need}`
    : `it would take ${need} KV splits, over the ${MAX_BUNDLED_KV_SPLITS} a kernel runs: ` +
      "shorter sequences";
}

// The variant field that says the loop budget's share in a plan's KV splits: `minSplits`
// (by the kernel's own rule) where the budget calls for more than one, else nothing.
function budgetSplitsField(
  budget: number | null,
  maxKeysPerSplit: number,
  minSplits: number | null,
): { kvSplitsBudget?: KvSplitsBudget } {
  if (budget === null || minSplits === null || minSplits <= 1) return {};
  return { kvSplitsBudget: { budget, maxKeysPerSplit, minSplits } };
}

function deviceReasons(q: SupportQuery, widths: Record<string, number>): Reason[] {
  const reasons: Reason[] = [];
  if (q.caps === null) {
    reasons.push({
      code: "device.none",
      // The support answer cannot know why: the stderr note of `explain` and `devices` says it.
      message: "no WebGPU adapter is available (`devices` says which backend was tried and why; " +
        "on a machine without a GPU, apt-get install mesa-vulkan-drivers, which the harness " +
        "then picks by itself)",
    });
  } else if (q.dtype === "f16" && !q.caps.features.includes("shader-f16")) {
    reasons.push({
      code: "dtype.f16-unavailable",
      message: `dtype f16 needs the WebGPU feature shader-f16, which adapter "${
        q.caps.adapter.description || q.caps.adapter.vendor
      }" does not offer; use dtype f32`,
    });
  }
  for (const [name, w] of Object.entries(widths)) {
    if (w % 4 !== 0) {
      reasons.push({
        code: "shape.not-vec4",
        message: `${name} = ${w} must be a multiple of 4 (the kernels load vec4)`,
      });
    }
  }
  return reasons;
}

/**
 * The buffers of an absorbed backend that uses the kit's absorption and split-KV latent
 * outputs (kernels/launch.ts `absorbQ`, `latentOutputs`): the standard buffers, then
 * q_absorbed, the per-split partials and the merged latent output. q_absorbed is f32 (4
 * bytes an element) in every dtype, as the bundled kernels absorb it (`absorbQ` with
 * `dtype: "f32"`): q_nope W_UK can pass f16's largest finite value, 65504.
 *
 * @example
 * ```ts
 * import { normalizeLayout } from "./layout.ts";
 * import { presetSpec } from "./presets.ts";
 * import { absorbedBuffers } from "./backends.ts";
 * const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true });
 * absorbedBuffers(presetSpec("tiny"), layout, "f32", 1).at(-1)?.name; // "x_latent"
 * ```
 */
export function absorbedBuffers(
  spec: MlaSpec,
  layout: NormalizedLayout,
  dtype: Dtype,
  kvSplits: number,
): BufferSpec[] {
  const h = spec.numHeads;
  const r = spec.kvLoraRank;
  return [
    ...standardBuffers(spec, layout, dtype),
    // f32 in every dtype (the f16 range, see above)
    { name: "q_absorbed", bytes: layout.qRows * h * (r + spec.qkRopeHeadDim) * 4 },
    { name: "x_latent_out", bytes: layout.totalQ * h * r * 4 * kvSplits },
    { name: "lse_part", bytes: layout.totalQ * h * 4 * kvSplits },
    { name: "x_latent", bytes: layout.totalQ * h * r * 4 },
  ];
}

/**
 * The buffers of a dense backend that uses the kit's dense preparation
 * (kernels/launch.ts `expandDense`): the standard buffers, then packed q and per-head K
 * and V.
 *
 * @example
 * ```ts
 * import { normalizeLayout } from "./layout.ts";
 * import { presetSpec } from "./presets.ts";
 * import { denseBuffers } from "./backends.ts";
 * const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true });
 * denseBuffers(presetSpec("tiny"), layout, "f32").at(-1)?.name; // "v"
 * ```
 */
export function denseBuffers(spec: MlaSpec, layout: NormalizedLayout, dtype: Dtype): BufferSpec[] {
  const eb = bytesOf(dtype);
  const h = spec.numHeads;
  return [
    ...standardBuffers(spec, layout, dtype),
    { name: "q", bytes: layout.qRows * h * spec.kChannels * eb },
    { name: "k", bytes: layout.kRows * h * spec.kChannels * eb },
    { name: "v", bytes: layout.kRows * h * spec.vChannels * eb },
  ];
}

/**
 * The textures the K/V expansion reads the latent cache and w_kv_b through
 * (expand_kv.wgsl, switch tex), or null for its buffer reads: on a cpu-class device, where
 * both fit its textures. Mesa's lavapipe loads a storage vec4 lane by lane and component
 * by component, and a texel in one fetch: the expansion of the V2-Lite headline's
 * 16384-row cache took 46 s from the buffers on a host whose storage reads ran at 1.2
 * GB/s (docs/benchmarks.md, session 25). GPUs keep the buffer reads (not measured there).
 * The textures are listed in `buffers`.
 *
 * @example
 * ```ts
 * import { normalizeLayout } from "./layout.ts";
 * import { presetSpec } from "./presets.ts";
 * import { expandTexturesOf } from "./backends.ts";
 * const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true });
 * expandTexturesOf({ spec: presetSpec("tiny"), layout, dtype: "f32", caps: null }, []); // null
 * ```
 */
export function expandTexturesOf(
  q: Pick<SupportQuery, "spec" | "layout" | "dtype" | "caps">,
  buffers: BufferSpec[],
): ExpandTextures | null {
  const maxDim = cpuTextureSide(q.caps);
  if (maxDim === null) return null;
  const { spec, layout, dtype } = q;
  const rowVec4 = (spec.kvLoraRank + spec.qkRopeHeadDim) / 4;
  const latent = gemmCacheTexture(rowVec4, layout.kRows, dtype, maxDim);
  const weights = wKvBTexture(spec, dtype, maxDim);
  if (latent === null || weights === null) return null;
  buffers.push(textureBuffer("expand_latent_texture", latent));
  buffers.push(textureBuffer("expand_weight_texture", weights));
  return { latent, weights };
}

/**
 * The texture the absorbed path's query absorption and up-projection (absorb_q.wgsl,
 * up_proj.wgsl, switch tex) read w_kv_b's rows through, or null for their buffer reads:
 * on a cpu-class device, where it fits, for the reason {@link expandTexturesOf} gives
 * (their storage loads of the weights ran at 1.8 GFLOP/s on this host, docs/benchmarks.md,
 * session 25). The copy is weight preparation, timed as cache construction. The texture is
 * listed in `buffers`.
 *
 * @example
 * ```ts
 * import { normalizeLayout } from "./layout.ts";
 * import { presetSpec } from "./presets.ts";
 * import { weightTextureOf } from "./backends.ts";
 * const layout = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true });
 * weightTextureOf({ spec: presetSpec("tiny"), layout, dtype: "f32", caps: null }, []); // null
 * ```
 */
export function weightTextureOf(
  q: Pick<SupportQuery, "spec" | "layout" | "dtype" | "caps">,
  buffers: BufferSpec[],
): CacheTextureShape | null {
  const maxDim = cpuTextureSide(q.caps);
  const t = maxDim === null ? null : wKvBTexture(q.spec, q.dtype, maxDim);
  if (t !== null) buffers.push(textureBuffer("weight_texture", t));
  return t;
}

/** The texture side of a cpu-class device (which reads weights through textures), else null. */
function cpuTextureSide(caps: DeviceCaps | null): number | null {
  if (deviceClassOf(caps)?.kind !== "cpu") return null;
  return caps?.limits.maxTextureDimension2D ?? DEFAULT_MAX_TEXTURE_DIMENSION_2D;
}

/** w_kv_b's h x (nope + v) rows of r / 4 vec4s in a texture, or null where none holds them. */
function wKvBTexture(spec: MlaSpec, dtype: Dtype, maxDim: number): CacheTextureShape | null {
  const rows = spec.numHeads * (spec.qkNopeHeadDim + spec.vHeadDim);
  return gemmCacheTexture(spec.kvLoraRank / 4, rows, dtype, maxDim);
}

/** A texture's entry in a plan's buffer list. */
function textureBuffer(name: string, t: CacheTextureShape): BufferSpec {
  return { name, bytes: t.width * t.height * texelBytes(t) };
}

/**
 * Buffer and workgroup limits. A buffer is bound whole (limit: the smaller of
 * maxStorageBufferBindingSize and maxBufferSize) unless it is in `boundInParts`
 * (limit: maxBufferSize; the caller checks its per-binding size itself).
 */
function limitReasons(
  q: SupportQuery,
  buffers: BufferSpec[],
  workgroupSize: number,
  boundInParts: ReadonlySet<string> = new Set(),
): Reason[] {
  if (q.caps === null) return [];
  const reasons: Reason[] = [];
  const maxBinding = q.caps.limits.maxStorageBufferBindingSize ?? 134217728;
  const maxBuffer = q.caps.limits.maxBufferSize ?? 268435456;
  for (const b of buffers) {
    const parts = boundInParts.has(b.name);
    const limit = parts ? maxBuffer : Math.min(maxBinding, maxBuffer);
    if (b.bytes > limit) {
      reasons.push({
        code: "limits.buffer-too-large",
        message: `buffer ${b.name} needs ${b.bytes} bytes, over the device's ` +
          (parts ? `maxBufferSize ${limit}` : `maxStorageBufferBindingSize/maxBufferSize ${limit}`),
      });
    }
  }
  // Every attention kernel's workgroup is one-dimensional (x): both limits bound it.
  const maxInv = q.caps.limits.maxComputeInvocationsPerWorkgroup ?? 256;
  if (workgroupSize > maxInv) {
    reasons.push({
      code: "limits.workgroup-size",
      message:
        `workgroup size ${workgroupSize} is over maxComputeInvocationsPerWorkgroup ${maxInv}`,
    });
  }
  const maxX = q.caps.limits.maxComputeWorkgroupSizeX ?? 256;
  if (workgroupSize > maxX) {
    reasons.push({
      code: "limits.workgroup-size",
      message: `workgroup size ${workgroupSize} is over maxComputeWorkgroupSizeX ${maxX}`,
    });
  }
  return reasons;
}

/**
 * A reason when one dimension of a pass's grid would exceed the device's
 * maxComputeWorkgroupsPerDimension (65535 unless the device was created with more):
 * adapter/grids.ts `gridReason` for this query's device.
 */
function gridReason(q: SupportQuery, pass: string, what: string, count: number): Reason[] {
  return deviceGridReason(q.caps, pass, what, count);
}

/** The query tiles of a layout at `queryTile` queries a tile (kernels/tables.ts queryTiles). */
function queryTileCount(layout: NormalizedLayout, queryTile: number): number {
  return layout.seqs.reduce((n, s) => n + Math.ceil(s.qLen / queryTile), 0);
}

function maxKLen(layout: NormalizedLayout): number {
  return layout.seqs.reduce((m, s) => Math.max(m, s.kLen), 0);
}

/**
 * Queries per tile of the attention kernels (QT of absorbed.wgsl and expanded.wgsl):
 * 4 when some sequence has at least 4 queries (prefill: each key/value load serves
 * 4 queries), else 1 (decode). QT = 8 measured no better than 4 on lavapipe (within
 * the machine's noise) and doubles the per-lane score tile.
 *
 * @example
 * ```ts
 * import { normalizeLayout } from "./layout.ts";
 * import { queryTileOf } from "./backends.ts";
 * queryTileOf(normalizeLayout({ kind: "bshd", batch: 2, seqQ: 1, seqK: 64, causal: true })); // 1
 * ```
 */
export function queryTileOf(layout: NormalizedLayout): number {
  return layout.seqs.some((s) => s.qLen >= 4) ? 4 : 1;
}

/**
 * Heads one invocation of the absorbed kernel handles (HPL of absorbed.wgsl): 2 in
 * decode with tiles of 16+ heads (each cached vec4 a lane loads then feeds two heads;
 * the workgroup keeps 8+ invocations, one lavapipe SIMD row), else 1.
 *
 * @example
 * ```ts
 * import { absorbedHeadsPerInvocation } from "./backends.ts";
 * absorbedHeadsPerInvocation(16, 1); // 2
 * absorbedHeadsPerInvocation(16, 4); // 1
 * ```
 */
export function absorbedHeadsPerInvocation(headsPerTile: number, queryTile: number): number {
  return queryTile === 1 && headsPerTile >= 16 ? 2 : 1;
}

/**
 * KV splits for the absorbed kernel: split long contexts when there are few
 * (sequence x head-tile x query) workgroups to keep the device busy, and always
 * enough that no split walks more than `maxKeysPerSplit` keys (the device's loop
 * budget, see adapter/loop_budget.ts; Infinity when it has none).
 *
 * @example
 * ```ts
 * import { chooseKvSplits } from "./backends.ts";
 * chooseKvSplits({ workgroups: 2, maxKLen: 4096, maxKeysPerSplit: Infinity }); // 4
 * chooseKvSplits({ workgroups: 64, maxKLen: 16384, maxKeysPerSplit: 14320 }); // 2
 * ```
 */
export function chooseKvSplits(
  options: { workgroups: number; maxKLen: number; maxKeysPerSplit: number },
): number {
  const cap = Number.isFinite(options.maxKeysPerSplit) && options.maxKeysPerSplit > 0
    ? Math.ceil(options.maxKLen / options.maxKeysPerSplit)
    : 1;
  if (options.workgroups >= 16 || options.maxKLen < 2048) return Math.max(1, cap);
  return Math.max(cap, Math.min(8, Math.ceil(options.maxKLen / 1024)));
}

/**
 * Reason for a kernel invocation that would run more loop iterations than the
 * device allows (it would silently drop keys), or none.
 */
function loopBudgetReasons(
  q: SupportQuery,
  kernel: string,
  shape: AttentionLoopShape,
  fix: (maxKeys: number) => string,
): Reason[] {
  const budget = loopBudgetOf(q.caps);
  if (budget === null) return [];
  const need = attentionLoopIterations(shape);
  if (need <= budget) return [];
  const maxKeys = maxKeysWithinBudget(budget, shape);
  return [{
    code: "device.loop-budget",
    message: `one ${kernel} invocation would walk ${shape.keys} keys in ${need} loop ` +
      `iterations, over this device's loop budget of ${budget} (it ends every loop of an ` +
      `invocation after that many and would silently drop keys); at most ${maxKeys} keys ` +
      `per invocation fit: ${fix(maxKeys)}`,
  }];
}

const absorbed: Backend = {
  id: "wgsl-absorbed",
  path: "absorbed",
  runsOn: "gpu",
  description: "WGSL latent MQA (FlashMLA-style): one shared key of width kv_lora+rope, " +
    "value = the first kv_lora columns of the same cached row",
  check(q) {
    const { spec, layout, dtype } = q;
    const h = spec.numHeads;
    const keyWidth = spec.kvLoraRank + spec.qkRopeHeadDim;
    const headsPerTile = laneHeadTile(h);
    const tiles = Math.ceil(h / headsPerTile);
    const workgroups = layout.seqs.reduce((n, s) => n + s.qLen * tiles, 0);
    const queryTile = queryTileOf(layout);
    const headsPerInvocation = absorbedHeadsPerInvocation(headsPerTile, queryTile);
    const loopShape = {
      queryTile,
      keyVec4: keyWidth / 4,
      valueVec4: spec.kvLoraRank / 4,
      inPlaceOutput: true,
    };
    const budget = loopBudgetOf(q.caps);
    const longest = maxKLen(layout);
    const maxKeysPerSplit = budget === null ? Infinity : maxKeysWithinBudget(budget, loopShape);
    const kvSplits = q.kvSplits ??
      chooseKvSplits({ workgroups, maxKLen: longest, maxKeysPerSplit });
    const reasons = latentDeviceReasons(q);
    if (!bundledKvSplits(kvSplits)) {
      // An out-of-range count the case did not ask for is the loop budget's: say so, with
      // the numbers (the budget reason itself is only checked on a valid count).
      reasons.push(
        kvSplitsRangeReason(kvSplits, q.kvSplits !== undefined, {
          budget,
          maxKeys: maxKeysPerSplit,
          longest,
        }),
      );
    }
    if (bundledKvSplits(kvSplits)) {
      reasons.push(
        ...loopBudgetReasons(
          q,
          "absorbed-kernel",
          { ...loopShape, keys: Math.ceil(longest / kvSplits) },
          (maxKeys) => splitsAdvice(Math.ceil(longest / Math.max(1, maxKeys))),
        ),
      );
    }
    const buffers = absorbedBuffers(spec, layout, dtype, kvSplits);
    reasons.push(...limitReasons(q, buffers, headsPerTile / headsPerInvocation));
    // The launcher dispatches [query tiles x head tiles, KV splits] (launch_absorbed.ts):
    // neither dimension folds.
    const qTiles = queryTileCount(layout, queryTile);
    reasons.push(
      ...gridReason(
        q,
        "absorbed attention pass",
        `x: ${qTiles} query tiles x ${tiles} head tiles`,
        qTiles * tiles,
      ),
      ...gridReason(q, "absorbed attention pass", "y: KV splits", kvSplits),
    );
    // Query absorption and up-projection: w_kv_b through a texture on cpu-class devices.
    const weightTexture = weightTextureOf(q, buffers);
    return {
      reasons,
      path: "absorbed",
      variant: {
        family: "absorbed",
        dtype,
        workgroupSize: headsPerTile / headsPerInvocation,
        headsPerTile,
        kvSplits,
        queryTile,
        headsPerInvocation,
        keysPerBlock: keysPerBlock(queryTile),
        ...budgetSplitsField(
          budget,
          maxKeysPerSplit,
          maxKeysPerSplit > 0 ? Math.ceil(longest / maxKeysPerSplit) : null,
        ),
        ...(weightTexture === null ? {} : { weightTexture }),
      },
      buffers,
      keyWidth,
      valueWidth: spec.kvLoraRank,
    };
  },
};

/**
 * Reasons a gemm-shaped kernel (adapter/gemm_plan.ts) refuses a case for its shape: a forced
 * KV split (it walks every query's keys in one softmax row), or passes that would run more
 * loop iterations for the longest query than the device allows.
 */
function gemmReasons(
  q: SupportQuery,
  id: string,
  keyVec4: number,
  longest: number,
): Reason[] {
  const reasons: Reason[] = [];
  // The backend of the same path that splits the keys.
  const splitting = id === "wgsl-expanded-gemm" ? "wgsl-expanded-tiled" : "wgsl-absorbed";
  if (q.kvSplits !== undefined && q.kvSplits !== 1) {
    reasons.push({
      code: "variant.kv-splits",
      message: `kvSplits = ${q.kvSplits}: ${id} runs every query's keys in one softmax row ` +
        `(no KV splits); use kvSplits 1 or backend ${splitting}`,
    });
  }
  const budget = loopBudgetOf(q.caps);
  if (budget === null) return reasons;
  const need = gemmLoopIterations({ keyVec4 }, longest);
  const worst = Math.max(need.scores, need.softmax, need.values);
  if (worst <= budget) return reasons;
  reasons.push({
    code: "device.loop-budget",
    message: `one invocation of ${id} would walk ${longest} keys in ${worst} loop ` +
      `iterations, over this device's loop budget of ${budget} (it ends every loop of an ` +
      "invocation after that many and would silently drop keys); at most " +
      `${gemmMaxKeys({ keyVec4 }, budget)} keys per query fit: use backend ${splitting} ` +
      "(it splits the keys)",
  });
  return reasons;
}

const absorbedGemm: Backend = {
  id: "wgsl-absorbed-gemm",
  path: "absorbed",
  runsOn: "gpu",
  description: "WGSL latent MQA, CPU-shaped (lavapipe): scores, softmax and values as three " +
    "passes, each lane holding a register tile of 16 heads x 16 keys or 16 heads x up to 16 output " +
    "vec4s (FMAs per loaded number is what a CPU driver's speed is); the values pass splits " +
    "the keys to fill the device",
  check(q) {
    const { spec, layout, dtype } = q;
    const h = spec.numHeads;
    const keyWidth = spec.kvLoraRank + spec.qkRopeHeadDim;
    const reasons = latentDeviceReasons(q);
    const shape = gemmShape(spec, layout);
    const longest = maxKLen(layout);
    reasons.push(...gemmReasons(q, "wgsl-absorbed-gemm", shape.keyVec4, longest));
    const rows = layout.totalQ * h;
    const buffers = [
      ...absorbedBuffers(spec, layout, dtype, 1),
      { name: "scores", bytes: rows * shape.scoreVec4PerRow * 16 },
      // The values pass's partial x per key split, summed into x_latent (split_sum.wgsl).
      ...(shape.valueSplits > 1
        ? [{ name: "x_value_parts", bytes: shape.valueSplits * rows * spec.kvLoraRank * 4 }]
        : []),
    ];
    reasons.push(...limitReasons(q, buffers, GEMM_WORKGROUP_SIZE));
    // The grids of launch_absorbed_gemm.ts: scores [key groups / WG, head tiles, tokens],
    // values [column groups, head tiles, tokens x key splits] (neither folds), the softmax
    // and the split sum 1-D (folded into y).
    const headTiles = Math.ceil(h / shape.headsPerTile);
    const keyGroups = Math.ceil(shape.scoreVec4PerRow * 4 / GEMM_KEYS_PER_GROUP);
    const scores = "scores pass of wgsl-absorbed-gemm";
    const values = "values pass of wgsl-absorbed-gemm";
    reasons.push(
      ...gridReason(
        q,
        scores,
        `x: ${keyGroups} groups of ${GEMM_KEYS_PER_GROUP} keys, ${GEMM_WORKGROUP_SIZE} a workgroup`,
        Math.ceil(keyGroups / GEMM_WORKGROUP_SIZE),
      ),
      ...gridReason(q, scores, "y: head tiles", headTiles),
      ...gridReason(q, scores, "z: query tokens", layout.totalQ),
      ...gridReason(
        q,
        values,
        "x: output column groups",
        gemmValueColumnGroups(
          spec.kvLoraRank / 4,
          shape.columnsPerInvocation,
          GEMM_WORKGROUP_SIZE,
        ),
      ),
      ...gridReason(
        q,
        values,
        `z: ${layout.totalQ} query tokens x ${shape.valueSplits} key splits`,
        layout.totalQ * shape.valueSplits,
      ),
      ...grid1dReason(q.caps, "softmax pass of wgsl-absorbed-gemm", rows, GEMM_WORKGROUP_SIZE),
      ...(shape.valueSplits > 1
        ? grid1dReason(q.caps, "split_sum pass of wgsl-absorbed-gemm", rows * spec.kvLoraRank / 4)
        : []),
    );
    // The latent cache is read through a texture (gemm_plan.ts gemmCacheTexture), copied
    // from the cache buffer outside the attention core. So is the absorbed query (its
    // [qRows x h] rows of the same width), copied from q_absorbed by a pass of the core.
    // f16 cache rows are packed two vec4s of halves per rgba32uint texel where both passes
    // can read them in pairs (an even row width, and an even number of output vec4s per
    // invocation in the values pass): half the fetches (gemm_plan.ts gemmCacheTexture).
    // The query's texture is rgba32float in every dtype, never packed: q_absorbed is f32
    // (q_nope W_UK can pass f16's largest finite value, 65504).
    const qRows = layout.qRows * spec.numHeads;
    const packed = packsF16Rows(dtype, [shape.keyVec4, shape.columnsPerInvocation]);
    const [texture] = rowTextures(q, "wgsl-absorbed", reasons, buffers, [
      ["cache_texture", `the latent cache's ${layout.kRows} rows`, layout.kRows, shape.keyVec4],
    ], { packed });
    const [queryTexture] = rowTextures(q, "wgsl-absorbed", reasons, buffers, [
      [
        "query_texture",
        `the absorbed query's ${qRows} rows (tokens x heads)`,
        qRows,
        shape.keyVec4,
      ],
    ], { dtype: "f32" });
    // The probabilities go through a texture too: the softmax writes it and the values
    // pass reads 16 heads' vec4s per 4 keys from it, which as storage loads cost half of
    // that pass on lavapipe (docs/benchmarks.md, session 24). P is f32 whatever the dtype.
    // Where no texture holds them (over about 32k keys at 8192 texels a side), the values
    // pass reads the score buffer as before.
    const probTexture = gemmCacheTexture(
      shape.scoreVec4PerRow,
      rows,
      "f32",
      q.caps?.limits.maxTextureDimension2D ?? DEFAULT_MAX_TEXTURE_DIMENSION_2D,
    );
    const weightTexture = weightTextureOf(q, buffers);
    return {
      reasons,
      path: "absorbed",
      variant: {
        family: "absorbed-gemm",
        dtype,
        workgroupSize: GEMM_WORKGROUP_SIZE,
        headsPerTile: shape.headsPerTile,
        kvSplits: 1,
        queryTile: 1,
        headsPerInvocation: shape.headsPerTile,
        keysPerBlock: GEMM_KEYS_PER_GROUP,
        columnsPerInvocation: shape.columnsPerInvocation,
        scoreVec4PerRow: shape.scoreVec4PerRow,
        valueSplits: shape.valueSplits,
        keysPerValueSplit: shape.keysPerValueSplit,
        ...(texture === null ? {} : { cacheTexture: texture }),
        ...(queryTexture === null ? {} : { queryTexture }),
        ...(probTexture === null ? {} : { probTexture }),
        ...(weightTexture === null ? {} : { weightTexture }),
      },
      buffers,
      keyWidth,
      valueWidth: spec.kvLoraRank,
    };
  },
};

const absorbedTiled: Backend = {
  id: "wgsl-absorbed-tiled",
  path: "absorbed",
  runsOn: "gpu",
  description: "WGSL latent MQA, GPU-shaped (FlashMLA/FlashDecoding): (query, head) rows " +
    "of a workgroup share each key tile staged in workgroup memory; KV splits fill the device",
  check: (q) => absorbedTiledCheck(q, { subgroups: false }),
};

/**
 * The support check of the tiled absorbed kernel, plain or its subgroup variant
 * (`wgsl-absorbed-tiled-sg`: one more workgroup word, the feature, no loop budget).
 */
function absorbedTiledCheck(q: SupportQuery, options: { subgroups: boolean }): SupportAnswer {
  const { spec, layout, dtype } = q;
  const h = spec.numHeads;
  const keyWidth = spec.kvLoraRank + spec.qkRopeHeadDim;
  const reasons = latentDeviceReasons(q);
  if (dtype === "f16" && (keyWidth % 8 !== 0 || spec.kvLoraRank % 8 !== 0)) {
    reasons.push({
      code: "shape.not-vec8",
      message: `kv_lora_rank + qk_rope_head_dim = ${keyWidth} and kv_lora_rank = ` +
        `${spec.kvLoraRank} must be multiples of 8 for f16 (the kernel stages 16-byte ` +
        "chunks of 8 halves); use dtype f32 or backend wgsl-absorbed",
    });
  }
  const cls = deviceClassOf(q.caps);
  const tuning = resolvedTuning(q.caps?.tuning);
  // Validated by resolvedTuning: 16384, 32768 or 49152. The default's value (32768) is the
  // default itself, the device's tier capped at 32768: a tuning at the defaults plans as
  // none (a 16 KiB device refused it as over its memory, while explain called every knob
  // default).
  const stated = q.caps?.tuning?.tiledTier as TiledTier | undefined;
  const tunedTier = stated === DEFAULT_TUNING.tiledTier ? undefined : stated;
  const deviceTier = tiledTierOf(cls, tunedTier);
  if (tunedTier !== undefined && cls !== null && tunedTier > cls.workgroupStorageBytes) {
    reasons.push({
      code: "tuning.tiled-tier",
      message: `the plan tuning's tiledTier ${tunedTier} (${q.caps?.tuningFrom ?? "caps file"}) ` +
        `is over this device's maxComputeWorkgroupStorageSize ${cls.workgroupStorageBytes}; ` +
        "take it out of the tuning, or set a tier within the device's",
    });
  }
  if (deviceTier === null) {
    reasons.push({
      code: "limits.workgroup-storage",
      message: `maxComputeWorkgroupStorageSize ${cls?.workgroupStorageBytes} is below 16384 ` +
        "bytes, the smallest tier the tiled kernel has a variant for; use backend wgsl-absorbed",
    });
  }
  const tier = deviceTier ?? 16384;
  const shape = tiledShape(spec, layout, dtype, tier, {
    ...options,
    unrolledLoops: cls?.kind === "gpu",
    // The GL fallback compiles workgroup memory's zero fill slowly (slow_device.ts); the
    // cap comes from the query, as for a user backend, so resolve is its one source.
    maxWorkgroupElements: q.workgroupElementCap,
    maxWorkgroupSize: Math.min(
      q.caps?.limits.maxComputeInvocationsPerWorkgroup ?? 256,
      q.caps?.limits.maxComputeWorkgroupSizeX ?? 256,
    ),
    maxRows: tuning.tiledMaxRows,
    maxQVec4: tuning.tiledMaxQVec4,
  });
  const wgBytes = tiledWorkgroupBytes(shape);
  if (deviceTier !== null && wgBytes > tier) {
    reasons.push({
      code: "limits.workgroup-storage",
      message: `a tile of ${shape.keysPerTile} keys of ${keyWidth} numbers needs ${wgBytes} ` +
        `bytes of workgroup memory, over the ${tier}-byte tier; use backend wgsl-absorbed`,
    });
  }
  if (shape.valueVec4 > shape.workgroupSize) {
    reasons.push({
      code: "shape.value-too-wide",
      message: `kv_lora_rank = ${spec.kvLoraRank} is over 1024: the tiled kernel gives each ` +
        `of its ${shape.workgroupSize} invocations one output vec4 column; use backend ` +
        "wgsl-absorbed",
    });
  }
  if (options.subgroups) reasons.push(...subgroupReasons(q));
  const headTiles = Math.ceil(h / shape.headsPerTile);
  const qTiles = layout.seqs.reduce((n, s) => n + Math.ceil(s.qLen / shape.queryTile), 0);
  const longest = maxKLen(layout);
  const budget = loopBudgetOf(q.caps);
  const maxKeys = budget === null ? Infinity : tiledMaxKeys(shape, budget);
  const kvSplits = q.kvSplits ?? tiledKvSplits({
    workgroups: qTiles * headTiles,
    maxKLen: longest,
    smCount: cls?.smCount ?? null,
    maxKeysPerSplit: maxKeys,
    minKeysPerSplit: tuning.tiledMinKeysPerSplit,
    workgroupsPerSm: tuning.tiledWorkgroupsPerSm,
    // x_latent_out holds every split's partial latent output and is bound whole.
    maxSplitsByBuffer: Math.max(
      1,
      Math.floor(
        Math.min(
          q.caps?.limits.maxStorageBufferBindingSize ?? 134217728,
          q.caps?.limits.maxBufferSize ?? 268435456,
        ) / Math.max(1, layout.totalQ * h * spec.kvLoraRank * 4),
      ),
    ),
  });
  if (!bundledKvSplits(kvSplits)) {
    reasons.push(
      kvSplitsRangeReason(kvSplits, q.kvSplits !== undefined, { budget, maxKeys, longest }),
    );
  } else if (budget !== null && !options.subgroups) {
    // (The subgroup variant is not planned on a device with a budget at all, whatever the
    // splits: subgroupReasons says so.)
    const keys = Math.ceil(longest / kvSplits);
    const need = tiledLoopIterations(shape, keys);
    if (need > budget) {
      reasons.push({
        code: "device.loop-budget",
        message: `one absorbed-tiled invocation would walk ${keys} keys in ${need} loop ` +
          `iterations, over this device's loop budget of ${budget} (it ends every loop of an ` +
          `invocation after that many and would silently drop keys); at most ${maxKeys} keys ` +
          `per invocation fit: ${splitsAdvice(Math.ceil(longest / Math.max(1, maxKeys)))}`,
      });
    }
  }
  const buffers = absorbedBuffers(spec, layout, dtype, kvSplits);
  reasons.push(...limitReasons(q, buffers, shape.workgroupSize));
  // The launcher dispatches [query tiles x head tiles, splits]: x must fit one dimension
  // (explain said supported where run then failed with a validation error).
  reasons.push(
    ...gridReason(q, "tiled attention pass", "query tiles x head tiles", qTiles * headTiles),
    ...gridReason(q, "tiled attention pass", "y: KV splits", kvSplits),
  );
  const weightTexture = weightTextureOf(q, buffers);
  return {
    reasons,
    path: "absorbed",
    variant: {
      family: `absorbed-tiled-${tier / 1024}k${options.subgroups ? "-sg" : ""}`,
      dtype,
      workgroupSize: shape.workgroupSize,
      headsPerTile: shape.headsPerTile,
      kvSplits,
      queryTile: shape.queryTile,
      headsPerInvocation: 1,
      keysPerBlock: shape.keysPerTile,
      valueRowGroups: shape.valueRowGroups ?? 1,
      ...budgetSplitsField(budget, maxKeys, maxKeys > 0 ? Math.ceil(longest / maxKeys) : null),
      ...(cls?.kind === "gpu" ? { unrolledLoops: true } : {}),
      ...(options.subgroups ? { subgroups: true } : {}),
      ...(weightTexture === null ? {} : { weightTexture }),
    },
    buffers,
    keyWidth,
    valueWidth: spec.kvLoraRank,
  };
}

/**
 * The subgroup variant of {@link absorbedTiled}: each (row, key) score is summed by a
 * whole subgroup (lanes on interleaved 16-byte chunks, subgroupAdd), the rest of the
 * kernel as it is (absorbed_tiled.wgsl `// @sg:` lines). Needs the WebGPU feature
 * `subgroups`, which Deno 2.9.6 does not expose on any adapter and headless Chromium
 * exposes on SwiftShader and GPUs. `auto` does not pick it: no GPU has measured it
 * against the subgroup-free kernel yet (docs/benchmarks.md).
 */
const absorbedTiledSg: Backend = {
  id: "wgsl-absorbed-tiled-sg",
  path: "absorbed",
  runsOn: "gpu",
  description: "wgsl-absorbed-tiled with its scores summed by subgroups (WebGPU feature " +
    "subgroups): coalesced q and key-tile reads",
  check: (q) => absorbedTiledCheck(q, { subgroups: true }),
};

/**
 * Why the subgroup variant cannot run on this device: the feature is missing, or a loop
 * budget (the variant's loop counts depend on the subgroup size, which WebGPU does not
 * promise in advance, so no count against the budget can be made).
 */
function subgroupReasons(q: SupportQuery): Reason[] {
  const reasons: Reason[] = [];
  if (q.caps !== null && !q.caps.features.includes("subgroups")) {
    reasons.push({
      code: "device.no-subgroups",
      message:
        `the WebGPU feature subgroups is not offered by adapter "${
          q.caps.adapter.description || q.caps.adapter.vendor
        }" (Deno 2.9.6 exposes it on no adapter; headless Chromium does: --runtime ` +
        "chromium); use backend wgsl-absorbed-tiled",
    });
  }
  const budget = loopBudgetOf(q.caps);
  if (budget !== null) {
    reasons.push({
      code: "device.loop-budget",
      message: `this device ends every loop of an invocation after ${budget} iterations, and ` +
        "the subgroup variant's loop counts depend on the subgroup size, which WebGPU does " +
        "not promise in advance: it is not planned on such a device; use backend " +
        "wgsl-absorbed-tiled",
    });
  }
  return reasons;
}

/**
 * Bytes of the widest per-sequence binding of a [kRows, rowBytes] buffer: the dense
 * kernel binds, per group of sequences, only the rows those sequences read, at an
 * offset rounded down to `align` (so up to align - 1 bytes more than the rows).
 */
function perSequenceBinding(layout: NormalizedLayout, rowBytes: number, align: number): number {
  let widest = 0;
  for (const [i, s] of layout.seqs.entries()) {
    if (s.qLen === 0 || s.kLen === 0) continue;
    const { lo, hi } = kRowRange(layout, i)!;
    widest = Math.max(widest, (hi + 1) * rowBytes - Math.floor((lo * rowBytes) / align) * align);
  }
  return widest;
}

/**
 * The dense kernels bind K and V per group of sequences: every sequence's rows must fit
 * one binding (a reason for each of k and v that does not).
 */
function perSequenceKvReasons(q: SupportQuery, eb: number): Reason[] {
  if (q.caps === null) return [];
  const { spec, layout } = q;
  const maxBinding = q.caps.limits.maxStorageBufferBindingSize ?? 134217728;
  const align = q.caps.limits.minStorageBufferOffsetAlignment ?? 256;
  const reasons: Reason[] = [];
  for (const [name, width] of [["k", spec.kChannels], ["v", spec.vChannels]] as const) {
    const bytes = perSequenceBinding(layout, spec.numHeads * width * eb, align);
    if (bytes > maxBinding) {
      reasons.push({
        code: "limits.buffer-too-large",
        message: `buffer ${name} needs ${bytes} bytes for one sequence's rows (bound per ` +
          `sequence), over the device's maxStorageBufferBindingSize ${maxBinding}`,
      });
    }
  }
  return reasons;
}

const expanded: Backend = {
  id: "wgsl-expanded",
  path: "expanded",
  runsOn: "gpu",
  description: "WGSL dense multi-head attention over per-head K (nope+rope) and V expanded " +
    "from the latent: the dense-attention baseline",
  check(q) {
    const { spec, layout, dtype } = q;
    const eb = bytesOf(dtype);
    const h = spec.numHeads;
    // One invocation per head, like the absorbed kernel (see expanded.wgsl); a decode that
    // would be one workgroup runs as two of half the heads.
    const headsPerTile = expandedHeadsPerTile(h, layout);
    const reasons = denseDeviceReasons(q);
    const buffers = denseBuffers(spec, layout, dtype);
    // K and V are expanded in row chunks, then read through textures or bound per group
    // of sequences, never bound whole; the whole buffers must still fit maxBufferSize.
    reasons.push(...limitReasons(q, buffers, headsPerTile, new Set(["k", "v"])));
    // The kernel reads K and V through textures of (key row, head) rows (copied as cache
    // construction; expanded.wgsl says why) wherever both fit the device; else from the
    // buffers, bound per group of sequences, so each sequence's rows must fit one binding.
    // A decode (one query per tile) packs f16 K and V rows two vec4s of halves per
    // rgba32uint texel where both widths are an even number of vec4s: its tile walks them
    // two at a time, one fetch each (expanded.wgsl, switch packed).
    const kvRows = layout.kRows * h;
    const maxDim = q.caps?.limits.maxTextureDimension2D ?? DEFAULT_MAX_TEXTURE_DIMENSION_2D;
    const queryTile = queryTileOf(layout);
    const kVec4 = Math.max(1, spec.kChannels / 4);
    const vVec4 = Math.max(1, spec.vChannels / 4);
    const packed = queryTile === 1 && packsF16Rows(dtype, [kVec4, vVec4]);
    const keyTexture = gemmCacheTexture(kVec4, kvRows, dtype, maxDim, { packed });
    const valueTexture = gemmCacheTexture(vVec4, kvRows, dtype, maxDim, { packed });
    const textures = keyTexture !== null && valueTexture !== null
      ? { keyTexture, valueTexture }
      : null;
    // launch_expanded.ts splits its grid (tiles x head tiles along x) into dispatches of at
    // most the limit's whole tiles: one tile's head tiles must fit.
    const headTiles = Math.ceil(h / headsPerTile);
    reasons.push(
      ...gridReason(q, "expanded attention pass", "x: the head tiles of one query tile", headTiles),
    );
    if (textures === null) reasons.push(...perSequenceKvReasons(q, eb));
    else {
      buffers.push(textureBuffer("key_texture", keyTexture!));
      buffers.push(textureBuffer("value_texture", valueTexture!));
    }
    // The decode tile walks its d loops one fetch per trip where the keys fit the loop
    // budget that way, else 4 vec4s per trip (expanded.wgsl, DSTEP).
    const loopShape = {
      keys: maxKLen(layout),
      queryTile,
      keyVec4: spec.kChannels / 4,
      valueVec4: spec.vChannels / 4,
      // The prefill tile accumulates in its output rows; the decode tile stores at the end.
      inPlaceOutput: queryTile > 1,
    };
    // Packed rows exist only in the textures (the buffer path reads one vec4 per load).
    const perFetch = packed && textures !== null ? 2 : 1;
    const decodeStep = expandedDecodeStep(loopBudgetOf(q.caps), loopShape, perFetch);
    reasons.push(
      ...loopBudgetReasons(
        q,
        "expanded-kernel",
        { ...loopShape, dStep: decodeStep },
        () =>
          "the expanded kernel has no KV splits; use shorter sequences or the absorbed path, or " +
          "use backend wgsl-expanded-tiled (it splits the keys)",
      ),
    );
    // The K/V expansion's reads (cache construction; expandTexturesOf says where).
    const expandTextures = expandTexturesOf(q, buffers);
    return {
      reasons,
      path: "expanded",
      variant: {
        family: "expanded",
        dtype,
        workgroupSize: headsPerTile,
        headsPerTile,
        kvSplits: 1,
        queryTile,
        headsPerInvocation: 1,
        keysPerBlock: keysPerBlock(queryTile),
        decodeStep,
        ...(textures ?? {}),
        ...(expandTextures === null ? {} : { expandTextures }),
      },
      buffers,
      keyWidth: spec.kChannels,
      valueWidth: spec.vChannels,
    };
  },
};

/**
 * The textures a gemm kernel reads rows of vec4s through (gemm_plan.ts gemmCacheTexture),
 * one per entry [buffer name, what, rows, vec4s per row], of rows in `options.dtype`
 * (default the query's storage dtype): each that fits the device is
 * listed in `buffers`, each that does not adds a `limits.texture-size` reason naming
 * `fallback`. Null where it does not fit.
 */
function rowTextures(
  q: SupportQuery,
  fallback: string,
  reasons: Reason[],
  buffers: BufferSpec[],
  entries: readonly (readonly [string, string, number, number])[],
  options: { packed?: boolean; dtype?: Dtype } = {},
): (CacheTextureShape | null)[] {
  const maxDim = q.caps?.limits.maxTextureDimension2D ?? DEFAULT_MAX_TEXTURE_DIMENSION_2D;
  const dtype = options.dtype ?? q.dtype;
  return entries.map(([name, what, rows, width]) => {
    const t = gemmCacheTexture(width, rows, dtype, maxDim, options);
    if (t === null) {
      const texels = gemmTexelsPerRow(width, dtype, options);
      const packing = texels === width ? "" : ` (${width} vec4s of halves, two per texel)`;
      reasons.push({
        code: "limits.texture-size",
        message: `${what} of ${texels} texels${packing} do not fit a texture of this device ` +
          `(maxTextureDimension2D ${maxDim} on each side); use backend ${fallback}`,
      });
    } else buffers.push(textureBuffer(name, t));
    return t;
  });
}

const expandedGemm: Backend = {
  id: "wgsl-expanded-gemm",
  path: "expanded",
  runsOn: "gpu",
  description: "WGSL dense attention over expanded per-head K/V, CPU-shaped (lavapipe) for " +
    "prefill: per head, scores, softmax and values as three passes, each lane holding a " +
    "register tile of 16 queries x 16 keys or 16 queries x 4 output vec4s",
  check(q) {
    const { spec, layout, dtype } = q;
    const eb = bytesOf(dtype);
    const h = spec.numHeads;
    const reasons = denseDeviceReasons(q);
    const longest = maxKLen(layout);
    const keyVec4 = Math.max(1, Math.floor(spec.kChannels / 4));
    reasons.push(
      ...gemmReasons(q, "wgsl-expanded-gemm", keyVec4, longest),
      // Its scores pass runs one workgroup per group of 16 keys along x.
      ...gridReason(
        q,
        "scores pass of wgsl-expanded-gemm",
        `one per ${GEMM_KEYS_PER_GROUP} keys of the longest sequence, ${longest}`,
        Math.ceil(longest / GEMM_KEYS_PER_GROUP),
      ),
    );
    const rows = layout.totalQ * h;
    const scoreVec4PerRow = Math.max(1, Math.ceil(longest / 4));
    const buffers = [
      ...denseBuffers(spec, layout, dtype),
      { name: "scores", bytes: rows * scoreVec4PerRow * 16 },
    ];
    // The expanded K and V buffers are written and copied into textures a chunk of rows at
    // a time (kit.expandDense, kit.rowsTexture), never bound whole. The per-sequence
    // refusal below is wgsl-expanded's (which binds them per group of sequences); this
    // kernel no longer needs it, and keeps it until its support decisions are changed on
    // purpose.
    reasons.push(...limitReasons(q, buffers, GEMM_WORKGROUP_SIZE, new Set(["k", "v"])));
    reasons.push(...perSequenceKvReasons(q, eb));
    // The other grids of launch_expanded_gemm.ts: scores [key groups, heads / WG, tiles],
    // values [column groups, heads, tiles] per group of sequences (neither folds), the
    // softmax 1-D (folded into y). Tiles: the group's query tiles, all of them when K and V
    // fit one binding each (as for wgsl-expanded-tiled; more groups are the launcher's
    // grouping, not known here: not checked rather than refused on an upper bound).
    const scores = "scores pass of wgsl-expanded-gemm";
    const values = "values pass of wgsl-expanded-gemm";
    const vColumns = gemmExpandedColumnsPerInvocation(Math.max(1, spec.vChannels / 4));
    reasons.push(
      ...gridReason(q, scores, "y: heads", Math.ceil(h / GEMM_WORKGROUP_SIZE)),
      ...gridReason(
        q,
        values,
        "x: output column groups",
        gemmValueColumnGroups(spec.vChannels / 4, vColumns, GEMM_WORKGROUP_SIZE),
      ),
      ...gridReason(q, values, "y: heads", h),
      ...grid1dReason(q.caps, "softmax pass of wgsl-expanded-gemm", rows, GEMM_WORKGROUP_SIZE),
    );
    const kvBinding = q.caps?.limits.maxStorageBufferBindingSize ?? 134217728;
    if (buffers.every((b) => (b.name !== "k" && b.name !== "v") || b.bytes <= kvBinding)) {
      const tiles = queryTileCount(layout, GEMM_QUERY_TILE);
      reasons.push(
        ...gridReason(q, `${scores} and its values pass`, "z: query tiles", tiles),
      );
    }
    // The kernels read q, K and V through textures of (row, head) rows: K and V copied
    // from the expanded buffers as cache construction, q as part of the q packing.
    // f16 rows are packed two vec4s of halves per rgba32uint texel where both passes can
    // read them in pairs (even row widths and columns per invocation; gemmCacheTexture).
    const kvRows = layout.kRows * h;
    const vVec4 = Math.max(1, Math.floor(spec.vChannels / 4));
    const columns = gemmExpandedColumnsPerInvocation(Math.max(1, spec.vChannels / 4));
    const packed = packsF16Rows(dtype, [keyVec4, vVec4, columns]);
    const [queryTexture, keyTexture, valueTexture] = rowTextures(
      q,
      "wgsl-expanded",
      reasons,
      buffers,
      [
        ["query_texture", `q's ${layout.qRows * h} (row, head) rows`, layout.qRows * h, keyVec4],
        ["key_texture", `K's ${kvRows} (row, head) rows`, kvRows, keyVec4],
        ["value_texture", `V's ${kvRows} (row, head) rows`, kvRows, vVec4],
      ],
      { packed },
    );
    // The probabilities through a texture the softmax writes, as in wgsl-absorbed-gemm.
    const probTexture = gemmCacheTexture(
      scoreVec4PerRow,
      rows,
      "f32",
      q.caps?.limits.maxTextureDimension2D ?? DEFAULT_MAX_TEXTURE_DIMENSION_2D,
    );
    const expandTextures = expandTexturesOf(q, buffers);
    return {
      reasons,
      path: "expanded",
      variant: {
        family: "expanded-gemm",
        dtype,
        workgroupSize: GEMM_WORKGROUP_SIZE,
        headsPerTile: 1,
        kvSplits: 1,
        queryTile: GEMM_QUERY_TILE,
        headsPerInvocation: 1,
        keysPerBlock: GEMM_KEYS_PER_GROUP,
        columnsPerInvocation: columns,
        scoreVec4PerRow,
        ...(queryTexture === null ? {} : { queryTexture }),
        ...(keyTexture === null ? {} : { keyTexture }),
        ...(valueTexture === null ? {} : { valueTexture }),
        ...(probTexture === null ? {} : { probTexture }),
        ...(expandTextures === null ? {} : { expandTextures }),
      },
      buffers,
      keyWidth: spec.kChannels,
      valueWidth: spec.vChannels,
    };
  },
};

const expandedTiled: Backend = {
  id: "wgsl-expanded-tiled",
  path: "expanded",
  runsOn: "gpu",
  description: "WGSL dense multi-head attention, GPU-shaped (FlashAttention-2): tiles of 64 " +
    "queries x 1 head (32 or 16 where the grid would leave a GPU's SMs idle), K then V " +
    "staged in workgroup memory, 4x4 register micro-tiles",
  check(q) {
    const { spec, layout, dtype } = q;
    const eb = bytesOf(dtype);
    const reasons = denseDeviceReasons(q);
    const shape = { qkVec4: spec.kChannels / 4, vVec4: spec.vChannels / 4 };
    const tuning = resolvedTuning(q.caps?.tuning);
    // The query tile fills the device's SMs where their count is known, within the GL
    // fallback's workgroup-element cap there (tiled_plan.ts, slow_device.ts).
    const wgLimit = q.caps?.limits.maxComputeWorkgroupStorageSize ?? 16384;
    const tile = fa2QueryTile({
      queryLens: layout.seqs.map((s) => s.qLen),
      heads: spec.numHeads,
      smCount: deviceClassOf(q.caps)?.smCount ?? null,
      shape,
      maxWorkgroupElements: q.workgroupElementCap,
      maxWorkgroupBytes: q.caps === null ? null : wgLimit,
      workgroupsPerSm: tuning.fa2WorkgroupsPerSm,
    });
    const { queryTile } = tile;
    const workgroupSize = fa2WorkgroupSize(queryTile);
    // The score GEMM's chunk of the head width: the widest that fits the device's
    // workgroup memory (and the GL fallback's element cap); without caps, the 16 KiB every
    // WebGPU device has.
    const chunkVec4 = fa2ChunkVec4(shape, queryTile, {
      maxBytes: wgLimit,
      maxElements: q.workgroupElementCap,
      maxChunkVec4: tuning.fa2MaxChunkVec4,
    });
    const wgBytes = fa2WorkgroupBytes(shape, queryTile, chunkVec4);
    // A width that is no whole number of vec4s (refused above) gives no real tile size: the
    // bytes would be computed from fractional widths, a second reason that means nothing.
    const wholeVec4 = !reasons.some((r) => r.code === "shape.not-vec4");
    if (q.caps !== null && wholeVec4 && wgBytes > wgLimit) {
      reasons.push({
        code: "limits.workgroup-storage",
        message:
          `the ${queryTile}-query x 32-key tiles need ${wgBytes} bytes of workgroup memory ` +
          `(v_head_dim ${spec.vChannels}), over maxComputeWorkgroupStorageSize ${wgLimit}; ` +
          "use backend wgsl-expanded",
      });
    }
    const longest = maxKLen(layout);
    // KV splits: a GPU's decode grid (one tile per sequence and head) fills its SMs
    // through them; a cpu-class device runs one unless the case forces more; and on a
    // device with a loop budget, at least as many as keep one split's keys within it (as
    // the absorbed backends choose theirs).
    const cls = deviceClassOf(q.caps);
    const budget = loopBudgetOf(q.caps);
    const fit = budget === null ? Infinity : fa2MaxKeys(shape, budget, queryTile, chunkVec4);
    const budgetSplits = fa2BudgetKvSplits(longest, fit);
    const kvSplits = q.kvSplits ?? Math.max(
      fa2KvSplits({
        workgroups: fa2Grid(layout.seqs.map((s) => s.qLen), spec.numHeads, queryTile),
        maxKLen: longest,
        smCount: cls?.kind === "gpu" ? cls.smCount ?? TILED_DEFAULT_SMS : null,
        minKeysPerSplit: tuning.fa2MinKeysPerSplit,
        workgroupsPerSm: tuning.fa2WorkgroupsPerSm,
      }),
      budgetSplits ?? 1,
    );
    const splitsValid = bundledKvSplits(kvSplits);
    if (!splitsValid) {
      reasons.push(
        kvSplitsRangeReason(kvSplits, q.kvSplits !== undefined, { budget, maxKeys: fit, longest }),
      );
    }
    const rowsOut = layout.totalQ * spec.numHeads;
    const buffers = [
      ...denseBuffers(spec, layout, dtype),
      ...(splitsValid && kvSplits > 1
        ? [
          { name: "out_part", bytes: kvSplits * rowsOut * spec.vChannels * 4 },
          { name: "lse_part", bytes: kvSplits * rowsOut * 4 },
        ]
        : []),
    ];
    reasons.push(...limitReasons(q, buffers, workgroupSize, new Set(["k", "v"])));
    // Each dispatch is [query tiles x heads, splits] of one group of sequences, and there is
    // one group when K and V fit one binding each: then x is the whole grid and must fit one
    // dimension. (Split into groups the launcher's grouping decides, which is not known here:
    // not checked, rather than refused on an upper bound.)
    const binding = q.caps?.limits.maxStorageBufferBindingSize ?? 134217728;
    const oneGroup = buffers.every((b) => (b.name !== "k" && b.name !== "v") || b.bytes <= binding);
    if (oneGroup) {
      reasons.push(
        ...gridReason(
          q,
          "FA2 attention pass",
          "query tiles x heads",
          fa2Grid(layout.seqs.map((s) => s.qLen), spec.numHeads, queryTile),
        ),
      );
    }
    reasons.push(...gridReason(q, "FA2 attention pass", "y: KV splits", kvSplits));
    const keysPerSplit = fa2KeysPerSplit(longest, splitsValid ? kvSplits : 1);
    const iterations = fa2LoopIterations(shape, keysPerSplit, queryTile, chunkVec4);
    if (budget !== null && splitsValid && iterations > budget) {
      // Only a forced count (or a budget under one key tile) gets here: the adapter's own
      // choice fits.
      const fix = budgetSplits !== null && bundledKvSplits(budgetSplits)
        ? `use kvSplits >= ${budgetSplits} (or leave kvSplits unset: the adapter chooses), ` +
          "shorter sequences or backend wgsl-absorbed"
        : "shorter sequences or backend wgsl-absorbed";
      reasons.push({
        code: "device.loop-budget",
        message: `one expanded-tiled invocation would walk ${keysPerSplit} keys in ` +
          `${iterations} loop iterations, over this device's loop ` +
          `budget of ${budget} (it would silently drop keys); at most ${fit} keys fit in ` +
          `one split: ${fix}`,
      });
    }
    reasons.push(...perSequenceKvReasons(q, eb));
    const expandTextures = expandTexturesOf(q, buffers);
    return {
      reasons,
      path: "expanded",
      variant: {
        family: "expanded-fa2",
        dtype,
        workgroupSize,
        headsPerTile: 1,
        kvSplits,
        queryTile,
        headsPerInvocation: 1,
        keysPerBlock: FA2_KEY_TILE,
        chunkVec4,
        queryTileChoice: {
          workgroups: tile.workgroups,
          workgroupsPerSm: tuning.fa2WorkgroupsPerSm,
          target: tile.target,
          elementCap: tile.elementCap,
          ...(tile.bytesCap === null ? {} : { workgroupBytesCap: tile.bytesCap }),
        },
        ...budgetSplitsField(budget, fit, budgetSplits),
        // The 4 x 4 micro-tile's loops, as the tiled decode's (kernels/unroll.ts).
        ...(cls?.kind === "gpu" ? { unrolledLoops: true } : {}),
        ...(expandTextures === null ? {} : { expandTextures }),
      },
      buffers,
      keyWidth: spec.kChannels,
      valueWidth: spec.vChannels,
    };
  },
};

const cpuReference: Backend = {
  id: "cpu-reference",
  path: "expanded",
  runsOn: "cpu",
  description: "float64 dense attention on the CPU (the reference itself; never chosen by auto)",
  check(q) {
    return {
      reasons: [],
      path: "expanded",
      variant: {
        family: "reference",
        dtype: q.dtype,
        workgroupSize: 1,
        headsPerTile: 1,
        kvSplits: 1,
        queryTile: 1,
        headsPerInvocation: 1,
        keysPerBlock: 1,
      },
      buffers: [],
      keyWidth: q.spec.kChannels,
      valueWidth: q.spec.vChannels,
    };
  },
};

/** The bundled backends by id (user backends join them in adapter/registry.ts). */
export const BUNDLED_BACKENDS: Readonly<Record<string, Backend>> = {
  "wgsl-absorbed": absorbed,
  "wgsl-expanded": expanded,
  "wgsl-absorbed-tiled": absorbedTiled,
  "wgsl-absorbed-tiled-sg": absorbedTiledSg,
  "wgsl-expanded-tiled": expandedTiled,
  "wgsl-absorbed-gemm": absorbedGemm,
  "wgsl-expanded-gemm": expandedGemm,
  "cpu-reference": cpuReference,
};

/** Kernel files of the tiled absorbed backend and its subgroup variant. */
const TILED_ABSORBED_FILES = [
  "absorb_q.wgsl",
  "absorb_q_io.wgsl",
  "absorb_q_split.wgsl",
  "absorbed_tiled.wgsl",
  "cache_texture.wgsl",
  "combine.wgsl",
  "max_key.wgsl",
  "up_proj.wgsl",
  "up_proj_io.wgsl",
  "up_proj_split.wgsl",
  "w_kv_b_rows.wgsl",
] as const;

/**
 * The WGSL files each bundled GPU backend's launcher compiles itself (kernels/launch_*.ts),
 * or the launch kit compiles on its behalf (`cache_texture.wgsl` for the textures its plan
 * reads through: w_kv_b's `weightTexture`, the expansion's `expandTextures`), besides the
 * RoPE pass every attention run shares (`rope.wgsl`, kernels/attention.ts), and the parts
 * those files include (`// @include`, kernels/source.ts: a changed part changes what runs):
 * the one list behind the backend modules' `files` (kernels/bundled_modules.ts) and the
 * files a baseline hashes per case (drift/kernel_files.ts). Data only: the adapter
 * compiles nothing.
 *
 * @example
 * ```ts
 * import { BUNDLED_KERNEL_FILES } from "./backends.ts";
 * BUNDLED_KERNEL_FILES["wgsl-expanded"]; // ["pack_q.wgsl", "expand_kv.wgsl", "expanded.wgsl", "cache_texture.wgsl"]
 * ```
 */
export const BUNDLED_KERNEL_FILES: Readonly<Record<BundledGpuBackendId, readonly string[]>> = {
  // absorb_q_split.wgsl and up_proj_split.wgsl: the query absorption and up-projection of
  // gpu-class plans (adapter/harness_tiles.ts)
  "wgsl-absorbed": [
    "absorb_q.wgsl",
    "absorb_q_io.wgsl",
    "absorb_q_split.wgsl",
    "absorbed.wgsl",
    "cache_texture.wgsl",
    "combine.wgsl",
    "up_proj.wgsl",
    "up_proj_io.wgsl",
    "up_proj_split.wgsl",
    "w_kv_b_rows.wgsl",
  ],
  // cache_texture.wgsl copies K and V into the textures the kernel reads them through
  "wgsl-expanded": ["pack_q.wgsl", "expand_kv.wgsl", "expanded.wgsl", "cache_texture.wgsl"],
  "wgsl-absorbed-tiled": TILED_ABSORBED_FILES,
  // the same files: the subgroup variant is the `// @sg:` lines of absorbed_tiled.wgsl
  "wgsl-absorbed-tiled-sg": TILED_ABSORBED_FILES,
  "wgsl-expanded-tiled": [
    "pack_q.wgsl",
    "expand_kv.wgsl",
    "cache_texture.wgsl",
    "expanded_fa2.wgsl",
    "combine.wgsl",
    "max_key.wgsl",
  ],
  "wgsl-absorbed-gemm": [
    "absorb_q.wgsl",
    "absorb_q_io.wgsl",
    "absorb_q_split.wgsl",
    "absorbed_gemm.wgsl",
    "cache_texture.wgsl",
    "gemm_common.wgsl",
    "gemm_softmax.wgsl",
    "split_sum.wgsl",
    "up_proj.wgsl",
    "up_proj_io.wgsl",
    "up_proj_split.wgsl",
    "w_kv_b_rows.wgsl",
  ],
  "wgsl-expanded-gemm": [
    "pack_q.wgsl",
    "expand_kv.wgsl",
    "cache_texture.wgsl",
    "expanded_gemm.wgsl",
    "gemm_common.wgsl",
    "gemm_softmax.wgsl",
  ],
};

/** Ids of the bundled backends that run on the GPU. */
export type BundledGpuBackendId =
  | "wgsl-absorbed"
  | "wgsl-expanded"
  | "wgsl-absorbed-tiled"
  | "wgsl-absorbed-tiled-sg"
  | "wgsl-expanded-tiled"
  | "wgsl-absorbed-gemm"
  | "wgsl-expanded-gemm";

/**
 * The order `auto` tries backends in: the absorbed kernel first (it reads 576
 * numbers per cached token instead of h*(192+128)), then the expanded one. The CPU
 * reference is never picked by `auto`: a GPU harness must not silently fall back to
 * the thing it compares against.
 */
export const AUTO_PRIORITY: readonly BackendId[] = ["wgsl-absorbed", "wgsl-expanded"];

/** The order `auto` tries backends in for one case, and why. */
export interface AutoChoice {
  /** Backend ids, first choice first. */
  readonly order: readonly BackendId[];
  /** Why this order (for explain). */
  readonly reason: string;
}

/**
 * The backend each device class tries first for each path (`autoPriority` and
 * `pathPriority` both start from it): the tiled kernels on a GPU, the register-tiled gemm
 * kernels on a CPU driver.
 */
const CLASS_FIRST: Readonly<Record<DeviceClassName, Readonly<Record<AttentionPath, BackendId>>>> = {
  gpu: { absorbed: "wgsl-absorbed-tiled", expanded: "wgsl-expanded-tiled" },
  cpu: { absorbed: "wgsl-absorbed-gemm", expanded: "wgsl-expanded-gemm" },
};

/**
 * The bundled kernels of each path, in the order `auto` and `auto:<path>` fall back to
 * those the device-class rule did not try before they refuse a case: a case one of them
 * runs is never reported unsupported under auto. Not the subgroup variant
 * `wgsl-absorbed-tiled-sg` (selectable with `--backend`): it plans no case
 * `wgsl-absorbed-tiled` refuses (tests/subgroups_plan_test.ts), so after it it would never be
 * reached, and no GPU has measured it against that kernel to go before it.
 */
const PATH_KERNELS: Readonly<Record<AttentionPath, readonly BackendId[]>> = {
  absorbed: ["wgsl-absorbed-tiled", "wgsl-absorbed-gemm", "wgsl-absorbed"],
  expanded: ["wgsl-expanded-tiled", "wgsl-expanded-gemm", "wgsl-expanded"],
};

// A device's choice followed by the kernels of `paths` it does not name, said in its reason.
function withFallbacks(choice: AutoChoice, paths: readonly AttentionPath[]): AutoChoice {
  const rest = paths.flatMap((p) => PATH_KERNELS[p]).filter((id) => !choice.order.includes(id));
  return rest.length === 0 ? choice : {
    order: [...choice.order, ...rest],
    reason: `${choice.reason}; where ${choice.order.join(", ")} refuse the case, ` +
      rest.join(", "),
  };
}

/**
 * The device-class rule of `auto`: on a "gpu"-class device, decode (no sequence with
 * 4 or more queries) tries the tiled absorbed kernel first (its workgroups share each
 * key tile among all heads; the lane-per-head kernels leave a GPU idle) and prefill
 * the FlashAttention-2-shaped expanded kernel (640 FLOP per head and query-key pair
 * against 2176 for absorbed), then {@link AUTO_PRIORITY}. On "cpu"-class devices such
 * as lavapipe decode tries `wgsl-absorbed-gemm` first and prefill `wgsl-expanded-gemm`
 * (register-tiled scores and values passes), then {@link AUTO_PRIORITY}; no device uses
 * {@link AUTO_PRIORITY}. On a device, the bundled kernels of both paths that rule does not
 * name follow, so that a case one of them runs is not refused.
 *
 * @example
 * ```ts
 * import { normalizeLayout } from "./layout.ts";
 * import { autoPriority } from "./backends.ts";
 * const l = normalizeLayout({ kind: "bshd", batch: 4, seqQ: 1, seqK: 4096, causal: true });
 * autoPriority(l, null).order; // ["wgsl-absorbed", "wgsl-expanded"]
 * ```
 */
export function autoPriority(layout: NormalizedLayout, caps: DeviceCaps | null): AutoChoice {
  if (caps === null) return { order: AUTO_PRIORITY, reason: "no device: the bundled priority" };
  return withFallbacks(autoClassPriority(layout, caps), ["absorbed", "expanded"]);
}

// autoPriority's choice on a device, before its fallbacks.
function autoClassPriority(layout: NormalizedLayout, caps: DeviceCaps | null): AutoChoice {
  const cls = deviceClassOf(caps);
  if (cls === null) return { order: AUTO_PRIORITY, reason: "no device: the bundled priority" };
  const decode = queryTileOf(layout) === 1;
  if (cls.kind === "gpu" && decode) {
    return {
      order: [CLASS_FIRST.gpu.absorbed, ...AUTO_PRIORITY],
      reason: "device class gpu and decode (every sequence has fewer than 4 queries): the " +
        "tiled absorbed kernel first (each key tile staged once, shared by all heads)",
    };
  }
  if (cls.kind === "gpu") {
    return {
      order: [CLASS_FIRST.gpu.expanded, ...AUTO_PRIORITY],
      reason: "device class gpu and prefill (a sequence has 4 or more queries): the " +
        "FlashAttention-2-shaped expanded kernel first (640 FLOP per head and query-key pair " +
        "against 2176 absorbed; K/V expansion is cache construction)",
    };
  }
  if (decode) {
    return {
      order: [CLASS_FIRST.cpu.absorbed, ...AUTO_PRIORITY],
      reason: `device class cpu (${cls.reasons[0]}) and decode: the CPU-shaped absorbed ` +
        "kernel first (scores and values as register-tiled passes: FMAs per loaded number is " +
        "what a CPU driver's speed is)",
    };
  }
  return {
    order: [CLASS_FIRST.cpu.expanded, ...AUTO_PRIORITY],
    reason: `device class cpu (${cls.reasons[0]}) and prefill: the CPU-shaped expanded ` +
      "kernel first (per head, 16 queries x 16 keys register tiles; 640 FLOP per head and " +
      "query-key pair against 2176 absorbed)",
  };
}

/**
 * The device-class rule of `auto:<path>` (matrix cases and `bench` name a path, not a
 * backend): the order in which the bundled backends of that path are tried. Absorbed: the
 * tiled kernel on "gpu"-class devices, the register-tiled gemm kernel on "cpu"-class ones,
 * then `wgsl-absorbed` (which alone forces KV splits). Expanded: in prefill (a sequence with
 * 4 or more queries) the tiled FlashAttention-2 kernel (gpu) or the gemm kernel (cpu), then
 * `wgsl-expanded`; in decode the FlashAttention-2 kernel with KV splits (gpu: its workgroups
 * stage key tiles together where the lane kernel walks keys lane by lane), then
 * `wgsl-expanded`, and on cpu-class devices `wgsl-expanded` first (the gemm kernel's 16-query
 * tiles would hold one query). On a device, the path's kernels that rule does not name
 * follow, so that a case one of them runs is not refused. Without a device: the bundled
 * backend of the path ({@link BUNDLED_BACKEND_OF_PATH}).
 *
 * @example
 * ```ts
 * import { normalizeLayout } from "./layout.ts";
 * import { pathPriority } from "./backends.ts";
 * const l = normalizeLayout({ kind: "bshd", batch: 4, seqQ: 1, seqK: 4096, causal: true });
 * pathPriority("absorbed", l, null).order; // ["wgsl-absorbed"]
 * ```
 */
export function pathPriority(
  path: AttentionPath,
  layout: NormalizedLayout,
  caps: DeviceCaps | null,
): AutoChoice {
  const choice = pathClassPriority(path, layout, caps);
  return caps === null ? choice : withFallbacks(choice, [path]);
}

// pathPriority's choice, before a device's fallbacks.
function pathClassPriority(
  path: AttentionPath,
  layout: NormalizedLayout,
  caps: DeviceCaps | null,
): AutoChoice {
  const bundled = BUNDLED_BACKEND_OF_PATH[path];
  const cls = deviceClassOf(caps);
  if (cls === null) {
    return { order: [bundled], reason: "no device: the bundled backend of the path" };
  }
  const because = cls.kind === "gpu" ? "device class gpu" : `device class cpu (${cls.reasons[0]})`;
  if (path === "absorbed") {
    const first = CLASS_FIRST[cls.kind].absorbed;
    return {
      order: [first, bundled],
      reason: `${because}: ${first} first, then ${bundled} (the one that forces KV splits)`,
    };
  }
  if (queryTileOf(layout) === 1 && cls.kind === "gpu") {
    // Dense decode is a stream of K/V rows, one query each: the FA2 kernel's query tile holds
    // one query, but it stages each key tile with coalesced loads by 128 invocations, and its
    // KV splits (fa2KvSplits) give at least 2 workgroups per SM. The lane kernel walks each
    // head's keys with one lane: 16 workgroups of 16 invocations at the headline, which took
    // 22-65 ms on the H200 (docs/benchmarks.md, session 30). Not yet timed against it on a
    // GPU: tools/gpu_machine_check.sh's ab_dense_decode step does.
    const first = CLASS_FIRST.gpu.expanded;
    return {
      order: [first, bundled],
      reason: `${because} and decode: ${first} first (its query tiles hold one query, but ` +
        "each key tile is staged by the whole workgroup and KV splits fill the SMs; the " +
        `lane kernel walks each head's keys alone), then ${bundled}`,
    };
  }
  if (queryTileOf(layout) === 1) {
    return {
      order: [bundled],
      reason: `${because} and decode: ${bundled} (the gemm kernel's 16-query tiles would ` +
        "hold one query each, and a CPU driver's speed is loads per FMA within one lane)",
    };
  }
  const first = CLASS_FIRST[cls.kind].expanded;
  return {
    order: [first, bundled],
    reason: `${because} and prefill: ${first} first, then ${bundled}`,
  };
}

/**
 * Whether a backend request is `auto:<path>`, and which path.
 *
 * @example
 * ```ts
 * import { autoPathOf } from "./backends.ts";
 * autoPathOf("auto:expanded"); // "expanded"
 * autoPathOf("wgsl-expanded"); // null
 * ```
 */
export function autoPathOf(request: string): AttentionPath | null {
  return request === "auto:absorbed" ? "absorbed" : request === "auto:expanded" ? "expanded" : null;
}

/**
 * The bundled GPU backend of each attention path: what `auto:<path>` tries last, and
 * what it chooses when there is no device.
 */
export const BUNDLED_BACKEND_OF_PATH: Readonly<Record<AttentionPath, BackendId>> = {
  absorbed: "wgsl-absorbed",
  expanded: "wgsl-expanded",
};
