/**
 * `runAttention`: runs one {@link Plan} on the GPU: RoPE, absorption (or
 * expansion) and the plan's attention path, returning the outputs in logical
 * query order and the timing.
 *
 * @module
 */
import type { AttentionInputs, AttentionOutputs, MlaSpec, Plan } from "../adapter/types.ts";
import { createStorage, createUniform, UniformWriter, uploadStorage } from "../gpu/buffers.ts";
import { readbackF32 } from "../gpu/buffers.ts";
import type { GpuContext } from "../gpu/device.ts";
import { bindBuffers, encodeDispatch } from "../gpu/dispatch.ts";
import { withErrorScopes } from "../gpu/scopes.ts";
import { PipelineCache } from "../gpu/shader.ts";
import { PassTimer, type Timing } from "../gpu/timing.ts";
import { loadKernel, type SourceMutation } from "./source.ts";
import { denseGroups, expandChunks, packRows, queryMeta, queryTiles, rowCosSin } from "./tables.ts";

/** Options of {@link runAttention}. */
export interface RunAttentionOptions {
  /** The layer spec (RoPE tables, shapes). */
  spec: MlaSpec;
  /** Attention-core inputs (buffer rows, RoPE not applied). */
  inputs: AttentionInputs;
  /** Rewrite a kernel source before compilation (fault injection). */
  mutate?: SourceMutation;
  /** Collect per-pass timing (timestamp-query when available). Default true. */
  timing?: boolean;
  /**
   * Benchmarking: after the first submission (whose outputs are returned), encode
   * the recorded passes again `reps` times, one submission each, after `warmup`
   * untimed ones, and return their timings in `repeats`. `scope` "all" repeats every
   * pass (RoPE is applied again in place, so only the first outputs are meaningful),
   * "core" only the attention passes (absorbed + combine, or expanded).
   */
  repeat?: { reps: number; warmup?: number; scope?: "all" | "core" };
}

/** The result of {@link runAttention}. */
export interface RunAttentionResult {
  /** Output [totalQ, h, v] and LSE [totalQ, h] (Float32Array, logical query order). */
  outputs: AttentionOutputs;
  /** Timing of the submission, or null when not requested. */
  timing: Timing | null;
  /** Timings of the repeated submissions (only with `options.repeat`). */
  repeats?: Timing[];
}

/** Passes that form the attention core (what `repeat.scope: "core"` re-runs). */
export const CORE_PASSES: readonly string[] = ["absorbed", "combine", "expanded"];

interface RecordedPass {
  name: string;
  pipeline: GPUComputePipeline;
  group: GPUBindGroup;
  workgroups: readonly [number, number?, number?];
}

const caches = new WeakMap<GpuContext, PipelineCache>();

/**
 * The pipeline cache runAttention uses for a context (one per context; it empties
 * itself when the device is re-acquired).
 *
 * @example
 * ```ts
 * import { GpuContext } from "../gpu/device.ts";
 * import { pipelineCacheOf } from "./attention.ts";
 * const ctx = await GpuContext.create();
 * pipelineCacheOf(ctx).size; // 0
 * ```
 */
export function pipelineCacheOf(ctx: GpuContext): PipelineCache {
  let c = caches.get(ctx);
  if (!c) {
    c = new PipelineCache(ctx);
    caches.set(ctx, c);
  }
  return c;
}

/** Workgroups for a 1-D kernel of `n` invocations at 64 per workgroup, folded into y. */
function grid1d(n: number): [number, number] {
  const groups = Math.max(1, Math.ceil(n / 64));
  const x = Math.min(groups, 65535);
  return [x, Math.ceil(groups / x)];
}

