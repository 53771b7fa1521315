/**
 * Every planted fault of the tiled absorbed kernel (parity/faults.ts TILED_FAULTS) is
 * caught: in its scenario, on the tiled backend of its path, the clean kernel passes the
 * comparison with the float64 reference and the faulty one fails it.
 */
import assert from "node:assert/strict";
import { presetSpec } from "../adapter/presets.ts";
import { gpuPlanOf, resolve } from "../adapter/resolve.ts";
import { runAttention } from "../kernels/attention.ts";
import { compareAttention, summarize } from "../parity/compare.ts";
import { TILED_BACKEND_OF_PATH, TILED_FAULTS } from "../parity/faults.ts";
import { toleranceFor } from "../parity/tolerance.ts";
import { denseAttention } from "../reference/attention.ts";
import { makeAttentionInputs } from "../reference/inputs.ts";
import { CAPS, gpu, gpuTest, slowOnGlFallback } from "./gpu_helpers.ts";

/** The tiled kernel is far too slow for the GL fallback: ignored there, with the reason. */
const TILED_ON_GL = slowOnGlFallback(
  "the tiled kernel (key tiles in workgroup memory) takes 40 s to 4 min a case",
);

for (const fault of TILED_FAULTS) {
  const sc = fault.scenario;
  const spec = presetSpec(sc.preset);
  const r = CAPS === null ? null : resolve(
    { spec, dtype: sc.dtype, backend: TILED_BACKEND_OF_PATH[sc.path], layout: sc.layout },
    CAPS,
  );
  const why = r === null
    ? "no WebGPU adapter"
    : r.kind === "plan"
    ? null
    : r.reasons.map((x) => `${x.code}: ${x.message}`).join("; ");
  gpuTest(`tiled fault ${fault.id} is caught`, async () => {
    const ctx = await gpu();
    const plan = gpuPlanOf(r!);
    const inputs = makeAttentionInputs(spec, plan.layout, { seed: 11 });
    const want = denseAttention(spec, plan.layout, { inputs });
    const check = (o: { out: Float32Array | Float64Array; lse: Float32Array | Float64Array }) =>
      compareAttention(o, want, {
        tolerance: toleranceFor(sc.dtype, sc.path),
        numHeads: spec.numHeads,
        vDim: spec.vHeadDim,
      });
    const clean = check((await runAttention(ctx, plan, { spec, inputs })).outputs);
    assert.ok(clean.pass, `clean run must pass:\n${summarize(clean.out)}\n${summarize(clean.lse)}`);
    assert.equal(fault.apply.kind, "source");
    if (fault.apply.kind !== "source") return;
    const { mutate, file } = fault.apply;
    let applied = 0;
    const faulty = await runAttention(ctx, plan, {
      spec,
      inputs,
      mutate: (f, src) => {
        if (f === file) applied++;
        return mutate(f, src);
      },
    });
    assert.ok(applied > 0, `fault ${fault.id}: ${file} was never compiled in its scenario`);
    const res = check(faulty.outputs);
    assert.ok(
      !res.pass,
      `fault ${fault.id} NOT caught:\n${summarize(res.out)}\n${summarize(res.lse)}`,
    );
    console.log(`  ${fault.id}: ${summarize(res.out)} | ${summarize(res.lse)}`);
  }, { skip: why ?? TILED_ON_GL });
}

Deno.test("tiled fault ids are unique and distinct from the bundled kernel's", async () => {
  const { FAULTS } = await import("../parity/faults.ts");
  const ids = [...FAULTS, ...TILED_FAULTS].map((f) => f.id);
  assert.equal(new Set(ids).size, ids.length);
});
