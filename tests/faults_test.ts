// test_runner: early (among the suite's longest modules: started first, tools/test_runner.ts)
/**
 * Every planted fault of parity/faults.ts is caught: in its scenario the clean
 * kernel passes the comparison with the float64 reference and the faulty one
 * fails it. The test records which check caught each fault (output or LSE;
 * elementwise max abs/rel, cos_diff, non-finite mismatch).
 */
import assert from "node:assert/strict";
import { presetSpec } from "../adapter/presets.ts";
import { gpuPlanOf, resolve } from "../adapter/resolve.ts";
import { runAttention } from "../kernels/attention.ts";
import { type AttentionCompareResult, summarize } from "../parity/compare.ts";
import { faultBackendOf, FaultPatternError, FAULTS, sourceMutation } from "../parity/faults.ts";
import { makeAttentionInputs } from "../reference/inputs.ts";
import { gpu, gpuTest, scenarioCaps } from "./gpu_helpers.ts";
import { H100_CAPS, LAVAPIPE_CAPS } from "./caps_fixtures.ts";
import { faultCheck } from "./fault_helpers.ts";

function caughtBy(res: AttentionCompareResult): string[] {
  return [
    ...res.out.checks.map((c) => `out.${c}`),
    ...res.lse.checks.map((c) => `lse.${c}`),
  ];
}

const caught: Record<string, string[]> = {};

for (const fault of FAULTS) {
  gpuTest(`fault ${fault.id} is caught`, async () => {
    const ctx = await gpu();
    const sc = fault.scenario;
    const spec = presetSpec(sc.preset);
    const backend = faultBackendOf(fault, sc.path);
    const plan = gpuPlanOf(
      resolve(
        { spec, dtype: sc.dtype, backend, layout: sc.layout },
        scenarioCaps(ctx.caps, sc),
      ),
    );
    const inputs = makeAttentionInputs(spec, plan.layout, { seed: 11 });
    // The reference always sees the true spec and layout.
    const check = await faultCheck(ctx, plan, { spec, scenario: sc, inputs });

    let faulty;
    if (fault.apply.kind === "plan") {
      const changed = fault.apply.change({ spec, plan });
      faulty = await runAttention(ctx, gpuPlanOf(changed.plan), { spec: changed.spec, inputs });
    } else {
      let applied = 0;
      const mutate = fault.apply.mutate;
      const target = fault.apply.file;
      faulty = await runAttention(ctx, plan, {
        spec,
        inputs,
        mutate: (file, src) => {
          if (file === target) applied++;
          return mutate(file, src);
        },
      });
      assert.ok(applied > 0, `fault ${fault.id}: ${target} was never compiled in its scenario`);
    }
    const res = check(faulty.outputs);
    assert.ok(
      !res.pass,
      `fault ${fault.id} NOT caught:\n${summarize(res.out)}\n${summarize(res.lse)}`,
    );
    caught[fault.id] = caughtBy(res);
    console.log(`  ${fault.id}: caught by ${caught[fault.id].join(", ")}`);
    console.log(`    ${summarize(res.out)}\n    ${summarize(res.lse)}`);
  }, {
    // The scenario must be supported here (f16-accumulation needs shader-f16): the adapter says.
    cases: [{
      spec: fault.scenario.preset,
      dtype: fault.scenario.dtype,
      backend: fault.scenario.path === "absorbed" ? "wgsl-absorbed" : "wgsl-expanded",
      layout: fault.scenario.layout,
    }],
  });
}

Deno.test("a source fault whose pattern is gone throws instead of passing silently", () => {
  const m = sourceMutation("demo", "absorbed.wgsl", { pattern: "no such text", replacement: "" });
  assert.throws(() => m("absorbed.wgsl", "fn main() {}"), FaultPatternError);
  assert.equal(m("other.wgsl", "fn main() {}"), "fn main() {}");
});

Deno.test("the texture faults' scenarios read through textures, rows shared where needed, on every device", () => {
  // A GPU reads w_kv_b and the latent cache from buffers, and its textures are 32768 texels a
  // side: each scenario's caps (its deviceClass and maxTextureSide) must still take the read
  // the fault is planted in, or the fault could not be caught there.
  const cases = [
    ["absorb-q-weight-texture-row-shifted", "weights", false],
    ["up-proj-weight-texture-rows-folded", "weights", true],
    ["expand-texture-weight-channel-shifted", "weights", false],
    ["expand-texture-latent-shared-rows-folded", "latent", true],
  ] as const;
  for (const [name, caps] of [["lavapipe", LAVAPIPE_CAPS], ["H100", H100_CAPS]] as const) {
    for (const [id, read, shared] of cases) {
      const fault = FAULTS.find((f) => f.id === id)!;
      const sc = fault.scenario;
      const plan = gpuPlanOf(resolve({
        spec: presetSpec(sc.preset),
        dtype: sc.dtype,
        backend: faultBackendOf(fault, sc.path),
        layout: sc.layout,
      }, scenarioCaps(caps, sc)));
      const v = plan.variant;
      const tex = sc.path === "expanded" ? v.expandTextures?.[read] : v.weightTexture;
      assert.ok(tex, `${id} on ${name}'s caps reads no texture`);
      if (shared) assert.ok(tex.rowsPerTexelRow >= 2, `${id} on ${name}: ${JSON.stringify(tex)}`);
    }
  }
});

Deno.test("fault ids are unique and every fault has a scenario", () => {
  const ids = FAULTS.map((f) => f.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const f of FAULTS) assert.ok(f.scenario.preset && f.scenario.layout, f.id);
});