function checkInputs(spec: MlaSpec, plan: Plan, inputs: AttentionInputs): void {
  const { qRows, kRows } = plan.layout;
  const h = spec.numHeads;
  const want: [keyof AttentionInputs, number][] = [
    ["qNope", qRows * h * spec.qkNopeHeadDim],
    ["qPe", qRows * h * spec.qkRopeHeadDim],
    ["latent", kRows * spec.kvLoraRank],
    ["kPe", kRows * spec.qkRopeHeadDim],
    ["wKvB", h * (spec.qkNopeHeadDim + spec.vHeadDim) * spec.kvLoraRank],
  ];
  for (const [name, n] of want) {
    if (inputs[name].length !== n) {
      throw new RangeError(`inputs.${name} has ${inputs[name].length} elements, expected ${n}`);
    }
  }
  if (plan.attention.numHeads !== h) {
    throw new RangeError(`plan has ${plan.attention.numHeads} heads, spec ${h}`);
  }
}

/**
 * Run a plan's attention on the GPU: RoPE (float64 cos/sin tables per row), then
 * for the absorbed path query absorption, the latent MQA kernel (split-KV plus a
 * combine pass when `plan.variant.kvSplits > 1`) and the W_UV up-projection; for
 * the expanded path the K/V expansion and dense attention. Outputs come back as
 * Float32Array in logical query order; a row that sees no key has output 0 and
 * LSE -Infinity. Validation and out-of-memory errors throw a GpuScopeError.
 *
 * @example
 * ```ts
 * import { presetSpec } from "../adapter/presets.ts";
 * import { resolve } from "../adapter/resolve.ts";
 * import { GpuContext } from "../gpu/device.ts";
 * import { makeAttentionInputs } from "../reference/inputs.ts";
 * import { runAttention } from "./attention.ts";
 * const ctx = await GpuContext.create({ optionalFeatures: ["shader-f16", "timestamp-query"] });
 * const spec = presetSpec("tiny");
 * const plan = resolve({ spec, dtype: "f32", backend: "wgsl-absorbed",
 *   layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true } }, ctx.caps);
 * if (plan.kind === "plan") {
 *   const inputs = makeAttentionInputs(spec, plan.layout, { seed: 1 });
 *   const { outputs, timing } = await runAttention(ctx, plan, { spec, inputs });
 * }
 * ```
 */
