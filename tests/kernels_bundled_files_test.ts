/**
 * `BUNDLED_KERNEL_FILES` (adapter/backends.ts) is the one list of the WGSL files each bundled
 * backend compiles: drift hashes them per case and attributes a changed file to the cases that
 * run it (drift/kernel_files.ts), and the backend modules report them. A file a launcher (or
 * the launch kit on its behalf, e.g. cache_texture.wgsl for a plan's textures) compiles but the
 * list leaves out would change a case's numbers with no kernel hash changing. So every file
 * the runs below compile, recorded through the kit's source hook, must be in its backend's
 * list (or be the RoPE pass every run shares), on this device and on GPU-class caps, where
 * plans take other paths.
 */
import assert from "node:assert/strict";
import { BUNDLED_KERNEL_FILES, type BundledGpuBackendId } from "../adapter/backends.ts";
import { resolve } from "../adapter/resolve.ts";
import { presetSpec } from "../adapter/presets.ts";
import type { DeviceCaps, LayoutRequest } from "../adapter/types.ts";
import { CAPS, gpuClassCaps, gpuStep, gpuTest, runCase, slowOnGlFallback } from "./gpu_helpers.ts";

const LAYOUTS: readonly LayoutRequest[] = [
  // MTP decode over 600 keys: the absorbed kernels split the keys (combine, split sums)
  { kind: "bshd", batch: 2, seqQ: 2, seqK: 600, causal: true },
  // causal prefill: the expanded kernels' query tiles
  { kind: "bshd", batch: 1, seqQ: 20, seqK: 20, causal: true },
];

gpuTest(
  "every WGSL file a bundled backend compiles is in its BUNDLED_KERNEL_FILES list",
  async (t) => {
    const settings: [string, DeviceCaps, string | null][] = [
      ["this device", CAPS!, null],
      [
        "GPU-class caps",
        gpuClassCaps(CAPS!),
        slowOnGlFallback("GPU-class tiles: 40 s per compile"),
      ],
    ];
    for (const [where, caps, slow] of settings) {
      for (const id of Object.keys(BUNDLED_KERNEL_FILES) as BundledGpuBackendId[]) {
        for (const layout of LAYOUTS) {
          const plan = resolve(
            { spec: presetSpec("tiny"), dtype: "f32", backend: id, layout },
            caps,
          );
          if (plan.kind !== "plan") continue; // e.g. the subgroup variant without subgroups
          const label = `${id}, ${where}, sq ${layout.kind === "bshd" ? layout.seqQ : "?"}`;
          await gpuStep(t, label, { skip: slow }, async () => {
            const compiled = new Set<string>();
            await runCase(
              { spec: "tiny", dtype: "f32", backend: id, layout, caps },
              (file, src) => {
                compiled.add(file);
                return src;
              },
            );
            const listed = new Set([...BUNDLED_KERNEL_FILES[id], "rope.wgsl"]);
            const missing = [...compiled].filter((f) => !listed.has(f));
            assert.deepEqual(missing, [], `${label}: compiled ${[...compiled].join(", ")}`);
          });
        }
      }
    }
  },
  { skip: CAPS === null ? "no WebGPU adapter" : null },
);
