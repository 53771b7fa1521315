/**
 * Planning of wgsl-absorbed-tiled (adapter/tiled_plan.ts, adapter/backends.ts), GPU-free:
 * tile sizes per workgroup-memory tier (expected values worked out by hand from the
 * byte formula in the comments), KV splits that fill the device, the loop budget,
 * refusals with reasons, and the device-class rule of `auto`; the query tile of
 * wgsl-expanded-tiled (FA2), which fills a GPU's SMs.
 */
import assert from "node:assert/strict";
import { autoPriority, pathPriority } from "../adapter/backends.ts";
import { explainCase, formatExplanation } from "../adapter/explain.ts";
import { resolveLayerPlan } from "../runner/layer_plan.ts";
import { normalizeLayout } from "../adapter/layout.ts";
import { presetSpec } from "../adapter/presets.ts";
import { withParams } from "../adapter/spec.ts";
import { bareReasonCode, resolve } from "../adapter/resolve.ts";
import {
  fa2BudgetKvSplits,
  fa2ChunkVec4,
  fa2LoopIterations,
  fa2MaxKeys,
  fa2QueryTile,
  fa2WorkgroupBytes,
  fa2WorkgroupElements,
  tiledKvSplits,
  tiledLoopIterations,
  tiledRowChunks,
  type TiledShape,
  tiledShape,
  tiledUnrolledValueKeys,
  tiledValueRowGroups,
  tiledWorkgroupBytes,
  tiledWorkgroupElements,
} from "../adapter/tiled_plan.ts";
import { GL_FALLBACK_MAX_WORKGROUP_ELEMENTS, workgroupElementCap } from "../adapter/slow_device.ts";
import type { DeviceCaps, LayoutRequest } from "../adapter/types.ts";
import { GL_CAPS as GL, H100_CAPS as H100, LAVAPIPE_CAPS as LAVAPIPE } from "./caps_fixtures.ts";

const HEADLINE: LayoutRequest = { kind: "bshd", batch: 4, seqQ: 1, seqK: 4096, causal: true };
const v2lite = presetSpec("deepseek-v2-lite");

function withWgMemory(caps: DeviceCaps, bytes: number): DeviceCaps {
  return { ...caps, limits: { ...caps.limits, maxComputeWorkgroupStorageSize: bytes } };
}

Deno.test("keys per tile per tier (V2-Lite: rows 16, chunks 144 f32 / 72 f16; tiny: rows 4)", () => {
  const l = normalizeLayout(HEADLINE);
  // bytes = KT * row * 16 + rows * KT * 4 + rows * 16 + KT * WG * 4 (partials), a staged
  // row holding the key chunks rounded up to whole score segments (WG / rows), + 1
  // (tiledRowChunks: f32 144 = 16 x 9, + 1; f16 72 in 16 segments of 5 = 80, + 1)
  // f32, WG 256: 3408 KT + 256 -> KT 8 = 27520 <= 32768 < KT 16 = 54784;
  // KT 4 = 13888 <= 16384 < 27520. (Four per-row arrays: until session 37 the count
  // had three, and each figure here was 64 bytes short of what the kernel declares.)
  assert.equal(tiledShape(v2lite, l, "f32", 32768).keysPerTile, 8);
  assert.equal(tiledWorkgroupBytes(tiledShape(v2lite, l, "f32", 32768)), 27520);
  assert.equal(tiledShape(v2lite, l, "f32", 16384).keysPerTile, 4);
  // f16, WG 256: 2384 KT + 256 -> KT 8 = 19328 <= 32768 < KT 16 = 38400; KT 4 = 9792
  // (16 KiB).
  assert.equal(tiledShape(v2lite, l, "f16", 32768).keysPerTile, 8);
  assert.equal(tiledRowChunks(tiledShape(v2lite, l, "f16", 32768)), 81);
  assert.equal(tiledWorkgroupBytes(tiledShape(v2lite, l, "f16", 32768)), 19328);
  assert.equal(tiledShape(v2lite, l, "f16", 16384).keysPerTile, 4);
  const s = tiledShape(v2lite, l, "f32", 32768);
  assert.deepEqual([s.workgroupSize, s.headsPerTile, s.queryTile], [256, 16, 1]);
  // tiny, WG at its floor 64: 448 KT + 64 -> the cap, 64 keys (28736), at 32 KiB; 32
  // keys (14400) at 16 KiB.
  const tiny = tiledShape(presetSpec("tiny"), l, "f32", 32768);
  assert.deepEqual([tiny.keysPerTile, tiny.workgroupSize, tiny.headsPerTile], [64, 64, 4]);
  assert.equal(tiledShape(presetSpec("tiny"), l, "f32", 16384).keysPerTile, 32);
  // Two queries per sequence (MTP) with 16 heads: 32 rows.
  const mtp = normalizeLayout({ ...HEADLINE, seqQ: 2 });
  assert.equal(tiledShape(v2lite, mtp, "f32", 32768).queryTile, 2);
});

Deno.test("invocations: one per value column, more while a q segment would pass 16 vec4s", () => {
  const wg = (preset: string, seqQ: number, dtype: "f32" | "f16") =>
    tiledShape(presetSpec(preset), normalizeLayout({ ...HEADLINE, seqQ }), dtype, 32768)
      .workgroupSize;
  // V2-Lite decode: 16 rows; 128 invocations = 8 segments of 144 / 8 = 18 chunks, more
  // than 16; 256 = 16 segments of 9.
  assert.equal(wg("deepseek-v2-lite", 1, "f32"), 256);
  // Two queries (32 rows): 256 invocations hold 18 vec4s each, but 256 is the ceiling.
  assert.equal(wg("deepseek-v2-lite", 2, "f32"), 256);
  // f16: 72 chunks of 2 vec4s; 16 rows at 128 invocations: 9 chunks = 18 vec4s; at 256: 10.
  assert.equal(wg("deepseek-v2-lite", 1, "f16"), 256);
  assert.equal(wg("deepseek-v2-lite", 2, "f16"), 256);
  // DeepSeek-V3's 128 heads: 32 heads a workgroup.
  assert.equal(wg("deepseek-v3", 1, "f32"), 256);
  // tiny (10 chunks, 4 rows): the floor of 64.
  assert.equal(wg("tiny", 1, "f32"), 64);
  // A device of 128 invocations at most (WebGPU compatibility mode): the growth stops
  // there, and the plan is made (one value row group, q segments of 36) instead of refused.
  const compat = {
    ...H100,
    limits: { ...H100.limits, maxComputeInvocationsPerWorkgroup: 128 },
  };
  const r = resolve(
    {
      spec: v2lite,
      dtype: "f32",
      backend: "wgsl-absorbed-tiled",
      layout: { ...HEADLINE, seqQ: 2 },
    },
    compat,
  );
  assert.equal(r.kind, "plan", JSON.stringify(r));
  assert.ok(r.kind === "plan");
  assert.deepEqual([r.variant.workgroupSize, r.variant.valueRowGroups], [128, 1]);
});

