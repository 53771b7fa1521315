/**
 * `BUNDLED_KERNEL_FILES` (adapter/backends.ts) is the one list of the WGSL files each bundled
 * backend compiles: drift hashes them per case and attributes a changed file to the cases that
 * run it (drift/kernel_files.ts), and the backend modules report them. A file a launcher (or
 * the launch kit on its behalf, e.g. cache_texture.wgsl for a plan's textures) compiles but the
 * list leaves out would change a case's numbers with no kernel hash changing. So every file
 * the runs below compile, recorded through the kit's source hook, must be in its backend's
 * list (or be the RoPE pass every run shares), on this device and on GPU-class caps, where
 * plans take other paths. The same runs check that every pass they record is one of the
 * harness's passes, with the timing role adapter/pass_roles.ts gives it.
 */
import assert from "node:assert/strict";
import { BUNDLED_KERNEL_FILES, type BundledGpuBackendId } from "../adapter/backends.ts";
import { resolve } from "../adapter/resolve.ts";
import { presetSpec } from "../adapter/presets.ts";
import type { DeviceCaps, LayoutRequest } from "../adapter/types.ts";
import {
  CAPS,
  gpu,
  gpuClassCaps,
  gpuStep,
  gpuTest,
  planCase,
  slowOnGlFallback,
} from "./gpu_helpers.ts";
import { passRole } from "../adapter/pass_roles.ts";
import { runAttention } from "../kernels/attention.ts";
import type { RecordedPass } from "../kernels/launch.ts";

const LAYOUTS: readonly LayoutRequest[] = [
  // MTP decode over 600 keys: the absorbed kernels split the keys (combine, split sums)
  { kind: "bshd", batch: 2, seqQ: 2, seqK: 600, causal: true },
  // causal prefill: the expanded kernels' query tiles
  { kind: "bshd", batch: 1, seqQ: 20, seqK: 20, causal: true },
];

gpuTest(
  "every WGSL file a bundled backend compiles is in its BUNDLED_KERNEL_FILES list, every pass has its adapter role",
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
            const c = await planCase({ spec: "tiny", dtype: "f32", backend: id, layout, caps });
            let passes: readonly RecordedPass[] = [];
            await runAttention(await gpu(), c.plan, {
              spec: c.spec,
              inputs: c.inputs,
              mutate: (file, src) => {
                compiled.add(file);
                return src;
              },
              session: (session) => {
                passes = session.passes;
                return Promise.resolve();
              },
            });
            const listed = new Set([...BUNDLED_KERNEL_FILES[id], "rope.wgsl"]);
            const missing = [...compiled].filter((f) => !listed.has(f));
            assert.deepEqual(missing, [], `${label}: compiled ${[...compiled].join(", ")}`);
            // Every pass is one of the harness's, timed as the adapter says.
            assert.ok(passes.length > 0);
            for (const p of passes) {
              const role = passRole(c.plan.path, p.name);
              assert.ok(role !== undefined, `${label}: pass ${p.name} has no role`);
              assert.deepEqual(
                { core: p.core, construction: p.construction },
                { core: role === "core", construction: role === "construction" },
                `${label}: ${p.name}`,
              );
            }
          });
        }
      }
    }
  },
  { skip: CAPS === null ? "no WebGPU adapter" : null },
);
