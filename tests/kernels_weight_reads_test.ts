/**
 * The passes around the attention that read w_kv_b (and the latent cache) read them
 * through textures on a cpu-class device and from the storage buffers on a GPU
 * (adapter/backends.ts expandTexturesOf, weightTextureOf):
 * - the expanded path's K/V expansion (expand_kv.wgsl, kernels/launch.ts expandDense), the
 *   plan's `expandTextures`;
 * - the absorbed path's query absorption and up-projection (absorb_q.wgsl, up_proj.wgsl,
 *   absorbQ and upProject), the plan's `weightTexture`.
 * Both reads, and textures holding several rows per texture row, must make every backend of
 * the path match the float64 reference, in f32 and f16. Each read is planned for the class
 * that takes it (cpuClassCaps, gpuClassCaps), so every device runs both.
 */
import assert from "node:assert/strict";
import type { CacheTextureShape, GpuPlan, LayoutRequest } from "../adapter/types.ts";
import { deviceClassOf } from "../adapter/device_class.ts";
import {
  assertMatchesReference,
  CAPS,
  cpuClassCaps,
  gpuClassCaps,
  gpuTest,
  nameWithReason,
  runCase,
  slowOnGlFallback,
  withTextureSide,
} from "./gpu_helpers.ts";

const MTP: LayoutRequest = { kind: "bshd", batch: 2, seqQ: 2, seqK: 40, causal: true };
const PREFILL: LayoutRequest = { kind: "bshd", batch: 1, seqQ: 20, seqK: 20, causal: true };

/** One pass family that reads through textures on cpu-class devices. */
interface WeightReads {
  /** What reads (test names). */
  readonly what: string;
  /** The backends whose plans carry it; the tiled one last (ignored under GPU caps on GL). */
  readonly backends: readonly string[];
  /** The layout a backend runs (the FA2 kernel takes a prefill). */
  readonly layout: (backend: string) => LayoutRequest;
  /** The plan's textures (undefined: the buffer reads). */
  readonly textures: (plan: GpuPlan) => readonly CacheTextureShape[] | undefined;
  /** The backend run with textures of 32 texels a side, and its textures' (RPT, height)s. */
  readonly folded: { readonly backend: string; readonly shapes: readonly number[][] };
}

const FAMILIES: readonly WeightReads[] = [
  {
    what: "the K/V expansion reads the latent cache and w_kv_b",
    backends: ["wgsl-expanded", "wgsl-expanded-gemm", "wgsl-expanded-tiled"],
    layout: (b) => b === "wgsl-expanded-tiled" ? PREFILL : MTP,
    textures: (p) => {
      const t = p.variant.expandTextures;
      return t === undefined ? undefined : [t.latent, t.weights];
    },
    // 2 x 40 = 80 cache rows of 10 vec4s: 3 per texture row (27 rows); w_kv_b's 128 rows
    // of 8 vec4s: 4 per texture row (32 rows).
    folded: { backend: "wgsl-expanded", shapes: [[3, 27], [4, 32]] },
  },
  {
    what: "absorb_q and up_proj read w_kv_b",
    backends: ["wgsl-absorbed", "wgsl-absorbed-gemm", "wgsl-absorbed-tiled"],
    layout: () => MTP,
    textures: (p) => p.variant.weightTexture === undefined ? undefined : [p.variant.weightTexture],
    folded: { backend: "wgsl-absorbed", shapes: [[4, 32]] },
  },
];

for (const f of FAMILIES) {
  for (const dtype of ["f32", "f16"] as const) {
    const needs = { features: dtype === "f16" ? ["shader-f16" as GPUFeatureName] : [] };
    gpuTest(`${f.what} through textures on cpu-class caps, ${dtype}`, async (t) => {
      // The class set by hand: a GPU runs the texture reads too (a cpu-class device as is).
      const caps = cpuClassCaps(CAPS!);
      assert.equal(deviceClassOf(caps)?.kind, "cpu");
      for (const backend of f.backends) {
        await t.step(backend, async () => {
          const layout = f.layout(backend);
          const run = await runCase({ spec: "tiny", dtype, backend, layout, caps });
          const tex = f.textures(run.plan);
          assert.ok(tex, "a cpu-class device reads through textures");
          for (const s of tex) {
            assert.equal(s.format, dtype === "f32" ? "rgba32float" : "rgba16float");
          }
          assertMatchesReference(run, backend);
        });
      }
    }, needs);

    gpuTest(`${f.what} from the buffers on GPU-class caps, ${dtype}`, async (t) => {
      for (const backend of f.backends) {
        // GPU-class caps lift the GL fallback's workgroup-element cap, and the tiled
        // kernels' uncapped tiles compile for 40 s or more there; the others cover the read.
        const slow = backend.endsWith("-tiled")
          ? slowOnGlFallback("the uncapped tiled kernel compiles for 40 s or more")
          : null;
        await t.step({
          name: nameWithReason(backend, slow),
          ignore: slow !== null,
          fn: async () => {
            const run = await runCase({
              spec: "tiny",
              dtype,
              backend,
              layout: f.layout(backend),
              caps: gpuClassCaps(CAPS!),
            });
            assert.equal(f.textures(run.plan), undefined);
            assertMatchesReference(run, backend);
          },
        });
      }
    }, needs);

    gpuTest(`${f.what} through textures of several rows per texture row, ${dtype}`, async () => {
      const { backend, shapes } = f.folded;
      const run = await runCase({
        spec: "tiny",
        dtype,
        backend,
        layout: f.layout(backend),
        caps: withTextureSide(cpuClassCaps(CAPS!), 32),
      });
      assert.deepEqual(
        f.textures(run.plan)?.map((s) => [s.rowsPerTexelRow, s.height]),
        shapes,
      );
      assertMatchesReference(run, "folded");
    }, needs);
  }
}
