/**
 * The float64 reference reading its inputs as a kernel of a storage dtype holds them
 * (`storedAs`, reference/attention.ts): it then depends only on the stored values, and on
 * the device a kernel of that dtype sits closer to it than to the reference of the float64
 * inputs (the rounding it models is the rounding the kernel's inputs went through).
 */
import assert from "node:assert/strict";
import { presetSpec } from "../adapter/presets.ts";
import { normalizeLayout } from "../adapter/layout.ts";
import type { Dtype } from "../adapter/types.ts";
import { compareAttention } from "../parity/compare.ts";
import { toleranceFor } from "../parity/tolerance.ts";
import { absorbedAttention, denseAttention } from "../reference/attention.ts";
import { type Float64AttentionInputs, makeAttentionInputs } from "../reference/inputs.ts";
import { gpuTest, runCase } from "./gpu_helpers.ts";

const spec = presetSpec("tiny-yarn");
// Positions past 0 so that RoPE rotates (a rotation's result is rounded again).
const layout = normalizeLayout({ kind: "bshd", batch: 2, seqQ: 3, seqK: 9, causal: true });
const inputs = makeAttentionInputs(spec, layout, { seed: 4 });

const NAMES = ["qNope", "qPe", "latent", "kPe", "wKvB"] as const;

/** Every input mapped through `f`, element by element (NaN padding stays NaN). */
function mapInputs(x: Float64AttentionInputs, f: (v: number) => number): Float64AttentionInputs {
  const o = {} as Record<(typeof NAMES)[number], Float64Array>;
  for (const n of NAMES) o[n] = x[n].map(f);
  return o;
}

/** `v` as storage of `dtype` holds it. */
const rounded = (dtype: Dtype) => (v: number) =>
  dtype === "f16" ? new Float16Array([v])[0] : new Float32Array([v])[0];

// A relative nudge of a stored value that rounds back to it: below half its ulp (f16's
// ulp is at least 2^-11 of the value, 2^-24 absolute near zero; f32's 2^-24 of it), in
// both directions and at powers of two, whose ulp below is half the one above.
const NUDGE: Record<Dtype, number> = { f16: 2 ** -13, f32: 2 ** -26 };

for (const dtype of ["f16", "f32"] as const) {
  Deno.test(`storedAs ${dtype}: values that store alike give the same reference, bit for bit`, () => {
    const stored = mapInputs(inputs, rounded(dtype));
    let n = 0;
    const nudged = mapInputs(
      stored,
      (v) => (n++ % 2 ? v * (1 + NUDGE[dtype]) : v * (1 - NUDGE[dtype])),
    );
    // The nudge is real: it changed the inputs and the plain float64 reference.
    assert.notDeepEqual(nudged.latent, stored.latent);
    for (const ref of [denseAttention, absorbedAttention]) {
      const plain = [stored, nudged].map((x) => ref(spec, layout, { inputs: x }).out);
      assert.notDeepEqual(plain[0], plain[1]);
      const [a, b] = [stored, nudged].map((x) => ref(spec, layout, { inputs: x, storedAs: dtype }));
      assert.deepEqual(a.out, b.out);
      assert.deepEqual(a.lse, b.lse);
      // And the raw inputs are read as their stored values.
      const raw = ref(spec, layout, { inputs, storedAs: dtype });
      assert.deepEqual(raw.out, a.out);
    }
  });
}

Deno.test("storedAs: absent, the float64 inputs are read as given", () => {
  const a = denseAttention(spec, layout, { inputs });
  const f16 = denseAttention(spec, layout, { inputs, storedAs: "f16" });
  const largest = Math.max(...a.out.map((v, i) => Number.isNaN(v) ? 0 : Math.abs(v - f16.out[i])));
  // f16 rounding of the inputs moves the outputs by about 2^-11 of O(1) values; f32 by far less.
  assert.ok(largest > 1e-5 && largest < 1e-2, `${largest}`);
  const f32 = denseAttention(spec, layout, { inputs, storedAs: "f32" });
  const small = Math.max(...a.out.map((v, i) => Number.isNaN(v) ? 0 : Math.abs(v - f32.out[i])));
  assert.ok(small > 0 && small < 1e-6, `${small}`);
});

// On the device: the f16 absorbed kernel against three references: of the float64 inputs,
// of the inputs rounded to f16 (rotated q_pe and k_pe kept in float64), and `storedAs`
// (those rounded too, as the kernel's RoPE pass stores them). Each models more of what the
// kernel holds, so the kernel sits closer to each in turn; the f16 absorbed tolerance
// (derived against the last) holds only there. The bundled absorbed kernels hold the absorbed
// query in f32 (since bd27f28) and compute in f32, so against the last the kernel errs as an
// f32 one: five orders of magnitude below the reference of the f16 inputs with float64 RoPE.
const CLOSER_CASE = {
  spec: "tiny-yarn",
  dtype: "f16",
  backend: "wgsl-absorbed",
  layout: { kind: "bshd", batch: 2, seqQ: 24, seqK: 24, causal: true },
  seed: 1000,
} as const;
gpuTest("an f16 kernel is closest to the reference of the values it stores", async () => {
  const run = await runCase(CLOSER_CASE);
  const against = (x: Float64AttentionInputs, storedAs?: Dtype) =>
    compareAttention(
      run.result.outputs,
      denseAttention(run.spec, run.plan.layout, { inputs: x, storedAs }),
      {
        tolerance: toleranceFor("f16", "absorbed"),
        numHeads: run.spec.numHeads,
        vDim: run.spec.vHeadDim,
      },
    );
  const x = run.inputs as Float64AttentionInputs;
  const plain = against(x);
  const inputsOnly = against(mapInputs(x, rounded("f16")));
  const stored = against(x, "f16");
  // Seen here (session 62, lavapipe, `deno test` of this module with and without
  // MLA_HARNESS_DEVICE_CLASS=gpu alike): cos_diff 1.1e-7, 7.0e-9, 1.3e-14; LSE 1.4e-3, 5.9e-4,
  // 6.4e-7. (When the kernel stored the query in f16: 1.3e-7, 2.1e-8, 1.4e-8; 1.6e-3, 9.7e-4,
  // 9.7e-4.)
  const cos = [plain, inputsOnly, stored].map((r) => r.out.cosDiff);
  assert.ok(cos[1] * 3 < cos[0] && cos[2] * 1e3 < cos[1], `cos_diff ${cos.join(", ")}`);
  const lse = [plain, inputsOnly, stored].map((r) => r.lse.maxAbs);
  assert.ok(lse[1] < lse[0] && lse[2] * 100 < lse[1], `LSE ${lse.join(", ")}`);
  assert.ok(stored.pass, "the f16 kernel passes against the stored reference");
  assert.ok(!plain.pass && !inputsOnly.pass, "the f16 absorbed cell holds only against it");
}, { cases: [CLOSER_CASE] });
