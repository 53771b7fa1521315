/**
 * The K/V expansion (expand_kv.wgsl, kernels/launch.ts expandDense) of every expanded
 * backend reads the latent cache and w_kv_b through textures on a cpu-class device and
 * from the storage buffers on a GPU (adapter/backends.ts expandTexturesOf). Both reads,
 * and textures holding several rows per texture row, must give K and V that make the
 * dense kernels match the float64 reference, in f32 and f16.
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

const BACKENDS = ["wgsl-expanded", "wgsl-expanded-gemm", "wgsl-expanded-tiled"] as const;
const MTP: LayoutRequest = { kind: "bshd", batch: 2, seqQ: 2, seqK: 40, causal: true };
const PREFILL: LayoutRequest = { kind: "bshd", batch: 1, seqQ: 20, seqK: 20, causal: true };

/** A side of 32 texels: tiny's latent rows (10 vec4s) fold 3 to a texture row, w_kv_b's 4. */
function smallTextureCaps(caps: DeviceCaps): DeviceCaps {
  return { ...caps, limits: { ...caps.limits, maxTextureDimension2D: 32 } };
}

for (const dtype of ["f32", "f16"] as const) {
  const needs = { features: dtype === "f16" ? ["shader-f16" as GPUFeatureName] : [] };
  gpuTest(`K/V expansion through textures (this cpu-class device), ${dtype}`, async (t) => {
    assert.equal(deviceClassOf(CAPS)?.kind, "cpu");
    for (const backend of BACKENDS) {
      const layout = backend === "wgsl-expanded-tiled" ? PREFILL : MTP;
      await t.step(backend, async () => {
        const run = await runCase({ spec: "tiny", dtype, backend, layout });
        const et = run.plan.variant.expandTextures;
        assert.ok(et, "a cpu-class device expands through textures");
        assert.equal(et.latent.format, dtype === "f32" ? "rgba32float" : "rgba16float");
        assertMatchesReference(run, backend);
      });
    }
  }, needs);

  gpuTest(`K/V expansion from the buffers (GPU-class caps), ${dtype}`, async (t) => {
    for (const backend of BACKENDS) {
      const layout = backend === "wgsl-expanded-tiled" ? PREFILL : MTP;
      // GPU-class caps lift the GL fallback's workgroup-element cap, and its 64-query FA2
      // tile compiles for about 40 s there; the other two backends cover the read.
      const slow = backend === "wgsl-expanded-tiled"
        ? slowOnGlFallback("the uncapped FA2 tile compiles for about 40 s")
        : null;
      await t.step({
        name: nameWithReason(backend, slow),
        ignore: slow !== null,
        fn: async () => {
          const run = await runCase({
            spec: "tiny",
            dtype,
            backend,
            layout,
            caps: gpuClassCaps(CAPS!),
          });
          assert.equal(run.plan.variant.expandTextures, undefined);
          assertMatchesReference(run, backend);
        },
      });
    }
  }, needs);

  gpuTest(`K/V expansion textures holding several rows per texture row, ${dtype}`, async () => {
    // 2 x 40 = 80 cache rows: 3 per texture row (27 rows of 30 texels); w_kv_b's 128 rows
    // of 8 vec4s: 4 per texture row (32 rows of 32 texels).
    const run = await runCase({
      spec: "tiny",
      dtype,
      backend: "wgsl-expanded",
      layout: MTP,
      caps: smallTextureCaps(CAPS!),
    });
    const et = run.plan.variant.expandTextures;
    assert.deepEqual(
      [
        et?.latent.rowsPerTexelRow,
        et?.latent.height,
        et?.weights.rowsPerTexelRow,
        et?.weights.height,
      ],
      [3, 27, 4, 32],
    );
    assertMatchesReference(run, "folded");
  }, needs);
}
