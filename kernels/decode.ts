/**
 * Decode against a latent KV cache, as FlashMLA runs it: a pool of pages of
 * `pageSize` rows (64 by default) holding the normalized latent [rows, r] and the
 * shared k_pe [rows, rope] (before RoPE: the attention applies it from each key's
 * position), a block table per sequence whose pages are handed out from a
 * shuffled free list as sequences grow, every row no token occupies poisoned with
 * NaN, and table entries past a sequence's pages left at -1 (never dereferenced).
 * A contiguous cache (`pageSize: null`) gives each sequence `capacity` rows.
 *
 * Each step runs the new tokens' projections on the GPU, APPENDS their latent
 * and k_pe rows into the cache with cache_append.wgsl (a scatter to the physical
 * rows of the step's layout), and attends over the grown cache. Which rows and
 * positions: the step is a packed (thd) layout of the new tokens over the grown
 * key lengths, normalized by the adapter; the new tokens are the last qLen keys
 * of each sequence (bottom-right), so token i of sequence s goes to physical row
 * `kRowOf[kStart + causalOffset + i]` and sits at `qPositions[qStart + i]`.
 * Prefill is the first step (qLen = kLen).
 *
 * `runAttention` takes host arrays, so the pool is read back before attention
 * each step (a cost of the black-box attention entry point, not of the cache).
 *
 * @module
 */
import type { Dtype, GpuPlan, LayoutRequest, MlaSpec, Paging, Tensor } from "../adapter/types.ts";
import { uploadStorage } from "../gpu/buffers.ts";
import type { GpuContext } from "../gpu/device.ts";
import { withErrorScopes } from "../gpu/scopes.ts";
import {
  attendAndProject,
  encodeProjections,
  layerDeviceReason,
  type LayerRunResult,
  LayerUnsupportedError,
  planSpecError,
} from "./layer.ts";
import { LayerEncoder } from "./layer_encoder.ts";
import { type GpuLayerWeights, isGpuWeights, uploadedWeightsProblem } from "./layer_weights.ts";
import { notGpuPlan } from "./attention.ts";
import { planSpecDifference, specDifference } from "../adapter/spec.ts";
import type { SourceMutation } from "./source.ts";
import { makePrng } from "../util/prng.ts";

/**
 * Hand the pages of a step of `newTokens` to `cache` (kernels/decode.ts decodeStep, once its
 * checks have passed): set by {@link LatentCache}'s static block, so only this module can.
 */
let takePages!: (cache: LatentCache, newTokens: readonly number[]) => void;

/** Why `cache` cannot run on `ctx`'s device (destroyed, or another context's), or null. */
let cacheProblem!: (cache: LatentCache, ctx: GpuContext) => string | null;

/** FlashMLA's page size. */
export const DEFAULT_PAGE_SIZE = 64;

/** Options of {@link LatentCache.create}. */
export interface LatentCacheOptions {
  /** The layer spec (r and rope widths). */
  spec: MlaSpec;
  /** Storage dtype of the pool. Default "f32". */
  dtype?: Dtype;
  /** Number of sequences. */
  batch: number;
  /** Most tokens one sequence may hold. */
  capacity: number;
  /** Rows per page (default 64); null for a contiguous cache of `capacity` rows per sequence. */
  pageSize?: number | null;
  /** Spare pages beyond what `batch * capacity` needs (default 1: they must stay NaN). */
  sparePages?: number;
  /** Seed of the page order (the free list is a seeded shuffle). Default 1. */
  seed?: number;
}

/**
 * A latent KV cache on the GPU (paged or contiguous).
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { presetSpec } from "../adapter/presets.ts";
 * import { GpuContext } from "../gpu/device.ts";
 * import { LatentCache } from "./decode.ts";
 * const ctx = await GpuContext.create();
 * const cache = LatentCache.create(ctx, { spec: presetSpec("tiny"), batch: 2, capacity: 40, pageSize: 16 });
 * cache.layoutFor([37, 20]).kind; // "thd"
 * cache.destroy();
 * ```
 */
