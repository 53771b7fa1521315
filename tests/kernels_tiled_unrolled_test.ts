/**
 * wgsl-absorbed-tiled and wgsl-expanded-tiled as a gpu-class device plans them: their
 * `// @unroll` loops unrolled in the source (kernels/unroll.ts; adapter/backends.ts sets
 * the variant's `unrolledLoops` on gpu-class devices only), run on this machine's adapter
 * against the float64 reference: tiny layouts in f32 and f16, DeepSeek-V2-Lite decode, MTP
 * and prefill, NaN poison in keys a row must not see, and proof that the unrolled source is
 * what runs (a marked loop the unroller refuses fails a gpu-class run and not a cpu-class
 * one).
 */
import assert from "node:assert/strict";
import { presetSpec } from "../adapter/presets.ts";
import { gpuPlanOf, resolve } from "../adapter/resolve.ts";
import type { DeviceCaps, GpuPlan, LayoutRequest } from "../adapter/types.ts";
import { runAttention } from "../kernels/attention.ts";
import type { SourceMutation } from "../kernels/source.ts";
import { makeAttentionInputs } from "../reference/inputs.ts";
import {
  checkPoisonOn,
  FA2_PACKED_THD,
  FA2_PARTIAL_TILES,
  parityOn,
  TINY_LAYOUTS,
  tinyParityTest,
} from "./backend_parity_helpers.ts";
import { CAPS, cpuClassCaps, gpu, gpuClassCaps, gpuTest, slowOnGlFallback } from "./gpu_helpers.ts";

const BACKEND = "wgsl-absorbed-tiled";
/** The adapter's caps as a gpu-class device gives them (no loop budget, a GPU's name). */
const GPU_CAPS: DeviceCaps | null = CAPS === null ? null : gpuClassCaps(CAPS);
/**
 * On the GL fallback a gpu-class plan has no workgroup-element cap (adapter/slow_device.ts:
 * the cap follows the adapter, and these caps name a GPU), so its tiles compile for minutes
 * there; lavapipe (CI) runs them in seconds.
 */
const SKIP = CAPS === null
  ? "no WebGPU adapter"
  : slowOnGlFallback("a gpu-class plan's workgroup memory");

/** Each plan of these tests is a gpu-class one: its loops unrolled. */
const unrolls = (plan: GpuPlan) =>
  assert.equal(plan.variant.unrolledLoops, true, "a gpu-class plan unrolls");

tinyParityTest(
  "tiled, unrolled (gpu-class plans): every tiny layout in f32 and f16 matches the reference",
  BACKEND,
  null,
  TINY_LAYOUTS,
  { caps: GPU_CAPS, check: unrolls, skip: SKIP },
);

gpuTest(
  "tiled, unrolled: DeepSeek-V2-Lite decode (b 2, 300 keys) and MTP (2 queries) match the reference",
  async () => {
    const layouts: LayoutRequest[] = [
      { kind: "bshd", batch: 2, seqQ: 1, seqK: 300, causal: true },
      { kind: "bshd", batch: 1, seqQ: 2, seqK: 200, causal: true },
    ];
    for (const layout of layouts) {
      await parityOn(BACKEND, { preset: "deepseek-v2-lite", dtype: "f32", layout, caps: GPU_CAPS });
    }
  },
  { skip: SKIP ?? slowOnGlFallback("model widths of the tiled kernel") },
);

gpuTest(
  "tiled, unrolled: NaN and Inf in keys a row does not see never reach it",
  async () => {
    // MTP: key 39 is a causal future key of query 0, which shares its workgroup and tile.
    const poison = {
      layout: { kind: "bshd", batch: 1, seqQ: 2, seqK: 40, causal: true } as const,
      keys: [39],
      nanRows: [1],
    };
    for (const value of [NaN, Infinity]) {
      await checkPoisonOn(BACKEND, poison, { dtype: "f32", value, caps: GPU_CAPS });
    }
  },
  { skip: SKIP },
);