Deno.test("value row groups: every invocation takes a share where the workgroup has room", () => {
  const rg = (preset: string, seqQ: number) =>
    tiledShape(presetSpec(preset), normalizeLayout({ ...HEADLINE, seqQ }), "f32", 32768)
      .valueRowGroups;
  assert.equal(rg("deepseek-v2-lite", 1), 2); // 16 rows, 256 invocations, 128 columns
  assert.equal(rg("deepseek-v2-lite", 2), 2); // 32 rows, 256 invocations
  assert.equal(rg("deepseek-v3", 1), 2); // 32 of 128 heads
  assert.equal(rg("tiny", 1), 4); // 4 rows, 64 invocations, 8 columns: a row each
  // Not a power of two of columns: 64 invocations over 10 value vec4s -> 4 groups.
  assert.equal(tiledValueRowGroups(64, 8, 10), 4);
  assert.equal(tiledValueRowGroups(64, 2, 10), 2);
});

Deno.test("loop count: longer constant loops than lavapipe unrolls are counted at every key", () => {
  const shape = (rows: 16 | 32): TiledShape => ({
    workgroupSize: 256,
    headsPerTile: rows,
    queryTile: 1,
    keysPerTile: 8,
    keyVec4: 144,
    valueVec4: 128,
    vec4PerChunk: 1,
    tier: 32768,
  });
  // 16 rows: 16 segments of 9 chunks, 5 staged chunks, all unrolled. Once: q load 9 + 1;
  // per 8-key tile: the pass 1, the score key loop's + 1, the pair loop and the
  // softmax's pair loop (128 / 256 -> 1, + 1, each), the values' key loop's + 1, the
  // margin 4; per key 2 (the score and value key loops); the exit 1. Over 800 keys:
  // 10 + 100 * 11 + 1600 + 1.
  assert.equal(tiledLoopIterations(shape(16), 800), 2711);
  // Two keys a score trip (a gpu-class plan, tiledKeysPerTrip): 400 trips of the score
  // loop instead of 800; its q segment (9 chunks, a body of two keys: 18) still unrolled.
  assert.equal(tiledLoopIterations({ ...shape(16), keysPerTrip: 2 }, 800), 2711 - 400);
  // At 32 rows the segment is 18 chunks: a body of 36, counted as a loop (19) a trip.
  assert.equal(
    tiledLoopIterations({ ...shape(32), valueRowGroups: 2, keysPerTrip: 2 }, 800),
    19 + 100 * 11 + 800 + (1 + 19) * 400 + 1,
  );
  // 32 rows (32 heads of one query) in one value row group: the row loops (33 each)
  // every tile and twice once (the stores, the sums' publication); at every key the
  // four-row loop, measured at 1 (8 segments of 18).
  // 19 + 100 * (11 + 33) + (2 + 1) * 800 + 2 * 33 + 1.
  assert.equal(tiledLoopIterations(shape(32), 800), 19 + 4400 + 2400 + 67);
  // The same 32 rows as 8 heads of 4 queries: the value phase selects row by row, a
  // 32-trip loop at every key too. 19 + 4400 + (2 + 33) * 800 + 67.
  assert.equal(
    tiledLoopIterations({ ...shape(32), headsPerTile: 8, queryTile: 4 }, 800),
    19 + 4400 + 28000 + 67,
  );
  // In two groups of 16 rows (the planner's choice at 256 invocations): unrolled.
  assert.equal(
    tiledLoopIterations({ ...shape(32), valueRowGroups: 2 }, 800),
    19 + 100 * 11 + 2 * 800 + 1,
  );
  // 64 invocations: a q segment of 36 chunks (4 segments) at every key, and 18 staged
  // chunks (still unrolled).
  const wide = { ...shape(16), workgroupSize: 64 };
  const perTile = 1 + 1 + 2 * (2 + 1) + 1 + 4;
  assert.equal(tiledLoopIterations(wide, 800), 37 + 100 * perTile + (2 + 37) * 800 + 1);
  // 32 invocations (not a shape the planner makes): 36 staged chunks, counted as loops
  // at the first fetch and twice a tile.
  // 8 rows: 4 segments of 36 chunks; per tile 1 + 2 x 37 + 1 + 2 x (2 + 1) + 1 + 4.
  const narrow = { ...shape(16), workgroupSize: 32, headsPerTile: 8 } as TiledShape;
  assert.equal(
    tiledLoopIterations(narrow, 800),
    37 + 37 + 100 * (1 + 74 + 1 + 6 + 1 + 4) + (2 + 37) * 800 + 1,
  );
});

Deno.test("splits fill the device: 2 workgroups per SM, >= 128 keys per split, budget first", () => {
  // Headline on 132 SMs: 4 workgroups want ceil(264 / 4) = 66, 4096 / 128 = 32 caps it.
  assert.equal(
    tiledKvSplits({ workgroups: 4, maxKLen: 4096, smCount: 132, maxKeysPerSplit: 1e9 }),
    32,
  );
  // Many workgroups: no split.
  assert.equal(
    tiledKvSplits({ workgroups: 512, maxKLen: 4096, smCount: 132, maxKeysPerSplit: 1e9 }),
    1,
  );
  // Short: no split below 256 keys.
  assert.equal(
    tiledKvSplits({ workgroups: 1, maxKLen: 255, smCount: 132, maxKeysPerSplit: 1e9 }),
    1,
  );
  // The partial buffers must fit one binding: the fill stops at the cap.
  assert.equal(
    tiledKvSplits({
      workgroups: 4,
      maxKLen: 4096,
      smCount: 132,
      maxKeysPerSplit: 1e9,
      maxSplitsByBuffer: 5,
    }),
    5,
  );
  // The loop budget wins: 100000 keys at 6896 per split need 15.
  assert.equal(
    tiledKvSplits({ workgroups: 512, maxKLen: 100000, smCount: 132, maxKeysPerSplit: 6896 }),
    15,
  );
});

Deno.test("the plan on the H100 caps: the 32 KiB variant (48 KiB tier), 32 splits, 256 invocations", () => {
  const r = resolve({
    spec: v2lite,
    dtype: "f32",
    backend: "wgsl-absorbed-tiled",
    layout: HEADLINE,
  }, H100);
  assert.equal(r.kind, "plan", JSON.stringify(r));
  if (r.kind !== "plan") return;
  assert.equal(r.variant.family, "absorbed-tiled-32k");
  assert.deepEqual(
    [r.variant.workgroupSize, r.variant.headsPerTile, r.variant.keysPerBlock, r.variant.kvSplits],
    [256, 16, 8, 32],
  );
  const r16 = resolve(
    { spec: v2lite, dtype: "f32", backend: "wgsl-absorbed-tiled", layout: HEADLINE },
    withWgMemory(H100, 16384),
  );
  assert.equal(r16.kind === "plan" && r16.variant.family, "absorbed-tiled-16k");
});