export class LatentCache {
  /** The spec. */
  readonly spec: MlaSpec;
  /** Storage dtype. */
  readonly dtype: Dtype;
  /** Rows per page, or null (contiguous). */
  readonly pageSize: number | null;
  /** Most tokens per sequence. */
  readonly capacity: number;
  /** Rows of the pool. */
  readonly rows: number;
  /** Pages in the pool (0 when contiguous). */
  readonly numPages: number;
  /** Tokens cached per sequence. */
  readonly lengths: number[];
  /**
   * Physical page of each logical page per sequence (-1: not yet assigned). Pages are
   * assigned when a step that needs them runs (decodeStep), not by {@link layoutFor}.
   */
  readonly blockTable: number[][];
  /** Normalized latent pool [rows, r] (storage dtype). */
  readonly latent: GPUBuffer;
  /** k_pe pool [rows, rope] (storage dtype, before RoPE). */
  readonly kPe: GPUBuffer;
  readonly #free: number[];
  readonly #device: GPUDevice;
  #destroyed = false;

  static {
    takePages = (cache, newTokens) => cache.#take(newTokens);
    cacheProblem = (cache, ctx) =>
      cache.#destroyed
        ? "the cache was destroyed (cache.destroy()): create another"
        : cache.#device !== ctx.device
        ? "the cache was created on another GpuContext's device: create it with " +
          "LatentCache.create(ctx, ...) of the context that runs the step"
        : null;
  }

  private constructor(o: {
    spec: MlaSpec;
    dtype: Dtype;
    pageSize: number | null;
    capacity: number;
    rows: number;
    numPages: number;
    batch: number;
    free: number[];
    latent: GPUBuffer;
    kPe: GPUBuffer;
    device: GPUDevice;
  }) {
    this.spec = o.spec;
    this.dtype = o.dtype;
    this.pageSize = o.pageSize;
    this.capacity = o.capacity;
    this.rows = o.rows;
    this.numPages = o.numPages;
    this.lengths = Array(o.batch).fill(0);
    const perSeq = o.pageSize === null ? 0 : Math.ceil(o.capacity / o.pageSize);
    this.blockTable = Array.from({ length: o.batch }, () => Array(perSeq).fill(-1));
    this.#free = o.free;
    this.latent = o.latent;
    this.kPe = o.kPe;
    this.#device = o.device;
  }

  /** Allocate a cache whose every row is NaN. */
  static create(ctx: GpuContext, options: LatentCacheOptions): LatentCache {
    const { spec, batch, capacity } = options;
    const dtype = options.dtype ?? "f32";
    const pageSize = options.pageSize === undefined ? DEFAULT_PAGE_SIZE : options.pageSize;
    for (const [name, v, min] of [["batch", batch, 1], ["capacity", capacity, 1]] as const) {
      if (!Number.isInteger(v) || v < min) {
        throw new RangeError(`${name} must be an integer >= ${min}, got ${v}`);
      }
    }
    if (pageSize !== null && (!Number.isInteger(pageSize) || pageSize < 1)) {
      throw new RangeError(`pageSize must be an integer >= 1 or null, got ${pageSize}`);
    }
    // -1 made a pool a page short (a later step: "the page pool is exhausted"), 0.5 a
    // RangeError about an "n" of 4.5, "bf16" a pool uploaded as what uploadStorage liked
    const spare = options.sparePages ?? 1;
    if (!Number.isInteger(spare) || spare < 0) {
      throw new RangeError(`sparePages must be an integer >= 0, got ${spare}`);
    }
    if (dtype !== "f32" && dtype !== "f16") {
      throw new RangeError(`dtype must be "f32" or "f16", got ${JSON.stringify(dtype)}`);
    }
    const numPages = pageSize === null ? 0 : batch * Math.ceil(capacity / pageSize) + spare;
    const rows = pageSize === null ? batch * capacity : numPages * pageSize;
    const nan = (width: number, label: string) =>
      uploadStorage(ctx.device, new Float32Array(rows * width).fill(NaN), { type: dtype, label });
    return new LatentCache({
      spec,
      dtype,
      pageSize,
      capacity,
      rows,
      numPages,
      batch,
      free: makePrng(options.seed ?? 1, "free-pages").permutation(numPages),
      latent: nan(spec.kvLoraRank, "cache_latent"),
      kPe: nan(spec.qkRopeHeadDim, "cache_k_pe"),
      device: ctx.device,
    });
  }