export async function runAttention(
  ctx: GpuContext,
  plan: Plan,
  options: RunAttentionOptions,
): Promise<RunAttentionResult> {
  ctx.assertAlive();
  const { spec, inputs } = options;
  checkInputs(spec, plan, inputs);
  const dtype = plan.variant.dtype;
  if (dtype === "f16" && !ctx.hasFeature("shader-f16")) {
    throw new Error("plan dtype f16 needs a device created with the shader-f16 feature");
  }
  const device = ctx.device;
  const cache = pipelineCacheOf(ctx);
  const load = async (fileName: string, entryPoint: string, params?: Record<string, number>) =>
    await cache.get(await loadKernel(fileName, { dtype, params, mutate: options.mutate }), {
      entryPoint,
    });
  const layout = plan.layout;
  const h = spec.numHeads;
  const nope = spec.qkNopeHeadDim;
  const rope = spec.qkRopeHeadDim;
  const r = spec.kvLoraRank;
  const vDim = spec.vHeadDim;
  const half = rope / 2;
  const neox = spec.ropePairing === "neox" ? 1 : 0;
  const limit = device.limits.maxComputeWorkgroupsPerDimension;
  const owned: GPUBuffer[] = [];
  const keep = <T extends GPUBuffer>(b: T): T => {
    owned.push(b);
    return b;
  };
  const st = (data: ArrayLike<number>, label: string) =>
    keep(uploadStorage(device, data, { type: dtype, label }));
  const u32 = (data: ArrayLike<number>, label: string) =>
    keep(uploadStorage(device, data, { type: "u32", label }));
  const f32 = (data: ArrayLike<number>, label: string) =>
    keep(uploadStorage(device, data, { type: "f32", label }));
  const uniform = (w: UniformWriter) => keep(createUniform(device, w.finish()));
  // Room for every pass: the expanded path may split expansion and attention into
  // several dispatches when K/V exceed one binding.
  const eBytes = dtype === "f16" ? 2 : 4;
  const maxPasses = 8 + layout.seqs.length + expandChunks(
    layout.kRows,
    h * (nope + rope) * eBytes,
    h * vDim * eBytes,
    device.limits.maxStorageBufferBindingSize,
    device.limits.minStorageBufferOffsetAlignment,
  ).length;
  const timer = options.timing === false ? null : new PassTimer(device, maxPasses);

  const qCos = rowCosSin(spec, {
    rows: layout.qRows,
    rowOf: layout.qRowOf,
    positions: layout.qPositions,
  });
  const kCos = rowCosSin(spec, {
    rows: layout.kRows,
    rowOf: layout.kRowOf,
    positions: layout.kPositions,
  });
  const totalQ = layout.totalQ;

  try {
    return await withErrorScopes(device, `runAttention ${plan.backend}`, async () => {
      const enc = device.createCommandEncoder({ label: "runAttention" });
      const recorded: RecordedPass[] = [];
      const pass = async (
        name: string,
        pipeline: GPUComputePipeline,
        buffers: (GPUBuffer | GPUBufferBinding)[],
        workgroups: readonly [number, number?, number?],
      ) => {
        const group = buffers.every((b) => b instanceof GPUBuffer)
          ? bindBuffers(device, pipeline, buffers as GPUBuffer[])
          : device.createBindGroup({
            layout: pipeline.getBindGroupLayout(0),
            entries: buffers.map((b, binding) => ({
              binding,
              resource: b instanceof GPUBuffer ? { buffer: b } : b,
            })),
          });
        const [x, y = 1] = workgroups;
        recorded.push({ name, pipeline, group, workgroups });
        encodeDispatch(enc, pipeline, {
          group,
          workgroups,
          label: name,
          limit,
          timestampWrites: x * y > 0 ? timer?.writes(name) : undefined,
        });
        await Promise.resolve();
      };
      const ropePass = async (name: string, data: GPUBuffer, cosSin: GPUBuffer, o: {
        rows: number;
        heads: number;
        stride: number;
        offset: number;
      }) => {
        const p = await load("rope.wgsl", "rope_inplace");
        const u = uniform(
          new UniformWriter().u32(o.rows).u32(o.heads).u32(o.stride).u32(o.offset).u32(half)
            .u32(neox),
        );
        await pass(name, p, [u, data, cosSin], grid1d(o.rows * o.heads * half));
      };
      const qMeta = u32(queryMeta(layout), "q_meta");
      const kRowsBuf = u32(layout.kRowOf.length ? layout.kRowOf : [0], "k_rows");
      const qCosBuf = f32(qCos, "q_cos_sin");
      const kCosBuf = f32(kCos, "k_cos_sin");
      const wKvB = st(inputs.wKvB, "w_kv_b");
      let outBuf: GPUBuffer;
      let lseBuf: GPUBuffer;

      if (plan.path === "absorbed") {
        const kw = r + rope;
        const qAbs = st(
          packRows(layout.qRows * h, [[null, r], [inputs.qPe, rope]]),
          "q_absorbed",
        );
        const qNope = st(inputs.qNope, "q_nope");
        const latentCache = st(
          packRows(layout.kRows, [[inputs.latent, r], [inputs.kPe, rope]]),
          "latent_cache",
        );
        // 1. q~ = q_nope W_UK into the first r columns of q_absorbed.
        const absorb = await load("absorb_q.wgsl", "absorb_q");
        await pass("absorb_q", absorb, [
          uniform(
            new UniformWriter().u32(layout.qRows).u32(h).u32(nope).u32(r / 4).u32(nope + vDim)
              .u32(kw / 4),
          ),
          qNope,
          wKvB,
          qAbs,
        ], grid1d(layout.qRows * h * (r / 4)));
        // 2. RoPE on q_pe (inside q_absorbed) and k_pe (inside the cache), in place.
        await ropePass("rope_q", qAbs, qCosBuf, {
          rows: layout.qRows,
          heads: h,
          stride: kw,
          offset: r,
        });
        await ropePass("rope_k", latentCache, kCosBuf, {
          rows: layout.kRows,
          heads: 1,
          stride: kw,
          offset: r,
        });
        // 3. Latent MQA (+ combine).
        const heads = plan.variant.headsPerTile;
        const tiles = Math.ceil(h / heads);
        const splits = plan.variant.kvSplits;
        const qt = plan.variant.queryTile;
        const qTileTable = queryTiles(layout, qt);
        const wg = plan.variant.workgroupSize;
        const attn = await load("absorbed.wgsl", "absorbed", {
          WG: wg, // one invocation per HEADS / WG heads (see absorbed.wgsl)
          HEADS: heads,
          HPL: heads / wg,
          KEY_VEC4: kw / 4,
          VAL_VEC4: r / 4,
          QT: qt,
        });
        const xBuf = keep(createStorage(device, totalQ * h * r * 4, "x_latent"));
        lseBuf = keep(createStorage(device, totalQ * h * 4, "lse"));
        const xPart = splits > 1
          ? keep(createStorage(device, splits * totalQ * h * r * 4, "x_part"))
          : xBuf;
        const lsePart = splits > 1
          ? keep(createStorage(device, splits * totalQ * h * 4, "lse_part"))
          : lseBuf;
        await pass("absorbed", attn, [
          uniform(
            new UniformWriter().u32(qTileTable.length / 2).u32(totalQ).u32(h).u32(tiles)
              .u32(splits).f32(plan.attention.softmaxScale).f32(-Infinity),
          ),
          qAbs,
          latentCache,
          qMeta,
          kRowsBuf,
          xPart,
          lsePart,
          u32(qTileTable.length ? qTileTable : [0, 1], "q_tiles"),
        ], [(qTileTable.length / 2) * tiles, splits]);
        if (splits > 1) {
          const comb = await load("combine.wgsl", "combine");
          await pass("combine", comb, [
            uniform(new UniformWriter().u32(totalQ * h).u32(r / 4).u32(splits).f32(-Infinity)),
            xPart,
            lsePart,
            xBuf,
            lseBuf,
          ], grid1d(totalQ * h * (r / 4)));
        }
        // 4. o = W_UV x.
        outBuf = keep(createStorage(device, totalQ * h * vDim * 4, "out"));
        const up = await load("up_proj.wgsl", "up_proj");
        await pass("up_proj", up, [
          uniform(
            new UniformWriter().u32(totalQ).u32(h).u32(nope).u32(vDim).u32(r / 4).u32(
              nope + vDim,
            ),
          ),
          xBuf,
          wKvB,
          outBuf,
        ], grid1d(totalQ * h * vDim));
      } else {
        const kc = nope + rope;
        const q = st(
          packRows(layout.qRows * h, [[inputs.qNope, nope], [inputs.qPe, rope]]),
          "q",
        );
        const latent = st(inputs.latent, "latent");
        const kPe = st(inputs.kPe, "k_pe");
        const eb = dtype === "f16" ? 2 : 4;
        const rowK = h * kc * eb;
        const rowV = h * vDim * eb;
        const k = keep(createStorage(device, layout.kRows * rowK, "k"));
        const v = keep(createStorage(device, layout.kRows * rowV, "v"));
        const maxBinding = device.limits.maxStorageBufferBindingSize;
        const align = device.limits.minStorageBufferOffsetAlignment;
        // 1. RoPE on q and on the shared k_pe [kRows, rope] (expand_kv copies the
        //    rotated k_pe into every head's K, so K is never rotated in place).
        await ropePass("rope_q", q, qCosBuf, {
          rows: layout.qRows,
          heads: h,
          stride: kc,
          offset: nope,
        });
        await ropePass("rope_k", kPe, kCosBuf, {
          rows: layout.kRows,
          heads: 1,
          stride: rope,
          offset: 0,
        });
        // 2. k = [W_UK c | k_pe], v = W_UV c per head, in row chunks whose k and v
        //    bindings fit maxStorageBufferBindingSize (one chunk unless K is huge).
        const expand = await load("expand_kv.wgsl", "expand_kv");
        for (const [row0, rows] of expandChunks(layout.kRows, rowK, rowV, maxBinding, align)) {
          await pass("expand_kv", expand, [
            uniform(
              new UniformWriter().u32(rows).u32(row0).u32(h).u32(nope).u32(vDim).u32(rope)
                .u32(r / 4),
            ),
            latent,
            kPe,
            wKvB,
            { buffer: k, offset: row0 * rowK, size: rows * rowK },
            { buffer: v, offset: row0 * rowV, size: rows * rowV },
          ], [Math.ceil(h * (nope + vDim + rope) / 64), Math.ceil(rows / 8)]);
        }
        // 3. Dense attention: query tiles of QT queries, one dispatch per group of
        //    sequences whose K/V rows fit one binding (one group unless K is huge).
        const qt = plan.variant.queryTile;
        const headsPerTile = plan.variant.headsPerTile;
        const headTiles = Math.ceil(h / headsPerTile);
        const attn = await load("expanded.wgsl", "expanded", {
          WG: headsPerTile, // one invocation per head (see expanded.wgsl)
          HEADS: headsPerTile,
          QT: qt,
          QK_VEC4: kc / 4,
          V_VEC4: vDim / 4,
        });
        outBuf = keep(createStorage(device, totalQ * h * vDim * 4, "out"));
        lseBuf = keep(createStorage(device, totalQ * h * 4, "lse"));
        const { tiles, groups } = denseGroups(layout, qt, { rowK, rowV, maxBinding, align });
        const qTiles = u32(tiles.length ? tiles : [0, 1], "q_tiles");
        for (const g of groups) {
          await pass("expanded", attn, [
            uniform(
              new UniformWriter().u32(g.tiles).u32(g.tileBegin).u32(h).u32(headTiles)
                .u32(g.kOffset / (4 * eb)).u32(g.vOffset / (4 * eb))
                .f32(plan.attention.softmaxScale).f32(-Infinity),
            ),
            q,
            { buffer: k, offset: g.kOffset, size: g.kSize },
            { buffer: v, offset: g.vOffset, size: g.vSize },
            qMeta,
            kRowsBuf,
            outBuf,
            lseBuf,
            qTiles,
          ], [g.tiles * headTiles]);
        }
      }
      timer?.resolve(enc);
      const t0 = performance.now();
      device.queue.submit([enc.finish()]);
      const timing = timer ? await timer.finish(t0) : null;
      const out = await readbackF32(device, outBuf, totalQ * h * vDim);
      const lse = await readbackF32(device, lseBuf, totalQ * h);
      const rep = options.repeat;
      if (!rep) return { outputs: { out, lse }, timing };
      const passes = rep.scope === "core"
        ? recorded.filter((p) => CORE_PASSES.includes(p.name))
        : recorded;
      const repeats: Timing[] = [];
      for (let i = 0; i < (rep.warmup ?? 1) + rep.reps; i++) {
        const t = new PassTimer(device, Math.max(1, passes.length));
        try {
          const e = device.createCommandEncoder({ label: "runAttention.repeat" });
          for (const p of passes) {
            const [x, y = 1] = p.workgroups;
            encodeDispatch(e, p.pipeline, {
              group: p.group,
              workgroups: p.workgroups,
              label: p.name,
              limit,
              timestampWrites: x * y > 0 ? t.writes(p.name) : undefined,
            });
          }
          t.resolve(e);
          const w0 = performance.now();
          device.queue.submit([e.finish()]);
          const timed = await t.finish(w0);
          if (i >= (rep.warmup ?? 1)) repeats.push(timed);
        } finally {
          t.destroy();
        }
      }
      return { outputs: { out, lse }, timing, repeats };
    });
  } finally {
    timer?.destroy();
    for (const b of owned) b.destroy();
  }
}