Deno.test("refusals name the limit: small workgroup memory, f16 widths, over-budget forced splits", () => {
  const small = resolve(
    { spec: v2lite, dtype: "f32", backend: "wgsl-absorbed-tiled", layout: HEADLINE },
    withWgMemory(H100, 8192),
  );
  assert.equal(small.kind, "unsupported");
  assert.match(JSON.stringify(small), /limits.workgroup-storage.*8192 is below 16384/);
  const odd = { ...presetSpec("tiny"), kvLoraRank: 36, latentCacheWidth: 44 };
  const f16 = resolve(
    { spec: odd, dtype: "f16", backend: "wgsl-absorbed-tiled", layout: HEADLINE },
    H100,
  );
  assert.match(JSON.stringify(f16), /shape.not-vec8/);
  // lavapipe's budget: 1 forced split over 24576 V2-Lite keys is refused with the fix
  // (19413 keys fit one invocation at 256 invocations: 9 + 1 for the q segment, 11 per
  // 8-key tile, 2 per key, 1: 10 + 2427 x 11 + 19413 x 2 + 1 = 65534).
  const long = resolve(
    {
      spec: v2lite,
      dtype: "f32",
      backend: "wgsl-absorbed-tiled",
      layout: { ...HEADLINE, batch: 1, seqK: 24576 },
    },
    LAVAPIPE,
    { kvSplits: 1 },
  );
  assert.equal(long.kind, "unsupported");
  assert.match(JSON.stringify(long), /device.loop-budget.*at most 19413 keys .*use kvSplits >= 2/);
  // More splits than 64 where the case asked for none: the adapter's, for the budget, and the
  // reason says so with the numbers (a budget of 2000 fits 563 keys a split: 24576 need 44;
  // 65536 keys need 117).
  const tight = { ...LAVAPIPE, loopIterationBudget: 2000 };
  const over = resolve(
    {
      spec: v2lite,
      dtype: "f32",
      backend: "wgsl-absorbed-tiled",
      layout: { ...HEADLINE, batch: 1, seqK: 65536 },
    },
    tight,
  );
  assert.equal(over.kind, "unsupported");
  assert.match(
    JSON.stringify(over),
    /variant.kv-splits.*kvSplits = \d+ must be .*adapter's choice: this device's loop budget of 2000 iterations fits at most \d+ keys per split, and the longest sequence has 65536 keys/,
  );
});

Deno.test("auto: tiled kernels on a gpu-class device, gemm kernels on a cpu-class one; bundled priority without a device, with reasons", () => {
  const pick = (caps: DeviceCaps, layout: LayoutRequest) => {
    const r = resolve({ spec: v2lite, dtype: "f32", backend: "auto", layout }, caps);
    return r.kind === "plan" ? r.backend : "unsupported";
  };
  assert.equal(pick(H100, HEADLINE), "wgsl-absorbed-tiled");
  assert.equal(pick(H100, { ...HEADLINE, seqQ: 2 }), "wgsl-absorbed-tiled");
  assert.equal(pick(H100, { ...HEADLINE, seqQ: 256, seqK: 256 }), "wgsl-expanded-tiled");
  assert.equal(pick(LAVAPIPE, HEADLINE), "wgsl-absorbed-gemm");
  assert.equal(pick(LAVAPIPE, { ...HEADLINE, seqQ: 256, seqK: 256 }), "wgsl-expanded-gemm");
  // Past the 128 MiB binding of one sequence's dense K on lavapipe (20000 keys x 16 heads x
  // 192 x 4 bytes): absorbed.
  assert.equal(pick(LAVAPIPE, { ...HEADLINE, batch: 1, seqQ: 4, seqK: 20000 }), "wgsl-absorbed");
  const l = normalizeLayout(HEADLINE);
  assert.match(autoPriority(l, H100).reason, /device class gpu and decode/);
  const prefill = normalizeLayout({ ...HEADLINE, seqQ: 256, seqK: 256 });
  assert.match(autoPriority(prefill, H100).reason, /device class gpu and prefill/);
  assert.match(
    autoPriority(l, LAVAPIPE).reason,
    /device class cpu.*and decode.*; where wgsl-absorbed-gemm, wgsl-absorbed, wgsl-expanded refuse the case, wgsl-absorbed-tiled, wgsl-expanded-tiled, wgsl-expanded-gemm$/,
  );
  // auto on a device tries every bundled kernel of both paths before it refuses a case
  assert.deepEqual(autoPriority(l, H100).order, [
    "wgsl-absorbed-tiled",
    "wgsl-absorbed",
    "wgsl-expanded",
    "wgsl-absorbed-gemm",
    "wgsl-expanded-tiled",
    "wgsl-expanded-gemm",
  ]);
  assert.match(autoPriority(prefill, LAVAPIPE).reason, /device class cpu.*and prefill/);
  assert.match(autoPriority(l, null).reason, /no device/);
});