  /** Pages not yet handed to a sequence (0 when contiguous). */
  get freePages(): number {
    return this.#free.length;
  }

  /**
   * The layout of a step appending `newTokens[b]` tokens to sequence b: packed
   * queries (the new tokens) over the grown key lengths, causal, with the block
   * table or per-sequence capacity rows. The table holds the pages the step will take
   * as sequences grow (the next ones of the free list), but they are taken only when
   * the step runs ({@link decodeStep}): a step refused, or never run, keeps none, and
   * calling this again before a step runs gives the same layout.
   */
  layoutFor(newTokens: readonly number[]): LayoutRequest {
    if (newTokens.length !== this.lengths.length) {
      throw new RangeError(
        `newTokens lists ${newTokens.length} sequences, the cache holds ${this.lengths.length}`,
      );
    }
    const grown = this.lengths.map((l, b) => {
      const n = newTokens[b];
      if (!Number.isInteger(n) || n < 0) {
        throw new RangeError(`newTokens[${b}] = ${n} must be an integer >= 0`);
      }
      if (l + n > this.capacity) {
        throw new RangeError(`sequence ${b} would hold ${l + n} tokens, capacity ${this.capacity}`);
      }
      return l + n;
    });
    const cum = (xs: readonly number[]) =>
      xs.reduce((acc, x) => [...acc, acc[acc.length - 1] + x], [0]);
    if (this.pageSize === null) {
      return {
        kind: "thd",
        cuSeqlensQ: cum(newTokens),
        cuSeqlensK: cum(grown),
        cuSeqlensKPadded: cum(grown.map(() => this.capacity)),
        causal: true,
      };
    }
    const paging: Paging = {
      pageSize: this.pageSize,
      numPages: this.numPages,
      blockTable: this.#tableFor(grown).table,
    };
    return {
      kind: "thd",
      cuSeqlensQ: cum(newTokens),
      cuSeqlensK: cum(grown),
      causal: true,
      paging,
    };
  }

  /**
   * The block table once sequences hold `grown` tokens: each page they lack is the next of
   * the free list, sequence after sequence; and how many pages that takes. Changes nothing.
   */
  #tableFor(grown: readonly number[]): { table: number[][]; taken: number } {
    const ps = this.pageSize ?? 1;
    let taken = 0;
    const table = this.blockTable.map((row, b) =>
      row.map((page, p) => {
        if (page >= 0 || p >= Math.ceil(grown[b] / ps)) return page;
        const next = this.#free[taken++];
        if (next === undefined) throw new RangeError("the page pool is exhausted");
        return next;
      })
    );
    return { table, taken };
  }

  /** Take the pages a step of `newTokens` needs (the ones {@link layoutFor} listed). */
  #take(newTokens: readonly number[]): void {
    if (this.pageSize === null) return;
    const { table, taken } = this.#tableFor(this.lengths.map((l, b) => l + newTokens[b]));
    this.#free.splice(0, taken);
    table.forEach((row, b) => this.blockTable[b].splice(0, row.length, ...row));
  }

  /**
   * Read the pools back as Float32Array ([rows, r] and [rows, rope]). A destroyed cache, or
   * `ctx` not the context it was created on, is an Error saying so (WebGPU's named only a
   * buffer label: "Buffer with 'cache_latent' label has been destroyed").
   */
  async read(ctx: GpuContext): Promise<{ latent: Float32Array; kPe: Float32Array }> {
    if (this.#destroyed) {
      throw new Error(
        "LatentCache.read: the cache was destroyed (cache.destroy()): read it before",
      );
    }
    if (this.#device !== ctx.device) {
      throw new Error(
        "LatentCache.read: the cache was created on another GpuContext's device: read it " +
          "with the GpuContext it was created on",
      );
    }
    const enc = new LayerEncoder(ctx, this.dtype);
    try {
      return {
        latent: Float32Array.from(await enc.read(this.latent, this.rows * this.spec.kvLoraRank)),
        kPe: Float32Array.from(await enc.read(this.kPe, this.rows * this.spec.qkRopeHeadDim)),
      };
    } finally {
      enc.release();
    }
  }

  /** Release the pool buffers (a step on the cache afterwards is an Error saying so). */
  destroy(): void {
    this.#destroyed = true;
    this.latent.destroy();
    this.kPe.destroy();
  }
}

