/**
 * wgsl-absorbed-tiled as a gpu-class device plans it: its `// @unroll` loops unrolled in
 * the source (kernels/unroll.ts; adapter/backends.ts sets the variant's `unrolledLoops` on
 * gpu-class devices only), run on this machine's adapter against the float64 reference:
 * the tiny layouts in f32 and f16, a DeepSeek-V2-Lite decode and MTP, NaN poison in keys a
 * row must not see, and proof that the unrolled source is what runs (a marked loop the
 * unroller refuses fails a gpu-class run and not a cpu-class one).
 */
import assert from "node:assert/strict";
import { presetSpec } from "../adapter/presets.ts";
import { gpuPlanOf, resolve } from "../adapter/resolve.ts";
import type { DeviceCaps, LayoutRequest } from "../adapter/types.ts";
import { runAttention } from "../kernels/attention.ts";
import type { SourceMutation } from "../kernels/source.ts";
import { makeAttentionInputs } from "../reference/inputs.ts";
import {
  caseLabel,
  checkPoisonOn,
  parityOn,
  planOn,
  TINY_LAYOUTS,
} from "./backend_parity_helpers.ts";
import {
  CAPS,
  cpuClassCaps,
  gpu,
  gpuClassCaps,
  gpuTest,
  nameWithReason,
  slowOnGlFallback,
} from "./gpu_helpers.ts";

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

gpuTest(
  "tiled, unrolled (gpu-class plans): every tiny layout in f32 and f16 matches the reference",
  async (t) => {
    for (const dtype of ["f32", "f16"] as const) {
      for (const layout of TINY_LAYOUTS) {
        const c = { preset: "tiny", dtype, layout, caps: GPU_CAPS };
        const p = planOn(BACKEND, c);
        const why = typeof p === "string" ? p : null;
        await t.step({
          name: nameWithReason(caseLabel(c), why),
          ignore: why !== null,
          fn: async () => {
            if (typeof p === "string") return;
            assert.equal(p.plan.variant.unrolledLoops, true, "a gpu-class plan unrolls");
            await parityOn(BACKEND, c);
          },
        });
      }
    }
  },
  { skip: SKIP },
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
  "tiled: the unrolled source is what a gpu-class plan runs, and a cpu-class plan runs the loops as written",
  async () => {
    // A marked loop the unroller refuses (it breaks), in a function nothing calls: valid
    // WGSL as written, an error once unrolled.
    const mutate: SourceMutation = (file, src) =>
      file !== "absorbed_tiled.wgsl" ? src : src +
        "\nfn unroll_probe() {\n  for (var i = 0u; i < 2u; i++) { // @unroll\n    break;\n  }\n}\n";
    const spec = presetSpec("tiny");
    const layout: LayoutRequest = { kind: "bshd", batch: 1, seqQ: 1, seqK: 40, causal: true };
    const run = async (caps: DeviceCaps) => {
      const plan = gpuPlanOf(resolve({ spec, dtype: "f32", backend: BACKEND, layout }, caps));
      const inputs = makeAttentionInputs(spec, plan.layout, { seed: 3 });
      return await runAttention(await gpu(), plan, { spec, inputs, mutate });
    };
    await assert.rejects(() => run(GPU_CAPS!), /may not break or continue/);
    const cpu = cpuClassCaps(CAPS!);
    assert.equal(
      gpuPlanOf(
        resolve({ spec, dtype: "f32", backend: BACKEND, layout }, cpu),
      ).variant.unrolledLoops,
      undefined,
    );
    await run(cpu); // compiles and runs: the marker is a comment there
  },
  { skip: SKIP },
);