Deno.test("auto:<path>: each path's backends by device class, the lane kernel last; every candidate's reasons when none fits", () => {
  const pick = (
    caps: DeviceCaps,
    path: "absorbed" | "expanded",
    layout: LayoutRequest,
    splits?: number,
  ) => {
    const r = resolve(
      { spec: v2lite, dtype: "f32", backend: `auto:${path}`, layout },
      caps,
      splits ? { kvSplits: splits } : {},
    );
    return r.kind === "plan" ? r.backend : "unsupported";
  };
  const PREFILL = { ...HEADLINE, seqQ: 256, seqK: 256 };
  // A path never leaves its path: expanded decode stays expanded, absorbed prefill absorbed.
  assert.equal(pick(H100, "absorbed", HEADLINE), "wgsl-absorbed-tiled");
  assert.equal(pick(H100, "absorbed", PREFILL), "wgsl-absorbed-tiled");
  assert.equal(pick(H100, "expanded", PREFILL), "wgsl-expanded-tiled");
  // Dense decode on a GPU: the FA2 kernel, with the KV splits that fill the SMs.
  assert.equal(pick(H100, "expanded", HEADLINE), "wgsl-expanded-tiled");
  const denseDecode = resolve(
    { spec: v2lite, dtype: "f32", backend: "auto:expanded", layout: HEADLINE },
    H100,
  );
  assert.ok(denseDecode.kind === "plan" && denseDecode.variant.kvSplits > 1, "split on 132 SMs");
  // On a CPU driver the lane kernel: the gemm kernel's 16-query tiles would hold one query.
  assert.equal(pick(LAVAPIPE, "absorbed", HEADLINE), "wgsl-absorbed-gemm");
  assert.equal(pick(LAVAPIPE, "absorbed", PREFILL), "wgsl-absorbed-gemm");
  assert.equal(pick(LAVAPIPE, "expanded", PREFILL), "wgsl-expanded-gemm");
  assert.equal(pick(LAVAPIPE, "expanded", HEADLINE), "wgsl-expanded");
  // Forced KV splits: only the lane kernel forces them; the gemm kernel is passed over, with why.
  const split = resolve(
    { spec: v2lite, dtype: "f32", backend: "auto:absorbed", layout: HEADLINE },
    LAVAPIPE,
    { kvSplits: 3 },
  );
  assert.equal(split.kind, "plan");
  if (split.kind === "plan") {
    assert.equal(split.backend, "wgsl-absorbed");
    assert.equal(split.requested, "auto:absorbed");
    assert.deepEqual(split.passedOver.map((u) => u.backend), ["wgsl-absorbed-gemm"]);
  }
  // Without a device: the bundled backend of the path, which needs a device.
  assert.deepEqual(pathPriority("expanded", normalizeLayout(PREFILL), null).order, [
    "wgsl-expanded",
  ]);
  assert.match(
    pathPriority("absorbed", normalizeLayout(HEADLINE), LAVAPIPE).reason,
    /device class cpu/,
  );
  assert.match(
    pathPriority("expanded", normalizeLayout(HEADLINE), H100).reason,
    /decode: wgsl-expanded-tiled first .*KV splits fill the SMs.*then wgsl-expanded; where wgsl-expanded-tiled, wgsl-expanded refuse the case, wgsl-expanded-gemm$/,
  );
  assert.deepEqual(pathPriority("expanded", normalizeLayout(HEADLINE), H100).order, [
    "wgsl-expanded-tiled",
    "wgsl-expanded",
    "wgsl-expanded-gemm",
  ]);
  // a cpu-class decode tries the lane kernel first, then the path's other kernels (it tried
  // wgsl-expanded alone, and refused what wgsl-expanded-tiled runs: a forced split, or keys
  // past the loop budget of the one-pass kernel)
  assert.deepEqual(pathPriority("expanded", normalizeLayout(HEADLINE), LAVAPIPE).order, [
    "wgsl-expanded",
    "wgsl-expanded-tiled",
    "wgsl-expanded-gemm",
  ]);
  const tinyReq = (seqK: number) =>
    ({
      spec: presetSpec("tiny"),
      dtype: "f32",
      backend: "auto:expanded",
      layout: { kind: "bshd", batch: 1, seqQ: 1, seqK, causal: true },
    }) as const;
  for (
    const [r, why] of [
      [resolve(tinyReq(64), LAVAPIPE, { kvSplits: 4 }), "variant.kv-splits"],
      [resolve(tinyReq(200000), LAVAPIPE), "device.loop-budget"],
    ] as const
  ) {
    assert.equal(r.kind === "plan" && r.backend, "wgsl-expanded-tiled", JSON.stringify(r));
    if (r.kind === "plan") {
      assert.deepEqual(r.passedOver.map((u) => `${u.backend}:${u.reasons[0].code}`), [
        `wgsl-expanded:${why}`,
      ]);
    }
  }
  // Nothing fits: the request is named, with every candidate's reasons (own ones prefixed).
  const none = resolve(
    { spec: v2lite, dtype: "f16", backend: "auto:absorbed", layout: HEADLINE },
    { ...LAVAPIPE, features: LAVAPIPE.features.filter((f) => f !== "shader-f16") },
  );
  assert.equal(none.kind, "unsupported");
  if (none.kind === "unsupported") {
    assert.equal(none.backend, "auto:absorbed");
    // every candidate refuses it for the missing feature alone: said once, as the case's
    assert.deepEqual(none.reasons.map((r) => r.code), ["dtype.f16-unavailable"]);
    assert.deepEqual(none.tried, ["wgsl-absorbed-gemm", "wgsl-absorbed", "wgsl-absorbed-tiled"]);
    assert.deepEqual(none.reasons.map((r) => bareReasonCode(r.code)), ["dtype.f16-unavailable"]);
  }
});

Deno.test("gpu-class plans of the tiled decode and the FA2 prefill unroll their constant loops, cpu-class ones do not; explain says so", () => {
  const req = {
    spec: v2lite,
    dtype: "f32",
    backend: "wgsl-absorbed-tiled",
    layout: HEADLINE,
  } as const;
  const onGpu = resolve(req, H100);
  const onCpu = resolve(req, LAVAPIPE);
  assert.equal(onGpu.kind === "plan" && onGpu.variant.unrolledLoops, true);
  assert.equal(onCpu.kind === "plan" && onCpu.variant.unrolledLoops, undefined);
  assert.match(
    formatExplanation(explainCase(req, H100)),
    /\n {2}constant-trip loops unrolled in the source \(gpu-class device\): wgpu bounds every loop/,
  );
  assert.doesNotMatch(formatExplanation(explainCase(req, LAVAPIPE)), /unrolled in the source/);
  // The FA2 prefill's 4 x 4 micro-tile loops likewise.
  const prefill = {
    ...req,
    backend: "wgsl-expanded-tiled",
    layout: { ...HEADLINE, seqQ: 256, seqK: 256 },
  } as const;
  const fa2 = resolve(prefill, H100);
  assert.equal(fa2.kind === "plan" && fa2.variant.unrolledLoops, true);
  assert.match(
    formatExplanation(explainCase(prefill, H100)),
    /\n {2}constant-trip loops unrolled in the source/,
  );
  const fa2Cpu = resolve(prefill, LAVAPIPE);
  assert.equal(fa2Cpu.kind === "plan" && fa2Cpu.variant.unrolledLoops, undefined);
});

Deno.test("explain prints the tiled decode's key tile and q segments", () => {
  const text = (request: Parameters<typeof explainCase>[0]) =>
    formatExplanation(explainCase(request, H100));
  // V2-Lite decode, f32: 16 rows x (256 / 16) = 16 segments of 144 / 16 = 9 chunks; the
  // values in 2 row groups of 8 rows.
  assert.match(
    text({ spec: v2lite, dtype: "f32", backend: "wgsl-absorbed-tiled", layout: HEADLINE }),
    /\n {2}key tiles: 8 keys staged .* one tile ahead; 16 rows x 16 segments: each invocation holds 9 of a query row's 144 16-byte chunks in registers for its whole split, and scores them against two staged keys a trip \(two fma chains, two loads in flight\); values in 2 row groups of 8 rows \(every invocation takes a share\); a tile that every row of a value group sees whole runs its 8 keys' values unrolled, without the mask/,
  );
  // A cpu-class device's plan scores one key a trip (tiledKeysPerTrip) and keeps every
  // tile's values in the loop (tiledUnrolledValueKeys): no such clauses.
  const cpu = formatExplanation(explainCase({
    spec: v2lite,
    dtype: "f32",
    backend: "wgsl-absorbed-tiled",
    layout: HEADLINE,
  }, LAVAPIPE));
  assert.doesNotMatch(cpu, /two staged keys a trip/);
  assert.doesNotMatch(cpu, /values unrolled/);
  // f16 chunks hold 8 halves: 72 chunks, 8 keys a tile; two queries: 32 rows x 8 segments.
  assert.match(
    text({
      spec: v2lite,
      dtype: "f16",
      backend: "wgsl-absorbed-tiled",
      layout: { ...HEADLINE, seqQ: 2 },
    }),
    /key tiles: 8 keys .*; 32 rows x 8 segments: each invocation holds 9 of a query row's 72 16-byte chunks in registers for its whole split, and scores them against two staged keys a trip .*; values in 2 row groups of 16 rows/,
  );
  // One row group (a device of 128 invocations at most): no such clause.
  const compat = {
    ...H100,
    limits: { ...H100.limits, maxComputeInvocationsPerWorkgroup: 128 },
  };
  assert.doesNotMatch(
    formatExplanation(
      explainCase(
        { spec: v2lite, dtype: "f32", backend: "wgsl-absorbed-tiled", layout: HEADLINE },
        compat,
      ),
    ),
    /row groups/,
  );
  // Other backends print no such line.
  assert.doesNotMatch(
    text({ spec: v2lite, dtype: "f32", backend: "wgsl-absorbed", layout: HEADLINE }),
    /key tiles:/,
  );
});