/** Options of {@link decodeStep}. */
export interface DecodeStepOptions {
  /** The cache (grows by `newTokens`). */
  cache: LatentCache;
  /** Uploaded weights (same spec and dtype as the cache). */
  weights: GpuLayerWeights;
  /** Hidden states of the new tokens [sum(newTokens), hidden], sequence after sequence. */
  hidden: Tensor;
  /** New tokens per sequence (0 allowed). */
  newTokens: readonly number[];
  /**
   * The attention plan of this step, resolved by the caller for the layout
   * `cache.layoutFor(newTokens)` returns (e.g. runner/layer_plan.ts
   * `resolveLayerPlan`); kernels/ never resolves. A plan whose keys are not this cache's
   * grown by `newTokens` (resolved before the previous step ran, or for another cache) is
   * a RangeError, nothing written.
   */
  plan: GpuPlan;
  /** Rewrite kernel sources (planted faults). */
  mutate?: SourceMutation;
}

/**
 * One decode (or prefill) step: project the new tokens, append their latent and
 * k_pe rows to the cache on the GPU, attend over the grown cache, o_proj. Returns
 * the new tokens' output [sum(newTokens), hidden] and LSE [sum(newTokens), h].
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { presetSpec } from "../adapter/presets.ts";
 * import { GpuContext } from "../gpu/device.ts";
 * import { makeHiddenStates, makeLayerWeights } from "../reference/inputs.ts";
 * import { resolveLayerPlan } from "../runner/layer_plan.ts";
 * import { uploadLayerWeights } from "./layer_weights.ts";
 * import { decodeStep, LatentCache } from "./decode.ts";
 * const ctx = await GpuContext.create();
 * const spec = presetSpec("tiny");
 * const weights = uploadLayerWeights(ctx, { spec, weights: makeLayerWeights(spec, { seed: 1 }) });
 * const cache = LatentCache.create(ctx, { spec, batch: 1, capacity: 64, pageSize: 16 });
 * const planFor = (newTokens: number[]) =>
 *   resolveLayerPlan(ctx.caps, { spec, layout: cache.layoutFor(newTokens), dtype: "f32" });
 * await decodeStep(ctx, { cache, weights, newTokens: [5], plan: planFor([5]),
 *   hidden: makeHiddenStates(5, 64, { seed: 1 }) });
 * const step = await decodeStep(ctx, { cache, weights, newTokens: [1], plan: planFor([1]),
 *   hidden: makeHiddenStates(1, 64, { seed: 2 }) });
 * step.out.length; // 64
 * ```
 */