gpuTest(
  "tiled, unrolled: a whole tile's unmasked value form runs only where every row of the group sees the tile (V2-Lite MTP, NaN and Inf in query 0's future key)",
  async () => {
    // 8-key tiles: keys 32..39 are a whole tile for query 1 (the unmasked unrolled form)
    // and not for query 0, whose future key 39 holds the poison.
    const poison = {
      layout: { kind: "bshd", batch: 1, seqQ: 2, seqK: 40, causal: true } as const,
      keys: [39],
      nanRows: [1],
    };
    const spec = presetSpec("deepseek-v2-lite");
    const planned = gpuPlanOf(
      resolve({ spec, dtype: "f32", backend: BACKEND, layout: poison.layout }, GPU_CAPS!),
    );
    assert.equal(planned.variant.keysPerBlock, 8, "8-key tiles (the unrolled form's case)");
    for (const value of [NaN, Infinity]) {
      await checkPoisonOn(BACKEND, poison, { dtype: "f32", value, caps: GPU_CAPS, spec });
    }
    // Planted: the whole-tile test against the split's end instead of the group's keys.
    // Query 0 then reads key 39's poisoned value unmasked (p = 0 times NaN is NaN).
    const mutate: SourceMutation = (f, src) => {
      if (f !== "absorbed_tiled.wgsl") return src;
      const want = "kb + KT <= glim;";
      assert.ok(src.includes(want), "the planted fault's pattern is in the kernel");
      return src.replace(want, "kb + KT <= end;");
    };
    await assert.rejects(
      () =>
        checkPoisonOn(BACKEND, poison, { dtype: "f32", value: NaN, caps: GPU_CAPS, spec, mutate }),
      /row 0/,
    );
  },
  { skip: SKIP ?? slowOnGlFallback("model widths of the tiled kernel") },
);

const FA2 = "wgsl-expanded-tiled";

tinyParityTest(
  "FA2, unrolled (gpu-class plans): causal prefill with partial tiles, packed THD and decode in f32 and f16",
  FA2,
  "expanded-fa2",
  [
    // query tiles of 64 + 6 (or smaller: the plan's SM count), key tiles of 32 + 32 + 26
    FA2_PARTIAL_TILES,
    FA2_PACKED_THD,
    { kind: "bshd", batch: 2, seqQ: 1, seqK: 8, kvLens: [0, 5], causal: true },
  ],
  { seed: 7, caps: GPU_CAPS, check: unrolls, skip: SKIP },
);

gpuTest(
  "FA2, unrolled: a DeepSeek-V2-Lite causal prefill (100 x 100) matches the reference",
  () =>
    parityOn(FA2, {
      preset: "deepseek-v2-lite",
      dtype: "f32",
      layout: { kind: "bshd", batch: 1, seqQ: 100, seqK: 100, causal: true },
      caps: GPU_CAPS,
    }, { seed: 7 }),
  { skip: SKIP ?? slowOnGlFallback("model widths of the FA2 kernel") },
);

gpuTest(
  "FA2, unrolled: NaN and Inf in keys a row does not see never reach it",
  async () => {
    // Causal 70 x 70: key 66 is seen by queries 66..69 only.
    const poison = {
      layout: { kind: "bshd", batch: 1, seqQ: 70, seqK: 70, causal: true } as const,
      keys: [66],
      nanRows: [66, 67, 68, 69],
    };
    for (const value of [NaN, Infinity]) {
      await checkPoisonOn(FA2, poison, { dtype: "f32", value, caps: GPU_CAPS });
    }
  },
  { skip: SKIP },
);

for (
  const [backend, file, layout] of [
    [BACKEND, "absorbed_tiled.wgsl", { kind: "bshd", batch: 1, seqQ: 1, seqK: 40, causal: true }],
    [FA2, "expanded_fa2.wgsl", { kind: "bshd", batch: 1, seqQ: 20, seqK: 20, causal: true }],
  ] as const
) {
  gpuTest(
    `${backend}: the unrolled source is what a gpu-class plan runs, and a cpu-class plan runs the loops as written`,
    async () => {
      // A marked loop the unroller refuses (it breaks), in a function nothing calls: valid
      // WGSL as written, an error once unrolled.
      const mutate: SourceMutation = (f, src) =>
        f !== file ? src : src +
          "\nfn unroll_probe() {\n  for (var i = 0u; i < 2u; i++) { // @unroll\n    break;\n  }\n}\n";
      const spec = presetSpec("tiny");
      const planFor = (caps: DeviceCaps) =>
        gpuPlanOf(resolve({ spec, dtype: "f32", backend, layout }, caps));
      const run = async (caps: DeviceCaps) => {
        const plan = planFor(caps);
        const inputs = makeAttentionInputs(spec, plan.layout, { seed: 3 });
        return await runAttention(await gpu(), plan, { spec, inputs, mutate });
      };
      await assert.rejects(() => run(GPU_CAPS!), /may not break or continue/);
      const cpu = cpuClassCaps(CAPS!);
      assert.equal(planFor(cpu).variant.unrolledLoops, undefined);
      await run(cpu); // compiles and runs: the marker is a comment there
    },
    { skip: SKIP },
  );
}
