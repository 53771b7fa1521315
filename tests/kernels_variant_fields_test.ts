/**
 * kernels/launch.ts variantFields: a launcher reads the fields only some backends' checks
 * set from its plan, or fails naming what is missing and which check makes it. GPU-free.
 */
import assert from "node:assert/strict";
import type { GpuPlan, KernelVariant } from "../adapter/types.ts";
import { variantFields } from "../kernels/launch.ts";

const planWith = (variant: Partial<KernelVariant>) =>
  ({ variant: { family: "absorbed-gemm", ...variant } }) as unknown as GpuPlan;

Deno.test("variantFields: the fields a check set come back", () => {
  const plan = planWith({ valueSplits: 4, keysPerValueSplit: 1024, scoreVec4PerRow: 1024 });
  assert.deepEqual(variantFields(plan, ["valueSplits", "keysPerValueSplit"], "x"), {
    valueSplits: 4,
    keysPerValueSplit: 1024,
  });
});

Deno.test("variantFields: missing fields name the variant, each field and the check", () => {
  const plan = planWith({ valueSplits: 4 });
  assert.throws(
    () =>
      variantFields(
        plan,
        ["valueSplits", "keysPerValueSplit", "columnsPerInvocation"],
        "wgsl-absorbed-gemm",
      ),
    /plan variant absorbed-gemm lacks keysPerValueSplit\/columnsPerInvocation: it was not made by wgsl-absorbed-gemm's check/,
  );
});
