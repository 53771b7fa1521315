/**
 * kernels/launch.ts variantFields: a launcher reads the fields only some backends' checks
 * set from its plan, or fails naming what is missing and which check makes it. GPU-free.
 */
import assert from "node:assert/strict";
import type { GpuPlan, KernelVariant } from "../adapter/types.ts";
import { type LaunchKit, variantFields } from "../kernels/launch.ts";
import { gemmProbTexture } from "../kernels/gemm_softmax.ts";

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

Deno.test("gemmProbTexture: the plan's format is used, and any but rgba32float is refused", () => {
  const made: string[] = [];
  const kit = {
    texture: (_shape: unknown, format: string, label: string) => {
      made.push(`${label}:${format}`);
      return { createView: () => ({}) };
    },
  } as unknown as LaunchKit;
  const shape = { format: "rgba32float", rowsPerTexelRow: 2, width: 4, height: 8 };
  const pt = gemmProbTexture(kit, planWith({ probTexture: shape } as Partial<KernelVariant>));
  assert.equal(pt?.rowsPerTexelRow, 2);
  assert.deepEqual(made, ["probs_texture:rgba32float"]);
  // A plan without one: the values pass reads the score buffer.
  assert.equal(gemmProbTexture(kit, planWith({})), null);
  // The kernels declare p_tex rgba32float: a plan asking for halves must not bind.
  assert.throws(
    () =>
      gemmProbTexture(
        kit,
        planWith({ probTexture: { ...shape, format: "rgba16float" } } as Partial<KernelVariant>),
      ),
    /plan absorbed-gemm: probTexture format rgba16float; the gemm kernels write and read probabilities as rgba32float/,
  );
  assert.equal(made.length, 1, "nothing was created for the refused plan");
});
