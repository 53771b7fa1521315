/**
 * The kernels that size their tiles from the plan (adapter/gemm_plan.ts, tiled_plan.ts) take
 * the plan's numbers as `// @param` constants and assert them: a plan whose keysPerBlock or
 * workgroupSize disagrees with the kernel's written-out tile fails to compile (a
 * ShaderCompileError naming the assertion) instead of dropping or repeating keys. The plan
 * as resolved runs; the same plan with one field changed must not.
 */
import assert from "node:assert/strict";
import { ShaderCompileError } from "../gpu/errors.ts";
import { runAttention } from "../kernels/attention.ts";
import { makeAttentionInputs } from "../reference/inputs.ts";
import type { GpuPlan, LayoutRequest } from "../adapter/types.ts";
import { planOn } from "./backend_parity_helpers.ts";
import { gpu, gpuTest } from "./gpu_helpers.ts";

const LAYOUT: LayoutRequest = { kind: "bshd", batch: 1, seqQ: 4, seqK: 20, causal: true };

const CHANGES: readonly [string, keyof GpuPlan["variant"], number][] = [
  ["wgsl-absorbed-gemm", "keysPerBlock", 32],
  ["wgsl-expanded-gemm", "keysPerBlock", 8],
  ["wgsl-expanded-tiled", "keysPerBlock", 64],
  ["wgsl-expanded-tiled", "workgroupSize", 64],
];

gpuTest(
  "a plan's tile fields reach the kernels: one that disagrees fails to compile",
  async (t) => {
    for (const [backend, field, value] of CHANGES) {
      await t.step(`${backend} ${field} ${value}`, async () => {
        const p = planOn(backend, { preset: "tiny", dtype: "f32", layout: LAYOUT });
        if (typeof p === "string") throw new Error(p);
        const { plan, spec } = p;
        assert.notEqual(plan.variant[field], value, "the change must be a change");
        const inputs = makeAttentionInputs(spec, plan.layout, { seed: 1 });
        const ctx = await gpu();
        await runAttention(ctx, plan, { spec, inputs }); // as resolved: runs
        const changed = { ...plan, variant: { ...plan.variant, [field]: value } } as GpuPlan;
        const e = await runAttention(ctx, changed, { spec, inputs }).then(
          () => assert.fail(`${field} ${value} ran`),
          (e: unknown) => e,
        );
        assert.ok(e instanceof ShaderCompileError, String(e));
        assert.match(e.message, /const_assert|assert/i);
      });
    }
  },
);
