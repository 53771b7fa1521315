/**
 * A backend registered with `registerBackend` alone (its support check, as the JSDoc example
 * of adapter/registry.ts does) plans, but has no launcher: runAttention's TypeError tells a
 * library caller how to register one (loadBackendModule / registerBackendModule), not only
 * the command line's --backend-module.
 */
import assert from "node:assert/strict";
import { BUNDLED_BACKENDS } from "../adapter/backends.ts";
import { presetSpec } from "../adapter/presets.ts";
import { registerBackend } from "../adapter/registry.ts";
import { isGpuPlan, resolve } from "../adapter/resolve.ts";
import { runAttention } from "../kernels/attention.ts";
import { makeAttentionInputs } from "../reference/inputs.ts";
import { gpu, gpuTest } from "./gpu_helpers.ts";

gpuTest(
  "runAttention: a backend with a check and no launcher names the library's way",
  async () => {
    const ctx = await gpu();
    registerBackend({ ...BUNDLED_BACKENDS["wgsl-absorbed"], id: "check-only-copy" });
    const spec = presetSpec("tiny");
    const plan = resolve({
      spec,
      dtype: "f32",
      backend: "check-only-copy",
      layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true },
    }, ctx.caps);
    assert.ok(isGpuPlan(plan), JSON.stringify(plan));
    await assert.rejects(
      runAttention(ctx, plan, {
        spec,
        inputs: makeAttentionInputs(spec, plan.layout, { seed: 1 }),
      }),
      (e: unknown) => {
        assert.ok(e instanceof TypeError);
        assert.match(e.message, /no launcher is registered for backend check-only-copy/);
        assert.match(e.message, /loadBackendModule or registerBackendModule/);
        assert.match(e.message, /registerBackend registers a support check only/);
        return true;
      },
    );
  },
);
