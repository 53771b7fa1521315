/**
 * `GpuContext.create()` with no options enables the features the adapter layer plans with
 * (HARNESS_FEATURES, where the adapter has them): its caps list the adapter's features, so a
 * plan resolved against `ctx.caps` (f16 where the adapter has shader-f16) must run on its
 * device, and `runMatrix({ ctx })` must give what `run` gives. `optionalFeatures: []` still
 * enables none.
 */
import assert from "node:assert/strict";
import { presetSpec } from "../adapter/presets.ts";
import { isGpuPlan, resolve } from "../adapter/resolve.ts";
import { GpuContext, HARNESS_FEATURES } from "../gpu/device.ts";
import type { DeviceCaps } from "../adapter/types.ts";
import { runAttention } from "../kernels/attention.ts";
import { makeAttentionInputs } from "../reference/inputs.ts";
import { gpuTest } from "./gpu_helpers.ts";

/** A tiny f16 decode planned on wgsl-absorbed against `caps`, with its seeded inputs. */
function tinyF16Case(caps: DeviceCaps) {
  const spec = presetSpec("tiny");
  const plan = resolve({
    spec,
    dtype: "f16",
    backend: "wgsl-absorbed",
    layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true },
  }, caps);
  assert.ok(isGpuPlan(plan), JSON.stringify(plan));
  return { spec, plan, inputs: makeAttentionInputs(spec, plan.layout, { seed: 1 }) };
}

gpuTest("GpuContext.create(): the harness features the adapter has are enabled", async () => {
  const ctx = await GpuContext.create();
  try {
    for (const f of HARNESS_FEATURES) {
      assert.equal(ctx.hasFeature(f), ctx.caps.features.includes(f), f);
    }
  } finally {
    ctx.destroy();
  }
  const bare = await GpuContext.create({ optionalFeatures: [] });
  try {
    for (const f of HARNESS_FEATURES) assert.equal(bare.hasFeature(f), false, f);
  } finally {
    bare.destroy();
  }
});

gpuTest("GpuContext.create(): an f16 plan resolved against its caps runs", async () => {
  const ctx = await GpuContext.create();
  try {
    const { spec, plan, inputs } = tinyF16Case(ctx.caps);
    const { outputs } = await runAttention(ctx, plan, { spec, inputs, timing: false });
    assert.equal(outputs.out.length, spec.numHeads * spec.vHeadDim);
  } finally {
    ctx.destroy();
  }
}, { features: ["shader-f16"] });

gpuTest(
  "runAttention on a device created without shader-f16: a TypeError that says why and what to do",
  async () => {
    const bare = await GpuContext.create({ optionalFeatures: [] });
    try {
      // resolved against the adapter's caps (which list shader-f16), run on the bare device
      const { spec, plan, inputs } = tinyF16Case(bare.caps);
      await assert.rejects(
        () => runAttention(bare, plan, { spec, inputs, timing: false }),
        (e: unknown) =>
          e instanceof TypeError && /shader-f16 feature .*optionalFeatures/.test(e.message) &&
          /resolve against this device's caps, or run dtype f32/.test(e.message),
      );
    } finally {
      bare.destroy();
    }
  },
  { features: ["shader-f16"] },
);
