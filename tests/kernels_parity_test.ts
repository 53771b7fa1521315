/**
 * GPU kernels vs the float64 dense reference on seeded random inputs: tiny and a
 * DeepSeek-V2-Lite head shape (16 heads, r 512, rope 64, nope/v 128), both paths,
 * f32 and f16, bshd / sbhd / thd, causal and not, decode s_q 1..4 and a short
 * prefill. Tolerances: parity/tolerance.ts (toleranceFor(dtype, path)).
 */
import type { Dtype, LayoutRequest } from "../adapter/types.ts";
import { assertMatchesReference, gpuTest, layoutLabel, runCase } from "./gpu_helpers.ts";

const LAYOUTS: LayoutRequest[] = [
  // decode s_q = 1 against caches of 150 keys (two absorbed blocks of 128, five
  // expanded blocks of 32) and 9 keys (NaN padding after)
  { kind: "bshd", batch: 2, seqQ: 1, seqK: 150, kvLens: [150, 9], causal: true },
  // MTP s_q = 4, bottom-right causal
  { kind: "bshd", batch: 1, seqQ: 4, seqK: 13, causal: true },
  // s_q = 2, not causal, sequence-major
  { kind: "sbhd", batch: 2, seqQ: 2, seqK: 6, causal: false },
  // short packed prefill with padded offsets (padding rows NaN)
  {
    kind: "thd",
    cuSeqlensQ: [0, 5, 8],
    cuSeqlensQPadded: [0, 6, 10],
    causal: true,
  },
];

for (const preset of ["tiny", "deepseek-v2-lite"]) {
  for (const backend of ["wgsl-absorbed", "wgsl-expanded"] as const) {
    for (const dtype of ["f32", "f16"] as Dtype[]) {
      gpuTest(`parity ${preset} ${backend} ${dtype}`, async (t) => {
        for (const layout of LAYOUTS) {
          await t.step(layoutLabel(layout), async () => {
            const run = await runCase({ spec: preset, dtype, backend, layout });
            assertMatchesReference(run);
          });
        }
      }, { cases: [{ spec: preset, dtype, backend, layout: LAYOUTS[0] }] }); // the adapter decides
    }
  }
}
