/**
 * The dense kernels' sequence groups (`LaunchKit.denseGroups`, kernels/tables.ts
 * `denseGroups`): where a kit's storage binding is smaller than the expanded K and V of
 * every sequence, consecutive sequences are bound a group at a time, each group's K and V
 * at an aligned offset, and the kernel adds the group's first row (`kBase`, `vBase`, in
 * vec4s of the plan's dtype) to its row indices. With a binding of one and a half sequences'
 * K each tiny sequence of 64 keys is a group of its own, at offsets past zero, and the results still match the
 * float64 reference on the lane kernel's buffer path and on the FA2 kernel.
 */
import assert from "node:assert/strict";
import { presetSpec } from "../adapter/presets.ts";
import type { LayoutRequest } from "../adapter/types.ts";
import { runAttention } from "../kernels/attention.ts";
import { denseGroups } from "../kernels/tables.ts";
import {
  CAPS,
  checkAgainstReference,
  gpu,
  gpuClassCaps,
  gpuTest,
  planCase,
  slowOnGlFallback,
  withTextureSide,
} from "./gpu_helpers.ts";

/** 3 sequences of 64 keys; tiny's expanded K row is 4 heads x 24 channels. */
const LAYOUT: LayoutRequest = { kind: "bshd", batch: 3, seqQ: 1, seqK: 64, causal: true };

const CASES = [
  // no texture fits a side of 8: the lane kernel binds K and V buffers per group
  { backend: "wgsl-expanded", caps: () => withTextureSide(CAPS!, 8), glSlow: null },
  {
    backend: "wgsl-expanded-tiled",
    caps: () => gpuClassCaps(CAPS!),
    glSlow: "the FA2 kernel's tiles",
  },
] as const;

for (const c of CASES) {
  gpuTest(
    `${c.backend}: sequences bound a group at a time (a binding of 1.5 sequences' K) match the reference`,
    async () => {
      const spec = presetSpec("tiny");
      for (const dtype of ["f32", "f16"] as const) {
        if (dtype === "f16" && !CAPS!.features.includes("shader-f16")) continue;
        const { plan, inputs } = await planCase({
          spec,
          dtype,
          backend: c.backend,
          layout: LAYOUT,
          caps: c.caps(),
        });
        assert.equal(plan.variant.keyTexture, undefined, "the buffer path");
        const eb = dtype === "f16" ? 2 : 4;
        const rowK = spec.numHeads * spec.kChannels * eb;
        const binding = 96 * rowK; // one and a half sequences of 64 keys
        const { groups } = denseGroups(plan.layout, plan.variant.queryTile, {
          rowK,
          rowV: spec.numHeads * spec.vHeadDim * eb,
          maxBinding: binding,
          align: CAPS!.limits.minStorageBufferOffsetAlignment,
        });
        assert.equal(groups.length, 3, `a group a sequence: ${JSON.stringify(groups)}`);
        assert.ok(groups[2].kOffset > 0 && groups[2].vOffset > 0, "offsets past zero");
        const result = await runAttention(await gpu(), plan, {
          spec,
          inputs,
          limits: { maxStorageBufferBindingSize: binding },
        });
        const res = checkAgainstReference({ spec, plan, inputs, result });
        assert.ok(res.pass, `${c.backend} ${dtype}: ${JSON.stringify(res.out).slice(0, 300)}`);
      }
    },
    {
      skip: CAPS === null
        ? "no WebGPU adapter"
        : c.glSlow === null
        ? null
        : slowOnGlFallback(c.glSlow),
    },
  );
}
