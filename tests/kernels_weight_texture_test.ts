/**
 * The absorbed path's query absorption and up-projection (absorb_q.wgsl, up_proj.wgsl,
 * kernels/launch.ts absorbQ and upProject) read w_kv_b through a texture on a cpu-class
 * device and from the buffer on a GPU (adapter/backends.ts weightTextureOf). Both reads,
 * and a texture holding several rows per texture row, must make every absorbed backend
 * match the float64 reference, in f32 and f16.
 */
import assert from "node:assert/strict";
import type { DeviceCaps, LayoutRequest } from "../adapter/types.ts";
import { deviceClassOf } from "../adapter/device_class.ts";
import {
  assertMatchesReference,
  CAPS,
  gpuClassCaps,
  gpuTest,
  nameWithReason,
  runCase,
  slowOnGlFallback,
} from "./gpu_helpers.ts";

const BACKENDS = ["wgsl-absorbed", "wgsl-absorbed-gemm", "wgsl-absorbed-tiled"] as const;
const MTP: LayoutRequest = { kind: "bshd", batch: 2, seqQ: 2, seqK: 40, causal: true };

/** A side of 32 texels: tiny's 128 w_kv_b rows of 8 vec4s fold 4 to a texture row. */
function smallTextureCaps(caps: DeviceCaps): DeviceCaps {
  return { ...caps, limits: { ...caps.limits, maxTextureDimension2D: 32 } };
}

for (const dtype of ["f32", "f16"] as const) {
  const needs = { features: dtype === "f16" ? ["shader-f16" as GPUFeatureName] : [] };
  gpuTest(`absorb_q and up_proj read w_kv_b through a texture (cpu-class), ${dtype}`, async (t) => {
    assert.equal(deviceClassOf(CAPS)?.kind, "cpu");
    for (const backend of BACKENDS) {
      await t.step(backend, async () => {
        const run = await runCase({ spec: "tiny", dtype, backend, layout: MTP });
        const w = run.plan.variant.weightTexture;
        assert.ok(w, "a cpu-class device reads the weights through a texture");
        assert.equal(w.format, dtype === "f32" ? "rgba32float" : "rgba16float");
        assertMatchesReference(run, backend);
      });
    }
  }, needs);

  gpuTest(`absorb_q and up_proj read the w_kv_b buffer (GPU-class caps), ${dtype}`, async (t) => {
    for (const backend of BACKENDS) {
      // GPU-class caps lift the GL fallback's workgroup-element cap (the tiled kernel's
      // uncapped tiles compile for minutes there); the other two backends cover the read.
      const slow = backend === "wgsl-absorbed-tiled"
        ? slowOnGlFallback("the uncapped tiled kernel compiles for minutes")
        : null;
      await t.step({
        name: nameWithReason(backend, slow),
        ignore: slow !== null,
        fn: async () => {
          const run = await runCase({
            spec: "tiny",
            dtype,
            backend,
            layout: MTP,
            caps: gpuClassCaps(CAPS!),
          });
          assert.equal(run.plan.variant.weightTexture, undefined);
          assertMatchesReference(run, backend);
        },
      });
    }
  }, needs);

  gpuTest(`the w_kv_b texture holding 4 rows per texture row, ${dtype}`, async () => {
    const run = await runCase({
      spec: "tiny",
      dtype,
      backend: "wgsl-absorbed",
      layout: MTP,
      caps: smallTextureCaps(CAPS!),
    });
    const w = run.plan.variant.weightTexture;
    assert.deepEqual([w?.rowsPerTexelRow, w?.width, w?.height], [4, 32, 32]);
    assertMatchesReference(run, "folded");
  }, needs);
}