Deno.test("explain of an auto:<path> request says why the path's backend was chosen", () => {
  const e = explainCase(
    { spec: v2lite, dtype: "f32", backend: "auto:absorbed", layout: HEADLINE },
    LAVAPIPE,
  );
  const text = formatExplanation(e);
  assert.match(text, /plan: wgsl-absorbed-gemm \(requested auto:absorbed\)/);
  assert.match(text, /\n {2}auto:absorbed: device class cpu .*wgsl-absorbed-gemm first/);
});

Deno.test("layer --path asks for auto:<path>: the layer's attention runs on the path's device-class backend", () => {
  const layout: LayoutRequest = { kind: "thd", cuSeqlensQ: [0, 6, 10], causal: true };
  const pick = (caps: DeviceCaps, path: "absorbed" | "expanded") =>
    resolveLayerPlan(caps, { spec: v2lite, layout, path, dtype: "f32" }).backend;
  assert.equal(pick(LAVAPIPE, "absorbed"), "wgsl-absorbed-gemm");
  assert.equal(pick(LAVAPIPE, "expanded"), "wgsl-expanded-gemm");
  assert.equal(pick(H100, "absorbed"), "wgsl-absorbed-tiled");
  assert.equal(pick(H100, "expanded"), "wgsl-expanded-tiled");
});

Deno.test("wgsl-expanded-gemm refuses a sequence whose key groups pass the grid's per-dimension limit", () => {
  const tiny = presetSpec("tiny");
  const reasonsAt = (seqK: number) => {
    const r = resolve(
      {
        spec: tiny,
        dtype: "f32",
        backend: "wgsl-expanded-gemm",
        layout: { kind: "bshd", batch: 1, seqQ: 1, seqK, causal: true },
      },
      H100,
    );
    // The scores pass's reasons (over a million keys, the K/V expansion's row blocks on y
    // pass the limit too: adapter_grid_limits_test.ts).
    return r.kind === "unsupported"
      ? r.reasons.filter((x) => x.message.includes("scores pass"))
      : [];
  };
  // One scores workgroup per 16 keys along x: 16 x 65535 keys fit, one more group does not.
  assert.deepEqual(reasonsAt(16 * 65535).map((r) => r.code), []);
  const over = reasonsAt(16 * 65535 + 1);
  assert.deepEqual(over.map((r) => r.code), ["limits.workgroups"]);
  assert.match(
    over[0].message,
    /65536 workgroups .*1048561\).*maxComputeWorkgroupsPerDimension 65535/,
  );
});

Deno.test("FA2 query tile: 64, or 32 / 16 where 64-query tiles give a GPU under 2 workgroups per SM", () => {
  // Grid = query tiles x heads; target = 2 x SMs (264 on an H100). V2-Lite, 16 heads:
  // 256 queries: 4 x 16 = 64, 8 x 16 = 128, 16 x 16 = 256 -> none reaches 264: 16.
  // 1024: 16 x 16 = 256 < 264, 32 x 16 = 512 -> 32. 4096: 64 x 16 = 1024 -> 64.
  const tile = (queryLens: number[], smCount: number | null) =>
    fa2QueryTile({ queryLens, heads: 16, smCount });
  assert.deepEqual(tile([256], 132), {
    queryTile: 16,
    workgroups: 256,
    target: 264,
    elementCap: null,
    bytesCap: null,
  });
  assert.deepEqual(tile([1024], 132), {
    queryTile: 32,
    workgroups: 512,
    target: 264,
    elementCap: null,
    bytesCap: null,
  });
  assert.deepEqual(tile([4096], 132), {
    queryTile: 64,
    workgroups: 1024,
    target: 264,
    elementCap: null,
    bytesCap: null,
  });
  // Packed sequences count their own tiles: 3 x 100 queries = 3 x 2 tiles of 64.
  assert.equal(tile([100, 100, 100], 48).queryTile, 64); // 96 >= 96
  assert.equal(tile([100, 100, 100], 49).queryTile, 32); // 96 < 98 <= 3 x 4 x 16 = 192
  // SMs unknown (lavapipe, a GPU missing from the table): 64, as before.
  assert.deepEqual(tile([256], null), {
    queryTile: 64,
    workgroups: 64,
    target: null,
    elementCap: null,
    bytesCap: null,
  });

  // The plans: workgroup size 2 x BQ, bytes and loop counts at that tile.
  const plan = (caps: DeviceCaps, seq: number) => {
    const r = resolve({
      spec: v2lite,
      dtype: "f32",
      backend: "wgsl-expanded-tiled",
      layout: { kind: "bshd", batch: 1, seqQ: seq, seqK: seq, causal: true },
    }, caps);
    assert.equal(r.kind, "plan", JSON.stringify(r));
    return r.kind === "plan" ? r.variant : null;
  };
  const short = plan(H100, 256)!;
  assert.deepEqual([short.queryTile, short.workgroupSize], [16, 32]);
  const long = plan(H100, 4096)!;
  assert.deepEqual([long.queryTile, long.workgroupSize], [64, 128]);
  const cpu = plan(LAVAPIPE, 256)!;
  assert.deepEqual([cpu.queryTile, cpu.workgroupSize], [64, 128]);
  // An SM count from the caps file (or MLA_HARNESS_SM_COUNT) counts as well.
  const set = plan({ ...LAVAPIPE, smCount: 40 }, 256)!;
  assert.deepEqual([set.queryTile, set.workgroupSize], [32, 64]); // 64 < 80 <= 128

  // Bytes: the q chunk BQ x chunk vec4s, the k chunk / V tile max(32, 4 x chunk / 4) x 4 x 8
  // vec4s (fa2StagedVec4), p 32 x (BQ / 4 + 1) vec4s, 3 per-row arrays (12 bytes a row)
  // and the row minimum.
  const s = { qkVec4: 48, vVec4: 32 };
  assert.equal(fa2WorkgroupBytes(s, 64, 4), 16 * (256 + 1024) + 8704 + 768 + 4);
  assert.equal(fa2WorkgroupBytes(s, 64, 12), 16 * (768 + 1024) + 8704 + 768 + 4);
  assert.equal(fa2WorkgroupBytes(s, 32, 16), 16 * (512 + 1024) + 4608 + 384 + 4);
  // The chunk: the widest divisor of 48 within 16 whose bytes fit.
  assert.equal(fa2ChunkVec4(s, 64, { maxBytes: 32768 }), 6); // 8 needs 34052
  assert.equal(fa2ChunkVec4(s, 64, { maxBytes: 49152 }), 16); // 42244
  assert.equal(fa2ChunkVec4(s, 32, { maxBytes: 32768 }), 16); // 29572
  assert.equal(fa2ChunkVec4(s, 64, {}), 16);
  assert.equal(fa2ChunkVec4(s, 64, { maxBytes: 16384 }), 1, "nothing fits: 1 (then refused)");
  assert.equal(fa2ChunkVec4({ qkVec4: 50, vVec4: 32 }, 64, {}), 10, "a divisor of 50");
  assert.equal(fa2ChunkVec4({ qkVec4: 6, vVec4: 4 }, 64, {}), 6, "tiny: one chunk");
  // The plan carries it (lavapipe: 32 KiB).
  assert.equal(plan(LAVAPIPE, 4096)!.chunkVec4, 6);
  // Loops per key tile: 3 + 4 x chunks (the staging loops have constant trips, unrolled
  // up to 18) + 48 + (V staging: 2 constant loops of 32 x 32 / WG trips, + 1) + 4, and one
  // trip a key (the P V loop; the softmax walks none). At 16 queries (WG 32) the V staging
  // is 32 trips: two counted loops of 33.
  assert.equal(fa2LoopIterations(s, 64, 64, 4), 2 * (3 + 4 * 12 + 48 + 1 + 4) + 64 + 1);
  assert.equal(fa2LoopIterations(s, 64, 32, 4), 2 * (3 + 4 * 12 + 48 + 1 + 4) + 64 + 1);
  assert.equal(fa2LoopIterations(s, 64, 16, 4), 2 * (3 + 4 * 12 + 48 + 67 + 4) + 64 + 1);
  assert.equal(fa2LoopIterations(s, 64, 64, 12), 2 * (3 + 4 * 4 + 48 + 1 + 4) + 64 + 1);
  assert.ok(fa2MaxKeys(s, 20000, 16, 4) < fa2MaxKeys(s, 20000, 64, 4));
  assert.equal(fa2LoopIterations(s, fa2MaxKeys(s, 20000, 16, 4) + 1, 16, 4) > 20000, true);
});

