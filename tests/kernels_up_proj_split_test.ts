/**
 * The GPU-class query absorption and up-projection (kernels/absorb_q_split.wgsl,
 * kernels/up_proj_split.wgsl): the plan gives them to gpu-class devices only
 * (adapter/harness_tiles.ts), and on shapes that leave every edge of their tiles partial
 * (a latent width that is not a multiple of the up-projection's 32 lanes nor of the
 * absorption's 32 columns, a channel count that is not a multiple of the 16-channel blocks,
 * a nope width of 18, which 4 groups do not split evenly, a token count that is
 * not a multiple of 4), in f32 and f16, they match the float64 reference. Their planted
 * faults are in parity/faults.ts (absorb-q-split-*, up-proj-split-*), caught in
 * tests/faults_test.ts.
 */
import assert from "node:assert/strict";
import { harnessTilesOf } from "../adapter/harness_tiles.ts";
import { buildSpec } from "../adapter/spec.ts";
import { presetSpec } from "../adapter/presets.ts";
import { resolve } from "../adapter/resolve.ts";
import type { LayoutRequest } from "../adapter/types.ts";
import {
  assertMatchesReference,
  CAPS,
  cpuClassCaps,
  gpu,
  gpuClassCaps,
  gpuTest,
  planCase,
  runCase,
} from "./gpu_helpers.ts";
import { runAttention } from "../kernels/attention.ts";

Deno.test("harnessTilesOf: the split absorption and up-projection on gpu-class devices, the lane walks elsewhere", () => {
  assert.deepEqual(harnessTilesOf("absorbed", { deviceClass: "gpu" }).upProj, {
    tokens: 4,
    channels: 16,
    latentLanes: 32,
    workgroupSize: 256,
  });
  assert.deepEqual(harnessTilesOf("absorbed", { deviceClass: "gpu" }).absorbQ, {
    rows: 4,
    columns: 32,
    nopeGroups: 4,
  });
  for (const deviceClass of ["cpu", null, undefined] as const) {
    assert.deepEqual(harnessTilesOf("absorbed", { deviceClass }).upProj, {
      tokens: 4,
      channels: 16,
    });
    assert.deepEqual(harnessTilesOf("absorbed", { deviceClass }).absorbQ, { rows: 4, columns: 4 });
  }
  assert.equal(harnessTilesOf("expanded", { deviceClass: "gpu" }).upProj, undefined);
});

/**
 * r 160 (40 latent vec4s: the up-projection's lanes 0-7 take two, the rest one; the
 * absorption's second column block of 32 is partial), nope 18 (4 groups take 5, 5, 4 and 4
 * channels), v 24 (a 16-channel block and a partial one), 3 heads.
 */
const ODD = buildSpec({
  hiddenSize: 96,
  numHeads: 3,
  qLoraRank: null,
  kvLoraRank: 160,
  qkNopeHeadDim: 18,
  qkRopeHeadDim: 8,
  vHeadDim: 24,
  rmsNormEps: 1e-6,
  ropeTheta: 10000,
  yarn: null,
  ropePairing: "interleaved",
}, { name: "odd-up-proj", source: "preset" });

/** 5 decode tokens (a 4-token tile and a partial one), and a 7-query causal prefill. */
const LAYOUTS: readonly LayoutRequest[] = [
  { kind: "bshd", batch: 5, seqQ: 1, seqK: 21, causal: true },
  { kind: "bshd", batch: 1, seqQ: 7, seqK: 7, causal: true },
];

gpuTest(
  "the plan of a gpu-class device runs the split up-projection; a cpu-class one's the lane walk",
  // deno-lint-ignore require-await
  async () => {
    const req = {
      spec: presetSpec("tiny"),
      dtype: "f32" as const,
      backend: "wgsl-absorbed-tiled",
      layout: { kind: "bshd", batch: 4, seqQ: 1, seqK: 64, causal: true } as const,
    };
    const gpuPlan = resolve(req, gpuClassCaps(CAPS!));
    const cpuPlan = resolve(req, cpuClassCaps(CAPS!));
    assert.equal(gpuPlan.kind, "plan");
    assert.equal(cpuPlan.kind, "plan");
    if (gpuPlan.kind !== "plan" || cpuPlan.kind !== "plan") return;
    assert.equal(gpuPlan.harnessTiles.upProj?.latentLanes, 32);
    assert.equal(cpuPlan.harnessTiles.upProj?.latentLanes, undefined);
  },
);

for (const dtype of ["f32", "f16"] as const) {
  gpuTest(
    `the split absorption and up-projection match the reference where every tile edge is partial, ${dtype}`,
    async (t) => {
      for (const layout of LAYOUTS) {
        await t.step(JSON.stringify(layout), async () => {
          // The lane kernel's core (on the GL fallback the tiled kernels' uncapped tiles
          // compile for 40 s or more): the up-projection is the harness's, the same for every
          // absorbed backend.
          const run = await runCase({
            spec: ODD,
            dtype,
            backend: "wgsl-absorbed",
            layout,
            caps: gpuClassCaps(CAPS!),
          });
          assert.equal(run.plan.harnessTiles.upProj?.latentLanes, 32);
          assert.equal(run.plan.harnessTiles.absorbQ?.nopeGroups, 4);
          assertMatchesReference(run, `${dtype} ${JSON.stringify(layout)}`);
        });
      }
    },
    {
      cases: [{ spec: ODD, dtype, backend: "wgsl-absorbed", layout: LAYOUTS[0] }],
    },
  );
}

gpuTest(
  "the split projections refuse more token blocks than a grid dimension holds, naming the pass and the limit",
  async () => {
    // 9 decode tokens are 3 blocks of 4; a device profile of 2 workgroups per dimension
    const { spec, plan, inputs } = await planCase({
      spec: ODD,
      dtype: "f32",
      backend: "wgsl-absorbed",
      layout: { kind: "bshd", batch: 9, seqQ: 1, seqK: 5, causal: true },
      caps: gpuClassCaps(CAPS!),
    });
    const ctx = await gpu();
    await assert.rejects(
      () =>
        runAttention(ctx, plan, {
          spec,
          inputs,
          limits: { maxComputeWorkgroupsPerDimension: 2 },
        }),
      /absorb_q_split: 9 query tokens are 3 workgroup rows of 4, over the 2 workgroups .* run at most 8 query tokens per call/,
    );
  },
);