export async function decodeStep(
  ctx: GpuContext,
  options: DecodeStepOptions,
): Promise<LayerRunResult> {
  ctx.assertAlive();
  const t0 = performance.now();
  const { cache, weights } = options;
  if (!isGpuWeights(weights)) {
    throw new TypeError(
      "decodeStep: weights must be uploaded once with uploadLayerWeights(ctx, ...) (reused " +
        "by every step), not host tensors",
    );
  }
  const notGpu = notGpuPlan(options.plan);
  if (notGpu !== null) throw new TypeError(`decodeStep: ${notGpu}`);
  const problem = cacheProblem(cache, ctx) ?? uploadedWeightsProblem(weights, ctx);
  if (problem !== null) throw new Error(`decodeStep: ${problem}`);
  const spec = cache.spec;
  const differs = specDifference(weights.spec, spec);
  if (differs !== null || weights.dtype !== cache.dtype) {
    throw new RangeError(
      `weights (${weights.spec.name}, ${weights.dtype}) do not match the cache (${spec.name}, ` +
        `${cache.dtype})${differs === null ? "" : `: the specs differ in ${differs}`}`,
    );
  }
  const total = options.newTokens.reduce((a, b) => a + b, 0);
  if (options.hidden.length !== total * spec.hiddenSize) {
    throw new RangeError(
      `hidden has ${options.hidden.length} values, expected ${total} new tokens * hidden ${spec.hiddenSize}`,
    );
  }
  // The step's pages are taken once every check has passed; lengths change only after success.
  const plan = options.plan;
  const layout = plan.layout;
  if (plan.variant.dtype !== cache.dtype) {
    throw new RangeError(
      `plan dtype ${plan.variant.dtype} does not match the cache (${cache.dtype})`,
    );
  }
  const qLens = layout.seqs.map((s) => s.qLen);
  if (
    qLens.length !== options.newTokens.length || qLens.some((n, b) => n !== options.newTokens[b])
  ) {
    throw new RangeError(
      `plan queries per sequence [${qLens}] do not match newTokens [${options.newTokens}]: ` +
        "resolve the plan for cache.layoutFor(newTokens)",
    );
  }
  // A plan resolved before the previous step ran (or for another cache) names key rows the
  // cache does not hold: the new tokens' rows were written over cached ones and the step
  // attended to the wrong keys, with no error. Its keys must be this cache's, grown.
  const planDiffers = planSpecDifference(plan, spec);
  if (planDiffers !== null) throw planSpecError(spec, planDiffers);
  const stale = staleKeys(cache, layout, options.newTokens);
  if (stale !== null) {
    throw new RangeError(
      `plan keys do not match the cache: ${stale}; resolve the plan for ` +
        "cache.layoutFor(newTokens) after the previous step has run",
    );
  }
  const unsupported = layerDeviceReason(ctx, plan);
  if (unsupported) throw new LayerUnsupportedError([unsupported]);
  takePages(cache, options.newTokens);
  const pairs: [number, number][] = [];
  for (const s of layout.seqs) {
    for (let i = 0; i < s.qLen; i++) {
      pairs.push([layout.qRowOf[s.qStart + i], layout.kRowOf[s.kStart + s.causalOffset + i]]);
    }
  }
  const enc = new LayerEncoder(ctx, cache.dtype, options.mutate);
  const r = spec.kvLoraRank;
  const rope = spec.qkRopeHeadDim;
  try {
    return await withErrorScopes(ctx.device, "decodeStep", async () => {
      const p = await encodeProjections(enc, { weights, hidden: options.hidden });
      await enc.copyRows(p.latent, cache.latent, {
        pairs,
        width: r,
        srcStride: r,
        srcOffset: 0,
        dstStride: r,
        dstOffset: 0,
      });
      await enc.copyRows(p.kvA, cache.kPe, {
        pairs,
        width: rope,
        srcStride: r + rope,
        srcOffset: r,
        dstStride: rope,
        dstOffset: 0,
      });
      const q = await enc.read(p.q, p.rows * spec.numHeads * spec.kChannels);
      const latent = await enc.read(cache.latent, cache.rows * r);
      const kPe = await enc.read(cache.kPe, cache.rows * rope);
      const result = await attendAndProject(ctx, {
        enc,
        weights,
        plan,
        q,
        latent,
        kPe,
        mutate: options.mutate,
        t0,
        tProject: performance.now(),
      });
      options.newTokens.forEach((n, b) => cache.lengths[b] += n);
      return result;
    });
  } finally {
    enc.release();
  }
}

/**
 * Why a step's layout does not address this cache grown by `newTokens` (key lengths, or
 * the rows its keys sit in: the block table or the per-sequence capacity rows), or null.
 */
function staleKeys(
  cache: LatentCache,
  layout: GpuPlan["layout"],
  newTokens: readonly number[],
): string | null {
  const want = cache.lengths.map((l, b) => l + newTokens[b]);
  const got = layout.seqs.map((s) => s.kLen);
  if (got.length !== want.length || got.some((k, b) => k !== want[b])) {
    return `its keys per sequence are [${got}], the cache holds [${cache.lengths}] and ` +
      `newTokens [${newTokens}] add up to [${want}]`;
  }
  const ps = cache.pageSize;
  // the pages the step will take: the ones cache.layoutFor lists
  const table = cache.layoutFor(newTokens).paging?.blockTable ?? [];
  for (const [b, s] of layout.seqs.entries()) {
    for (let j = 0; j < s.kLen; j++) {
      const row = ps === null ? b * cache.capacity + j : table[b][Math.floor(j / ps)] * ps + j % ps;
      if (layout.kRowOf[s.kStart + j] !== row) {
        return `key ${j} of sequence ${b} is at row ${layout.kRowOf[s.kStart + j]} in the ` +
          `plan and at row ${row} in the cache (a plan of another cache?)`;
      }
    }
  }
  return null;
}