Deno.test("explain names the FA2 query tile and why", () => {
  const text = (caps: DeviceCaps, seq: number) =>
    formatExplanation(explainCase({
      spec: v2lite,
      dtype: "f32",
      backend: "wgsl-expanded-tiled",
      layout: { kind: "bshd", batch: 1, seqQ: seq, seqK: seq, causal: true },
    }, caps));
  assert.match(
    text(H100, 256),
    /query tiles: 16 queries x 1 head per workgroup \(32 invocations\): 256 workgroups; 64-query tiles would give 64, under 2 per SM of 132 \(264\)/,
  );
  assert.match(
    text(H100, 4096),
    /query tiles: 64 queries x 1 head per workgroup \(128 invocations\): 1024 workgroups, at least 2 per SM of 132/,
  );
  assert.match(
    text(LAVAPIPE, 256),
    /query tiles: 64 queries x 1 head per workgroup \(128 invocations\): 64 workgroups; the SM count is unknown, so the largest tile/,
  );
  // explain reads the choice from the plan (the adapter is the one authority), not its own
  // recomputation of fa2QueryTile
  const e = explainCase({
    spec: v2lite,
    dtype: "f32",
    backend: "wgsl-expanded-tiled",
    layout: { kind: "bshd", batch: 1, seqQ: 256, seqK: 256, causal: true },
  }, H100);
  const r = e.resolution;
  assert.equal(r.kind, "plan");
  if (r.kind !== "plan") return;
  assert.deepEqual(r.variant.queryTileChoice, {
    workgroups: 256,
    workgroupsPerSm: 2,
    target: 264,
    elementCap: null,
  });
  const told = {
    ...e,
    resolution: {
      ...r,
      variant: { ...r.variant, queryTileChoice: { ...r.variant.queryTileChoice!, target: 999 } },
    },
  };
  assert.match(
    formatExplanation(told),
    /64-query tiles would give 64, under 2 per SM of 132 \(999\)/,
  );
});

Deno.test("GL fallback: the tiled kernels' workgroup memory stays within its element cap; elsewhere no cap", () => {
  // Naga's GL output zero-fills workgroup memory one store per element, which llvmpipe
  // compiles in time growing with their square (adapter/slow_device.ts): a tiny tiled
  // decode with 64-key tiles declared 5000+ elements and compiled for about 3 minutes.
  assert.equal(workgroupElementCap(GL), GL_FALLBACK_MAX_WORKGROUP_ELEMENTS);
  assert.equal(workgroupElementCap(LAVAPIPE), null);
  assert.equal(workgroupElementCap(H100), null);
  assert.equal(workgroupElementCap(null), null);
  const tiny = presetSpec("tiny");
  const plan = (caps: DeviceCaps, backend: string, seqQ: number, seqK: number) => {
    const r = resolve({
      spec: tiny,
      dtype: "f32",
      backend,
      layout: { kind: "bshd", batch: 2, seqQ, seqK, causal: true },
    }, caps);
    assert.equal(r.kind, "plan", JSON.stringify(r));
    return r.kind === "plan" ? r.variant : null;
  };
  // The absorbed tiled kernel, 1 and 2 queries (4 and 8 rows): its key tile, counted
  // element by element from the kernel's declarations (ktile KT x (QSEG x SEG_W + 1), sp
  // ROWS x KT / 4 vec4s, three ROWS arrays, part KT x WG). tiny: KEY_CH = (32 + 8) / 4 =
  // 10, WG 64: 4 rows have 16 segments, more than the 10 chunks (a row of 10 + 1); 8 rows
  // have 8 segments of 2 chunks (16 + 1).
  const rowChunks = (rows: number) => (rows === 4 ? 11 : 17);
  const elements = (kt: number, rows: number) =>
    kt * rowChunks(rows) + kt * Math.ceil(rows / 4) + rows * 4 + kt * 64;
  for (const sq of [1, 2]) {
    const rows = 4 * sq;
    const gl = plan(GL, "wgsl-absorbed-tiled", sq, 40)!;
    assert.equal(gl.keysPerBlock, 8, `sq ${sq}`);
    assert.ok(elements(8, rows) <= GL_FALLBACK_MAX_WORKGROUP_ELEMENTS);
    assert.ok(elements(16, rows) > GL_FALLBACK_MAX_WORKGROUP_ELEMENTS);
    const shape = tiledShape(
      tiny,
      normalizeLayout({
        kind: "bshd",
        batch: 2,
        seqQ: sq,
        seqK: 40,
        causal: true,
      }),
      "f32",
      32768,
      { maxWorkgroupElements: GL_FALLBACK_MAX_WORKGROUP_ELEMENTS },
    );
    assert.equal(tiledWorkgroupElements(shape), elements(8, rows));
    // Lavapipe (and a GPU) keep the tile the workgroup-memory tier allows: 64 keys, or 32
    // with the 8 rows' padded 17-chunk rows (64 would take 64 x 17 x 16 + 64 x 64 x 4 bytes
    // alone, 33792 > 32768).
    assert.equal(
      plan(LAVAPIPE, "wgsl-absorbed-tiled", sq, 40)!.keysPerBlock,
      sq === 1 ? 64 : 32,
      `sq ${sq}`,
    );
  }
  // The FA2 prefill on GL at tiny widths: a 64-query tile does not fit 1024 elements even
  // with chunks of 1 vec4 (64 + 32 x 8 (the k chunk / V tile array: 32 rows of 8) + 32 x 17
  // + 3 x 64 + 1 = 1057), so the tile narrows to 32 queries, which stage the whole head
  // width (6) at once (192 + 256 + 32 x 9 + 3 x 32 + 1 = 833), as lavapipe does at 64.
  // V2-Lite's V tile alone is 1024 elements: no tile fits, the smallest.
  const fa2 = { qkVec4: 6, vVec4: 4 };
  assert.equal(fa2WorkgroupElements(fa2, 64, 1), 64 + 256 + 544 + 192 + 1);
  assert.equal(fa2WorkgroupElements(fa2, 32, 6), 192 + 256 + 288 + 96 + 1);
  assert.equal(fa2WorkgroupElements(fa2, 16, 6), 96 + 256 + 160 + 48 + 1);
  assert.equal(fa2ChunkVec4(fa2, 32, { maxElements: GL_FALLBACK_MAX_WORKGROUP_ELEMENTS }), 6);
  const v2 = { qkVec4: 48, vVec4: 32 };
  assert.ok(fa2WorkgroupElements(v2, 16, 1) > GL_FALLBACK_MAX_WORKGROUP_ELEMENTS);
  assert.deepEqual(
    fa2QueryTile({
      queryLens: [4, 4],
      heads: 4,
      smCount: null,
      shape: v2,
      maxWorkgroupElements: GL_FALLBACK_MAX_WORKGROUP_ELEMENTS,
    }),
    {
      queryTile: 16,
      workgroups: 8,
      target: null,
      elementCap: GL_FALLBACK_MAX_WORKGROUP_ELEMENTS,
      bytesCap: null,
    },
  );
  const glFa2 = plan(GL, "wgsl-expanded-tiled", 4, 20)!;
  assert.deepEqual([glFa2.queryTile, glFa2.workgroupSize, glFa2.chunkVec4], [32, 64, 6]);
  const vkFa2 = plan(LAVAPIPE, "wgsl-expanded-tiled", 4, 20)!;
  assert.deepEqual([vkFa2.queryTile, vkFa2.workgroupSize, vkFa2.chunkVec4], [64, 128, 6]);
  // explain says why, as run decides.
  const text = (backend: string, seqQ: number) =>
    formatExplanation(explainCase({
      spec: tiny,
      dtype: "f32",
      backend,
      layout: { kind: "bshd", batch: 2, seqQ, seqK: 20, causal: true },
    }, GL));
  assert.match(
    text("wgsl-absorbed-tiled", 1),
    /key tiles: 8 keys .*at most 1024 workgroup-memory elements: GL compiles workgroup memory's zero fill one store per element/,
  );
  assert.match(
    text("wgsl-expanded-tiled", 4),
    /score chunks: 6 vec4s of the head width's 6 .*, 833 elements within the GL fallback's 1024 \(GL compiles/,
  );
  // one chunk is said as one
  assert.match(text("wgsl-expanded-tiled", 4), /\(1 chunk, 2 barriers each, per 32-key tile;/);
});

Deno.test("FA2 on a 16 KiB device: a query tile that does not fit gives way to one that does", () => {
  // MiniCPM3-4B's widths (k 96, v 64: 24 and 16 vec4s). At 64 queries the V tile (8192
  // bytes), the probabilities (8704) and the row arrays pass 16384 bytes at any chunk
  // (18692 at one vec4); at 32 queries 13700. The plan was refused with
  // limits.workgroup-storage ("use backend wgsl-expanded").
  const cpm = withParams(presetSpec("tiny"), {
    numHeads: 40,
    kvLoraRank: 256,
    qkNopeHeadDim: 64,
    qkRopeHeadDim: 32,
    vHeadDim: 64,
  });
  const shape = { qkVec4: 24, vVec4: 16 };
  assert.equal(fa2WorkgroupBytes(shape, 64, 1), 18692);
  assert.equal(fa2WorkgroupBytes(shape, 32, 1), 13700);
  const prefill: LayoutRequest = { kind: "bshd", batch: 1, seqQ: 4096, seqK: 4096, causal: true };
  const small = { ...H100, limits: { ...H100.limits, maxComputeWorkgroupStorageSize: 16384 } };
  for (
    const caps of [small, {
      ...small,
      smCount: undefined,
      adapter: { ...small.adapter, device: "x" },
    }]
  ) {
    const r = resolve(
      { spec: cpm, dtype: "f32", backend: "wgsl-expanded-tiled", layout: prefill },
      caps,
    );
    assert.equal(r.kind, "plan", JSON.stringify(r.kind === "unsupported" && r.reasons));
    if (r.kind !== "plan") return;
    assert.equal(r.variant.queryTile, 32);
    assert.ok(fa2WorkgroupBytes(shape, 32, r.variant.chunkVec4!) <= 16384);
    assert.equal(r.variant.queryTileChoice?.workgroupBytesCap, 16384);
    assert.match(
      formatExplanation(
        explainCase(
          { spec: cpm, dtype: "f32", backend: "wgsl-expanded-tiled", layout: prefill },
          caps,
        ),
      ),
      /larger tiles would exceed the device's maxComputeWorkgroupStorageSize 16384 bytes at any chunk width, so tiles of at most 32 queries/,
    );
  }
  // At 32 KiB the plan is as before: 64 queries, and no cap in the plan.
  const r = resolve(
    { spec: cpm, dtype: "f32", backend: "wgsl-expanded-tiled", layout: prefill },
    H100,
  );
  assert.equal(r.kind === "plan" && r.variant.queryTile, 64);
  assert.equal(r.kind === "plan" && r.variant.queryTileChoice?.workgroupBytesCap, undefined);
});

Deno.test("FA2 KV splits: a GPU's dense decode fills its SMs through them; a prefill, a CPU or few keys take one", () => {
  const plan = (caps: DeviceCaps, layout: LayoutRequest, kvSplits?: number) =>
    resolve({ spec: v2lite, dtype: "f32", backend: "wgsl-expanded-tiled", layout }, caps, {
      kvSplits,
    });
  // V2-Lite dense decode, b 4: 4 x 16 = 64 workgroups against 2 x 132: ceil(264 / 64) = 5.
  const decode = plan(H100, HEADLINE);
  assert.equal(decode.kind, "plan");
  if (decode.kind !== "plan") return;
  assert.equal(decode.variant.kvSplits, 5);
  const rows = 4 * 16;
  assert.deepEqual(
    decode.buffers.filter((b) => b.name.endsWith("_part")),
    [{ name: "out_part", bytes: 5 * rows * 128 * 4 }, { name: "lse_part", bytes: 5 * rows * 4 }],
  );
  // A 4096-token prefill's grid is large enough; 300 keys are too few to split (256 a split).
  const prefill = plan(H100, { ...HEADLINE, batch: 1, seqQ: 4096, seqK: 4096 });
  assert.equal(prefill.kind === "plan" && prefill.variant.kvSplits, 1);
  const short = plan(H100, { ...HEADLINE, seqK: 300 });
  assert.equal(short.kind === "plan" && short.variant.kvSplits, 1);
  // A cpu-class device runs one unless the case forces more; out of range is a reason.
  const cpu = plan(LAVAPIPE, { ...HEADLINE, seqK: 1024 });
  assert.equal(cpu.kind === "plan" && cpu.variant.kvSplits, 1);
  const forced = plan(LAVAPIPE, { ...HEADLINE, seqK: 1024 }, 3);
  assert.equal(forced.kind === "plan" && forced.variant.kvSplits, 3);
  const bad = plan(H100, HEADLINE, 65);
  assert.equal(bad.kind, "unsupported");
  assert.match(
    JSON.stringify(bad),
    /variant\.kv-splits.*kvSplits = 65 must be an integer in \[1, 64\]/,
  );
  assert.match(
    formatExplanation(explainCase({
      spec: v2lite,
      dtype: "f32",
      backend: "wgsl-expanded-tiled",
      layout: HEADLINE,
    }, H100)),
    /plan: wgsl-expanded-tiled .*kv splits 5,[^\n]*\n(.*\n)* {2}query tiles: 16 queries .*: 64 workgroups x 5 KV splits of up to 832 keys, merged by combine\.wgsl/,
  );
});

Deno.test("FA2 KV splits: past the loop budget the adapter takes the splits that fit; a forced count that does not is refused with one that does", () => {
  const req = (seqK: number) =>
    ({
      spec: presetSpec("tiny"),
      dtype: "f32",
      backend: "wgsl-expanded-tiled",
      layout: { kind: "bshd", batch: 1, seqQ: 1, seqK, causal: true },
    }) as const;
  // lavapipe's budget fits 41936 tiny keys in one split: 200000 need 5 (shares of 40000).
  const auto = resolve(req(200000), LAVAPIPE);
  assert.equal(auto.kind === "plan" && auto.variant.kvSplits, 5, JSON.stringify(auto));
  // and explain says why 5 (it printed "kv splits 5" and "5 KV splits of up to 40000 keys"
  // with no word of the budget)
  assert.match(
    formatExplanation(explainCase(req(200000), LAVAPIPE)),
    /5 KV splits of up to 40000 keys, merged by combine\.wgsl \(the loop budget of 65535 iterations fits 41936 keys an invocation: 200000 keys take at least 5 splits\)/,
  );
  // a split count a GPU takes to fill its SMs is not put on a budget it does not have
  const gpu = formatExplanation(explainCase(req(65536), H100));
  assert.match(gpu, /\d+ KV splits of up to \d+ keys, merged by combine\.wgsl/);
  assert.doesNotMatch(gpu, /loop budget of/);
  const one = resolve(req(200000), LAVAPIPE, { kvSplits: 1 });
  assert.equal(one.kind, "unsupported");
  const m =
    /device\.loop-budget.*at most 41936 keys.*use kvSplits >= (\d+) \(or leave kvSplits unset/
      .exec(JSON.stringify(one));
  assert.ok(m, JSON.stringify(one));
  assert.equal(resolve(req(200000), LAVAPIPE, { kvSplits: Number(m[1]) }).kind, "plan");
  assert.equal(resolve(req(200000), LAVAPIPE, { kvSplits: Number(m[1]) - 1 }).kind, "unsupported");
  // Shares are whole key tiles: at 3000 iterations (1919 keys a split) 7553 keys take 5
  // splits (4 would walk 1889 keys each, rounded up to 1920).
  const tight = { ...LAVAPIPE, loopIterationBudget: 3000 };
  const tiles = resolve(req(7553), tight);
  assert.equal(tiles.kind === "plan" && tiles.variant.kvSplits, 5, JSON.stringify(tiles));
  // More than 64 splits: the reason says they are the adapter's, for the budget.
  const over = resolve(req(1048576), tight);
  assert.match(
    JSON.stringify(over),
    /kvSplits = 556 must be .*the adapter's choice: this device's loop budget of 3000 iterations fits at most \d+ keys per split, and the longest sequence has 1048576 keys/,
  );
});

Deno.test("absorbed KV splits: explain says when the loop budget calls for them, the count the check holds to", () => {
  const req = (backend: string, seqK: number) =>
    ({
      spec: presetSpec("tiny"),
      dtype: "f32",
      backend,
      layout: { kind: "bshd", batch: 1, seqQ: 1, seqK, causal: true },
    }) as const;
  // (explain printed "kv splits 8" and no word of the budget: only wgsl-expanded-tiled's
  // line said one)
  for (
    const [backend, splits, keys, fit, least] of [
      ["wgsl-absorbed", 8, 25000, 95296, 3],
      ["wgsl-absorbed-tiled", 64, 3125, 28924, 7],
    ] as const
  ) {
    const text = formatExplanation(explainCase(req(backend, 200000), LAVAPIPE));
    assert.match(
      text,
      new RegExp(
        `\\n {2}KV splits: ${splits} of up to ${keys} keys, merged by combine\\.wgsl \\(the ` +
          `loop budget of 65535 iterations fits ${fit} keys an invocation: 200000 keys take ` +
          `at least ${least} splits\\)\\n`,
      ),
      text,
    );
    // the least count said is the check's: one fewer is refused for the budget
    assert.equal(resolve(req(backend, 200000), LAVAPIPE, { kvSplits: least }).kind, "plan");
    const fewer = resolve(req(backend, 200000), LAVAPIPE, { kvSplits: least - 1 });
    assert.match(JSON.stringify(fewer), /device\.loop-budget/, backend);
    // within the budget, or on a device without one: the splits, no budget
    const short = formatExplanation(explainCase(req(backend, 20000), LAVAPIPE));
    assert.match(short, /\n {2}KV splits: \d+ of up to \d+ keys, merged by combine\.wgsl\n/);
    const gpu = formatExplanation(explainCase(req(backend, 200000), H100));
    assert.doesNotMatch(gpu, /loop budget of/, backend);
  }
});

Deno.test("fa2BudgetKvSplits: the fewest whole-tile shares within the keys a split fits", () => {
  assert.equal(fa2BudgetKvSplits(200000, 41936), 5);
  assert.equal(fa2BudgetKvSplits(100, 41936), 1);
  assert.equal(fa2BudgetKvSplits(7553, 1919), 5);
  assert.equal(fa2BudgetKvSplits(100, 20), null);
});

Deno.test("tiledUnrolledValueKeys: a gpu-class plan's whole tiles of at most 16 keys, row groups of one query's rows in whole vec4s", () => {
  const gpu = { unrolledLoops: true, keysPerBlock: 8, headsPerTile: 16, queryTile: 1 };
  assert.equal(tiledUnrolledValueKeys({ ...gpu, valueRowGroups: 2 }), 8); // V2-Lite decode
  // MTP: 32 rows in 2 groups of 16, each one query's 16 heads.
  assert.equal(tiledUnrolledValueKeys({ ...gpu, queryTile: 2, valueRowGroups: 2 }), 8);
  assert.equal(tiledUnrolledValueKeys({ ...gpu, unrolledLoops: undefined }), 0); // cpu class
  assert.equal(tiledUnrolledValueKeys({ ...gpu, keysPerBlock: 32 }), 0); // tiny's long tiles
  assert.equal(tiledUnrolledValueKeys({ ...gpu, keysPerBlock: 16 }), 16);
  // A group of two queries' rows (RPG > HT), or of rows not in whole vec4s: the loop.
  assert.equal(tiledUnrolledValueKeys({ ...gpu, headsPerTile: 4, queryTile: 4 }), 0);
  assert.equal(tiledUnrolledValueKeys({ ...gpu, headsPerTile: 2, queryTile: 1 }), 0);
});
